"""Named probe models, their training configs per profile, and ``get(name, profile)`` -> a trained model folder.

| name | what it is |
|---|---|
| ``vlm-prior0`` / ``vlm-prior1`` / ``vlm-prior2`` | the probe VLM after the "web" stage only, class words drawn with p(c) ∝ word frequency ** 0 / 1 / 2 (uniform, web-like, exaggerated) |
| ``vlm-ft-instance`` / ``-sqrt`` / ``-balanced`` / ``-progressive`` | ``vlm-prior1`` fully fine-tuned (every weight; no LoRA) on the long-tailed training split (MAFW counts) with that class sampler |
| ``videomae`` | the vision-only baseline (emoprobe.probe.videomae), trained on the same split, natural sampling |

Data (all MAFW's 11 classes, clips rendered at 56 px, lengths from MAFW's frame-count distribution capped at
``max_frames``): the "web" pool is class-balanced and the prior is applied by weighting the draws (so all three
priors share one rendered pool); the training split has MAFW's class counts; the held-out test set is
balanced, with other seeds (hence other identities). 30 % of expressive clips are micro-expressions.

Profiles: ``quick`` (the book's default; all models together fit the 15-minute CPU budget, see
benchmarks/probe_training.py) and ``smoke`` (the same code path shrunk to seconds; meaningless accuracy).
Trained models are cached by a hash of the config and of the code (emoprobe.probe.training.cached_train), so
a second ``get`` trains nothing. ``score(name, profile)`` evaluates a model on the profile's test set.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import numpy as np

from emoprobe.labels import LABEL_SETS

LABELS = LABEL_SETS["mafw"]
FRAME_SIZE = 56

# What edits invalidate a cached model: the probe and samplers (training's defaults), plus the generator and the
# text the VLM is trained on.
CODE_FILES = ("probe/qwen.py", "probe/corpus.py", "probe/training.py", "probe/videomae.py", "probe/zoo.py",
              "samplers/*.py", "data/synth/*.py", "prompts.py", "lexicon.py", "labels.py")

PROFILES: dict[str, dict] = {
    "quick": {
        # the web stage shows clear, posed faces (no distractors): the first step of the clear-to-brief curriculum
        "web": {"clips": 660, "seed": 101, "micro_fraction": 0.3, "max_frames": 75, "nuisance": False},
        "train": {"clips": 880, "seed": 202, "micro_fraction": 0.3, "max_frames": 75},
        "test": {"clips": 330, "seed": 303, "micro_fraction": 0.3, "max_frames": 75},
        "pretrain_steps": 1500,
        "finetune_steps": 250,
        "batch_size": 16,
        "videomae_epochs": 40,
    },
    "smoke": {
        "web": {"clips": 22, "seed": 101, "micro_fraction": 0.3, "max_frames": 30, "nuisance": False},
        "train": {"clips": 22, "seed": 202, "micro_fraction": 0.3, "max_frames": 30},
        "test": {"clips": 11, "seed": 303, "micro_fraction": 0.3, "max_frames": 30},
        "pretrain_steps": 16,
        "finetune_steps": 6,
        "batch_size": 8,
        "videomae_epochs": 1,
    },
}

MODELS: dict[str, dict] = {
    "vlm-prior0": {"kind": "pretrain", "prior_power": 0.0,
                   "description": "web stage, uniform class words (prior_power 0)"},
    "vlm-prior1": {"kind": "pretrain", "prior_power": 1.0,
                   "description": "web stage, class words at web frequency (prior_power 1)"},
    "vlm-prior2": {"kind": "pretrain", "prior_power": 2.0,
                   "description": "web stage, exaggerated word-frequency prior (prior_power 2)"},
    "vlm-ft-instance": {"kind": "finetune", "init": "vlm-prior1", "class_sampler": "instance",
                        "description": "vlm-prior1 fine-tuned on the long-tailed split, natural sampling"},
    "vlm-ft-sqrt": {"kind": "finetune", "init": "vlm-prior1", "class_sampler": "sqrt",
                    "description": "vlm-prior1 fine-tuned, square-root sampling"},
    "vlm-ft-balanced": {"kind": "finetune", "init": "vlm-prior1", "class_sampler": "balanced",
                        "description": "vlm-prior1 fine-tuned, class-balanced sampling"},
    "vlm-ft-progressive": {"kind": "finetune", "init": "vlm-prior1", "class_sampler": "progressive",
                           "description": "vlm-prior1 fine-tuned, progressive (natural -> balanced) sampling"},
    "videomae": {"kind": "videomae", "class_sampler": "instance",
                 "description": "tiny VideoMAE classifier on the long-tailed split, natural sampling"},
}


def list_models() -> list[str]:
    return list(MODELS)


def _check(name: str, profile: str):
    if name not in MODELS:
        raise ValueError(f"unknown probe model {name!r}; expected one of {list_models()}")
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; expected one of {sorted(PROFILES)}")


def default_cache_dir() -> Path:
    base = os.environ.get("EMOPROBE_CACHE_DIR") or os.path.join(os.path.expanduser("~"), ".cache", "emoprobe")
    return Path(base) / "models"


def config(name: str, profile: str = "quick", seed: int = 0, cache_dir=None) -> dict:
    """The full training config of a named model (plain JSON; what the cache key hashes)."""
    _check(name, profile)
    entry, prof = MODELS[name], PROFILES[profile]
    out = {"name": name, "profile": profile, "seed": int(seed), "kind": entry["kind"], "frame_size": FRAME_SIZE}
    if entry["kind"] == "pretrain":
        out["pool"] = {"prior": "balanced", "dataset": "mafw", **prof["web"]}
        out["train"] = {"stage": "pretrain", "prior_power": entry["prior_power"], "steps": prof["pretrain_steps"],
                        "batch_size": prof["batch_size"], "tasks_per_clip": {"classify": 2, "caption": 1, "motion": 1}}
    elif entry["kind"] == "finetune":
        out["pool"] = {"prior": "mafw", "dataset": "mafw", **prof["train"]}
        out["train"] = {"stage": "finetune", "class_sampler": entry["class_sampler"], "steps": prof["finetune_steps"],
                        "batch_size": prof["batch_size"], "tasks_per_clip": {"classify": 2}, "micro_curriculum": [0.0, 0.0]}
        # the starting point's own key: retraining it invalidates every fine-tune
        out["init"] = {"name": entry["init"], "key": _key(entry["init"], profile, seed)}
    else:
        out["pool"] = {"prior": "mafw", "dataset": "mafw", **prof["train"]}
        out["train"] = {"epochs": prof["videomae_epochs"], "class_sampler": entry["class_sampler"],
                        "num_threads": 2}
    return out


def _key(name: str, profile: str, seed: int) -> str:
    from emoprobe.probe.training import cache_key

    return cache_key(name, config(name, profile, seed), CODE_FILES)


def cache_key(name: str, profile: str = "quick", seed: int = 0) -> str:
    """The key ``get`` stores the model under (changes with the config and the training code)."""
    _check(name, profile)
    return _key(name, profile, seed)


# --- data ---------------------------------------------------------------------------------------------------------

def make_spec(pool: dict) -> dict:
    """The dataset spec of a pool config (emoprobe.data.synth.generate.make_dataset_spec)."""
    from emoprobe.data.synth.generate import make_dataset_spec

    p = {k: v for k, v in pool.items() if k != "max_frames"}
    return make_dataset_spec(p.pop("prior"), p.pop("clips"), seed=p.pop("seed"), dataset=p.pop("dataset"),
                             micro_fraction=p.pop("micro_fraction", 0.0), **p)


# In-process memo of rendered clips and encoded pools: the three priors share one web pool, the fine-tunes one
# training split. Plain dicts (not lru_cache) so a progress flag is not part of the key.
_RENDERED: dict = {}
_ENCODED: dict = {}


def clips(pool: dict, progress: bool = False) -> list:
    """Rendered clips of a pool config (memoised in this process: the three priors share one web pool)."""
    from emoprobe.probe.qwen import render_clips
    from emoprobe.probe.training import canonical_json

    key = canonical_json(pool)
    if key not in _RENDERED:
        if len(_RENDERED) >= 4:
            _RENDERED.pop(next(iter(_RENDERED)))
        _RENDERED[key] = render_clips(make_spec(pool)["clips"], FRAME_SIZE, pool.get("max_frames"),
                                      progress=progress, desc=f"render {pool['prior']} x{pool['clips']}")
    return _RENDERED[key]


def test_pool(profile: str = "quick") -> dict:
    """The held-out test set's config: balanced over MAFW's 11 classes, other seeds (so other identities)."""
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; expected one of {sorted(PROFILES)}")
    return {"prior": "balanced", "dataset": "mafw", **PROFILES[profile]["test"]}


def test_clips(profile: str = "quick", progress: bool = False) -> list:
    """The rendered held-out test clips of a profile (dicts with frames, aus, event, label, kind, ...)."""
    return clips(test_pool(profile), progress)


def encoded_pool(pool: dict, tasks: dict, processor, seed: int, progress: bool = False) -> dict:
    """The pre-processed training examples of a pool config (memoised per pool, tasks, seed and tokenizer)."""
    import hashlib

    from emoprobe.probe.qwen import CONTEXT_SHARE, VISUAL_TOKENS, build_pool
    from emoprobe.probe.training import canonical_json

    vocab = hashlib.sha256(processor.tokenizer.backend_tokenizer.to_str().encode()).hexdigest()
    key = (canonical_json(pool), canonical_json(tasks), int(seed), vocab)
    if key not in _ENCODED:
        if len(_ENCODED) >= 2:
            _ENCODED.pop(next(iter(_ENCODED)))
        _ENCODED[key] = build_pool(clips(pool, progress), tasks, processor, seed, VISUAL_TOKENS, CONTEXT_SHARE,
                                   progress=progress, desc=f"encode {pool['prior']} x{pool['clips']}")
    return _ENCODED[key]


# --- training -----------------------------------------------------------------------------------------------------

def _train_vlm(cfg: dict, cache_dir: Path, progress: bool, log) -> dict:
    from emoprobe.probe import qwen

    train_cfg = dict(cfg["train"])
    if cfg["kind"] == "finetune":
        init = str(get(cfg["init"]["name"], cfg["profile"], cache_dir=cache_dir, seed=cfg["seed"], progress=progress,
                       log=log))
        vlm = qwen.ProbeVLM.from_pretrained(init)
    else:
        vlm = qwen.build(seed=cfg["seed"])
    tasks = train_cfg.pop("tasks_per_clip")
    pool = encoded_pool(cfg["pool"], tasks, vlm.processor, cfg["seed"], progress)
    out = qwen.train_probe_vlm(pool, {**train_cfg, "tasks_per_clip": tasks}, seed=cfg["seed"], init=vlm,
                               progress=progress)
    out["history"]["profile"] = cfg["profile"]
    out["history"]["name"] = cfg["name"]
    return out


def _train_videomae(cfg: dict, progress: bool) -> dict:
    from emoprobe.probe.videomae import train_videomae

    rendered = clips(cfg["pool"], progress)
    train = dict(cfg["train"])
    sampler = train.pop("class_sampler")
    out = train_videomae([(c["frames"], c["label"]) for c in rendered], LABELS, config=train, seed=cfg["seed"],
                         class_sampler=sampler, progress=progress)
    out["history"]["profile"] = cfg["profile"]
    out["history"]["name"] = cfg["name"]
    return out


def get(name: str, profile: str = "quick", cache_dir=None, seed: int = 0, force: bool = False,
        progress: bool = True, log=None) -> Path:
    """The folder of the trained model ``name`` (trained on a cache miss, including what it starts from).

    VLM folders load with ``emoprobe.vlm.hf.HFBackend(model=folder)`` (or
    ``emoprobe.probe.qwen.evaluate_probe(folder, ...)``); the ``videomae`` folder with
    ``emoprobe.probe.videomae.load``. ``force`` retrains this model (not the one it starts from).
    """
    from emoprobe.probe.training import cached_train, cache_key as _ck

    _check(name, profile)
    cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    cfg = config(name, profile, seed)
    log = log or (lambda msg: None)
    if force:
        shutil.rmtree(cache_dir / name / _ck(name, cfg, CODE_FILES)[:16], ignore_errors=True)
    if cfg["kind"] == "videomae":
        fn = lambda c: _train_videomae(c, progress)  # noqa: E731
    else:
        fn = lambda c: _train_vlm(c, cache_dir, progress, log)  # noqa: E731
    out = cached_train(name, cfg, fn, cache_dir, code_files=CODE_FILES, log=log)
    return Path(out["path"]) / "model"


def history(name: str, profile: str = "quick", cache_dir=None, seed: int = 0) -> dict:
    """The training history of a trained model (loss curve, drawn class shares, seconds, ...)."""
    path = get(name, profile, cache_dir=cache_dir, seed=seed, progress=False)
    return json.loads((path.parent / "history.json").read_text())


# --- scoring ------------------------------------------------------------------------------------------------------

def head_classes(k: int = 2, power: float = 1.0) -> list[str]:
    """The ``k`` classes the web prior favours most (by word frequency, emoprobe.lexicon, all forms)."""
    from emoprobe.lexicon import prior

    p = prior(LABELS, power, form="all")
    return sorted(p, key=lambda c: -p[c])[:k]


def summarize(rows: list[dict], labels=LABELS) -> dict:
    """Scores of prediction rows: macro-F1, per-class recall, prediction shares, head share, micro accuracy
    split by whether the sampled frames caught the event (rows carry ``event_sampled``)."""
    from emoprobe.metrics import classification_report

    y = [r["label"] for r in rows]
    p = [r["prediction"] for r in rows]
    rep = classification_report(y, p, list(labels))
    pred = np.asarray([str(x) for x in p])
    heads = head_classes()
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


def predict_videomae(model_path, test: list, sampler: str = "segment_center", num_segments: int = 16) -> list[dict]:
    """Prediction rows of the VideoMAE baseline (frames from the TSN centre sampler, as DFER models use)."""
    from emoprobe.probe import videomae
    from emoprobe.probe.qwen import event_sampled
    from emoprobe.samplers import make_sampler

    model = videomae.load(model_path)
    preds = videomae.predict(model, [c["frames"] for c in test], sampler=sampler)
    smp = make_sampler(sampler, num_segments=num_segments)
    rows = []
    for c, pred in zip(test, preds):
        idx = smp.sample(int(c["num_frames"]), float(c["fps"])).indices
        rows.append({"id": c["id"], "label": c["label"], "kind": c["kind"], "prediction": pred, "outcome": "parsed",
                     "frame_indices": idx.tolist(), "event_sampled": event_sampled(c["event"], idx)})
    return rows


def score(name: str, profile: str = "quick", cache_dir=None, seed: int = 0, sampler: str = "uniform",
          sampler_params: dict | None = None, prompt: str = "closed_set", progress: bool = False) -> dict:
    """Train (or load) ``name`` and score it on the profile's held-out balanced test set.

    VLMs answer ``prompt`` with a shuffled candidate list over ``sampler`` frames (default 8 uniform frames)
    through HFBackend; VideoMAE uses its own 16 TSN-centre frames. Returns ``summarize`` plus ``rows``.
    """
    from emoprobe.probe.qwen import evaluate_probe

    path = get(name, profile, cache_dir=cache_dir, seed=seed, progress=progress)
    test = test_clips(profile)
    t0 = time.perf_counter()
    if MODELS[name]["kind"] == "videomae":
        rows = predict_videomae(path, test)
    else:
        rows = evaluate_probe(path, test, sampler=sampler,
                              sampler_params=sampler_params or ({"num_samples": 8} if sampler == "uniform" else {}),
                              prompt=prompt, labels=LABELS, seed=seed, progress=progress)
    out = summarize(rows)
    out.update(name=name, profile=profile, seconds=time.perf_counter() - t0, rows=rows)
    return out


__all__ = ["LABELS", "MODELS", "PROFILES", "cache_key", "clips", "config", "default_cache_dir", "get",
           "head_classes", "history", "list_models", "make_spec", "predict_videomae", "score", "summarize",
           "test_clips", "test_pool"]
