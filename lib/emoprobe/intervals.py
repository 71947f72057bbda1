"""Scores with intervals that hold what varies: the clips, and the training seeds of a probe model.

Every function takes one run's prediction rows (emoprobe.rows) or ``{training seed: rows}`` for a model trained
with several seeds (emoprobe.findings.seed_runs; the same clips in every seed's run). With seeds the value is the
mean over seeds and the 95 % interval comes from a two-level bootstrap: training seeds drawn with replacement,
then clips drawn with replacement (the same clips for every seed drawn). With one run it is the usual percentile
bootstrap over clips. The chapters reach these through emoprobe.findings.
"""

from __future__ import annotations

import numpy as np

from emoprobe import metrics
from emoprobe.rows import predicted

__all__ = ["answer_share", "balanced_subset", "paired_delta", "pooled", "rank_correlation", "restrict", "report", "score_seeds", "sink_share"]


def report(rows, labels, n_boot: int = 1000, seed: int = 0, metric: str = "macro_f1") -> dict:
    """Classification report of rows plus a percentile bootstrap interval of ``metric`` over clips.

    ``rows`` may be ``{training seed: rows}`` (``seed_runs``): the report is then of every seed's answers
    pooled, except ``metric``, which is the mean over seeds with the two-level interval of ``score_seeds``
    (seeds, then clips); ``seeds``, ``per_seed`` and ``sd`` say how far the seeds are apart."""
    if isinstance(rows, dict):
        spread = score_seeds(rows, labels, n_boot=n_boot, seed=seed, metric=metric)
        every = pooled(rows)
        rep = metrics.classification_report([r["label"] for r in every], predicted(every), list(labels))
        rep.update({metric: spread["mean"], f"{metric}_ci": (spread["low"], spread["high"]),
                    "seeds": spread["seeds"], "per_seed": spread["per_seed"], "sd": spread["sd"]})
        return rep
    y_true, y_pred = [r["label"] for r in rows], predicted(rows)
    rep = metrics.classification_report(y_true, y_pred, list(labels))
    ci = metrics.bootstrap_ci(y_true, y_pred, list(labels), metric=metric, n_boot=n_boot, seed=seed)
    rep[f"{metric}_ci"] = (ci["low"], ci["high"]) if isinstance(ci, dict) else tuple(ci)
    return rep


def paired_delta(rows_a, rows_b, labels, n_boot: int = 1000, seed: int = 0, metric: str = "macro_f1",
                 classes=None) -> dict:
    """``metric`` of B minus A on the same clips, with paired bootstrap intervals (clips resampled jointly): 95 %
    (``low``, ``high``) and 90 % (``low90``, ``high90``).

    ``rows_a``, ``rows_b``: the rows of one run each, or dicts ``{training seed: rows}`` with the same seeds
    (seed s of A paired with seed s of B). With several seeds the delta is the mean over seeds and the
    intervals hold both sources of variation: a two-level bootstrap that draws training seeds, then clips (the
    same clips for every seed drawn), as ``score_seeds`` does; ``per_seed`` has each seed's delta.
    ``metric``: a scalar of emoprobe.metrics (macro_f1, war, uar, ...) or "recall": the mean recall of
    ``classes`` (e.g. the tail classes)."""
    runs_a = rows_a if isinstance(rows_a, dict) else {0: rows_a}
    runs_b = rows_b if isinstance(rows_b, dict) else {0: rows_b}
    if list(runs_a) != list(runs_b):
        raise ValueError(f"paired_delta: the runs' seeds differ ({list(runs_a)} vs {list(runs_b)})")
    seeds = list(runs_a)
    a = [{r["id"]: r for r in runs_a[s]} for s in seeds]
    b = [{r["id"]: r for r in runs_b[s]} for s in seeds]
    ids = [i for i in a[0] if all(i in x for x in a[1:] + b)]
    if not ids:
        raise ValueError("paired_delta: the two runs share no clip id")
    labels = list(labels)
    k = len(labels)
    index = {c: j for j, c in enumerate(labels)}
    if metric == "recall":
        unknown = [c for c in (classes or []) if c not in index]
        if not classes or unknown:
            raise ValueError(f"classes: metric 'recall' needs some of {labels}, got {classes!r}")
        rows_of = np.array([index[c] for c in classes])
    # integer codes once, then each resample is two bincounts (unanswered or unknown answers -> column k)
    t = np.array([index[a[0][i]["label"]] for i in ids])
    pa = np.array([[index.get(x, k) for x in predicted([run[i] for i in ids])] for run in a])
    pb = np.array([[index.get(x, k) for x in predicted([run[i] for i in ids])] for run in b])

    def metric_of(tt, pp):
        conf = np.bincount(tt * (k + 1) + pp, minlength=k * (k + 1)).reshape(k, k + 1)
        if metric == "recall":
            support = conf[rows_of].sum(axis=1)
            hits = conf[rows_of, rows_of]
            return float(np.mean(np.divide(hits, support, out=np.zeros(len(rows_of)), where=support > 0)))
        return metrics.report_from_confusion(conf, labels)[metric]

    def value(idx, js):
        return float(np.mean([metric_of(t[idx], pb[j, idx]) - metric_of(t[idx], pa[j, idx]) for j in js]))

    rng = np.random.default_rng(seed)
    n, m = len(ids), len(seeds)
    every = np.arange(n)
    # one seed: clips alone (the drawn seed is always that one)
    boots = [value(rng.integers(0, n, n), rng.integers(0, m, m) if m > 1 else [0]) for _ in range(n_boot)]
    low, high, low90, high90 = np.percentile(boots, [2.5, 97.5, 5, 95])
    per_seed = {s: value(every, [j]) for j, s in enumerate(seeds)}
    # the 90 % interval serves equivalence tests (two one-sided tests at 5 %, emoprobe.verdicts)
    return {"delta": value(every, range(m)), "low": float(low), "high": float(high), "low90": float(low90),
            "high90": float(high90), "n": n, "seeds": seeds, "per_seed": per_seed}


def score_seeds(rows_by_seed: dict, labels, n_boot: int = 1000, seed: int = 0, metric: str = "macro_f1") -> dict:
    """``metric`` of one model trained with several seeds, on the same clips: the mean over seeds, each seed's
    value, their standard deviation, and a 95 % interval that holds both sources of variation (a two-level
    bootstrap: training seeds drawn with replacement, then clips drawn with replacement, the same clips for
    every seed drawn; the statistic is the mean over the drawn seeds). With one seed it is the clip bootstrap.
    """
    seeds = list(rows_by_seed)
    if not seeds:
        raise ValueError("score_seeds: no seed's rows given")
    labels = list(labels)
    k = len(labels)
    index = {c: j for j, c in enumerate(labels)}
    by_id = [{r["id"]: r for r in rows_by_seed[s]} for s in seeds]
    ids = [i for i in by_id[0] if all(i in b for b in by_id[1:])]
    if not ids:
        raise ValueError("score_seeds: the seeds' runs share no clip id")
    t = np.array([index[by_id[0][i]["label"]] for i in ids])
    p = np.array([[index.get(x, k) for x in predicted([b[i] for i in ids])] for b in by_id])

    def value(j, idx):
        conf = np.bincount(t[idx] * (k + 1) + p[j, idx], minlength=k * (k + 1)).reshape(k, k + 1)
        return metrics.report_from_confusion(conf, labels)[metric]

    n = len(ids)
    every = np.arange(n)
    per_seed = [value(j, every) for j in range(len(seeds))]
    rng = np.random.default_rng(seed)
    boots = [np.mean([value(j, idx) for j in rng.integers(0, len(seeds), len(seeds))])
             for idx in (rng.integers(0, n, n) for _ in range(n_boot))]
    low, high = np.percentile(boots, [2.5, 97.5])
    return {"mean": float(np.mean(per_seed)), "per_seed": dict(zip(seeds, map(float, per_seed))),
            "sd": float(np.std(per_seed, ddof=1)) if len(seeds) > 1 else 0.0, "low": float(low), "high": float(high),
            "n": n, "seeds": seeds}


def pooled(rows) -> list:
    """Every training seed's rows of ``{seed: rows}`` in one list, ids made unique (``"<seed>:<id>"``): for
    confusion matrices and answer shares over all answers. A plain list of rows is returned as it is."""
    if not isinstance(rows, dict):
        return list(rows)
    if len(rows) == 1:
        return list(next(iter(rows.values())))
    return [dict(r, id=f"{s}:{r['id']}") for s, run in rows.items() for r in run]


def restrict(rows, ids) -> list | dict:
    """Rows (or ``{seed: rows}``) of the clips in ``ids`` only, e.g. the clips whose keyframes missed the event."""
    ids = set(ids)
    if isinstance(rows, dict):
        return {s: [r for r in run if r["id"] in ids] for s, run in rows.items()}
    return [r for r in rows if r["id"] in ids]


def _aligned(rows) -> tuple[list, list]:
    """(seeds, [rows of each seed on the clips every seed answered, in one order]) of a run or ``{seed: rows}``."""
    runs = rows if isinstance(rows, dict) else {0: rows}
    seeds = list(runs)
    by_id = [{r["id"]: r for r in runs[s]} for s in seeds]
    ids = [i for i in by_id[0] if all(i in b for b in by_id[1:])]
    return seeds, [[b[i] for i in ids] for b in by_id]


def _seeds_then_clips(columns: list, statistic, n_boot: int, seed: int) -> tuple[float, float]:
    """95 % interval of ``statistic(*columns)`` over resampled seeds, then clips; ``columns``: (seeds, clips)
    arrays, resampled together."""
    m, n = columns[0].shape
    rng = np.random.default_rng(seed)
    boots = []
    for _ in range(n_boot):
        js = rng.integers(0, m, m) if m > 1 else np.zeros(1, dtype=int)
        idx = rng.integers(0, n, n)
        boots.append(statistic(*(c[np.ix_(js, idx)] for c in columns)))
    low, high = np.nanpercentile(np.asarray(boots, dtype=float), [2.5, 97.5])
    return float(low), float(high)


def answer_share(rows, classes, n_boot: int = 1000, seed: int = 0) -> dict:
    """The share of answers naming any of ``classes`` (unanswered clips count as not naming them), with a 95 %
    interval (clips; with ``{seed: rows}`` also seeds: the value is then the mean over seeds), and the same
    classes' share of the true labels."""
    classes = set(classes)
    seeds, runs = _aligned(rows)
    hit = np.array([[p in classes for p in predicted(run)] for run in runs], dtype=float)
    true = float(np.mean([r["label"] in classes for r in runs[0]])) if runs[0] else float("nan")
    if not hit.size:
        return {"value": float("nan"), "low": float("nan"), "high": float("nan"), "true_share": true}
    low, high = _seeds_then_clips([hit], np.mean, n_boot, seed)
    return {"value": float(hit.mean()), "low": low, "high": high, "true_share": true,
            "per_seed": dict(zip(seeds, map(float, hit.mean(axis=1))))}


def balanced_subset(runs: dict, seed: int = 0) -> tuple[dict, int]:
    """The same runs restricted to a class-balanced subset of their clips, and the clips per class.

    The paper evaluates on "balanced" DFEW/MAFW subsets without saying how they were built; this is one reading:
    as many clips of every class as the rarest class has in the test split, drawn at random with ``seed``
    (emoprobe.samplers.classes.balanced_subset), the same clips for every model and training seed. ``runs``:
    ``{key: rows}`` or ``{key: {training seed: rows}}`` (``seed_runs``), all on the same clips."""
    from collections import Counter

    from emoprobe.samplers.classes import balanced_subset as draw

    first = next(iter(runs.values()))
    rows = next(iter(first.values())) if isinstance(first, dict) else first
    per_class = min(Counter(r["label"] for r in rows).values())
    keep = {rows[i]["id"] for i in draw([r["label"] for r in rows], per_class, seed=seed)}
    return {k: restrict(v, keep) for k, v in runs.items()}, per_class


def sink_share(rows, tail, labels, n_boot: int = 1000, seed: int = 0) -> dict:
    """Who absorbs the errors of the ``tail`` classes: among clips of those classes answered wrongly (an
    unreadable answer is an error with no sink), the class named most often (``sink``) and the share of the
    errors it takes, with a 95 % interval (clips; with ``{seed: rows}`` also seeds, all seeds' errors pooled);
    ``even`` is the share one class would take if each error went to any of the other ``len(labels) - 1``
    classes alike, for comparison."""
    tail = set(tail)
    _, runs = _aligned(rows)
    keep = [j for j, r in enumerate(runs[0]) if r["label"] in tail]
    truth = [runs[0][j]["label"] for j in keep]
    preds = [[answers[j] for j in keep] for answers in map(predicted, runs)]  # each run parsed once
    named = [p for row in preds for p, t in zip(row, truth) if p is not None and p != t]
    out = {"errors": sum(p != t for row in preds for p, t in zip(row, truth)), "tail_clips": len(keep),
           "sink": None, "value": float("nan"), "low": float("nan"), "high": float("nan"),
           "even": 1.0 / max(len(labels) - 1, 1)}
    if not named:
        return out
    values, counts = np.unique(np.array(named, dtype=object), return_counts=True)
    sink = str(values[np.argmax(counts)])
    err = np.array([[p != t for p, t in zip(row, truth)] for row in preds], dtype=float)
    to_sink = np.array([[p != t and p == sink for p, t in zip(row, truth)] for row in preds], dtype=float)

    def share(a, e):
        return a.sum() / e.sum() if e.sum() else np.nan

    low, high = _seeds_then_clips([to_sink, err], share, n_boot, seed)
    out.update(sink=sink, value=float(share(to_sink, err)), low=low, high=high)
    return out


def rank_correlation(rows, labels, values, n_boot: int = 1000, seed: int = 0, minus=None) -> dict:
    """Spearman's ρ between each class's F1 and ``values`` (one number per class of ``labels``, e.g. its word
    frequency), with a 95 % interval (clips; with ``{seed: rows}`` also seeds: per-class F1 is then the mean over
    seeds). A resample whose per-class F1 is all equal has no ρ and is left out of the interval. ``minus``: a
    second ordering of the classes (e.g. the word frequencies of another language); the statistic is then ρ with
    ``values`` minus ρ with ``minus``, both on the same resample, so the interval says which ordering F1 follows."""
    from scipy.stats import spearmanr

    labels = list(labels)
    k = len(labels)
    index = {c: j for j, c in enumerate(labels)}
    _, runs = _aligned(rows)
    t = np.array([index[r["label"]] for r in runs[0]])
    p = np.array([[index.get(x, k) for x in predicted(run)] for run in runs])
    orders = [np.asarray(v, dtype=float) for v in ([values] if minus is None else [values, minus])]
    for v in orders:
        if v.shape != (k,):
            raise ValueError(f"values: expected one number per class ({k}), got shape {v.shape}")

    def f1s(pp, tt):
        return metrics._scalars(np.bincount(tt * (k + 1) + pp, minlength=k * (k + 1)).reshape(k, k + 1))["_per_class"][2]

    def rho(pp, tt):
        f = np.mean([f1s(row, tt) for row in pp], axis=0)
        if not np.ptp(f) > 0:
            return np.nan
        r = [spearmanr(f, v).statistic for v in orders]
        return r[0] if minus is None else r[0] - r[1]

    tt = np.broadcast_to(t, p.shape)
    low, high = _seeds_then_clips([p, tt], lambda pp, t2: rho(pp, t2[0]), n_boot, seed)
    per_class = np.mean([f1s(row, t) for row in p], axis=0)
    return {"value": float(rho(p, t)), "low": low, "high": high,
            "per_class_f1": dict(zip(labels, map(float, per_class)))}
