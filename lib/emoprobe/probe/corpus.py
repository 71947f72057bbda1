"""The probe VLM's text: captions, motion descriptions computed from action units, classification answers.

Everything the tiny Qwen2-VL reads or writes comes from here, so its tokenizer can be trained on exactly this
text (``tokenizer_corpus``) and every training example is a pure function of a clip and a seed.

- **Captions** ("the person looks joyful"): the "web" stage's image-text pairs. Each concept has a few
  adjectives; every one of them is also a synonym `emoprobe.parse` accepts, so an open answer can be scored.
- **Motion descriptions** (MSCE stage 1, the paper's MSCE figure): plain words for how the face moves over a
  group of frames, read off the per-frame action-unit intensities *at those frames* (what the model is shown),
  relative to the first frame of the group: "the lip corners pull up", "the brows lower and draw together",
  "the lips part for a moment", or "the face stays still". No emotion word ever appears in them.
- **Motion context** (MSCE stage 2): one description per keyframe gap, prefixed with the gap's time span, in
  temporal order; `emoprobe.prompts.render(..., context=...)` places it before the question.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from emoprobe.labels import LABEL_SETS
from emoprobe.lexicon import concept

# Per action unit: what a rise looks like, and what its release looks like (FACS, via
# emoprobe.data.synth.aus.AU_DESCRIPTIONS, reworded as short plain motion phrases).
AU_PHRASES: dict[str, tuple[str, str]] = {
    "AU1": ("the inner brows rise", "the inner brows settle"),
    "AU2": ("the outer brows rise", "the outer brows settle"),
    "AU4": ("the brows lower and draw together", "the brows relax"),
    "AU5": ("the eyes widen", "the eyes relax"),
    "AU6": ("the cheeks rise", "the cheeks drop"),
    "AU7": ("the lids tighten", "the lids relax"),
    "AU9": ("the nose wrinkles", "the nose smooths"),
    "AU10": ("the upper lip rises", "the upper lip drops"),
    "AU12": ("the lip corners pull up", "the lip corners drop"),
    "AU14": ("one lip corner tightens", "the lip corner relaxes"),
    "AU15": ("the lip corners pull down", "the lip corners rise back"),
    "AU16": ("the lower lip drops", "the lower lip rises back"),
    "AU17": ("the chin pushes up", "the chin relaxes"),
    "AU20": ("the lips stretch sideways", "the lips relax"),
    "AU23": ("the lips tighten", "the lips loosen"),
    "AU24": ("the lips press together", "the lips loosen"),
    "AU25": ("the lips part", "the lips close"),
    "AU26": ("the jaw drops", "the jaw closes"),
    "AU45": ("the eyes close", "the eyes open"),
}
STILL = "the face stays still"
# A change smaller than this (AU intensity, 0..1) is idle drift, not a movement (the generator's idle drift
# has amplitude 0.06, timeline.NUISANCE_DEFAULTS).
MOTION_THRESHOLD = 0.25
MAX_MOVEMENTS = 3

# Caption adjectives per concept (each is in emoprobe.parse.SYNONYMS, so open answers parse).
CAPTION_WORDS: dict[str, tuple[str, ...]] = {
    "happiness": ("happy", "joyful", "glad", "cheerful"),
    "sadness": ("sad", "unhappy", "sorrowful", "gloomy"),
    "neutral": ("neutral", "calm", "expressionless"),
    "anger": ("angry", "furious", "annoyed"),
    "surprise": ("surprised", "astonished", "amazed"),
    "disgust": ("disgusted", "repulsed", "revolted"),
    "fear": ("afraid", "scared", "fearful", "frightened"),
    "contempt": ("contemptuous", "scornful", "disdainful"),
    "anxiety": ("anxious", "nervous", "worried", "uneasy"),
    "helplessness": ("helpless", "powerless"),
    "disappointment": ("disappointed", "dismayed"),
}
CAPTION_TEMPLATES = ("the person looks {word}", "a {word} face", "this person seems {word}",
                     "the face looks {word}")
CAPTION_PROMPT = "Describe the person in this video in a few words."
OPEN_PROMPT_IDS = ("open",)

# Concepts whose word exists in the 7-class sets (DFEW, FERV39k): a clip of these can be asked with either list.
SEVEN_CLASS = {concept(x) for x in LABEL_SETS["dfew"]}


def dataset_word(label: str, dataset: str) -> str:
    """The class name of ``label``'s concept in ``dataset``'s wording (``happiness`` -> ``happy`` for DFEW)."""
    c = concept(label)
    for name in LABEL_SETS[dataset]:
        if concept(name) == c:
            return name
    raise ValueError(f"class {label!r} has no counterpart in {dataset}'s classes {LABEL_SETS[dataset]}")


def caption(label: str, rng: np.random.Generator) -> str:
    """One caption of a clip of ``label``, with a random synonym and template."""
    words = CAPTION_WORDS[concept(label)]
    tmpl = CAPTION_TEMPLATES[int(rng.integers(len(CAPTION_TEMPLATES)))]
    return tmpl.format(word=words[int(rng.integers(len(words)))])


def _join(phrases: Sequence[str]) -> str:
    if len(phrases) == 1:
        return phrases[0]
    return ", ".join(phrases[:-1]) + " and " + phrases[-1]


def describe_motion(aus: np.ndarray, au_names: Sequence[str], threshold: float = MOTION_THRESHOLD,
                    max_movements: int = MAX_MOVEMENTS) -> str:
    """Plain words for how the face moves across the given frames (rows of ``aus``, in temporal order).

    Each action unit is compared with the first frame: a rise by more than ``threshold`` is a movement
    ("the lip corners pull up"); if it has fallen back by the last frame it was brief ("... for a moment");
    a fall below the first frame is a release ("the lip corners drop"). The ``max_movements`` largest
    changes are kept, largest first.
    """
    a = np.asarray(aus, dtype=np.float64)
    if a.ndim != 2 or a.shape[1] != len(au_names) or a.shape[0] < 1:
        raise ValueError(f"aus must be (frames, {len(au_names)}) with at least one frame, got shape {a.shape}")
    dev = a - a[0:1]
    up, down, end = dev.max(axis=0), dev.min(axis=0), dev[-1]
    moves = []
    for j, name in enumerate(au_names):
        if name not in AU_PHRASES:
            continue
        rise, release = AU_PHRASES[name]
        if up[j] > threshold:
            brief = up[j] - end[j] > threshold
            if brief:
                rise = "the eyes blink" if name == "AU45" else f"{rise} for a moment"
            moves.append((up[j], rise))
        elif down[j] < -threshold:
            moves.append((-down[j], release))
    if not moves:
        return STILL
    moves.sort(key=lambda m: -m[0])
    return _join([m[1] for m in moves[:max_movements]])


def motion_groups(sample) -> list[tuple[int, int, np.ndarray]]:
    """(keyframe before, keyframe after or -1 for the tail, in-between indices) per gap of a keyframes sample."""
    keys = [int(i) for i in sorted(sample.indices)]
    out = []
    for g in sample.groups:
        g = np.asarray(g, dtype=np.int64)
        if len(g) == 0:
            continue
        before = max([k for k in keys if k < g[0]], default=keys[0])
        after = min([k for k in keys if k > g[-1]], default=-1)
        out.append((before, after, g))
    return out


def gap_frames(before: int, after: int, inner: np.ndarray) -> np.ndarray:
    """The frames a gap's description covers: the keyframe before, the in-between frames, the keyframe after."""
    idx = [before, *[int(i) for i in inner]] + ([after] if after >= 0 else [])
    return np.asarray(idx, dtype=np.int64)


def format_span(t0: float, t1: float) -> str:
    return f"{t0:.1f}-{t1:.1f} s"


def motion_context(aus: np.ndarray, au_names: Sequence[str], sample, fps: float,
                   descriptions: Sequence[str] | None = None) -> str:
    """The MSCE context of a keyframes sample: "0.0-1.0 s: the lip corners pull up. 1.0-2.0 s: ..." .

    ``descriptions`` (one per non-empty gap, e.g. written by the VLM in stage 1) replace the oracle ones
    computed from the action units.
    """
    groups = motion_groups(sample)
    if descriptions is not None and len(descriptions) != len(groups):
        raise ValueError(f"motion_context: {len(descriptions)} descriptions for {len(groups)} gaps")
    parts = []
    for n, (before, after, inner) in enumerate(groups):
        idx = gap_frames(before, after, inner)
        text = descriptions[n] if descriptions is not None else describe_motion(aus[idx], au_names)
        t1 = (after if after >= 0 else int(inner[-1])) / fps
        parts.append(f"{format_span(before / fps, t1)}: {text.strip().rstrip('.')}.")
    return " ".join(parts)


def tokenizer_corpus(seed: int = 0) -> list[str]:
    """Every kind of text the probe VLM sees: all prompts with every label set (several class orders),
    label words and synonyms, captions, motion phrases and example contexts, chat roles."""
    from emoprobe import prompts
    from emoprobe.parse import SYNONYMS

    rng = np.random.default_rng(seed)
    texts = ["system user assistant You are a helpful assistant.", STILL, CAPTION_PROMPT]
    for dataset, labels in LABEL_SETS.items():
        for k in range(6):
            order = "fixed" if k == 0 else "shuffled"
            for pid in prompts.list_prompts():
                times = np.round(np.sort(rng.uniform(0, 4, 8)), 2)
                texts.append(prompts.render(pid, labels, order=order, seed=k, clip_id=f"{dataset}{pid}",
                                            timestamps=times)["text"])
        texts.append(", ".join(labels))
    for words in SYNONYMS.values():
        texts.append(" ".join(words))
    for c, words in CAPTION_WORDS.items():
        texts.append(c + " " + " ".join(words))
        for tmpl in CAPTION_TEMPLATES:
            texts += [tmpl.format(word=w) for w in words]
    for rise, release in AU_PHRASES.values():
        texts += [rise, release, f"{rise} for a moment"]
    texts.append("the eyes blink")
    for k in range(40):
        a, b = sorted(rng.uniform(0, 6, 2))
        texts.append(f"{format_span(a, b)}: {STILL}.")
    return texts


__all__ = ["AU_PHRASES", "CAPTION_PROMPT", "CAPTION_WORDS", "STILL", "caption", "dataset_word",
           "describe_motion", "gap_frames", "motion_context", "motion_groups", "tokenizer_corpus"]
