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
Labels are mapped through class names: `order` names the integer order of the file (``id_orders`` below;
default: ``official`` for the CSVs, ``dfer-clip`` (official - 1) for the derived lists).
"""

from .layout import Format, Layout

# The official ids 1-7 (the DFEW authors' README); DFER-CLIP, Former-DFER, MAE-DFER and S2D number them from 0.
CLASSES = ("happy", "sad", "neutral", "angry", "surprise", "disgust", "fear")

LAYOUT = Layout(
    name="dfew", title="DFEW", folds=5, id_width=5, classes=CLASSES,
    id_orders={"official": CLASSES, "dfer-clip": CLASSES}, one_based=("official",),
    formats={
        "official": Format(("EmoLabel_DataSplit/{split}(single-labeled)/set_{fold}.csv",
                            "EmoLabel_DataSplit/{split}(single-labeled)/{split}_set_{fold}.csv"),
                           line="csv", order="official", header=("video_name", "label"),
                           shape="<clip number>,<label id>"),
        "dfer-clip": Format(("annotation/DFEW_set_{fold}_{split}.txt",), line="dfer-clip", order="dfer-clip"),
        "mae-dfer": Format(("saved/data/dfew/org/split0{fold}/{split}.csv", "split0{fold}/{split}.csv"),
                           line="mae-dfer", order="dfer-clip"),
    },
    clip_dirs=("Clip/jpg_256", "Clip/clip_224x224", "Clip/jpg_224_16f", "Clip/clip_224x224_16f", "videos", "data"),
)
