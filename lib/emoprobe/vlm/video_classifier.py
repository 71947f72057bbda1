"""Any transformers ``AutoModelForVideoClassification`` checkpoint as a backend (the vision-only baselines).

The paper compares VLMs with video classifiers trained on the benchmark (MAE-DFER, HiCMAE: VideoMAE-style
encoders). Such a model does not read a prompt: it is shown the sampler's frames, its image processor turns
them into pixel values, and its answer is the name of the top class from the checkpoint's own ``id2label``.
Returning that name as text lets the same parser, rows and metrics score it as they score a VLM, and the
evaluation loop checks beforehand that the label map covers the dataset's classes (`check_labels`).

Frames: DFER models are trained and tested on 16 TSN segment centres (emoprobe.samplers ``segment_center``),
the default sampler of a classifier folder (emoprobe.vlm.registry). The number of frames must equal the
checkpoint's ``num_frames``; a request with another count is answered with an error, not silently resampled.
"""

from __future__ import annotations

import time
from pathlib import Path

from emoprobe.vlm.base import BackendError, BaseBackend, VLMRequest, default_device, response

__all__ = ["VideoClassifierBackend"]


class VideoClassifierBackend(BaseBackend):
    """Parameters: ``model`` (hub id or folder), ``device``, ``dtype``, ``batch_size``, ``revision``."""

    name = "video_classifier"

    def __init__(self, model, revision=None, device="cpu", dtype="float32", batch_size=16):
        self.model = model
        self.revision = revision
        self.device = device
        self.dtype = dtype
        self.batch_size = batch_size

    @classmethod
    def from_spec(cls, spec, **overrides) -> VideoClassifierBackend:
        """The backend of a classifier spec; device and dtype default to `default_device`."""
        device, dtype = default_device()
        params = dict(model=spec.repo_id, revision=spec.revision, device=device, dtype=dtype)
        return cls(**{**params, **overrides})

    def __repr__(self):
        return f"VideoClassifierBackend(model={self.model!r}, device={self.device!r})"

    def load(self):
        if getattr(self, "model_", None) is not None:
            return self
        import torch
        import transformers

        try:
            self.processor_ = transformers.AutoImageProcessor.from_pretrained(self.model, revision=self.revision)
            model = transformers.AutoModelForVideoClassification.from_pretrained(
                self.model, revision=self.revision, dtype=getattr(torch, self.dtype))
        except OSError as e:
            raise BackendError(f"could not load video classifier {self.model!r}: {e}") from e
        self.model_ = model.to(self.device).eval()
        return self

    def labels(self) -> list[str]:
        """Class names in id order, from the checkpoint's config."""
        config = self.load().model_.config
        return [str(config.id2label[i]) for i in range(config.num_labels)]

    @property
    def num_frames(self) -> int | None:
        return getattr(self.load().model_.config, "num_frames", None)

    def identity(self) -> dict:
        from emoprobe.cache import folder_fingerprint

        out = {"backend": self.name, "model": str(self.model), "dtype": self.dtype}
        if Path(str(self.model)).is_dir():
            out["model"] = Path(str(self.model)).name
            out["revision"] = "sha256:" + folder_fingerprint(self.model)
        else:
            out["revision"] = self.revision
        return out

    def generation_params(self, max_new_tokens=None, temperature=0.0) -> dict:
        return {"decision": "argmax", "temperature": 0.0, "do_sample": False}

    def generate(self, requests: list[VLMRequest], max_new_tokens=None, temperature=0.0) -> list[dict]:
        import torch

        self.load()
        names, want = self.labels(), self.num_frames
        out = [None] * len(requests)
        ok = []
        for i, req in enumerate(requests):
            n = 0 if req.frames is None else len(req.frames)
            if want and n != want:
                out[i] = response("", 0.0, f"{self.model}: takes {want} frames per clip, got {n} "
                                           f"(use sampler segment_center with num_segments={want})")
            else:
                ok.append(i)
        for start in range(0, len(ok), self.batch_size):
            batch = ok[start:start + self.batch_size]
            t0 = time.perf_counter()
            videos = [list(requests[i].frames) for i in batch]
            inputs = self.processor_(videos, return_tensors="pt")
            inputs = {k: v.to(self.device, dtype=self.model_.dtype) if v.is_floating_point() else v.to(self.device)
                      for k, v in inputs.items()}
            with torch.inference_mode():
                top = self.model_(**inputs).logits.argmax(dim=-1).tolist()
            elapsed = (time.perf_counter() - t0) / len(batch)
            for i, k in zip(batch, top):
                out[i] = response(names[k], elapsed, None, output_tokens=0)
        return out


def check_labels(model_labels, dataset_labels, synonyms=None) -> dict:
    """Map a classifier's class names onto the dataset's (through the parser, so "Happy" or "happiness" match
    "happy"); an error names every class that has no counterpart."""
    from emoprobe.parse import parse

    mapping = {}
    for name in model_labels:
        got = parse(str(name), list(dataset_labels), synonyms=synonyms)
        mapping[name] = got.get("label") if got.get("outcome") == "parsed" else None
    unmapped = [k for k, v in mapping.items() if v is None]
    uncovered = sorted(set(dataset_labels) - set(mapping.values()))
    if unmapped or uncovered:
        raise ValueError(f"video classifier label map: model classes {unmapped} match no dataset class and "
                         f"dataset classes {uncovered} have no model class; expected the checkpoint's id2label "
                         f"to name the classes {list(dataset_labels)}")
    return mapping
