"""Canonical label sets and every repository's integer order for them.

Integer label ids differ between repositories for the same dataset (see ``ID_ORDERS``), so
everything in emoprobe maps through class *names*: the canonical names below are lower-case and use each
dataset's own wording (DFEW and FERV39k say ``happy``; MAFW says ``happiness``).
"""

from __future__ import annotations

# Canonical class names in each dataset's official order (DFEW official ids 1-7; FERV39k and MAFW as the
# DFER-CLIP repositories number them, which follow the datasets' own papers).
LABEL_SETS: dict[str, tuple[str, ...]] = {
    "dfew": ("happy", "sad", "neutral", "angry", "surprise", "disgust", "fear"),
    "ferv39k": ("happy", "sad", "neutral", "angry", "surprise", "disgust", "fear"),
    "mafw": ("happiness", "sadness", "neutral", "anger", "surprise", "disgust", "fear", "contempt", "anxiety",
             "helplessness", "disappointment"),
}

# Integer orders used by published code (0-based unless the name says otherwise): the DFEW authors' README
# (https://github.com/jiangxingxun/DFEW), DFER-CLIP's annotation/preprocessing.py, MAE-DFER's
# preprocess/mafw.py, S2D's label_index.txt and id_to_calss.txt.
ID_ORDERS: dict[str, dict[str, tuple[str, ...]]] = {
    "dfew": {
        "official": LABEL_SETS["dfew"],  # 1-based in the official CSVs: id = index + 1
        "dfer-clip": LABEL_SETS["dfew"],  # also Former-DFER, MAE-DFER, S2D: official - 1
    },
    "ferv39k": {
        "dfer-clip": LABEL_SETS["ferv39k"],  # also MAE-DFER
        "s2d": ("angry", "disgust", "fear", "happy", "neutral", "sad", "surprise"),  # alphabetical
    },
    "mafw": {
        "dfer-clip": LABEL_SETS["mafw"],  # also DK-CLIP
        "mae-dfer": ("anger", "disgust", "fear", "happiness", "neutral", "sadness", "surprise", "contempt",
                     "anxiety", "helplessness", "disappointment"),  # also HiCMAE
        "s2d": ("anger", "anxiety", "contempt", "disappointment", "disgust", "fear", "happiness",
                "helplessness", "neutral", "sadness", "surprise"),  # alphabetical
    },
}

# Official 1-based ids exist only for DFEW's CSVs.
ONE_BASED = {("dfew", "official")}


def label_set(dataset: str) -> tuple[str, ...]:
    try:
        return LABEL_SETS[dataset]
    except KeyError:
        raise ValueError(f"unknown dataset {dataset!r}; expected one of {sorted(LABEL_SETS)}") from None


def id_to_name(dataset: str, order: str, label_id: int) -> str:
    """Class name of an integer label under a repository's order (``official`` DFEW ids are 1-based)."""
    label_set(dataset)
    try:
        names = ID_ORDERS[dataset][order]
    except KeyError:
        raise ValueError(f"unknown label order {order!r} for {dataset}; expected one of "
                         f"{sorted(ID_ORDERS[dataset])}") from None
    index = int(label_id) - (1 if (dataset, order) in ONE_BASED else 0)
    if not 0 <= index < len(names):
        lo = 1 if (dataset, order) in ONE_BASED else 0
        raise ValueError(f"label id {label_id} out of range for {dataset} ({order} order): expected "
                         f"{lo}..{lo + len(names) - 1}")
    return names[index]


def name_to_id(dataset: str, order: str, name: str) -> int:
    names = ID_ORDERS.get(dataset, {}).get(order)
    if names is None:
        id_to_name(dataset, order, 0)  # raises the descriptive error
    key = name.strip().lower()
    if key not in names:
        raise ValueError(f"unknown {dataset} class {name!r}; expected one of {list(names)}")
    return names.index(key) + (1 if (dataset, order) in ONE_BASED else 0)
