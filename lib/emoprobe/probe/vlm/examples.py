"""The probe VLM's training examples, drawn from probe clips: (frame indices, prompt, answer) per task.

The tasks (``WEB_TASKS``): ``plain``, the evaluation's own closed-set question over 8 frames; ``classify``, a
closed-set question over 4-16 frames or a fixed rate (``draw_sample``), with ``CONTEXT_SHARE`` of them given as
an MSCE input (sparse keyframes plus the motion text of the gaps); ``caption``, a caption or a one-word open
answer; ``motion``, the frames of one keyframe gap -> motion words (MSCE stage 1). Every sample is thinned to
the visual-token budget (emoprobe.probe.vlm.budget). A clip's frames are not needed here: only its label,
length, rate and action-unit timeline.
"""

from __future__ import annotations

import numpy as np

from emoprobe.labels import LABEL_SETS
from emoprobe.lexicon import concept
from emoprobe.probe import corpus
from emoprobe.probe.vlm.budget import VISUAL_TOKENS, budget_indices

CONTEXT_SHARE = 0.25  # share of classification examples given as keyframes + motion text (MSCE stage 2)

# Sampling rates the training inputs are drawn at (the paper's frame-rate figure sweeps 1, 5, 10, 15, 20, 25 fps).
# Rates above 10 fps are left out: under the budget they give 28 px frames of a 3 s clip (little to learn
# from) and cost the most frames to render; evaluation at higher rates is then an extrapolation.
TRAIN_FPS = (1.0, 2.0, 3.0, 5.0, 8.0, 10.0)
# uniform frame counts: the usual 8-frame VLM input (drawn half the time: it is what the held-out scores use)
# and its neighbours
TRAIN_UNIFORM = (4, 8, 8, 8, 16)
UNIFORM_SHARE = 0.8  # the rest of the samples are at a fixed rate (TRAIN_FPS), thinned to the budget


def draw_sample(num_frames: int, fps: float, rng: np.random.Generator, visual_tokens: int = VISUAL_TOKENS,
                uniform_share: float = UNIFORM_SHARE):
    """A training frame sample: uniform 4/8/16 frames, or a fixed rate of 1-10 fps (TRAIN_FPS), thinned to the budget."""
    from emoprobe.samplers import make_sampler

    if rng.random() < uniform_share:
        sampler = make_sampler("uniform", num_samples=int(rng.choice(TRAIN_UNIFORM)))
    else:
        sampler = make_sampler("fps", target_fps=float(rng.choice(TRAIN_FPS)))
    s = sampler.sample(int(num_frames), float(fps), rng=rng)
    return budget_indices(s.indices, visual_tokens)


def keyframe_sample(num_frames: int, fps: float, rng: np.random.Generator, visual_tokens: int = VISUAL_TOKENS):
    """MSCE input: keyframes at 1-2 fps plus four in-between frames per gap (as in the paper's MSCE figure)."""
    from emoprobe.samplers import make_sampler

    s = make_sampler("keyframes", keyframe_fps=float(rng.choice([1.0, 2.0])), per_gap=4).sample(int(num_frames),
                                                                                                  float(fps), rng=rng)
    return s


def _candidates(label: str, rng: np.random.Generator, seven_share: float = 0.3,
                dataset: str = "mafw") -> tuple[str, str]:
    """(dataset whose candidate list is shown, the answer in its wording). A MAFW pool mixes MAFW's 11 classes
    with the 7-class list (``seven_share``); a DFEW pool always shows DFEW's 7."""
    if dataset != "mafw":
        return dataset, corpus.dataset_word(label, dataset)
    if concept(label) in corpus.SEVEN_CLASS and rng.random() < seven_share:
        dataset = "dfew"
    return dataset, corpus.dataset_word(label, dataset)


def plain_example(clip: dict, rng: np.random.Generator, example_id: str, first: bool = True,
                  dataset: str = "mafw") -> dict:
    """The evaluation's own question: the closed-set prompt with a shuffled candidate list over 8 frames, uniform
    for a clip's first example and one random frame per segment (TSN) for the others."""
    from emoprobe import prompts
    from emoprobe.samplers import make_sampler

    name, params = ("uniform", {"num_samples": 8}) if first else ("segment_random", {"num_segments": 8})
    indices = make_sampler(name, **params).sample(int(clip["num_frames"]), float(clip["fps"]), rng=rng).indices
    dataset, answer = _candidates(clip["label"], rng, dataset=dataset)
    rendered = prompts.render("closed_set", LABEL_SETS[dataset], order="shuffled", seed=int(rng.integers(2**31 - 1)),
                              clip_id=example_id)
    return {"task": "plain", "indices": indices, "prompt": rendered["text"], "answer": answer}


def classify_example(clip: dict, rng: np.random.Generator, example_id: str, visual_tokens: int,
                     context_share: float, timed_share: float = 0.15, seven_share: float = 0.3,
                     dataset: str = "mafw") -> dict:
    """A closed-set question with a shuffled candidate list; with ``context_share`` an MSCE input (sparse
    keyframes + the oracle motion text of the gaps as context)."""
    from emoprobe import prompts

    dataset, answer = _candidates(clip["label"], rng, seven_share, dataset)
    context = None
    if rng.random() < context_share:
        s = keyframe_sample(clip["num_frames"], clip["fps"], rng, visual_tokens)
        indices = budget_indices(s.indices, visual_tokens)
        context = corpus.motion_context(clip["aus"], clip["au_names"], s, clip["fps"])
    else:
        indices = draw_sample(clip["num_frames"], clip["fps"], rng, visual_tokens)
    # timestamps cost about five tokens a frame: stated only for short samples, so no batch pads to hundreds
    pid = "closed_set_timed" if len(indices) <= 12 and rng.random() < timed_share else "closed_set"
    seed = int(rng.integers(2**31 - 1))
    rendered = prompts.render(pid, LABEL_SETS[dataset], order="shuffled", seed=seed, clip_id=example_id,
                              timestamps=indices / clip["fps"], context=context)
    return {"task": "classify_context" if context else "classify", "indices": indices, "prompt": rendered["text"],
            "answer": answer}


def caption_example(clip: dict, rng: np.random.Generator, visual_tokens: int, dataset: str = "mafw") -> dict:
    """A caption ("the person looks joyful") or a one-word open answer in the dataset's wording."""
    from emoprobe import prompts

    indices = draw_sample(clip["num_frames"], clip["fps"], rng, visual_tokens)
    if rng.random() < 0.5:
        return {"task": "caption", "indices": indices, "prompt": corpus.CAPTION_PROMPT,
                "answer": corpus.caption(clip["label"], rng)}
    if dataset == "mafw":
        dataset = "dfew" if concept(clip["label"]) in corpus.SEVEN_CLASS and rng.random() < 0.5 else "mafw"
    return {"task": "open", "indices": indices, "prompt": prompts.render("open", LABEL_SETS[dataset])["text"],
            "answer": corpus.dataset_word(clip["label"], dataset)}


def motion_example(clip: dict, rng: np.random.Generator, visual_tokens: int) -> dict:
    """MSCE stage 1: the frames of one keyframe gap (keyframe, in-betweens, keyframe) -> motion words.

    Gaps where something moves are preferred (three in four), so "the face stays still" does not swamp it.
    """
    from emoprobe import prompts

    s = keyframe_sample(clip["num_frames"], clip["fps"], rng, visual_tokens)
    gaps = corpus.motion_groups(s)
    if not gaps:
        indices = budget_indices(s.indices, visual_tokens)
        text = corpus.describe_motion(clip["aus"][indices], clip["au_names"])
    else:
        texts = [corpus.describe_motion(clip["aus"][corpus.gap_frames(*g)], clip["au_names"]) for g in gaps]
        moving = [i for i, t in enumerate(texts) if t != corpus.STILL]
        pick = moving if moving and rng.random() < 0.75 else list(range(len(gaps)))
        k = pick[int(rng.integers(len(pick)))]
        indices, text = corpus.gap_frames(*gaps[k]), texts[k]
    return {"task": "motion", "indices": indices, "prompt": prompts.render("msce_motion", [""])["text"],
            "answer": text}


WEB_TASKS = ("plain", "classify", "caption", "motion")


__all__ = ["CONTEXT_SHARE", "TRAIN_FPS", "TRAIN_UNIFORM", "UNIFORM_SHARE", "WEB_TASKS", "caption_example",
           "classify_example", "draw_sample", "keyframe_sample", "motion_example", "plain_example"]
