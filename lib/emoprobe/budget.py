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
   `capture_probability` computes that chance exactly for any set of sampled frame indices.

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

Two pipelines for the Qwen families, because they really differ: ``pipeline="qwen-vl-utils"`` (default; what
the model cards use) decodes a file, samples with ``smart_nframes`` and resizes each frame under a per-frame
share of a whole-video budget; ``pipeline="transformers"`` is the HF video processor as loaded from the hub
(Qwen2/2.5-VL: the image config's 3136..12845056 px per frame, no whole-video cap; Qwen3-VL: a 4096..25165824
px range over the *whole* video). Not modelled: qwen-vl-utils 0.0.14's list-of-frames input first resizes each
frame to multiples of 56 px (it passes the 28-px factor as a patch size to ``fetch_image``), and
transformers' ``cap_pixels_per_frame=True`` divides by the unpadded count for odd frame counts.

Results are plain numbers and dicts; the registry `FAMILIES` holds frozen dataclasses of plain parameters,
overridable per call (``visual_tokens("qwen2.5-vl", 480, 640, 16, max_pixels=200_704)``).
"""

from __future__ import annotations

import sys

import dataclasses
import math
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping

import numpy as np

__all__ = [
    "FAMILIES", "Family", "get_family", "list_families", "smart_resize", "frame_size", "visual_tokens",
    "visual_tokens_per_frame", "frames_per_context", "default_sample", "clip_budget", "event_frames",
    "capture_probability", "expected_frames_in_event", "capture_probability_grid",
    "capture_probability_regular",
]

# qwen-vl-utils 0.0.14 `vision_process.py` constants. Its `smart_resize` raises beyond this aspect ratio.
MAX_RATIO = 200
IMAGE_MIN_TOKEN_NUM = 4
IMAGE_MAX_TOKEN_NUM = 16384

PIPELINES = ("qwen-vl-utils", "transformers")


@dataclass(frozen=True)
class Family:
    """How one VLM family turns video frames into visual tokens, and how it samples frames by default.

    ``kind`` is ``"dynamic"`` (Qwen: per-frame resize by `smart_resize`, two frames per token group) or
    ``"fixed"`` (every frame resized to ``input_size`` squared, then pooled). Dynamic-family fields mirror
    the names of qwen-vl-utils 0.0.14; ``min_pixels``/``max_pixels``/``total_pixels`` left at ``None`` take
    that library's defaults, exactly as leaving them out of a qwen-vl-utils message does.
    """

    name: str
    kind: str
    checkpoints: tuple
    patch_size: int
    # ---- dynamic (Qwen) resize ----
    merge_size: int = 1
    temporal_patch_size: int = 1
    frame_factor: int = 2            # qwen-vl-utils FRAME_FACTOR: frames per temporal token group
    video_min_token_num: int = 128   # VIDEO_MIN_TOKEN_NUM: per-frame floor, in factor x factor cells
    video_max_token_num: int = 768   # VIDEO_MAX_TOKEN_NUM: per-frame ceiling, in factor x factor cells
    model_seq_len: int = 128000      # MODEL_SEQ_LEN (an environment variable in qwen-vl-utils)
    total_pixels_fraction: float = 0.9
    min_pixels: int | None = None    # per frame; None -> video_min_token_num * factor**2
    max_pixels: int | None = None    # a caller's per-frame cap (message "max_pixels"); None -> none
    total_pixels: float | None = None  # whole-video budget; None -> model_seq_len * factor**2 * 0.9
    pipeline: str = "qwen-vl-utils"  # or "transformers": the HF video processor's own rule (see notes)
    hf_min_pixels: int | None = None  # transformers video processor `size["shortest_edge"]`
    hf_max_pixels: int | None = None  # transformers video processor `size["longest_edge"]`
    hf_size_scope: str | None = None  # "frame" (Qwen2VLVideoProcessor) or "video" (Qwen3VLVideoProcessor)
    # ---- fixed-size resize ----
    input_size: int | None = None
    resize: str = "smart_resize"     # "squash" (aspect not kept) or "shortest_edge_center_crop"
    pooling: str = "merge"           # "pixel_shuffle", "bilinear_half", "avgpool", "cls"
    pool_factor: float = 1.0         # pixel-shuffle scale, or average-pool stride
    tokens_per_video: int = 0        # once per video (LLaVA-OneVision's image_newline)
    # ---- default video sampling (a sampler registered in emoprobe.samplers) ----
    sampler: str = "uniform"
    sampler_params: Mapping = field(default_factory=lambda: MappingProxyType({}), hash=False)
    hf_video_processor: str = ""
    source: str = ""
    notes: str = ""

    @property
    def factor(self) -> int:
        """Pixels per side of one visual token (patch x merge)."""
        return self.patch_size * self.merge_size

    @property
    def patches_per_frame(self) -> int:
        """Vision-encoder patches per frame (fixed families; the grid before pooling, without CLS)."""
        if self.kind != "fixed":
            raise ValueError(f"{self.name}: patches per frame depend on the frame size; use frame_size()")
        return (self.input_size // self.patch_size) ** 2

    @property
    def tokens_per_frame(self) -> int:
        """Visual tokens per frame of a fixed-size family, from its pooling rule."""
        if self.kind != "fixed":
            raise ValueError(f"{self.name}: tokens per frame depend on the frame size; use visual_tokens()")
        g = self.input_size // self.patch_size
        if self.pooling == "pixel_shuffle":    # InternVL: (g, g, C) -> (g*s, g*s, C/s^2)
            return int(g * self.pool_factor) ** 2
        if self.pooling == "bilinear_half":    # LLaVA-OneVision apply_pooling: ceil(g / 2) per side
            return math.ceil(g / 2) ** 2
        if self.pooling == "avgpool":          # LLaVA-NeXT-Video AvgPool2d(kernel=stride, stride=stride)
            return (g // int(self.pool_factor)) ** 2
        if self.pooling == "cls":              # Video-LLaVA keeps every patch and the CLS token
            return g * g + 1
        if self.pooling == "none":
            return g * g
        raise ValueError(f"{self.name}: unknown pooling {self.pooling!r}")

    def to_dict(self) -> dict:
        """Plain JSON-ready parameters (recorded next to every budget number)."""
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        out["sampler_params"] = dict(self.sampler_params)
        out["checkpoints"] = list(self.checkpoints)
        return out


def _params(**kw):
    return MappingProxyType(dict(kw))


_QWEN_SAMPLING = _params(target_fps=2.0, min_frames=4, max_frames=768)
_QWEN_SAMPLING_SOURCE = ("qwen-vl-utils 0.0.14 vision_process.py: FPS=2.0, FPS_MIN_FRAMES=4, "
                         "FPS_MAX_FRAMES=768, FRAME_FACTOR=2 (smart_nframes floors to an even count), "
                         "indices torch.linspace(0, T-1, n).round(); VIDEO_MIN_TOKEN_NUM=128, "
                         "VIDEO_MAX_TOKEN_NUM=768, MODEL_SEQ_LEN=128000 (fetch_video)")

FAMILIES: dict[str, Family] = {
    "qwen2-vl": Family(
        name="qwen2-vl", kind="dynamic", checkpoints=("Qwen/Qwen2-VL-7B-Instruct",),
        patch_size=14, merge_size=2, temporal_patch_size=2,
        hf_min_pixels=3136, hf_max_pixels=12845056, hf_size_scope="frame",
        sampler="qwen", sampler_params=_QWEN_SAMPLING, hf_video_processor="Qwen2VLVideoProcessor",
        source=_QWEN_SAMPLING_SOURCE + "; patch 14, merge 2, temporal patch 2 from transformers 5.24.0 "
               "Qwen2VLVideoProcessor class attributes",
        notes="The model card feeds video through qwen-vl-utils (process_vision_info), which is the default "
              "pipeline here. pipeline='transformers' models Qwen2VLVideoProcessor loaded from the hub: with no "
              "video_preprocessor_config.json it takes the image config's min_pixels=3136 / "
              "max_pixels=12845056 (Qwen/Qwen2-VL-7B-Instruct preprocessor_config.json) per frame, and in "
              "transformers 5.24 applies no whole-video cap unless cap_pixels_per_frame=True (which then "
              "matches qwen-vl-utils). The processor itself does not sample (do_sample_frames=False)."),
    "qwen2.5-vl": Family(
        name="qwen2.5-vl", kind="dynamic", checkpoints=("Qwen/Qwen2.5-VL-7B-Instruct",),
        patch_size=14, merge_size=2, temporal_patch_size=2,
        hf_min_pixels=3136, hf_max_pixels=12845056, hf_size_scope="frame",
        sampler="qwen", sampler_params=_QWEN_SAMPLING, hf_video_processor="Qwen2VLVideoProcessor",
        source=_QWEN_SAMPLING_SOURCE + "; same visual rule as Qwen2-VL (Qwen2.5-VL checkpoints load the "
               "Qwen2-VL video processor: patch 14, merge 2, temporal patch 2)",
        notes="Same as qwen2-vl. lmms-eval's qwen2_5_vl adapter differs: max_num_frames=32 and "
              "max_pixels=1605632 (lmms_eval/models/simple/qwen2_5_vl.py); VLMEvalKit's '-ForVideo' preset uses "
              "total_pixels=24576*28*28."),
    "qwen3-vl": Family(
        name="qwen3-vl", kind="dynamic", checkpoints=("Qwen/Qwen3-VL-8B-Instruct",),
        patch_size=16, merge_size=2, temporal_patch_size=2,
        hf_min_pixels=4096, hf_max_pixels=25165824, hf_size_scope="video",
        sampler="qwen", sampler_params=_QWEN_SAMPLING, hf_video_processor="Qwen3VLVideoProcessor",
        source=_QWEN_SAMPLING_SOURCE + " with image_patch_size=16 (factor 32), as the Qwen3-VL README "
               "calls process_vision_info; patch 16 from transformers 5.24.0 Qwen3VLVideoProcessor and the "
               "hub video_preprocessor_config.json (patch_size 16, size shortest_edge 4096 / longest_edge "
               "25165824)",
        notes="pipeline='transformers' models Qwen3VLVideoProcessor with the hub config: its size bounds the "
              "whole video (t*h*w in [4096, 25165824] px, i.e. at most 12288 tokens per clip), not each frame, "
              "and it samples by itself at fps 2 with int() instead of an even floor (70 frames at 25 fps -> "
              "5 frames, padded to 6). Qwen's own video evaluation used 2 fps with up to 2048 frames "
              "(QwenLM/Qwen3-VL issue #1540). Timestamp text tokens are not counted."),
    "internvl3": Family(
        name="internvl3", kind="fixed", checkpoints=("OpenGVLab/InternVL3-8B-hf",),
        patch_size=14, input_size=448, resize="squash", pooling="pixel_shuffle", pool_factor=0.5,
        sampler="segment_center", sampler_params=_params(num_segments=8),
        hf_video_processor="InternVLVideoProcessor",
        source="Model card (OpenGVLab/InternVL3-8B) video example: load_video(video_path, num_segments=8, "
               "max_num=1): one 448x448 tile per frame, frame = centre of each of 8 equal segments "
               "(get_index). 448 px and image_seq_length=256 from the -hf processor_config.json; pixel "
               "shuffle 0.5 on 32x32 patches from transformers InternVLModel.pixel_shuffle",
        notes="lmms-eval's internvl2 adapter uses num_segments=32 instead. The card's get_index uses segment "
              "length (T-1)/n and int(start + seg/2 + round(seg*i)); the segment_center sampler uses T/n and "
              "int(tick/2 + tick*i) (TSN / DFER-CLIP), which can differ by one frame. The transformers "
              "InternVLVideoProcessor class default size is 384; the hub config sets 448. Each frame also "
              "costs the text 'FrameN: <img></img>' (not counted)."),
    "llava-onevision": Family(
        name="llava-onevision", kind="fixed", checkpoints=("llava-hf/llava-onevision-qwen2-7b-ov-hf",),
        patch_size=14, input_size=384, resize="squash", pooling="bilinear_half", tokens_per_video=1,
        sampler="uniform", sampler_params=_params(num_samples=32),
        hf_video_processor="LlavaOnevisionVideoProcessor",
        source="lmms-eval models/simple/llava_onevision.py max_frames_num=32 (the processor has no default: "
               "do_sample_frames=False); 384x384 SigLIP input (LlavaOnevisionVideoProcessor size), 27x27=729 "
               "patches bilinearly pooled to ceil(27/2)^2=196 per frame (LlavaOnevisionModel.apply_pooling), "
               "+1 image_newline per video (LlavaOnevisionProcessor.replace_video_token)",
        notes="lmms-eval samples np.linspace(0, T-1, n, dtype=int) (floored); the uniform sampler rounds. "
              "The transformers docs example samples 8 frames. vLLM profiles with 16 frames per video."),
    "llava-next-video": Family(
        name="llava-next-video", kind="fixed", checkpoints=("llava-hf/LLaVA-NeXT-Video-7B-hf",),
        patch_size=14, input_size=336, resize="shortest_edge_center_crop", pooling="avgpool", pool_factor=2,
        sampler="uniform", sampler_params=_params(num_samples=32),
        hf_video_processor="LlavaNextVideoVideoProcessor",
        source="HF model card (llava-hf/LLaVA-NeXT-Video-7B-hf): 'The videos were sampled uniformly to be 32 "
               "frames per clip' (training); hub preprocessor_config.json shortest_edge 336 + 336 centre "
               "crop; 24x24=576 CLIP-L/14 patches average-pooled with spatial_pool_stride 2 -> 144 per frame "
               "(config.json spatial_pool_mode 'average'; LlavaNextVideoProcessor: num_image_tokens // 4)",
        notes="The card's code example instead loads 8 frames with np.arange(0, T, T/8).astype(int) "
              "(segment starts, floored), and the processor has no default (do_sample_frames=False). The "
              "transformers class default is 224 px; the hub config sets 336."),
    "video-llava": Family(
        name="video-llava", kind="fixed", checkpoints=("LanguageBind/Video-LLaVA-7B-hf",),
        patch_size=14, input_size=224, resize="shortest_edge_center_crop", pooling="cls",
        sampler="uniform", sampler_params=_params(num_samples=8),
        hf_video_processor="VideoLlavaVideoProcessor",
        source="Video-LLaVA is trained on 8 frames; the HF card / transformers docstring example samples 8 "
               "frames (np.arange(0, T, T/8).astype(int)); VideoLlavaVideoProcessor 224 shortest edge + 224 "
               "centre crop; 16x16=256 patches + CLS = 257 tokens per frame "
               "(VideoLlavaProcessor.replace_video_token: num_additional_image_tokens=1, no CLS removal for "
               "video)",
        notes="The card's index rule is floored segment starts, not rounded linspace. transformers' port "
              "encodes each frame independently (get_video_features reshapes to batch*frames images)."),
}


def list_families() -> list[str]:
    return sorted(FAMILIES)


def get_family(family: str | Family, **overrides) -> Family:
    """The registered family (or the given one) with any field replaced by ``overrides``."""
    if isinstance(family, Family):
        fam = family
    else:
        try:
            fam = FAMILIES[family]
        except KeyError:
            raise ValueError(f"unknown VLM family {family!r}; expected one of {list_families()}") from None
    if overrides:
        known = {f.name for f in dataclasses.fields(Family)}
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise ValueError(f"unknown Family field(s) {unknown}; known: {sorted(known)}")
        fam = dataclasses.replace(fam, **overrides)
    if fam.pipeline not in PIPELINES:
        raise ValueError(f"pipeline must be one of {PIPELINES}, got {fam.pipeline!r}")
    return fam


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


def _hf_video_smart_resize(num_frames, height, width, temporal_factor, factor, min_pixels, max_pixels):
    # transformers 5.24.0 models/qwen3_vl/video_processing_qwen3_vl.py `smart_resize`: the pixel range bounds
    # the whole video (frames x height x width), with the frame count rounded half-to-even to pairs.
    if num_frames < temporal_factor:
        raise ValueError(f"t:{num_frames} must be larger than temporal_factor:{temporal_factor}")
    if height < factor or width < factor:
        scale = max(factor / height, factor / width)
        height = int(height * scale)
        width = int(width * scale)
    if max(height, width) / min(height, width) > 200:
        raise ValueError(f"absolute aspect ratio must be smaller than 200, "
                         f"got {max(height, width) / min(height, width)}")
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
    if height < factor or width < factor:
        scale = max(factor / height, factor / width)
        height = int(height * scale)
        width = int(width * scale)
    if max(height, width) / min(height, width) > 200:
        raise ValueError(f"absolute aspect ratio must be smaller than 200, "
                         f"got {max(height, width) / min(height, width)}")
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
# Event capture
# ----------------------------------------------------------------------------------------------------------

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


def _check_frames(n) -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise ValueError(f"a frame count must be a non-negative integer, got {n!r}")
    return int(n)


def _check_size(height, width):
    if not (height >= 1 and width >= 1):
        raise ValueError(f"frame height and width must be positive, got {height!r} x {width!r}")


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
