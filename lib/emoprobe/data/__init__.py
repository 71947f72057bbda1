"""Datasets by name: the real releases (DFEW, MAFW, FERV39k) and the synthetic probe written in their layouts.

``load(name, root, split="test", fold=None, fmt="official", **options)`` returns a list of clip records
(plain dicts; see emoprobe.data.records). ``DATASETS`` is the registry of their layouts (emoprobe.data.layout:
where split files and clips are, how a line reads); one generic loader reads every one of them.
"""

from __future__ import annotations

from emoprobe.registry import Registry

from . import dfew, ferv39k, mafw
from .layout import Format, Layout
from .layout import load as load_layout
from .records import MISSING_POLICIES, MissingClipsWarning

DATASETS = Registry("dataset")
for _module in (dfew, mafw, ferv39k):
    DATASETS.register(_module.LAYOUT.name, _module.LAYOUT)
del _module


def formats(name: str) -> tuple[str, ...]:
    """The split-file formats a dataset's loader reads (the first is the release's own)."""
    return tuple(DATASETS.get(name).formats)


def load(name, root, split="test", fold=None, fmt="official", **options) -> list:
    """Clip records of dataset `name` under `root`. `fold` None means fold 1 for the 5-fold sets (DFEW, MAFW)
    and no fold for FERV39k. Options: order, list_file, clips_dir, missing ("skip", "error", "keep")."""
    return load_layout(DATASETS.get(name), root, split=split, fold=fold, fmt=fmt, **options)


__all__ = ["DATASETS", "Format", "Layout", "formats", "load", "MissingClipsWarning", "MISSING_POLICIES"]
