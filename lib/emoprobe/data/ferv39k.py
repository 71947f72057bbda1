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

from .layout import Format, Layout

# As DFER-CLIP and MAE-DFER number them (DFEW's order); S2D's label_index.txt sorts them alphabetically.
CLASSES = ("happy", "sad", "neutral", "angry", "surprise", "disgust", "fear")

LAYOUT = Layout(
    name="ferv39k", title="FERV39k", folds=None, id_parts=3, classes=CLASSES,
    id_orders={"dfer-clip": CLASSES, "s2d": tuple(sorted(CLASSES))},
    formats={
        "official": Format(("4_setups/All_scenes/{split}_All.csv",), line="words",
                           shape="<Scene>/<Emotion>/<NNNN> <ClassName>"),
        "s2d": Format(("Annotation/{split}.csv",), line="csv", order="s2d", header=("path", "id"), shape="path,id"),
        "dfer-clip": Format(("annotation/FERV39K_{split}.txt",), line="dfer-clip", order="dfer-clip"),
    },
    clip_dirs=("2_ClipsforFaceCrop",),
)
