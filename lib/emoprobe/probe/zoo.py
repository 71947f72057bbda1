"""Named probe models, their training configs per profile, and ``get(name, profile)`` -> a trained model folder.

| name | what it is |
|---|---|
| ``vlm-base`` | the probe VLM after a vision warm-up: class-balanced 8-frame classification of clear expressions (the shared start of the three priors, as the vision tower of a real VLM is pretrained before its web-scale language stage) |
| ``vlm-prior0`` / ``vlm-prior1`` / ``vlm-prior2`` | ``vlm-base`` after the "web" stage (captions, questions at 1-10 fps and 4-16 frames, motion descriptions, micro-expressions ramping in), class words drawn with p(c) ∝ word frequency ** 0 / 1 / 2 (uniform, web-like, exaggerated) |
| ``vlm-ft-instance`` / ``-sqrt`` / ``-balanced`` / ``-progressive`` | ``vlm-prior1`` fully fine-tuned (every weight; no LoRA) on the long-tailed training split (the dataset's real class counts, written to disk) with that class sampler, by emoprobe.finetune: the code that fine-tunes a real VLM |
| ``vlm-ft-shuffled`` | ``vlm-ft-instance``'s fine-tune with every clip's frames shuffled (a new permutation per step): F2's dial, a model for which a shuffled clip is a familiar input |
| ``vlm-reader`` | ``vlm-prior1``'s web stage, twice as long, with three quarters of its classification questions given as keyframes plus motion text (half of all draws): F7's model that can read such text |
| ``vlm-describer`` | ``vlm-base`` after a web stage of one task, four times as long, MSCE stage 1 (the frames of a keyframe gap -> motion words): F7's separate describer |
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

Profiles (emoprobe.probe.profiles): ``quick`` (the book's default: three seeds of every model, trained side by
side by emoprobe.probe.schedule; benchmarks/probe_training.py times it) and ``smoke`` (one seed, the same code
path shrunk to seconds; meaningless accuracy). Each model's ``kind`` (``KINDS``) names its trainer
(emoprobe.probe.trainers) and how its config is written.
Trained models are cached by a hash of the config and of the code their training reaches (``training_code``,
emoprobe.codehash; a docstring, a comment or an unrelated function changes nothing), so a second ``get``
trains nothing. The held-out test sets are written to disk in the dataset's real layout
(emoprobe.probe.testsets) and evaluated by emoprobe.evaluate like any real dataset.
"""

from __future__ import annotations

import importlib
import json
import os
import shutil
from pathlib import Path

from collections.abc import Callable
from dataclasses import dataclass

from emoprobe.labels import LABEL_SETS
from emoprobe.probe.profiles import PROFILES, plain
from emoprobe.registry import Registry

FRAME_SIZE = 56


@dataclass(frozen=True)
class Kind:
    """A kind of zoo model: the function that trains it (``"module:function"``, also the root of its cache key's
    code analysis) and the function that writes its config's ``pool`` and ``train`` parts."""

    trainer: str
    configure: Callable[[dict, object, str], dict]


# What a model's cache key covers besides its config: the code its trainer reaches (emoprobe.codehash), minus
# the cache lookup of its starting point (whose own key is in the config), the pool cache's bookkeeping, the key
# functions, and what writes the configs (the model table, the kinds, ``config`` and the function that gives a
# probe dataset's pool config): a config is in the key as data, so the code that wrote it adds nothing, and
# following it made every model's key depend on every other model's entry (adding one retrained the fine-tunes).
NOT_FOLLOWED = ("emoprobe.probe.zoo:get", "emoprobe.probe.trainers:_stored", "emoprobe.probe.zoo:training_code",
                "emoprobe.probe.zoo:cache_key", "emoprobe.probe.zoo:config", "emoprobe.probe.zoo:MODELS",
                "emoprobe.probe.zoo:KINDS", "emoprobe.probe.testsets:pool")

def dataset(profile: str = "quick") -> str:
    """The label set a profile's models are trained and tested on ("dfew" or "mafw")."""
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; expected one of {sorted(PROFILES)}")
    return PROFILES[profile].dataset


def seeds(profile: str = "quick") -> list[int]:
    """The training seeds of a profile's zoo."""
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; expected one of {sorted(PROFILES)}")
    return list(PROFILES[profile].seeds)


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
    "vlm-ft-shuffled": {"kind": "finetune", "init": "vlm-prior1", "class_sampler": "instance", "shuffle_frames": True,
                        "description": "vlm-ft-instance's fine-tune with each clip's frames shuffled at every step "
                                       "(F2's dial: a model for which shuffled frames are not a new input)"},
    "vlm-reader": {"kind": "reader", "init": "vlm-base", "prior_power": 1.0, "context_share": 0.75, "steps_scale": 2,
                   "task_weights": {"plain": 0.3, "classify": 0.5, "caption": 0.1, "motion": 0.1},
                   "description": "vlm-prior1's web stage, twice as long, with more keyframes-plus-motion-text "
                                  "questions (75 % of its classification questions, half the draws): F7's model "
                                  "that can read the text"},
    "vlm-describer": {"kind": "describer", "init": "vlm-base", "prior_power": 0.0, "task_weights": {"motion": 1.0},
                      "steps_scale": 4,
                      "description": "vlm-base trained on MSCE stage 1 alone: the motion words of a keyframe gap "
                                     "(F7's separate describer)"},
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


def _pool(prof, part: str, prior: str) -> dict:
    return plain({"prior": prior, "dataset": prof.dataset, **getattr(prof, part), **prof.nuisance})


def config(name: str, profile: str = "quick", seed: int = 0, cache_dir=None) -> dict:
    """The full training config of a named model (plain JSON; what the cache key hashes)."""
    _check(name, profile)
    entry, prof = MODELS[name], PROFILES[profile]
    ds = dataset(profile)
    # the class names are data the training reads (from the dataset's layout, which the code analysis does not see)
    out = {"name": name, "profile": profile, "seed": int(seed), "kind": entry["kind"], "frame_size": FRAME_SIZE,
           "dataset": ds, "classes": labels(profile)}
    out.update(KINDS[entry["kind"]].configure(entry, prof, ds))
    if "init" in entry:
        # the starting point's own key: retraining it invalidates every model trained from it
        out["init"] = {"name": entry["init"], "key": _key(entry["init"], profile, seed)}
    return out


def _vlm_config(entry: dict, prof, ds: str) -> dict:
    # a class-balanced pool; the prior weights the draws (each model draws its own batches from it)
    base = entry["kind"] == "base"
    steps = prof.base_steps if base else prof.pretrain_steps * entry.get("steps_scale", 1)
    train = {"prior_power": entry.get("prior_power", 0.0), "steps": steps,
             "batch_size": prof.batch_size, "tasks_per_clip": plain(prof.web_tasks),
             "task_weights": {"plain": 1.0} if base else plain(entry.get("task_weights", prof.task_weights)),
             "micro_curriculum": None if base else list(prof.micro_curriculum),
             "model": plain(prof.model) if base else {}}
    if base:
        train["lr"] = prof.base_lr
    return {"pool": {**_pool(prof, "web", "balanced"), "context_share": entry.get("context_share", prof.context_share)},
            "train": train}


def _finetune_config(entry: dict, prof, ds: str) -> dict:
    # the training split as written to disk (emoprobe.probe.testsets "train"), trained by emoprobe.finetune
    train = {**plain(prof.finetune), "class_sampler": entry["class_sampler"], "steps": prof.finetune_steps,
             "batch_size": prof.batch_size}
    if entry.get("shuffle_frames"):  # every sampler takes ``shuffle``: a new permutation per clip and step
        train["sampler_params"] = {**train["sampler_params"], "shuffle": True}
    return {"pool": _pool(prof, "train", ds), "train": train}


def _videomae_config(entry: dict, prof, ds: str) -> dict:
    part = entry.get("pool", "train")
    return {"pool": _pool(prof, part, "balanced" if part == "web" else ds),
            "train": {**plain(prof.videomae), "epochs": prof.videomae_epochs[part],
                      "class_sampler": entry["class_sampler"], "num_threads": 1}}


KINDS = Registry("zoo model kind")
KINDS.register("base", Kind("emoprobe.probe.trainers:train_vlm", _vlm_config))
KINDS.register("pretrain", Kind("emoprobe.probe.trainers:train_vlm", _vlm_config))
KINDS.register("describer", Kind("emoprobe.probe.trainers:train_vlm", _vlm_config))  # a web stage of one task
KINDS.register("reader", Kind("emoprobe.probe.trainers:train_vlm", _vlm_config))  # a web stage with more MSCE text
KINDS.register("finetune", Kind("emoprobe.probe.trainers:train_finetune", _finetune_config))
KINDS.register("videomae", Kind("emoprobe.probe.trainers:train_videomae_model", _videomae_config))


def training_code(cfg: dict) -> str:
    """The fingerprint of the code that trains a model of this config (emoprobe.codehash)."""
    from emoprobe.codehash import code_fingerprint, string_constants

    return code_fingerprint([KINDS[cfg["kind"]].trainer], constants=string_constants(cfg), exclude=NOT_FOLLOWED)


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
    module, _, function = KINDS[cfg["kind"]].trainer.partition(":")
    trainer = getattr(importlib.import_module(module), function)
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


__all__ = ["KINDS", "LABELS", "MODELS", "PROFILES", "cache_key", "config", "dataset", "default_cache_dir", "get",
           "head_classes", "history", "labels", "list_models", "make_spec", "seeds", "test_pool", "timelines",
           "training_code"]
