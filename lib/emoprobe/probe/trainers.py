"""How each kind of zoo model is trained, and the training pools they share.

A trainer takes a model's config (emoprobe.probe.zoo.config), the model cache and a progress flag and returns
``{"model", "history"}`` for emoprobe.probe.training.cached_train. Its cache key covers the code it reaches
(emoprobe.codehash), so these functions are the roots of that analysis (emoprobe.probe.zoo.KINDS).

Pools are rendered (and, for the VLMs, encoded) once per machine and shared on disk: they depend on the pool's
config and its own seed, not on the training seed, so the three seeds and every model reading the same data use
one copy.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import numpy as np

__all__ = ["encoded_pool", "labels_of", "train_finetune", "train_videomae_model", "train_vlm", "videomae_views"]


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

    code = code_fingerprint([f"emoprobe.probe.trainers:{kind}"], constants=string_constants(parts))
    key = sha256(canonical_json({"kind": kind, **parts, "code": code, "libraries": library_versions()}))[:16]
    if key in _POOLS:
        return _POOLS[key]
    import fcntl

    from emoprobe.probe.zoo import default_cache_dir

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

    from emoprobe.probe.zoo import timelines

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

        from emoprobe.probe.zoo import timelines

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


# --- trainers -----------------------------------------------------------------------------------------------------

def train_vlm(cfg: dict, cache_dir: Path, progress: bool, log) -> dict:
    from emoprobe.probe.zoo import get
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


def train_finetune(cfg: dict, cache_dir: Path, progress: bool, log) -> dict:
    """A fine-tune through emoprobe.finetune, the code a real VLM's fine-tune runs, on the training split as
    written to disk, in a work folder of its own (an interrupted training resumes from its checkpoint)."""
    from emoprobe.data import load
    from emoprobe.finetune import FinetuneConfig, finetune
    from emoprobe.probe import testsets
    from emoprobe.probe.training import cache_key as _ck
    from emoprobe.probe.vlm.build import ProbeVLM
    from emoprobe.probe.zoo import get, training_code

    init = get(cfg["init"]["name"], cfg["profile"], cache_dir=cache_dir, seed=cfg["seed"], progress=progress, log=log)
    t0 = time.perf_counter()
    root = testsets.folder(cfg["profile"], "train", progress=progress)
    records = load(cfg["dataset"], root, split="train", fold=testsets.FOLD)
    pool_seconds = time.perf_counter() - t0
    train = {**cfg["train"], "seed": int(cfg["seed"])}
    train["betas"] = tuple(train["betas"])
    work = Path(cache_dir) / cfg["name"] / f".work-{_ck(cfg['name'], cfg, training_code(cfg))[:16]}"
    history = finetune(records, str(init), work, FinetuneConfig(**train), dataset=cfg["dataset"], progress=progress)
    vlm = ProbeVLM.from_pretrained(work / "model")
    shutil.rmtree(work, ignore_errors=True)
    vlm.info = {"stage": "finetune", "seed": cfg["seed"], "class_sampler": train["class_sampler"]}
    history.update(profile=cfg["profile"], name=cfg["name"], pool_seconds=pool_seconds)
    return {"model": vlm, "history": history}


def train_videomae_model(cfg: dict, cache_dir: Path, progress: bool, log) -> dict:
    from emoprobe.probe.videomae import MODEL_DEFAULTS, Checkpoint, train_videomae
    from emoprobe.probe.zoo import get

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
    from emoprobe.labels import LABEL_SETS

    return list(LABEL_SETS[cfg.get("dataset", "mafw")])
