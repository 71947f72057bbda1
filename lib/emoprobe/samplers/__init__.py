"""Frame samplers (which frames a model sees) and class samplers (which clips a model trains on)."""

from emoprobe.samplers.temporal import (SAMPLERS, FrameSample, Sampler, clip_rng, list_samplers, make_sampler,
                                        register)
from emoprobe.samplers.classes import CLASS_SAMPLERS, balanced_subset, list_class_samplers, make_class_sampler  # noqa: F401

__all__ = ["SAMPLERS", "FrameSample", "Sampler", "clip_rng", "list_samplers", "make_sampler", "register"]
