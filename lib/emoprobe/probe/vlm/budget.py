"""The probe VLM's visual-token budget: how many frames, at which side, an input may have.

Every input costs at most ``visual_tokens`` of the model's own visual tokens; the default (``default_budget``)
is what 8 frames at the full 56 px cost, 16 tokens with the quick profile's patch 14 (64 with the recipe's
patch 7). One merged token covers (patch x 2)^2 px of a frame pair (temporal patch 2), so n frames at side s
cost ceil(n / 2) * (s / (2 * patch))^2 tokens; the side (``frame_side``) is the largest multiple of 2 * patch,
at most 56, that fits (patch 14: 56 px up to 8 frames, 28 px beyond), and at most 2 * budget frames are kept
(``budget_indices``: a longer sample keeps a uniform subset). More frames therefore means fewer pixels per
frame, as a fixed context forces on a real VLM (the paper's abstract: context and token limits).

``MODEL_DEFAULTS`` (the model's shape, used by emoprobe.probe.vlm.build) lives here because the budget's
defaults are its patch and frame sizes; the builder imports it from here, so the two modules form no cycle.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

MODEL_DEFAULTS = {
    "vocab_size": 1024,
    "patch_size": 14,  # 14 rather than 7: the probe-models chapter ("How the recipe was chosen") says why
    "vision_embed": 64,
    "vision_depth": 2,
    "vision_heads": 4,
    "hidden_size": 64,
    "num_layers": 2,
    "num_heads": 4,
    "num_kv_heads": 2,
    "intermediate_size": 128,
    "mrope_section": [2, 3, 3],
    "frame_size": 56,  # the largest frame side the processor keeps (max_pixels = frame_size ** 2)
}
MERGE = 2
TEMPORAL_PATCH = 2


def token_unit(patch_size: int = MODEL_DEFAULTS["patch_size"]) -> int:
    """Pixels per side of one merged visual token (patch x spatial merge)."""
    return int(patch_size) * MERGE


def default_budget(patch_size: int = MODEL_DEFAULTS["patch_size"], frame_size: int = MODEL_DEFAULTS["frame_size"],
                   num_frames: int = 8) -> int:
    """Visual tokens of ``num_frames`` frames at the full side: the probe's default budget."""
    return math.ceil(num_frames / TEMPORAL_PATCH) * (frame_size // token_unit(patch_size)) ** 2


VISUAL_TOKENS = default_budget()  # 16 with patch 14


def patch_of(processor) -> int:
    """The patch size of a Qwen2-VL processor (what the budget is counted in)."""
    return int(processor.video_processor.patch_size)


def frame_side(num_frames: int, visual_tokens: int = VISUAL_TOKENS, max_side: int = MODEL_DEFAULTS["frame_size"],
               patch_size: int = MODEL_DEFAULTS["patch_size"]) -> int:
    """Frame side (px) so that ``num_frames`` frames cost at most ``visual_tokens`` tokens (module docstring)."""
    if num_frames < 1 or visual_tokens < 1:
        raise ValueError(f"frame_side: num_frames and visual_tokens must be >= 1, got {num_frames}, {visual_tokens}")
    unit = token_unit(patch_size)
    pairs = math.ceil(num_frames / TEMPORAL_PATCH)
    cells = max(1, math.isqrt(max(visual_tokens // pairs, 1)))
    return int(max(unit, min(max_side // unit, cells) * unit))


def visual_tokens_of(num_frames: int, side: int, patch_size: int = MODEL_DEFAULTS["patch_size"]) -> int:
    unit = token_unit(patch_size)
    return math.ceil(num_frames / TEMPORAL_PATCH) * (side // unit) ** 2


def max_frames(visual_tokens: int = VISUAL_TOKENS) -> int:
    """The most frames a budget allows (one token per frame pair at the smallest side)."""
    return TEMPORAL_PATCH * int(visual_tokens)


def budget_indices(indices: np.ndarray, visual_tokens: int = VISUAL_TOKENS) -> np.ndarray:
    """A sample's indices, thinned to a uniform subset when it has more frames than the budget allows."""
    indices = np.asarray(indices, dtype=np.int64)
    cap = max_frames(visual_tokens)
    if len(indices) <= cap:
        return indices
    return indices[np.rint(np.linspace(0, len(indices) - 1, cap)).astype(np.int64)]


def fit_budget(frames: np.ndarray, visual_tokens: int = VISUAL_TOKENS, max_side: int = MODEL_DEFAULTS["frame_size"],
               patch_size: int = MODEL_DEFAULTS["patch_size"]) -> np.ndarray:
    """Resize frames (n, H, W, 3) uint8 to the budget's square side (antialiased bilinear)."""
    arr = np.asarray(frames)
    if arr.ndim != 4 or arr.shape[-1] != 3 or arr.dtype != np.uint8:
        raise ValueError(f"frames must be a uint8 array (n, H, W, 3), got {arr.dtype} {arr.shape}")
    side = frame_side(len(arr), visual_tokens, max_side, patch_size)
    if arr.shape[1] == side and arr.shape[2] == side:
        return arr
    x = torch.from_numpy(np.ascontiguousarray(arr)).permute(0, 3, 1, 2).float()
    x = F.interpolate(x, size=(side, side), mode="bilinear", antialias=True, align_corners=False)
    return x.round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).contiguous().numpy()


__all__ = ["MERGE", "MODEL_DEFAULTS", "TEMPORAL_PATCH", "VISUAL_TOKENS", "budget_indices", "default_budget",
           "fit_budget", "frame_side", "max_frames", "patch_of", "token_unit", "visual_tokens_of"]
