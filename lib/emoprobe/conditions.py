"""Test-time conditions applied between decoding and the backend, the same for every model.

- **Frame shuffling** (finding F2) happens in the sampler (``shuffle=True``: a permutation per clip). What the
  model is then *told* about time is a choice: we present the shuffled frames as an ordinary video, with the
  sorted timestamps of the sample (``presented_times``). A model that prints or embeds timestamps (Qwen3-VL
  writes ``<t seconds>`` before each frame, Qwen2.5-VL derives temporal position ids from them) therefore
  sees a well-formed clip whose content is out of order, rather than out-of-order timestamps that would
  reveal the true order. The row keeps the true indices, so the choice can be audited.
- **A fixed visual-token budget** (``fit_budget``, the control the paper's fps sweep lacks): every input
  costs at most ``visual_tokens`` of the model's own visual tokens, whatever the number of frames. For
  dynamic-resolution families (Qwen2/2.5/3-VL) frames are thinned to at most ``temporal_patch x budget``
  (one token per frame group) and resized to the largest multiple of the family's token size that fits
  ``budget / groups`` tokens per group, never above the decoded size; for fixed-size families (InternVL,
  LLaVA-*) every frame costs the same, so the budget only limits the number of frames. The rule reads the
  family's numbers from `emoprobe.budget` (the backend may override them with its processor's own, e.g. a
  tiny checkpoint's patch size).
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["presented_times", "budget_plan", "fit_budget", "resize_frames"]


def presented_times(indices, time_of: dict) -> tuple[list[int], list[float]]:
    """The indices and timestamps (``time_of``: index -> seconds) a model is told for a shuffled sample:
    the same frames' times in sorted order."""
    idx = sorted(int(i) for i in indices)
    return idx, [round(float(time_of[i]), 6) for i in idx]


def _thin(n: int, cap: int) -> np.ndarray:
    """Positions of a uniform subset of ``cap`` out of ``n`` items (all of them when n <= cap)."""
    if n <= cap:
        return np.arange(n)
    return np.rint(np.linspace(0, n - 1, cap)).astype(np.int64)


def budget_plan(family, num_frames: int, height: int, width: int, visual_tokens: int) -> dict:
    """Which of ``num_frames`` frames to keep (positions) and the (height, width) to resize them to, so that
    the input costs at most ``visual_tokens`` tokens of ``family`` (an emoprobe.budget.Family)."""
    from emoprobe.budget import visual_tokens as count

    if not (isinstance(visual_tokens, (int, np.integer)) and visual_tokens >= 1):
        raise ValueError(f"visual_tokens: expected a positive number of tokens, got {visual_tokens!r}")
    if num_frames < 1:
        raise ValueError("budget_plan: the sample has no frames")
    if family.kind == "fixed":
        per_frame = family.tokens_per_frame
        cap = (int(visual_tokens) - family.tokens_per_video) // per_frame
        if cap < 1:
            raise ValueError(f"visual_tokens={visual_tokens}: one frame of {family.name} costs "
                             f"{per_frame + family.tokens_per_video} tokens")
        keep = _thin(num_frames, cap)
        return {"keep": keep, "size": (int(height), int(width)), "tokens": count(family, height, width, len(keep))}
    f, t = family.factor, family.temporal_patch_size
    keep = _thin(num_frames, t * int(visual_tokens))
    groups = math.ceil(len(keep) / t)
    cells = max(1, int(visual_tokens) // groups)
    scale = min(1.0, math.sqrt(cells * f * f / (height * width)))
    h, w = max(f, int(height * scale) // f * f), max(f, int(width * scale) // f * f)
    while (h // f) * (w // f) > cells:  # rounding kept too much: shrink the longer side
        if h >= w and h > f:
            h -= f
        elif w > f:
            w -= f
        else:
            break
    return {"keep": keep, "size": (h, w), "tokens": groups * (h // f) * (w // f)}


def resize_frames(frames: np.ndarray, height: int, width: int) -> np.ndarray:
    """(n, H, W, 3) uint8 -> (n, height, width, 3) uint8, antialiased bilinear (the probe's training resize)."""
    arr = np.asarray(frames)
    if arr.shape[1] == height and arr.shape[2] == width:
        return arr
    import torch
    import torch.nn.functional as F

    x = torch.from_numpy(np.ascontiguousarray(arr)).permute(0, 3, 1, 2).float()
    x = F.interpolate(x, size=(int(height), int(width)), mode="bilinear", antialias=True, align_corners=False)
    return x.round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).contiguous().numpy()


def fit_budget(frames: np.ndarray, family, visual_tokens: int) -> tuple[np.ndarray, np.ndarray, dict]:
    """(frames kept and resized, their positions in the input, the plan) under a fixed visual-token budget."""
    arr = np.asarray(frames)
    plan = budget_plan(family, len(arr), arr.shape[1], arr.shape[2], visual_tokens)
    kept = arr[plan["keep"]]
    if family.kind != "fixed":
        kept = resize_frames(kept, *plan["size"])
    return kept, plan["keep"], plan
