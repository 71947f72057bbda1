"""The zoo's training profiles as frozen, validated dataclasses: ``quick`` (the book's) and ``smoke`` (quick
shrunk to seconds by the fields that differ; meaningless accuracy, the same code path).

Why each value is what it is, with the measurements behind it, is in the probe-models chapter ("How the recipe
was chosen") and in ``benchmarks/``; this module holds the values only.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping

from emoprobe.labels import LABEL_SETS
from emoprobe.registry import Registry

__all__ = ["FINETUNE", "MODERATE_NUISANCE", "PROFILES", "Profile", "SEED_SD_TARGET", "plain"]

# What a recipe is held to: the standard deviation over training seeds 0-2 of a zoo model's held-out macro-F1
# (the probe-models chapter and benchmarks/probe_training.py report every model against it). A larger spread
# would let a verdict flip with the seed.
SEED_SD_TARGET = 0.03


def _frozen(d: Mapping) -> Mapping:
    return MappingProxyType({k: _frozen(v) if isinstance(v, Mapping) else v for k, v in d.items()})


def plain(value):
    """A profile value as plain JSON data (what configs and cache keys hold)."""
    return json.loads(json.dumps(value, default=dict))


# Distractors of every probe clip (web, training and test alike, so no model is tested on a nuisance
# distribution it never saw): the generator's defaults (emoprobe.data.synth.timeline.NUISANCE_DEFAULTS) turned down.
MODERATE_NUISANCE = _frozen({"talk_probability": 0.1, "jitter": 0.008, "lighting": 0.03,
                             "lighting_change_probability": 0.05, "noise": [0.0, 3.0]})

# How the zoo's fine-tunes are trained by emoprobe.finetune (FinetuneConfig fields): every weight with the
# optimiser of the other probe stages (emoprobe.probe.training.OPTIMIZER_DEFAULTS), 8 frames one per segment at
# random (TSN), and a new candidate order at every step, as the web stage shows them.
FINETUNE = _frozen({"full": True, "lr": 1e-3, "weight_decay": 0.01, "betas": [0.9, 0.98], "warmup_steps": 40,
                    "min_lr_ratio": 0.05, "clip_grad": 1.0, "sampler": "segment_random",
                    "sampler_params": {"num_segments": 8}, "class_order": "shuffled", "prompt": "closed_set",
                    "save_every": 50, "num_threads": 1})

POOLS = ("web", "train", "test", "micro_test")


@dataclass(frozen=True)
class Profile:
    """Everything a profile's zoo is trained and tested with.

    Pools (``web``, ``train``, ``test``, ``micro_test``): clips, generator seed, share of micro-expressions,
    longest clip in frames (``lengths`` fixes every clip's length). Steps are optimiser steps of ``batch_size``
    clips; ``videomae_epochs`` are passes over a pool's clips.
    """

    seeds: tuple[int, ...]
    web: Mapping
    train: Mapping
    test: Mapping
    micro_test: Mapping
    base_steps: int
    pretrain_steps: int
    finetune_steps: int
    batch_size: int
    videomae_epochs: Mapping
    videomae: Mapping
    dataset: str = "dfew"
    nuisance: Mapping = field(default_factory=lambda: MODERATE_NUISANCE)
    web_tasks: Mapping = field(default_factory=lambda: {"plain": 2, "classify": 1, "caption": 1, "motion": 1})
    base_lr: float = 5e-4
    task_weights: Mapping = field(default_factory=lambda: {"plain": 0.4, "classify": 0.3, "caption": 0.2,
                                                           "motion": 0.1})
    context_share: float = 0.25   # share of "classify" questions given as keyframes + motion text (MSCE)
    micro_curriculum: tuple[float, float] = (0.1, 0.5)  # web stage: micro clips ramp in over this span
    finetune: Mapping = field(default_factory=lambda: FINETUNE)
    model: Mapping = field(default_factory=lambda: {"patch_size": 14})

    def __post_init__(self):
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, Mapping):
                object.__setattr__(self, f.name, _frozen(value))
        object.__setattr__(self, "seeds", tuple(int(s) for s in self.seeds))
        if not self.seeds or len(set(self.seeds)) != len(self.seeds):
            raise ValueError(f"Profile.seeds: expected distinct training seeds, got {self.seeds!r}")
        if self.dataset not in LABEL_SETS:
            raise ValueError(f"Profile.dataset: expected one of {sorted(LABEL_SETS)}, got {self.dataset!r}")
        for name in ("base_steps", "pretrain_steps", "finetune_steps", "batch_size"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 1:
                raise ValueError(f"Profile.{name}: expected a positive integer, got {getattr(self, name)!r}")
        for name in POOLS:
            pool = getattr(self, name)
            if not {"clips", "seed"} <= set(pool) or int(pool["clips"]) < 1:
                raise ValueError(f"Profile.{name}: expected at least 'clips' (>= 1) and 'seed', got {dict(pool)}")
        seeds = [getattr(self, name)["seed"] for name in POOLS]
        if len(set(seeds)) != len(seeds):
            raise ValueError(f"Profile: the pools must use distinct generator seeds (held-out identities), got {seeds}")
        if set(self.task_weights) - set(self.web_tasks):
            raise ValueError(f"Profile.task_weights: tasks {sorted(set(self.task_weights) - set(self.web_tasks))} "
                             f"are not in web_tasks {sorted(self.web_tasks)}")
        if not 0.0 <= self.context_share <= 1.0:
            raise ValueError(f"Profile.context_share: expected a share in [0, 1], got {self.context_share!r}")
        if set(self.videomae_epochs) != {"web", "train"}:
            raise ValueError(f"Profile.videomae_epochs: expected 'web' and 'train', got {sorted(self.videomae_epochs)}")

    def replace(self, **changes) -> Profile:
        """This profile with some fields changed (Mapping fields are merged key by key)."""
        merged = {k: {**getattr(self, k), **v} if isinstance(getattr(self, k), Mapping) and isinstance(v, Mapping)
                  else v for k, v in changes.items()}
        return dataclasses.replace(self, **merged)


QUICK = Profile(
    seeds=(0, 1, 2),
    # web / train pools are rendered lazily: only the frames each training example samples
    web={"clips": 2000, "seed": 101, "micro_fraction": 0.3, "max_frames": 75},
    train={"clips": 1400, "seed": 202, "micro_fraction": 0.3, "max_frames": 75},
    test={"clips": 350, "seed": 303, "micro_fraction": 0.3, "max_frames": 75},
    # micro-expressions only, in 6 s clips, so that 8 uniform frames (0.84 s apart) miss some events
    micro_test={"clips": 140, "seed": 404, "micro_fraction": 1.0, "lengths": 150, "max_frames": 150},
    base_steps=3000,
    pretrain_steps=500,
    finetune_steps=400,
    batch_size=16,
    videomae_epochs={"web": 20, "train": 15},
    videomae={"views": 3, "tubelet_size": 1, "lr": 0.001, "image_size": 56, "patch_size": 14, "hidden_size": 128,
              "intermediate_size": 256},
)

SMOKE = QUICK.replace(
    seeds=(0,),
    web={"clips": 14, "max_frames": 30},
    train={"clips": 14, "max_frames": 30},
    test={"clips": 7, "max_frames": 30},
    micro_test={"clips": 7, "lengths": 60, "max_frames": 60},
    base_steps=12,
    pretrain_steps=8,
    finetune_steps=6,
    batch_size=8,
    videomae_epochs={"web": 1, "train": 1},
    videomae={"views": 1, "hidden_size": 64, "intermediate_size": 128},
)

PROFILES = Registry("zoo profile")
PROFILES.register("quick", QUICK)
PROFILES.register("smoke", SMOKE)
