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

from emoprobe.intervals import (answer_share, balanced_subset, paired_delta, pooled,  # noqa: F401
                                rank_correlation, report, restrict, score_seeds, sink_share)
from emoprobe.rows import predicted

__all__ = ["Chapter", "chapter", "theme", "predictions", "seed_runs", "finetuned", "predicted", "report", "score_seeds",
           "paired_delta", "answer_share", "sink_share", "balanced_subset", "rank_correlation", "pooled", "restrict",
           "summarize", "accuracy", "verdict", "VERDICTS"]

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


def theme() -> None:
    """The book's plot theme (every chapter's figures look alike); ``chapter`` sets it too."""
    import seaborn as sns

    sns.set_theme(style="whitegrid", context="notebook")


def chapter(dataset: str, data_root, fold: int | None = 1, seed: int = 0, limit: int | None = None,
            vlm_sampler: str | None = None, vlm_sampler_params: dict | None = None) -> Chapter:
    """Set a chapter up: the plot theme of the book, and its labels, data and VLM sampling (`Chapter`)."""
    from emoprobe.labels import label_set
    from emoprobe.sources import is_probe

    theme()
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


def seed_runs(model, seeds=None, seed: int = 0, **kwargs) -> dict:
    """``{training seed: prediction rows}`` of ``model`` (``predictions`` with each seed): a probe model once
    per training seed (``seeds``; None: every seed its zoo profile trains, three in quick, one in smoke); any
    other model (one checkpoint, deterministic answers) once, under ``seed`` (or the first of ``seeds``)."""
    from emoprobe.sources import is_probe, split

    if is_probe(model):
        if seeds is None:
            from emoprobe.probe import zoo

            seeds = zoo.seeds(split(model)[0])
        seeds = [int(s) for s in seeds]
    else:
        seeds = [int(seed if seeds is None else list(seeds)[0])]
    if not seeds:
        raise ValueError("seeds: expected at least one training seed")
    return {s: predictions(model, seed=s, **kwargs) for s in seeds}


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
    for name, kind, caught in (("macro", "macro", None), ("micro", "micro", None), ("micro_sampled", "micro", True),
                               ("micro_missed", "micro", False)):
        acc = accuracy(rows, kind, caught)
        out[f"{name}_n"] = acc["n"]
        out[f"{name}_accuracy"] = acc["accuracy"] if acc["n"] else None
    return out


def accuracy(rows, kind: str | None = "micro", caught: bool | None = None) -> dict:
    """Accuracy on the probe rows of one ``kind`` ("micro", "macro"; None: every row), ``caught`` True / False:
    only those whose sampled frames caught / missed the event (rows carry ``kind`` and ``event_sampled``).
    ``{"n", "correct", "accuracy", "low", "high"}`` with a Wilson 95 % interval; accuracy NaN on no rows."""
    from emoprobe.metrics import wilson_interval

    sel = [r for r in rows if (kind is None or r.get("kind") == kind)
           and (caught is None or r.get("event_sampled") is caught)]
    k = sum(r["prediction"] == r["label"] for r in sel)
    low, high = wilson_interval(k, len(sel))
    return {"n": len(sel), "correct": k, "accuracy": k / len(sel) if sel else float("nan"), "low": low, "high": high}


def verdict(status: str, text: str) -> str:
    """A MyST admonition for the chapter's verdict (display it with IPython.display.Markdown)."""
    if status not in VERDICTS:
        raise ValueError(f"status: expected one of {sorted(VERDICTS)}, got {status!r}")
    return f":::{{admonition}} Verdict: {status}\n:class: {VERDICTS[status]}\n\n{text.strip()}\n:::"
