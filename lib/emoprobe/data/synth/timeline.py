"""Per-frame action-unit intensities for one clip: the expression event plus distractors.

Event kinds (recorded with every clip so experiments can ask "did the sampled frames catch it?"):
- ``macro``: onset -> apex (held) -> offset, the whole event lasting 0.5-4 s (Wikipedia, "Microexpression":
  emotions typically last 0.5-4 s), placed inside the clip (shortened to the clip when the clip is shorter).
- ``micro``: the whole onset-apex-offset lasts 0.25-0.5 s (the paper's range, `micro_seconds`), over a
  neutral face or a *masking* face (a weaker different expression held through the clip, which the micro
  event briefly replaces).
- ``trajectory``: the class is the change itself (aus.TRAJECTORY_CLASSES): e.g. disappointment, a smile that
  collapses into a downturned, pressed mouth.
- ``none``: neutral clips have no event (all times are None).

Times: ``onset`` is where movement starts, ``apex`` the middle of the peak (``apex_start``/``apex_end`` bound
the hold), ``offset`` where the face is back at its baseline; each in seconds and as a frame index
(round(time * fps), clipped to the clip).

Distractors (all on by default, each switchable in `NUISANCE_DEFAULTS`): blinks (AU45), talking (AU25/26
oscillating at syllable rate), small idle AU drift, head jitter, lighting drift with an occasional sudden
change, and pixel noise. The recorded `aus` are what was rendered, distractors included.
"""

from __future__ import annotations

import numpy as np

from .aus import AU_INDEX, AU_NAMES, BLINK_RATE_OVERRIDE, TRAJECTORY_CLASSES, au_vector, prototype_variants

KINDS = ("macro", "micro", "trajectory", "none")
MACRO_SECONDS = (0.5, 4.0)
MICRO_SECONDS = (0.25, 0.5)

NUISANCE_DEFAULTS = {
    "blink_rate": 0.3,  # blinks per second (people blink roughly every 3-4 s)
    "talk_probability": 0.25,  # share of clips where the person talks throughout
    "idle": 0.06,  # amplitude of slow random AU drift
    "jitter": 0.015,  # head jitter, fraction of the frame size (std of the drift)
    "lighting": 0.06,  # slow brightness drift (std of the gain)
    "lighting_change_probability": 0.15,  # a sudden brightness step somewhere in the clip
    "side_light": 0.5,  # max strength of a left-right lighting gradient
    "noise": (0.0, 5.0),  # pixel-noise std range (0..255)
}

# Masking faces for micro-expressions: a held, weaker expression the micro event briefly replaces.
MASKS = {"smile": {"AU6": 0.3, "AU12": 0.6}, "neutral": {}}


def _smooth(rng, t, step, amplitude, dims=1):
    """Slow random drift: random values every `step` seconds, interpolated linearly (bounded, cheap)."""
    knots = np.arange(-step, (t[-1] if len(t) else 0) + 2 * step, step)
    vals = rng.standard_normal((dims, len(knots))) * amplitude
    return np.stack([np.interp(t, knots, v) for v in vals], axis=1)


def _ramp(x):
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3 - 2 * x)  # smoothstep: muscles accelerate and decelerate


def envelope(t, onset, apex_start, apex_end, offset):
    """0 before onset, smooth rise to 1 at apex_start, 1 until apex_end, smooth fall to 0 at offset."""
    rise = _ramp((t - onset) / max(apex_start - onset, 1e-6))
    fall = 1.0 - _ramp((t - apex_end) / max(offset - apex_end, 1e-6))
    return np.where(t < apex_start, rise, np.where(t <= apex_end, 1.0, fall)) * (t >= onset) * (t <= offset)


def _event_times(rng, duration, total, rise_frac, fall_frac):
    total = min(total, duration)
    onset = rng.uniform(0.0, max(duration - total, 0.0))
    rise, fall = total * rise_frac, total * fall_frac
    return onset, onset + rise, onset + total - fall, onset + total


def _frame(x, fps, n):
    return None if x is None else int(min(max(round(x * fps), 0), n - 1))


def make_timeline(label, kind=None, num_frames=50, fps=25.0, seed=0, intensity=None, variant=None,
                  macro_seconds=MACRO_SECONDS, micro_seconds=MICRO_SECONDS, mask=None, mask_probability=0.5,
                  nuisance=True, **nuisance_options) -> dict:
    """AU intensities for every frame of one clip, the event's times and the distractors' parameters.

    Parameters
    ----------
    label : class name (any dataset's wording; see aus.prototype_variants).
    kind : "macro", "micro", "trajectory", "none" or None (None: "none" for neutral, "trajectory" for
        aus.TRAJECTORY_CLASSES, else "macro"). Neutral is always "none"; trajectory classes are always
        "trajectory".
    intensity : apex scale (default: uniform 0.75..1.0 for macro and trajectory, 1.0 for micro, which
        the probe's trainings measured here suggest keeping at full contrast).
    variant : index into the class's prototype variants (default: random).
    mask : micro only: "smile", "neutral" or None (random with `mask_probability` of a smile mask, never a
        smile over a happy event).
    nuisance : False turns every distractor off (a clean clip); `nuisance_options` override
        NUISANCE_DEFAULTS.

    Returns a dict: aus (num_frames x len(AU_NAMES) float32), event (plain dict), nuisance (plain dict plus
    per-frame arrays shift, gain, side_light and the scalar noise).
    """
    if num_frames < 1:
        raise ValueError(f"num_frames: expected at least 1, got {num_frames}")
    if fps <= 0:
        raise ValueError(f"fps: expected a positive frame rate, got {fps}")
    unknown = set(nuisance_options) - set(NUISANCE_DEFAULTS)
    if unknown:
        raise ValueError(f"unknown nuisance options {sorted(unknown)}; expected some of {sorted(NUISANCE_DEFAULTS)}")
    rng = np.random.default_rng(seed)
    label = label.strip().lower()
    variants = prototype_variants(label)
    is_neutral = not any(variants[0].values())
    if is_neutral:
        kind = "none"
    elif label in TRAJECTORY_CLASSES:
        kind = "trajectory"
    elif kind is None:
        kind = "macro"
    if kind not in KINDS:
        raise ValueError(f"kind: expected one of {KINDS}, got {kind!r}")
    if kind in ("none", "trajectory") and kind != ("none" if is_neutral else "trajectory"):
        raise ValueError(f"kind {kind!r} does not fit class {label!r}")

    n = int(num_frames)
    t = np.arange(n) / fps
    duration = n / fps
    vi = int(rng.integers(len(variants))) if variant is None else int(variant)
    proto = variants[vi]
    # per-clip variation of the prototype: each AU's apex intensity jitters by +-15 %
    proto = {k: float(np.clip(v * rng.uniform(0.85, 1.15), 0, 1)) for k, v in proto.items()}
    aus = np.zeros((n, len(AU_NAMES)), np.float32)
    event = {"kind": kind, "variant": vi, "prototype": proto, "mask": None}
    times = dict(onset_s=None, apex_start_s=None, apex_s=None, apex_end_s=None, offset_s=None)

    if kind == "macro":
        amp = rng.uniform(0.75, 1.0) if intensity is None else float(intensity)
        on, a0, a1, off = _event_times(rng, duration, rng.uniform(*macro_seconds), rng.uniform(0.2, 0.35),
                                       rng.uniform(0.2, 0.35))
        env = envelope(t, on, a0, a1, off)
        aus += env[:, None] * au_vector(proto)[None] * amp
        times.update(onset_s=on, apex_start_s=a0, apex_end_s=a1, offset_s=off)
    elif kind == "micro":
        amp = 1.0 if intensity is None else float(intensity)
        if mask is None:
            mask = "smile" if (label not in ("happy", "happiness") and rng.random() < mask_probability) else "neutral"
        if mask not in MASKS:
            raise ValueError(f"mask: expected one of {sorted(MASKS)}, got {mask!r}")
        on, a0, a1, off = _event_times(rng, duration, rng.uniform(*micro_seconds), 0.4, 0.4)
        env = envelope(t, on, a0, a1, off)[:, None]
        base = au_vector(MASKS[mask])[None] * rng.uniform(0.7, 1.0)
        aus += base * (1 - env) + env * au_vector(proto)[None] * amp
        event["mask"] = mask
        times.update(onset_s=on, apex_start_s=a0, apex_end_s=a1, offset_s=off)
    elif kind == "trajectory":
        amp = rng.uniform(0.8, 1.0) if intensity is None else float(intensity)
        start = TRAJECTORY_CLASSES[label]
        total = min(rng.uniform(max(1.0, macro_seconds[0]), max(macro_seconds[1], 1.0)), duration)
        on = rng.uniform(0.0, max(duration - total, 0.0))
        # smile rises (20 %), holds (20 %), collapses into the final state (25 %), which holds to the end
        s_peak, s_end, f_peak = on + 0.2 * total, on + 0.4 * total, on + 0.65 * total
        off = on + total
        smile = envelope(t, on, s_peak, s_end, f_peak)
        final = _ramp((t - s_end) / (f_peak - s_end)) * (t >= s_end) * (t <= off)
        aus += amp * (smile[:, None] * au_vector(start)[None] + final[:, None] * au_vector(proto)[None])
        event["phases"] = [{"aus": start, "start_s": on, "peak_s": s_peak, "end_s": f_peak},
                           {"aus": proto, "start_s": s_end, "peak_s": f_peak, "end_s": off}]
        # the class-defining state is the final one: its peak is the apex
        times.update(onset_s=on, apex_start_s=f_peak, apex_end_s=off, offset_s=off)
    else:
        amp = 0.0
    if times["apex_start_s"] is not None:
        times["apex_s"] = 0.5 * (times["apex_start_s"] + times["apex_end_s"])
    event["intensity"] = float(amp)
    for key, value in list(times.items()):
        event[key] = None if value is None else round(float(value), 4)
        event[key[:-2] + "_frame"] = _frame(value, fps, n)
    event["duration_s"] = (None if times["onset_s"] is None
                           else round(float(times["offset_s"] - times["onset_s"]), 4))

    opts = dict(NUISANCE_DEFAULTS, **nuisance_options)
    info = {"talking": False, "blinks_s": [], "lighting_change_s": None}
    shift = gain = side = None
    noise = 0.0
    if nuisance:
        nrng = np.random.default_rng([seed, 1])  # separate stream: toggling nuisances keeps the event fixed
        # idle drift on every AU (kept small so it does not mimic an expression)
        aus += np.abs(_smooth(nrng, t, 0.7, opts["idle"], dims=len(AU_NAMES))).astype(np.float32)
        rate = BLINK_RATE_OVERRIDE.get(label, opts["blink_rate"])
        n_blinks = nrng.poisson(rate * duration)
        for b in np.sort(nrng.uniform(0, duration, n_blinks)):
            length = nrng.uniform(0.12, 0.25)
            blink = envelope(t, b, b + 0.4 * length, b + 0.5 * length, b + length)
            aus[:, AU_INDEX["AU45"]] = np.maximum(aus[:, AU_INDEX["AU45"]], blink)
            info["blinks_s"].append(round(float(b), 4))
        if nrng.random() < opts["talk_probability"]:
            freq, phase = nrng.uniform(3.0, 5.0), nrng.uniform(0, 2 * np.pi)
            syllable = np.maximum(0.0, np.sin(2 * np.pi * freq * t + phase)) * (0.6 + 0.4 * nrng.random(n))
            aus[:, AU_INDEX["AU25"]] += 0.8 * syllable
            aus[:, AU_INDEX["AU26"]] += 0.3 * syllable
            info["talking"] = True
            info["talk_hz"] = round(float(freq), 3)
        shift = _smooth(nrng, t, 0.4, opts["jitter"], dims=2)  # fraction of the frame; render scales by size
        gain = 1.0 + _smooth(nrng, t, 1.0, opts["lighting"])[:, 0]
        if nrng.random() < opts["lighting_change_probability"]:
            when = nrng.uniform(0, duration)
            gain = gain * np.where(t >= when, nrng.choice([0.8, 1.2]), 1.0)
            info["lighting_change_s"] = round(float(when), 4)
        side = nrng.uniform(-1, 1) * opts["side_light"] + _smooth(nrng, t, 1.0, 0.1)[:, 0]
        noise = float(nrng.uniform(*opts["noise"]))
    np.clip(aus, 0.0, 1.0, out=aus)
    info["noise"] = round(noise, 4)
    return {"aus": aus, "event": event, "nuisance": info, "shift": shift, "gain": gain, "side_light": side,
            "noise": noise}
