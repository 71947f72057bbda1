"""Write clips in the forms the datasets ship them: mp4 files (PyAV) and folders of frames (Pillow).

For tests and the synthetic-data generator; emoprobe.video reads both forms back (its ``clip_info`` and
``read_frames``), so a written clip round-trips through the same code a dataset's clips go through.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np

__all__ = ["write_frames", "write_video"]


def write_video(path, frames, fps, codec="libx264", timestamps=None, crf=18) -> str:
    """Encode RGB frames into a video file with PyAV.

    Parameters
    ----------
    path : str or Path
        Output file; the container follows the extension (use .mp4 to match the datasets).
    frames : array-like, (n, H, W, 3) uint8 RGB
        H and W must be even for the usual yuv420p encoders.
    fps : float
        Nominal frame rate. Without `timestamps` each frame lasts exactly 1 / fps.
    codec : str
        Encoder name, e.g. "libx264" (H.264, what the datasets use) or "mpeg4".
    timestamps : sequence of float, optional
        Presentation time of each frame in seconds, increasing. Use this for a variable-frame-rate file.
        The times are stored on a 1/90000 s clock (the MPEG clock), so they survive to well under 1 ms.
    crf : int or None
        Constant rate factor for libx264/libx265 (lower means higher quality; 18 is close to visually
        lossless, so tests can check flat-colour content). Ignored by other encoders.

    Returns the path as a str.
    """
    import av

    path = str(path)
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8 or len(frames) == 0:
        raise ValueError(f"{path}: expected frames of shape (n>0, H, W, 3) uint8, got {frames.shape} {frames.dtype}")
    if timestamps is not None and len(timestamps) != len(frames):
        raise ValueError(f"{path}: expected {len(frames)} timestamps, got {len(timestamps)}")
    rate = Fraction(fps).limit_denominator(1001)  # keeps 30000/1001 (29.97) exact
    time_base = Fraction(1, 90000) if timestamps is not None else 1 / rate
    pts = (np.round(np.asarray(timestamps, dtype=np.float64) * 90000).astype(np.int64)
           if timestamps is not None else np.arange(len(frames)))
    if np.any(np.diff(pts) <= 0):
        raise ValueError(f"{path}: expected strictly increasing timestamps")

    with av.open(path, "w") as container:
        stream = container.add_stream(codec, rate=rate)
        stream.width, stream.height = frames.shape[2], frames.shape[1]
        stream.pix_fmt = "yuv420p"
        stream.time_base = time_base
        stream.codec_context.time_base = time_base
        if crf is not None and codec in ("libx264", "libx265"):
            stream.options = {"crf": str(crf)}
        for image, t in zip(frames, pts):
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts, frame.time_base = int(t), time_base
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path


def write_frames(folder, frames, ext="jpg", name="{i:05d}.{ext}", start=1, quality=95) -> list:
    """Write RGB frames as one image file each, the way the datasets' frame folders look.

    Parameters
    ----------
    folder : str or Path
        Created if missing.
    frames : array-like, (n, H, W, 3) uint8 RGB
    ext : str
        "jpg" or "png" (png is lossless, jpg is what DFEW and FERV39k ship).
    name : str
        A format pattern with the fields ``i`` (frame number) and ``ext``. Examples: "{i:05d}.{ext}";
        DFEW "00001_{i:05d}.{ext}"; FERV39k / DFER-CLIP "{i}.{ext}".
    start : int
        Number of the first frame (the datasets count from 1).
    quality : int
        JPEG quality (ignored for png).

    Returns the list of written paths (str), in frame order.
    """
    from PIL import Image

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for k, image in enumerate(np.asarray(frames, dtype=np.uint8)):
        p = folder / name.format(i=start + k, ext=ext)
        options = {"quality": quality} if ext.lower() in ("jpg", "jpeg") else {}
        Image.fromarray(image).save(p, **options)  # (H, W, 3) uint8 is RGB
        paths.append(str(p))
    return paths
