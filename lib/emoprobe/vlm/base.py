"""What every VLM backend takes and returns (the `Backend` protocol), the registry of backends by name, and
the one function that builds a backend (`make_backend`).

A backend turns a batch of `VLMRequest` (decoded frames, their indices and timestamps, a prompt) into one
response dict per request: ``text`` (raw output), ``latency_s``, ``error`` (None or a message) and, where the
backend knows them, token counts. Backends follow the scikit-learn convention: the constructor only stores
parameters, the model or HTTP client is created on first use, so building a backend is free and can be done
in a notebook's parameter cell.

Backends are registered by dotted path and imported lazily, so `emoprobe.vlm` imports without torch or httpx.
A new backend is a class implementing `Backend` (usually a `BaseBackend` subclass) plus one
``BACKENDS.register`` line here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np

from emoprobe.registry import Registry

__all__ = ["VLMRequest", "Backend", "BaseBackend", "BACKENDS", "make_backend", "list_backends", "response",
           "BackendError", "default_device"]


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


@runtime_checkable
class Backend(Protocol):
    """What the evaluation loop, MSCE and fine-tuning call on a backend (HF, OpenAI-compatible, video classifier).

    ``generate`` answers a batch of requests with one `response` dict each (an error is an answer with
    ``error`` set, never an exception for one clip). ``identity`` is what names the answers in the response
    cache and the provenance (no secrets, no device); ``generation_params`` the decoding settings actually
    used. ``check`` fails fast, naming what is wrong (a dead server, a missing key); ``labels`` is the closed
    label map of a classifier (None for a model that writes text); ``budget_family`` the visual-token rule of
    emoprobe.budget (None when the model has none). ``from_spec`` builds the backend from a
    `emoprobe.vlm.registry.ModelSpec`, so the registry needs to know no backend by name. Subclass
    `BaseBackend` to get the optional ones with their defaults.
    """

    name: str

    @classmethod
    def from_spec(cls, spec, **overrides) -> Backend: ...
    def load(self) -> Backend: ...
    def identity(self) -> dict: ...
    def generation_params(self, max_new_tokens=None, temperature=0.0) -> dict: ...
    def generate(self, requests: list[VLMRequest], max_new_tokens=None, temperature=0.0) -> list[dict]: ...
    def check(self) -> None: ...
    def labels(self) -> list[str] | None: ...
    def budget_family(self): ...


class BaseBackend:
    """Defaults of a backend's optional methods: nothing to load or check, free-text answers, no budget rule."""

    name = "base"

    @classmethod
    def from_spec(cls, spec, **overrides):
        raise NotImplementedError(f"{cls.__name__} is not built from a ModelSpec; pass the backend object itself")

    def load(self):
        return self

    def check(self) -> None:
        return None

    def labels(self) -> list[str] | None:
        return None

    def budget_family(self):
        return None


def default_device() -> tuple[str, str]:
    """(device, dtype) when none is given: CUDA with bfloat16 when present, else the CPU in float32."""
    import torch

    return ("cuda", "bfloat16") if torch.cuda.is_available() else ("cpu", "float32")


# a backend's name (ModelSpec.backend) -> its class, imported on first use
BACKENDS = Registry("backend", lazy=True)
BACKENDS.register("hf", "emoprobe.vlm.hf:HFBackend")
BACKENDS.register("openai", "emoprobe.vlm.openai_compat:OpenAICompatBackend")
BACKENDS.register("video_classifier", "emoprobe.vlm.video_classifier:VideoClassifierBackend")


def list_backends() -> list[str]:
    return BACKENDS.names()


def make_backend(model, **params) -> Backend:
    """The one way to build a backend: from a registered model name, a checkpoint folder, a
    ``probe:<profile>/<name>`` or ``tiny:<family>`` name, or a `ModelSpec` (``params`` override the spec's
    constructor parameters, e.g. ``device``, ``batch_size``, ``max_new_tokens``). A backend is returned as it
    is. Nothing is loaded or connected until the first request."""
    if isinstance(model, Backend):
        if params:
            raise ValueError(f"make_backend: {type(model).__name__} is already built; cannot apply {sorted(params)}")
        return model
    from emoprobe.vlm.registry import as_spec

    spec = as_spec(model)
    return BACKENDS.get(spec.backend).from_spec(spec, **params)
