"""What the probe builds in, and what is left to emerge: the box every finding chapter shows near its top.

A verdict "reproduced" in a probe profile means that the mechanism the chapter tests, trained into a tiny model
here, produces the paper's signature; it does not mean that the paper's numbers hold for real VLMs. For that
reading a reader must see what we put into the probe by design (and so cannot count as evidence) apart from
what came out of training. The designed-in facts below are read from the zoo's configuration
(emoprobe.probe.zoo) and the training code's constants, so the box cannot drift from what was trained.
"""

from __future__ import annotations

__all__ = ["FACTS", "designed_in", "box", "box_for"]

# The facts of the probe's training a finding can name (emoprobe.results.Finding.designed_in); their sentences,
# with the configured values, are written by ``designed_in``.
FACTS = ("prior", "prompt", "frames", "oracle", "order", "describer", "split", "micro")


def designed_in(finding: str, profile: str = "quick") -> list[str]:
    """The facts of the probe's training that bear on ``finding`` (sentences with the configured values)."""
    from emoprobe.probe import zoo
    from emoprobe.probe.vlm.budget import VISUAL_TOKENS
    from emoprobe.probe.vlm.examples import TRAIN_FPS, TRAIN_UNIFORM
    from emoprobe.probe.videomae import MODEL_DEFAULTS as VIDEOMAE
    from emoprobe.results import FINDINGS

    wanted = FINDINGS.get(finding).designed_in
    if not wanted:
        return ["nothing: no model is involved"]
    p = zoo.PROFILES[profile]
    powers = sorted({m["prior_power"] for m in zoo.MODELS.values() if m["kind"] == "pretrain"})
    shuffled = [n for n, m in zoo.MODELS.items() if m.get("shuffle_frames")]
    describers = [n for n, m in zoo.MODELS.items() if m["kind"] == "describer"]
    facts = {
        "prior": "the web stage draws each clip's emotion words with probability proportional to the words' web "
                 f"frequency raised to `prior_power` ({', '.join(f'{x:g}' for x in powers)} for the three "
                 "zero-shot models), so a frequency prior is put into the models on purpose",
        "prompt": f"the warm-up ({p.base_steps:,} steps) is supervised classification with the evaluation's own "
                  f"closed-set prompt, and {p.task_weights['plain']:.0%} of the web stage's examples are that "
                  "question again: the probe is trained on the question it is later asked",
        "frames": f"VLMs are trained on {'/'.join(map(str, sorted(set(TRAIN_UNIFORM))))} uniform frames or on "
                  f"{TRAIN_FPS[0]:g}-{TRAIN_FPS[-1]:g} fps, at most {VISUAL_TOKENS} visual tokens per input "
                  f"(8 frames at {zoo.FRAME_SIZE} px), and tested on 8 uniform frames unless a chapter says "
                  f"otherwise; VideoMAE sees {VIDEOMAE['num_frames']} frames, one per segment",
        "oracle": f"{p.context_share:.0%} of the web stage's classification questions are keyframes plus the "
                  "generator's own (oracle) motion text between them"
                  + "".join(f" (`{n}`: {m['context_share']:.0%})" for n, m in zoo.MODELS.items() if "context_share" in m)
                  + ": the probe is taught to read such text",
        "order": "every training input shows its frames in order"
                 + (f" except {', '.join(f'`{n}`' for n in shuffled)}'s, whose frames are shuffled anew at every "
                    "step on purpose (the chapter's dial)" if shuffled else "")
                 + "; no class of DFEW or MAFW needs the order of the frames to be told apart (MAFW's "
                 "disappointment, a smile that collapses, keeps both of its states when shuffled)",
        "describer": (f"{', '.join(f'`{n}`' for n in describers)} is trained on stage 1 alone, with the oracle "
                      "motion words of a keyframe gap as its answers: its text imitates the oracle's by design, "
                      "how well it does so from the frames is measured") if describers else "no describer is trained",
        "split": f"the fine-tunes and VideoMAE train on a split with the dataset's real class counts "
                 f"({p.finetune_steps} fine-tuning steps of {p.batch_size} clips), the zero-shot VLMs never "
                 "see it",
        "micro": f"{p.web['micro_fraction']:.0%} of the training clips are micro-expressions",
    }
    return [facts[k] for k in wanted]


def box(finding: str, profile: str | None) -> str:
    """A MyST admonition: designed in, emerged. ``profile``: the zoo profile of the chapter's probe models, or
    None when the chapter runs real models (then nothing is designed in by us)."""
    from emoprobe.results import FINDINGS

    title = ":::{admonition} What the probe builds in, and what emerged\n:class: seealso\n\n"
    entry = FINDINGS.get(finding)
    emerged = entry.emerged
    if not entry.designed_in:
        return title + "Nothing is trained: the chapter is exact arithmetic on published clip lengths and the samplers' rules.\n:::"
    if profile is None:
        return (title + "These are real models on real data: nothing below was put in by us. The verdict speaks "
                f"about these models. Measured here: {emerged}.\n:::")
    lines = "\n".join(f"- {f}" for f in designed_in(finding, profile))
    return (title + f"**Designed in** (the `{profile}` zoo's configuration):\n\n{lines}\n\n**Emerged** (what the "
            f"chapter measures): {emerged}.\n\nA verdict of *reproduced* here means the mechanism, "
            "trained into a tiny model, produces the paper's signature; it is not a claim about the paper's "
            "numbers for real VLMs.\n:::")


def box_for(finding: str, models) -> str:
    """``box`` for a chapter's models: the zoo profile of its first probe model, or real models."""
    from emoprobe.solutions import probe_profile

    return box(finding, probe_profile(models))
