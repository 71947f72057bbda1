"""Prompt templates by name, and the order in which candidate classes are listed.

The order of the candidate list is part of the result: Emotion-LLaMA's own evaluation notes report DFEW
UAR/WAR falling from 42.57/53.48 with the dataset order (happy, sad, neutral, ...) to 26.29/32.59 with an
alphabetical list (``docs/evaluation/dfew-zero-shot.md`` of https://github.com/ZebangCheng/Emotion-LLaMA). So
every rendered prompt returns the order it used and a hash of the template text, and both are stored with
each prediction.

Templates are plain ``str.format`` strings with these fields:

``{labels}``      the candidates joined by ", " in the chosen order
``{options}``     the candidates as lettered lines ("A. happy"), for templates answered with a letter
``{timestamps}``  the frame times in seconds ("0.00 s, 0.50 s, ..."), only for templates that state them
``{n_frames}``    the number of frames (len(timestamps)), likewise

Extra ``context`` text (e.g. MSCE motion descriptions) is placed before the question by :data:`CONTEXT_BLOCK`;
changing that wrapper changes every template hash.
"""

from __future__ import annotations

import hashlib
import json
import string
from dataclasses import dataclass

import numpy as np

from emoprobe.registry import Registry

ORDERS = ("fixed", "alphabetical", "shuffled")

# Wrapper for optional extra text; part of every template hash (see _template_hash).
CONTEXT_BLOCK = "Context: {context}\n\n"

LETTERS = string.ascii_uppercase

FIELDS = ("labels", "options", "timestamps", "n_frames")


@dataclass(frozen=True)
class Prompt:
    """One template (``str.format`` fields from ``FIELDS``). What it needs follows from its fields, so a flag
    cannot disagree with the text."""

    text: str
    description: str

    def __post_init__(self):
        if not self.text.strip():
            raise ValueError("Prompt.text: expected a template, got an empty string")
        unknown = sorted(set(self.fields) - set(FIELDS))
        if unknown:
            raise ValueError(f"Prompt.text: unknown field{'s' if len(unknown) > 1 else ''} "
                             f"{', '.join('{' + f + '}' for f in unknown)}; a template may use {', '.join(FIELDS)}")

    @property
    def fields(self) -> tuple[str, ...]:
        return tuple(f for _, f, _, _ in string.Formatter().parse(self.text) if f is not None)

    @property
    def uses_labels(self) -> bool:
        return "labels" in self.fields or "options" in self.fields

    @property
    def lettered(self) -> bool:  # answered with a letter: parse with options=class_order
        return "options" in self.fields

    @property
    def needs_timestamps(self) -> bool:
        return "timestamps" in self.fields or "n_frames" in self.fields


PROMPTS = Registry("prompt")
# The only prompt quoted from the paper: its teaser figure (https://madhav1ag.github.io/vlm-temporal-emotion-gap/).
PROMPTS.register("teaser", Prompt(
    "What is the emotional state of character in this video?",
    "the paper's open question from its teaser figure; no candidate list"))
PROMPTS.register("open", Prompt(
    "What emotion does the person in this video express? Answer with a single word.",
    "open question asking for one word; no candidate list"))
PROMPTS.register("closed_set", Prompt(
    "Which emotion does the person in this video express? Choose exactly one of these emotions: {labels}. "
    "Answer with the emotion word only.",
    "classification with the candidate list; answer is one class name"))
PROMPTS.register("closed_set_options", Prompt(
    "Which emotion does the person in this video express?\n{options}\nAnswer with the letter of the correct "
    "option only.",
    "multiple choice with lettered options; parse with options=class_order"))
# In the spirit of GPT-4V with Emotion (Lian et al., arXiv 2312.04293): rank every candidate, score the top-1.
PROMPTS.register("closed_set_ranked", Prompt(
    "Consider the facial expression of the person across these frames. Rank all of the following emotions from "
    "most to least likely: {labels}. Reply only with the ranked list, separated by commas.",
    "ranks all candidates (GPT-4V with Emotion style); top-1 scored, top-k available"))
PROMPTS.register("closed_set_timed", Prompt(
    "These {n_frames} frames were taken from one video, in temporal order, at {timestamps}. Which emotion does "
    "the person express over this time? Choose exactly one of these emotions: {labels}. Answer with the emotion "
    "word only.",
    "classification that states each frame's timestamp"))
# MSCE stage 1 (the paper's MSCE figure): the in-between frames turned into a short motion description.
PROMPTS.register("msce_motion", Prompt(
    "Describe in one sentence how the face of the person changes across these frames (for example the mouth, "
    "eyes and eyebrows). Do not name an emotion.",
    "MSCE stage 1: describe facial motion in words, without naming an emotion"))


def list_prompts() -> list[str]:
    return PROMPTS.names()


def check_prompt(prompt_id: str) -> None:
    """A ``ValueError`` naming close prompts and listing every one when ``prompt_id`` is not one of them."""
    PROMPTS.get(prompt_id)


def _template_hash(text: str) -> str:
    # Hash everything that shapes the rendered text apart from its inputs, so a result records exactly which
    # wording produced it.
    payload = json.dumps({"text": text, "context_block": CONTEXT_BLOCK, "join": ", ",
                          "option": "{letter}. {label}"}, sort_keys=True)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:16]


def template_hash(prompt_id: str) -> str:
    return _template_hash(PROMPTS.get(prompt_id).text)


def _shuffle_rng(seed, clip_id) -> np.random.Generator:
    # hashlib rather than hash(): Python salts str hashes per process, which would break reproducibility.
    key = f"{0 if seed is None else int(seed)}\x00{'' if clip_id is None else clip_id}"
    digest = hashlib.sha256(key.encode("utf-8")).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "little"))


def class_order(labels, order: str = "fixed", seed=None, clip_id=None) -> list[str]:
    """The candidate list in the requested order.

    ``fixed`` keeps the given (dataset) order, ``alphabetical`` sorts by name, ``shuffled`` permutes
    deterministically per (seed, clip_id): the same clip always gets the same order, different clips differ
    (``seed=None`` counts as 0).
    """
    labels = [str(x) for x in labels]
    if not labels:
        raise ValueError("labels: expected at least one class name, got an empty list")
    if len(set(labels)) != len(labels):
        raise ValueError(f"labels: expected distinct class names, got {labels}")
    if order == "fixed":
        return labels
    if order == "alphabetical":
        return sorted(labels, key=str.lower)
    if order == "shuffled":
        perm = _shuffle_rng(seed, clip_id).permutation(len(labels))
        return [labels[i] for i in perm]
    raise ValueError(f"order: unknown class order {order!r}; expected one of {list(ORDERS)}")


def _format_timestamps(timestamps) -> str:
    return ", ".join(f"{float(t):.2f} s" for t in timestamps)


def render(prompt_id: str, labels, order: str = "fixed", seed=0, clip_id=None, timestamps=None,
           context=None) -> dict:
    """Render a named prompt.

    Returns ``dict(prompt_id, text, class_order, template_hash, options)``. ``options`` is the lettered option
    list (``class_order``; option "A" is its first entry) for lettered templates and ``None`` otherwise: pass
    it to :func:`emoprobe.parse.parse` so letters can be read back. Templates that do not state timestamps
    ignore ``timestamps``; ``closed_set_timed`` requires them.
    """
    tmpl = PROMPTS.get(prompt_id)
    ordered = class_order(labels, order, seed=seed, clip_id=clip_id)
    if tmpl.lettered and len(ordered) > len(LETTERS):
        raise ValueError(f"prompt {prompt_id!r}: at most {len(LETTERS)} lettered options, got {len(ordered)}")
    fields = {
        "labels": ", ".join(ordered),
        "options": "\n".join(f"{LETTERS[i]}. {label}" for i, label in enumerate(ordered)),
    }
    if tmpl.needs_timestamps:
        if timestamps is None or len(timestamps) == 0:
            raise ValueError(f"prompt {prompt_id!r} states frame times: pass timestamps (seconds, one per frame)")
        fields["timestamps"] = _format_timestamps(timestamps)
        fields["n_frames"] = len(timestamps)
    text = tmpl.text.format(**fields)
    if context is not None and str(context).strip():
        text = CONTEXT_BLOCK.format(context=str(context).strip()) + text
    return {
        "prompt_id": prompt_id,
        "text": text,
        "class_order": ordered,
        "template_hash": _template_hash(tmpl.text),
        "options": list(ordered) if tmpl.lettered else None,
    }
