"""Class samplers: the common contract over the whole registry, then the long-tail formulas against the reference."""

import math

import numpy as np
import pytest

from emoprobe.reference import CLASS_COUNTS
from emoprobe.samplers import CLASS_SAMPLERS, balanced_subset, list_class_samplers, make_class_sampler
from emoprobe.samplers.classes import (class_balanced_weights, class_counts, effective_number, imbalance_ratio,
                                       power_probabilities)

# Parameters that exercise every registered class sampler, and the exponent q each one should apply.
COMMON_PARAMS = {"instance": {}, "sqrt": {}, "balanced": {}, "power": {"q": 0.25}, "progressive": {}}
EXPONENT = {"instance": 1.0, "sqrt": 0.5, "balanced": 0.0, "power": 0.25}

# A small MAFW-shaped label list: the real class shares (emoprobe.reference.CLASS_COUNTS) scaled to ~1/20.
MAFW = CLASS_COUNTS["mafw"]
LABELS = [name for name, n in MAFW.items() for _ in range(max(1, n // 20))]


def test_every_registered_class_sampler_has_common_parameters():
    assert set(COMMON_PARAMS) == set(list_class_samplers())


def _expected(name, counts, epoch, num_epochs):
    if name == "progressive":  # Kang et al., ICLR 2020: (1 - t/T) p_IB + (t/T) p_CB
        t = epoch / num_epochs
        total = sum(counts.values())
        return {k: (1 - t) * n / total + t / len(counts) for k, n in counts.items()}
    q = EXPONENT[name]
    norm = sum(n ** q for n in counts.values())
    return {k: n ** q / norm for k, n in counts.items()}


@pytest.mark.parametrize("name", sorted(CLASS_SAMPLERS))
def test_registry_contract(name):
    sampler = make_class_sampler(name, **COMMON_PARAMS[name])
    assert sampler.name == name and repr(sampler).startswith(type(sampler).__name__)
    counts = class_counts(LABELS)
    num_epochs = 4
    for epoch in range(num_epochs):
        p = sampler.probabilities(counts, epoch, num_epochs)
        assert list(p) == list(counts)
        assert math.isclose(sum(p.values()), 1.0, rel_tol=1e-12)
        target = _expected(name, counts, epoch, num_epochs)
        for k in counts:
            assert p[k] == pytest.approx(target[k], rel=1e-12), (name, epoch, k)

        size = 20_000
        idx = sampler.sample_epoch(LABELS, epoch=epoch, num_epochs=num_epochs, size=size, seed=7)
        assert idx.dtype == np.int64 and len(idx) == size
        assert idx.min() >= 0 and idx.max() < len(LABELS)
        drawn = class_counts(np.asarray(LABELS)[idx])
        for k in counts:
            # within 4 binomial standard deviations of the target (plus one for rounding)
            sd = math.sqrt(size * p[k] * (1 - p[k]))
            assert abs(drawn.get(k, 0) - size * p[k]) <= 4 * sd + 1, (name, epoch, k, drawn.get(k), size * p[k])

        again = make_class_sampler(name, **COMMON_PARAMS[name]).sample_epoch(
            LABELS, epoch=epoch, num_epochs=num_epochs, size=size, seed=7)
        np.testing.assert_array_equal(idx, again)
    other_seed = sampler.sample_epoch(LABELS, epoch=0, num_epochs=num_epochs, size=500, seed=8)
    assert not np.array_equal(other_seed, sampler.sample_epoch(LABELS, 0, num_epochs, 500, seed=7))
    # epochs differ from each other even under one seed (each epoch has its own stream)
    a = sampler.sample_epoch(LABELS, 0, num_epochs, 500, seed=7)
    b = sampler.sample_epoch(LABELS, 1, num_epochs, 500, seed=7)
    assert not np.array_equal(a, b)


@pytest.mark.parametrize("name", sorted(CLASS_SAMPLERS))
def test_registry_rejects_bad_arguments(name):
    sampler = make_class_sampler(name, **COMMON_PARAMS[name])
    with pytest.raises(ValueError, match="epoch"):
        sampler.sample_epoch(LABELS, epoch=3, num_epochs=3)
    with pytest.raises(ValueError, match="num_epochs"):
        sampler.sample_epoch(LABELS, epoch=0, num_epochs=0)
    with pytest.raises(ValueError, match="size"):
        sampler.sample_epoch(LABELS, size=-1)
    with pytest.raises(ValueError, match="labels"):
        sampler.sample_epoch([])


def test_unknown_class_sampler_names_the_choices():
    with pytest.raises(ValueError, match="unknown class sampler 'uniform'.*balanced"):
        make_class_sampler("uniform")


def test_instance_epoch_is_a_permutation_and_balanced_cycles_rare_clips():
    idx = make_class_sampler("instance").sample_epoch(LABELS, seed=3)
    assert sorted(idx.tolist()) == list(range(len(LABELS)))
    assert not np.array_equal(idx, np.arange(len(LABELS)))
    # class-balanced oversamples disappointment (9 clips) ~4x: every one of its clips is used before any repeats
    idx = make_class_sampler("balanced").sample_epoch(LABELS, size=11 * 36, seed=3)
    rare = [i for i in idx if LABELS[i] == "disappointment"]
    assert len(rare) == 36
    uses = np.bincount(rare, minlength=len(LABELS))[[i for i, l in enumerate(LABELS) if l == "disappointment"]]
    assert uses.max() - uses.min() <= 1


def test_progressive_moves_from_natural_to_balanced():
    s = make_class_sampler("progressive")
    counts = MAFW
    first = s.probabilities(counts, 0, 10)
    last = s.probabilities(counts, 9, 10)
    assert first == pytest.approx(power_probabilities(counts, 1.0))
    assert last["disappointment"] == pytest.approx(0.1 * 182 / 9172 + 0.9 / 11)
    tail = [s.probabilities(counts, e, 10)["disappointment"] for e in range(10)]
    assert all(a < b for a, b in zip(tail, tail[1:]))
    assert s.probabilities(counts, 0, 1) == first  # a single epoch is natural sampling


def test_power_probabilities_skip_absent_classes():
    p = power_probabilities({"a": 4, "b": 0, "c": 1}, 0.0)
    assert p == {"a": 0.5, "b": 0.0, "c": 0.5}
    assert power_probabilities({"a": 4, "c": 1}, 0.5) == pytest.approx({"a": 2 / 3, "c": 1 / 3})


def test_balanced_subset():
    idx = balanced_subset(LABELS, per_class=9, seed=0)
    assert np.all(np.diff(idx) > 0)
    assert set(class_counts(np.asarray(LABELS)[idx]).values()) == {9}
    np.testing.assert_array_equal(idx, balanced_subset(LABELS, per_class=9, seed=0))
    assert not np.array_equal(idx, balanced_subset(LABELS, per_class=9, seed=1))
    with pytest.raises(ValueError, match="'disappointment' has 9 clips, fewer than per_class=10"):
        balanced_subset(LABELS, per_class=10)
    loose = balanced_subset(LABELS, per_class=10, strict=False)
    assert class_counts(np.asarray(LABELS)[loose])["disappointment"] == 9


# --- long-tail statistics against the published class counts -----------------------------------------------------

def test_imbalance_ratios_match_reference():
    # DFEW, MAFW, FERV39k single-label counts (emoprobe.reference): 2,669/145 = 18.4, 1,470/182 = 8.1, 9,748/2,111 = 4.6
    assert round(imbalance_ratio(CLASS_COUNTS["dfew"]), 1) == 18.4
    assert round(imbalance_ratio(CLASS_COUNTS["mafw"]), 1) == 8.1
    assert round(imbalance_ratio(CLASS_COUNTS["ferv39k"]), 1) == 4.6
    # majority-class WAR under natural sampling: DFEW 22.82 %, MAFW 16.03 % (from emoprobe.reference.CLASS_COUNTS)
    assert round(100 * max(power_probabilities(CLASS_COUNTS["dfew"], 1.0).values()), 2) == 22.82
    assert round(100 * max(power_probabilities(CLASS_COUNTS["mafw"], 1.0).values()), 2) == 16.03


def test_effective_number_and_class_balanced_weights():
    # E_n = (1 - beta^n) / (1 - beta) (Cui et al., CVPR 2019)
    assert effective_number(1, 0.9) == pytest.approx(1.0)
    assert effective_number(2, 0.9) == pytest.approx(1.9)
    assert effective_number(np.array([10, 100]), 0.0).tolist() == [1.0, 1.0]
    assert effective_number(145, 0.999999) == pytest.approx(145, rel=1e-3)  # beta -> 1: E_n -> n
    counts = CLASS_COUNTS["dfew"]
    w0 = class_balanced_weights(counts, 0.0)
    assert w0 == pytest.approx({k: 1.0 for k in counts})  # beta = 0: no re-weighting
    w = class_balanced_weights(counts, 0.9999)
    assert sum(w.values()) == pytest.approx(len(counts))
    assert max(w, key=w.get) == "disgust" and min(w, key=w.get) == "neutral"
    # near beta = 1 the weights approach inverse frequency
    w1 = class_balanced_weights(counts, 1 - 1e-9)
    inv = {k: 1 / n for k, n in counts.items()}
    norm = len(counts) / sum(inv.values())
    assert w1 == pytest.approx({k: v * norm for k, v in inv.items()}, rel=1e-4)
    with pytest.raises(ValueError, match="beta"):
        effective_number(3, 1.0)
