import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.metrics import (accuracy_score, balanced_accuracy_score, confusion_matrix,
                             precision_recall_fscore_support, recall_score)

from emoprobe.labels import label_set
from emoprobe.metrics import (SCALAR_METRICS, UNPARSED, aggregate_folds, bootstrap_ci, classification_report,
                              collapse_report, report_from_confusion)

DFEW = list(label_set("dfew"))


def _sklearn(y_true, y_pred, labels):
    """Reference values; unanswered mapped to a sentinel class outside ``labels``."""
    pred = [UNPARSED if p is None else p for p in y_pred]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        warnings.simplefilter("ignore", UserWarning)  # y_pred contains classes not in y_true
        macro = precision_recall_fscore_support(y_true, pred, labels=labels, average="macro", zero_division=0)
        weighted = precision_recall_fscore_support(y_true, pred, labels=labels, average="weighted",
                                                   zero_division=0)
        per = precision_recall_fscore_support(y_true, pred, labels=labels, average=None, zero_division=0)
        bal = balanced_accuracy_score(y_true, pred)
    return {"war": accuracy_score(y_true, pred), "uar": bal, "macro_precision": macro[0],
            "macro_recall": macro[1], "macro_f1": macro[2], "weighted_f1": weighted[2], "per": per,
            "confusion": confusion_matrix(y_true, pred, labels=labels + [UNPARSED])[: len(labels)]}


def _check_against_sklearn(y_true, y_pred, labels):
    ours = classification_report(y_true, y_pred, labels)
    ref = _sklearn(y_true, y_pred, labels)
    for key in ("war", "uar", "macro_precision", "macro_recall", "macro_f1", "weighted_f1"):
        assert ours[key] == pytest.approx(ref[key], abs=1e-12), key
    np.testing.assert_array_equal(ours["confusion"], ref["confusion"])
    for i, name in enumerate(labels):
        pc = ours["per_class"][name]
        assert (pc["precision"], pc["recall"], pc["f1"], pc["support"]) == pytest.approx(
            (ref["per"][0][i], ref["per"][1][i], ref["per"][2][i], ref["per"][3][i]))
    assert ours["unparsed_rate"] == pytest.approx(sum(p is None for p in y_pred) / len(y_pred))
    assert ours["n"] == len(y_true)
    return ours


samples = st.lists(st.tuples(st.sampled_from(DFEW), st.one_of(st.none(), st.sampled_from(DFEW))),
                   min_size=1, max_size=80)


@settings(max_examples=200, deadline=None)
@given(samples)
def test_matches_sklearn_on_random_inputs(pairs):
    y_true, y_pred = map(list, zip(*pairs))
    _check_against_sklearn(y_true, y_pred, DFEW)


def test_class_never_predicted_and_class_absent_from_truth():
    rng = np.random.default_rng(0)
    # "disgust" never predicted; "fear" never in y_true but predicted
    y_true = list(rng.choice([c for c in DFEW if c != "fear"], size=200))
    y_pred = [None if rng.random() < 0.1 else str(rng.choice([c for c in DFEW if c != "disgust"]))
              for _ in y_true]
    ours = _check_against_sklearn(y_true, y_pred, DFEW)
    assert ours["per_class"]["disgust"]["precision"] == 0 and ours["per_class"]["disgust"]["predicted_share"] == 0
    assert ours["per_class"]["fear"]["support"] == 0 and ours["per_class"]["fear"]["recall"] == 0
    # UAR averages the 6 present classes; sklearn's macro recall averages all 7
    assert ours["uar"] == pytest.approx(ours["macro_recall"] * 7 / 6)


def test_edge_cases():
    ours = _check_against_sklearn(["happy"], ["happy"], DFEW)
    assert ours["war"] == ours["uar"] == 1.0
    ours = _check_against_sklearn(["happy", "sad"], [None, None], DFEW)
    assert ours["war"] == 0 and ours["unparsed_rate"] == 1 and ours["macro_f1"] == 0
    assert ours["confusion"][0][-1] == 1 and ours["confusion_columns"][-1] == UNPARSED
    # NaN and the written markers are unanswered too
    r = classification_report(["happy", "sad", "sad"], [float("nan"), "REFUSED", "sad"], DFEW)
    assert r["n_unparsed"] == 2 and r["war"] == pytest.approx(1 / 3)
    import pandas as pd

    r = classification_report(pd.Series(["happy", "sad"]), pd.array(["happy", pd.NA], dtype="string"), DFEW)
    assert r["n_unparsed"] == 1 and r["war"] == 0.5


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="y_true: unknown classes"):
        classification_report(["joy"], ["happy"], DFEW)
    with pytest.raises(ValueError, match="y_pred: unknown classes"):
        classification_report(["happy"], ["Happy"], DFEW)
    with pytest.raises(ValueError, match="length"):
        classification_report(["happy"], [], DFEW)
    with pytest.raises(ValueError, match="at least one sample"):
        classification_report([], [], DFEW)


def test_we_do_not_make_the_uar_mistake():
    # the known mistake (methods chapter): "UAR" as recall_score(all ones, correct flags, average="macro") = WAR / 2
    y_true = ["happy"] * 80 + ["disgust"] * 20
    y_pred = ["happy"] * 80 + ["happy"] * 18 + ["disgust"] * 2
    correct = [int(a == b) for a, b in zip(y_true, y_pred)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mistaken = recall_score([1] * len(correct), correct, average="macro")
    r = classification_report(y_true, y_pred, DFEW)
    assert mistaken == pytest.approx(r["war"] / 2)
    assert r["uar"] == pytest.approx((1.0 + 0.1) / 2)  # mean of happy 80/80 and disgust 2/20
    assert r["uar"] != pytest.approx(mistaken)
    assert r["uar"] == pytest.approx(balanced_accuracy_score(y_true, y_pred))


def test_report_from_confusion_round_trip_and_shape_check():
    r = classification_report(["happy", "sad", "neutral"], ["happy", None, "sad"], DFEW)
    again = report_from_confusion(r["confusion"], DFEW)
    assert again == r
    with pytest.raises(ValueError, match="shape"):
        report_from_confusion(np.zeros((7, 7)), DFEW)


def test_bootstrap_ci_is_deterministic_and_brackets_the_estimate():
    rng = np.random.default_rng(1)
    y_true = list(rng.choice(DFEW, size=300))
    y_pred = [t if rng.random() < 0.5 else str(rng.choice(DFEW)) for t in y_true]
    a = bootstrap_ci(y_true, y_pred, DFEW, metric="macro_f1", n_boot=200, seed=3)
    b = bootstrap_ci(y_true, y_pred, DFEW, metric="macro_f1", n_boot=200, seed=3)
    assert a == b
    assert a["low"] < a["estimate"] < a["high"]
    assert a["estimate"] == pytest.approx(classification_report(y_true, y_pred, DFEW)["macro_f1"])
    wide = bootstrap_ci(y_true, y_pred, DFEW, metric="war", n_boot=200, seed=3, alpha=0.01)
    narrow = bootstrap_ci(y_true, y_pred, DFEW, metric="war", n_boot=200, seed=3, alpha=0.5)
    assert wide["high"] - wide["low"] > narrow["high"] - narrow["low"]
    with pytest.raises(ValueError, match="metric"):
        bootstrap_ci(y_true, y_pred, DFEW, metric="auc")


def test_bootstrap_of_a_perfect_classifier_has_zero_width():
    y = ["happy", "sad", "neutral"] * 10
    ci = bootstrap_ci(y, y, DFEW, metric="war", n_boot=50)
    assert ci["low"] == ci["high"] == ci["estimate"] == 1.0


def test_aggregate_folds_mean_and_pooled():
    f1 = classification_report(["happy"] * 9 + ["sad"], ["happy"] * 10, DFEW)  # war 0.9, uar 0.5
    f2 = classification_report(["sad"] * 2, ["sad", None], DFEW)  # war 0.5, uar 0.5
    mean = aggregate_folds([f1, f2])
    assert mean["how"] == "mean" and mean["n_folds"] == 2
    assert mean["war"] == pytest.approx(0.7) and mean["folds"]["war"] == [0.9, 0.5]
    assert mean["std"]["war"] == pytest.approx(np.std([0.9, 0.5], ddof=1))
    pooled = aggregate_folds([f1, f2], how="pooled")
    assert pooled["war"] == pytest.approx(10 / 12)  # 9 + 1 correct of 12
    assert pooled["uar"] == pytest.approx((1.0 + 1 / 3) / 2)
    assert pooled["n"] == 12
    assert set(SCALAR_METRICS) <= set(mean) and set(SCALAR_METRICS) <= set(pooled)
    with pytest.raises(ValueError, match="how"):
        aggregate_folds([f1], how="median")
    with pytest.raises(ValueError, match="labels"):
        aggregate_folds([f1, classification_report(["happiness"], ["happiness"], label_set("mafw"))])


def test_collapse_report_finds_the_neutral_sink():
    y_true = ["neutral"] * 30 + ["happy"] * 30 + ["disgust"] * 10 + ["fear"] * 10
    y_pred = (["neutral"] * 30 + ["happy"] * 20 + ["neutral"] * 10 + ["neutral"] * 8 + ["angry"] * 2
              + ["neutral"] * 5 + [None] * 5)
    c = collapse_report(y_true, y_pred, DFEW)
    assert c["head_class"] == "neutral"
    assert c["shares"]["neutral"]["predicted_share"] == pytest.approx(53 / 80)
    assert c["shares"]["neutral"]["ratio"] == pytest.approx(53 / 30)
    assert c["sinks"]["disgust"]["top_sink"] == "neutral"
    assert c["sinks"]["disgust"]["top_sink_share"] == pytest.approx(0.8)
    assert c["sinks"]["fear"]["absorbed_by"] == {**{k: 0.0 for k in DFEW if k not in ("fear", "neutral")},
                                                 "neutral": 0.5, UNPARSED: 0.5}
    assert c["sinks"]["neutral"]["errors"] == 0 and c["sinks"]["neutral"]["top_sink"] is None
    assert c["rare_classes"] == ["disgust", "fear"]  # absent classes are not "rare"
    assert c["absorbs"]["neutral"] == pytest.approx(23 / 30)
    assert sum(c["absorbs"].values()) == pytest.approx(1)
    assert 0 <= c["prediction_entropy"] < c["label_entropy"] <= 1


def test_entropy_extremes():
    uniform = collapse_report(DFEW * 3, DFEW * 3, DFEW)
    assert uniform["prediction_entropy"] == pytest.approx(1) and uniform["label_entropy"] == pytest.approx(1)
    single = collapse_report(DFEW, ["neutral"] * 7, DFEW)
    assert single["prediction_entropy"] == 0 and single["head_share"] == 1
    absent = collapse_report(["happy"], ["sad"], DFEW)["shares"]["sad"]
    assert absent["ratio"] is None and absent["predicted_share"] == 1
    assert single["shares"]["neutral"]["ratio"] == 7


def test_wilson_interval():
    from emoprobe import metrics

    # textbook values (Newcombe 1998, Table I: 15 of 148 -> 0.0624-0.1605; 0 of 20 -> 0-0.1611)
    assert metrics.wilson_interval(15, 148) == pytest.approx((0.0624, 0.1605), abs=5e-4)
    assert metrics.wilson_interval(0, 20) == pytest.approx((0.0, 0.1611), abs=5e-4)
    low, high = metrics.wilson_interval(20, 20)
    assert high == 1.0 and low == pytest.approx(1 - 0.1611, abs=5e-4)
    assert all(np.isnan(metrics.wilson_interval(0, 0)))
    with pytest.raises(ValueError, match="successes"):
        metrics.wilson_interval(5, 4)
