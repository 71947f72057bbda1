"""What every VLM backend takes and returns, and the registry of backends by name.

A backend turns a batch of `VLMRequest` (decoded frames, their indices and timestamps, a prompt) into one
response dict per request: ``text`` (raw output), ``latency_s``, ``error`` (None or a message) and, where the
backend knows them, token counts. Backends follow the scikit-learn convention: the constructor only stores
parameters, the model or HTTP client is created on first use, so building a backend is free and can be done
in a notebook's parameter cell.

Backends are registered by dotted path and imported lazily, so `emoprobe.vlm` imports without torch or httpx.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field

import numpy as np

__all__ = ["VLMRequest", "BACKENDS", "make_backend", "list_backends", "response", "BackendError"]


class BackendError(RuntimeError):
    """A backend could not answer (dead server, missing key, unknown model); the message says which."""


@dataclass
class VLMRequest:
    """One question about one clip.

    ``frames`` is an (n, H, W, 3) uint8 array in the order the model should see them (the sampler's order,
    shuffled or not); ``frame_indices`` and ``timestamps`` (seconds) describe the same frames in the clip;
    ``clip_fps`` and ``clip_num_frames`` describe the clip itself (video processors use them to place frames
    in time, e.g. Qwen2.5-VL's temporal position ids and Qwen3-VL's ``<t seconds>`` text).
    """

    prompt: str
    frames: np.ndarray | None = None
    frame_indices: list = field(default_factory=list)
    timestamps: list = field(default_factory=list)
    clip_fps: float | None = None
    clip_num_frames: int | None = None
    system: str | None = None
    request_id: str = ""
    # True under a fixed visual-token budget: the frames are already at the size the budget allows, and the
    # backend must not let its processor resize them (emoprobe.conditions)
    keep_size: bool = False

    def __post_init__(self):
        if self.frames is not None:
            frames = np.asarray(self.frames)
            if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
                raise ValueError(f"request {self.request_id!r}: frames must be an (n, H, W, 3) uint8 array, "
                                 f"got shape {frames.shape} dtype {frames.dtype}")
            if self.frame_indices and len(self.frame_indices) != len(frames):
                raise ValueError(f"request {self.request_id!r}: {len(frames)} frames but "
                                 f"{len(self.frame_indices)} frame indices")
            self.frames = frames
        if self.timestamps and self.frame_indices and len(self.timestamps) != len(self.frame_indices):
            raise ValueError(f"request {self.request_id!r}: {len(self.timestamps)} timestamps but "
                             f"{len(self.frame_indices)} frame indices")

    @property
    def sampled_fps(self) -> float | None:
        """Frames per second of video the model is given: sampled frames / clip duration."""
        if self.clip_fps is None or not self.clip_num_frames or not self.frame_indices:
            return None
        return len(self.frame_indices) / self.clip_num_frames * float(self.clip_fps)


def response(text: str | None = "", latency_s: float = 0.0, error: str | None = None, **usage) -> dict:
    """A backend response as plain data (the shape every backend returns)."""
    out = {"text": text if text is not None else "", "latency_s": float(latency_s), "error": error}
    out.update(usage)
    return out


# name -> "module:Class"; imported on first use
BACKENDS: dict[str, str] = {
    "hf": "emoprobe.vlm.hf:HFBackend",
    "openai": "emoprobe.vlm.openai_compat:OpenAICompatBackend",
    "video_classifier": "emoprobe.vlm.video_classifier:VideoClassifierBackend",
}


def list_backends() -> list[str]:
    return sorted(BACKENDS)


def backend_class(name: str):
    try:
        target = BACKENDS[name]
    except KeyError:
        raise ValueError(f"unknown backend {name!r}; expected one of {list_backends()}") from None
    module, _, cls = target.partition(":")
    return getattr(importlib.import_module(module), cls)


def make_backend(name: str, **params):
    """Build a backend by name, e.g. ``make_backend("hf", model="/path/to/folder")`` (nothing is loaded)."""
    return backend_class(name)(**params)
