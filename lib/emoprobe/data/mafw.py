"""MAFW loader: the 5-fold single-label splits by class name, and the derived lists other repositories use.

Formats (the MAFW release README, https://github.com/MAFW-database/MAFW; DFER-CLIP and MAE-DFER list files):
- ``official``: ``split/single/no_caption/set_{k}/{train,test}.txt``, lines ``00025.mp4 anger`` (class names,
  lower case). Clips are looked up in ``clips`` (mp4, the release), ``data/frames``, ``data/faces``,
  ``frames`` (or `clips_dir`).
- ``dfer-clip``: ``annotation/MAFW_set_{k}_{train,test}.txt``, lines ``<dir> <num_frames> <label0>`` in the
  DFER-CLIP order.
- ``mae-dfer``: ``split0{k}/{train,test}.csv`` (or `list_file`), lines ``<dir> <label0>`` in the MAE-DFER order.
Integer orders differ between repositories (emoprobe.labels.ID_ORDERS): `order` says which one a list uses.
"""

from __future__ import annotations

from pathlib import Path

from . import records as R

DATASET = "mafw"
FOLDS = 5
FORMATS = ("official", "dfer-clip", "mae-dfer")
DEFAULT_ORDER = {"official": None, "dfer-clip": "dfer-clip", "mae-dfer": "mae-dfer"}
CLIP_DIRS = ("clips", "data/frames", "data/faces", "frames")


def split_file_candidates(split, fold, fmt):
    if fmt == "official":
        return [f"split/single/no_caption/set_{fold}/{split}.txt"]
    if fmt == "dfer-clip":
        return [f"annotation/MAFW_set_{fold}_{split}.txt"]
    return [f"saved/data/mafw/single/split0{fold}/{split}.csv", f"split0{fold}/{split}.csv"]


def load(root, split="test", fold=1, fmt="official", order=None, list_file=None, clips_dir=None, missing="skip",
         protocol="single") -> list:
    """Clip records (see emoprobe.data.records) of one fold's train or test split, single-label protocol."""
    root = R.check_root(root, DATASET)
    R.check_split(split, fold, FOLDS, DATASET)
    R.check_missing(missing)
    if fmt not in FORMATS:
        raise ValueError(f"{DATASET}: fmt must be one of {FORMATS}, got {fmt!r}")
    if protocol != "single":
        raise ValueError(f"{DATASET}: only the single-label protocol (11 classes) is supported, got {protocol!r}")
    order = order or DEFAULT_ORDER[fmt]
    path = R.find_file(root, [list_file] if list_file else split_file_candidates(split, fold, fmt),
                       f"MAFW {fmt} split file (fold {fold}, {split})")
    dirs = R.existing_dirs(root, CLIP_DIRS, clips_dir)
    meta = R.read_meta(root)
    out, seen = [], {}
    for i, line in R.read_lines(path):
        if fmt == "official":
            parts = line.split()  # the with_caption variants add tab-separated captions after these two
            if len(parts) < 2:
                raise ValueError(f"{path}:{i}: expected '<id>.mp4 <class name>', got {line!r}")
            listed, num = None, None
            clip_id = parts[0].removesuffix(".mp4")
            label = R.name_label(DATASET, parts[1], path, i)
        else:
            listed, num, value = R.parse_list_line(line, fmt, path, i)
            clip_id = Path(listed.rstrip("/")).name.removesuffix(".mp4")
            label = R.id_label(DATASET, order, value, path, i)
        R.check_new(seen, clip_id, path, i)
        where, exists = R.resolve(listed, root, clip_id, dirs)
        out.append(R.record(clip_id, where, exists, label, DATASET, fold, split, num, path, meta.get(clip_id)))
    return R.apply_missing(out, missing, path, root, dirs)
