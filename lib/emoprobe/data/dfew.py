"""DFEW loader: the official 5-fold single-label splits and the derived lists other repositories use.

Formats (the DFEW authors' README, https://github.com/jiangxingxun/DFEW; MAE-DFER's `preprocess/dfew.py`,
https://github.com/sunlicai/MAE-DFER; DFER-CLIP's annotation lists, https://github.com/zengqunzhao/DFER-CLIP):
- ``official``: ``EmoLabel_DataSplit/{train,test}(single-labeled)/set_{k}.csv`` (header ``video_name,label``,
  labels 1-7; S2D's copies named ``{train,test}_set_{k}.csv`` are accepted too). Clips are looked up by id in
  ``Clip/jpg_256``, ``Clip/clip_224x224``, ``Clip/jpg_224_16f``, ``Clip/clip_224x224_16f``, ``videos`` (mp4),
  ``data`` (or `clips_dir`).
- ``dfer-clip``: ``annotation/DFEW_set_{k}_{train,test}.txt``, lines ``<frame_dir> <num_frames> <label0>``.
- ``mae-dfer``: ``saved/data/dfew/org/split0{k}/{train,test}.csv`` (or ``split0{k}/...``), lines
  ``<frame_dir> <label0>``.
Labels are mapped through class names: `order` names the integer order of the file (emoprobe.labels.ID_ORDERS;
default: ``official`` for the CSVs, ``dfer-clip`` (official - 1) for the derived lists).
"""

from __future__ import annotations

from pathlib import Path

from . import records as R
from emoprobe.tables import split_line

DATASET = "dfew"
FOLDS = 5
FORMATS = ("official", "dfer-clip", "mae-dfer")
DEFAULT_ORDER = {"official": "official", "dfer-clip": "dfer-clip", "mae-dfer": "dfer-clip"}
CLIP_DIRS = ("Clip/jpg_256", "Clip/clip_224x224", "Clip/jpg_224_16f", "Clip/clip_224x224_16f", "videos", "data")


def split_file_candidates(split, fold, fmt):
    if fmt == "official":
        d = f"EmoLabel_DataSplit/{split}(single-labeled)"
        return [f"{d}/set_{fold}.csv", f"{d}/{split}_set_{fold}.csv"]
    if fmt == "dfer-clip":
        return [f"annotation/DFEW_set_{fold}_{split}.txt"]
    return [f"saved/data/dfew/org/split0{fold}/{split}.csv", f"split0{fold}/{split}.csv"]


def load(root, split="test", fold=1, fmt="official", order=None, list_file=None, clips_dir=None, missing="skip",
         protocol="single") -> list:
    """Clip records (see emoprobe.data.records) of one fold's train or test split, single-label protocol."""
    root = R.check_root(root, DATASET)
    R.check_split(split, fold, FOLDS, DATASET)
    R.check_missing(missing)
    if fmt not in FORMATS:
        raise ValueError(f"{DATASET}: fmt must be one of {FORMATS}, got {fmt!r}")
    if protocol != "single":
        raise ValueError(f"{DATASET}: only the single-label protocol is supported (7 classes), got {protocol!r}")
    order = order or DEFAULT_ORDER[fmt]
    path = R.find_file(root, [list_file] if list_file else split_file_candidates(split, fold, fmt),
                       f"DFEW {fmt} split file (fold {fold}, {split})")
    dirs = R.existing_dirs(root, CLIP_DIRS, clips_dir)
    meta = R.read_meta(root)
    out, seen = [], {}
    for i, line in R.read_lines(path):
        if fmt == "official":
            parts = split_line(line)  # commas, semicolons or tabs, quoted or not (spreadsheet exports)
            if not parts:  # a row of separators only
                continue
            if i == 1 and not parts[0].isdigit():
                if [p.lower() for p in parts] != ["video_name", "label"]:
                    raise ValueError(f"{path}:{i}: expected the header 'video_name,label' (or a first row "
                                     f"'<clip number>,<label id>'), got {line!r}")
                continue
            if len(parts) != 2:
                raise ValueError(f"{path}:{i}: expected 'video_name,label', got {line!r}")
            clip_id, listed, num = parts[0].zfill(5), None, None  # ids may have lost their zeros in a spreadsheet
            label = R.id_label(DATASET, order, parts[1], path, i)
        else:
            listed, num, value = R.parse_list_line(line, fmt, path, i)
            clip_id = Path(listed.rstrip("/")).name.removesuffix(".mp4")
            label = R.id_label(DATASET, order, value, path, i)
        R.check_new(seen, clip_id, path, i)
        where, exists = R.resolve(listed, root, clip_id, dirs)
        out.append(R.record(clip_id, where, exists, label, DATASET, fold, split, num, path, meta.get(clip_id)))
    return R.apply_missing(out, missing, path, root, dirs)
