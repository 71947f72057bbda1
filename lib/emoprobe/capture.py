"""The chance that a frame sampler sees a brief event (a micro-expression), computed exactly.

A micro-expression lasts 0.25-0.5 s: 6-12 frames of a 25 fps clip. Qwen's default 2 fps puts a sampled frame
every 12.5 frames, so a short event is often missed entirely; `capture_probability` gives that chance for any
set of sampled frame indices (the analytic half of finding F6).

Event model (used by every capture function, stated once):
    Time is measured in frames of the clip (``t * fps``); sampled frame ``k`` is the instant ``k`` (its
    timestamp ``k / fps``, as the samplers report). An event of duration ``d`` seconds is the interval
    ``[x, x + D)`` with ``D = d * fps`` (`event_frames`); it *contains* frame ``k`` when ``x <= k < x + D``,
    so it contains ``floor(D)`` or ``ceil(D)`` frames depending on its phase, ``D`` on average. Its start
    ``x`` is uniform over every placement whose contained frames all exist in the clip, which is
    ``x in (-1, T - D]`` for a clip of ``T`` frames. For a whole number ``D = L`` this is *exactly* the
    discrete model "the event occupies ``L`` consecutive frames, starting at one of the ``T - L + 1``
    positions with equal probability" (a start in ``(s - 1, s]`` contains frames ``s .. s + L - 1``), so
    counting positions and integrating over continuous time agree; fractional ``D`` is the same integral.
    An event at least as long as the clip (``D >= T``) contains every frame: it is caught by any sample.
"""

from __future__ import annotations

import math

import numpy as np

from emoprobe.families import _check_frames

__all__ = ["event_frames", "capture_probability", "expected_frames_in_event", "capture_probability_grid",
           "capture_probability_regular"]



def event_frames(duration_s: float, fps: float) -> float:
    """Length of an event of ``duration_s`` seconds in frames of a ``fps`` clip: ``duration_s * fps``.

    Not rounded on purpose: under the module's event model the event contains ``floor`` or ``ceil`` of this
    many frames depending on its phase (``ceil`` with probability equal to the fractional part), and the
    capture functions integrate over that phase exactly. At 25 fps, 0.25 s is 6.25 frames (6 or 7).
    """
    if not (duration_s > 0 and fps > 0):
        raise ValueError(f"duration and fps must be positive, got {duration_s!r}, {fps!r}")
    return float(duration_s) * float(fps)


def _event_intervals(indices, num_frames, event_frames):
    T = _check_frames(num_frames)
    if T < 1:
        raise ValueError("num_frames must be positive")
    D = float(event_frames)
    if not (D > 0 and math.isfinite(D)):
        raise ValueError(f"event_frames must be positive, got {event_frames!r}")
    k = np.unique(np.asarray(indices, dtype=np.int64).ravel())
    if k.size and (k[0] < 0 or k[-1] >= T):
        raise ValueError(f"frame indices must lie in [0, {T - 1}]")
    # Starts x that put frame k inside [x, x + D) form (k - D, k]; clip them to the valid starts (lo, hi].
    lo, hi = -1.0, T - D
    a = np.maximum(k - D, lo)
    b = np.minimum(k.astype(np.float64), hi)
    return k, a, b, hi - lo, D >= T


def capture_probability(indices, num_frames: int, event_frames: float) -> float:
    """Exact probability that at least one sampled frame lies inside a randomly placed event.

    ``indices``: sampled frame indices (duplicates and order do not matter); ``num_frames``: frames in the
    clip; ``event_frames``: event length in frames (`event_frames`; may be fractional). The event start is
    uniform as described in the module docstring; for a whole-number length this equals counting the
    ``T - L + 1`` start positions. Computed as the measure of a union of intervals, O(n log n).
    """
    k, a, b, span, covers_all = _event_intervals(indices, num_frames, event_frames)
    if k.size == 0:
        return 0.0
    if covers_all:
        return 1.0
    # a and b are non-decreasing in k, so each interval only adds the part beyond the previous right end.
    prev_b = np.concatenate(([-np.inf], b[:-1]))
    covered = np.maximum(0.0, b - np.maximum(a, prev_b)).sum()
    return float(min(1.0, covered / span))


def expected_frames_in_event(indices, num_frames: int, event_frames: float) -> float:
    """Mean number of distinct sampled frames inside a randomly placed event (same event model)."""
    k, a, b, span, covers_all = _event_intervals(indices, num_frames, event_frames)
    if covers_all:
        return float(k.size)
    return float(np.maximum(0.0, b - a).sum() / span)


def capture_probability_grid(stride: float, event_frames: float) -> float:
    """Capture probability for samples every ``stride`` frames on an unbounded clip: ``min(1, D / stride)``.

    The limit of `capture_probability` for long clips sampled on a regular grid (random phase). For the
    rounded-linspace grids real samplers produce, use `capture_probability_regular` (exact).
    """
    if not (stride > 0 and event_frames > 0):
        raise ValueError("stride and event_frames must be positive")
    return min(1.0, float(event_frames) / float(stride))


def capture_probability_regular(num_frames: int, num_samples: int, event_frames: float) -> float:
    """Exact closed form of `capture_probability` for ``linspace(0, T-1, n)`` rounded to frames.

    Derivation: the samples include frames 0 and T-1 and every gap is ``q`` or ``q + 1`` frames, with
    ``q, r = divmod(T - 1, n - 1)`` (``r`` gaps of ``q + 1``): rounding moves each point by at most half a
    frame, so a gap lies strictly within one frame of ``(T-1)/(n-1)``. The union of the capturing starts
    ``(k - D, k]`` over (-1, T - D] then measures ``min(D, 1)`` for frame 0, ``min(D, gap)`` for each later
    sample, minus the ``D - 1`` that overshoots T - D after the last frame:

        P = [min(D, 1) + r min(D, q + 1) + (n - 1 - r) min(D, q) - max(0, D - 1)] / (T - D + 1).

    It only depends on the gap counts, so it holds for any rounding mode (half-to-even, half-up, floor as in
    ``np.linspace(..., dtype=int)``) and for ``n > T`` (repeated frames are gaps of 0).
    """
    T = _check_frames(num_frames)
    n = _check_frames(num_samples)
    D = float(event_frames)
    if T < 1 or n < 1 or not D > 0:
        raise ValueError("num_frames, num_samples and event_frames must be positive")
    if D >= T:
        return 1.0
    if n == 1:
        return min(D, 1.0) / (T - D + 1.0)
    q, r = divmod(T - 1, n - 1)
    covered = min(D, 1.0) + r * min(D, q + 1.0) + (n - 1 - r) * min(D, float(q)) - max(0.0, D - 1.0)
    return float(min(1.0, covered / (T - D + 1.0)))
