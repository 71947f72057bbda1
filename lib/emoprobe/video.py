"""Open and decode clips in the forms DFEW, MAFW and FERV39k ship them: mp4 files or folders of frames.

Two functions do the work: `clip_info` (metadata, no pixel decoding) and `read_frames` (only the requested
frames, as uint8 RGB). `write_video` and `write_frames` (emoprobe.video_write, re-exported here) produce the
same on-disk forms, for tests and the synthetic-data generator.

Why it is built this way:
- Per-frame timestamps come from the demuxed packets' pts, sorted. Reading packets costs no decoding, and
  the container's own times are right for variable-frame-rate files, where `index / fps` drifts.
- Frame folders store no rate. The caller's `fps` is used, else `DEFAULT_FRAME_FOLDER_FPS`, and
  `fps_assumed=True` says that it was a guess. Every table's "which fps?" answer depends on it.
- `fps` is always `num_frames / duration`, with `duration = last - first timestamp + one frame interval`
  (the median gap between frames). For a constant-rate clip that equals the stream's average rate exactly,
  and `duration == num_frames / fps` holds for mp4 files and frame folders alike.
- decord and PyAV must give identical pixels, or a score would depend on which package happened to be
  installed. Both hand the decoded YUV frame to libswscale at the same size, honour the stream's colour
  tags, and produce rgb24. This was checked across yuv420p/yuvj420p/yuv444p, BT.601/BT.709 tags, H.264 and
  MPEG-4 Part 2, and odd sizes. PyAV's `to_ndarray(format="rgb24")` already matches bit for bit, so no
  colour options are set (the interpolation flag has no effect when the size does not change); only
  `threads=1` is set, for speed. `tests/test_video.py` keeps checking the agreement.
- Every failure becomes `VideoError`, which names the file and says what was expected. A data loader
  running over 10,000 clips has to say which clip was bad.
"""

from __future__ import annotations

import os
import re
from fractions import Fraction

import numpy as np

from emoprobe.video_write import write_frames, write_video  # noqa: F401  (the writers, beside the readers)

DEFAULT_FRAME_FOLDER_FPS = 25.0
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".webp")
BACKENDS = ("auto", "decord", "pyav")


class VideoError(ValueError):
    """A clip could not be opened or read. The message names the file and says what was expected."""


# --------------------------------------------------------------------------------------------- metadata


def clip_info(path, fps=None) -> dict:
    """Read a clip's metadata without decoding any pixels.

    Parameters
    ----------
    path : str or Path
        A video file (mp4, avi, mkv, ...) or a folder of jpg/png frames, sorted by the numbers in
        their names (natural order: ``2.jpg`` comes before ``10.jpg``).
    fps : float, optional
        The frame rate to assume when the clip does not store one (frame folders, or raw streams without
        timestamps). When a video container stores timing, that timing wins and this is ignored.

    Returns
    -------
    dict
        ``path`` (str), ``kind`` ("video" or "frames"), ``num_frames``, ``fps`` (num_frames / duration),
        ``duration`` (seconds, last - first timestamp + one frame interval), ``timestamps`` (float64
        seconds per frame in presentation order, starting at 0), ``width``, ``height``, ``fps_assumed``
        (True if fps came from the argument or the default rather than from the file).
    """
    path = _check_exists(path)
    if os.path.isdir(path):
        return _probe_folder(path, fps)
    return _probe_video(path, fps)


def _probe_folder(path, fps):
    files = _frame_files(path)
    try:
        from PIL import Image

        with Image.open(files[0]) as im:  # opening reads only the header
            width, height = im.size
    except Exception as e:
        raise VideoError(f"{files[0]}: expected a readable image (first frame of {path}); {e}") from e
    rate = float(fps) if fps is not None else DEFAULT_FRAME_FOLDER_FPS
    n = len(files)
    return {
        "path": path,
        "kind": "frames",
        "num_frames": n,
        "fps": rate,
        "duration": n / rate,
        "timestamps": np.arange(n, dtype=np.float64) / rate,
        "width": int(width),
        "height": int(height),
        "fps_assumed": True,
    }


def _probe_video(path, fps):
    import av

    try:
        with av.open(path) as container:
            stream = _video_stream(container, path)
            width, height = stream.codec_context.width, stream.codec_context.height
            tb = stream.time_base
            rate_hint = stream.average_rate or stream.guessed_rate
            ticks = []
            for packet in container.demux(stream):
                # size 0 is the end-of-stream flush packet. Discarded packets (before an edit list's
                # start) are decoded but never shown, so they are not frames of the clip.
                if packet.size == 0 or packet.is_discard:
                    continue
                ticks.append(packet.pts if packet.pts is not None else packet.dts)
    except VideoError:
        raise
    except (av.error.FFmpegError, OSError) as e:
        raise VideoError(f"{path}: expected a readable video file; {type(e).__name__}: {e}") from e

    n = len(ticks)
    if n == 0:
        raise VideoError(f"{path}: expected at least one video frame, found none")

    if tb is not None and all(t is not None for t in ticks):
        ticks = np.sort(np.asarray(ticks, dtype=np.int64))
        ticks -= ticks[0]
        gaps = np.diff(ticks)
        gaps = gaps[gaps > 0]
        assumed = False
        if len(gaps):
            interval = Fraction(float(np.median(gaps))) * tb  # a median of ints is exact in binary
        elif rate_hint:  # a single frame: only the header knows how long it lasts
            interval = 1 / Fraction(rate_hint)
        else:
            interval = 1 / Fraction(fps if fps is not None else DEFAULT_FRAME_FOLDER_FPS)
            assumed = True
        # Fractions keep a 25 fps clip at exactly 25.0 rather than 25.000000000000004.
        duration = Fraction(int(ticks[-1])) * tb + interval
        timestamps = ticks.astype(np.float64) * tb.numerator / tb.denominator
        rate = float(n / duration)
    else:
        # No timing in the container (e.g. a raw .h264 stream): fall back to a constant rate.
        if fps is not None:
            rate, assumed = float(fps), True
        elif rate_hint:
            rate, assumed = float(rate_hint), False
        else:
            rate, assumed = DEFAULT_FRAME_FOLDER_FPS, True
        timestamps = np.arange(n, dtype=np.float64) / rate
        duration = n / rate

    return {
        "path": path,
        "kind": "video",
        "num_frames": n,
        "fps": rate,
        "duration": float(duration),
        "timestamps": timestamps,
        "width": int(width),
        "height": int(height),
        "fps_assumed": assumed,
    }


# --------------------------------------------------------------------------------------------- decoding


def read_frames(path, indices, backend="auto", fps=None) -> np.ndarray:
    """Decode the frames at `indices` and return them as an (n, H, W, 3) uint8 RGB array.

    Parameters
    ----------
    path : str or Path
        A video file or a folder of frames (see `clip_info`).
    indices : sequence of int
        Frame indices in presentation order, 0-based. They may repeat and may be unsorted (a shuffled
        sampler). The output follows this order, and each distinct frame is decoded once. Whole-valued
        floats such as ``np.round(np.linspace(...))`` are accepted.
    backend : {"auto", "decord", "pyav"}
        How to decode a video file. "decord" uses ``decord.VideoReader.get_batch``. "pyav" decodes
        sequentially, stops after the largest requested index, and converts only the requested frames to
        RGB. "auto" uses decord if it can be imported, otherwise PyAV. Both give identical pixels. Frame
        folders are always read with PIL, and only the requested files are opened.
    fps : float, optional
        Accepted so that callers can pass the same arguments to `clip_info` and `read_frames`. Pixels do not
        depend on it.
    """
    path = _check_exists(path)
    if backend not in BACKENDS:
        raise VideoError(f"{path}: expected backend to be one of {BACKENDS}, got {backend!r}")
    wanted = _as_indices(indices, path)

    if os.path.isdir(path):
        return _read_folder(path, wanted)
    if len(wanted) == 0:
        meta = _probe_video(path, fps)
        return np.empty((0, meta["height"], meta["width"], 3), dtype=np.uint8)

    if backend == "auto":
        backend = "decord" if _import_decord() is not None else "pyav"
    if backend == "decord":
        return _read_decord(path, wanted)
    return _read_pyav(path, wanted)


def _read_folder(path, wanted):
    from PIL import Image

    files = _frame_files(path)
    _check_range(wanted, len(files), path)
    if len(wanted) == 0:
        meta = _probe_folder(path, None)
        return np.empty((0, meta["height"], meta["width"], 3), dtype=np.uint8)
    got = {}
    for i in np.unique(wanted).tolist():
        try:
            with Image.open(files[i]) as im:
                got[i] = np.asarray(im.convert("RGB"))
        except Exception as e:
            raise VideoError(f"{files[i]}: expected a readable image (frame {i} of {path}); {e}") from e
    sizes = {f.shape[1::-1] for f in got.values()}
    if len(sizes) > 1:
        raise VideoError(f"{path}: expected all frames to have one size, found (width, height) {sorted(sizes)}")
    return np.stack([got[i] for i in wanted.tolist()])


def _read_decord(path, wanted):
    decord = _import_decord()
    if decord is None:
        raise VideoError(f"{path}: backend 'decord' was requested but decord cannot be imported; "
                         "install eva-decord or use backend='pyav'")
    # decord raises (it neither hangs nor crashes) on missing, empty, garbage and truncated files
    # (checked with 0.6.x), so its errors are only translated here, not pre-validated with PyAV.
    try:
        reader = decord.VideoReader(path)
        _check_range(wanted, len(reader), path)
        unique, inverse = np.unique(wanted, return_inverse=True)
        batch = reader.get_batch(unique.tolist())
    except VideoError:
        raise
    except Exception as e:  # decord raises RuntimeError / DECORDError with C++ log text
        raise VideoError(f"{path}: expected a decodable video file; decord: {str(e).strip()[:300]}") from e
    # Someone may have called decord.bridge.set_bridge("torch"); then get_batch returns a tensor.
    frames = batch.asnumpy() if hasattr(batch, "asnumpy") else np.asarray(batch)
    return np.ascontiguousarray(frames[inverse])


def _read_pyav(path, wanted):
    import av

    targets = set(wanted.tolist())
    last = max(targets)
    got = {}
    index, stage = -1, "opening it"
    try:
        with av.open(path) as container:
            stream = _video_stream(container, path)
            stage = "reading its packets"
            # Presentation timestamps of every frame, from the packets alone (no decoding): they let the
            # decoder skip the frames nobody asked for, below.
            pts = sorted(p.pts for p in container.demux(stream) if p.size)
        with av.open(path) as container:
            stream = _video_stream(container, path)
            stage = "decoding"
            if len(pts) > last and len(targets) < len(pts) // 2:
                got = _decode_skipping(container, stream, {pts[i]: i for i in targets}, pts[last])
            if len(got) < len(targets):  # a file whose timestamps do not identify frames: decode them all
                got = {}
                container.seek(0)
                stream.thread_type = "AUTO"  # threads change speed, not pixels
                # The decoder returns frames in presentation order, so the running count is the index.
                for index, frame in enumerate(container.decode(stream)):
                    if index in targets:
                        got[index] = frame.to_ndarray(format="rgb24", threads=1)
                    if index >= last:
                        break
    except VideoError:
        raise
    except (av.error.FFmpegError, OSError) as e:
        if stage == "decoding" and index >= 0:  # the full decode counts frames; the skipping one does not
            stage = f"decoding, after {index + 1} good frames"
        raise VideoError(f"{path}: expected a decodable video file; failed while {stage}; "
                         f"{type(e).__name__}: {e}") from e
    if last not in got:
        # index >= 0: the full decode ran and stopped early, so index + 1 frames are all there is to decode
        decodable = index + 1 if index >= 0 else len(pts)
        short = f", although its packets list {len(pts)} (the file is cut short)" if len(pts) > decodable else ""
        raise VideoError(f"{path}: frame index {last} out of range; {decodable} frames can be decoded{short}; "
                         f"expected indices in [0, {decodable - 1}]")
    return np.stack([got[i] for i in wanted.tolist()])  # one copy, in the caller's order


def _decode_skipping(container, stream, wanted_pts: dict, last_pts):
    """Decode the requested frames, telling the decoder to skip every unrequested non-reference frame.

    No other frame is predicted from a non-reference frame, so skipping one cannot change the pixels of a
    frame that is decoded; the test suite checks the result against decord. Skipping is decided per packet,
    which needs a single-threaded decoder (frame threads would apply the setting to packets already queued).
    to_ndarray uses threads=1: by default PyAV builds a multi-threaded swscale context for every frame, and
    setting up those threads costs more than converting a small frame.
    """
    codec = stream.codec_context
    got = {}
    for packet in container.demux(stream):
        if packet.pts is not None:
            codec.skip_frame = "DEFAULT" if packet.pts in wanted_pts else "NONREF"
        for frame in codec.decode(packet):
            if frame.pts in wanted_pts:
                got[wanted_pts[frame.pts]] = frame.to_ndarray(format="rgb24", threads=1)
        if len(got) == len(wanted_pts) and packet.pts is not None and packet.pts >= last_pts:
            break
    return got


# --------------------------------------------------------------------------------------------- helpers


def _check_exists(path):
    path = os.fspath(path)
    if not os.path.exists(path):
        raise VideoError(f"{path}: does not exist; expected a video file or a folder of jpg/png frames")
    if os.path.isfile(path) and os.path.getsize(path) == 0:
        raise VideoError(f"{path}: is an empty (0-byte) file; expected a video file")
    return path


def _natural_key(name):
    # "10.jpg" must come after "2.jpg": compare digit runs as numbers, the rest as text.
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", name)]


def _frame_files(folder):
    names = [n for n in os.listdir(folder)
             if not n.startswith(".") and n.lower().endswith(IMAGE_EXTENSIONS)]
    if not names:
        raise VideoError(f"{folder}: expected a folder of frame images ({', '.join(IMAGE_EXTENSIONS)}), found none")
    return [os.path.join(folder, n) for n in sorted(names, key=_natural_key)]


def _video_stream(container, path):
    if not container.streams.video:
        raise VideoError(f"{path}: expected a video stream, the file has none")
    return container.streams.video[0]


def _as_indices(indices, path):
    arr = np.asarray(indices)
    if arr.ndim != 1:
        raise VideoError(f"{path}: expected a 1-D sequence of frame indices, got shape {arr.shape}")
    if arr.size and not np.issubdtype(arr.dtype, np.integer):
        if not np.issubdtype(arr.dtype, np.floating) or not np.all(arr == np.round(arr)):
            raise VideoError(f"{path}: expected whole-number frame indices, got {arr[:8].tolist()}...")
    arr = arr.astype(np.int64)
    if arr.size and arr.min() < 0:
        # Negative indices are refused rather than wrapped: a sampler bug should not silently read the end.
        raise VideoError(f"{path}: frame index {int(arr.min())} out of range; expected indices >= 0")
    return arr


def _check_range(wanted, n, path):
    if len(wanted) and wanted.max() >= n:
        raise VideoError(f"{path}: frame index {int(wanted.max())} out of range; the clip has {n} frames "
                         f"(expected indices in [0, {n - 1}])")


def _import_decord():
    # Imported on each call (cheap once loaded) so tests can hide it through sys.modules.
    try:
        import decord
    except ImportError:
        return None
    return decord
