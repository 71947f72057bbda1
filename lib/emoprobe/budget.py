"""Visual-token budgets of real VLM families, and the chance that a frame sampler sees a brief event.

The paper's temporal argument (finding F6) has two halves, and this module computes both from first principles:

1. **What a frame costs.** Each family turns a sampled frame into a number of visual tokens by its own rule:
   Qwen2/2.5/3-VL resize every frame to a multiple of 28 (or 32) pixels inside a pixel range that shrinks as
   more frames are sampled, and merge two frames into one token group; InternVL3, LLaVA-OneVision,
   LLaVA-NeXT-Video and Video-LLaVA resize every frame to a fixed square and pool its patches. The numbers
   here are read from the code of qwen-vl-utils 0.0.14 and transformers 5.24.0 (cited per family below) and
   `tests/test_budget.py` checks them against those packages' processors. Only *visual* placeholder tokens
   are counted: per-frame text such as InternVL's ``Frame1: <img>`` or Qwen3-VL's timestamps is left out.
2. **What a sampler misses.** A micro-expression lasts 0.25-0.5 s: 6-12 frames of a 25 fps clip. Qwen's
   default 2 fps puts a sampled frame every 12.5 frames, so a short event is often missed entirely.
   `emoprobe.capture.capture_probability` computes that chance exactly for any set of sampled frame indices.

Results are plain numbers and dicts; the registry `FAMILIES` (emoprobe.families) holds frozen dataclasses of plain parameters,
overridable per call (``visual_tokens("qwen2.5-vl", 480, 640, 16, max_pixels=200_704)``).
"""
from __future__ import annotations

import math
import sys

import numpy as np

from emoprobe.capture import (capture_probability, capture_probability_grid, capture_probability_regular,  # noqa: F401
                              event_frames, expected_frames_in_event)
from emoprobe.families import (FAMILIES, IMAGE_MAX_TOKEN_NUM, IMAGE_MIN_TOKEN_NUM, MAX_RATIO, Family,  # noqa: F401
                               _check_frames, _check_size, get_family, list_families)

__all__ = [
    "FAMILIES", "Family", "get_family", "list_families", "smart_resize", "frame_size", "visual_tokens",
    "visual_tokens_per_frame", "frames_per_context", "default_sample", "clip_budget", "event_frames",
    "capture_probability", "expected_frames_in_event", "capture_probability_grid",
    "capture_probability_regular",
]

# ----------------------------------------------------------------------------------------------------------
# Resize rules (exact copies of the arithmetic, so that every rounding case agrees)
# ----------------------------------------------------------------------------------------------------------

def smart_resize(height: int, width: int, factor: int, min_pixels: int | None = None,
                 max_pixels: int | None = None) -> tuple[int, int]:
    """qwen-vl-utils 0.0.14 ``smart_resize``: sides multiples of ``factor``, area in range, aspect kept.

    Same arithmetic in the same order (Python's ``round`` is half-to-even there too). Note the quirks we keep
    on purpose: the ``max(factor, ...)`` guard applies only before scaling, so a very elongated frame that
    must shrink can get a side of 0; and the area can end slightly outside ``[min_pixels, max_pixels]``.
    """
    max_pixels = max_pixels if max_pixels is not None else (IMAGE_MAX_TOKEN_NUM * factor ** 2)
    min_pixels = min_pixels if min_pixels is not None else (IMAGE_MIN_TOKEN_NUM * factor ** 2)
    if max_pixels < min_pixels:
        raise ValueError("The max_pixels of image must be greater than or equal to min_pixels.")
    if max(height, width) / min(height, width) > MAX_RATIO:
        raise ValueError(f"absolute aspect ratio must be smaller than {MAX_RATIO}, "
                         f"got {max(height, width) / min(height, width)}")
    h_bar = max(factor, round(height / factor) * factor)
    w_bar = max(factor, round(width / factor) * factor)
    if h_bar * w_bar > max_pixels:
        beta = math.sqrt((height * width) / max_pixels)
        h_bar = math.floor(height / beta / factor) * factor
        w_bar = math.floor(width / beta / factor) * factor
    elif h_bar * w_bar < min_pixels:
        beta = math.sqrt(min_pixels / (height * width))
        h_bar = math.ceil(height * beta / factor) * factor
        w_bar = math.ceil(width * beta / factor) * factor
    return h_bar, w_bar


def _smart_resize_many(height, width, factor, min_pixels, max_pixels: np.ndarray):
    # `smart_resize` over an array of max_pixels (one per frame count), same float operations.
    max_pixels = np.asarray(max_pixels, dtype=np.float64)
    if max(height, width) / min(height, width) > MAX_RATIO:
        raise ValueError(f"absolute aspect ratio must be smaller than {MAX_RATIO}")
    h0 = max(factor, round(height / factor) * factor)
    w0 = max(factor, round(width / factor) * factor)
    h = np.full(max_pixels.shape, h0, dtype=np.int64)
    w = np.full(max_pixels.shape, w0, dtype=np.int64)
    shrink = h0 * w0 > max_pixels
    if shrink.any():
        beta = np.sqrt((height * width) / max_pixels[shrink])
        h[shrink] = np.floor(height / beta / factor).astype(np.int64) * factor
        w[shrink] = np.floor(width / beta / factor).astype(np.int64) * factor
    grow = ~shrink & (h0 * w0 < min_pixels)
    if grow.any():
        beta = math.sqrt(min_pixels / (height * width))
        h[grow] = math.ceil(height * beta / factor) * factor
        w[grow] = math.ceil(width * beta / factor) * factor
    return h, w


def _hf_frame_smart_resize(height, width, factor, min_pixels, max_pixels):
    # transformers 5.24.0 models/qwen2_vl/video_processing_qwen2_vl.py `smart_resize` (per frame).
    if max(height, width) / min(height, width) > 200:
        raise ValueError(f"absolute aspect ratio must be smaller than 200, "
                         f"got {max(height, width) / min(height, width)}")
    h_bar = round(height / factor) * factor
    w_bar = round(width / factor) * factor
    if h_bar * w_bar > max_pixels:
        beta = math.sqrt((height * width) / max_pixels)
        h_bar = max(factor, math.floor(height / beta / factor) * factor)
        w_bar = max(factor, math.floor(width / beta / factor) * factor)
    elif h_bar * w_bar < min_pixels:
        beta = math.sqrt(min_pixels / (height * width))
        h_bar = math.ceil(height * beta / factor) * factor
        w_bar = math.ceil(width * beta / factor) * factor
    return h_bar, w_bar


def _upscaled(height, width, factor):
    # the first steps of the processors' smart_resize: a side below one patch is scaled up, keeping the aspect
    if height < factor or width < factor:
        scale = max(factor / height, factor / width)
        height = int(height * scale)
        width = int(width * scale)
    if max(height, width) / min(height, width) > 200:
        raise ValueError(f"absolute aspect ratio must be smaller than 200, "
                         f"got {max(height, width) / min(height, width)}")
    return height, width


def _hf_video_smart_resize(num_frames, height, width, temporal_factor, factor, min_pixels, max_pixels):
    # transformers 5.24.0 models/qwen3_vl/video_processing_qwen3_vl.py `smart_resize`: the pixel range bounds
    # the whole video (frames x height x width), with the frame count rounded half-to-even to pairs.
    if num_frames < temporal_factor:
        raise ValueError(f"t:{num_frames} must be larger than temporal_factor:{temporal_factor}")
    height, width = _upscaled(height, width, factor)
    h_bar = round(height / factor) * factor
    w_bar = round(width / factor) * factor
    t_bar = round(num_frames / temporal_factor) * temporal_factor
    if t_bar * h_bar * w_bar > max_pixels:
        beta = math.sqrt((num_frames * height * width) / max_pixels)
        h_bar = max(factor, math.floor(height / beta / factor) * factor)
        w_bar = max(factor, math.floor(width / beta / factor) * factor)
    elif t_bar * h_bar * w_bar < min_pixels:
        beta = math.sqrt(min_pixels / (num_frames * height * width))
        h_bar = math.ceil(height * beta / factor) * factor
        w_bar = math.ceil(width * beta / factor) * factor
    return h_bar, w_bar


def _hf_video_smart_resize_many(num_frames: np.ndarray, height, width, temporal_factor, factor, min_pixels,
                                max_pixels):
    # `_hf_video_smart_resize` for an array of frame counts (all >= temporal_factor are exact; smaller
    # counts, which the processor refuses, get a placeholder size).
    n = np.asarray(num_frames, dtype=np.int64)
    height, width = _upscaled(height, width, factor)
    h0 = round(height / factor) * factor
    w0 = round(width / factor) * factor
    t_bar = np.round(n / temporal_factor).astype(np.int64) * temporal_factor  # half-to-even, like round()
    h = np.full(n.shape, h0, dtype=np.int64)
    w = np.full(n.shape, w0, dtype=np.int64)
    vol = t_bar * (h0 * w0)
    shrink = vol > max_pixels
    if shrink.any():
        beta = np.sqrt((n[shrink] * height * width) / max_pixels)
        h[shrink] = np.maximum(factor, np.floor(height / beta / factor).astype(np.int64) * factor)
        w[shrink] = np.maximum(factor, np.floor(width / beta / factor).astype(np.int64) * factor)
    grow = ~shrink & (vol < min_pixels)
    if grow.any():
        beta = np.sqrt(min_pixels / (n[grow] * height * width))
        h[grow] = np.ceil(height * beta / factor).astype(np.int64) * factor
        w[grow] = np.ceil(width * beta / factor).astype(np.int64) * factor
    return h, w


def _padded(fam: Family, num_frames: int) -> int:
    # Both qwen-vl-utils (list of frames) and the HF processors (patchify) repeat the last frame up to a
    # whole temporal patch.
    t = fam.temporal_patch_size
    return -(-num_frames // t) * t


def _qwen_limits(fam: Family):
    f = fam.factor
    min_px = fam.min_pixels if fam.min_pixels is not None else fam.video_min_token_num * f * f
    # Same expression order as fetch_video: MODEL_SEQ_LEN * image_factor * image_factor * 0.9.
    total = fam.total_pixels if fam.total_pixels is not None else fam.model_seq_len * f * f * fam.total_pixels_fraction
    return min_px, fam.video_max_token_num * f * f, total


def _qwen_max_pixels(fam: Family, n_padded):
    # fetch_video: max(min(VIDEO_FRAME_MAX_PIXELS, total_pixels / nframes * FRAME_FACTOR), int(min * 1.05)),
    # then a caller's max_pixels can only lower it.
    min_px, frame_max, total = _qwen_limits(fam)
    n = np.asarray(n_padded, dtype=np.float64)
    mx = np.maximum(np.minimum(frame_max, total / n * fam.frame_factor), int(min_px * 1.05))
    if fam.max_pixels is not None:
        mx = np.minimum(fam.max_pixels, mx)
    return mx


def frame_size(family: str | Family, height: int, width: int, num_frames: int | None = None,
               **overrides) -> tuple[int, int]:
    """The (height, width) each frame is resized to before patching, for a clip of ``num_frames`` frames.

    ``num_frames=None`` means a short clip (one temporal patch): the whole-video budget does not bind.
    """
    fam = get_family(family, **overrides)
    _check_size(height, width)
    if fam.kind == "fixed":
        return fam.input_size, fam.input_size
    n = fam.temporal_patch_size if num_frames is None else _check_frames(num_frames)
    if n == 0:
        raise ValueError("num_frames must be positive")
    f = fam.factor
    if fam.pipeline == "qwen-vl-utils":
        min_px = _qwen_limits(fam)[0]
        max_px = float(_qwen_max_pixels(fam, _padded(fam, n)))
        return smart_resize(height, width, f, min_px, max_px)
    if fam.hf_size_scope == "frame":
        return _hf_frame_smart_resize(height, width, f, fam.hf_min_pixels, fam.hf_max_pixels)
    return _hf_video_smart_resize(n, height, width, fam.temporal_patch_size, f, fam.hf_min_pixels,
                                  fam.hf_max_pixels)


def visual_tokens(family: str | Family, height: int, width: int, num_frames: int, **overrides) -> int:
    """Visual tokens of a clip of ``num_frames`` sampled frames of ``height`` x ``width`` pixels.

    Qwen families: the frame count is padded to a whole temporal patch (5 frames cost as much as 6), each
    frame is resized by `frame_size`, and one token covers ``factor x factor`` pixels of a *pair* of frames.
    Fixed families: ``num_frames * tokens_per_frame + tokens_per_video``, whatever the input resolution.
    """
    fam = get_family(family, **overrides)
    n = _check_frames(num_frames)
    if n == 0:
        return 0
    if fam.kind == "fixed":
        _check_size(height, width)
        return n * fam.tokens_per_frame + fam.tokens_per_video
    h, w = frame_size(fam, height, width, n)
    groups = _padded(fam, n) // fam.temporal_patch_size
    return groups * (h // fam.factor) * (w // fam.factor)


def visual_tokens_per_frame(family: str | Family, height: int, width: int, num_frames: int | None = None,
                            **overrides) -> float:
    """Average visual tokens per sampled frame.

    With ``num_frames`` this is ``visual_tokens(...) / num_frames`` (so it includes the even-count padding of
    Qwen and LLaVA-OneVision's one newline per video). Without it, the marginal cost of a frame in a short
    clip: Qwen's cost of one frame pair halved (no whole-video cap), a fixed family's ``tokens_per_frame``.
    """
    fam = get_family(family, **overrides)
    if num_frames is not None:
        n = _check_frames(num_frames)
        if n == 0:
            raise ValueError("num_frames must be positive")
        return visual_tokens(fam, height, width, n) / n
    if fam.kind == "fixed":
        _check_size(height, width)
        return float(fam.tokens_per_frame)
    t = fam.temporal_patch_size
    return visual_tokens(fam, height, width, t) / t


def _tokens_many(fam: Family, height: int, width: int, n: np.ndarray) -> np.ndarray:
    # visual_tokens for every frame count in `n` at once (frames_per_context scans them all).
    if fam.kind == "fixed":
        return n * fam.tokens_per_frame + fam.tokens_per_video
    t = fam.temporal_patch_size
    padded = -(-n // t) * t
    f = fam.factor
    if fam.pipeline == "qwen-vl-utils":
        h, w = _smart_resize_many(height, width, f, _qwen_limits(fam)[0], _qwen_max_pixels(fam, padded))
    elif fam.hf_size_scope == "frame":
        hw = _hf_frame_smart_resize(height, width, f, fam.hf_min_pixels, fam.hf_max_pixels)
        h, w = np.full(n.shape, hw[0]), np.full(n.shape, hw[1])
    else:
        h, w = _hf_video_smart_resize_many(n, height, width, t, f, fam.hf_min_pixels, fam.hf_max_pixels)
        # the processor refuses a single frame; never count it as fitting
        return np.where(n < t, np.iinfo(np.int64).max, (padded // t) * (h // f) * (w // f))
    return (padded // t) * (h // f) * (w // f)


def frames_per_context(family: str | Family, height: int, width: int, context_tokens: int,
                       reserved_tokens: int = 0, **overrides) -> int:
    """The largest number of sampled frames whose visual tokens fit in ``context_tokens - reserved_tokens``.

    Qwen's cost is not monotone in the frame count (more frames shrink each frame under the whole-video
    budget, and an odd count costs as much as the next even one), so every count is evaluated, up to the
    point where even the cheapest possible frame pair (one token) no longer fits.
    """
    fam = get_family(family, **overrides)
    budget = int(context_tokens) - int(reserved_tokens)
    _check_size(height, width)
    if budget <= 0:
        return 0
    if fam.kind == "fixed":
        return max(0, (budget - fam.tokens_per_video) // fam.tokens_per_frame)
    # A frame pair costs at least one token, so no count beyond this can fit.
    upper = fam.temporal_patch_size * (budget + 1)
    n = np.arange(1, upper + 1, dtype=np.int64)
    fits = np.nonzero(_tokens_many(fam, height, width, n) <= budget)[0]
    return int(n[fits[-1]]) if fits.size else 0


# ----------------------------------------------------------------------------------------------------------
# Default sampling
# ----------------------------------------------------------------------------------------------------------

def default_sample(family: str | Family, num_frames: int, fps: float, **overrides):
    """The frames the family's default sampler picks from a clip (a `FrameSample` from emoprobe.samplers)."""
    from emoprobe.samplers import make_sampler

    fam = get_family(family, **overrides)
    return make_sampler(fam.sampler, **dict(fam.sampler_params)).sample(num_frames, fps)


def clip_budget(family: str | Family, height: int, width: int, num_frames: int, fps: float,
                event_durations_s=(0.25, 0.5), **overrides) -> dict:
    """One row of the F6 table: what a family's default sampling spends on a clip, and what it can catch."""
    fam = get_family(family, **overrides)
    sample = default_sample(fam, num_frames, fps)
    n = len(sample.indices)
    tokens = visual_tokens(fam, height, width, n)
    row = {
        "family": fam.name, "pipeline": fam.pipeline if fam.kind == "dynamic" else None,
        "sampler": fam.sampler, "sampler_params": dict(fam.sampler_params),
        "clip_frames": int(num_frames), "clip_fps": float(fps), "height": int(height), "width": int(width),
        "sampled_frames": n, "frame_indices": [int(i) for i in sample.indices],
        "effective_fps": n / num_frames * fps, "frame_size": list(frame_size(fam, height, width, n)),
        "visual_tokens": tokens, "tokens_per_frame": tokens / n,
    }
    for d in event_durations_s:
        D = event_frames(d, fps)
        row[f"capture_{d:g}s"] = capture_probability(sample.indices, num_frames, D)
        row[f"frames_in_event_{d:g}s"] = expected_frames_in_event(sample.indices, num_frames, D)
    return row


# ----------------------------------------------------------------------------------------------------------
# Command line: `emoprobe budget`
# ----------------------------------------------------------------------------------------------------------

def _run_command(args) -> int:
    import json

    families = args.family or list_families()
    rows = []
    try:
        for fam in families:
            row = clip_budget(fam, args.height, args.width, args.frames, args.fps,
                              event_durations_s=tuple(args.event))
            rows.append(row)
    except ValueError as err:
        print(f"budget: error: {err}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    print(f"clip: {args.frames} frames at {args.fps:g} fps ({args.frames / args.fps:.2f} s), "
          f"{args.width}x{args.height} px; each family's default sampling")
    head = f"{'family':<18}{'sampler':<16}{'frames':>7}{'tokens':>9}{'tok/frame':>10}"
    head += "".join(f"{'P(' + format(d, 'g') + ' s)':>10}" for d in args.event)
    print(head)
    for r in rows:
        line = f"{r['family']:<18}{r['sampler']:<16}{r['sampled_frames']:>7}{r['visual_tokens']:>9}" \
               f"{r['tokens_per_frame']:>10.1f}"
        line += "".join(f"{r[f'capture_{d:g}s']:>10.2f}" for d in args.event)
        print(line)
    print("P(d s): probability that at least one sampled frame lies inside an event of d seconds placed "
          "uniformly at random in the clip")
    return 0


def add_command(sub) -> None:
    p = sub.add_parser("budget", help="visual tokens and event-capture probability of each VLM's default sampling")
    p.add_argument("--family", nargs="+", choices=list_families(), help="families (default: all)")
    p.add_argument("--frames", type=int, default=70, help="frames in the clip (default 70, DFEW's median)")
    p.add_argument("--fps", type=float, default=25.0, help="clip frame rate (default 25)")
    p.add_argument("--height", type=int, default=224)
    p.add_argument("--width", type=int, default=224)
    p.add_argument("--event", type=float, nargs="+", default=[0.25, 0.5], metavar="SECONDS",
                   help="event durations for the capture probability (default 0.25 0.5)")
    p.add_argument("--json", action="store_true", help="print the rows as JSON")
    p.set_defaults(func=_run_command)
