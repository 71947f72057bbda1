"""MAFW loader: the 5-fold single-label splits by class name, and the derived lists other repositories use.

Formats (the MAFW release README, https://github.com/MAFW-database/MAFW; DFER-CLIP and MAE-DFER list files):
- ``official``: ``split/single/no_caption/set_{k}/{train,test}.txt``, lines ``00025.mp4 anger`` (class names,
  lower case). Clips are looked up in ``clips`` (mp4, the release), ``data/frames``, ``data/faces``,
  ``frames`` (or `clips_dir`).
- ``dfer-clip``: ``annotation/MAFW_set_{k}_{train,test}.txt``, lines ``<dir> <num_frames> <label0>`` in the
  DFER-CLIP order.
- ``mae-dfer``: ``split0{k}/{train,test}.csv`` (or `list_file`), lines ``<dir> <label0>`` in the MAE-DFER order.
Integer orders differ between repositories (``id_orders`` below): `order` says which one a list uses.
"""

from .layout import Format, Layout

# As DFER-CLIP's annotation/preprocessing.py and DK-CLIP number them (the order of the MAFW paper)
CLASSES = ("happiness", "sadness", "neutral", "anger", "surprise", "disgust", "fear", "contempt", "anxiety",
           "helplessness", "disappointment")

LAYOUT = Layout(
    name="mafw", title="MAFW", folds=5, classes=CLASSES,
    id_orders={
        "dfer-clip": CLASSES,
        # MAE-DFER's preprocess/mafw.py, also HiCMAE
        "mae-dfer": ("anger", "disgust", "fear", "happiness", "neutral", "sadness", "surprise", "contempt",
                     "anxiety", "helplessness", "disappointment"),
        "s2d": tuple(sorted(CLASSES)),  # S2D's id_to_calss.txt: alphabetical
    },
    formats={
        # the with_caption variants add tab-separated captions after these two fields
        "official": Format(("split/single/no_caption/set_{fold}/{split}.txt",), line="words", extra_fields=True,
                           shape="<id>.mp4 <class name>"),
        "dfer-clip": Format(("annotation/MAFW_set_{fold}_{split}.txt",), line="dfer-clip", order="dfer-clip"),
        "mae-dfer": Format(("saved/data/mafw/single/split0{fold}/{split}.csv", "split0{fold}/{split}.csv"),
                           line="mae-dfer", order="mae-dfer"),
    },
    clip_dirs=("clips", "data/frames", "data/faces", "frames"),
)
