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
    rep = findings.score(rows, LABELS, n_boot=50)
    assert rep["war"] == pytest.approx(180 / 240) and rep["unparsed_rate"] == pytest.approx(60 / 240)
    assert rep["macro_f1_ci"][0] <= rep["macro_f1"] <= rep["macro_f1_ci"][1]


def test_paired_delta_needs_shared_clips():
    with pytest.raises(ValueError, match="share no clip"):
        findings.paired_delta(_rows(1, 0), [dict(r, id="x" + r["id"]) for r in _rows(1, 0)], LABELS)


def test_verdict_vocabulary_and_profile_errors():
    assert "Verdict: reproduced" in findings.verdict("reproduced", "text")
    with pytest.raises(ValueError, match="status"):
        findings.verdict("sort of", "text")
    with pytest.raises(ValueError, match="profile"):
        findings.is_probe("fast")
    with pytest.raises(ValueError, match="data_root"):
        findings.predictions("paper", "qwen2.5-vl-7b", dataset="dfew", data_root=None)


@pytest.mark.slow
def test_probe_predictions_are_cached_on_disk(tmp_path, monkeypatch):
    from emoprobe.probe import zoo

    monkeypatch.setenv("EMOPROBE_CACHE_DIR", str(tmp_path))
    first = findings.predictions("smoke", "vlm-prior1")
    files = sorted((tmp_path / "models").glob("vlm-prior1/*/predictions/*.json"))
    assert len(files) == 1 and len(first) == len(zoo.test_clips("smoke"))
    zoo._RENDERED.clear()
    again = findings.predictions("smoke", "vlm-prior1")
    assert again == first
    assert zoo._RENDERED == {}  # a cache hit renders no test clip
    other = findings.predictions("smoke", "vlm-prior1", sampler="uniform", sampler_params={"num_samples": 4})
    assert len(sorted((tmp_path / "models").glob("vlm-prior1/*/predictions/*.json"))) == 2
    assert {len(r["frame_indices"]) for r in other} == {4}
    assert findings.predictions("smoke", "vlm-prior1", limit=3) == first[:3]


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
