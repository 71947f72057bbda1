"""Facial action units the renderer animates, and the emotion prototypes built from them.

Prototypes follow EMFACS (Friesen & Ekman 1983, EMFACS-7): each class is a dict AU -> apex intensity (0..1,
FACS letters A..E mapped roughly to 0.2..1.0). Some classes have more than one published variant (the
Wikipedia EMFACS list and the "most intense" combinations of FACS Table 11-1); a clip picks one variant, so
the probe's classes are not a single template each.

MAFW's classes anxiety, helplessness and disappointment have no FACS prototype (neither EMFACS nor FACS Table
11-1 lists one). They use the proxies listed in `PROXY_CLASSES`, which say where each proxy comes from.
Contempt *is* FACS (unilateral AU12 + AU14, "R12A+R14A"); here the unilateral AU14 channel carries both
the dimple and the raised, tightened corner on one side, so contempt is AU14 alone at a higher intensity.
"""

from __future__ import annotations

# Every AU the renderer draws, in the column order of every `aus` array (frames x AUs).
# AU14 is unilateral (the face's right side, viewer's left); AU45 is a blink (also used, held part-way, for
# drooping lids). Geometry per AU as FACS describes it (Ekman & Friesen 1978), implemented in face.py.
AU_NAMES: tuple[str, ...] = ("AU1", "AU2", "AU4", "AU5", "AU6", "AU7", "AU9", "AU10", "AU12", "AU14", "AU15",
                             "AU16", "AU17", "AU20", "AU23", "AU24", "AU25", "AU26", "AU45")
AU_INDEX = {name: i for i, name in enumerate(AU_NAMES)}

AU_DESCRIPTIONS = {
    "AU1": "inner brow raiser: inner brow ends up, forehead lines",
    "AU2": "outer brow raiser: outer brow ends up, arched brows",
    "AU4": "brow lowerer: brows down and together, vertical lines between them, eyes narrowed",
    "AU5": "upper lid raiser: eyes wide, white visible above the iris",
    "AU6": "cheek raiser: cheeks up, crease under the eyes, lower lid pushed up",
    "AU7": "lid tightener: eye aperture narrowed from below",
    "AU9": "nose wrinkler: lines across the nose, nostrils up, inner brows pulled down",
    "AU10": "upper lip raiser: upper lip up in the centre, deeper nose-to-mouth folds",
    "AU12": "lip corner puller: corners up and out (smile)",
    "AU14": "dimpler, unilateral: one corner tightened up and inward, dimple on that side",
    "AU15": "lip corner depressor: corners down",
    "AU16": "lower lip depressor: lower lip pulled down",
    "AU17": "chin raiser: lower lip pushed up, chin boss wrinkled",
    "AU20": "lip stretcher: lips stretched sideways, flat rectangular mouth",
    "AU23": "lip tightener: lips narrowed and thinned",
    "AU24": "lip pressor: lips pressed together, thin line",
    "AU25": "lips part",
    "AU26": "jaw drop: mouth opens, chin lowers",
    "AU45": "blink: lids close",
}

# Class -> list of variants (AU -> apex intensity). Canonical class names follow emoprobe.labels (DFEW and
# FERV39k say "happy", MAFW says "happiness"); `prototypes(dataset)` maps them.
_BASIC = {
    # 6+12 (Wikipedia list) and 6+12+25 (Table 11-1)
    "happy": [{"AU6": 0.8, "AU12": 1.0}, {"AU6": 0.8, "AU12": 1.0, "AU25": 0.7}],
    # 1+4+15 in both sources; the chin raiser is a common companion (DK-CLIP's AU prompt)
    "sad": [{"AU1": 1.0, "AU4": 0.6, "AU15": 1.0}, {"AU1": 1.0, "AU4": 0.6, "AU15": 0.9, "AU17": 0.6}],
    "neutral": [{}],
    # 4+5+7+23 and 4+5+7+24
    "angry": [{"AU4": 1.0, "AU5": 0.5, "AU7": 0.9, "AU23": 1.0}, {"AU4": 1.0, "AU5": 0.5, "AU7": 0.9, "AU24": 1.0}],
    # 1+2+5B+26 (lips necessarily part when the jaw drops)
    "surprise": [{"AU1": 1.0, "AU2": 1.0, "AU5": 0.6, "AU25": 1.0, "AU26": 1.0},
                 {"AU1": 1.0, "AU2": 1.0, "AU5": 1.0, "AU25": 1.0, "AU26": 0.8}],
    # 9+15+16 (Wikipedia list) and 4+10+17 (Table 11-1)
    "disgust": [{"AU9": 1.0, "AU10": 0.6, "AU15": 0.8, "AU16": 0.6, "AU25": 0.3},
                {"AU4": 0.7, "AU9": 0.6, "AU10": 1.0, "AU17": 0.8}],
    # 1+2+4+5+20+26 and 1+2+4+5+20+25
    "fear": [{"AU1": 1.0, "AU2": 0.7, "AU4": 0.6, "AU5": 1.0, "AU20": 1.0, "AU25": 1.0, "AU26": 0.5},
             {"AU1": 1.0, "AU2": 0.7, "AU4": 0.6, "AU5": 1.0, "AU20": 1.0, "AU25": 1.0}],
}

_MAFW_EXTRA = {
    # FACS: R12A+R14A (unilateral). See the module docstring for why it is one channel here.
    "contempt": [{"AU14": 1.0}, {"AU14": 0.9, "AU7": 0.3}],
    # Proxy (see PROXY_CLASSES): weak fear-type brows and lip stretch, pressed lips, frequent blinks.
    "anxiety": [{"AU1": 0.6, "AU4": 0.7, "AU20": 0.5, "AU24": 0.8}, {"AU1": 0.5, "AU4": 0.8, "AU7": 0.4, "AU24": 0.8}],
    # Proxy: oblique (inner-raised) brows, drooping lids held half closed, slack parted lips, corners down.
    "helplessness": [{"AU1": 0.9, "AU15": 0.6, "AU25": 0.5, "AU45": 0.45},
                     {"AU1": 0.8, "AU2": 0.3, "AU15": 0.5, "AU25": 0.5, "AU45": 0.4}],
    # Proxy, a trajectory: the *final* state after the smile collapses (see TRAJECTORY_CLASSES): lowered
    # brows, narrowed eyes, pressed downturned mouth.
    "disappointment": [{"AU4": 0.7, "AU7": 0.6, "AU15": 0.9, "AU17": 0.7, "AU24": 0.5}],
}

# Why each non-FACS class looks the way it does (each entry names its sources).
PROXY_CLASSES: dict[str, str] = {
    "anxiety": ("no FACS prototype; proxy = weak fear-type AUs (1, 4, 20) with pressed lips (24) and a high "
                "blink rate, after Harrigan & O'Connell 1996 (more fear-related movements and more blinks in "
                "anxious segments) and DFER-CLIP's descriptor 'tensed forehead, tightly pressed lips'"),
    "helplessness": ("no FACS prototype; proxy from DFER-CLIP's LLM-written descriptor 'drooping eyebrows, "
                     "downward gaze, downturned mouth, lack of expression': inner brows up (1), lids held "
                     "half closed (45 at ~0.4), corners down (15), slack parted lips (25)"),
    "disappointment": ("no FACS prototype; proxy = a trajectory: a smile (6+12) that collapses into "
                       "DFER-CLIP's 'downturned mouth, lowered eyebrows, narrowed eyes' (4+7+15+17+24)"),
}

# Classes whose clips are always trajectories: the class is defined by the change, not by one apex frame.
# Each maps to the expression the trajectory starts from (then it moves to the class prototype).
TRAJECTORY_CLASSES: dict[str, dict[str, float]] = {
    "disappointment": {"AU6": 0.6, "AU12": 0.9, "AU25": 0.3},
}

# Anxiety is also carried by blinks (Harrigan & O'Connell 1996): blinks per second for these classes.
BLINK_RATE_OVERRIDE: dict[str, float] = {"anxiety": 1.2}

_SYNONYMS = {"happiness": "happy", "sadness": "sad", "anger": "angry"}


def prototype_variants(label: str) -> list[dict[str, float]]:
    """All AU variants of a class (any dataset's wording: 'happy' or 'happiness')."""
    key = label.strip().lower()
    key = _SYNONYMS.get(key, key)
    if key in _BASIC:
        return [dict(v) for v in _BASIC[key]]
    if key in _MAFW_EXTRA:
        return [dict(v) for v in _MAFW_EXTRA[key]]
    raise ValueError(f"no AU prototype for class {label!r}; expected one of "
                     f"{sorted(set(_BASIC) | set(_MAFW_EXTRA) | set(_SYNONYMS))}")


def prototypes(dataset: str) -> dict[str, list[dict[str, float]]]:
    """Class name (the dataset's canonical wording, emoprobe.labels) -> AU variants."""
    from emoprobe.labels import label_set

    return {name: prototype_variants(name) for name in label_set(dataset)}


def au_vector(aus: dict[str, float]):
    """AU dict -> float32 vector in AU_NAMES order (unknown AU names are an error)."""
    import numpy as np

    v = np.zeros(len(AU_NAMES), dtype=np.float32)
    for name, value in aus.items():
        if name not in AU_INDEX:
            raise ValueError(f"unknown action unit {name!r}; expected one of {AU_NAMES}")
        v[AU_INDEX[name]] = value
    return v
