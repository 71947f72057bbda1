"""Frame samplers (which frames a model sees) and class samplers (which clips a model trains on)."""

from emoprobe.samplers.temporal import (SAMPLERS, FrameSample, Sampler, clip_rng, list_samplers, make_sampler,
                                        register)

__all__ = ["SAMPLERS", "FrameSample", "Sampler", "clip_rng", "list_samplers", "make_sampler", "register"]
