"""Scores for emotion classification, as plain dicts: WAR, UAR, macro P/R/F1, confusion, collapse analysis.

Conventions (stated because papers differ):

- **WAR** (weighted average recall) is accuracy; **UAR** (unweighted average recall) is the mean of per-class
  recall over the classes present in ``y_true`` (as the DFER code bases, e.g. MAE-DFER and DFER-CLIP, compute
  it). The paper reports macro precision/recall/F1 (Table 2 on the authors' project page,
  https://madhav1ag.github.io/vlm-temporal-emotion-gap/); ``macro_recall`` follows scikit-learn
  (``average="macro", zero_division=0``, over *all* classes of the label set), so it equals UAR whenever every
  class occurs in ``y_true``, and is lower when one does not.
- **Unanswered predictions** (``None``, NaN, ``""`` or one of :data:`NO_ANSWER`) are wrong answers: they
  lower the recall of their true class, count as a prediction of no class (no false positive anywhere), and are
  counted in the extra last column of ``confusion`` and in ``unparsed_rate``.
- **The known UAR mistake.** Some VLM evaluation scripts compute "UAR" as
  ``recall_score(ones, correct_flags, average="macro")``. With an all-ones
  "ground truth" the class 0 has no support, its recall is set to 0, and the result is accuracy / 2, not a
  class-mean recall. :func:`classification_report` never builds a correct/incorrect vector: it computes
  recall per class from the confusion matrix; tests check it against ``balanced_accuracy_score`` and against
  the mistaken formula.
- **Folds.** :func:`aggregate_folds` defaults to the mean of per-fold metrics, as the MAE-DFER, S2D and
  DK-CLIP average rows are computed; ``how="pooled"`` sums the folds' confusion matrices first (SVFAP's
  convention). Both are available under their name.
"""

from __future__ import annotations

import math

import numpy as np

UNPARSED = "UNPARSED"
# markers that evaluation code writes for "no usable answer"; any of them counts as unanswered
NO_ANSWER = frozenset({UNPARSED, "REFUSED", "EMPTY", ""})

SCALAR_METRICS = ("war", "uar", "macro_precision", "macro_recall", "macro_f1", "weighted_f1", "unparsed_rate")


def _is_missing(value) -> bool:
    if value is None or type(value).__name__ == "NAType":  # pandas.NA, without importing pandas
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return isinstance(value, str) and value in NO_ANSWER


def _encode(y_true, y_pred, labels):
    labels = [str(x) for x in labels]
    if not labels:
        raise ValueError("labels: expected at least one class name")
    if len(set(labels)) != len(labels):
        raise ValueError(f"labels: expected distinct class names, got {labels}")
    index = {name: i for i, name in enumerate(labels)}
    y_true, y_pred = list(y_true), list(y_pred)
    if len(y_true) != len(y_pred):
        raise ValueError(f"y_true and y_pred differ in length: {len(y_true)} vs {len(y_pred)}")
    if not y_true:
        raise ValueError("y_true: expected at least one sample")
    bad = sorted({str(t) for t in y_true if t not in index})
    if bad:
        raise ValueError(f"y_true: unknown classes {bad[:5]}; expected names from {labels}")
    unknown = sorted({str(p) for p in y_pred if not _is_missing(p) and p not in index})
    if unknown:
        raise ValueError(f"y_pred: unknown classes {unknown[:5]}; expected names from {labels}, or None / "
                         f"{sorted(NO_ANSWER - {''})} for unanswered clips")
    t = np.array([index[v] for v in y_true], dtype=np.int64)
    p = np.array([len(labels) if _is_missing(v) else index[v] for v in y_pred], dtype=np.int64)
    return labels, t, p


def _confusion(t, p, k):
    return np.bincount(t * (k + 1) + p, minlength=k * (k + 1)).reshape(k, k + 1)


def _safe_div(a, b):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return np.divide(a, b, out=np.zeros(np.broadcast(a, b).shape), where=b != 0)


def _scalars(conf) -> dict:
    """Every scalar metric from a (K, K+1) confusion matrix whose last column is 'unanswered'."""
    conf = np.asarray(conf)
    k = conf.shape[0]
    n = conf.sum()
    tp = np.diag(conf[:, :k]).astype(float)
    support = conf.sum(axis=1).astype(float)
    predicted = conf[:, :k].sum(axis=0).astype(float)
    precision = _safe_div(tp, predicted)
    recall = _safe_div(tp, support)
    f1 = _safe_div(2 * tp, 2 * tp + (predicted - tp) + (support - tp))
    present = support > 0
    return {
        "war": float(tp.sum() / n),
        "uar": float(recall[present].mean()),
        "macro_precision": float(precision.mean()),
        "macro_recall": float(recall.mean()),
        "macro_f1": float(f1.mean()),
        "weighted_f1": float((f1 * support).sum() / support.sum()),
        "unparsed_rate": float(conf[:, k].sum() / n),
        "_per_class": (precision, recall, f1, support, predicted),
    }


def report_from_confusion(confusion, labels) -> dict:
    """:func:`classification_report` from a (K, K+1) confusion matrix (rows true; last column unanswered)."""
    labels = [str(x) for x in labels]
    conf = np.asarray(confusion, dtype=np.int64)
    k = len(labels)
    if conf.shape != (k, k + 1):
        raise ValueError(f"confusion: expected shape ({k}, {k + 1}) for {k} labels plus 'unparsed', "
                         f"got {conf.shape}")
    if conf.sum() == 0:
        raise ValueError("confusion: no samples")
    s = _scalars(conf)
    precision, recall, f1, support, predicted = s.pop("_per_class")
    n = int(conf.sum())
    per_class = {
        name: {"precision": float(precision[i]), "recall": float(recall[i]), "f1": float(f1[i]),
               "support": int(support[i]), "predicted_share": float(predicted[i] / n),
               "true_share": float(support[i] / n)}
        for i, name in enumerate(labels)
    }
    return {**s, "per_class": per_class, "confusion": conf.tolist(), "confusion_columns": labels + [UNPARSED],
            "labels": labels, "n": n, "n_unparsed": int(conf[:, k].sum())}


def classification_report(y_true, y_pred, labels) -> dict:
    """WAR, UAR, macro/weighted scores, per-class scores and the confusion matrix, as a plain dict.

    ``confusion`` is a list of K rows (true class, in ``labels`` order) of K+1 counts: predicted class, then
    the unanswered column (``confusion_columns`` names them).
    """
    labels, t, p = _encode(y_true, y_pred, labels)
    return report_from_confusion(_confusion(t, p, len(labels)), labels)


def bootstrap_ci(y_true, y_pred, labels, metric: str = "macro_f1", n_boot: int = 1000, seed: int = 0,
                 alpha: float = 0.05) -> dict:
    """Percentile bootstrap confidence interval of one scalar metric, resampling clips with replacement."""
    if metric not in SCALAR_METRICS:
        raise ValueError(f"metric: unknown {metric!r}; expected one of {list(SCALAR_METRICS)}")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha: expected a value in (0, 1), got {alpha}")
    if int(n_boot) < 1:
        raise ValueError(f"n_boot: expected a positive integer, got {n_boot}")
    labels, t, p = _encode(y_true, y_pred, labels)
    k, n = len(labels), len(t)
    rng = np.random.default_rng(seed)
    values = np.empty(int(n_boot))
    for b in range(int(n_boot)):
        idx = rng.integers(0, n, size=n)
        values[b] = _scalars(_confusion(t[idx], p[idx], k))[metric]
    low, high = np.quantile(values, [alpha / 2, 1 - alpha / 2])
    return {"metric": metric, "estimate": _scalars(_confusion(t, p, k))[metric], "low": float(low),
            "high": float(high), "alpha": alpha, "n_boot": int(n_boot), "seed": seed, "n": n}


def wilson_interval(successes: int, n: int, alpha: float = 0.05) -> tuple[float, float]:
    """Wilson score interval of a proportion (sound for small n and for 0 or n successes, unlike the normal
    approximation); (nan, nan) when n is 0."""
    from statistics import NormalDist

    if not 0 <= successes <= n:
        raise ValueError(f"wilson_interval: need 0 <= successes <= n, got {successes} of {n}")
    if n == 0:
        return float("nan"), float("nan")
    z = NormalDist().inv_cdf(1 - alpha / 2)
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return float(max(0.0, centre - half)), float(min(1.0, centre + half))


def aggregate_folds(reports, how: str = "mean") -> dict:
    """Combine per-fold reports.

    ``how="mean"`` (default): each scalar metric is the arithmetic mean of the folds' values (with ``std``
    and the per-fold values under ``folds``), as published DFER "avg" rows are. ``how="pooled"``: the folds'
    confusion matrices are summed and every metric recomputed, as if the folds were one test set.
    """
    reports = list(reports)
    if not reports:
        raise ValueError("reports: expected at least one fold report")
    labels = reports[0]["labels"]
    for i, r in enumerate(reports):
        if r["labels"] != labels:
            raise ValueError(f"reports[{i}]: labels {r['labels']} differ from fold 0's {labels}")
    folds = {m: [float(r[m]) for r in reports] for m in SCALAR_METRICS}
    if how == "pooled":
        pooled = report_from_confusion(np.sum([r["confusion"] for r in reports], axis=0), labels)
        return {**pooled, "how": "pooled", "n_folds": len(reports), "folds": folds}
    if how == "mean":
        out = {m: float(np.mean(v)) for m, v in folds.items()}
        out["std"] = {m: float(np.std(v, ddof=1)) if len(v) > 1 else 0.0 for m, v in folds.items()}
        out["per_class"] = {
            name: {key: float(np.mean([r["per_class"][name][key] for r in reports]))
                   for key in ("precision", "recall", "f1", "predicted_share", "true_share")}
            for name in labels
        }
        return {**out, "how": "mean", "n_folds": len(reports), "folds": folds, "labels": labels,
                "n": int(sum(r["n"] for r in reports))}
    raise ValueError(f"how: expected 'mean' or 'pooled', got {how!r}")


def _entropy(counts) -> float:
    counts = np.asarray(counts, dtype=float)
    total = counts.sum()
    if total == 0 or len(counts) < 2:
        return 0.0
    q = counts[counts > 0] / total
    return float(-(q * np.log(q)).sum() / np.log(len(counts)))


def collapse_report(y_true, y_pred, labels) -> dict:
    """How predictions collapse onto a few head classes (finding F4).

    - ``shares``: per class, the share of predictions vs the share of ground truth, and their ratio (> 1 means
      over-predicted).
    - ``sinks``: per true class, where its errors go: ``absorbed_by`` (share of that class's errors taken by
      each other class and by ``UNPARSED``), ``top_sink`` and its share; ``rare`` marks classes whose true share
      is below uniform (1/K) but not zero, the ones the paper says collapse.
    - ``absorbs``: per predicted class, its share of *all* errors (the "neutral sink" in one number).
    - ``prediction_entropy`` and ``label_entropy``: Shannon entropy of the predicted (answered clips only) and
      true class distributions, divided by log K, so 1 is uniform and 0 a single class.

    ``ratio`` is None for a class absent from ``y_true`` (kept JSON-safe rather than infinite).
    """
    labels, t, p = _encode(y_true, y_pred, labels)
    k = len(labels)
    conf = _confusion(t, p, k)
    n = conf.sum()
    cols = labels + [UNPARSED]
    support = conf.sum(axis=1)
    predicted = conf[:, :k].sum(axis=0)
    shares = {
        name: {"predicted_share": float(predicted[i] / n), "true_share": float(support[i] / n),
               "ratio": float(predicted[i] / support[i]) if support[i] else None}
        for i, name in enumerate(labels)
    }
    sinks = {}
    for i, name in enumerate(labels):
        errors = conf[i].copy()
        errors[i] = 0
        total = int(errors.sum())
        absorbed = {cols[j]: float(errors[j] / total) for j in range(k + 1) if j != i and total}
        top = max(absorbed, key=absorbed.get) if total else None
        sinks[name] = {"support": int(support[i]), "errors": total,
                       "error_rate": float(total / support[i]) if support[i] else 0.0,
                       "absorbed_by": absorbed, "top_sink": top,
                       "top_sink_share": absorbed[top] if top is not None else 0.0,
                       "rare": bool(0 < support[i] / n < 1.0 / k)}
    off = conf.copy()
    off[np.arange(k), np.arange(k)] = 0
    all_errors = off.sum()
    absorbs = {cols[j]: float(off[:, j].sum() / all_errors) if all_errors else 0.0 for j in range(k + 1)}
    return {
        "labels": labels,
        "n": int(n),
        "shares": shares,
        "sinks": sinks,
        "absorbs": absorbs,
        "rare_classes": [name for name in labels if sinks[name]["rare"]],
        "head_class": labels[int(np.argmax(predicted))] if predicted.sum() else None,
        "head_share": float(predicted.max() / n),
        "prediction_entropy": _entropy(predicted),
        "label_entropy": _entropy(support),
        "unparsed_rate": float(conf[:, k].sum() / n),
    }
