"""Tests for emoprobe.video: metadata, frame order, backend agreement and errors.

Every clip is written here, small (64x64, 30 frames). Each frame carries its own index as the grey level
of a large flat block (index * 8), so a frame read from the wrong position is caught even after lossy
H.264, and a moving gradient gives the encoder real motion to predict.
"""

import re
import sys

import numpy as np
import pytest

from emoprobe.video import (
    DEFAULT_FRAME_FOLDER_FPS,
    VideoError,
    clip_info,
    read_frames,
    write_frames,
    write_video,
)

N, H, W = 30, 64, 64
STEP = 8  # grey level per frame index in the flat block: 0, 8, ..., 232
BLOCK = (slice(8, 40), slice(8, 40))


def make_frames(n=N):
    yy, xx = np.mgrid[0:H, 0:W]
    frames = []
    for i in range(n):
        img = np.stack([(xx * 4 + i * 6) % 256, (yy * 4 + i * 3) % 256, (xx + yy + i * 5) % 256], -1)
        img = img.astype(np.uint8)
        img[BLOCK] = i * STEP
        frames.append(img)
    return np.stack(frames)


def block_index(frames):
    """The frame index each decoded frame carries, from its flat block (H.264 is lossy: round)."""
    return np.round(frames[:, 12:36, 12:36, :].astype(float).mean(axis=(1, 2, 3)) / STEP).astype(int)


# Variable frame rate: gaps between 10 and 100 ms, written on a fine clock.
VFR_TIMES = np.concatenate([[0.0], np.cumsum(np.random.default_rng(0).uniform(0.01, 0.1, N - 1))])


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    root = tmp_path_factory.mktemp("clips")
    frames = make_frames()
    return {
        "frames": frames,
        "cfr": write_video(root / "cfr.mp4", frames, fps=25),
        "vfr": write_video(root / "vfr.mp4", frames, fps=25, timestamps=VFR_TIMES),
    }


def has_decord():
    try:
        import decord  # noqa: F401
    except ImportError:
        return False
    return True


needs_decord = pytest.mark.skipif(not has_decord(), reason="decord (eva-decord) not installed")


# ------------------------------------------------------------------------------------------- metadata


def test_probe_constant_rate_mp4(clips):
    m = clip_info(clips["cfr"])
    assert m["kind"] == "video" and m["path"] == clips["cfr"]
    assert m["num_frames"] == N
    assert m["fps"] == 25.0 and m["fps_assumed"] is False
    assert m["duration"] == pytest.approx(N / 25)
    assert m["timestamps"].dtype == np.float64
    np.testing.assert_allclose(m["timestamps"], np.arange(N) / 25, atol=1e-9)
    assert (m["width"], m["height"]) == (W, H)


def test_probe_variable_rate_mp4_keeps_written_times(clips):
    m = clip_info(clips["vfr"])
    assert m["num_frames"] == N
    assert np.abs(m["timestamps"] - VFR_TIMES).max() < 1e-3
    # duration = last - first + one (median) frame interval; fps = frames / duration
    expected = VFR_TIMES[-1] + np.median(np.diff(VFR_TIMES))
    assert m["duration"] == pytest.approx(expected, abs=1e-3)
    assert m["fps"] == pytest.approx(N / m["duration"])


@needs_decord
@pytest.mark.parametrize("clip", ["cfr", "vfr"])
def test_probe_timestamps_agree_with_decord(clips, clip):
    import decord

    reader = decord.VideoReader(clips[clip])
    m = clip_info(clips[clip])
    assert len(reader) == m["num_frames"]
    starts = reader.get_frame_timestamp(list(range(len(reader))))[:, 0]
    np.testing.assert_allclose(m["timestamps"], starts, atol=1e-4)


def test_probe_ntsc_rate_is_exact(tmp_path):
    m = clip_info(write_video(tmp_path / "ntsc.mp4", make_frames(6), fps=30000 / 1001))
    assert m["fps"] == pytest.approx(30000 / 1001, abs=1e-9)


def test_frame_folder_sorted_numerically(tmp_path):
    frames = make_frames(12)
    write_frames(tmp_path / "clip", frames, ext="png", name="{i}.{ext}")  # 1.png ... 12.png
    m = clip_info(tmp_path / "clip")
    assert m["kind"] == "frames" and m["num_frames"] == 12
    assert m["fps"] == DEFAULT_FRAME_FOLDER_FPS and m["fps_assumed"] is True
    np.testing.assert_allclose(m["timestamps"], np.arange(12) / DEFAULT_FRAME_FOLDER_FPS)
    assert m["duration"] == pytest.approx(12 / DEFAULT_FRAME_FOLDER_FPS)
    # png is lossless: what comes back is exactly what was written, in numeric (not 1, 10, 11, 2) order
    assert np.array_equal(read_frames(tmp_path / "clip", range(12)), frames)
    assert clip_info(tmp_path / "clip", fps=30)["fps"] == 30.0


def test_frame_folder_dfew_names_and_order(tmp_path):
    frames = make_frames(12)
    write_frames(tmp_path / "00001", frames, ext="jpg", name="00001_{i:05d}.{ext}")
    idx = [11, 0, 5, 5, 10]
    got = read_frames(tmp_path / "00001", idx)
    assert got.shape == (5, H, W, 3) and got.dtype == np.uint8
    assert block_index(got).tolist() == idx


# ------------------------------------------------------------------------------------------- decoding


@pytest.mark.parametrize("backend", ["pyav", pytest.param("decord", marks=needs_decord)])
def test_read_follows_indices_and_content(clips, backend):
    idx = [17, 3, 3, 29, 0, 12, 17]
    got = read_frames(clips["cfr"], idx, backend=backend)
    assert got.shape == (len(idx), H, W, 3) and got.dtype == np.uint8
    assert block_index(got).tolist() == idx


@needs_decord
@pytest.mark.parametrize("clip", ["cfr", "vfr"])
@pytest.mark.parametrize("idx", [[0, 7, 15, 22, 29], [29, 0, 15, 7, 22], [4, 4, 9, 4, 28, 9]],
                         ids=["sorted", "unsorted", "repeated"])
def test_decord_and_pyav_give_identical_pixels(clips, clip, idx):
    a = read_frames(clips[clip], idx, backend="decord")
    b = read_frames(clips[clip], idx, backend="pyav")
    assert np.array_equal(a, b)


def test_uniform_float_indices_accepted(clips):
    idx = np.round(np.linspace(0, N - 1, 8))  # floats, as samplers often produce
    got = read_frames(clips["cfr"], idx, backend="pyav")
    assert block_index(got).tolist() == idx.astype(int).tolist()


def test_empty_indices(clips):
    assert read_frames(clips["cfr"], [], backend="pyav").shape == (0, H, W, 3)


def test_pyav_used_when_decord_missing(clips, monkeypatch):
    expected = read_frames(clips["cfr"], [5, 1], backend="pyav")
    monkeypatch.setitem(sys.modules, "decord", None)  # makes `import decord` raise ImportError
    assert np.array_equal(read_frames(clips["cfr"], [5, 1], backend="auto"), expected)
    with pytest.raises(VideoError, match="decord"):
        read_frames(clips["cfr"], [5, 1], backend="decord")


# ------------------------------------------------------------------------------------------- errors


def raises_naming(path):
    return pytest.raises(VideoError, match=re.escape(str(path)))


def test_video_error_is_value_error():
    assert issubclass(VideoError, ValueError)


BACKENDS = ["auto", "pyav", pytest.param("decord", marks=needs_decord)]


@pytest.mark.parametrize("backend", BACKENDS)
def test_missing_and_empty_files(tmp_path, backend):
    missing, empty = tmp_path / "nope.mp4", tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    for path in (missing, empty):
        with raises_naming(path):
            clip_info(path)
        with raises_naming(path):
            read_frames(path, [0], backend=backend)


@pytest.mark.parametrize("backend", BACKENDS)
def test_garbage_and_truncated_files(tmp_path, clips, backend):
    garbage = tmp_path / "garbage.mp4"
    garbage.write_bytes(np.random.default_rng(1).integers(0, 256, 5000, dtype=np.uint8).tobytes())
    data = open(clips["cfr"], "rb").read()
    truncated = tmp_path / "truncated.mp4"  # the index (moov) is written last, so it is cut off
    truncated.write_bytes(data[: len(data) // 2])
    for path in (garbage, truncated):
        with raises_naming(path):
            clip_info(path)
        with raises_naming(path):
            read_frames(path, [0], backend=backend)


@pytest.mark.parametrize("backend", BACKENDS)
def test_corrupt_frame_data(tmp_path, clips, backend):
    # The index survives but the compressed frames are overwritten: probe succeeds, decoding must not.
    data = bytearray(open(clips["cfr"], "rb").read())
    start = data.find(b"mdat") + 8
    data[start: start + 3000] = np.random.default_rng(2).integers(0, 256, 3000, dtype=np.uint8).tobytes()
    corrupt = tmp_path / "corrupt.mp4"
    corrupt.write_bytes(bytes(data))
    with raises_naming(corrupt):
        read_frames(corrupt, [0, N - 1], backend=backend)


def test_folder_without_images(tmp_path):
    folder = tmp_path / "00042"
    folder.mkdir()
    (folder / "notes.txt").write_text("not a frame")
    with raises_naming(folder):
        clip_info(folder)
    with raises_naming(folder):
        read_frames(folder, [0])


def test_unreadable_image_in_folder(tmp_path):
    write_frames(tmp_path / "clip", make_frames(3), ext="jpg", name="{i}.{ext}")
    (tmp_path / "clip" / "2.jpg").write_bytes(b"not a jpeg")
    with raises_naming(tmp_path / "clip" / "2.jpg"):
        read_frames(tmp_path / "clip", [1])


@pytest.mark.parametrize("backend", BACKENDS)
def test_index_out_of_range(clips, backend):
    for idx in ([0, N], [-1]):
        with pytest.raises(VideoError, match=re.escape(clips["cfr"]) + ".*out of range"):
            read_frames(clips["cfr"], idx, backend=backend)


def test_index_out_of_range_in_folder(tmp_path):
    write_frames(tmp_path / "clip", make_frames(3), ext="png")
    with raises_naming(tmp_path / "clip"):
        read_frames(tmp_path / "clip", [3])


def test_non_integer_index(clips):
    with raises_naming(clips["cfr"]):
        read_frames(clips["cfr"], [1.5])


def test_unknown_backend(clips):
    with pytest.raises(VideoError, match=re.escape(clips["cfr"]) + ".*backend"):
        read_frames(clips["cfr"], [0], backend="opencv")
