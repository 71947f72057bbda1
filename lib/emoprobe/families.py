"""VLM families: how each turns a frame into visual tokens, as frozen dataclasses of plain parameters.

A `Family` holds the numbers a family's processor uses (patch, merge and temporal patch sizes, pixel limits or a
fixed input size, the frame sampler its own documentation uses) with the source each was read from;
`emoprobe.budget` computes frame sizes and token counts from them. ``FAMILIES`` is the registry by name
(emoprobe.registry); `get_family` returns one with any field overridden.

Two pipelines for the Qwen families, because they really differ: ``pipeline="qwen-vl-utils"`` (default; what
the model cards use) decodes a file, samples with ``smart_nframes`` and resizes each frame under a per-frame
share of a whole-video budget; ``pipeline="transformers"`` is the HF video processor as loaded from the hub
(Qwen2/2.5-VL: the image config's 3136..12845056 px per frame, no whole-video cap; Qwen3-VL: a 4096..25165824
px range over the *whole* video). Not modelled: qwen-vl-utils 0.0.14's list-of-frames input first resizes each
frame to multiples of 56 px (it passes the 28-px factor as a patch size to ``fetch_image``), and
transformers' ``cap_pixels_per_frame=True`` divides by the unpadded count for odd frame counts.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping

import numpy as np

from emoprobe.registry import Registry

__all__ = ["FAMILIES", "Family", "PIPELINES", "get_family", "list_families"]

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

_FAMILIES = {
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


FAMILIES = Registry("VLM family")
for _name, _family in _FAMILIES.items():
    FAMILIES.register(_name, _family)
del _name, _family


def list_families() -> list[str]:
    return FAMILIES.names()


def get_family(family: str | Family, **overrides) -> Family:
    """The registered family (or the given one) with any field replaced by ``overrides``."""
    if isinstance(family, Family):
        fam = family
    else:
        fam = FAMILIES.get(family)
    if overrides:
        known = {f.name for f in dataclasses.fields(Family)}
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise ValueError(f"unknown Family field(s) {unknown}; known: {sorted(known)}")
        fam = dataclasses.replace(fam, **overrides)
    if fam.pipeline not in PIPELINES:
        raise ValueError(f"pipeline must be one of {PIPELINES}, got {fam.pipeline!r}")
    return fam


def _check_frames(n) -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise ValueError(f"a frame count must be a non-negative integer, got {n!r}")
    return int(n)


def _check_size(height, width):
    if not (height >= 1 and width >= 1):
        raise ValueError(f"frame height and width must be positive, got {height!r} x {width!r}")
