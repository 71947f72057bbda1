"""Write a synthetic dataset to disk in the official layout of DFEW, MAFW or FERV39k, plus ground truth.

Layouts (the official releases, as read by MAE-DFER's ``preprocess/*.py``, https://github.com/sunlicai/MAE-DFER):
- DFEW: ``EmoLabel_DataSplit/{train,test}(single-labeled)/set_{k}.csv`` (header ``video_name,label``, official
  1-based ids), frames in ``Clip/jpg_256/<id>/<id>_<nnnnn>.jpg`` (the release's folder name, kept whatever the
  frame size so scripts written for the release find it) or ``videos/<id>.mp4``.
- MAFW: ``clips/<id>.mp4`` (or frames in ``data/frames/<id>/``) and
  ``split/single/no_caption/set_{k}/{train,test}.txt`` with lines like ``00025.mp4 anger``.
- FERV39k: frames in ``2_ClipsforFaceCrop/<Scene>/<Emotion>/<NNNN>/`` and
  ``4_setups/All_scenes/{train,test}_All.csv`` with lines ``<Scene>/<Emotion>/<NNNN> <Emotion>``.

Ground truth the real datasets do not have goes to ``probe_meta.jsonl`` (one JSON object per clip: id, label,
kind, fold/split, path, fps, num_frames, seeds, the event's onset/apex/offset in seconds and frames, the
distractors, and the per-frame AU intensities rounded to 3 decimals) and ``probe_config.json`` (the spec's
parameters).

Determinism: the same spec and options give byte-identical files. JPEG (libjpeg via Pillow) is deterministic;
H.264 frames are converted to yuv420p in numpy (`rgb_to_yuv420p`: PyAV's own conversions gave different
bytes from run to run), x264 runs at a constant quantiser (CRF rate control was not reproducible) with one thread, and the mp4 muxer writes no creation time. `tests/test_synth.py` checks both.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from emoprobe.labels import name_to_id

from .face import DEFAULT_SIZE
from .generate import generate_clip

FORMATS = ("frames", "mp4")
IMAGE_FORMATS = ("jpg", "png")
META_FILE = "probe_meta.jsonl"
CONFIG_FILE = "probe_config.json"
GENERATOR_VERSION = "synth-1"
DFEW_FRAMES_DIR = "Clip/jpg_256"
DFEW_VIDEOS_DIR = "videos"
MAFW_VIDEOS_DIR = "clips"
MAFW_FRAMES_DIR = "data/frames"
FERV39K_FRAMES_DIR = "2_ClipsforFaceCrop"


def clip_relpath(dataset, clip_id, fmt) -> str:
    """Where a clip lives, relative to the dataset root, in each layout."""
    if dataset == "dfew":
        return f"{DFEW_FRAMES_DIR}/{clip_id}" if fmt == "frames" else f"{DFEW_VIDEOS_DIR}/{clip_id}.mp4"
    if dataset == "mafw":
        return f"{MAFW_FRAMES_DIR}/{clip_id}" if fmt == "frames" else f"{MAFW_VIDEOS_DIR}/{clip_id}.mp4"
    if dataset == "ferv39k":
        if fmt != "frames":
            raise ValueError("format: FERV39k is released as frame folders only; use format='frames'")
        return f"{FERV39K_FRAMES_DIR}/{clip_id}"
    raise ValueError(f"unknown dataset {dataset!r}; expected dfew, mafw or ferv39k")


def rgb_to_yuv420p(image) -> np.ndarray:
    """BT.601 limited-range YUV 4:2:0 planes of an (H, W, 3) uint8 RGB image, as one (H*3/2, W) uint8 array.

    Done in numpy because both PyAV conversions (the implicit one in encode() and `reformat`) gave
    different bytes from run to run for identical frames (measured on this machine), which made mp4 files
    non-reproducible. Chroma is the mean of each 2x2 block.
    """
    x = image.astype(np.float32)
    r, g, b = x[..., 0], x[..., 1], x[..., 2]
    y = 16.0 + (65.481 * r + 128.553 * g + 24.966 * b) / 255.0
    cb = 128.0 + (-37.797 * r - 74.203 * g + 112.0 * b) / 255.0
    cr = 128.0 + (112.0 * r - 93.786 * g - 18.214 * b) / 255.0
    h, w = y.shape
    cb = cb.reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3))
    cr = cr.reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3))
    planes = np.concatenate([y.ravel(), cb.ravel(), cr.ravel()])
    return np.clip(np.rint(planes), 0, 255).astype(np.uint8).reshape(h * 3 // 2, w)


def _write_mp4(path, frames, fps):
    import av
    from fractions import Fraction

    rate = Fraction(fps).limit_denominator(1001)
    with av.open(str(path), "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=rate)
        stream.width, stream.height = frames.shape[2], frames.shape[1]
        stream.pix_fmt = "yuv420p"
        stream.time_base = 1 / rate
        stream.codec_context.time_base = 1 / rate
        stream.codec_context.thread_count = 1
        # Constant quantiser, one thread, one lookahead thread. With CRF rate control the same frames gave
        # different bytes in a sizeable share of encodes (measured here, with and without thread options);
        # constant QP 16 (close to visually lossless) gave identical bytes in every repeat we ran.
        stream.options = {"qp": "16", "x264-params": "threads=1:lookahead-threads=1:sliced-threads=0"}
        for i, image in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(rgb_to_yuv420p(image), format="yuv420p")
            frame.pts = i
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))


def _write_clip(job):
    clip, size, root, dataset, fmt, quality, image_format, crop_size = job
    from emoprobe.video import write_frames

    rendered = generate_clip(**clip, size=size)
    if crop_size:
        from .crop import face_crop

        rendered["frames"] = face_crop(rendered["frames"], crop_size)
    side = crop_size or size
    rel = clip_relpath(dataset, clip["id"], fmt)
    target = Path(root) / rel
    if fmt == "frames":
        name = f"{clip['id']}_{{i:05d}}.{{ext}}" if dataset == "dfew" else "{i:05d}.{ext}"
        write_frames(target, rendered["frames"], ext=image_format, name=name, quality=quality)
    else:
        if side % 2:
            raise ValueError(f"size: mp4 (yuv420p) needs an even frame size, got {side}")
        target.parent.mkdir(parents=True, exist_ok=True)
        _write_mp4(target, rendered["frames"], clip["fps"])
    return meta_row(rendered, dataset, rel)


def meta_row(rendered, dataset, path) -> dict:
    """The probe_meta.jsonl row of a rendered clip (plain JSON types, floats rounded so files are stable)."""
    return {
        "id": rendered["id"], "dataset": dataset, "label": rendered["label"], "kind": rendered["kind"],
        "fold": rendered.get("fold"), "split": rendered.get("split"), "scene": rendered.get("scene"),
        "path": path, "fps": rendered["fps"], "num_frames": rendered["num_frames"],
        "duration_s": round(rendered["num_frames"] / rendered["fps"], 6), "seed": rendered["seed"],
        "identity_seed": rendered["identity_seed"], "event": rendered["event"], "nuisance": rendered["nuisance"],
        "au_names": list(rendered["au_names"]),
        "aus": np.round(rendered["aus"].astype(np.float64), 3).tolist(),
    }


def _dump(obj) -> str:
    def default(o):
        if isinstance(o, np.generic):
            return o.item()
        if isinstance(o, np.ndarray):
            return o.tolist()
        raise TypeError(f"not JSON serialisable: {type(o).__name__}")

    return json.dumps(obj, sort_keys=True, default=default, separators=(",", ":"))


def _write_text(path, lines):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write("".join(line + "\n" for line in lines))


def _write_splits(root, spec):
    dataset = spec["params"]["dataset"]
    clips = sorted(spec["clips"], key=lambda c: c["id"])
    written = []
    if dataset in ("dfew", "mafw"):
        for k in range(1, spec["params"]["folds"] + 1):
            for split in ("train", "test"):
                rows = [c for c in clips if (c["fold"] == k) == (split == "test")]
                if dataset == "dfew":
                    p = root / "EmoLabel_DataSplit" / f"{split}(single-labeled)" / f"set_{k}.csv"
                    _write_text(p, ["video_name,label"] + [f"{c['id']},{name_to_id('dfew', 'official', c['label'])}"
                                                           for c in rows])
                else:
                    p = root / "split" / "single" / "no_caption" / f"set_{k}" / f"{split}.txt"
                    _write_text(p, [f"{c['id']}.mp4 {c['label']}" for c in rows])
                written.append(p)
    else:
        for split in ("train", "test"):
            p = root / "4_setups" / "All_scenes" / f"{split}_All.csv"
            _write_text(p, [f"{c['id']} {c['label'].capitalize()}" for c in clips if c["split"] == split])
            written.append(p)
    return written


def write_dataset(spec, out, format="frames", size=DEFAULT_SIZE, workers=1, progress=True, jpeg_quality=95,
                  image_format="jpg", crop_size=None) -> dict:
    """Render every clip of `spec` (from make_dataset_spec) and write the dataset under `out`.

    Parameters
    ----------
    format : "frames" (image folders) or "mp4" (H.264; not for FERV39k, which ships frames only).
    size : rendered frame side in pixels (even for mp4).
    image_format : "jpg" (what DFEW and FERV39k ship) or "png" (lossless: the pixels a model reads back are the
        ones rendered, as in the probe's training pools).
    crop_size : None, or the side of the face crop (emoprobe.data.synth.crop.face_crop) written instead of the
        whole frame, as the real datasets ship face-cropped clips.
    workers : processes rendering in parallel (output is identical for any number).
    progress : show a progress bar (emoprobe.progress.bar).

    Returns a summary dict: root, dataset, clips, frames, format, split_files, meta (path of probe_meta.jsonl).
    """
    if format not in FORMATS:
        raise ValueError(f"format: expected one of {FORMATS}, got {format!r}")
    if image_format not in IMAGE_FORMATS:
        raise ValueError(f"image_format: expected one of {IMAGE_FORMATS}, got {image_format!r}")
    dataset = spec["params"]["dataset"]
    clip_relpath(dataset, "x", format)  # refuses mp4 for FERV39k before any work
    root = Path(out)
    root.mkdir(parents=True, exist_ok=True)
    jobs = [(clip, size, str(root), dataset, format, jpeg_quality, image_format, crop_size) for clip in spec["clips"]]
    from emoprobe.progress import bar

    rows = []
    # emoprobe.progress: one line every half minute in a log, one report per job from a training worker
    with bar(len(jobs), f"synth {dataset}", progress, unit="clip") as b:
        if workers and workers > 1:
            import multiprocessing as mp

            with mp.get_context("fork").Pool(workers) as pool:
                for row in pool.imap(_write_clip, jobs, chunksize=2):
                    rows.append(row)
                    b.update(1)
        else:
            for job in jobs:
                rows.append(_write_clip(job))
                b.update(1)
    split_files = _write_splits(root, spec)
    _write_text(root / META_FILE, [_dump(r) for r in rows])
    config = dict(spec["params"], format=format, size=size, generator=GENERATOR_VERSION, jpeg_quality=jpeg_quality,
                  image_format=image_format, crop_size=crop_size)
    with open(root / CONFIG_FILE, "w", encoding="utf-8", newline="\n") as f:
        f.write(json.dumps(config, sort_keys=True, indent=1, default=str) + "\n")
    return {"root": os.fspath(root), "dataset": dataset, "clips": len(rows),
            "frames": int(sum(r["num_frames"] for r in rows)), "format": format,
            "split_files": [os.fspath(p) for p in split_files], "meta": os.fspath(root / META_FILE)}
