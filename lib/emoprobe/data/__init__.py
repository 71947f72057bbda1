"""Datasets by name: the real releases (DFEW, MAFW, FERV39k) and the synthetic probe written in their layouts.

``load(name, root, split="test", fold=None, fmt="official", **options)`` returns a list of clip records
(plain dicts; see emoprobe.data.records). ``LOADERS`` maps each name to its loader function.
"""

from __future__ import annotations

from . import dfew, ferv39k, mafw
from .records import MISSING_POLICIES, MissingClipsWarning

LOADERS = {"dfew": dfew.load, "mafw": mafw.load, "ferv39k": ferv39k.load}
FORMATS = {"dfew": dfew.FORMATS, "mafw": mafw.FORMATS, "ferv39k": ferv39k.FORMATS}


def load(name, root, split="test", fold=None, fmt="official", **options) -> list:
    """Clip records of dataset `name` under `root`. `fold` None means fold 1 for the 5-fold sets (DFEW, MAFW)
    and no fold for FERV39k. Options: order, list_file, clips_dir, missing ("skip", "error", "keep")."""
    try:
        loader = LOADERS[name]
    except KeyError:
        raise ValueError(f"unknown dataset {name!r}; expected one of {sorted(LOADERS)}") from None
    if fold is not None or name == "ferv39k":
        options["fold"] = fold
    return loader(root, split=split, fmt=fmt, **options)


__all__ = ["LOADERS", "FORMATS", "load", "MissingClipsWarning", "MISSING_POLICIES"]
