"""How much does decoding only the sampled frames save? Run: python benchmarks/decode.py

Writes a 3 s, 224x224, 25 fps H.264 clip (a drifting smooth texture with a moving blob, so the encoder
works about as hard as on real footage; a flat colour would compress to nothing), then times, in the same run:

  (a) 8 uniformly sampled frames, np.round(np.linspace(0, T-1, 8)), with emoprobe.video.read_frames
      (auto backend, which is decord when installed, and PyAV);
  (b) the whole clip decoded to RGB (every frame), with both backends;
  (c) qwen-vl-utils 0.0.14's own decord reader, `_read_video_decord({"video": path, "nframes": 8})`.
      That private function is timed instead of the public `fetch_video`, because `fetch_video` always
      resizes to its pixel budget, and that would time the resize rather than the decode. It reads a
      local path, so no network is involved.

Each figure is the median of several repeats (time.perf_counter), after one warm-up call.
The target is (a) at least 1.5x faster than (b).
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time

import numpy as np

from emoprobe.video import probe, read_frames, write_video

REPEATS = 15
TARGET = 1.5


def make_clip(path, seconds=3, size=224, fps=25, seed=0):
    from PIL import Image, ImageFilter

    rng = np.random.default_rng(seed)
    big = size * 2
    noise = rng.integers(0, 256, (big, big, 3), dtype=np.uint8)
    texture = np.asarray(Image.fromarray(noise).filter(ImageFilter.GaussianBlur(3)), dtype=np.float32)
    texture = (texture - texture.min()) / (np.ptp(texture) + 1e-6) * 255
    yy, xx = np.mgrid[0:size, 0:size]
    frames = []
    n = int(seconds * fps)
    for i in range(n):
        dy, dx = int(20 * np.sin(i / 9)), i * 2  # drift, like a hand-held camera
        img = texture[dy + 60: dy + 60 + size, dx: dx + size].copy()
        cy, cx = size / 2 + 30 * np.sin(i / 6), size / 2 + 30 * np.cos(i / 6)
        blob = np.exp(-(((yy - cy) / 35) ** 2 + ((xx - cx) / 28) ** 2))
        img = img * (1 - blob[..., None]) + blob[..., None] * np.array([220, 170, 140])
        frames.append(np.clip(img, 0, 255).astype(np.uint8))
    return write_video(path, np.stack(frames), fps=fps, crf=23)


def median_time(fn, repeats=REPEATS):
    fn()  # warm-up: imports, file cache
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def decord_available():
    try:
        import decord  # noqa: F401
    except ImportError:
        return False
    return True


def main():
    with tempfile.TemporaryDirectory() as tmp:
        path = make_clip(os.path.join(tmp, "clip.mp4"))
        meta = probe(path)
        T = meta["num_frames"]
        idx = np.round(np.linspace(0, T - 1, 8)).astype(int)
        print(f"clip: {T} frames, {meta['width']}x{meta['height']}, {meta['fps']:g} fps, "
              f"{meta['duration']:g} s, {os.path.getsize(path) / 1024:.0f} KiB; sampled indices {idx.tolist()}")
        print(f"median of {REPEATS} repeats; decord available: {decord_available()}\n")

        rows = []  # (label, seconds)
        rows.append(("probe (metadata: demux packets, no decode)", median_time(lambda: probe(path))))
        backends = ["decord", "pyav"] if decord_available() else ["pyav"]
        sampled, full = {}, {}
        for b in backends:
            sampled[b] = median_time(lambda: read_frames(path, idx, backend=b))
            rows.append((f"(a) 8 sampled frames, read_frames backend={b}", sampled[b]))
        auto = median_time(lambda: read_frames(path, idx, backend="auto"))
        rows.append(("(a) 8 sampled frames, read_frames backend=auto", auto))
        everything = np.arange(T)
        for b in backends:
            full[b] = median_time(lambda: read_frames(path, everything, backend=b))
            rows.append((f"(b) whole clip to RGB, backend={b}", full[b]))
        qwen = None
        try:
            from qwen_vl_utils.vision_process import _read_video_decord

            if decord_available():
                qwen = median_time(lambda: _read_video_decord({"video": path, "nframes": 8}))
                rows.append(("(c) qwen-vl-utils 0.0.14 _read_video_decord, nframes=8", qwen))
        except ImportError as e:
            print(f"(c) skipped: qwen-vl-utils not importable ({e})")

        width = max(len(r[0]) for r in rows)
        print(f"{'measurement':<{width}}  {'ms':>8}")
        for label, t in rows:
            print(f"{label:<{width}}  {t * 1000:8.2f}")

        print("\nratios (higher = the first is faster):")
        met = True
        for b in backends:
            ratio = full[b] / sampled[b]
            met &= ratio >= TARGET
            print(f"  (b)/(a) whole clip vs 8 sampled, {b:6s}: {ratio:5.2f}x")
        best_full = min(full.values())
        print(f"  fastest (b) vs (a) auto                : {best_full / auto:5.2f}x")
        if qwen is not None:
            print(f"  (c)/(a) qwen-vl-utils vs read_frames auto: {qwen / auto:5.2f}x")
        ok = best_full / auto >= TARGET
        print(f"\ntarget: (a) >= {TARGET}x faster than (b): {'MET' if ok else 'NOT MET'} "
              f"(auto vs fastest whole-clip decode); per backend: {'all met' if met else 'not all met'}")
        return 0


if __name__ == "__main__":
    sys.exit(main())
