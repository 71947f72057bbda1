"""Training utilities shared by the probe's tiny models: seeding, the optimisation loop, progress, and a cache.

Why a cache: the book trains its probe models on CPU, and a warm ``make book`` must train nothing. A trained
model is stored under a key that changes whenever anything that could change the result changes: the training
config (canonical JSON), the package version, and the source code of the training modules (a hash of the files
themselves, so an edit to the loop invalidates old models even without a version bump).

Why these optimiser defaults: the recipe measured here, on this machine kind — AdamW
(betas 0.9/0.98, weight decay 0.01), lr 1e-3 with linear warm-up and cosine decay to 5 %, gradient-norm clipping
at 1.0. A higher lr (3e-3) made the tiny models ignore the video and emit the label prior.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import math
import os
import random
import shutil
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np
import torch

import emoprobe

PACKAGE_ROOT = Path(emoprobe.__file__).resolve().parent

# Source files whose edits must invalidate cached models: the probe package and the samplers it draws with.
DEFAULT_CODE_FILES = ("probe/*.py", "samplers/*.py")

OPTIMIZER_DEFAULTS = {"lr": 1e-3, "weight_decay": 0.01, "betas": (0.9, 0.98), "warmup_steps": 100,
                      "min_lr_ratio": 0.05, "clip_grad": 1.0, "lr_scale": {}}


# --- determinism -------------------------------------------------------------------------------------------------

def seed_everything(seed: int, deterministic: bool = True, num_threads: int | None = None) -> dict:
    """Seed Python, NumPy and torch; optionally force deterministic kernels and a fixed thread count.

    Returns the settings applied (recorded in a run's history). On CPU, results are bit-identical across runs
    with the same seed and thread count; a different thread count can change float summation order.
    """
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
        raise ValueError(f"seed must be an integer, got {seed!r}")
    random.seed(int(seed))
    np.random.seed(int(seed) % 2**32)
    torch.manual_seed(int(seed))
    if num_threads is not None:
        torch.set_num_threads(int(num_threads))
    if deterministic:
        # warn_only: an op without a deterministic kernel warns instead of failing the whole run
        torch.use_deterministic_algorithms(True, warn_only=True)
    return {"seed": int(seed), "deterministic": bool(deterministic), "num_threads": torch.get_num_threads()}


# --- progress and schedule ---------------------------------------------------------------------------------------

def progress_bar(total: int, desc: str = "train", enable: bool = True):
    """A progress bar (emoprobe.progress.bar: log-friendly, reported to the parent in a training worker)."""
    from emoprobe.progress import bar

    return bar(total, desc, enable, unit="step")


def warmup_cosine(step: int, num_steps: int, warmup_steps: int, min_lr_ratio: float) -> float:
    """Learning-rate multiplier: linear warm-up to 1, then cosine decay to ``min_lr_ratio`` at the last step."""
    warmup_steps = min(warmup_steps, max(num_steps - 1, 0))
    if step < warmup_steps:
        return (step + 1) / warmup_steps
    span = max(num_steps - warmup_steps - 1, 1)
    t = min((step - warmup_steps) / span, 1.0)
    return min_lr_ratio + (1.0 - min_lr_ratio) * 0.5 * (1.0 + math.cos(math.pi * t))


def make_optimizer(model: torch.nn.Module, lr: float, weight_decay: float, betas,
                   lr_scale: dict | None = None) -> torch.optim.Optimizer:
    """AdamW with no weight decay on biases and norm weights (the usual transformer practice).

    ``lr_scale`` maps a parameter-name prefix to a learning-rate multiplier (the first matching prefix wins).
    """
    lr_scale = dict(lr_scale or {})
    groups: dict = {}
    for name, p in model.named_parameters():
        if p.requires_grad:
            scale = next((float(v) for k, v in lr_scale.items() if name.startswith(k)), 1.0)
            decay = weight_decay if p.ndim >= 2 else 0.0
            groups.setdefault((scale, decay), []).append(p)
    unused = [k for k in lr_scale if not any(n.startswith(k) for n, _ in model.named_parameters())]
    if unused:
        raise ValueError(f"lr_scale: no parameter name starts with {unused}")
    return torch.optim.AdamW([{"params": ps, "lr": lr * scale, "weight_decay": decay}
                              for (scale, decay), ps in groups.items()], lr=lr, betas=tuple(betas))


def fit(model: torch.nn.Module, next_batch: Callable[[int], dict], num_steps: int,
        loss_fn: Callable | None = None, progress: bool = True, desc: str = "train",
        **optim) -> dict:
    """Train ``model`` for ``num_steps`` steps; ``next_batch(step)`` returns the keyword arguments of one
    forward pass. Returns the history as plain lists: ``step``, ``loss``, ``lr``, ``grad_norm`` (before
    clipping), and the wall time (``seconds``, ``steps_per_second``; the only non-deterministic entries).

    ``loss_fn(model, batch)`` defaults to ``model(**batch).loss``. Optimiser settings (``lr``,
    ``weight_decay``, ``betas``, ``warmup_steps``, ``min_lr_ratio``, ``clip_grad``) default to
    ``OPTIMIZER_DEFAULTS``.
    """
    unknown = set(optim) - set(OPTIMIZER_DEFAULTS)
    if unknown:
        raise ValueError(f"fit: unknown optimiser settings {sorted(unknown)}; expected {sorted(OPTIMIZER_DEFAULTS)}")
    if not isinstance(num_steps, (int, np.integer)) or num_steps < 1:
        raise ValueError(f"num_steps must be a positive integer, got {num_steps!r}")
    o = {**OPTIMIZER_DEFAULTS, **optim}
    loss_fn = loss_fn or (lambda m, batch: m(**batch).loss)
    opt = make_optimizer(model, o["lr"], o["weight_decay"], o["betas"], o["lr_scale"])
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: warmup_cosine(s, num_steps, o["warmup_steps"], o["min_lr_ratio"]))
    history = {"step": [], "loss": [], "lr": [], "grad_norm": []}
    model.train()
    start = time.perf_counter()
    with progress_bar(num_steps, desc, progress) as bar:
        for step in range(num_steps):
            batch = next_batch(step)
            loss = loss_fn(model, batch)
            if not torch.isfinite(loss):
                raise FloatingPointError(f"{desc}: loss became {loss.item()} at step {step}")
            opt.zero_grad(set_to_none=True)
            loss.backward()
            clip = o["clip_grad"] if o["clip_grad"] else float("inf")
            norm = torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
            history["step"].append(step)
            history["loss"].append(float(loss.item()))
            history["lr"].append(float(o["lr"] * warmup_cosine(step, num_steps, o["warmup_steps"], o["min_lr_ratio"])))
            history["grad_norm"].append(float(norm))
            opt.step()
            sched.step()
            bar.update(1)
            if step % 10 == 0 or step == num_steps - 1:
                bar.set_postfix(loss=f"{history['loss'][-1]:.3f}")
    model.eval()
    seconds = time.perf_counter() - start
    history["seconds"] = seconds
    history["steps_per_second"] = num_steps / seconds if seconds > 0 else None
    history["optimizer"] = {k: (list(v) if isinstance(v, tuple) else v) for k, v in o.items()}
    return history


# --- the cache ---------------------------------------------------------------------------------------------------

def canonical_json(obj) -> str:
    """JSON with sorted keys and no whitespace: equal configs give equal strings (and hashes)."""

    def default(x):
        if isinstance(x, np.generic):
            return x.item()
        if isinstance(x, np.ndarray):
            return x.tolist()
        if isinstance(x, (set, frozenset)):
            return sorted(x)
        if isinstance(x, Path):
            return str(x)
        raise TypeError(f"config value {x!r} of type {type(x).__name__} is not JSON-serialisable; "
                        "use numbers, strings, lists and dicts")

    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=default,
                      allow_nan=False)


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def code_hash(patterns: Iterable[str] = DEFAULT_CODE_FILES, root: Path = PACKAGE_ROOT) -> str:
    """sha256 over the (relative path, content) of every source file matching ``patterns`` under the package."""
    files = sorted({p for pat in patterns for p in Path(root).glob(pat) if p.is_file()})
    if not files:
        raise ValueError(f"code_hash: no file matches {list(patterns)} under {root}")
    h = hashlib.sha256()
    for path in files:
        h.update(path.relative_to(root).as_posix().encode("utf-8") + b"\0")
        h.update(path.read_bytes() + b"\0")
    return h.hexdigest()


def library_versions() -> dict:
    """Versions of the libraries a training runs on (their code is not hashed, so their versions are)."""
    from importlib.metadata import version

    return {lib: version(lib) for lib in ("numpy", "torch", "transformers")}


def cache_key(name: str, config: dict, code: str | None = None) -> str:
    """The key a trained model is stored under: config + package and library versions + training code.

    ``code``: a fingerprint of the code the training runs (emoprobe.codehash.code_fingerprint); by default a
    hash of every file of ``DEFAULT_CODE_FILES``.
    """
    return sha256(canonical_json({"name": name, "config": config, "version": emoprobe.__version__,
                                  "libraries": library_versions(),
                                  "code": code if code is not None else code_hash(DEFAULT_CODE_FILES)}))


def _plain_json(x):
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, np.ndarray):
        return x.tolist()
    raise TypeError(f"history value {x!r} of type {type(x).__name__} is not JSON-serialisable")


def _class_path(obj) -> str:
    cls = type(obj)
    return f"{cls.__module__}:{cls.__qualname__}"


def _load_class(path: str):
    module, _, qualname = path.partition(":")
    obj = importlib.import_module(module)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    return obj


def cached_train(name: str, config: dict, fn: Callable[[dict], dict], cache_dir, code: str | None = None,
                 log: Callable[[str], None] | None = None) -> dict:
    """Train with ``fn(config)`` unless a model for this exact config and code is cached; return it either way.

    ``fn`` returns a dict with ``model`` (anything with ``save_pretrained`` / ``from_pretrained``), ``history``
    (JSON-ready) and optionally ``extras`` (name -> object with ``save_pretrained``, e.g. a processor).
    The result is ``{"model", "history", "extras", "key", "path", "cached"}``; ``cached`` is True when nothing
    was trained. Entries are written to a temporary folder and renamed into place, so an interrupted run never
    leaves a half-written model that a later run would trust.
    """
    if not isinstance(config, dict):
        raise ValueError(f"cached_train: config must be a dict, got {type(config).__name__}")
    if not name or "/" in name or name.startswith("."):
        raise ValueError(f"cached_train: name must be a plain folder name, got {name!r}")
    log = log or (lambda msg: None)
    key = cache_key(name, config, code)
    path = Path(cache_dir) / name / key[:16]
    meta_file = path / "meta.json"
    if meta_file.exists():
        meta = json.loads(meta_file.read_text())
        if meta.get("key") == key:
            log(f"{name}: cached model {path}")
            return _load_entry(path, meta, key)
    log(f"{name}: training (cache key {key[:16]})")
    out = fn(config)
    if not isinstance(out, dict) or "model" not in out or "history" not in out:
        raise ValueError(f"cached_train: fn must return a dict with 'model' and 'history', got {type(out).__name__}")
    extras = out.get("extras") or {}
    from emoprobe.cache import remove_orphans, temporary_name

    remove_orphans(path.parent)
    tmp = path.parent / temporary_name(key[:16])
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    out["model"].save_pretrained(tmp / "model")
    for extra_name, obj in extras.items():
        obj.save_pretrained(tmp / "extras" / extra_name)
    # not canonical_json: a diverged run's inf/nan grad norms must still be stored (Python's JSON reads them)
    (tmp / "history.json").write_text(json.dumps(out["history"], default=_plain_json))
    meta = {"name": name, "key": key, "config": config, "version": emoprobe.__version__,
            "model_class": _class_path(out["model"]),
            "extras": {k: _class_path(v) for k, v in extras.items()},
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    (tmp / "meta.json").write_text(json.dumps(meta, indent=1, sort_keys=True, ensure_ascii=False, default=str))
    shutil.rmtree(path, ignore_errors=True)  # a stale entry with a mismatched key
    try:
        os.replace(tmp, path)
    except OSError:  # another process stored the same key first: keep theirs
        shutil.rmtree(tmp, ignore_errors=True)
    log(f"{name}: stored {path}")
    return {"model": out["model"], "history": out["history"], "extras": extras, "key": key, "path": path,
            "cached": False}


def _load_entry(path: Path, meta: dict, key: str) -> dict:
    model = _load_class(meta["model_class"]).from_pretrained(path / "model")
    model.eval()
    extras = {k: _load_class(cls).from_pretrained(path / "extras" / k) for k, cls in meta.get("extras", {}).items()}
    history = json.loads((path / "history.json").read_text())
    return {"model": model, "history": history, "extras": extras, "key": key, "path": path, "cached": True}


__all__ = ["OPTIMIZER_DEFAULTS", "cache_key", "cached_train", "canonical_json", "code_hash", "fit",
           "make_optimizer", "progress_bar", "seed_everything", "warmup_cosine"]
