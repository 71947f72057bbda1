"""Any transformers image-text-to-text model with a chat template, fed the sampler's frames as they are.

The one rule this file exists to keep: **the model sees exactly the frames the sampler chose**. Recent video
processors can resample a clip by themselves (Qwen3-VL's processor samples at 2 fps by default, and
`do_sample_frames` defaults differ per family), which silently replaces the experiment's frame choice (the
WorldSense issue https://github.com/JaaackHongggg/WorldSense/issues/4). So every call passes, read from
transformers 5.24 source:

- ``do_sample_frames=False`` (BaseVideoProcessor.preprocess only samples when it is true);
- ``video_metadata`` with the clip's ``total_num_frames``, ``fps`` and the sampler's ``frames_indices``:
  Qwen2.5-VL derives its temporal position step from ``metadata.sampled_fps``
  (Qwen2_5_VLProcessor._process_videos) and Qwen3-VL writes ``<t seconds>`` text from ``frames_indices / fps``
  (Qwen3VLProcessor.replace_video_token); without metadata they assume 24 fps;
- ``fps=<sampled fps>`` for Qwen2.5-Omni, whose processor reads it from the call (else 2.0) and ignores it
  for sampling when ``do_sample_frames`` is false (Qwen2_5OmniProcessor._process_videos).

Families whose spec says ``video_input="images"`` get one image per frame instead. Generation is greedy by
default (``do_sample=False, num_beams=1``) with left padding, so batched and one-by-one outputs agree.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from emoprobe.vlm.base import BackendError, BaseBackend, VLMRequest, default_device, response

__all__ = ["HFBackend"]

log = logging.getLogger(__name__)

DTYPES = ("auto", "float32", "bfloat16", "float16")


class HFBackend(BaseBackend):
    """Local transformers backend. The constructor only stores parameters; the model loads on first use.

    Parameters
    ----------
    model : hub id or local folder.
    revision : hub revision (recorded; None records the commit the files were loaded from).
    family : emoprobe.budget family (provenance only).
    model_class : a transformers class name (default ``AutoModelForImageTextToText``).
    video_input : ``"video"`` or ``"images"`` (one image per frame).
    video_kwargs, image_kwargs : processor settings passed on every call (pixel limits).
    pass_fps : give the processor the sampled fps (Qwen2.5-Omni).
    dtype : ``auto``, ``float32``, ``bfloat16`` or ``float16``.
    device : ``cpu``, ``cuda``, ``cuda:1``, ... or ``auto`` (accelerate's device map).
    batch_size : requests per forward pass.
    max_new_tokens : default generation length.
    """

    name = "hf"
    DEFAULT_MAX_NEW_TOKENS = 32
    MODEL_CLASS = "AutoModelForImageTextToText"

    def __init__(self, model, revision=None, family=None, model_class=MODEL_CLASS, video_input="video",
                 video_kwargs=None, image_kwargs=None, pass_fps=False, dtype="auto", device="cpu",
                 batch_size=1, max_new_tokens=DEFAULT_MAX_NEW_TOKENS, attn_implementation=None,
                 trust_remote_code=False):
        self.model = model
        self.revision = revision
        self.family = family
        self.model_class = model_class
        self.video_input = video_input
        self.video_kwargs = video_kwargs
        self.image_kwargs = image_kwargs
        self.pass_fps = pass_fps
        self.dtype = dtype
        self.device = device
        self.batch_size = batch_size
        self.max_new_tokens = max_new_tokens
        self.attn_implementation = attn_implementation
        self.trust_remote_code = trust_remote_code

    @classmethod
    def from_spec(cls, spec, **overrides) -> HFBackend:
        """The backend of a model spec; device and dtype default to `default_device` (CUDA + bf16 if present)."""
        device, dtype = default_device()
        params = dict(model=spec.repo_id, revision=spec.revision, family=spec.family, model_class=spec.model_class,
                      video_input=spec.video_input, video_kwargs=dict(spec.video_kwargs),
                      image_kwargs=dict(spec.image_kwargs), pass_fps=spec.pass_fps, device=device, dtype=dtype)
        return cls(**{**params, **overrides})

    def __repr__(self):
        return f"HFBackend(model={self.model!r}, device={self.device!r}, dtype={self.dtype!r})"

    # ------------------------------------------------------------------------------------------- loading

    def _check(self):
        if self.video_input not in ("video", "images"):
            raise ValueError(f"video_input must be 'video' or 'images', got {self.video_input!r}")
        if self.dtype not in DTYPES:
            raise ValueError(f"dtype must be one of {DTYPES}, got {self.dtype!r}")
        if not (isinstance(self.batch_size, int) and self.batch_size >= 1):
            raise ValueError(f"batch_size must be a positive integer, got {self.batch_size!r}")

    def load(self):
        """Load processor and model (once). Returns self."""
        if getattr(self, "model_", None) is not None:
            return self
        self._check()
        import torch
        import transformers

        common = dict(revision=self.revision, trust_remote_code=self.trust_remote_code)
        try:
            self.processor_ = transformers.AutoProcessor.from_pretrained(self.model, **common)
            cls = getattr(transformers, self.model_class, None)
            if cls is None:
                raise BackendError(f"transformers {transformers.__version__} has no class {self.model_class!r} "
                                   f"(model {self.model!r})")
            kw = {"dtype": "auto" if self.dtype == "auto" else getattr(torch, self.dtype)}
            if self.attn_implementation:
                kw["attn_implementation"] = self.attn_implementation
            if self.device == "auto":
                kw["device_map"] = "auto"
            model = cls.from_pretrained(self.model, **common, **kw)
        except OSError as e:
            raise BackendError(f"could not load model {self.model!r} (revision {self.revision!r}): {e}") from e
        if self.device != "auto":
            model = model.to(self.device)
        self.model_ = model.eval()
        tok = self.processor_.tokenizer
        if tok.padding_side != "left":
            # decoder-only generation needs the prompt flush against the new tokens
            log.info("%s: tokenizer padding_side %r -> 'left' for batched generation", self.model,
                     tok.padding_side)
            tok.padding_side = "left"
        if tok.pad_token_id is None:
            tok.pad_token = tok.eos_token
        return self

    @property
    def tokenizer(self):
        return self.load().processor_.tokenizer

    def identity(self) -> dict:
        """What identifies this model's answers (cache key, provenance). No secrets, no absolute device."""
        from emoprobe.cache import folder_fingerprint

        out = {"backend": self.name, "model": str(self.model), "model_class": self.model_class,
               "video_input": self.video_input, "video_kwargs": _plain(self.video_kwargs or {}),
               "image_kwargs": _plain(self.image_kwargs or {}), "pass_fps": bool(self.pass_fps),
               "dtype": self.dtype}
        if Path(str(self.model)).is_dir():
            out["model"] = Path(str(self.model)).name
            out["revision"] = "sha256:" + folder_fingerprint(self.model)
        else:
            out["revision"] = self.revision or self._cached_revision()
        return out

    def _cached_revision(self):
        # The commit of the locally cached snapshot, read from its path without loading weights, so a cache
        # key computed before loading equals one computed after.
        if getattr(self, "cached_revision_", None) is None:
            try:
                from transformers.utils import cached_file

                path = cached_file(str(self.model), "config.json", revision=self.revision)
                parent = Path(path).parent
                self.cached_revision_ = parent.name if parent.parent.name == "snapshots" else None
            except Exception:  # not cached (and offline): recorded as unknown
                self.cached_revision_ = None
        return self.cached_revision_

    # -------------------------------------------------------------------------------------------- inputs

    def _messages(self, req: VLMRequest) -> list:
        n = 0 if req.frames is None else len(req.frames)
        if self.video_input == "video" and n:
            visual = [{"type": "video"}]
        else:
            visual = [{"type": "image"} for _ in range(n)]
        msgs = [] if not req.system else [{"role": "system", "content": [{"type": "text", "text": req.system}]}]
        msgs.append({"role": "user", "content": visual + [{"type": "text", "text": req.prompt}]})
        return msgs

    @staticmethod
    def _metadata(req: VLMRequest) -> dict:
        n = len(req.frames)
        indices = [int(i) for i in req.frame_indices] if req.frame_indices else list(range(n))
        total = int(req.clip_num_frames) if req.clip_num_frames else max(indices) + 1
        return {"total_num_frames": total, "fps": float(req.clip_fps) if req.clip_fps else None,
                "frames_indices": indices, "height": int(req.frames.shape[1]), "width": int(req.frames.shape[2])}

    def chat_texts(self, requests: list[VLMRequest], answers: list[str] | None = None) -> list[str]:
        """Each request's conversation through the chat template, before the processor expands the media
        placeholders: ending in the generation prompt, or (``answers``) with the answer as the assistant's turn."""
        self.load()
        proc = self.processor_
        if answers is None:
            return [proc.apply_chat_template(self._messages(r), add_generation_prompt=True, tokenize=False)
                    for r in requests]
        turn = lambda a: {"role": "assistant", "content": [{"type": "text", "text": a}]}  # noqa: E731
        return [proc.apply_chat_template(self._messages(r) + [turn(a)], tokenize=False)
                for r, a in zip(requests, answers)]

    def build_inputs(self, requests: list[VLMRequest], answers: list[str] | None = None):
        """The processor's output for a batch (tensors on CPU), exactly what `generate` feeds the model.

        ``answers`` (fine-tuning) appends each answer as the assistant's turn instead of the generation prompt."""
        texts = self.chat_texts(requests, answers)  # loads the model and processor
        proc = self.processor_
        kw = {"text": texts, "return_tensors": "pt", "text_kwargs": {"padding": True}}
        with_frames = [r for r in requests if r.frames is not None and len(r.frames)]
        if with_frames and len(with_frames) != len(requests):
            raise ValueError("a batch must be all with frames or all text-only")
        if with_frames and self.video_input == "video":
            vk = dict(_plain(self.video_kwargs or {}))
            vk["do_sample_frames"] = False
            if any(r.keep_size for r in requests):
                vk.update(self._keep_size_kwargs(requests))
            vk["video_metadata"] = [self._metadata(r) for r in requests]
            if self.pass_fps:
                fps = {r.sampled_fps for r in requests}
                if len(fps) != 1 or None in fps:
                    raise ValueError("pass_fps: a batch must share one known sampled fps")
                vk["fps"] = fps.pop()
            kw["videos"] = [r.frames for r in requests]
            kw["videos_kwargs"] = vk
        elif with_frames:
            kw["images"] = [list(r.frames) for r in requests]
            kw["images_kwargs"] = dict(_plain(self.image_kwargs or {}))
        return proc(**kw)

    def _keep_size_kwargs(self, requests) -> dict:
        # Pixel bounds that make a Qwen-style processor keep each clip's frame size (already a multiple of the
        # token size): per frame for Qwen2/2.5-VL, per whole clip for Qwen3-VL (emoprobe.budget hf_size_scope).
        # Fixed-size families resize every frame to their input size whatever we pass, so nothing to do.
        fam = self.budget_family()
        if fam.kind != "dynamic":
            return {}
        t = fam.temporal_patch_size
        areas = [r.frames.shape[1] * r.frames.shape[2] * (-(-len(r.frames) // t) * t if fam.hf_size_scope == "video"
                                                           else 1) for r in requests]
        return {"size": {"shortest_edge": min(areas), "longest_edge": max(areas)}}

    def budget_family(self):
        """The emoprobe.budget family of this model, with the loaded processor's own patch, merge and input
        sizes (a tiny or fine-tuned checkpoint may differ from the hub family's numbers)."""
        from emoprobe.budget import get_family

        if not self.family:
            raise ValueError(f"model {self.model!r}: no budget family known (emoprobe.budget); a fixed "
                             "visual-token budget needs one (ModelSpec.family)")
        self.load()
        fam = get_family(self.family)
        vp = getattr(self.processor_, "video_processor", None) or getattr(self.processor_, "image_processor", None)
        over = {}
        if fam.kind == "dynamic":
            for k in ("patch_size", "merge_size", "temporal_patch_size"):
                if isinstance(getattr(vp, k, None), int):
                    over[k] = int(getattr(vp, k))
        else:
            vision = getattr(self.model_.config, "vision_config", None)
            patch = getattr(vision, "patch_size", None)
            if isinstance(patch, (list, tuple)) and len(set(patch)) == 1:
                patch = patch[0]  # InternVLVisionConfig stores (height, width); a square patch is one number
            if isinstance(patch, int):
                over["patch_size"] = int(patch)
            crop = ((self.video_kwargs or {}).get("crop_size") or getattr(vp, "crop_size", None)
                    or getattr(vp, "size", None))
            side = _side(crop)
            if side:
                over["input_size"] = side
        return get_family(fam, **over)

    def visual_token_ids(self) -> set:
        proc = self.load().processor_
        ids = set()
        for attr in ("video_token_id", "image_token_id"):
            value = getattr(proc, attr, None)
            if isinstance(value, int):
                ids.add(value)
        return ids

    def count_visual_tokens(self, inputs) -> list[int]:
        """Visual placeholder tokens per row of `build_inputs` output (what the budget module predicts)."""
        import torch

        ids = inputs["input_ids"]
        mask = torch.zeros_like(ids, dtype=torch.bool)
        for i in self.visual_token_ids():
            mask |= ids == i
        return [int(x) for x in mask.sum(dim=1)]

    # ---------------------------------------------------------------------------------------- generation

    def generation_params(self, max_new_tokens=None, temperature=0.0) -> dict:
        """The generation settings as recorded in cache keys and summaries."""
        n = self.max_new_tokens if max_new_tokens is None else max_new_tokens
        return {"max_new_tokens": int(n), "temperature": float(temperature or 0.0),
                "do_sample": bool(temperature), "num_beams": 1}

    def _batch_key(self, req: VLMRequest):
        # Which requests can share one forward pass. Qwen video processors pack every clip's patches into one
        # flat tensor, so any clips mix; the others stack clips into one (batch, frames, C, H, W) tensor, so a
        # batch needs one frame count. Qwen2.5-Omni takes one fps per call.
        key = [req.keep_size]
        if self.pass_fps:
            key.append(req.sampled_fps)
        packs = hasattr(self.processor_.video_processor, "temporal_patch_size") if hasattr(
            self.processor_, "video_processor") else False
        if not packs or self.video_input == "images":
            key.append(0 if req.frames is None else len(req.frames))
        return tuple(key)

    def _batches(self, requests):
        # Consecutive requests with the same key, at most batch_size at a time; the caller's order is kept.
        batch, key = [], None
        for r in requests:
            k = self._batch_key(r)
            if batch and (len(batch) >= self.batch_size or k != key):
                yield batch
                batch = []
            batch.append(r)
            key = k
        if batch:
            yield batch

    def generate(self, requests: list[VLMRequest], max_new_tokens=None, temperature=0.0) -> list[dict]:
        """One response dict per request, in order: ``text``, ``latency_s``, ``error`` and token counts."""
        import torch

        self.load()
        params = self.generation_params(max_new_tokens, temperature)
        out = []
        for batch in self._batches(list(requests)):
            t0 = time.perf_counter()
            inputs = self.build_inputs(batch)
            visual = self.count_visual_tokens(inputs)
            lengths = [int(x) for x in inputs["attention_mask"].sum(dim=1)]
            device = self.model_.device
            inputs = inputs.to(device)
            gen = dict(max_new_tokens=params["max_new_tokens"], num_beams=1, do_sample=params["do_sample"])
            if params["do_sample"]:
                gen["temperature"] = params["temperature"]
            else:
                # the checkpoint's generation_config may carry temperature/top_p; greedy ignores them
                gen.update(temperature=None, top_p=None, top_k=None)
            with torch.inference_mode():
                ids = self.model_.generate(**inputs, **gen)
            new = ids[:, inputs["input_ids"].shape[1]:].cpu()
            texts = self.processor_.batch_decode(new, skip_special_tokens=True)
            eos = self.model_.generation_config.eos_token_id
            eos = set(eos if isinstance(eos, list) else [eos])
            elapsed = (time.perf_counter() - t0) / len(batch)
            for row, text, n_in, n_vis in zip(new.tolist(), texts, lengths, visual):
                # count up to and including the first end token; the rest is batch padding
                n_out = next((i + 1 for i, t in enumerate(row) if t in eos), len(row))
                finish = "stop" if n_out < len(row) or (row and row[-1] in eos) else "length"
                out.append(response(text, elapsed, None, input_tokens=n_in, visual_tokens=n_vis,
                                    output_tokens=n_out, finish_reason=finish))
        return out


def _side(size) -> int | None:
    # a processor size setting -> the square side it resizes to, where it names one
    if size is None:
        return None
    get = size.get if hasattr(size, "get") else lambda k, d=None: getattr(size, k, d)
    side = get("height", None) or get("shortest_edge", None)
    return int(side) if isinstance(side, int) and side < 4096 else None


def _plain(obj):
    # mappingproxy / tuples from frozen specs -> JSON-ready dicts and lists
    if isinstance(obj, dict) or hasattr(obj, "items"):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    return obj
