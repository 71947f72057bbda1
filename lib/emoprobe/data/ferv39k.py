"""FERV39k loader: the official 80/20 train/test split (no folds) and the derived lists.

Formats (the FERV39k release, https://github.com/wangyanckxx/FERV39k, and the project page
https://wangyanckxx.github.io/Proj_CVPR2022_FERV39k.html):
- ``official``: ``4_setups/All_scenes/{train,test}_All.csv``, space-separated ``<Scene>/<Emotion>/<NNNN>
  <ClassName>`` without a header; frames in ``2_ClipsforFaceCrop/<Scene>/<Emotion>/<NNNN>/``.
- ``s2d``: ``Annotation/{train,test}.csv`` with the header ``path,id`` and rows like ``Interview/Happy/0118,3``
  in S2D's alphabetical order.
- ``dfer-clip``: ``annotation/FERV39K_{train,test}.txt``, lines ``<dir> <num_frames> <label0>``.
A clip's id is its ``Scene/Emotion/NNNN`` path.
"""

from __future__ import annotations

from pathlib import Path

from . import records as R
from emoprobe.tables import split_line

DATASET = "ferv39k"
FORMATS = ("official", "s2d", "dfer-clip")
DEFAULT_ORDER = {"official": None, "s2d": "s2d", "dfer-clip": "dfer-clip"}
CLIP_DIRS = ("2_ClipsforFaceCrop",)


def split_file_candidates(split, fmt):
    if fmt == "official":
        return [f"4_setups/All_scenes/{split}_All.csv"]
    if fmt == "s2d":
        return [f"Annotation/{split}.csv"]
    return [f"annotation/FERV39K_{split}.txt"]


def load(root, split="test", fold=None, fmt="official", order=None, list_file=None, clips_dir=None,
         missing="skip", protocol="single") -> list:
    """Clip records (see emoprobe.data.records) of the train or test split."""
    root = R.check_root(root, DATASET)
    R.check_split(split, fold, None, DATASET)
    R.check_missing(missing)
    if fmt not in FORMATS:
        raise ValueError(f"{DATASET}: fmt must be one of {FORMATS}, got {fmt!r}")
    if protocol != "single":
        raise ValueError(f"{DATASET}: only the single-label protocol (7 classes) exists, got {protocol!r}")
    order = order or DEFAULT_ORDER[fmt]
    path = R.find_file(root, [list_file] if list_file else split_file_candidates(split, fmt),
                       f"FERV39k {fmt} split file ({split})")
    dirs = R.existing_dirs(root, CLIP_DIRS, clips_dir)
    meta = R.read_meta(root)
    out, seen = [], {}
    for i, line in R.read_lines(path):
        if fmt == "official":
            parts = line.split()
            if len(parts) != 2:
                raise ValueError(f"{path}:{i}: expected '<Scene>/<Emotion>/<NNNN> <ClassName>', got {line!r}")
            rel, num = parts[0], None
            label = R.name_label(DATASET, parts[1], path, i)
        elif fmt == "s2d":
            parts = split_line(line)  # commas, semicolons or tabs, quoted or not (spreadsheet exports)
            if i == 1 and [p.lower() for p in parts] == ["path", "id"]:
                continue
            if len(parts) != 2:
                raise ValueError(f"{path}:{i}: expected 'path,id', got {line!r}")
            rel, num = parts[0], None
            label = R.id_label(DATASET, order, parts[1], path, i)
        else:
            listed, num, value = R.parse_list_line(line, fmt, path, i)
            rel = listed
            label = R.id_label(DATASET, order, value, path, i)
        clip_id = "/".join(Path(rel.rstrip("/")).parts[-3:])
        listed = rel if fmt == "dfer-clip" else None
        R.check_new(seen, clip_id, path, i)
        where, exists = R.resolve(listed, root, clip_id, dirs)
        out.append(R.record(clip_id, where, exists, label, DATASET, None, split, num, path, meta.get(clip_id)))
    return R.apply_missing(out, missing, path, root, dirs)
