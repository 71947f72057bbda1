"""Plan a synthetic dataset (classes, folds, clip lengths, event kinds) and render its clips in memory.

The two steps are separate on purpose: `make_dataset_spec` is cheap plain data (one dict per clip, carrying
every seed), so a spec can be inspected, saved, split or filtered before anything is rendered, and
`generate_clip(**clip)` renders any one clip alone, identically every time.

Class priors follow the real single-label counts (emoprobe.reference.CLASS_COUNTS, counted from the public
split lists) or are balanced. Counts per class are allocated exactly (largest remainder), not drawn, so even a
small probe has the real shape; when there are at least as many clips as classes every class gets one.
Folds are stratified like the real DFEW/MAFW folds (each class spread evenly over 5 folds); FERV39k-shaped
sets get a stratified train/test split of 20.15 % test (7,847 / 38,935: FERV39k's official split, Wang et al.,
CVPR 2022).

Clip lengths: the real datasets publish frame counts but no frame rate (emoprobe.reference.ASSUMED_FPS_RANGE).
Counts are drawn with `emoprobe.reference.frame_count_sample`, read as frames at `length_fps` (default 25), and
converted to the clip's `fps`: num_frames = round(count * fps / length_fps). With the defaults a clip has
exactly the drawn count.
"""

from __future__ import annotations

import numpy as np

from emoprobe.labels import LABEL_SETS, label_set
from emoprobe.reference import CLASS_COUNTS, frame_count_sample

from .aus import AU_NAMES, TRAJECTORY_CLASSES, prototype_variants
from .face import DEFAULT_SIZE, prepare, render
from .identity import sample_identity
from .timeline import make_timeline

DEFAULT_FPS = 25.0
LENGTH_FPS = 25.0
FOLDS = 5
FERV39K_TEST_FRACTION = 7847 / 38935
PRIORS = ("dfew", "mafw", "ferv39k", "balanced")

# FERV39k clips per scene, computed from the clip paths of DFER-CLIP's annotation/FERV39K_{train,test}.txt
# (https://github.com/zengqunzhao/DFER-CLIP): scenes of the probe follow these shares.
FERV39K_SCENE_COUNTS = {
    "History": 2690, "Argue": 2655, "Conflict": 2491, "War": 2456, "Contest": 2400, "DailyLife": 2339,
    "Interview": 2099, "Terror": 2099, "ScholarReport": 2014, "School": 2012, "Crime": 1871, "Speech": 1834,
    "Business": 1776, "Talkshow": 1736, "Crisis": 1494, "OfficialEvent": 1423, "ElegantArt": 1242,
    "Liveshow": 1131, "Social": 1121, "Action": 804, "Medicine": 692, "Experiment": 556,
}


def _allocate(weights: dict, total: int) -> dict:
    """Integer counts proportional to `weights` summing to `total` (largest remainder; >= 1 each if possible)."""
    names = list(weights)
    w = np.array([weights[k] for k in names], dtype=np.float64)
    floor_one = total >= len(names)
    base = np.ones(len(names), int) if floor_one else np.zeros(len(names), int)
    rest = total - base.sum()
    share = w / w.sum() * rest
    counts = base + np.floor(share).astype(int)
    remainder = share - np.floor(share)
    # ties broken by class order, so the allocation never depends on floating-point noise between runs
    for i in sorted(range(len(names)), key=lambda i: (-round(remainder[i], 9), i))[: total - counts.sum()]:
        counts[i] += 1
    return dict(zip(names, counts.tolist()))


def class_counts(prior: str, clips: int, dataset: str | None = None) -> dict:
    """Clips per class for a prior ("dfew", "mafw", "ferv39k" or "balanced" over `dataset`'s classes)."""
    if prior not in PRIORS:
        raise ValueError(f"prior: expected one of {PRIORS}, got {prior!r}")
    dataset = dataset or (prior if prior != "balanced" else "dfew")
    names = label_set(dataset)
    if prior == "balanced":
        weights = {k: 1.0 for k in names}
    else:
        if set(CLASS_COUNTS[prior]) != set(names):
            raise ValueError(f"prior {prior!r} has the classes of {prior}, not of dataset {dataset!r}; "
                             f"use prior='balanced' or dataset={prior!r}")
        weights = {k: CLASS_COUNTS[prior][k] for k in names}
    if clips < 1:
        raise ValueError(f"clips: expected at least 1, got {clips}")
    return _allocate(weights, int(clips))


def make_dataset_spec(prior="dfew", clips=1000, seed=0, dataset=None, micro_fraction=0.0, fps=DEFAULT_FPS,
                      lengths=None, length_fps=LENGTH_FPS, folds=FOLDS, test_fraction=FERV39K_TEST_FRACTION,
                      identities=None, **clip_options) -> dict:
    """Plan a dataset: one plain dict per clip with label, kind, fold/split, length and seeds.

    Parameters
    ----------
    prior : "dfew", "mafw", "ferv39k" (real class counts) or "balanced".
    clips : number of clips.
    seed : everything (labels, folds, lengths, each clip's seed) follows from it.
    dataset : label set and layout ("dfew", "mafw", "ferv39k"); defaults to the prior's dataset ("dfew" for
        "balanced").
    micro_fraction : share of the clips that *can* be micro-expressions (every class except neutral and the
        trajectory classes) that are micro-expressions; allocated exactly per class.
    fps : frame rate of the generated clips.
    lengths : where clip lengths come from: a dataset name (its frame-count quantiles), an int (every clip
        has that many frames), or None (the layout dataset's distribution).
    length_fps : the rate at which the real frame counts are read (see the module docstring).
    folds : number of stratified folds for DFEW/MAFW-shaped sets (the real sets use 5).
    test_fraction : FERV39k-shaped sets: share of each class in the test split.
    identities : None gives every clip its own identity; an int draws identities from a pool of that size.
    clip_options : stored in the spec and passed to `generate_clip` (e.g. nuisance=False, mask_probability).

    Returns {"params": {...}, "clips": [clip dicts]}. Each clip dict can be passed as keyword arguments to
    `generate_clip` (with `size`), e.g. `generate_clip(**spec["clips"][0], size=64)`.
    """
    dataset = dataset or (prior if prior != "balanced" else "dfew")
    if dataset not in LABEL_SETS:
        raise ValueError(f"dataset: expected one of {sorted(LABEL_SETS)}, got {dataset!r}")
    if not 0.0 <= micro_fraction <= 1.0:
        raise ValueError(f"micro_fraction: expected a share in [0, 1], got {micro_fraction}")
    if fps <= 0:
        raise ValueError(f"fps: expected a positive frame rate, got {fps}")
    counts = class_counts(prior, clips, dataset)
    rng = np.random.default_rng(seed)

    labels, kinds = [], []
    for name, n in counts.items():
        variants = prototype_variants(name)
        if not any(variants[0].values()):
            k = ["none"] * n
        elif name in TRAJECTORY_CLASSES:
            k = ["trajectory"] * n
        else:
            n_micro = int(round(micro_fraction * n))
            k = ["micro"] * n_micro + ["macro"] * (n - n_micro)
            rng.shuffle(k)
        labels += [name] * n
        kinds += k
    order = rng.permutation(len(labels))  # clip ids are not grouped by class, as in the real releases
    labels = [labels[i] for i in order]
    kinds = [kinds[i] for i in order]
    n = len(labels)

    if lengths is None:
        lengths = dataset
    if isinstance(lengths, (int, np.integer)):
        if lengths < 1:
            raise ValueError(f"lengths: expected a positive frame count, got {lengths}")
        num_frames = np.full(n, int(lengths))
    else:
        drawn = frame_count_sample(lengths, n, rng)
        num_frames = np.maximum(1, np.rint(drawn * fps / length_fps)).astype(int)

    clip_seeds = rng.integers(0, 2**31 - 1, size=n)
    if identities is None:
        id_seeds = rng.integers(0, 2**31 - 1, size=n)
    else:
        pool = rng.integers(0, 2**31 - 1, size=int(identities))
        id_seeds = pool[rng.integers(0, len(pool), size=n)]

    # stratified folds / split: within each class, spread clips round-robin from a rotating start
    fold = [None] * n
    split = [None] * n
    by_class: dict[str, list[int]] = {}
    for i, name in enumerate(labels):
        by_class.setdefault(name, []).append(i)
    if dataset == "ferv39k":
        for name, idx in by_class.items():
            perm = rng.permutation(idx)
            n_test = int(round(test_fraction * len(idx)))
            for j, i in enumerate(perm):
                split[i] = "test" if j < n_test else "train"
    else:
        if folds < 2:
            raise ValueError(f"folds: expected at least 2, got {folds}")
        start = 0
        for name, idx in by_class.items():
            perm = rng.permutation(idx)
            for j, i in enumerate(perm):
                fold[i] = int((start + j) % folds) + 1
            start = (start + len(idx)) % folds

    scenes = [None] * n
    if dataset == "ferv39k":
        names = list(FERV39K_SCENE_COUNTS)
        p = np.array([FERV39K_SCENE_COUNTS[k] for k in names], dtype=np.float64)
        scenes = [names[j] for j in rng.choice(len(names), size=n, p=p / p.sum())]

    ids = _make_ids(dataset, labels, scenes)
    clip_list = []
    for i in range(n):
        clip = {"id": ids[i], "label": labels[i], "kind": kinds[i], "fold": fold[i], "split": split[i],
                "num_frames": int(num_frames[i]), "fps": float(fps), "seed": int(clip_seeds[i]),
                "identity_seed": int(id_seeds[i])}
        if dataset == "ferv39k":
            clip["scene"] = scenes[i]
        clip.update(clip_options)
        clip_list.append(clip)
    params = {"prior": prior, "clips": n, "seed": seed, "dataset": dataset, "micro_fraction": micro_fraction,
              "fps": float(fps), "lengths": lengths if not isinstance(lengths, np.integer) else int(lengths),
              "length_fps": length_fps, "folds": folds if dataset != "ferv39k" else None,
              "test_fraction": test_fraction if dataset == "ferv39k" else None, "identities": identities,
              "class_counts": counts, "clip_options": clip_options}
    return {"params": params, "clips": clip_list}


def _make_ids(dataset, labels, scenes):
    n = len(labels)
    if dataset != "ferv39k":
        return [f"{i + 1:05d}" for i in range(n)]  # 5-digit ids as in DFEW and MAFW
    counters: dict[tuple, int] = {}
    ids = []
    for name, scene in zip(labels, scenes):
        key = (scene, name)
        counters[key] = counters.get(key, 0) + 1
        ids.append(f"{scene}/{name.capitalize()}/{counters[key]:04d}")  # Scene/Emotion/NNNN
    return ids


# --------------------------------------------------------------------------------------------- clips


_TIMELINE_OPTIONS = ("intensity", "variant", "macro_seconds", "micro_seconds", "mask", "mask_probability",
                     "nuisance")


def generate_clip(label, kind=None, seed=0, fps=DEFAULT_FPS, num_frames=None, size=DEFAULT_SIZE,
                  identity_seed=None, lengths="dfew", frame_indices=None, **options) -> dict:
    """Render one clip in memory.

    Parameters
    ----------
    label : class name (e.g. "happy", "contempt").
    kind : "macro", "micro", "trajectory", "none" or None (see timeline.make_timeline).
    seed : the clip's seed (event timing, distractors, pixel noise).
    num_frames : frames in the clip (None: drawn from the `lengths` dataset's frame-count distribution).
    size : frame side in pixels.
    identity_seed : who is on screen (None: derived from `seed`).
    frame_indices : render only these frames (in the given order; the timeline, `aus` and `event` are still
        the whole clip's). Training code that needs a few sampled frames of thousands of clips pays for those
        frames only. Geometry, head position and lighting of each frame equal the full render's; the pixel
        noise is drawn from the same seed but for the rendered frames only, so its windows differ.
    options : timeline options (intensity, variant, macro_seconds, micro_seconds, mask, mask_probability,
        nuisance=False for a clean clip) and nuisance overrides (timeline.NUISANCE_DEFAULTS). Spec-only keys
        (id, fold, split, scene) are accepted and copied to the result.

    Returns a dict: frames (T, size, size, 3) uint8, aus (T, len(AU_NAMES)) float32, au_names, event,
    nuisance, identity, label, kind, fps, num_frames, seed, identity_seed (and the spec keys passed in); with
    `frame_indices`, frames has one row per index and the result carries `frame_indices`.
    """
    passthrough = {k: options.pop(k) for k in ("id", "fold", "split", "scene") if k in options}
    if num_frames is None:
        num_frames = int(frame_count_sample(lengths, 1, np.random.default_rng([seed, 2]))[0])
    if identity_seed is None:
        identity_seed = int(np.random.default_rng([seed, 3]).integers(2**31 - 1))
    ident = sample_identity(identity_seed)
    tl = make_timeline(label, kind=kind, num_frames=num_frames, fps=fps, seed=seed, **options)
    shift = None if tl["shift"] is None else tl["shift"] * size
    aus, gain, side = tl["aus"], tl["gain"], tl["side_light"]
    if frame_indices is not None:
        sel = np.asarray(frame_indices, dtype=np.int64).reshape(-1)
        if sel.size and (sel.min() < 0 or sel.max() >= num_frames):
            raise ValueError(f"frame_indices: expected indices in [0, {num_frames - 1}], got {sel.min()}..{sel.max()}")
        aus = aus[sel]
        shift, gain, side = (None if x is None else np.asarray(x)[sel] for x in (shift, gain, side))
    frames = render(aus, ident, size, shift=shift, gain=gain, side_light=side,
                    noise=tl["noise"], noise_seed=[seed, 4], static=prepare(ident, size))
    out = {"frames": frames, "aus": tl["aus"], "au_names": AU_NAMES, "event": tl["event"],
           "nuisance": tl["nuisance"], "identity": ident, "label": label, "kind": tl["event"]["kind"],
           "fps": float(fps), "num_frames": int(num_frames), "seed": int(seed), "identity_seed": int(identity_seed)}
    if frame_indices is not None:
        out["frame_indices"] = sel
    out.update(passthrough)
    return out


def _render_spec_clip(job):
    clip, size = job
    return generate_clip(**clip, size=size)


def iter_clips(spec, size=DEFAULT_SIZE, workers=1, progress=False):
    """Yield the rendered clips of a spec, in spec order (the same result for any number of workers)."""
    from emoprobe.progress import bar

    jobs = [(clip, size) for clip in spec["clips"]]
    with bar(len(jobs), "synth", progress, unit="clip") as b:
        if workers and workers > 1:
            import multiprocessing as mp

            with mp.get_context("fork").Pool(workers) as pool:
                for clip in pool.imap(_render_spec_clip, jobs, chunksize=4):
                    b.update(1)
                    yield clip
        else:
            for job in jobs:
                clip = _render_spec_clip(job)
                b.update(1)
                yield clip


# --------------------------------------------------------------------------------------------- pictures


def apex_frame(label, seed=0, size=DEFAULT_SIZE, identity_seed=None, nuisance=False, variant=0) -> np.ndarray:
    """One clean frame of a class at its apex (the final state for trajectory classes): (size, size, 3)."""
    fps = DEFAULT_FPS
    clip = generate_clip(label, seed=seed, fps=fps, num_frames=int(4.5 * fps), size=size,
                         identity_seed=identity_seed, nuisance=nuisance, variant=variant, intensity=1.0,
                         macro_seconds=(4.0, 4.0))
    i = clip["event"]["apex_frame"]
    return clip["frames"][len(clip["frames"]) // 2 if i is None else i]


def gallery(dataset="dfew", size=DEFAULT_SIZE, seed=0, identities=1, labels=True, variant=0) -> np.ndarray:
    """A grid of apex faces, one column per class of `dataset`, one row per identity, labelled below.

    Returns an (H, W, 3) uint8 image. Proxy classes (aus.PROXY_CLASSES) are marked with '*'.
    """
    from .aus import PROXY_CLASSES

    names = label_set(dataset)
    rng = np.random.default_rng(seed)
    id_seeds = rng.integers(0, 2**31 - 1, size=identities)
    rows = []
    for ident in id_seeds:
        rows.append(np.concatenate([apex_frame(name, seed=int(ident), size=size, identity_seed=int(ident),
                                               variant=variant) for name in names], axis=1))
    grid = np.concatenate(rows, axis=0)
    if not labels:
        return grid
    from PIL import Image, ImageDraw

    band = max(12, size // 7)
    canvas = Image.new("RGB", (grid.shape[1], grid.shape[0] + band), (255, 255, 255))
    canvas.paste(Image.fromarray(grid), (0, 0))
    draw = ImageDraw.Draw(canvas)
    for j, name in enumerate(names):
        text = name + ("*" if name in PROXY_CLASSES else "")
        w = draw.textlength(text)
        draw.text((j * size + max(0, (size - w) / 2), grid.shape[0] + 1), text, fill=(0, 0, 0))
    return np.asarray(canvas)


def strip(frames, n=8, indices=None) -> np.ndarray:
    """Frames side by side: `indices` if given, else n evenly spaced (np.linspace rounded). (H, n*W, 3)."""
    frames = np.asarray(frames)
    if indices is None:
        indices = np.round(np.linspace(0, len(frames) - 1, min(n, len(frames)))).astype(int)
    return np.concatenate([frames[i] for i in indices], axis=1)


def au_table(clip):
    """A clip's per-frame AU intensities as a pandas DataFrame (index: time in seconds, columns: AUs)."""
    import pandas as pd

    t = np.arange(len(clip["aus"])) / clip["fps"]
    return pd.DataFrame(clip["aus"], index=pd.Index(np.round(t, 6), name="t_s"), columns=list(clip["au_names"]))
