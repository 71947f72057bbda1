"""Temporal samplers: the common contract over the whole registry, then each sampler against a reference."""

import math

import numpy as np
import pytest
import torch

from emoprobe.samplers import SAMPLERS, clip_rng, list_samplers, make_sampler

# Clip lengths from the real datasets' ranges (FERV39k min 8, DFEW median 70, MAFW max 727) plus edge cases.
CLIP_LENGTHS = [1, 2, 3, 5, 8, 15, 16, 17, 33, 70, 82, 155, 727]
FPS_VALUES = [24.0, 25.0, 29.97, 30.0]

# Parameters that make every registered sampler valid on every clip length above.
COMMON_PARAMS = {
    "uniform": {"num_samples": 8},
    "segment_center": {"num_segments": 16},
    "segment_random": {"num_segments": 16},
    "fps": {"target_fps": 2.0},
    "qwen": {},
    "dense": {"stride": 4},
    "dense_centered": {"stride": 4, "max_frames": 16},
    "keyframes": {"keyframe_fps": 1.0, "per_gap": 4},
}


def test_every_registered_sampler_has_common_parameters():
    assert set(COMMON_PARAMS) == set(list_samplers())


def _valid(name, T):
    # qwen-vl-utils refuses clips that cannot give two frames; we reproduce that.
    return not (name == "qwen" and T < 2)


@pytest.mark.parametrize("name", sorted(SAMPLERS))
def test_registry_contract(name):
    sampler = make_sampler(name, **COMMON_PARAMS[name])
    assert sampler.name == name
    assert repr(sampler).startswith(type(sampler).__name__)
    for T in CLIP_LENGTHS:
        for fps in FPS_VALUES:
            if not _valid(name, T):
                with pytest.raises(ValueError, match="frames"):
                    sampler.sample(T, fps)
                continue
            s = sampler.sample(T, fps)
            assert s.indices.dtype == np.int64 and s.indices.ndim == 1 and len(s.indices) >= 1
            assert s.indices.min() >= 0 and s.indices.max() < T, (name, T)
            assert np.all(np.diff(s.indices) >= 0), (name, T, s.indices)
            np.testing.assert_allclose(s.timestamps, s.indices / fps)
            # deterministic under a seed
            again = make_sampler(name, **COMMON_PARAMS[name]).sample(T, fps)
            np.testing.assert_array_equal(s.indices, again.indices)
            row = s.to_dict()
            assert row["sampler"] == name and row["frame_indices"] == s.indices.tolist()


@pytest.mark.parametrize("name", sorted(SAMPLERS))
def test_registry_shuffle_is_a_seeded_permutation(name):
    T, fps = 155, 25.0
    plain = make_sampler(name, **COMMON_PARAMS[name]).sample(T, fps)
    a = make_sampler(name, shuffle=True, seed=3, **COMMON_PARAMS[name]).sample(T, fps)
    b = make_sampler(name, shuffle=True, seed=3, **COMMON_PARAMS[name]).sample(T, fps)
    np.testing.assert_array_equal(a.indices, b.indices)
    if name != "segment_random":  # its offsets are random too; the permutation is tested below
        np.testing.assert_array_equal(np.sort(a.indices), plain.indices)
    assert not np.all(np.diff(a.indices) >= 0), "a shuffle of this many frames should not stay sorted"
    np.testing.assert_allclose(a.timestamps, a.indices / fps)  # timestamps follow their frames
    assert a.params["shuffle"] is True and a.params["seed"] == 3


@pytest.mark.parametrize("name", sorted(SAMPLERS))
def test_registry_rejects_bad_clip(name):
    sampler = make_sampler(name, **COMMON_PARAMS[name])
    for T, fps in [(0, 25.0), (-3, 25.0), (10, 0.0), (10, float("nan"))]:
        with pytest.raises(ValueError):
            sampler.sample(T, fps)


def test_unknown_sampler_names_the_choices():
    with pytest.raises(ValueError, match="unknown frame sampler 'linspace'.*uniform"):
        make_sampler("linspace")


# --- qwen: checked against the installed qwen-vl-utils 0.0.14 itself -----------------------------------------

def _reference_qwen(ele, T, fps):
    from qwen_vl_utils.vision_process import smart_nframes

    n = smart_nframes(dict(ele), total_frames=T, video_fps=fps)
    return torch.linspace(0, T - 1, n).round().long().numpy()


@pytest.mark.parametrize("ele", [{}, {"fps": 1.0}, {"fps": 5.0}, {"fps": 2.0, "min_frames": 8},
                                 {"fps": 25.0, "max_frames": 32}, {"nframes": 8}, {"nframes": 7},
                                 {"nframes": 16}])
def test_qwen_matches_qwen_vl_utils(ele):
    params = {"target_fps": ele.get("fps"), "min_frames": ele.get("min_frames"),
              "max_frames": ele.get("max_frames"), "num_samples": ele.get("nframes")}
    sampler = make_sampler("qwen", **params)
    for T in [2, 3, 4, 5, 8, 9, 16, 30, 33, 47, 70, 90, 155, 250, 727, 2000]:
        for fps in [10.0, 24.0, 25.0, 29.97, 30.0, 60.0]:
            try:
                expected = _reference_qwen(ele, T, fps)
            except ValueError:
                with pytest.raises(ValueError):
                    sampler.sample(T, fps)
                continue
            np.testing.assert_array_equal(sampler.sample(T, fps).indices, expected, err_msg=f"T={T} fps={fps}")


def test_qwen_documented_examples():
    # qwen-vl-utils 0.0.14 `smart_nframes`, checked against the package
    q = make_sampler("qwen")
    assert q.sample(90, 30.0).indices.tolist() == [0, 18, 36, 53, 71, 89]
    assert len(q.sample(250, 25.0).indices) == 20
    assert len(q.sample(30, 30.0).indices) == 4
    assert make_sampler("qwen", num_samples=8).sample(90, 30.0).indices.tolist() == [0, 13, 25, 38, 51, 64, 76, 89]
    with pytest.raises(ValueError, match="either"):
        make_sampler("qwen", num_samples=8, target_fps=2.0).sample(90, 30.0)


# --- uniform ------------------------------------------------------------------------------------------------

def test_uniform_is_rounded_linspace_like_torch():
    for T in [1, 3, 8, 70, 727]:
        for n in [1, 3, 8, 16, 32]:
            got = make_sampler("uniform", num_samples=n).sample(T, 25.0).indices
            expected = torch.linspace(0, T - 1, n).round().long().numpy()
            np.testing.assert_array_equal(got, expected)
            assert len(got) == n  # short clips repeat neighbouring frames rather than return fewer


# --- segment samplers: an independent transcription of DFER-CLIP's TSN rules ---------------------------------

def _dfer_clip_test_offsets(T, n, d):
    if T > n + d - 1:
        tick = (T - d + 1) / float(n)
        return [int(tick / 2.0 + tick * x) for x in range(n)]
    return list(range(T)) + [T - 1] * (n - T)


def _read_duration(offsets, d, T):
    out = []
    for p in offsets:
        for _ in range(d):
            out.append(p)
            if p < T - 1:
                p += 1
    return out


@pytest.mark.parametrize("n,d", [(16, 1), (8, 2), (4, 4)])
def test_segment_center_matches_dfer_clip(n, d):
    for T in range(1, 200):
        if n < T <= n + d - 1:
            continue  # DFER-CLIP's np.pad fails here; covered by the registry contract instead
        got = make_sampler("segment_center", num_segments=n, duration=d).sample(T, 25.0).indices
        assert got.tolist() == _read_duration(_dfer_clip_test_offsets(T, n, d), d, T), T


def test_segment_random_stays_in_its_segment_and_varies_with_rng():
    n, T = 16, 100
    seg = T // n
    s = make_sampler("segment_random", num_segments=n)
    draws = [s.sample(T, 25.0, rng=np.random.default_rng(k)).indices for k in range(50)]
    for idx in draws:
        assert np.all(idx // seg == np.arange(n)), idx
    assert len({tuple(d) for d in draws}) > 40
    # T between n and 2n: sorted random frames; T <= n: padded like the test sampler
    mid = s.sample(20, 25.0).indices
    assert len(mid) == n and np.all(np.diff(mid) >= 0)
    assert s.sample(10, 25.0).indices.tolist() == list(range(10)) + [9] * 6


def test_clip_rng_is_per_clip_and_reproducible():
    a = clip_rng(0, "00001").integers(0, 1 << 30, 4)
    b = clip_rng(0, "00001").integers(0, 1 << 30, 4)
    c = clip_rng(0, "00002").integers(0, 1 << 30, 4)
    d = clip_rng(1, "00001").integers(0, 1 << 30, 4)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c) and not np.array_equal(a, d)


# --- fps ----------------------------------------------------------------------------------------------------

def test_fps_samples_the_frame_shown_at_each_sample_time():
    s = make_sampler("fps", target_fps=2.0)
    assert s.sample(90, 30.0).indices.tolist() == [0, 15, 30, 45, 60, 75]
    # 70 frames at 25 fps = 2.8 s -> samples at 0, 0.5, ..., 2.5 s
    assert s.sample(70, 25.0).indices.tolist() == [0, 12, 25, 37, 50, 62]
    # 29.97 fps: frame k is shown on [k/29.97, (k+1)/29.97)
    idx = make_sampler("fps", target_fps=5.0).sample(100, 29.97).indices
    t = np.arange(len(idx)) / 5.0
    np.testing.assert_array_equal(idx, np.floor(t * 29.97 + 1e-9).astype(int))


def test_fps_phase_caps_and_rates_above_native():
    assert make_sampler("fps", target_fps=2.0, phase=0.5).sample(100, 25.0).indices.tolist() == [6, 18, 31, 43, 56, 68, 81, 93]
    capped = make_sampler("fps", target_fps=10.0, max_frames=8).sample(250, 25.0).indices
    assert len(capped) == 8 and capped[0] == 0
    # more samples than frames: frames repeat, as a resampled video holds them
    up = make_sampler("fps", target_fps=50.0).sample(10, 25.0).indices
    assert up.tolist() == [i // 2 for i in range(20)]
    # min_frames on a very short clip spreads the samples over it
    short = make_sampler("fps", target_fps=1.0, min_frames=4).sample(20, 25.0).indices
    assert short.tolist() == [2, 7, 12, 17]


def test_fps_uses_real_times_of_variable_rate_clips():
    # first second at 10 fps, then 30 fps: 2 fps samples must land at 0, 0.5, 1.0, 1.5 s of real time
    times = np.concatenate([np.arange(10) / 10.0, 1.0 + np.arange(30) / 30.0])
    s = make_sampler("fps", target_fps=2.0).sample(40, 20.0, frame_times=times)
    np.testing.assert_allclose(s.timestamps, [0.0, 0.5, 1.0, 1.5], atol=1e-9)
    assert s.indices.tolist() == [0, 5, 10, 25]
    with pytest.raises(ValueError, match="one entry per frame"):
        make_sampler("uniform").sample(40, 20.0, frame_times=times[:5])


# --- dense and keyframes ------------------------------------------------------------------------------------

def test_dense():
    assert make_sampler("dense", stride=4).sample(17, 25.0).indices.tolist() == [0, 4, 8, 12, 16]
    assert make_sampler("dense").sample(5, 25.0).indices.tolist() == [0, 1, 2, 3, 4]
    assert make_sampler("dense", stride=2, offset=1, max_frames=3).sample(50, 25.0).indices.tolist() == [1, 3, 5]


def test_dense_centered_takes_the_middle_window():
    # 16 frames at stride 4 span 61 frames; of 81, the window starts at (81 - 61) // 2 = 10
    assert make_sampler("dense_centered", stride=4, max_frames=16).sample(81, 25.0).indices.tolist() == list(
        range(10, 71, 4))
    assert make_sampler("dense_centered", stride=1, max_frames=4).sample(10, 25.0).indices.tolist() == [3, 4, 5, 6]
    assert make_sampler("dense_centered", stride=4, max_frames=16).sample(20, 25.0).indices.tolist() == [0, 4, 8, 12, 16]
    with pytest.raises(ValueError, match="max_frames"):
        make_sampler("dense_centered", max_frames=0).sample(10, 25.0)


def test_keyframes_groups_lie_strictly_between_keyframes():
    s = make_sampler("keyframes", keyframe_fps=1.0, per_gap=4).sample(75, 25.0)
    assert s.indices.tolist() == [0, 25, 50]
    assert [g.tolist() for g in s.groups] == [[5, 10, 15, 20], [30, 35, 40, 45], [55, 60, 65, 70]]
    for T in [3, 8, 26, 70, 155]:
        s = make_sampler("keyframes", keyframe_fps=2.0, per_gap=4).sample(T, 25.0)
        bounds = list(s.indices) + [T]
        assert len(s.groups) <= len(s.indices)
        for g, a, b in zip(s.groups, bounds[:-1], bounds[1:]):
            assert len(g) <= 4 and np.all((g > a) & (g < b)), (T, g, a, b)
            assert len(g) == min(4, b - a - 1)
    no_tail = make_sampler("keyframes", include_tail=False).sample(75, 25.0)
    assert len(no_tail.groups) == 2
    assert s.to_dict()["groups"] == [g.tolist() for g in s.groups]


def test_bad_parameters_are_named():
    with pytest.raises(ValueError, match="num_samples"):
        make_sampler("uniform", num_samples=0).sample(10, 25.0)
    with pytest.raises(ValueError, match="stride"):
        make_sampler("dense", stride=0).sample(10, 25.0)
    with pytest.raises(ValueError, match="target_fps"):
        make_sampler("fps", target_fps=-1).sample(10, 25.0)
    with pytest.raises(ValueError, match="phase"):
        make_sampler("fps", phase=1.0).sample(10, 25.0)
    assert math.isclose(make_sampler("fps", target_fps=2.0).sample(10, 25.0).timestamps[0], 0.0)
