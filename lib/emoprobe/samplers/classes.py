"""Class samplers: which clips a model trains on, epoch by epoch (the paper's balanced fine-tuning finding).

All samplers draw class j with probability ``p_j = n_j^q / sum_i n_i^q`` (Kang et al., ICLR 2020;
arXiv 1910.09217): ``instance`` is the natural distribution (q = 1), ``sqrt`` the square-root
re-balancing (q = 1/2), ``balanced`` the class-balanced one (q = 0), ``power`` any q, and ``progressive``
moves from instance- to class-balanced over training, ``p(t) = (1 - t/T) p_instance + (t/T) p_balanced`` at
epoch t (0-based) of T, as public re-implementations compute it (so the first epoch is purely natural and the
last one is ``(T-1)/T`` of the way to balanced).

An epoch of ``size`` draws is built in two stages: how many clips each class gets (the expected count
``size * p_j``, rounded without bias: the floor, plus one more for a random subset of classes chosen with
probability equal to the fractional parts), then which clips of that class (a fresh permutation of the class,
repeated as often as the count needs, so a rare class is oversampled by cycling through all of its clips
rather than drawing the same few twice). With q = 1 and ``size`` equal to the data set size this is exactly a
random permutation of the data, i.e. the usual instance-balanced epoch.

Also here: ``balanced_subset`` (the same number of clips per class, for evaluation sets) and the long-tail
statistics the book quotes (imbalance ratio, effective number of samples, class-balanced loss weights).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from emoprobe.registry import Registry

CLASS_SAMPLERS = Registry("class sampler")
register = CLASS_SAMPLERS.register  # class decorator: @register(name) adds a class sampler under that name


def make_class_sampler(name: str, **params) -> ClassSampler:
    """Build a registered class sampler by name, e.g. ``make_class_sampler("power", q=0.25)``."""
    return CLASS_SAMPLERS.build(name, **params)


def list_class_samplers() -> list[str]:
    return CLASS_SAMPLERS.names()


# --- counting --------------------------------------------------------------------------------------------------

def _as_labels(labels) -> np.ndarray:
    arr = np.asarray(list(labels) if not isinstance(labels, np.ndarray) else labels)
    if arr.ndim != 1 or len(arr) == 0:
        raise ValueError(f"labels must be a non-empty 1-D sequence of class names or ids, got shape {arr.shape}")
    return arr


def class_counts(labels) -> dict:
    """Clips per class, keys sorted (class names or ids as given)."""
    names, counts = np.unique(_as_labels(labels), return_counts=True)
    return {_plain(k): int(c) for k, c in zip(names, counts)}


def _plain(x):
    # numpy scalars -> Python scalars, so the dicts we return are JSON-ready
    return x.item() if isinstance(x, np.generic) else x


def _counts_array(counts: Mapping) -> tuple[list, np.ndarray]:
    if not isinstance(counts, Mapping) or not counts:
        raise ValueError(f"counts must be a non-empty mapping class -> number of clips, got {counts!r}")
    keys = list(counts)
    n = np.array([counts[k] for k in keys], dtype=np.float64)
    if np.any(n < 0) or not np.all(np.isfinite(n)):
        raise ValueError(f"class counts must be finite and >= 0, got {dict(counts)!r}")
    return keys, n


def power_probabilities(counts: Mapping, q: float) -> dict:
    """``p_j = n_j^q / sum_i n_i^q`` over the classes present (n_j > 0); absent classes get 0."""
    keys, n = _counts_array(counts)
    present = n > 0
    if not present.any():
        raise ValueError("every class count is zero: nothing to sample")
    w = np.zeros_like(n)
    w[present] = n[present] ** float(q)
    p = w / w.sum()
    return {k: float(v) for k, v in zip(keys, p)}


def imbalance_ratio(counts: Mapping) -> float:
    """Largest over smallest class count (DFEW 18.4, MAFW 8.1, FERV39k 4.6: emoprobe.reference.CLASS_COUNTS)."""
    _, n = _counts_array(counts)
    if n.min() <= 0:
        raise ValueError(f"imbalance ratio needs every class count > 0, got {dict(counts)!r}")
    return float(n.max() / n.min())


def effective_number(n, beta: float):
    """Effective number of samples ``(1 - beta^n) / (1 - beta)`` (Cui et al., CVPR 2019, arXiv 1901.05555).

    beta = 0 gives 1 for every class (no re-weighting); as beta -> 1 it tends to n itself.
    """
    if not 0.0 <= beta < 1.0:
        raise ValueError(f"beta must be in [0, 1), got {beta!r}")
    n = np.asarray(n, dtype=np.float64)
    return (1.0 - np.power(beta, n)) / (1.0 - beta)


def class_balanced_weights(counts: Mapping, beta: float) -> dict:
    """Per-class loss weights ``∝ 1 / E_{n_j}``, normalised to sum to the number of classes (Cui et al.)."""
    keys, n = _counts_array(counts)
    if n.min() <= 0:
        raise ValueError(f"class-balanced weights need every class count > 0, got {dict(counts)!r}")
    w = 1.0 / effective_number(n, beta)
    w = w * len(w) / w.sum()
    return {k: float(v) for k, v in zip(keys, w)}


# --- samplers --------------------------------------------------------------------------------------------------

def _epoch_rng(seed: int, epoch: int) -> np.random.Generator:
    # every epoch has its own stream, reproducible from (seed, epoch) alone, so a resumed run draws the same clips
    return np.random.default_rng([int(seed), int(epoch)])


def _allocate(size: int, p: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Integer counts summing to ``size`` whose expectation is exactly ``size * p`` (floor + random remainder)."""
    expected = size * p
    base = np.floor(expected).astype(np.int64)
    frac = expected - base
    rest = int(size - base.sum())
    if rest > 0:
        # choose `rest` distinct classes with inclusion probabilities equal to the fractional parts
        # (systematic sampling over a random order: unbiased and never picks a class twice)
        order = rng.permutation(len(p))
        cum = np.concatenate([[0.0], np.cumsum(frac[order])])
        points = rng.random() + np.arange(rest)
        slot = np.searchsorted(cum, points, side="right") - 1
        picked = order[np.clip(slot, 0, len(p) - 1)]  # clip: float round-off at the very end of the range
        np.add.at(base, picked, 1)
    return base


class ClassSampler:
    """Base class: constructors only store parameters.

    ``probabilities(counts, epoch, num_epochs)`` gives the class distribution of an epoch;
    ``sample_epoch(labels, epoch, num_epochs, size, seed)`` gives the clip indices of that epoch, shuffled.
    """

    name = "base"

    def get_params(self) -> dict:
        return dict(vars(self))

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"

    def probabilities(self, counts: Mapping, epoch: int = 0, num_epochs: int = 1) -> dict:
        raise NotImplementedError

    def sample_epoch(self, labels, epoch: int = 0, num_epochs: int = 1, size: int | None = None,
                     seed: int = 0) -> np.ndarray:
        """Indices into ``labels`` for one epoch (``size`` draws, default one per clip), in random order."""
        arr = _as_labels(labels)
        _check_epoch(epoch, num_epochs)
        size = len(arr) if size is None else size
        if not isinstance(size, (int, np.integer)) or isinstance(size, bool) or size < 0:
            raise ValueError(f"size must be a non-negative integer, got {size!r}")
        names, inverse = np.unique(arr, return_inverse=True)
        counts = {i: int(c) for i, c in enumerate(np.bincount(inverse, minlength=len(names)))}
        p = np.array(list(self.probabilities(counts, epoch, num_epochs).values()))
        rng = _epoch_rng(seed, epoch)
        per_class = _allocate(int(size), p, rng)
        chosen = []
        for j, k in enumerate(per_class):
            if k == 0:
                continue
            members = np.flatnonzero(inverse == j)
            reps = -(-int(k) // len(members))
            cycle = np.concatenate([members[rng.permutation(len(members))] for _ in range(reps)])
            chosen.append(cycle[:k])
        out = np.concatenate(chosen) if chosen else np.zeros(0, dtype=np.int64)
        return out[rng.permutation(len(out))].astype(np.int64)


def _check_epoch(epoch, num_epochs):
    if not isinstance(num_epochs, (int, np.integer)) or num_epochs < 1:
        raise ValueError(f"num_epochs must be a positive integer, got {num_epochs!r}")
    if not isinstance(epoch, (int, np.integer)) or not 0 <= epoch < num_epochs:
        raise ValueError(f"epoch must be an integer in [0, num_epochs={num_epochs}), got {epoch!r}")


@register("power")
class Power(ClassSampler):
    """Class j drawn with probability ``∝ n_j^q`` (q = 1 natural, 1/2 square-root, 0 class-balanced)."""

    def __init__(self, q: float = 1.0):
        self.q = q

    def probabilities(self, counts, epoch=0, num_epochs=1):
        _check_epoch(epoch, num_epochs)
        if not isinstance(self.q, (int, float, np.floating, np.integer)) or not np.isfinite(self.q):
            raise ValueError(f"q must be a finite number, got {self.q!r}")
        return power_probabilities(counts, self.q)


@register("instance")
class Instance(Power):
    """Natural (instance-balanced) sampling, q = 1: every clip equally likely."""

    def __init__(self):
        self.q = 1.0

    def get_params(self):
        return {}


@register("sqrt")
class SquareRoot(Power):
    """Square-root sampling, q = 1/2."""

    def __init__(self):
        self.q = 0.5

    def get_params(self):
        return {}


@register("balanced")
class Balanced(Power):
    """Class-balanced sampling, q = 0: every class equally likely."""

    def __init__(self):
        self.q = 0.0

    def get_params(self):
        return {}


@register("progressive")
class Progressive(ClassSampler):
    """Progressively-balanced sampling: ``(1 - t/T) p^{q_start} + (t/T) p^{q_end}`` at epoch t of T.

    With the defaults (q_start 1, q_end 0) this is Kang et al.'s instance -> class-balanced schedule.
    """

    def __init__(self, q_start: float = 1.0, q_end: float = 0.0):
        self.q_start = q_start
        self.q_end = q_end

    def probabilities(self, counts, epoch=0, num_epochs=1):
        _check_epoch(epoch, num_epochs)
        t = epoch / num_epochs
        a = power_probabilities(counts, self.q_start)
        b = power_probabilities(counts, self.q_end)
        return {k: (1.0 - t) * a[k] + t * b[k] for k in a}


# --- evaluation subsets ----------------------------------------------------------------------------------------

def balanced_subset(labels, per_class: int, seed: int = 0, strict: bool = True) -> np.ndarray:
    """Sorted indices of ``per_class`` clips drawn at random from every class (an evaluation set whose accuracy
    equals its UAR). A class with fewer clips raises ``ValueError`` unless ``strict=False``, which keeps all of
    its clips."""
    arr = _as_labels(labels)
    if not isinstance(per_class, (int, np.integer)) or isinstance(per_class, bool) or per_class < 1:
        raise ValueError(f"per_class must be a positive integer, got {per_class!r}")
    rng = np.random.default_rng(int(seed))
    chosen = []
    for name in np.unique(arr):
        members = np.flatnonzero(arr == name)
        if len(members) < per_class and strict:
            raise ValueError(f"balanced_subset: class {_plain(name)!r} has {len(members)} clips, fewer than "
                             f"per_class={per_class} (pass strict=False to keep all of them)")
        chosen.append(rng.choice(members, size=min(per_class, len(members)), replace=False))
    return np.sort(np.concatenate(chosen)).astype(np.int64)


__all__ = ["CLASS_SAMPLERS", "ClassSampler", "balanced_subset", "class_balanced_weights", "class_counts",
           "effective_number", "imbalance_ratio", "list_class_samplers", "make_class_sampler",
           "power_probabilities"]
