"""The book's verdicts: one pure function per finding, from measured numbers to a status and its reasons.

Every chapter ends with one of four statuses (``STATUSES``). The rules below were written from the paper's
wording, before the probe's results were looked at, and are the same in every profile; the chapters render
what these functions return and decide nothing themselves. Each function takes plain numbers (a ``Score`` or a
``Delta`` per model) and returns a ``Verdict``: the status, the sentences that decided it, and the facts it
used. ``tests/test_verdicts.py`` drives each one through every outcome, broken runs included.

Thresholds, and why:

- ``CHANCE_FACTOR`` 1.5: a model whose macro-F1 is below 1.5 x chance (1/K on K balanced classes) recognises
  too little for a comparison between conditions to say anything about recognition; such a model is left out of
  the evidence, and a finding with no model left is *not testable here*. It also catches broken pipelines
  (every answer unparsed, a label map shifted by one): they score at or below chance.
- ``UNPARSED_LIMIT`` 0.5: a run in which most answers could not be read measures the parser, not the model.
- ``EQUIVALENCE_MARGIN`` 0.03 (F2): the paper's VLMs change by -0.026 to +0.006 macro-F1 under frame
  shuffling, its vision-only models by -0.056 to -0.093 (Table 2 of the paper's project page). A margin of
  0.03 contains every VLM change and is about half the smallest vision-only drop. "Barely moves" is then an
  equivalence claim, tested with two one-sided tests at 5 % each: the 90 % interval of the change inside
  (-margin, +margin). "No evidence of a change" (a 95 % interval containing zero) is not enough, since a
  smaller test set would make that easier.
- ``COLLAPSE_MARGIN`` 0.10 (F4): predictions "collapse" onto the head classes when the share of answers naming
  them exceeds those classes' share of the test labels by more than 10 points, interval included.
- F6: the paper's sweep peaks at ``PAPER_PEAK_FPS`` = 5 (its frame-rate figure); a measured peak "agrees"
  when 5 fps is among the rates whose interval reaches the peak's lower bound.
- ``MISS_SHARE`` 0.10 (F6, analytic): sparse sampling is "misaligned" with micro-expressions when the
  commonest VLM default misses more than a tenth of the shortest events.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

__all__ = ["STATUSES", "CHANCE_FACTOR", "UNPARSED_LIMIT", "EQUIVALENCE_MARGIN", "COLLAPSE_MARGIN", "PAPER_PEAK_FPS",
           "MISS_SHARE", "Score", "Delta", "Verdict", "chance", "near_chance", "f1_vlm_vs_vision", "f2_frame_shuffle",
           "f3_lexical_frequency", "f4_head_collapse", "f5_balanced_finetuning", "f6_fps_sweep", "f6_micro_capture",
           "f7_msce"]

STATUSES = ("reproduced", "partly reproduced", "not reproduced", "not testable here")
CHANCE_FACTOR = 1.5
UNPARSED_LIMIT = 0.5
EQUIVALENCE_MARGIN = 0.03
COLLAPSE_MARGIN = 0.10
PAPER_PEAK_FPS = 5.0
MISS_SHARE = 0.10


@dataclass(frozen=True)
class Score:
    """A model's score on one condition: the value and its 95 % interval (and how many answers were unreadable)."""
    value: float
    low: float
    high: float
    unparsed: float = 0.0

    @classmethod
    def of(cls, report: dict, metric: str = "macro_f1") -> Score:
        """From a report of emoprobe.findings.report (``metric`` and ``<metric>_ci``)."""
        low, high = report[f"{metric}_ci"]
        return cls(float(report[metric]), float(low), float(high), float(report.get("unparsed_rate", 0.0)))


@dataclass(frozen=True)
class Delta:
    """A paired difference (condition minus reference, same clips) with its 95 % and 90 % intervals, and the
    reference's macro-F1 (to leave models near chance out)."""
    value: float
    low: float
    high: float
    low90: float = math.nan
    high90: float = math.nan
    reference: float = math.nan


@dataclass(frozen=True)
class Verdict:
    status: str
    reasons: tuple = ()
    facts: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.status not in STATUSES:
            raise ValueError(f"status: expected one of {STATUSES}, got {self.status!r}")

    @property
    def text(self) -> str:
        return " ".join(self.reasons)


def chance(num_classes: int) -> float:
    """The score of guessing among ``num_classes`` balanced classes (macro-F1, accuracy and recall alike): 1/K."""
    if num_classes < 2:
        raise ValueError(f"num_classes: expected at least 2, got {num_classes}")
    return 1.0 / num_classes


def near_chance(macro_f1: float, num_classes: int) -> bool:
    """True when macro-F1 is below ``CHANCE_FACTOR`` x chance (or not a number: nothing was measured)."""
    return not (macro_f1 == macro_f1) or macro_f1 < CHANCE_FACTOR * chance(num_classes)


def _broken(score: Score) -> bool:
    return score.unparsed > UNPARSED_LIMIT


def _usable(score: Score, k: int) -> bool:
    return not _broken(score) and not near_chance(score.value, k)


def f1_vlm_vs_vision(vlm: Score, k: int, vision: Score | None = None, published: float | None = None) -> Verdict:
    """F1: zero-shot VLMs trail vision-only models. ``vision``: a vision-only model measured here; else
    ``published``: the best vision-only score as reported (a single number, compared with the VLM's interval)."""
    facts = {"vlm": vlm.value, "vision": None if vision is None else vision.value, "published": published}
    if _broken(vlm):
        return Verdict("not testable here", (f"{vlm.unparsed:.0%} of the VLM's answers could not be read.",), facts)
    if vision is not None:
        if not _usable(vision, k):
            return Verdict("not testable here", ("The vision-only model is near chance, so the comparison says "
                                                  "nothing about the claim.",), facts)
        if near_chance(vlm.value, k):
            return Verdict("partly reproduced", ("The VLM trails, but it is itself near chance: the gap is as large "
                                                  "as it can be for a trivial reason.",), facts)
        if vision.low > vlm.high:
            return Verdict("reproduced", ("The vision-only model's interval lies above the VLM's.",), facts)
        if vision.value > vlm.value:
            return Verdict("partly reproduced", ("The vision-only model scores higher, but the intervals "
                                                  "overlap.",), facts)
        return Verdict("not reproduced", ("The VLM scores at least as high as the vision-only model.",), facts)
    if published is None:
        return Verdict("not testable here", ("No vision-only model and no published score to compare with.",), facts)
    if near_chance(vlm.value, k):
        # the sanity floor: a broken pipeline must not "reproduce" a gap to a published number
        return Verdict("not testable here", ("The VLM is near chance here, which a broken run would also give; "
                                              "a gap to a published score would mean nothing.",), facts)
    if vlm.high < published:
        return Verdict("reproduced", ("The VLM's interval lies below the published vision-only score.",), facts)
    return Verdict("not reproduced", ("The VLM's interval reaches the published vision-only score.",), facts)


def f2_frame_shuffle(vlm: dict, k: int, vision: dict | None = None,
                     margin: float = EQUIVALENCE_MARGIN) -> Verdict:
    """F2: shuffling frames barely moves VLMs while vision-only models drop. ``vlm``, ``vision``: name ->
    Delta (shuffled minus original macro-F1, with 90 % intervals). Models near chance are left out."""
    vision = vision or {}
    used_vlm = {n: d for n, d in vlm.items() if not near_chance(d.reference, k)}
    used_vis = {n: d for n, d in vision.items() if not near_chance(d.reference, k)}
    facts = {"margin": margin, "vlm_used": sorted(used_vlm), "vision_used": sorted(used_vis),
             "left_out": sorted((set(vlm) | set(vision)) - set(used_vlm) - set(used_vis))}
    if not used_vlm:
        return Verdict("not testable here", ("No VLM is clearly above chance, and a model at chance is "
                                              "trivially insensitive to order.",), facts)
    equivalent = {n: -margin < d.low90 and d.high90 < margin for n, d in used_vlm.items()}
    moved = {n: d.high < 0 or d.low > 0 for n, d in used_vlm.items()}
    drops = {n: d.high < 0 for n, d in used_vis.items()}
    facts.update(equivalent=equivalent, vision_drops=drops)
    if not all(equivalent.values()):
        if any(moved[n] and not equivalent[n] for n in used_vlm):
            return Verdict("not reproduced", (f"A VLM's change under shuffling is not within ±{margin} "
                                               "(90 % interval) and its 95 % interval excludes zero.",), facts)
        return Verdict("not testable here", (f"The VLMs' intervals are too wide to show a change within ±{margin}: "
                                              "more clips are needed.",), facts)
    if not used_vis:
        return Verdict("reproduced" if not vision else "partly reproduced",
                       (f"Every VLM's change lies within ±{margin} (two one-sided tests at 5 %).",)
                       + (() if not vision else ("The vision-only model is near chance, so the contrast is "
                                                 "missing.",)), facts)
    if all(drops.values()):
        return Verdict("reproduced", (f"Every VLM's change lies within ±{margin}, and every vision-only model "
                                       "drops (95 % interval below zero).",), facts)
    return Verdict("partly reproduced", (f"Every VLM's change lies within ±{margin}, but a vision-only model does "
                                          "not drop either.",), facts)


def f3_lexical_frequency(rhos: dict, k: int, macro_f1: dict, prior_powers: dict | None = None) -> Verdict:
    """F3: per-class accuracy rises with how frequent the class word is, in English and in Chinese.
    ``rhos``: model -> {"English": Score, "Chinese": Score} (Spearman ρ with its interval); ``macro_f1``:
    model -> its macro-F1 (models near chance are left out). ``prior_powers`` (the probe): model -> the power of
    the word prior it was trained with; the mechanism predicts ρ > 0 for power > 0 and none at power 0."""
    used = {m: r for m, r in rhos.items() if not near_chance(macro_f1.get(m, math.nan), k)
            and all(v.value == v.value for v in r.values())}
    shows = {m: all(v.low > 0 for v in r.values()) and {"English", "Chinese"} <= set(r) for m, r in used.items()}
    facts = {"used": sorted(used), "positive_in_both": shows}
    if not used:
        return Verdict("not testable here", ("No model is above chance with a defined correlation.",), facts)
    if prior_powers:
        with_prior = [m for m in used if prior_powers.get(m, 0) > 0]
        without = [m for m in used if prior_powers.get(m, 0) == 0]
        if with_prior and all(shows[m] for m in with_prior) and not any(shows[m] for m in without):
            return Verdict("reproduced", ("ρ > 0 in both languages for every model trained with a word prior, "
                                          "and not for the model without one.",), facts)
    if all(shows.values()):
        return Verdict("reproduced", ("ρ > 0 in both languages for every model.",), facts)
    if any(shows.values()):
        return Verdict("partly reproduced", ("ρ > 0 in both languages for some models only.",), facts)
    return Verdict("not reproduced", ("No model's ρ is above zero in both languages.",), facts)


def f4_head_collapse(head_share: dict, expected: float, unparsed: dict, macro_f1: dict, k: int,
                     prior_powers: dict | None = None, margin: float = COLLAPSE_MARGIN) -> Verdict:
    """F4: predictions collapse onto the head classes. ``head_share``: model -> Score of the share of answers
    naming the head classes; ``expected``: the head classes' share of the test labels (the test set's actual
    distribution). With ``prior_powers`` (the probe) the collapse must grow with the prior."""
    used = {m: s for m, s in head_share.items() if unparsed.get(m, 0.0) <= UNPARSED_LIMIT}
    collapsed = {m: s.low > expected + margin for m, s in used.items()}
    facts = {"expected": expected, "collapsed": collapsed}
    if not used:
        return Verdict("not testable here", ("Most answers could not be read in every run.",), facts)
    trivial = all(near_chance(macro_f1.get(m, math.nan), k) for m in used)
    if prior_powers and len(used) > 1:
        order = sorted(used, key=lambda m: prior_powers.get(m, 0))
        grows = used[order[-1]].low > used[order[0]].high and collapsed[order[-1]] and not collapsed[order[0]]
        status = "reproduced" if grows else "partly reproduced" if any(collapsed.values()) else "not reproduced"
        reason = ("The head share grows with the word prior, beyond the intervals, and only the prior models "
                  "collapse." if grows else "Some models collapse, but not in step with the prior." if
                  status != "not reproduced" else "No model's head share exceeds the test labels' by the margin.")
    else:
        status = ("reproduced" if all(collapsed.values()) else "partly reproduced" if any(collapsed.values())
                  else "not reproduced")
        reason = {"reproduced": "Every model's head share exceeds the test labels' by the margin.",
                  "partly reproduced": "Some models' head share exceeds the test labels' by the margin.",
                  "not reproduced": "No model's head share exceeds the test labels' by the margin."}[status]
    if status == "reproduced" and trivial:
        return Verdict("partly reproduced", (reason, "But every model is near chance: it answers its prior "
                                             "whatever the video shows."), facts)
    return Verdict(status, (reason,), facts)


def f5_balanced_finetuning(natural: Score | None, balanced: Score | None, k: int, entropy_natural: float = math.nan,
                           entropy_balanced: float = math.nan, tail_recall: Delta | None = None) -> Verdict:
    """F5: balanced fine-tuning spreads the predictions and lifts the tail classes markedly, against natural
    sampling. ``natural``, ``balanced``: macro-F1 scores; ``tail_recall``: balanced minus natural, paired."""
    if natural is None or balanced is None:
        return Verdict("not testable here", ("No natural and balanced fine-tunes were given.",), {})
    facts = {"entropy": (entropy_natural, entropy_balanced),
             "tail_recall_delta": None if tail_recall is None else tail_recall.value}
    if not (_usable(natural, k) or _usable(balanced, k)):
        return Verdict("not testable here", ("Both fine-tunes are near chance.",), facts)
    spreads = entropy_balanced > entropy_natural
    lifts = tail_recall is not None and tail_recall.low > 0
    if spreads and lifts:
        return Verdict("reproduced", ("Balanced sampling spreads the predictions and lifts tail recall (paired "
                                      "interval above zero).",), facts)
    if spreads or (tail_recall is not None and tail_recall.value > 0):
        return Verdict("partly reproduced", ("The direction is the paper's, but not both effects are clear.",),
                       facts)
    return Verdict("not reproduced", ("Balanced sampling neither spreads the predictions nor lifts the tail.",),
                   facts)


def f6_fps_sweep(points: list, k: int, paper_peak: float = PAPER_PEAK_FPS,
                 identical: list | None = None) -> Verdict:
    """F6: macro-F1 rises with the sampling rate up to a peak (5 fps in the paper), then falls. ``points``:
    [(fps, Score)] of one condition; ``identical``: pairs of rates whose inputs were the same (said, and the
    later one left out of the rise/fall test)."""
    identical = [tuple(p) for p in (identical or [])]
    drop = {b for a, b in identical}
    pts = sorted((float(f), s) for f, s in points if float(f) not in drop)
    facts = {"identical_inputs": identical}
    if len(pts) < 3 or all(near_chance(s.value, k) for _, s in pts):
        return Verdict("not testable here", ("Near chance at every rate, or fewer than three distinct inputs.",),
                       facts)
    peak_fps, peak = max(pts, key=lambda p: p[1].value)
    plausible = [f for f, s in pts if s.high >= peak.low]  # rates that could be the peak, given the intervals
    rises = peak.low > pts[0][1].high
    falls = peak.low > pts[-1][1].high
    agrees = min(plausible) <= paper_peak <= max(plausible)
    facts.update(peak_fps=peak_fps, plausible_peaks=plausible, rises=rises, falls=falls, agrees=agrees)
    note = (f" Rates with identical inputs: {', '.join(f'{a:g} and {b:g} fps' for a, b in identical)}." if identical
            else "")
    where = f"peak at {peak_fps:g} fps (plausible {min(plausible):g}–{max(plausible):g} fps)"
    if rises and falls and agrees:
        return Verdict("reproduced", (f"A significant rise and fall, {where}, which covers the paper's "
                                      f"{paper_peak:g} fps." + note,), facts)
    if rises or falls:
        shape = "A rise and fall" if rises and falls else "A rise" if rises else "A fall"
        away = "" if agrees else f", away from the paper's {paper_peak:g} fps"
        return Verdict("partly reproduced", (f"{shape}, {where}{away}." + note,), facts)
    return Verdict("not reproduced", (f"No significant rise or fall ({where})." + note,), facts)


def f6_micro_capture(capture_shortest: float, miss_share: float = MISS_SHARE) -> Verdict:
    """F6, analytic: sparse default sampling is misaligned with micro-expressions. ``capture_shortest``: the
    highest probability, over datasets and assumed frame rates, that the commonest VLM default puts a frame
    inside the shortest micro-expression. Exact arithmetic, so there is no interval."""
    missed = 1.0 - capture_shortest
    facts = {"capture": capture_shortest, "missed": missed}
    if not 0.0 <= capture_shortest <= 1.0:
        return Verdict("not testable here", (f"A capture probability of {capture_shortest} is not a probability.",),
                       facts)
    if missed > miss_share:
        return Verdict("reproduced", (f"At least {missed:.0%} of the shortest events contain no sampled frame.",),
                       facts)
    return Verdict("not reproduced", (f"At most {missed:.0%} of the shortest events are missed.",), facts)


def f7_msce(msce: Delta, keyframes: Score, k: int, oracle: Delta | None = None) -> Verdict:
    """F7: keyframes plus a text description of the motion between them (MSCE) beat keyframes alone.
    ``msce``, ``oracle``: macro-F1 with the model's own stage-1 text / with the generator's true motion text,
    minus keyframes alone (paired). Only the model's own text can reproduce the claim."""
    facts = {"msce": msce.value, "oracle": None if oracle is None else oracle.value, "keyframes": keyframes.value}
    if not _usable(keyframes, k):
        return Verdict("not testable here", ("The model is near chance on keyframes alone.",), facts)
    if msce.low > 0:
        return Verdict("reproduced", ("The model's own motion text helps (paired interval above zero).",), facts)
    if oracle is not None and oracle.high <= 0:
        return Verdict("not testable here", ("Even the true motion text does not help: the model cannot use motion "
                                              "text as evidence, so it cannot test whether its own would.",), facts)
    if oracle is not None and oracle.low > 0:
        return Verdict("not reproduced", ("The true motion text helps, the model's own does not: stage 1 is the "
                                          "bottleneck.",), facts)
    return Verdict("not reproduced", ("The model's own motion text does not help.",), facts)
