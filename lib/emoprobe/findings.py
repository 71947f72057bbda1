"""What the finding chapters share: prediction rows through the one engine, scores with intervals, verdict boxes.

``predictions(model, dataset=..., data_root=...)`` loads the clips with emoprobe.data.load and runs
emoprobe.evaluate on them, whatever the model and the data are: a probe model on a probe test set
(``probe:quick/vlm-prior1`` on ``probe:quick/test``, emoprobe.sources) or Qwen2.5-VL on DFEW. A profile of the
book (runs.yml) only names the datasets and models; nothing here knows which profile is running.

Runs are resumable folders under ``out_root`` (default ``$EMOPROBE_CACHE_DIR/runs``), named by a hash of the
resolved model, the data and every condition, plus the evaluation code, so the chapters that ask the same model
the same question share one run, and the response cache (emoprobe.cache) makes a changed run ask the model only
what it has not answered.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from emoprobe import metrics
from emoprobe.rows import predicted

__all__ = ["Chapter", "chapter", "predictions", "seed_runs", "finetuned", "predicted", "report", "score_seeds", "paired_delta", "answer_share", "sink_share", "balanced_subset",
           "summarize", "verdict", "VERDICTS"]

VERDICTS = {"reproduced": "tip", "partly reproduced": "warning", "not reproduced": "danger",
            "not testable here": "note"}
# the code a run's rows and a fine-tune's weights depend on beyond the model and the data (emoprobe.codehash)
EVALUATION = ("emoprobe.evaluate:evaluate", "emoprobe.evaluate:read_predictions", "emoprobe.data:load")
FINETUNING = ("emoprobe.finetune:finetune", "emoprobe.data:load")


def _code(roots, *configs) -> str:
    from emoprobe.codehash import code_fingerprint, string_constants

    return code_fingerprint(roots, constants=set().union(*(string_constants(c) for c in configs)))


@dataclass(frozen=True)
class Chapter:
    """What every finding chapter sets up from its parameters (`chapter`)."""

    labels: list          # the dataset's class names, in its own order
    synthetic: bool       # the data are a probe test set (it carries the generator's metadata)
    data: dict            # the keyword arguments of `predictions` that name the data
    vlm_sampling: dict    # the VLMs' frames: the sampler named, or each model's own default (then no params)


def chapter(dataset: str, data_root, fold: int | None = 1, seed: int = 0, limit: int | None = None,
            vlm_sampler: str | None = None, vlm_sampler_params: dict | None = None) -> Chapter:
    """Set a chapter up: the plot theme of the book, and its labels, data and VLM sampling (`Chapter`)."""
    import seaborn as sns

    from emoprobe.labels import label_set
    from emoprobe.sources import is_probe

    sns.set_theme(style="whitegrid", context="notebook")
    return Chapter(labels=list(label_set(dataset)), synthetic=is_probe(data_root),
                   data=dict(dataset=dataset, data_root=data_root, fold=fold, seed=seed, limit=limit),
                   vlm_sampling=dict(sampler=vlm_sampler, sampler_params=vlm_sampler_params if vlm_sampler else None))


def _runs_dir() -> Path:
    base = os.environ.get("EMOPROBE_CACHE_DIR") or os.path.join(os.path.expanduser("~"), ".cache", "emoprobe")
    return Path(base) / "runs"


def predictions(model, *, dataset: str, data_root, fold: int | None = 1, split: str = "test", sampler=None,
                sampler_params: dict | None = None, shuffle: bool = False, prompt: str = "closed_set",
                visual_tokens: int | None = None, context: str | None = None, shuffle_context: bool = False,
                context_model=None, class_order: str = "fixed", seed: int = 0, limit: int | None = None,
                out_root=None, device=None, dtype=None, batch_size: int | None = 16,
                allow_partial: bool = False) -> list[dict]:
    """Prediction rows (emoprobe.rows) of ``model`` on a dataset split, under the given conditions.

    ``model``: a registered name, a checkpoint folder or ``probe:<profile>/<name>`` (``seed`` picks the
    probe model's training seed and the sampling seed). ``data_root``: the dataset's folder or
    ``probe:<profile>/<test set>``. Conditions as in emoprobe.evaluate.evaluate; ``shuffle`` shuffles each
    clip's sampled frames. A run in which a clip was missing, undecodable or failed at the backend is an
    error unless ``allow_partial`` (a chapter never renders a partial run silently).
    """
    from emoprobe.data import load
    from emoprobe.evaluate import evaluate, read_predictions
    from emoprobe.probe.training import canonical_json, sha256
    from emoprobe.sources import resolve_model, resolve_root, short_name

    if data_root is None:
        raise ValueError(f"data_root: no folder given for {dataset!r}; expected the dataset in its official "
                         "layout (set it in runs.yml or with papermill -p data_root ...)")
    root = resolve_root(data_root)
    records = load(dataset, root, split=split, fold=fold, missing="keep")
    resolved = resolve_model(model, seed=seed)
    params = dict(sampler_params or {})
    if shuffle:
        params["shuffle"] = True
    args = {"model": resolved, "dataset": dataset, "root": str(root), "fold": fold, "split": split,
            "sampler": sampler, "sampler_params": params, "prompt": prompt, "visual_tokens": visual_tokens,
            "context": context, "shuffle_context": shuffle_context, "context_model": context_model,
            "class_order": class_order, "seed": seed, "limit": limit}
    args["code"] = _code(EVALUATION, args)
    out = Path(out_root) if out_root is not None else _runs_dir()
    out = out / f"{short_name(model).replace(':', '-')}-{sha256(canonical_json(args))[:16]}"
    evaluate(records, model=resolved, sampler=sampler, sampler_params=params, prompt=prompt, out_dir=out,
             limit=limit, seed=seed, dataset=dataset, visual_tokens=visual_tokens, context=context,
             shuffle_context=shuffle_context,
             context_model=None if context_model is None else resolve_model(context_model, seed=seed),
             class_order=class_order, device=device, dtype=dtype, batch_size=batch_size, progress=False)
    counts = json.loads((out / "summary.json").read_text())["counts"]
    if not counts["complete"] and not allow_partial:
        raise ValueError(f"{short_name(model)} on {data_root}: partial run, {counts['records'] - counts['scored']} of "
                         f"{counts['records']} clips not answered (missing {counts['missing_on_disk']}, undecodable "
                         f"{counts['video_errors']}, backend {counts['backend_errors']}); see {out / 'summary.json'}, "
                         "or pass allow_partial=True and say so on the page")
    rows = read_predictions(out / "predictions.jsonl")
    ids = [str(r["id"]) for r in records][:limit] if limit else [str(r["id"]) for r in records]
    return [rows[i] for i in ids if i in rows]


def finetuned(model, *, dataset: str, data_root, fold: int | None = 1, split: str = "train",
              class_sampler: str = "instance", steps: int = 200, batch_size: int = 4, lr: float = 1e-4,
              seed: int = 0, sampler=None, sampler_params: dict | None = None, device=None, dtype=None) -> str:
    """The folder of ``model`` fine-tuned (LoRA, emoprobe.finetune) on a split with ``class_sampler``; trained
    on first use, resumed if interrupted, reused afterwards (keyed by every argument and the training code)."""
    from emoprobe.data import load
    from emoprobe.finetune import FinetuneConfig, finetune
    from emoprobe.probe.training import canonical_json, sha256
    from emoprobe.sources import resolve_model, resolve_root, short_name

    cfg = FinetuneConfig(class_sampler=class_sampler, steps=steps, batch_size=batch_size, lr=lr, seed=seed,
                         sampler=sampler, sampler_params=dict(sampler_params or {}))
    resolved, root = resolve_model(model, seed=seed), resolve_root(data_root)
    key = sha256(canonical_json({"model": resolved, "dataset": dataset, "root": str(root), "fold": fold,
                                 "split": split, "config": cfg.__dict__,
                                 "code": _code(FINETUNING, cfg.__dict__, {"dataset": dataset})}))
    out = _runs_dir().parent / "finetunes" / f"{short_name(model).replace(':', '-')}-{class_sampler}-{key[:16]}"
    if not (out / "model" / "config.json").is_file():
        finetune(load(dataset, root, split=split, fold=fold), resolved, out, cfg, dataset=dataset, device=device,
                 dtype=dtype, progress=False)
    return str(out / "model")


def report(rows, labels, n_boot: int = 1000, seed: int = 0, metric: str = "macro_f1") -> dict:
    """Classification report of rows plus a percentile bootstrap interval of ``metric`` over clips.

    ``rows`` may be ``{training seed: rows}`` (``seed_runs``): the report is then of every seed's answers
    pooled, except ``metric``, which is the mean over seeds with the two-level interval of ``score_seeds``
    (seeds, then clips); ``seeds``, ``per_seed`` and ``sd`` say how far the seeds are apart."""
    if isinstance(rows, dict):
        spread = score_seeds(rows, labels, n_boot=n_boot, seed=seed, metric=metric)
        pooled = [dict(r, id=f"{s}:{r['id']}") for s, run in rows.items() for r in run]
        rep = metrics.classification_report([r["label"] for r in pooled], predicted(pooled), list(labels))
        rep.update({metric: spread["mean"], f"{metric}_ci": (spread["low"], spread["high"]),
                    "seeds": spread["seeds"], "per_seed": spread["per_seed"], "sd": spread["sd"]})
        return rep
    y_true, y_pred = [r["label"] for r in rows], predicted(rows)
    rep = metrics.classification_report(y_true, y_pred, list(labels))
    ci = metrics.bootstrap_ci(y_true, y_pred, list(labels), metric=metric, n_boot=n_boot, seed=seed)
    rep[f"{metric}_ci"] = (ci["low"], ci["high"]) if isinstance(ci, dict) else tuple(ci)
    return rep


def seed_runs(model, seeds, **kwargs) -> dict:
    """``{training seed: prediction rows}`` of ``model`` (``predictions`` with each seed): a probe model once
    per training seed; any other model (one checkpoint, deterministic answers) once, under the first seed."""
    from emoprobe.sources import is_probe

    seeds = [int(s) for s in seeds] if is_probe(model) else [int(list(seeds)[0])]
    if not seeds:
        raise ValueError("seeds: expected at least one training seed")
    return {s: predictions(model, seed=s, **kwargs) for s in seeds}


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


def answer_share(rows, classes, n_boot: int = 1000, seed: int = 0) -> dict:
    """The share of answers naming any of ``classes`` (unanswered clips count as not naming them), with a 95 %
    bootstrap interval over clips, and the same classes' share of the true labels."""
    classes = set(classes)
    hit = np.array([p in classes for p in predicted(rows)], dtype=float)
    true = float(np.mean([r["label"] in classes for r in rows])) if rows else float("nan")
    if not len(hit):
        return {"value": float("nan"), "low": float("nan"), "high": float("nan"), "true_share": true}
    rng = np.random.default_rng(seed)
    boots = hit[rng.integers(0, len(hit), (n_boot, len(hit)))].mean(axis=1)
    low, high = np.percentile(boots, [2.5, 97.5])
    return {"value": float(hit.mean()), "low": float(low), "high": float(high), "true_share": true}


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

    def restrict(rs):
        return [r for r in rs if r["id"] in keep]

    return ({k: {s: restrict(rs) for s, rs in v.items()} if isinstance(v, dict) else restrict(v)
             for k, v in runs.items()}, per_class)


def sink_share(rows, tail, labels, n_boot: int = 1000, seed: int = 0) -> dict:
    """Who absorbs the errors of the ``tail`` classes: among clips of those classes answered wrongly (an
    unreadable answer is an error with no sink), the class named most often (``sink``) and the share of the
    errors it takes, with a 95 % bootstrap interval over the tail clips; ``even`` is the share one class would
    take if each error went to any of the other ``len(labels) - 1`` classes alike, for comparison."""
    tail = set(tail)
    pairs = [(r["label"], p) for r, p in zip(rows, predicted(rows)) if r["label"] in tail]
    wrong = [p for t, p in pairs if p != t]
    named = [p for p in wrong if p is not None]
    out = {"errors": len(wrong), "tail_clips": len(pairs), "sink": None, "value": float("nan"),
           "low": float("nan"), "high": float("nan"), "even": 1.0 / max(len(labels) - 1, 1)}
    if not named:
        return out
    values, counts = np.unique(np.array(named, dtype=object), return_counts=True)
    sink = str(values[np.argmax(counts)])
    # each tail clip: 1 if it is an error going to the sink, and whether it is an error at all
    to_sink = np.array([p != t and p == sink for t, p in pairs], dtype=float)
    err = np.array([p != t for t, p in pairs], dtype=float)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(pairs), (n_boot, len(pairs)))
    e = err[idx].sum(axis=1)
    boots = np.where(e > 0, to_sink[idx].sum(axis=1) / np.maximum(e, 1), np.nan)
    low, high = np.nanpercentile(boots, [2.5, 97.5])
    out.update(sink=sink, value=float(to_sink.sum() / err.sum()), low=float(low), high=float(high))
    return out


def summarize(rows: list[dict], labels) -> dict:
    """Scores of prediction rows: macro-F1, per-class recall, prediction shares, head share (the two classes
    the web word prior favours), and for probe clips the accuracy on micro-expressions split by whether a shown
    frame caught the event (rows carry ``kind`` and ``event_sampled``)."""
    from emoprobe.metrics import classification_report
    from emoprobe.probe.zoo import head_classes

    y = [r["label"] for r in rows]
    p = predicted(rows)
    labels = list(labels)
    rep = classification_report(y, p, labels)
    pred = np.asarray([str(x) for x in p])
    heads = head_classes(labels=labels)
    out = {"n": len(rows), "macro_f1": rep["macro_f1"], "war": rep["war"], "uar": rep["uar"],
           "unparsed_rate": rep["unparsed_rate"],
           "per_class_recall": {c: rep["per_class"][c]["recall"] for c in labels},
           "predicted_share": {c: rep["per_class"][c]["predicted_share"] for c in labels},
           "head_classes": heads, "head_share": float(np.isin(pred, heads).mean()) if len(pred) else None}
    shares = np.asarray([out["predicted_share"][c] for c in labels])
    nz = shares[shares > 0]
    out["prediction_entropy_bits"] = float(-(nz * np.log2(nz)).sum())
    for kind in ("macro", "micro"):
        sel = [r for r in rows if r.get("kind") == kind]
        out[f"{kind}_n"] = len(sel)
        out[f"{kind}_accuracy"] = float(np.mean([r["prediction"] == r["label"] for r in sel])) if sel else None
    for caught, tag in ((True, "sampled"), (False, "missed")):
        sel = [r for r in rows if r.get("kind") == "micro" and r.get("event_sampled") is caught]
        out[f"micro_{tag}_n"] = len(sel)
        out[f"micro_{tag}_accuracy"] = float(np.mean([r["prediction"] == r["label"] for r in sel])) if sel else None
    return out


def verdict(status: str, text: str) -> str:
    """A MyST admonition for the chapter's verdict (display it with IPython.display.Markdown)."""
    if status not in VERDICTS:
        raise ValueError(f"status: expected one of {sorted(VERDICTS)}, got {status!r}")
    return f":::{{admonition}} Verdict: {status}\n:class: {VERDICTS[status]}\n\n{text.strip()}\n:::"
