"""Multi-stage context enrichment (MSCE, the paper's Table 3) for any backend.

The model sees sparse keyframes (the ``keyframes`` sampler); what happens between them reaches it as text:

- **stage 1** (``context="msce"``): a backend (the evaluated model by default, or ``context_model``) is
  shown each gap's frames (the keyframe before, the in-between frames, the keyframe after) and asked the
  ``msce_motion`` prompt; its one-sentence answers are the descriptions;
- **oracle** (``context="oracle"``): the descriptions are computed from the generator's per-frame action
  units, which only the probe's records carry (``record["meta"]["aus"]``); on real data it is unavailable and
  says so;
- **stage 2**: the descriptions are written between the keyframe times, "0.0-1.0 s: the lip corners pull
  up. 1.0-2.0 s: ...", and given to the classification prompt as its context.

``shuffle_context=True`` permutes a clip's descriptions across its gaps with a permutation of its own (from the
run's seed and the clip id). It is never the identity when a clip has two or more distinct descriptions, so
every such clip really is shuffled; clips whose gaps all read the same are left as they are and counted.
"""

from __future__ import annotations

import re

import numpy as np

from emoprobe.probe.corpus import STILL, describe_motion, format_span, gap_frames, motion_groups

__all__ = ["CONTEXTS", "agreement", "descriptions_of", "gaps", "oracle_descriptions", "shuffle_descriptions",
           "format_context", "stage1_prompt"]

CONTEXTS = (None, "msce", "oracle")


def check(context, sampler=None) -> None:
    """A known context, and a sampler that gives in-between groups to describe (the ``keyframes`` sampler)."""
    if context not in CONTEXTS:
        raise ValueError(f"context: expected one of {CONTEXTS}, got {context!r}")
    if context is not None and sampler is not None and getattr(sampler, "name", None) != "keyframes":
        raise ValueError(f"context={context!r} needs the keyframes sampler (its in-between groups are what stage 1 "
                         f"describes), got {getattr(sampler, 'name', sampler)!r}")


def gaps(sample) -> list[np.ndarray]:
    """The frames each description covers, one array per non-empty gap of a keyframes sample."""
    return [gap_frames(*g) for g in motion_groups(sample)]


def oracle_descriptions(meta: dict | None, gap_list, clip_id: str) -> list[str]:
    """Motion words computed from a probe record's action units (``meta["aus"]``, ``meta["au_names"]``)."""
    if not meta or "aus" not in meta:
        raise ValueError(f"clip {clip_id}: context='oracle' needs per-frame action units in the record's "
                         "metadata (probe datasets written by emoprobe synth have them; real datasets do not)")
    aus = np.asarray(meta["aus"], dtype=np.float64)
    return [describe_motion(aus[g], meta["au_names"]) for g in gap_list]


def shuffle_descriptions(texts: list[str], rng: np.random.Generator) -> tuple[list[str], bool]:
    """A permutation of ``texts`` that differs from them whenever two of them differ; (texts, shuffled?)."""
    if len(set(texts)) < 2:
        return list(texts), False
    while True:
        out = [texts[i] for i in rng.permutation(len(texts))]
        if out != list(texts):
            return out, True


def format_context(sample, fps: float, descriptions: list[str]) -> str:
    """Stage 2: the descriptions placed between the keyframe times (the text the probe VLM was trained on)."""
    groups = motion_groups(sample)
    if len(descriptions) != len(groups):
        raise ValueError(f"format_context: {len(descriptions)} descriptions for {len(groups)} gaps")
    parts = []
    for text, (before, after, inner) in zip(descriptions, groups):
        t1 = (after if after >= 0 else int(inner[-1])) / fps
        parts.append(f"{format_span(before / fps, t1)}: {(text.strip() or STILL).rstrip('.')}.")
    return " ".join(parts)


def stage1_prompt() -> str:
    from emoprobe import prompts

    return prompts.render("msce_motion", [""])["text"]


_SPAN = re.compile(r"(?:^| )\d+\.\d-\d+\.\d s: ")


def descriptions_of(context: str | None) -> list[str]:
    """The descriptions a stage-2 context holds, one per gap, in order (the inverse of ``format_context``)."""
    if not context:
        return []
    return [part.strip().rstrip(".") for part in _SPAN.split(context)[1:]]


def _phrases(text: str) -> set[str]:
    return {p.strip() for p in re.split(r", | and ", text.strip().rstrip(".")) if p.strip()}


def agreement(written: list[str], reference: list[str]) -> dict:
    """How far stage-1 descriptions (``written``) agree with reference ones for the same gaps (the oracle's):
    the share of gaps described word for word, the share where both say "still" or both say something moves,
    and phrase-level F1 (phrases split at commas and "and"; the F1 of a gap where both say nothing is 1)."""
    if len(written) != len(reference):
        raise ValueError(f"agreement: {len(written)} descriptions for {len(reference)} reference gaps")
    if not written:
        return {"gaps": 0, "exact": float("nan"), "moving_agrees": float("nan"), "phrase_f1": float("nan")}
    exact, moving, f1 = [], [], []
    for w, r in zip(written, reference):
        pw, pr = _phrases(w), _phrases(r)
        exact.append(pw == pr)
        moving.append((pw == {STILL}) == (pr == {STILL}))
        hits = len(pw & pr)
        f1.append(1.0 if not pw and not pr else 2 * hits / (len(pw) + len(pr)))
    return {"gaps": len(written), "exact": float(np.mean(exact)), "moving_agrees": float(np.mean(moving)),
            "phrase_f1": float(np.mean(f1))}
