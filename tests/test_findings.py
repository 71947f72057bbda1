"""The chapters' shared scoring: paired differences, intervals, verdicts and the profile seam."""

import numpy as np
import pytest

from emoprobe import findings, metrics

LABELS = ["happy", "sad", "neutral"]


def _rows(pred, seed):
    rng = np.random.default_rng(seed)
    return [{"id": str(i), "label": LABELS[i % 3], "outcome": "parsed",
             "prediction": LABELS[i % 3] if rng.random() < pred else LABELS[rng.integers(3)]} for i in range(240)]


def test_paired_delta_is_the_difference_of_the_two_reports_and_its_interval_covers_it():
    a, b = _rows(0.2, 0), _rows(0.7, 1)
    d = findings.paired_delta(a, b, LABELS, n_boot=200, seed=0)
    f1 = lambda rows: metrics.classification_report([r["label"] for r in rows], [r["prediction"] for r in rows],
                                                    LABELS)["macro_f1"]
    assert d["delta"] == pytest.approx(f1(b) - f1(a))
    assert d["low"] < d["delta"] < d["high"] and d["low"] > 0
    same = findings.paired_delta(a, a, LABELS, n_boot=50)
    assert same["delta"] == 0 and same["low"] == same["high"] == 0


def test_unreadable_answers_count_as_wrong():
    rows = _rows(1.0, 0)
    for r in rows[:60]:
        r["outcome"] = "unparsed"
    rep = findings.report(rows, LABELS, n_boot=50)
    assert rep["war"] == pytest.approx(180 / 240) and rep["unparsed_rate"] == pytest.approx(60 / 240)
    assert rep["macro_f1_ci"][0] <= rep["macro_f1"] <= rep["macro_f1_ci"][1]


def test_paired_delta_needs_shared_clips():
    with pytest.raises(ValueError, match="share no clip"):
        findings.paired_delta(_rows(1, 0), [dict(r, id="x" + r["id"]) for r in _rows(1, 0)], LABELS)


def test_verdict_vocabulary_and_missing_data_root():
    assert "Verdict: reproduced" in findings.verdict("reproduced", "text")
    with pytest.raises(ValueError, match="status"):
        findings.verdict("sort of", "text")
    with pytest.raises(ValueError, match="data_root"):
        findings.predictions("qwen2.5-vl-7b", dataset="dfew", data_root=None)
    with pytest.raises(ValueError, match="probe:<profile>/<name>"):
        findings.predictions("probe:vlm-prior1", dataset="dfew", data_root="probe:smoke/test")


@pytest.mark.slow
def test_probe_predictions_go_through_the_engine_and_are_reused(tmp_path, monkeypatch):
    monkeypatch.setenv("EMOPROBE_CACHE_DIR", str(tmp_path))
    data = dict(dataset="dfew", data_root="probe:smoke/test")
    first = findings.predictions("probe:smoke/vlm-prior1", sampler="uniform", sampler_params={"num_samples": 8}, **data)
    runs = sorted((tmp_path / "runs").glob("vlm-prior1-*/summary.json"))
    assert len(runs) == 1 and len(first) == 7 and {len(r["frame_indices"]) for r in first} == {8}
    # the test set is a real DFEW-layout folder with the generator's metadata beside it
    sets = sorted((tmp_path / "datasets").glob("smoke-test-*"))
    assert len(sets) == 1 and (sets[0] / "EmoLabel_DataSplit" / "test(single-labeled)" / "set_1.csv").is_file()
    assert (sets[0] / "probe_meta.jsonl").is_file()
    again = findings.predictions("probe:smoke/vlm-prior1", sampler="uniform", sampler_params={"num_samples": 8}, **data)
    assert again == first
    summary = __import__("json").loads(runs[0].read_text())
    assert summary["counts"]["model_calls_this_run"] == 0  # resumed: every clip was already answered
    other = findings.predictions("probe:smoke/vlm-prior1", sampler="uniform", sampler_params={"num_samples": 4}, **data)
    assert len(sorted((tmp_path / "runs").glob("vlm-prior1-*"))) == 2
    assert {len(r["frame_indices"]) for r in other} == {4}
    answer = lambda rows: [(r["id"], r["frame_indices"], r["raw_output"], r["prediction"]) for r in rows]  # noqa: E731
    limited = findings.predictions("probe:smoke/vlm-prior1", sampler="uniform", sampler_params={"num_samples": 8},
                                   limit=3, **data)
    assert answer(limited) == answer(first[:3])


def test_paired_delta_of_the_recall_of_some_classes():
    a, b = _rows(0.2, 0), _rows(0.7, 1)
    d = findings.paired_delta(a, b, LABELS, n_boot=100, seed=0, metric="recall", classes=["sad", "neutral"])

    def recall(rows):
        rep = metrics.classification_report([r["label"] for r in rows], [r["prediction"] for r in rows], LABELS)
        return np.mean([rep["per_class"][c]["recall"] for c in ("sad", "neutral")])

    assert d["delta"] == pytest.approx(recall(b) - recall(a))
    assert d["low"] <= d["delta"] <= d["high"]
    with pytest.raises(ValueError, match="classes"):
        findings.paired_delta(a, b, LABELS, metric="recall", classes=["joy"])


def _rows_of(labels, preds):
    return [{"id": f"c{i}", "label": y, "prediction": p} for i, (y, p) in enumerate(zip(labels, preds))]


def test_score_seeds_spreads_over_seeds_and_clips():
    rng = np.random.default_rng(0)
    y = list(rng.choice(LABELS, 140))
    noisy = lambda share: [t if rng.random() < share else str(rng.choice(LABELS)) for t in y]  # noqa: E731
    stable = {s: _rows_of(y, noisy(0.7)) for s in (0, 1, 2)}
    unstable = {0: _rows_of(y, noisy(0.95)), 1: _rows_of(y, noisy(0.4)), 2: _rows_of(y, noisy(0.1))}
    a, b = findings.score_seeds(stable, LABELS, n_boot=300), findings.score_seeds(unstable, LABELS, n_boot=300)
    for out, rows in ((a, stable), (b, unstable)):
        per = [metrics.classification_report(y, findings.predicted(rows[s]), LABELS)["macro_f1"] for s in rows]
        assert out["per_seed"] == pytest.approx(dict(zip(rows, per)))
        assert out["mean"] == pytest.approx(np.mean(per)) and out["sd"] == pytest.approx(np.std(per, ddof=1))
        assert out["low"] <= out["mean"] <= out["high"] and out["n"] == 140
    # seed-to-seed variation widens the interval far beyond the clip bootstrap's
    assert (b["high"] - b["low"]) > 2 * (a["high"] - a["low"])
    one = findings.score_seeds({0: stable[0]}, LABELS, n_boot=300)
    assert one["sd"] == 0.0 and one["low"] < one["mean"] < one["high"]
    with pytest.raises(ValueError, match="share no clip"):
        findings.score_seeds({0: stable[0], 1: [dict(r, id="x" + r["id"]) for r in stable[1]]}, LABELS)


def test_paired_delta_over_seeds_pairs_each_seed_and_widens_with_their_disagreement():
    rng = np.random.default_rng(1)
    y = list(rng.choice(LABELS, 150))
    noisy = lambda share: _rows_of(y, [t if rng.random() < share else str(rng.choice(LABELS)) for t in y])  # noqa: E731
    base = {s: noisy(0.5) for s in (0, 1, 2)}
    agree = {s: noisy(0.8) for s in (0, 1, 2)}  # every seed gains about the same
    split = {0: noisy(0.95), 1: noisy(0.5), 2: noisy(0.15)}  # one seed gains, one loses
    f1 = lambda rows: metrics.classification_report(y, findings.predicted(rows), LABELS)["macro_f1"]  # noqa: E731
    a, b = findings.paired_delta(base, agree, LABELS, n_boot=300), findings.paired_delta(base, split, LABELS, n_boot=300)
    for out, runs in ((a, agree), (b, split)):
        per = {s: f1(runs[s]) - f1(base[s]) for s in runs}
        assert out["per_seed"] == pytest.approx(per) and out["delta"] == pytest.approx(np.mean(list(per.values())))
        assert out["low"] <= out["delta"] <= out["high"] and out["low90"] >= out["low"]
    assert a["low"] > 0 and (b["high"] - b["low"]) > 2 * (a["high"] - a["low"])
    # one seed given as a plain list is the clip bootstrap of that seed
    one = findings.paired_delta(base[0], agree[0], LABELS, n_boot=300, seed=4)
    assert one == findings.paired_delta({0: base[0]}, {0: agree[0]}, LABELS, n_boot=300, seed=4)
    with pytest.raises(ValueError, match="seeds differ"):
        findings.paired_delta(base, {0: agree[0]}, LABELS)


def test_score_of_several_seeds_reports_their_mean_and_the_two_level_interval():
    rng = np.random.default_rng(2)
    y = list(rng.choice(LABELS, 120))
    runs = {s: _rows_of(y, [t if rng.random() < share else str(rng.choice(LABELS)) for t in y])
            for s, share in ((0, 0.9), (1, 0.6))}
    rep = findings.report(runs, LABELS, n_boot=200)
    spread = findings.score_seeds(runs, LABELS, n_boot=200)
    assert rep["macro_f1"] == spread["mean"] and rep["macro_f1_ci"] == (spread["low"], spread["high"])
    assert rep["seeds"] == [0, 1] and rep["sd"] > 0 and rep["n"] == 240  # per-class counts pool both seeds
    assert findings.report(runs[0], LABELS, n_boot=200)["macro_f1"] == pytest.approx(spread["per_seed"][0])


def test_sink_share_names_who_takes_the_tails_errors():
    def row(i, label, pred):
        return {"id": str(i), "label": label, "prediction": pred, "outcome": "parsed" if pred else "unparsed"}

    labels = ["happy", "sad", "neutral", "disgust"]
    # disgust clips: 6 to neutral, 2 to happy, 1 unreadable, 3 right; happy clips do not count
    rows = ([row(i, "disgust", "neutral") for i in range(6)] + [row(6, "disgust", "happy"), row(7, "disgust", "happy"),
            row(8, "disgust", None)] + [row(9 + i, "disgust", "disgust") for i in range(3)]
            + [row(20 + i, "happy", "sad") for i in range(10)])
    out = findings.sink_share(rows, ["disgust"], labels, n_boot=300, seed=0)
    assert out["sink"] == "neutral" and out["errors"] == 9 and out["tail_clips"] == 12
    assert out["value"] == pytest.approx(6 / 9) and out["low"] < 6 / 9 < out["high"] and out["even"] == pytest.approx(1 / 3)
    assert findings.sink_share([row(0, "disgust", "disgust")], ["disgust"], labels)["sink"] is None


def test_balanced_subset_keeps_the_rarest_class_count_of_every_class_for_every_run():
    rows = [{"id": f"c{i}", "label": lab, "prediction": lab, "outcome": "parsed"}
            for i, lab in enumerate(["happy"] * 6 + ["sad"] * 3 + ["disgust"] * 2)]
    runs = {"a": {0: rows, 1: [dict(r, prediction="sad") for r in rows]}, "b": rows}
    sub, per_class = findings.balanced_subset(runs, seed=3)
    assert per_class == 2
    ids = [r["id"] for r in sub["a"][0]]
    assert ids == [r["id"] for r in sub["a"][1]] == [r["id"] for r in sub["b"]]
    from collections import Counter

    assert Counter(r["label"] for r in sub["b"]) == {"happy": 2, "sad": 2, "disgust": 2}
    assert {"c9", "c10"} <= set(ids)  # the rarest class is kept whole


def test_answer_share_over_seeds_is_the_mean_with_a_wider_interval():
    def run(k):  # 20 clips, the first k answered "happy"
        return [{"id": str(i), "label": "sad" if i % 2 else "happy", "prediction": "happy" if i < k else "sad",
                 "outcome": "parsed"} for i in range(20)]

    one = findings.answer_share(run(8), ["happy"], n_boot=400, seed=1)
    two = findings.answer_share({0: run(4), 1: run(12)}, ["happy"], n_boot=400, seed=1)
    assert one["value"] == pytest.approx(0.4) and two["value"] == pytest.approx(0.4)
    assert two["per_seed"] == {0: pytest.approx(0.2), 1: pytest.approx(0.6)} and two["true_share"] == 0.5
    assert two["high"] - two["low"] > one["high"] - one["low"]


def test_rank_correlation_of_per_class_f1_with_a_value_per_class():
    labels = ["happy", "sad", "neutral", "angry"]
    # class j is right for the first (4 - j) * 2 of its 10 clips, unanswered otherwise: F1 falls with j
    rows = [{"id": f"{c}{i}", "label": c, "prediction": c if i < (4 - j) * 2 else None,
             "outcome": "parsed" if i < (4 - j) * 2 else "unparsed"} for j, c in enumerate(labels) for i in range(10)]
    up = findings.rank_correlation(rows, labels, [4, 3, 2, 1], n_boot=300, seed=0)
    down = findings.rank_correlation({0: rows, 1: rows}, labels, [1, 2, 3, 4], n_boot=300, seed=0)
    assert up["value"] == pytest.approx(1.0) and down["value"] == pytest.approx(-1.0)
    assert up["low"] <= 1.0 and down["high"] >= -1.0 and up["per_class_f1"]["happy"] > up["per_class_f1"]["angry"]
    with pytest.raises(ValueError, match="one number per class"):
        findings.rank_correlation(rows, labels, [1, 2])
    # two orderings: F1 follows the first exactly and the second only in part (ρ 0.4), so the gap is +0.6
    gap = findings.rank_correlation(rows, labels, [4, 3, 2, 1], n_boot=300, seed=0, minus=[4, 1, 3, 2])
    assert gap["value"] == pytest.approx(1.0 - 0.4) and gap["low"] <= gap["value"] <= gap["high"]
    with pytest.raises(ValueError, match="one number per class"):
        findings.rank_correlation(rows, labels, [4, 3, 2, 1], minus=[1, 2])


def test_accuracy_splits_micro_expressions_by_whether_the_event_was_seen():
    from emoprobe.findings import accuracy
    from emoprobe.metrics import wilson_interval

    rows = [{"kind": "micro", "event_sampled": True, "label": "sad", "prediction": "sad"},
            {"kind": "micro", "event_sampled": True, "label": "sad", "prediction": "happy"},
            {"kind": "micro", "event_sampled": False, "label": "fear", "prediction": "neutral"},
            {"kind": "macro", "event_sampled": None, "label": "fear", "prediction": "fear"}]
    seen = accuracy(rows, "micro", caught=True)
    assert (seen["n"], seen["correct"], seen["accuracy"]) == (2, 1, 0.5)
    assert (seen["low"], seen["high"]) == wilson_interval(1, 2)
    assert accuracy(rows, "micro", caught=False)["accuracy"] == 0.0
    assert accuracy(rows, "micro")["n"] == 3 and accuracy(rows, None)["correct"] == 2
    empty = accuracy([], "micro")
    assert empty["n"] == 0 and empty["accuracy"] != empty["accuracy"]  # NaN: nothing to score


def test_chance_is_one_over_the_classes():
    from emoprobe.verdicts import chance, near_chance

    assert chance(7) == pytest.approx(1 / 7) and chance(2) == 0.5
    assert near_chance(1.49 / 7, 7) and not near_chance(1.51 / 7, 7)
    with pytest.raises(ValueError, match="at least 2"):
        chance(1)
