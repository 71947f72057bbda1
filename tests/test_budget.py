"""Visual-token budgets against the real processors, and event capture against simulation.

The arithmetic in `emoprobe.budget` is only worth something if it agrees with the code the models actually
run, so every rule is checked against that code: qwen-vl-utils 0.0.14 (`smart_resize`, `fetch_video`) and the
transformers 5.24.0 video processors, built offline from their class defaults plus the hub's pixel settings.
"""

import os
from types import SimpleNamespace

import numpy as np
import pytest
import torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from emoprobe import budget as B  # noqa: E402
from emoprobe.samplers import SAMPLERS, make_sampler  # noqa: E402

vp = pytest.importorskip("qwen_vl_utils.vision_process")
transformers = pytest.importorskip("transformers")


def _video(n, h, w, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (n, 3, h, w), dtype=torch.uint8, generator=g)


# --------------------------------------------------------------------------------------------------------
# smart_resize and the qwen-vl-utils video path
# --------------------------------------------------------------------------------------------------------

SIDES = [1, 2, 13, 27, 28, 29, 42, 55, 56, 100, 224, 240, 333, 336, 360, 480, 481, 720, 1080, 1920, 4000, 10000]
PIXEL_RANGES = [(None, None), (100352, 602112), (131072, 786432), (100352, 105369), (3136, 12845056)]


@pytest.mark.parametrize("factor", [28, 32])
@pytest.mark.parametrize("pixels", PIXEL_RANGES)
def test_smart_resize_matches_qwen_vl_utils(factor, pixels):
    lo, hi = pixels
    for h in SIDES:
        for w in SIDES:
            if max(h, w) / min(h, w) > vp.MAX_RATIO:
                with pytest.raises(ValueError):
                    vp.smart_resize(h, w, factor, lo, hi)
                with pytest.raises(ValueError):
                    B.smart_resize(h, w, factor, lo, hi)
                continue
            assert B.smart_resize(h, w, factor, lo, hi) == vp.smart_resize(h, w, factor, lo, hi), (h, w)


def test_smart_resize_extreme_aspect_ratios_within_max_ratio():
    for h, w in [(10, 1999), (1999, 10), (5, 1000), (7, 1400), (3, 600), (50, 9999)]:
        for factor, lo, hi in [(28, 100352, 602112), (32, 131072, 786432), (28, None, None)]:
            assert B.smart_resize(h, w, factor, lo, hi) == vp.smart_resize(h, w, factor, lo, hi)


@pytest.fixture
def fake_reader(monkeypatch):
    """Make qwen-vl-utils' `fetch_video` run its file path on a synthetic clip, without decoding or resizing.

    The fake reader does what the real ones do (smart_nframes, then rounded linspace); the patched resize only
    returns a tensor of the requested size, so the test sees the exact (frames, height, width) the library
    would feed the model.
    """
    clip = {}

    def reader(ele):
        T, fps, H, W = clip["T"], clip["fps"], clip["H"], clip["W"]
        n = vp.smart_nframes(ele, total_frames=T, video_fps=fps)
        idx = torch.linspace(0, T - 1, n).round().long()
        video = torch.zeros((1, 3, H, W), dtype=torch.uint8).expand(n, 3, H, W)
        return video, {"frames_indices": idx, "fps": fps, "total_num_frames": T}, n / T * fps

    def resize(video, size, **kwargs):
        # float already, and expanded: fetch_video's `.float()` then costs nothing for 768 HD frames
        return torch.empty((1, video.shape[1], *size)).expand(video.shape[0], video.shape[1], *size)

    monkeypatch.setitem(vp.VIDEO_READER_BACKENDS, "fake", reader)
    monkeypatch.setattr(vp, "get_video_reader_backend", lambda: "fake")
    monkeypatch.setattr(vp.transforms.functional, "resize", resize)
    return clip


CLIPS = [  # (frames, fps, height, width): DFEW-like clips, long clips where the whole-video budget binds
    (70, 25.0, 224, 224), (70, 25.0, 720, 1280), (30, 30.0, 480, 640), (155, 25.0, 1080, 1920),
    (8, 25.0, 48, 64), (3000, 30.0, 720, 1280), (20000, 25.0, 720, 1280), (20000, 25.0, 1080, 1920),
    (50000, 30.0, 360, 640),
]


@pytest.mark.parametrize("family,patch", [("qwen2.5-vl", 14), ("qwen3-vl", 16)])
@pytest.mark.parametrize("clip", CLIPS)
def test_qwen_tokens_match_fetch_video(fake_reader, family, patch, clip):
    T, fps, H, W = clip
    fake_reader.update(T=T, fps=fps, H=H, W=W)
    video = vp.fetch_video({"video": "clip.mp4"}, image_patch_size=patch)
    n, _, h, w = video.shape
    factor = patch * 2
    # our default sampler picks the same number of frames, and we predict the same frame size and tokens
    assert len(B.default_sample(family, T, fps).indices) == n
    assert B.frame_size(family, H, W, n, model_seq_len=vp.MODEL_SEQ_LEN) == (h, w)
    assert B.visual_tokens(family, H, W, n, model_seq_len=vp.MODEL_SEQ_LEN) == n // 2 * (h // factor) * (w // factor)


@pytest.mark.parametrize("ele", [{"max_pixels": 200704}, {"min_pixels": 50176}, {"total_pixels": 20480 * 28 * 28},
                                 {"nframes": 16}, {"fps": 4.0, "max_frames": 64}])
def test_qwen_message_overrides_match_fetch_video(fake_reader, ele):
    T, fps, H, W = 400, 25.0, 720, 1280
    fake_reader.update(T=T, fps=fps, H=H, W=W)
    video = vp.fetch_video({"video": "clip.mp4", **ele})
    n, _, h, w = video.shape
    overrides = {k: ele[k] for k in ("max_pixels", "min_pixels", "total_pixels") if k in ele}
    assert B.frame_size("qwen2.5-vl", H, W, n, **overrides) == (h, w)
    assert B.visual_tokens("qwen2.5-vl", H, W, n, **overrides) == n // 2 * (h // 28) * (w // 28)


# --------------------------------------------------------------------------------------------------------
# transformers video processors
# --------------------------------------------------------------------------------------------------------

def _grid_tokens(out, merge=2):
    return int(out["video_grid_thw"].prod()) // merge ** 2


VIDEOS = [(2, 224, 224), (5, 180, 320), (3, 720, 1280), (2, 30, 50), (4, 1080, 1920)]


@pytest.mark.parametrize("shape", VIDEOS)
def test_qwen2vl_video_processor_hub_settings(shape):
    # Qwen2-VL / Qwen2.5-VL loaded from the hub: the image config's pixel range, per frame, no whole-video cap.
    proc = transformers.Qwen2VLVideoProcessor(min_pixels=3136, max_pixels=12845056, cap_pixels_per_frame=False)
    out = proc(videos=[_video(*shape)], return_tensors="pt")
    n, h, w = shape
    assert B.visual_tokens("qwen2.5-vl", h, w, n, pipeline="transformers") == _grid_tokens(out)


@pytest.mark.parametrize("seq_len,shape", [(128000, (4, 720, 1280)), (128000, (2, 224, 224)),
                                           (1000, (4, 720, 1280)), (1000, (6, 480, 640)), (3000, (8, 360, 640))])
def test_qwen2vl_video_processor_with_reference_cap_matches_qwen_vl_utils_rule(seq_len, shape):
    # cap_pixels_per_frame=True is transformers' port of the qwen-vl-utils budget; a small model context
    # makes the whole-video budget bind with only a few frames.
    proc = transformers.Qwen2VLVideoProcessor(cap_pixels_per_frame=True, max_video_tokens=seq_len)
    out = proc(videos=[_video(*shape)], return_tensors="pt")
    n, h, w = shape
    assert B.visual_tokens("qwen2-vl", h, w, n, model_seq_len=seq_len) == _grid_tokens(out)


def test_qwen2vl_video_processor_class_defaults_equal_unbounded_qwen_rule():
    proc = transformers.Qwen2VLVideoProcessor(cap_pixels_per_frame=False)
    for shape in [(5, 224, 224), (2, 720, 1280)]:
        out = proc(videos=[_video(*shape)], return_tensors="pt")
        n, h, w = shape
        assert B.visual_tokens("qwen2-vl", h, w, n, total_pixels=float("inf")) == _grid_tokens(out)


@pytest.mark.parametrize("shape", VIDEOS + [(4, 20, 40), (7, 64, 64)])
def test_qwen3vl_video_processor_hub_settings(shape):
    # Qwen/Qwen3-VL-8B-Instruct video_preprocessor_config.json: size bounds the whole video.
    proc = transformers.Qwen3VLVideoProcessor(size={"shortest_edge": 4096, "longest_edge": 25165824},
                                              do_sample_frames=False, cap_pixels_per_frame=False)
    out = proc(videos=[_video(*shape)], return_tensors="pt")
    n, h, w = shape
    assert B.visual_tokens("qwen3-vl", h, w, n, pipeline="transformers") == _grid_tokens(out)


@pytest.mark.parametrize("seq_len,shape", [(2000, (8, 720, 1280)), (128000, (4, 720, 1280)), (4000, (6, 480, 640))])
def test_qwen3vl_video_processor_with_reference_cap_matches_qwen_vl_utils_rule(seq_len, shape):
    # Qwen3VLVideoProcessor's cap is min(768 * 32^2, longest_edge // n): with longest_edge = 2 x the
    # qwen-vl-utils total it is the same per-frame cap (frames here stay above the per-frame minimum, the one
    # place the two rules still differ: the processor's minimum bounds the whole video).
    total = int(seq_len * 32 * 32 * 0.9)
    proc = transformers.Qwen3VLVideoProcessor(size={"shortest_edge": 128 * 32 * 32, "longest_edge": 2 * total},
                                              do_sample_frames=False, cap_pixels_per_frame=True)
    out = proc(videos=[_video(*shape)], return_tensors="pt")
    n, h, w = shape
    assert B.visual_tokens("qwen3-vl", h, w, n, model_seq_len=seq_len) == _grid_tokens(out)


FIXED = {
    # family: (video processor, hub pixel settings, processor class, stand-in `self` for replace_video_token,
    #          video placeholder string)
    "internvl3": ("InternVLVideoProcessor", {"size": {"height": 448, "width": 448}}, "InternVLProcessor",
                  dict(image_seq_length=256, start_image_token="<img>", end_image_token="</img>",
                       image_token="<IMG_CONTEXT>"), "<IMG_CONTEXT>"),
    "llava-onevision": ("LlavaOnevisionVideoProcessor", {}, "LlavaOnevisionProcessor",
                        dict(num_image_tokens=729, video_token="<video>"), "<video>"),
    "llava-next-video": ("LlavaNextVideoVideoProcessor",
                         {"size": {"shortest_edge": 336}, "crop_size": {"height": 336, "width": 336}},
                         "LlavaNextVideoProcessor", dict(patch_size=14, video_token="<video>"), "<video>"),
    "video-llava": ("VideoLlavaVideoProcessor", {}, "VideoLlavaProcessor",
                    dict(patch_size=14, num_additional_image_tokens=1, video_token="<video>"), "<video>"),
}


@pytest.mark.parametrize("family", sorted(FIXED))
@pytest.mark.parametrize("shape", [(3, 180, 320), (2, 720, 1280), (8, 224, 224)])
def test_fixed_size_processors(family, shape):
    vp_name, settings, proc_name, stand_in, placeholder = FIXED[family]
    proc = getattr(transformers, vp_name)(**settings)
    pixels = proc(videos=[_video(*shape)], return_tensors="pt")["pixel_values_videos"]
    n, h, w = shape
    fam = B.FAMILIES[family]
    # every frame becomes one input_size x input_size image, whatever the source resolution
    assert tuple(pixels.shape) == (1, n, 3, fam.input_size, fam.input_size)
    assert B.frame_size(family, h, w) == (fam.input_size, fam.input_size)
    # the processor's own placeholder expansion (called with a stand-in for the tokenizer-bound processor)
    replace = getattr(transformers, proc_name).replace_video_token
    text = replace(SimpleNamespace(**stand_in), {"pixel_values_videos": pixels}, 0)
    assert text.count(placeholder) == B.visual_tokens(family, h, w, n)


def test_fixed_size_pooling_matches_model_code():
    from transformers import CLIPVisionConfig, CLIPVisionModel
    from transformers.models.internvl.modeling_internvl import InternVLModel
    from transformers.models.llava_next_video.modeling_llava_next_video import LlavaNextVideoPooler
    from transformers.models.llava_onevision.modeling_llava_onevision import LlavaOnevisionModel

    # InternVL3: 32x32 patches, pixel shuffle 0.5 -> 16x16
    shuffled = InternVLModel.pixel_shuffle(None, torch.zeros(1, 32, 32, 8), scale_factor=0.5)
    assert shuffled.shape[1] * shuffled.shape[2] == B.FAMILIES["internvl3"].tokens_per_frame == 256
    # LLaVA-OneVision: 27x27 SigLIP patches, bilinear to ceil(27/2)^2
    cfg = SimpleNamespace(config=SimpleNamespace(vision_config=SimpleNamespace(image_size=384, patch_size=14)))
    pooled = LlavaOnevisionModel.apply_pooling(cfg, torch.zeros(2, 729, 4))
    assert pooled.shape[1] == B.FAMILIES["llava-onevision"].tokens_per_frame == 196
    assert B.FAMILIES["llava-onevision"].patches_per_frame == 729
    # LLaVA-NeXT-Video: 24x24 CLIP patches, AvgPool2d stride 2
    pooler = LlavaNextVideoPooler(SimpleNamespace(
        spatial_pool_mode="average", spatial_pool_stride=2,
        vision_config=SimpleNamespace(hidden_size=4, image_size=336, patch_size=14)))
    assert pooler(torch.zeros(2, 576, 4)).shape[1] == B.FAMILIES["llava-next-video"].tokens_per_frame == 144
    # Video-LLaVA: a CLIP ViT-L/14-shaped (but tiny) tower at 224 px keeps 256 patches + CLS
    tower = CLIPVisionModel(CLIPVisionConfig(image_size=224, patch_size=14, hidden_size=8, intermediate_size=8,
                                             num_hidden_layers=1, num_attention_heads=2))
    with torch.no_grad():
        hidden = tower(torch.zeros(1, 3, 224, 224), output_hidden_states=True).hidden_states[-1]
    assert hidden.shape[1] == B.FAMILIES["video-llava"].tokens_per_frame == 257


# --------------------------------------------------------------------------------------------------------
# The registry: every family gets the common checks
# --------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(B.FAMILIES))
def test_registry_contract(name):
    fam = B.FAMILIES[name]
    assert fam.name == name and fam.kind in ("dynamic", "fixed")
    for h, w in [(224, 224), (720, 1280)]:
        assert B.visual_tokens_per_frame(name, h, w) > 0
        assert B.visual_tokens_per_frame(name, h, w, num_frames=16) > 0
        assert B.visual_tokens(name, h, w, 16) > 0
    assert fam.sampler in SAMPLERS
    sample = make_sampler(fam.sampler, **dict(fam.sampler_params)).sample(70, 25.0)
    assert len(sample.indices) > 0
    assert fam.source.strip() and fam.checkpoints and hasattr(transformers, fam.hf_video_processor)
    assert fam.to_dict()["name"] == name
    row = B.clip_budget(name, 224, 224, 70, 25.0)
    assert row["sampled_frames"] == len(sample.indices)
    assert 0.0 <= row["capture_0.25s"] <= row["capture_0.5s"] <= 1.0


def test_reference_numbers_at_224():
    expected = {"qwen2-vl": 72, "qwen2.5-vl": 72, "qwen3-vl": 72, "internvl3": 256, "llava-onevision": 196,
                "llava-next-video": 144, "video-llava": 257}
    assert {n: B.visual_tokens_per_frame(n, 224, 224) for n in B.FAMILIES} == expected
    # fixed-size families do not care about the source resolution; Qwen does
    assert B.visual_tokens_per_frame("internvl3", 720, 1280) == 256
    assert B.visual_tokens_per_frame("qwen2.5-vl", 720, 1280) == 360
    # Qwen pads an odd frame count to a pair; LLaVA-OneVision adds one newline per video
    assert B.visual_tokens("qwen2.5-vl", 224, 224, 5) == B.visual_tokens("qwen2.5-vl", 224, 224, 6) == 432
    assert B.visual_tokens("llava-onevision", 224, 224, 32) == 32 * 196 + 1


def test_overrides_and_unknown_names():
    assert B.visual_tokens("internvl3", 224, 224, 4, input_size=224) == 4 * 64
    with pytest.raises(ValueError):
        B.visual_tokens("no-such-model", 224, 224, 4)
    with pytest.raises(ValueError):
        B.visual_tokens("qwen2-vl", 224, 224, 4, no_such_field=1)
    with pytest.raises(ValueError):
        B.visual_tokens("qwen2-vl", 224, 224, 4, pipeline="vllm")


# --------------------------------------------------------------------------------------------------------
# frames_per_context
# --------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("family,overrides", [("qwen2.5-vl", {}), ("qwen3-vl", {}), ("internvl3", {}),
                                              ("llava-onevision", {}), ("qwen2.5-vl", {"pipeline": "transformers"}),
                                              ("qwen3-vl", {"pipeline": "transformers"})])
@pytest.mark.parametrize("size", [(224, 224), (720, 1280)])
@pytest.mark.parametrize("context,reserved", [(32768, 512), (8192, 0), (600, 100)])
def test_frames_per_context_is_consistent_with_visual_tokens(family, overrides, size, context, reserved):
    h, w = size
    budget = context - reserved
    n = B.frames_per_context(family, h, w, context, reserved_tokens=reserved, **overrides)
    if n > 0:
        assert B.visual_tokens(family, h, w, n, **overrides) <= budget
    for m in range(n + 1, n + 6):
        if m == 1 and overrides.get("pipeline") == "transformers" and family == "qwen3-vl":
            with pytest.raises(ValueError):  # Qwen3VLVideoProcessor refuses a single frame
                B.visual_tokens(family, h, w, m, **overrides)
            continue
        assert B.visual_tokens(family, h, w, m, **overrides) > budget


def test_frames_per_context_where_qwen_budget_binds():
    # Past ~1714 frames the whole-video budget pins each frame at its floor, so cost grows again.
    n = B.frames_per_context("qwen2.5-vl", 720, 1280, 128000)
    assert n > 1714 and B.visual_tokens("qwen2.5-vl", 720, 1280, n) <= 128000
    assert all(B.visual_tokens("qwen2.5-vl", 720, 1280, m) > 128000 for m in (n + 1, n + 2, n + 3))
    assert B.frames_per_context("qwen2.5-vl", 224, 224, 100) == 0


# --------------------------------------------------------------------------------------------------------
# Event capture
# --------------------------------------------------------------------------------------------------------

def _simulate(indices, T, D, draws, rng):
    """Random event starts x ~ U(-1, T - D]; an event [x, x + D) catches frame k when x <= k < x + D."""
    k = np.unique(np.asarray(indices))
    x = rng.uniform(-1.0, T - D, size=draws)
    first = np.searchsorted(k, x, side="left")  # first sampled frame at or after the start
    caught = (first < k.size) & (k[np.minimum(first, k.size - 1)] < x + D)
    inside = np.searchsorted(k, x + D, side="left") - first
    return caught, inside


SAMPLER_CASES = [  # (sampler, params, clip frames, fps, event seconds)
    ("qwen", {}, 70, 25.0, 0.25), ("qwen", {}, 70, 25.0, 0.5), ("uniform", {"num_samples": 8}, 155, 25.0, 0.3),
    ("segment_center", {"num_segments": 16}, 82, 30.0, 0.25), ("fps", {"target_fps": 5.0}, 100, 25.0, 0.25),
    ("dense", {"stride": 4}, 60, 24.0, 0.1), ("uniform", {"num_samples": 32}, 33, 25.0, 0.25),
]


@pytest.mark.parametrize("case", SAMPLER_CASES)
def test_capture_probability_matches_monte_carlo(case):
    name, params, T, fps, seconds = case
    idx = make_sampler(name, **params).sample(T, fps).indices
    D = B.event_frames(seconds, fps)
    draws = 40_000
    caught, inside = _simulate(idx, T, D, draws, np.random.default_rng(12345))
    p = B.capture_probability(idx, T, D)
    se = max(np.sqrt(p * (1 - p) / draws), 1.0 / draws)
    assert abs(caught.mean() - p) < 5 * se
    e = B.expected_frames_in_event(idx, T, D)
    assert abs(inside.mean() - e) < 5 * max(inside.std(), 1e-3) / np.sqrt(draws)


def test_whole_frame_events_equal_counting_positions():
    rng = np.random.default_rng(0)
    for _ in range(200):
        T = int(rng.integers(1, 120))
        L = int(rng.integers(1, T + 1))
        idx = rng.choice(T, size=int(rng.integers(1, T + 1)), replace=True)
        starts = np.arange(T - L + 1)
        hits = np.array([np.any((idx >= s) & (idx < s + L)) for s in starts])
        counts = np.array([np.unique(idx[(idx >= s) & (idx < s + L)]).size for s in starts])
        assert B.capture_probability(idx, T, L) == pytest.approx(hits.mean(), abs=1e-12)
        assert B.expected_frames_in_event(idx, T, L) == pytest.approx(counts.mean(), abs=1e-12)


def test_regular_closed_form_is_exact():
    for T in [1, 2, 5, 10, 33, 70, 155, 727]:
        for n in sorted({1, 2, 3, 4, 8, 16, 32, T, T + 5}):
            grids = [np.rint(np.linspace(0, T - 1, n)).astype(int),            # uniform / qwen (half-to-even)
                     np.floor(np.linspace(0, T - 1, n) + 0.5).astype(int),      # half-up
                     np.linspace(0, T - 1, n, dtype=int)]                       # floored (lmms-eval)
            for D in [0.5, 1.0, 2.5, 6.25, 12.5, 40.0, max(T - 0.5, 0.1), float(T)]:
                closed = B.capture_probability_regular(T, n, D)
                for idx in grids:
                    assert closed == pytest.approx(B.capture_probability(idx, T, D), abs=1e-12), (T, n, D)


def test_grid_closed_form_is_the_long_clip_limit():
    T = 50_000
    for stride in [1, 2, 5, 12, 13, 25]:
        idx = np.arange(0, T, stride)
        for D in [0.5, 3.0, 6.25, 12.5, 30.0]:
            exact = B.capture_probability(idx, T, D)
            assert exact == pytest.approx(B.capture_probability_grid(stride, D), abs=(stride + D + 2) / T)
    # rounded linspace with a fractional stride approaches the same limit
    n = 4001
    stride = (T - 1) / (n - 1)
    assert B.capture_probability_regular(T, n, 6.25) == pytest.approx(B.capture_probability_grid(stride, 6.25),
                                                                       abs=0.02)


def test_capture_edge_cases():
    # event at least as long as the clip: any sample sees it
    assert B.capture_probability([3], 10, 10) == 1.0
    assert B.capture_probability([0], 10, 25.0) == 1.0
    assert B.expected_frames_in_event([0, 4, 4, 9], 10, 12) == 3.0
    # one sampled frame: starts 3, 4, 5 of 0..7 contain frame 5 when the event is 3 frames long
    assert B.capture_probability([5], 10, 3) == pytest.approx(3 / 8)
    # every frame sampled: an event of at least one frame is always seen; a shorter one can fall between frames
    assert B.capture_probability(np.arange(70), 70, 1.0) == pytest.approx(1.0)
    assert B.capture_probability(np.arange(70), 70, 6.25) == pytest.approx(1.0)
    assert B.capture_probability(np.arange(10), 10, 0.5) == pytest.approx(10 * 0.5 / 10.5)
    assert B.capture_probability([], 70, 6.25) == 0.0
    assert B.event_frames(0.25, 25) == 6.25
    with pytest.raises(ValueError):
        B.capture_probability([70], 70, 6.25)
    with pytest.raises(ValueError):
        B.capture_probability([0], 70, 0)


def test_paper_argument_qwen_default_misses_most_micro_expressions():
    # DFEW median clip (70 frames), assumed 25 fps: Qwen's default 2 fps gives 4 frames.
    row = B.clip_budget("qwen2.5-vl", 224, 224, 70, 25.0)
    assert row["sampled_frames"] == 4
    assert row["capture_0.25s"] < 0.25 < 0.9 < B.clip_budget("llava-onevision", 224, 224, 70, 25.0)["capture_0.25s"]
