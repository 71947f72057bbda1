"""What the finding chapters share: one call that gets prediction rows in either profile, scores with
bootstrap intervals, and the verdict box.

``predictions(...)`` is the seam between the two profiles. In ``quick`` and ``smoke`` it trains (or loads from
the cache) a named probe model of `emoprobe.probe.zoo` and asks it about the profile's held-out probe clips; in
``paper`` it loads a real dataset with `emoprobe.data.load` and runs `emoprobe.evaluate.evaluate` on a
registered model or checkpoint folder. Either way the result is the same plain rows (``id``, ``label``,
``prediction``, ``outcome``, ``frame_indices``, and for probe clips ``kind`` and ``event_sampled``), which every
chapter scores the same way.

Probe rows are cached on disk beside the trained model (``<model folder>/../predictions/<key>.json``), keyed by
the model's own key, the test set's config, every argument and the evaluation code: the chapters ask the same
models the same questions in separate kernels, and a cached answer needs neither the model nor the rendered test
clips. The paper profile has its own resumable cache (emoprobe.cache, under ``out_root``).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from emoprobe import metrics

PROBE_PROFILES = ("smoke", "quick")
# What probe answers depend on beyond the model's own key (which covers the probe, samplers, generator, prompts)
EVAL_CODE_FILES = ("findings.py", "parse.py", "vlm/base.py", "vlm/hf.py")
VERDICTS = {"reproduced": "tip", "partly reproduced": "warning", "not reproduced": "danger",
            "not testable here": "note"}


def is_probe(profile: str) -> bool:
    if profile in PROBE_PROFILES:
        return True
    if profile == "paper":
        return False
    raise ValueError(f"profile: expected one of smoke, quick, paper, got {profile!r}")


def probe_labels(profile: str) -> list[str]:
    """The class names of the probe models of a profile."""
    from emoprobe.probe import zoo

    return zoo.labels(profile)


def predictions(profile: str, model: str, *, sampler: str | None = None, sampler_params: dict | None = None,
                prompt: str = "closed_set", context: str | None = None, seed: int = 0, dataset: str = "mafw",
                data_root: str | None = None, fold: int | None = 1, limit: int | None = None,
                out_root: str = "../_build/runs", visual_tokens: int | None = None,
                test_set: str = "test") -> list[dict]:
    """Prediction rows of ``model`` on the profile's test clips (see the module docstring). ``test_set``
    (probe profiles): "test" or "micro_test" (emoprobe.probe.zoo.test_pool)."""
    if is_probe(profile):
        args = {"sampler": sampler, "sampler_params": sampler_params, "prompt": prompt, "context": context,
                "visual_tokens": visual_tokens, "test_set": test_set}
        rows = _cached_probe_rows(profile, model, seed, args)
        return rows[:limit] if limit else rows
    if data_root is None:
        raise ValueError("data_root: the paper profile needs the folder of the real dataset "
                         f"({dataset.upper()} in its official layout); set it in runs.yml or with papermill -p")
    from emoprobe.data import load
    from emoprobe.evaluate import PREDICTIONS, evaluate, read_predictions

    records = load(dataset, data_root, split="test", fold=fold)
    tag = "-".join(str(x) for x in (model.replace("/", "_"), dataset, f"fold{fold}", sampler or "default",
                                    *(f"{k}{v}" for k, v in sorted((sampler_params or {}).items())), prompt, seed))
    out = Path(out_root) / tag
    evaluate(records, sampler=sampler, sampler_params=sampler_params, model=model, prompt=prompt, out_dir=out,
             limit=limit, seed=seed, dataset=dataset, progress=False)
    return list(read_predictions(out / PREDICTIONS).values())


def _cached_probe_rows(profile: str, model: str, seed: int, args: dict) -> list[dict]:
    from emoprobe.probe import zoo
    from emoprobe.probe.training import _plain_json, canonical_json, code_hash, sha256

    path = zoo.get(model, profile, seed=seed)
    key = sha256(canonical_json({"model": zoo.cache_key(model, profile, seed),
                                 "test": zoo.test_pool(profile, args["test_set"]), "args": args, "seed": seed,
                                 "code": code_hash(zoo.CODE_FILES + EVAL_CODE_FILES)}))[:20]
    file = path.parent / "predictions" / f"{key}.json"
    if file.exists():
        return json.loads(file.read_text())["rows"]
    rows = _probe_rows(path, profile, model, seed, **args)
    file.parent.mkdir(exist_ok=True)
    tmp = file.with_suffix(f".{os.getpid()}.tmp")
    # written whole, then renamed: a kernel killed mid-write leaves no half file another chapter would trust
    tmp.write_text(json.dumps({"model": model, "profile": profile, "seed": seed, "args": args, "rows": rows},
                              default=_plain_json))
    os.replace(tmp, file)
    return json.loads(file.read_text())["rows"]  # what a cache hit returns, so both paths give equal rows


def _probe_rows(path, profile: str, model: str, seed: int, sampler, sampler_params, prompt, context,
                visual_tokens, test_set) -> list[dict]:
    from emoprobe.probe import zoo

    clips = zoo.test_clips(profile, test_set=test_set)
    if zoo.MODELS[model]["kind"] == "videomae":
        return _videomae_rows(path, clips, shuffle=bool((sampler_params or {}).get("shuffle")),
                              seed=seed)
    from emoprobe.probe.qwen import evaluate_probe

    return evaluate_probe(path, clips, sampler=sampler or "uniform",
                          sampler_params=sampler_params if sampler else {"num_samples": 8}, prompt=prompt,
                          labels=probe_labels(profile), context=context, seed=seed, visual_tokens=visual_tokens)


def _videomae_rows(path, clips, shuffle: bool, seed: int) -> list[dict]:
    """The vision-only baseline on probe clips: 16 TSN segment centres, as DFER models sample; with
    ``shuffle`` each clip's 16 frames are permuted with a seed of its own."""
    from emoprobe.probe import videomae
    from emoprobe.probe.qwen import event_sampled
    from emoprobe.samplers import clip_rng, make_sampler

    model = videomae.load(path)
    n = model.config.num_frames
    rows = []
    for clip in clips:
        cid = str(clip["id"])
        params = {"shuffle": True, "seed": int(clip_rng(seed, cid).integers(2**31 - 1))} if shuffle else {}
        pred = videomae.predict(model, [clip["frames"]], fps=float(clip["fps"]), **params)[0]
        idx = make_sampler("segment_center", num_segments=n, **params).sample(int(clip["num_frames"]),
                                                                             float(clip["fps"])).indices
        rows.append({"id": cid, "label": clip["label"], "kind": clip.get("kind"), "prediction": pred,
                     "outcome": "parsed", "frame_indices": idx.tolist(),
                     "event_sampled": event_sampled(clip.get("event") or {}, idx)})
    return rows


def predicted(rows) -> list:
    """Parsed predictions, with None for answers that could not be read (they count as wrong)."""
    return [r.get("prediction") if r.get("outcome", "parsed") == "parsed" else None for r in rows]


def score(rows, labels, n_boot: int = 1000, seed: int = 0, metric: str = "macro_f1") -> dict:
    """Classification report of rows plus a percentile bootstrap interval of ``metric`` over clips."""
    y_true, y_pred = [r["label"] for r in rows], predicted(rows)
    rep = metrics.classification_report(y_true, y_pred, list(labels))
    ci = metrics.bootstrap_ci(y_true, y_pred, list(labels), metric=metric, n_boot=n_boot, seed=seed)
    rep[f"{metric}_ci"] = (ci["low"], ci["high"]) if isinstance(ci, dict) else tuple(ci)
    return rep


def paired_delta(rows_a, rows_b, labels, n_boot: int = 1000, seed: int = 0, metric: str = "macro_f1",
                 classes=None) -> dict:
    """``metric`` of B minus A on the same clips, with a paired bootstrap interval (clips resampled jointly).

    ``metric``: a scalar of emoprobe.metrics (macro_f1, war, uar, ...) or "recall": the mean recall of
    ``classes`` (e.g. the tail classes)."""
    a = {r["id"]: r for r in rows_a}
    b = {r["id"]: r for r in rows_b}
    ids = [i for i in a if i in b]
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
    t = np.array([index[a[i]["label"]] for i in ids])
    pa = np.array([index.get(x, k) for x in predicted([a[i] for i in ids])])
    pb = np.array([index.get(x, k) for x in predicted([b[i] for i in ids])])

    def metric_of(tt, pp):
        conf = np.bincount(tt * (k + 1) + pp, minlength=k * (k + 1)).reshape(k, k + 1)
        if metric == "recall":
            support = conf[rows_of].sum(axis=1)
            hits = conf[rows_of, rows_of]
            return float(np.mean(np.divide(hits, support, out=np.zeros(len(rows_of)), where=support > 0)))
        return metrics.report_from_confusion(conf, labels)[metric]

    def value(idx):
        return metric_of(t[idx], pb[idx]) - metric_of(t[idx], pa[idx])

    rng = np.random.default_rng(seed)
    n = len(ids)
    boots = [value(rng.integers(0, n, n)) for _ in range(n_boot)]
    low, high = np.percentile(boots, [2.5, 97.5])
    return {"delta": value(np.arange(n)), "low": float(low), "high": float(high), "n": n}


def verdict(status: str, text: str) -> str:
    """A MyST admonition for the chapter's verdict (display it with IPython.display.Markdown)."""
    if status not in VERDICTS:
        raise ValueError(f"status: expected one of {sorted(VERDICTS)}, got {status!r}")
    return f":::{{admonition}} Verdict: {status}\n:class: {VERDICTS[status]}\n\n{text.strip()}\n:::"
