"""Probe experiments that can fail: the mechanism a finding names, with the dial that turns it off.

A verdict (emoprobe.verdicts) says whether the paper's signature appears. These checks say whether it appears
*for the reason the paper gives*: each one states a prediction before the run, turns one dial of the probe
(how a model was trained, which text it reads, how many frames a description covers) and compares the outcome
with the prediction. A check ends as ``as predicted``, ``not as predicted`` or ``not testable here`` (the
inputs cannot carry the test: a model near chance, too few clips, nothing for the dial to turn off). Like the
verdicts, the rules were written before the results were seen, take plain numbers, and are driven through
every outcome by ``tests/test_mechanisms.py``.

Thresholds: the chance floor and the equivalence margin are the verdicts' (``verdicts.CHANCE_FACTOR``,
``verdicts.EQUIVALENCE_MARGIN``); ``MIN_CLIPS`` 10 is the fewest clips a paired interval is computed on.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from emoprobe.verdicts import EQUIVALENCE_MARGIN, Delta, Score, _usable, near_chance

__all__ = ["CHECK_STATUSES", "MIN_CLIPS", "Check", "f2_shuffled_training", "f7_missed_events", "f7_describer",
           "f7_gap_length"]

CHECK_STATUSES = ("as predicted", "not as predicted", "not testable here")
MIN_CLIPS = 10


@dataclass(frozen=True)
class Check:
    """The outcome of one dial experiment: its prediction, the status, the sentences that decided it, the facts."""
    prediction: str
    status: str
    reasons: tuple = ()
    facts: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.status not in CHECK_STATUSES:
            raise ValueError(f"status: expected one of {CHECK_STATUSES}, got {self.status!r}")

    @property
    def text(self) -> str:
        return " ".join(self.reasons)

    def markdown(self, title: str) -> str:
        """The check as a box for a chapter: prediction, outcome, why."""
        return (f":::{{admonition}} {title}: {self.status}\n:class: {_CLASS[self.status]}\n"
                f"**Predicted before the run.** {self.prediction}\n\n**Outcome.** {self.text}\n:::")


_CLASS = {"as predicted": "tip", "not as predicted": "warning", "not testable here": "note"}


NOT_MEASURED = ("Nothing was measured for this comparison (a run is missing).",)


def _measured(*deltas: Delta) -> bool:
    return all(math.isfinite(d.low) and math.isfinite(d.high) for d in deltas)


def _equivalent(d: Delta, margin: float) -> bool:
    return -margin < d.low90 and d.high90 < margin


def f2_shuffled_training(ordered: Delta, shuffled: Delta, k: int, margin: float = EQUIVALENCE_MARGIN) -> Check:
    """F2's dial: the same fine-tune on frames in order (``ordered``) and on shuffled frames (``shuffled``), each
    model's change of macro-F1 when its test frames are shuffled (``reference``: its in-order macro-F1).

    If a probe VLM loses macro-F1 under shuffling because a shuffled clip is an input it never saw (and not
    because it reasons over time: no probe class in a 7-class set needs order), training on shuffled frames
    removes the loss."""
    prediction = (f"Shuffling the test frames costs the model fine-tuned on ordered frames macro-F1 (95 % interval "
                  f"below zero), and the same fine-tune on shuffled frames does not move (90 % interval within "
                  f"±{margin}).")
    facts = {"ordered": ordered.value, "shuffled": shuffled.value, "ordered_in_order": ordered.reference,
             "shuffled_in_order": shuffled.reference, "margin": margin}
    for name, d in (("ordered", ordered), ("shuffled", shuffled)):
        if near_chance(d.reference, k):
            return Check(prediction, "not testable here",
                         (f"The model trained on {name} frames is near chance with its frames in order.",), facts)
    if not _measured(ordered, shuffled):
        return Check(prediction, "not testable here", NOT_MEASURED, facts)
    if ordered.high >= 0:
        return Check(prediction, "not testable here",
                     ("The model fine-tuned on ordered frames does not resolvably lose macro-F1 under shuffling "
                      f"(Δ {ordered.value:+.3f}, 95 % interval {ordered.low:+.3f} to {ordered.high:+.3f}): there "
                      "is no order dependence for the dial to remove.",), facts)
    if _equivalent(shuffled, margin):
        return Check(prediction, "as predicted",
                     (f"Trained on ordered frames the model loses {ordered.value:+.3f} under shuffling; trained on "
                      f"shuffled frames it changes by {shuffled.value:+.3f} (90 % interval {shuffled.low90:+.3f} to "
                      f"{shuffled.high90:+.3f}): its order dependence was the unfamiliar input, not temporal "
                      f"reasoning. In order, the shuffled-trained model scores {shuffled.reference:.3f} against "
                      f"{ordered.reference:.3f}.",), facts)
    return Check(prediction, "not as predicted",
                 (f"Trained on shuffled frames the model still changes by {shuffled.value:+.3f} under shuffling (90 % "
                  f"interval {shuffled.low90:+.3f} to {shuffled.high90:+.3f}, not within ±{margin}): something "
                  "other than the unfamiliar input makes it depend on order.",), facts)


def _on_missed_clips(prediction, facts, d: Delta, n_missed: int, keyframes: Score, k: int) -> Check | None:
    """Why a comparison on the clips whose keyframes missed the event cannot be made (None: it can)."""
    if not _usable(keyframes, k):
        return Check(prediction, "not testable here", ("The model is near chance on keyframes alone.",), facts)
    if n_missed < MIN_CLIPS:
        return Check(prediction, "not testable here",
                     (f"Only {n_missed} clips had their event missed by the keyframes (at least {MIN_CLIPS} are "
                      "needed for an interval).",), facts)
    if not _measured(d):
        return Check(prediction, "not testable here", NOT_MEASURED, facts)
    return None


NO_ORACLE = ("The records carry no action units (real data), so there is no true motion text to run this with.",)


def f7_missed_events(missed: Delta | None, n_missed: int, keyframes: Score, k: int,
                     caught: Delta | None = None) -> Check:
    """F7's first dial: whether the keyframes caught the expression event. ``missed`` / ``caught``: accuracy
    with the oracle motion text minus keyframes alone, on the clips whose keyframes missed / caught the event
    (``missed`` None: no oracle text, as on real data).

    If the text helps by carrying what the keyframes lack, its gain sits where the keyframes missed the event."""
    prediction = ("With the true motion text (the oracle), accuracy rises on the clips whose keyframes missed the "
                  "expression event (95 % paired interval above zero).")
    if missed is None:
        return Check(prediction, "not testable here", NO_ORACLE, {"n_missed": int(n_missed)})
    facts = {"missed": missed.value, "n_missed": int(n_missed), "caught": None if caught is None else caught.value,
             "keyframes": keyframes.value}
    untestable = _on_missed_clips(prediction, facts, missed, n_missed, keyframes, k)
    if untestable:
        return untestable
    tail = ("" if caught is None else
            f" On the clips whose keyframes caught it the change is {caught.value:+.3f} ({caught.low:+.3f} to "
            f"{caught.high:+.3f}).")
    if missed.low > 0:
        return Check(prediction, "as predicted",
                     (f"On the {n_missed} clips whose keyframes missed the event the text adds {missed.value:+.3f} "
                      f"accuracy ({missed.low:+.3f} to {missed.high:+.3f}).{tail}",), facts)
    return Check(prediction, "not as predicted",
                 (f"On the {n_missed} clips whose keyframes missed the event the text changes accuracy by "
                  f"{missed.value:+.3f} ({missed.low:+.3f} to {missed.high:+.3f}): the model does not take the "
                  f"missing event from the text.{tail}",), facts)


def f7_describer(describer: Delta, keyframes: Score, k: int, oracle: Delta | None = None,
                 phrase_f1: float | None = None) -> Check:
    """F7's second dial: who writes stage 1. ``describer``: macro-F1 with the text of a separately trained
    describer minus keyframes alone; ``oracle``: the same with the true text; ``phrase_f1``: how far the
    describer's text agrees with the true text (emoprobe.msce.agreement), reported.

    If the model's own stage 1 is what keeps MSCE from helping, a stage 1 that writes usable text makes it help."""
    prediction = ("With the descriptions of a separately trained describer, keyframes plus text beat keyframes "
                  "alone (95 % paired interval above zero).")
    facts = {"describer": describer.value, "oracle": None if oracle is None else oracle.value,
             "keyframes": keyframes.value, "phrase_f1": phrase_f1}
    agree = "" if phrase_f1 is None else f" Its descriptions agree with the true ones at phrase F1 {phrase_f1:.2f}."
    if not _usable(keyframes, k):
        return Check(prediction, "not testable here", ("The model is near chance on keyframes alone.",), facts)
    if not _measured(describer):
        return Check(prediction, "not testable here", NOT_MEASURED, facts)
    if oracle is not None and oracle.high <= 0:
        return Check(prediction, "not testable here",
                     ("Even the true motion text does not help this model, so no describer could." + agree,), facts)
    if describer.low > 0:
        return Check(prediction, "as predicted",
                     (f"The describer's text adds {describer.value:+.3f} macro-F1 ({describer.low:+.3f} to "
                      f"{describer.high:+.3f})." + agree,), facts)
    return Check(prediction, "not as predicted",
                 (f"The describer's text changes macro-F1 by {describer.value:+.3f} ({describer.low:+.3f} to "
                  f"{describer.high:+.3f})." + agree,), facts)


def f7_gap_length(step: Delta | None, n_missed: int, keyframes: Score, k: int, fewest: int, most: int) -> Check:
    """F7's third dial: how many in-between frames each description covers. ``step``: accuracy with the oracle
    text over ``most`` in-between frames per gap minus over ``fewest``, on the clips whose keyframes missed the
    event (paired; None: no oracle text, as on real data).

    A description can only tell what its frames show: covering more of the gap catches more of a short event."""
    prediction = (f"On the clips whose keyframes missed the event, oracle text over {most} in-between frames per gap "
                  f"gives higher accuracy than over {fewest} (95 % paired interval above zero).")
    if step is None:
        return Check(prediction, "not testable here", NO_ORACLE, {"n_missed": int(n_missed)})
    facts = {"step": step.value, "n_missed": int(n_missed), "fewest": fewest, "most": most,
             "keyframes": keyframes.value}
    untestable = _on_missed_clips(prediction, facts, step, n_missed, keyframes, k)
    if untestable:
        return untestable
    if step.low > 0:
        return Check(prediction, "as predicted",
                     (f"{most} frames per gap instead of {fewest} add {step.value:+.3f} accuracy ({step.low:+.3f} to "
                      f"{step.high:+.3f}).",), facts)
    return Check(prediction, "not as predicted",
                 (f"{most} frames per gap instead of {fewest} change accuracy by {step.value:+.3f} ({step.low:+.3f} "
                  f"to {step.high:+.3f}).",), facts)
