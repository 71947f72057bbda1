"""The probe's synthetic face videos: FACS-driven faces, expression events in time, real dataset layouts.

In memory:  make_dataset_spec, generate_clip, iter_clips, gallery, apex_frame, strip, au_table.
On disk:    writers.write_dataset (DFEW, MAFW or FERV39k layout + probe_meta.jsonl); CLI `emoprobe synth`.
Parts:      aus (AU list, prototypes, proxies), identity, face (renderer), timeline (events, distractors).
"""

from .aus import AU_NAMES, PROXY_CLASSES, TRAJECTORY_CLASSES, prototypes
from .face import DEFAULT_SIZE, render
from .generate import (DEFAULT_FPS, PRIORS, apex_frame, au_table, class_counts, gallery, generate_clip,
                       iter_clips, make_dataset_spec, strip)
from .identity import sample_identity
from .timeline import KINDS, MICRO_SECONDS, NUISANCE_DEFAULTS, make_timeline

__all__ = ["AU_NAMES", "PROXY_CLASSES", "TRAJECTORY_CLASSES", "prototypes", "DEFAULT_SIZE", "render",
           "DEFAULT_FPS", "PRIORS", "apex_frame", "au_table", "class_counts", "gallery", "generate_clip",
           "iter_clips", "make_dataset_spec", "strip", "sample_identity", "KINDS", "MICRO_SECONDS",
           "NUISANCE_DEFAULTS", "make_timeline", "write_dataset"]


def write_dataset(*args, **kwargs):
    from .writers import write_dataset as _write

    return _write(*args, **kwargs)
