"""Named probe models, their training configs per profile, and ``get(name, profile)`` -> a trained model folder.

| name | what it is |
|---|---|
| ``vlm-base`` | the probe VLM after a vision warm-up: class-balanced 8-frame classification of clear expressions (the shared start of the three priors, as the vision tower of a real VLM is pretrained before its web-scale language stage) |
| ``vlm-prior0`` / ``vlm-prior1`` / ``vlm-prior2`` | ``vlm-base`` after the "web" stage (captions, questions at 1-10 fps and 4-16 frames, motion descriptions, micro-expressions ramping in), class words drawn with p(c) ∝ word frequency ** 0 / 1 / 2 (uniform, web-like, exaggerated) |
| ``vlm-ft-instance`` / ``-sqrt`` / ``-balanced`` / ``-progressive`` | ``vlm-prior1`` fully fine-tuned (every weight; no LoRA) on the long-tailed training split (the dataset's real class counts, written to disk) with that class sampler, by emoprobe.finetune: the code that fine-tunes a real VLM |
| ``videomae-web`` | a tiny VideoMAE classifier (emoprobe.probe.videomae) trained on the labels of the web clips (class-balanced) |
| ``videomae`` | the vision-only baseline: ``videomae-web`` fine-tuned on the training split, natural sampling (as DFER specialists are pretrained on large face-video corpora, then fine-tuned on the benchmark) |

Data (the profile's ``dataset``: DFEW's 7 classes in quick and smoke, MAFW's 11 with ``dataset: mafw``; faces
cropped to 56 px; lengths from the dataset's frame-count distribution capped at ``max_frames``; moderate
distractors everywhere): the "web" pool is class-balanced and the prior is applied by weighting each model's
draws (so every class a zero-shot model is trained on follows its prior; the warm-up is the same for all three,
so the priors differ by the web stage alone); the training split has the dataset's
class counts; the held-out test set is balanced, with other seeds (hence other identities). 30 % of the
expressive clips are micro-expressions; a second test set holds micro-expressions only, in 6 s clips
(``test_pool(profile, "micro_test")``). Training pools are rendered lazily: each clip contributes a few
sampled views and only those frames are drawn (emoprobe.probe.vlm.pools.timeline_clips), so thousands of distinct
clips cost what a few hundred whole clips cost; the test sets are written to disk whole (any sampler can read them).

Profiles: ``quick`` (the book's default: three seeds of every model, trained side by side by
emoprobe.probe.schedule; benchmarks/probe_training.py times it) and ``smoke`` (one seed, the same code path
shrunk to seconds; meaningless accuracy).
Trained models are cached by a hash of the config and of the code their training reaches (``training_code``,
emoprobe.codehash; a docstring, a comment or an unrelated function changes nothing), so a second ``get``
trains nothing. The held-out test sets are written to disk in the dataset's real layout
(emoprobe.probe.testsets) and evaluated by emoprobe.evaluate like any real dataset.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import numpy as np

from emoprobe.labels import LABEL_SETS

FRAME_SIZE = 56

# What a model's cache key covers besides its config: the code its training function reaches
# (emoprobe.codehash), minus the cache lookup of its starting point (whose own key is in the config), the
# pool cache's bookkeeping and the naming of a fine-tune's work folder: none of them changes what is trained.
TRAINERS = {"base": "emoprobe.probe.zoo:_train_vlm", "pretrain": "emoprobe.probe.zoo:_train_vlm",
            "finetune": "emoprobe.probe.zoo:_train_finetune", "videomae": "emoprobe.probe.zoo:_train_videomae"}
NOT_FOLLOWED = ("emoprobe.probe.zoo:get", "emoprobe.probe.zoo:_stored", "emoprobe.probe.zoo:training_code")

# Distractors of every quick-profile clip (web, training and test alike, so no model is tested on a nuisance
# distribution it never saw): the generator's defaults (emoprobe.data.synth.timeline.NUISANCE_DEFAULTS) turned
# down to "moderate". At the full defaults (talking in a quarter of the clips, 1.5 % head jitter, lighting
# steps) neither tiny model left chance level within the quick budget.
MODERATE_NUISANCE = {"talk_probability": 0.1, "jitter": 0.008, "lighting": 0.03,
                     "lighting_change_probability": 0.05, "noise": [0.0, 3.0]}

# How the zoo's fine-tunes are trained by emoprobe.finetune (FinetuneConfig fields): every weight with the
# optimiser of the other probe stages (emoprobe.probe.training.OPTIMIZER_DEFAULTS), 8 frames one per segment at
# random (TSN), and a new candidate order at every step, as the web stage shows them.
FINETUNE = {"full": True, "lr": 1e-3, "weight_decay": 0.01, "betas": [0.9, 0.98], "warmup_steps": 40,
            "min_lr_ratio": 0.05, "clip_grad": 1.0, "sampler": "segment_random", "sampler_params": {"num_segments": 8},
            "class_order": "shuffled", "prompt": "closed_set", "save_every": 50, "num_threads": 1}

PROFILES: dict[str, dict] = {
    "quick": {
        "seeds": [0, 1, 2],  # every model is trained once per seed; chapters report the spread
        # DFEW's 7 basic classes (MAFW's proxies anxiety / helplessness are near-duplicates of fear / sadness);
        # disgust is DFEW's rare tail (1.2 %), happy the web prior's head. dataset "mafw" gives MAFW's 11.
        "dataset": "dfew",
        "nuisance": MODERATE_NUISANCE,
        # web / train pools are rendered lazily: only the frames each training example samples
        "web": {"clips": 2000, "seed": 101, "micro_fraction": 0.3, "max_frames": 75},
        "train": {"clips": 1400, "seed": 202, "micro_fraction": 0.3, "max_frames": 75},
        "test": {"clips": 350, "seed": 303, "micro_fraction": 0.3, "max_frames": 75},
        # micro-expressions only, in 6 s clips: 8 uniform frames are 0.84 s apart, so many 0.25-0.5 s events
        # fall between them. In the 3 s test clips 86 of 90 events were caught, too few misses to compare.
        "micro_test": {"clips": 140, "seed": 404, "micro_fraction": 1.0, "lengths": 150, "max_frames": 150},
        # one pool of examples serves the warm-up (plain 8-frame questions on clear expressions) and the web
        # stage. Mixing every task from the first step (85 % questions at 4-16 frames and 1-10 fps, micro clips
        # from mid-run) left all three priors at chance after 1,500 steps (measured macro-F1 0.04-0.05): the
        # tiny model needs to learn to look at the face on the easy, evaluated input first.
        "web_tasks": {"plain": 2, "classify": 1, "caption": 1, "motion": 1},
        # the warm-up's loss sits on a plateau at chance until the model starts to use the video; at lr 1e-3 how
        # long depended on the seed (one seed never left it in 1,000 steps); lr 5e-4 let every seed leave it
        # (benchmarks/warmup_plateau.py, the probe-models chapter)
        "base_steps": 3000,
        "base_lr": 5e-4,
        "task_weights": {"plain": 0.4, "classify": 0.3, "caption": 0.2, "motion": 0.1},
        "context_share": 0.25,  # share of "classify" questions given as keyframes + motion text (MSCE)
        "micro_curriculum": [0.1, 0.5],  # web stage: micro clips ramp in over its first half
        "pretrain_steps": 500,
        "finetune_steps": 400,
        "finetune": FINETUNE,
        "batch_size": 16,
        # patch 14: 16 visual tokens for 8 frames at 56 px, about 7x faster per step than patch 7 on a busy
        # 2-core machine; measured 0.51 held-out macro-F1 on DFEW's 7 classes (macro clips, 2,000 clips x 2
        # views, 1,500 classification steps)
        "model": {"patch_size": 14},
        # a tiny VideoMAE resized for speed: 56 px with patch 14 (a 4 x 4 grid; patch 8
        # ran at 4.6 steps/s and reached macro-F1 0.19 in 15 epochs), tubelet 1 and lr 2e-3. Measured held out
        # (one seed each): tubelet 2 / lr 1e-3 0.43 macro-F1, micro-expressions 0.21 when sampled (chance 0.17);
        # tubelet 2 / lr 2e-3 (15 web epochs) 0.53, 0.22; tubelet 1 / lr 1e-3 0.47, 0.28; tubelet 1 / lr 2e-3
        # 0.51, 0.25 (0.49 on the 3 s test clips, where two sampled frames fall in most events).
        # epochs per stage: web pretraining, then the training split (20 epochs on the split alone, without
        # pretraining: 0.34, below the zero-shot probe VLM, which sees the web clips)
        "videomae_epochs": {"web": 10, "train": 10},
        "videomae": {"views": 3, "tubelet_size": 1, "lr": 0.002, "image_size": 56, "patch_size": 14,
                     "hidden_size": 128, "intermediate_size": 256},
    },
    "smoke": {
        "seeds": [0],
        "dataset": "dfew",
        "nuisance": MODERATE_NUISANCE,
        "web": {"clips": 14, "seed": 101, "micro_fraction": 0.3, "max_frames": 30},
        "train": {"clips": 14, "seed": 202, "micro_fraction": 0.3, "max_frames": 30},
        "test": {"clips": 7, "seed": 303, "micro_fraction": 0.3, "max_frames": 30},
        "micro_test": {"clips": 7, "seed": 404, "micro_fraction": 1.0, "lengths": 60, "max_frames": 60},
        "web_tasks": {"plain": 2, "classify": 1, "caption": 1, "motion": 1},
        "base_steps": 12,
        "base_lr": 5e-4,
        "task_weights": {"plain": 0.4, "classify": 0.3, "caption": 0.2, "motion": 0.1},
        "context_share": 0.25,
        "micro_curriculum": [0.1, 0.5],
        "pretrain_steps": 8,
        "finetune_steps": 6,
        "finetune": FINETUNE,
        "batch_size": 8,
        "model": {"patch_size": 14},
        "videomae_epochs": {"web": 1, "train": 1},
        # 56 px like the test frames (no resize anywhere), patch 14: the same 4 x 4 grid as 32 px / patch 8
        "videomae": {"views": 1, "image_size": 56, "patch_size": 14, "hidden_size": 64,
                     "intermediate_size": 128},
    },
}


def dataset(profile: str = "quick") -> str:
    """The label set a profile's models are trained and tested on ("dfew" or "mafw")."""
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; expected one of {sorted(PROFILES)}")
    return PROFILES[profile].get("dataset", "mafw")


def seeds(profile: str = "quick") -> list[int]:
    """The training seeds of a profile's zoo."""
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; expected one of {sorted(PROFILES)}")
    return list(PROFILES[profile].get("seeds", [0]))


def labels(profile: str = "quick") -> list[str]:
    """The class names of a profile (DFEW's 7 for quick and smoke)."""
    return list(LABEL_SETS[dataset(profile)])


LABELS = labels("quick")

MODELS: dict[str, dict] = {
    "vlm-base": {"kind": "base",
                 "description": "vision warm-up: class-balanced 8-frame questions on clear expressions"},
    "vlm-prior0": {"kind": "pretrain", "init": "vlm-base", "prior_power": 0.0,
                   "description": "web stage, uniform class words (prior_power 0)"},
    "vlm-prior1": {"kind": "pretrain", "init": "vlm-base", "prior_power": 1.0,
                   "description": "web stage, class words at web frequency (prior_power 1)"},
    "vlm-prior2": {"kind": "pretrain", "init": "vlm-base", "prior_power": 2.0,
                   "description": "web stage, exaggerated word-frequency prior (prior_power 2)"},
    "vlm-ft-instance": {"kind": "finetune", "init": "vlm-prior1", "class_sampler": "instance",
                        "description": "vlm-prior1 fine-tuned on the long-tailed split, natural sampling"},
    "vlm-ft-sqrt": {"kind": "finetune", "init": "vlm-prior1", "class_sampler": "sqrt",
                    "description": "vlm-prior1 fine-tuned, square-root sampling"},
    "vlm-ft-balanced": {"kind": "finetune", "init": "vlm-prior1", "class_sampler": "balanced",
                        "description": "vlm-prior1 fine-tuned, class-balanced sampling"},
    "vlm-ft-progressive": {"kind": "finetune", "init": "vlm-prior1", "class_sampler": "progressive",
                           "description": "vlm-prior1 fine-tuned, progressive (natural -> balanced) sampling"},
    "videomae-web": {"kind": "videomae", "pool": "web", "class_sampler": "instance",
                     "description": "tiny VideoMAE classifier trained on the web clips' labels (class-balanced)"},
    "videomae": {"kind": "videomae", "init": "videomae-web", "class_sampler": "instance",
                 "description": "videomae-web fine-tuned on the long-tailed split, natural sampling"},
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


def _pool(prof: dict, part: str, prior: str) -> dict:
    ds = prof.get("dataset", "mafw")
    return {"prior": prior, "dataset": ds, **prof[part], **prof.get("nuisance", {})}


def config(name: str, profile: str = "quick", seed: int = 0, cache_dir=None) -> dict:
    """The full training config of a named model (plain JSON; what the cache key hashes)."""
    _check(name, profile)
    entry, prof = MODELS[name], PROFILES[profile]
    ds = dataset(profile)
    out = {"name": name, "profile": profile, "seed": int(seed), "kind": entry["kind"], "frame_size": FRAME_SIZE,
           "dataset": ds}
    if entry["kind"] in ("base", "pretrain"):
        # a class-balanced pool; the prior weights the draws (each model draws its own batches from it)
        out["pool"] = {**_pool(prof, "web", "balanced"), "context_share": prof.get("context_share", 0.25)}
        base = entry["kind"] == "base"
        out["train"] = {"prior_power": entry.get("prior_power", 0.0),
                        "steps": prof["base_steps" if base else "pretrain_steps"], "batch_size": prof["batch_size"],
                        "tasks_per_clip": dict(prof["web_tasks"]),
                        "task_weights": {"plain": 1.0} if base else dict(prof["task_weights"]),
                        "micro_curriculum": None if base else list(prof["micro_curriculum"]),
                        "model": dict(prof["model"]) if base else {}}
        if base:
            out["train"]["lr"] = prof["base_lr"]
    elif entry["kind"] == "finetune":
        # the training split as written to disk (emoprobe.probe.testsets "train"), trained by emoprobe.finetune
        out["pool"] = _pool(prof, "train", ds)
        out["train"] = {**prof["finetune"], "class_sampler": entry["class_sampler"], "steps": prof["finetune_steps"],
                        "batch_size": prof["batch_size"], "seed": int(seed)}
    else:
        part = entry.get("pool", "train")
        out["pool"] = _pool(prof, part, "balanced" if part == "web" else ds)
        out["train"] = {**prof["videomae"], "epochs": prof["videomae_epochs"][part],
                        "class_sampler": entry["class_sampler"], "num_threads": 1}
    if "init" in entry:
        # the starting point's own key: retraining it invalidates every model trained from it
        out["init"] = {"name": entry["init"], "key": _key(entry["init"], profile, seed)}
    return out


def training_code(cfg: dict) -> str:
    """The fingerprint of the code that trains a model of this config (emoprobe.codehash)."""
    from emoprobe.codehash import code_fingerprint, string_constants

    trainer = TRAINERS[cfg["kind"]]
    return code_fingerprint([trainer], constants=string_constants(cfg), exclude=NOT_FOLLOWED)


def _key(name: str, profile: str, seed: int) -> str:
    from emoprobe.probe.training import cache_key

    cfg = config(name, profile, seed)
    return cache_key(name, cfg, training_code(cfg))


def cache_key(name: str, profile: str = "quick", seed: int = 0) -> str:
    """The key ``get`` stores the model under (changes with the config and the training code)."""
    _check(name, profile)
    return _key(name, profile, seed)


# --- data ---------------------------------------------------------------------------------------------------------

def make_spec(pool: dict) -> dict:
    """The dataset spec of a pool config (emoprobe.data.synth.generate.make_dataset_spec)."""
    from emoprobe.data.synth.generate import make_dataset_spec

    p = {k: v for k, v in pool.items() if k not in ("max_frames", "context_share")}
    return make_dataset_spec(p.pop("prior"), p.pop("clips"), seed=p.pop("seed"), dataset=p.pop("dataset"),
                             micro_fraction=p.pop("micro_fraction", 0.0), **p)


def timelines(pool: dict) -> list:
    """Timeline clips of a pool config (aus and events, no pixels; emoprobe.probe.vlm.pools.timeline_clips): training
    pools render only the frames each example samples."""
    from emoprobe.probe.vlm.pools import timeline_clips

    return timeline_clips(make_spec(pool)["clips"], FRAME_SIZE, pool.get("max_frames"))


TEST_SETS = ("test", "micro_test")


def test_pool(profile: str = "quick", test_set: str = "test") -> dict:
    """A held-out test set's config: balanced over the profile's classes, the same distractors as training,
    other seeds (so other identities). ``test_set``: "test" (clear and micro expressions, 30 % micro) or
    "micro_test" (micro-expressions only, in long clips, so that sparse sampling misses some events; its
    neutral clips have no event)."""
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; expected one of {sorted(PROFILES)}")
    if test_set not in TEST_SETS:
        raise ValueError(f"test_set: expected one of {TEST_SETS}, got {test_set!r}")
    return _pool(PROFILES[profile], test_set, "balanced")


def _stored(kind: str, parts: dict, build):
    """``build()`` computed once per machine: kept in memory for this process and on disk for the others.

    Training pools are the same for every seed and every model that reads them (the three priors share the web
    pool, the fine-tunes the training split), and models train in separate processes, so a pool is rendered
    and encoded once, saved with ``torch.save`` (written to a temporary name and renamed into place), and
    loaded by every later training. The key holds the pool's config and the code that builds it.
    """
    import torch

    from emoprobe.cache import remove_orphans, temporary_name
    from emoprobe.codehash import code_fingerprint, string_constants
    from emoprobe.probe.training import canonical_json, library_versions, sha256

    code = code_fingerprint([f"emoprobe.probe.zoo:{kind}"], constants=string_constants(parts))
    key = sha256(canonical_json({"kind": kind, **parts, "code": code, "libraries": library_versions()}))[:16]
    if key in _POOLS:
        return _POOLS[key]
    import fcntl

    folder = default_cache_dir().parent / "pools"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{kind}-{key}.pt"
    # one builder at a time: a second process that needs the same pool waits for it instead of rendering it too
    with open(folder / f"{kind}-{key}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if path.is_file():
            out = torch.load(path, weights_only=False)
        else:
            out = build()
            remove_orphans(folder)
            tmp = folder / temporary_name(path.stem)
            tmp.mkdir()
            torch.save(out, tmp / "pool.pt")
            os.replace(tmp / "pool.pt", path)
            shutil.rmtree(tmp, ignore_errors=True)
    if len(_POOLS) >= 2:  # a web pool and a training split at most: each is up to a few hundred MB
        _POOLS.pop(next(iter(_POOLS)))
    _POOLS[key] = out
    return out


_POOLS: dict = {}


def encoded_pool(pool: dict, tasks: dict, processor, progress: bool = False) -> dict:
    """The pre-processed training examples of a pool config (emoprobe.probe.vlm.pools.build_pool), drawn with the
    pool's own seed: the same for every training seed and every model with the same processor."""
    import hashlib

    from emoprobe.probe.vlm.budget import VISUAL_TOKENS
    from emoprobe.probe.vlm.examples import CONTEXT_SHARE
    from emoprobe.probe.vlm.pools import build_pool

    vocab = hashlib.sha256(processor.tokenizer.backend_tokenizer.to_str().encode()).hexdigest()
    parts = {"pool": pool, "tasks": tasks, "vocab": vocab, "patch": int(processor.video_processor.patch_size)}
    return _stored("encoded_pool", parts, lambda: build_pool(
        timelines(pool), tasks, processor, int(pool["seed"]), VISUAL_TOKENS, pool.get("context_share", CONTEXT_SHARE),
        progress=progress, desc=f"encode {pool['prior']} x{pool['clips']}", dataset=pool["dataset"]))


def videomae_views(pool: dict, views: int, num_frames: int, progress: bool = False) -> list:
    """``views`` TSN samples (``segment_random``, ``num_frames`` frames) of every clip of a pool, rendered for
    those frames only and drawn with the pool's own seed: a list of (frames, label), ``views`` consecutive
    entries per clip."""

    def render():
        from emoprobe.probe.vlm.pools import clip_frames
        from emoprobe.progress import bar
        from emoprobe.samplers import make_sampler

        smp = make_sampler("segment_random", num_segments=int(num_frames))
        out = []
        tl = timelines(pool)
        with bar(len(tl), f"render views x{len(tl)}", progress, unit="clip") as b:
            for n, clip in enumerate(tl):
                rng = np.random.default_rng([int(pool["seed"]), 17, n])
                idx = [smp.sample(clip["num_frames"], clip["fps"], rng=rng).indices for _ in range(int(views))]
                union = np.unique(np.concatenate(idx))
                frames = clip_frames(clip, union)
                out += [(frames[np.searchsorted(union, i)], clip["label"]) for i in idx]
                b.update(1)
        return out

    return _stored("videomae_views", {"pool": pool, "views": int(views), "num_frames": int(num_frames)}, render)


# --- training -----------------------------------------------------------------------------------------------------

def _train_vlm(cfg: dict, cache_dir: Path, progress: bool, log) -> dict:
    from emoprobe.probe.vlm.build import ProbeVLM, build
    from emoprobe.probe.vlm.train import train_probe_vlm

    train_cfg = dict(cfg["train"])
    if "init" in cfg:
        init = str(get(cfg["init"]["name"], cfg["profile"], cache_dir=cache_dir, seed=cfg["seed"], progress=progress,
                       log=log))
        vlm = ProbeVLM.from_pretrained(init)
    else:
        vlm = build(seed=cfg["seed"], **train_cfg.get("model", {}))
    tasks = train_cfg.pop("tasks_per_clip")
    t0 = time.perf_counter()
    pool = encoded_pool(cfg["pool"], tasks, vlm.processor, progress)
    pool_seconds = time.perf_counter() - t0
    out = train_probe_vlm(pool, {**train_cfg, "tasks_per_clip": tasks}, seed=cfg["seed"], init=vlm,
                          progress=progress)
    out["history"].update(profile=cfg["profile"], name=cfg["name"], pool_seconds=pool_seconds)
    return out


def _train_finetune(cfg: dict, cache_dir: Path, progress: bool, log) -> dict:
    """A fine-tune through emoprobe.finetune, the code a real VLM's fine-tune runs, on the training split as
    written to disk, in a work folder of its own (an interrupted training resumes from its checkpoint)."""
    from emoprobe.data import load
    from emoprobe.finetune import FinetuneConfig, finetune
    from emoprobe.probe import testsets
    from emoprobe.probe.training import cache_key as _ck
    from emoprobe.probe.vlm.build import ProbeVLM

    init = get(cfg["init"]["name"], cfg["profile"], cache_dir=cache_dir, seed=cfg["seed"], progress=progress, log=log)
    t0 = time.perf_counter()
    root = testsets.folder(cfg["profile"], "train", progress=progress)
    records = load(cfg["dataset"], root, split="train", fold=testsets.FOLD)
    pool_seconds = time.perf_counter() - t0
    train = dict(cfg["train"])
    train["betas"] = tuple(train["betas"])
    work = Path(cache_dir) / cfg["name"] / f".work-{_ck(cfg['name'], cfg, training_code(cfg))[:16]}"
    history = finetune(records, str(init), work, FinetuneConfig(**train), dataset=cfg["dataset"], progress=progress)
    vlm = ProbeVLM.from_pretrained(work / "model")
    shutil.rmtree(work, ignore_errors=True)
    vlm.info = {"stage": "finetune", "seed": cfg["seed"], "class_sampler": train["class_sampler"]}
    history.update(profile=cfg["profile"], name=cfg["name"], pool_seconds=pool_seconds)
    return {"model": vlm, "history": history}


def _train_videomae(cfg: dict, cache_dir: Path, progress: bool, log) -> dict:
    from emoprobe.probe.videomae import MODEL_DEFAULTS, Checkpoint, train_videomae

    train = dict(cfg["train"])
    sampler = train.pop("class_sampler")
    views = int(train.pop("views", 1))
    t0 = time.perf_counter()
    items = videomae_views(cfg["pool"], views, train.get("num_frames", MODEL_DEFAULTS["num_frames"]), progress)
    pool_seconds = time.perf_counter() - t0
    # one epoch = one draw per clip (not per view), so "epochs" means passes over the clips
    train.setdefault("epoch_size", len(items) // views)
    init = (get(cfg["init"]["name"], cfg["profile"], cache_dir=cache_dir, seed=cfg["seed"], progress=progress, log=log)
            if "init" in cfg else None)
    out = train_videomae(items, labels_of(cfg), config=train, seed=cfg["seed"], class_sampler=sampler,
                         progress=progress, init=init)
    out["history"].update(profile=cfg["profile"], name=cfg["name"], pool_seconds=pool_seconds, views=views)
    return {**out, "model": Checkpoint(out["model"])}


def labels_of(cfg: dict) -> list[str]:
    return list(LABEL_SETS[cfg.get("dataset", "mafw")])


def get(name: str, profile: str = "quick", cache_dir=None, seed: int = 0, force: bool = False,
        progress: bool = True, log=None) -> Path:
    """The folder of the trained model ``name`` (trained on a cache miss, including what it starts from).

    Every folder is a transformers checkpoint that ``emoprobe.evaluate`` loads like a hub model (VLMs through
    the hf backend, VideoMAE through the video-classifier backend). ``force`` retrains this model (not the one
    it starts from).
    """
    from emoprobe.probe.training import cached_train, cache_key as _ck

    _check(name, profile)
    cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    cfg = config(name, profile, seed)
    log = log or (lambda msg: None)
    if force:
        shutil.rmtree(cache_dir / name / _ck(name, cfg, training_code(cfg))[:16], ignore_errors=True)
    trainer = {"videomae": _train_videomae, "finetune": _train_finetune}.get(cfg["kind"], _train_vlm)
    fn = lambda c: trainer(c, cache_dir, progress, log)  # noqa: E731
    out = cached_train(name, cfg, fn, cache_dir, code=training_code(cfg), log=log)
    return Path(out["path"]) / "model"


def history(name: str, profile: str = "quick", cache_dir=None, seed: int = 0) -> dict:
    """The training history of a trained model (loss curve, drawn class shares, seconds, ...)."""
    path = get(name, profile, cache_dir=cache_dir, seed=seed, progress=False)
    return json.loads((path.parent / "history.json").read_text())


# --- the prior's head classes -------------------------------------------------------------------------------------

def head_classes(k: int = 2, power: float = 1.0, profile: str | None = None, labels=None) -> list[str]:
    """The ``k`` classes the web prior favours most (by word frequency, emoprobe.lexicon, all forms), among
    ``labels`` (default: the profile's classes; the quick profile's without a profile)."""
    from emoprobe.lexicon import prior

    names = list(labels) if labels is not None else (globals()["labels"](profile) if profile else LABELS)
    p = prior(names, power, form="all")
    return sorted(p, key=lambda c: -p[c])[:k]


__all__ = ["LABELS", "MODELS", "PROFILES", "cache_key", "config", "dataset", "default_cache_dir", "get",
           "head_classes", "history", "labels", "list_models", "make_spec", "seeds", "test_pool", "timelines",
           "training_code", "videomae_views"]
