"""Temporal samplers: which frames of a clip a model gets to see.

Every number in the paper's temporal findings depends on this choice, and users of every video benchmark ask
"how many frames, at which fps?" first. So each sampler is registered by name, records its parameters, and
returns the chosen frame indices *and* their timestamps, which are stored with every prediction.

Contract: ``make_sampler(name, **params).sample(num_frames, fps, rng=None)`` returns a
:class:`FrameSample` whose ``indices`` are sorted (unless ``shuffle=True``) and whose ``timestamps`` are in
seconds. Short clips: every sampler returns the number of frames it promises; where a clip has fewer frames
than requested, frames repeat exactly as the reference implementation does (rounded linspace repeats
neighbours; the TSN-style segment samplers pad with the last frame, as DFER-CLIP does).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from emoprobe.registry import Registry

SAMPLERS = Registry("frame sampler")
register = SAMPLERS.register  # class decorator: @register(name) adds a frame sampler under that name


def make_sampler(name: str, **params) -> Sampler:
    """Build a registered sampler by name, e.g. ``make_sampler("uniform", num_samples=8)``."""
    return SAMPLERS.build(name, **params)


def list_samplers() -> list[str]:
    return SAMPLERS.names()


def clip_rng(seed: int, clip_id: str) -> np.random.Generator:
    """A generator that differs per clip but is reproducible from (seed, clip id).

    Used for per-clip shuffles and random segment offsets, so that evaluating a subset, or in another order,
    gives every clip the same frames.
    """
    digest = np.frombuffer(clip_id.encode("utf-8"), dtype=np.uint8)
    return np.random.default_rng([int(seed), *digest.tolist()])


@dataclass(frozen=True)
class FrameSample:
    """The frames a sampler chose: indices into the clip and their presentation times in seconds.

    ``groups`` is only used by ``keyframes``: the in-between frames of each gap (what MSCE summarises).
    """

    indices: np.ndarray
    timestamps: np.ndarray
    sampler: str
    params: dict
    groups: list = field(default_factory=list)

    def to_dict(self) -> dict:
        """Plain JSON-ready data (what prediction rows store)."""
        out = {
            "sampler": self.sampler,
            "sampler_params": dict(self.params),
            "frame_indices": [int(i) for i in self.indices],
            "timestamps": [round(float(t), 6) for t in self.timestamps],
        }
        if self.groups:
            out["groups"] = [[int(i) for i in g] for g in self.groups]
        return out


def _check_clip(num_frames, fps):
    if not isinstance(num_frames, (int, np.integer)) or num_frames < 1:
        raise ValueError(f"num_frames must be a positive integer, got {num_frames!r}")
    if not (isinstance(fps, (int, float, np.floating, np.integer)) and math.isfinite(fps) and fps > 0):
        raise ValueError(f"fps must be a positive number, got {fps!r}")


def _positive_int(name, value):
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")


def rounded_linspace(num_frames: int, n: int) -> np.ndarray:
    """``linspace(0, T-1, n)`` rounded half-to-even, as ``torch.linspace(...).round()`` in qwen-vl-utils."""
    return np.rint(np.linspace(0, num_frames - 1, n)).astype(np.int64)


class Sampler:
    """Base class: constructors only store parameters; ``sample`` does the work.

    Every sampler accepts ``shuffle`` (permute the chosen frames, the paper's frame-shuffling control) and
    ``seed`` (used when no ``rng`` is passed to ``sample``).
    """

    name = "base"

    def __init__(self, shuffle: bool = False, seed: int = 0):
        self.shuffle = shuffle
        self.seed = seed

    def get_params(self) -> dict:
        """The constructor's parameters, as recorded in every prediction row."""
        return {k: v for k, v in vars(self).items()}

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"

    def _indices(self, num_frames: int, fps: float, rng: np.random.Generator, frame_times):
        raise NotImplementedError

    def sample(self, num_frames: int, fps: float, rng: np.random.Generator | None = None,
               frame_times: np.ndarray | None = None) -> FrameSample:
        """Choose frames from a clip of ``num_frames`` frames at ``fps``.

        ``frame_times`` (optional, seconds per frame) gives the real presentation times of a
        variable-frame-rate clip; timestamps are then read from it instead of ``index / fps``.
        """
        _check_clip(num_frames, fps)
        if frame_times is not None:
            frame_times = np.asarray(frame_times, dtype=np.float64)
            if frame_times.shape != (num_frames,):
                raise ValueError(f"frame_times must have one entry per frame ({num_frames}), "
                                 f"got shape {frame_times.shape}")
        rng = np.random.default_rng(self.seed) if rng is None else rng
        out = self._indices(num_frames, fps, rng, frame_times)
        indices, groups = (out if isinstance(out, tuple) else (out, []))
        indices = np.asarray(indices, dtype=np.int64)
        if self.shuffle:
            indices = indices[rng.permutation(len(indices))]
        times = frame_times[indices] if frame_times is not None else indices / float(fps)
        return FrameSample(indices, times.astype(np.float64), self.name, self.get_params(), groups)


@register("uniform")
class Uniform(Sampler):
    """``num_samples`` frames at ``round(linspace(0, T-1, n))``: both ends included (lmms-eval, qwen nframes)."""

    def __init__(self, num_samples: int = 8, shuffle: bool = False, seed: int = 0):
        super().__init__(shuffle, seed)
        self.num_samples = num_samples

    def _indices(self, num_frames, fps, rng, frame_times):
        _positive_int("num_samples", self.num_samples)
        return rounded_linspace(num_frames, self.num_samples)


def _pad_short(num_frames, num_segments):
    # DFER-CLIP / TSN: a clip with too few frames is read frame by frame and padded with its last frame.
    return np.pad(np.arange(num_frames), (0, num_segments - num_frames), mode="edge")


def _expand_duration(offsets, duration, num_frames):
    # Former-DFER reads `duration` consecutive frames from each segment offset, never past the last frame.
    steps = np.arange(duration)
    return np.minimum(offsets[:, None] + steps[None, :], num_frames - 1).reshape(-1)


@register("segment_center")
class SegmentCenter(Sampler):
    """TSN test-time sampling: the centre frame of each of ``num_segments`` equal segments.

    Same arithmetic as DFER-CLIP's ``_get_test_indices`` (16 segments × ``duration`` 1): segment length
    ``tick = (T - duration + 1) / n``, offset ``int(tick / 2 + tick * k)``; clips with ``T <= n`` are padded with
    their last frame. (DFER-CLIP pads whenever ``T <= n + duration - 1``, which fails for ``n < T``; there we keep
    the segment rule, whose offsets are still valid.)
    """

    def __init__(self, num_segments: int = 16, duration: int = 1, shuffle: bool = False, seed: int = 0):
        super().__init__(shuffle, seed)
        self.num_segments = num_segments
        self.duration = duration

    def _indices(self, num_frames, fps, rng, frame_times):
        n, d = self.num_segments, self.duration
        _positive_int("num_segments", n)
        _positive_int("duration", d)
        if num_frames > n:
            tick = (num_frames - d + 1) / float(n)
            offsets = np.array([int(tick / 2.0 + tick * k) for k in range(n)], dtype=np.int64)
        else:
            offsets = _pad_short(num_frames, n)
        return _expand_duration(offsets, d, num_frames)


@register("segment_random")
class SegmentRandom(Sampler):
    """TSN training-time sampling: a random frame inside each of ``num_segments`` equal segments.

    Same rule as DFER-CLIP's ``_get_train_indices``: integer segment length ``(T - duration + 1) // n``; if that
    is zero but ``T > n``, ``n`` sorted random frames; otherwise pad with the last frame.
    """

    def __init__(self, num_segments: int = 16, duration: int = 1, shuffle: bool = False, seed: int = 0):
        super().__init__(shuffle, seed)
        self.num_segments = num_segments
        self.duration = duration

    def _indices(self, num_frames, fps, rng, frame_times):
        n, d = self.num_segments, self.duration
        _positive_int("num_segments", n)
        _positive_int("duration", d)
        seg = (num_frames - d + 1) // n
        if seg > 0:
            offsets = np.arange(n) * seg + rng.integers(0, seg, size=n)
        elif num_frames > n:
            offsets = np.sort(rng.integers(0, num_frames - d + 1, size=n))
        else:
            offsets = _pad_short(num_frames, n)
        return _expand_duration(offsets.astype(np.int64), d, num_frames)


@register("fps")
class FixedRate(Sampler):
    """Frames at a fixed rate ``target_fps`` from the first frame: sample times ``t_k = (k + phase) / target_fps``.

    Each sample takes the last frame shown at ``t_k`` (the frame a resampled video would hold), so rates above
    the clip's own fps repeat frames. ``max_frames`` caps the count by keeping a uniform subset of the sample
    times (never exceeding a model's frame limit); ``min_frames`` raises the rate for very short clips.
    """

    def __init__(self, target_fps: float = 1.0, phase: float = 0.0, min_frames: int = 1,
                 max_frames: int | None = None, shuffle: bool = False, seed: int = 0):
        super().__init__(shuffle, seed)
        self.target_fps = target_fps
        self.phase = phase
        self.min_frames = min_frames
        self.max_frames = max_frames

    def _indices(self, num_frames, fps, rng, frame_times):
        if not (self.target_fps > 0):
            raise ValueError(f"target_fps must be positive, got {self.target_fps!r}")
        if not (0.0 <= self.phase < 1.0):
            raise ValueError(f"phase must be in [0, 1), got {self.phase!r}")
        times = frame_times if frame_times is not None else np.arange(num_frames) / float(fps)
        start = times[0]
        # The clip covers [start, end): its last frame is shown for one frame interval (for a variable-rate
        # clip, the interval before it).
        last = times[-1] - times[-2] if frame_times is not None and num_frames > 1 else 1.0 / fps
        span = times[-1] + last - start
        natural = max(int(math.ceil(span * self.target_fps - self.phase - 1e-9)), 1)
        count = max(natural, self.min_frames)
        if self.max_frames is not None:
            count = min(count, self.max_frames)
        if count > natural:
            # min_frames asks for more samples than the rate gives: spread them evenly over the clip.
            sample_t = start + (np.arange(count) + 0.5) * span / count
        else:
            sample_t = start + (np.arange(natural) + self.phase) / self.target_fps
            sample_t = sample_t[rounded_linspace(natural, count)] if count < natural else sample_t
        idx = np.searchsorted(times, sample_t + 1e-9, side="right") - 1
        return np.clip(idx, 0, num_frames - 1)


def _round_by(x, f):
    return int(round(x / f)) * f


def _ceil_by(x, f):
    return int(math.ceil(x / f)) * f


def _floor_by(x, f):
    return int(math.floor(x / f)) * f


@register("qwen")
class QwenVL(Sampler):
    """The frame rule of qwen-vl-utils 0.0.14 (``smart_nframes`` + rounded linspace), as Qwen2/2.5-VL see video.

    Defaults are the library's: 2 fps, at least 4 and at most 768 frames, counts in multiples of 2 (the
    temporal patch). Pass ``num_samples`` for its ``nframes`` mode (rounded to the nearest multiple of 2).
    Like the library, clips that cannot give at least 2 frames raise ``ValueError``.
    """

    FRAME_FACTOR = 2
    FPS = 2.0
    FPS_MIN_FRAMES = 4
    FPS_MAX_FRAMES = 768

    def __init__(self, target_fps: float | None = None, min_frames: int | None = None,
                 max_frames: int | None = None, num_samples: int | None = None,
                 shuffle: bool = False, seed: int = 0):
        super().__init__(shuffle, seed)
        self.target_fps = target_fps
        self.min_frames = min_frames
        self.max_frames = max_frames
        self.num_samples = num_samples

    def count(self, num_frames: int, fps: float) -> int:
        """``smart_nframes`` of qwen-vl-utils 0.0.14 (floor to even, clamp to the clip)."""
        f = self.FRAME_FACTOR
        if self.num_samples is not None:
            if self.target_fps is not None:
                raise ValueError("qwen sampler: give either num_samples (nframes) or target_fps, not both")
            n = _round_by(self.num_samples, f)
        else:
            rate = self.FPS if self.target_fps is None else self.target_fps
            lo = _ceil_by(self.FPS_MIN_FRAMES if self.min_frames is None else self.min_frames, f)
            hi_default = min(self.FPS_MAX_FRAMES, num_frames)
            hi = _floor_by(hi_default if self.max_frames is None else self.max_frames, f)
            n = num_frames / fps * rate
            n = min(min(max(n, lo), hi), num_frames)
            n = _floor_by(n, f)
        if not (f <= n <= num_frames):
            raise ValueError(f"qwen sampler: a clip of {num_frames} frames gives {n} frames; "
                             f"qwen-vl-utils needs {f} <= frames <= {num_frames}")
        return n

    def _indices(self, num_frames, fps, rng, frame_times):
        return rounded_linspace(num_frames, self.count(num_frames, fps))


@register("dense")
class Dense(Sampler):
    """Every ``stride``-th frame from ``offset`` (stride 1 = every frame); ``max_frames`` keeps the first ones."""

    def __init__(self, stride: int = 1, offset: int = 0, max_frames: int | None = None,
                 shuffle: bool = False, seed: int = 0):
        super().__init__(shuffle, seed)
        self.stride = stride
        self.offset = offset
        self.max_frames = max_frames

    def _indices(self, num_frames, fps, rng, frame_times):
        _positive_int("stride", self.stride)
        if not (0 <= self.offset):
            raise ValueError(f"offset must be >= 0, got {self.offset!r}")
        idx = np.arange(min(self.offset, num_frames - 1), num_frames, self.stride)
        return idx if self.max_frames is None else idx[: self.max_frames]


@register("dense_centered")
class DenseCentered(Sampler):
    """A window of ``max_frames`` frames ``stride`` apart, centred in the clip (the whole clip when shorter):
    the test-time clip of classifiers trained on fixed windows, such as MAE-DFER's 16 frames at stride 4."""

    def __init__(self, stride: int = 1, max_frames: int = 16, shuffle: bool = False, seed: int = 0):
        super().__init__(shuffle, seed)
        self.stride = stride
        self.max_frames = max_frames

    def _indices(self, num_frames, fps, rng, frame_times):
        _positive_int("stride", self.stride)
        _positive_int("max_frames", self.max_frames)
        offset = max(0, (num_frames - (self.stride * (self.max_frames - 1) + 1)) // 2)
        return np.arange(offset, num_frames, self.stride)[: self.max_frames]


@register("keyframes")
class Keyframes(Sampler):
    """Sparse keyframes at ``keyframe_fps`` plus, for each gap, ``per_gap`` evenly spaced in-between frames.

    This is the input of multi-stage context enrichment (MSCE): the VLM sees the keyframes; the in-between
    groups (``FrameSample.groups``, one per gap, the gap after the last keyframe included when
    ``include_tail``) are turned into text. The paper's figure shows keyframes 1 s apart and four in-between
    frames per gap. Gaps shorter than ``per_gap`` frames give every frame they have.
    """

    def __init__(self, keyframe_fps: float = 1.0, per_gap: int = 4, include_tail: bool = True,
                 shuffle: bool = False, seed: int = 0):
        super().__init__(shuffle, seed)
        self.keyframe_fps = keyframe_fps
        self.per_gap = per_gap
        self.include_tail = include_tail

    def _indices(self, num_frames, fps, rng, frame_times):
        if self.per_gap < 0:
            raise ValueError(f"per_gap must be >= 0, got {self.per_gap!r}")
        keys = FixedRate(target_fps=self.keyframe_fps)._indices(num_frames, fps, rng, frame_times)
        keys = np.unique(keys)
        bounds = list(zip(keys[:-1], keys[1:]))
        if self.include_tail and keys[-1] < num_frames - 1:
            bounds.append((keys[-1], num_frames))
        groups = []
        for a, b in bounds:
            inner = np.arange(a + 1, b)
            if len(inner) > self.per_gap:
                # Evenly inside the open gap (a, b): the points that split it into per_gap + 1 equal parts.
                pos = a + (b - a) * np.arange(1, self.per_gap + 1) / (self.per_gap + 1)
                inner = np.unique(np.clip(np.rint(pos).astype(np.int64), a + 1, b - 1))
            groups.append(inner.astype(np.int64))
        return keys, groups
