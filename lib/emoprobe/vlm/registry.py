"""Model specs by name: which checkpoint, which backend, which pixel limits and which frame sampler.

The paper evaluates Qwen2.5-VL, Qwen2.5-Omni, Qwen3-VL, EmotionQwen, Video-LLaVA, LLaVA-NeXT-Video,
InternVL-3.0 and Gemini 2.5 Flash without stating checkpoints or sizes (its project page's Table 2), so the
sizes below are our choice (7-8B class, the open checkpoints most papers use) and every spec says so in its
notes. Each spec records, next to the checkpoint:

- ``family``: a key of `emoprobe.budget.FAMILIES`, i.e. how a frame becomes visual tokens;
- ``video_kwargs`` / ``image_kwargs``: the processor settings we pass explicitly on every call (pixel limits),
  so a score never depends on a default that changed between transformers releases;
- ``sampler`` / ``sampler_params``: the frame sampler the model's own documentation uses (from the budget
  family), which the CLI uses when ``--sampler`` is not given.

`get_model` also accepts a local folder (a tiny test model or a fine-tuned checkpoint): its family is read
from ``config.json``'s ``model_type``.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Mapping

from emoprobe.registry import Registry, unknown_name

__all__ = ["ModelSpec", "MODELS", "as_spec", "get_model", "list_models", "family_from_config", "MODEL_TYPE_FAMILIES"]


def _frozen(**kw) -> Mapping:
    return MappingProxyType(dict(kw))


@dataclass(frozen=True)
class ModelSpec:
    """Everything needed to build a backend for one model, as plain parameters."""

    name: str
    repo_id: str                    # hub id, local folder, or the served model name for an API
    backend: str = "hf"             # key of emoprobe.vlm.base.BACKENDS
    family: str | None = None       # key of emoprobe.budget.FAMILIES (None: unknown, e.g. a hosted API)
    paper_name: str = ""            # the name printed in the paper's tables
    revision: str | None = None     # hub revision; None -> whatever is cached, recorded after loading
    model_class: str = "AutoModelForImageTextToText"
    video_input: str = "video"      # "video" (one video input) or "images" (one image per frame)
    video_kwargs: Mapping = field(default_factory=lambda: _frozen(), hash=False)
    image_kwargs: Mapping = field(default_factory=lambda: _frozen(), hash=False)
    pass_fps: bool = False          # the processor takes the sampled fps as a call argument (Qwen2.5-Omni)
    sampler: str = "uniform"
    sampler_params: Mapping = field(default_factory=lambda: _frozen(num_samples=8), hash=False)
    budget_overrides: Mapping = field(default_factory=lambda: _frozen(), hash=False)
    base_urls: tuple = ()           # openai backend: servers to spread requests over
    api_key_env: str | None = None  # openai backend: name of the environment variable holding the key
    verified: bool = True           # False: the checkpoint id could not be checked offline
    notes: str = ""

    def to_dict(self) -> dict:
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        for k in ("video_kwargs", "image_kwargs", "sampler_params", "budget_overrides"):
            out[k] = json.loads(json.dumps(dict(out[k])))
        out["base_urls"] = list(self.base_urls)
        return out

    def make_sampler(self, **overrides):
        from emoprobe.samplers import make_sampler

        return make_sampler(self.sampler, **{**dict(self.sampler_params), **overrides})


def _budget_sampler(family: str) -> dict:
    # the frame sampler each family's own documentation uses (emoprobe.budget cites the sources)
    from emoprobe.budget import FAMILIES

    fam = FAMILIES[family]
    return dict(sampler=fam.sampler, sampler_params=MappingProxyType(dict(fam.sampler_params)))


# qwen-vl-utils 0.0.14 per-frame video limits: VIDEO_MIN_TOKEN_NUM=128 and VIDEO_MAX_TOKEN_NUM=768 cells of
# 28x28 px, plus the whole-video share that `cap_pixels_per_frame=True` reproduces (emoprobe.budget docstring).
_QWEN2_VIDEO = _frozen(size={"shortest_edge": 128 * 28 * 28, "longest_edge": 768 * 28 * 28},
                       cap_pixels_per_frame=True)
_QWEN2_NOTE = ("Pixel limits are qwen-vl-utils' video defaults (128..768 tokens of 28x28 px per frame, "
               "whole-video share via cap_pixels_per_frame=True), passed explicitly. ")
# Qwen3-VL hub video_preprocessor_config.json (Qwen/Qwen3-VL-8B-Instruct): size bounds the whole video.
_QWEN3_VIDEO = _frozen(size={"shortest_edge": 4096, "longest_edge": 25165824})


def _hf(name, repo_id, family, paper_name, notes, **kw) -> ModelSpec:
    params = {**_budget_sampler(family), **kw}
    return ModelSpec(name=name, repo_id=repo_id, family=family, paper_name=paper_name, notes=notes, **params)


_SIZE_NOTE = "The paper does not state model sizes; this size is our choice. "

MODELS = Registry("model")


def _add(spec: ModelSpec):
    MODELS.register(spec.name, spec)


for _size in ("3b", "7b", "72b"):
    _add(_hf(f"qwen2.5-vl-{_size}", f"Qwen/Qwen2.5-VL-{_size.upper()}-Instruct", "qwen2.5-vl", "Qwen2.5-VL",
             _SIZE_NOTE + _QWEN2_NOTE + "Temporal position ids use the sampled fps from the video metadata.",
             video_kwargs=_QWEN2_VIDEO))
_add(_hf("qwen2-vl-7b", "Qwen/Qwen2-VL-7B-Instruct", "qwen2-vl", "", "Not in the paper; the tiny probe's "
         "architecture. " + _QWEN2_NOTE, video_kwargs=_QWEN2_VIDEO))
_add(_hf("qwen2.5-omni-7b", "Qwen/Qwen2.5-Omni-7B", "qwen2.5-vl", "Qwen2.5-Omni",
         _SIZE_NOTE + "Thinker only (text out, no talker), video without audio. Its vision encoder follows "
         "the Qwen2.5-VL rule (patch 14, merge 2, temporal patch 2), so the qwen2.5-vl budget family applies. "
         "The processor needs the sampled fps as an argument (it otherwise assumes 2 fps).",
         model_class="Qwen2_5OmniThinkerForConditionalGeneration", video_kwargs=_QWEN2_VIDEO, pass_fps=True))
for _size in ("2b", "4b", "8b"):
    _add(_hf(f"qwen3-vl-{_size}", f"Qwen/Qwen3-VL-{_size.upper()}-Instruct", "qwen3-vl", "Qwen3-VL",
             _SIZE_NOTE + "Hub video size bounds the whole clip; frames get '<t seconds>' text from the video "
             "metadata we pass (the processor's own 2 fps resampling is switched off).",
             video_kwargs=_QWEN3_VIDEO, budget_overrides=_frozen(pipeline="transformers")))
_add(_hf("internvl3-8b", "OpenGVLab/InternVL3-8B-hf", "internvl3", "InternVL-3.0",
         _SIZE_NOTE + "The -hf conversion; one 448x448 tile per frame as in the model card's video example.",
         video_kwargs=_frozen(size={"height": 448, "width": 448})))
_add(_hf("llava-next-video-7b", "llava-hf/LLaVA-NeXT-Video-7B-hf", "llava-next-video", "LLaVA-NeXT-V",
         _SIZE_NOTE + "336 px shortest edge + centre crop (hub preprocessor_config.json).",
         video_kwargs=_frozen(size={"shortest_edge": 336}, crop_size={"height": 336, "width": 336})))
_add(_hf("video-llava-7b", "LanguageBind/Video-LLaVA-7B-hf", "video-llava", "Video-LLaVA",
         "The only released size. Trained on 8 frames; 224 px shortest edge + centre crop.",
         video_kwargs=_frozen(size={"shortest_edge": 224}, crop_size={"height": 224, "width": 224})))
_add(_hf("emotion-qwen", "24DavidHuang/Emotion-Qwen", "qwen2.5-vl", "EmotionQwen",
         "Emotion-Qwen (Huang et al., arXiv 2505.06685; GitHub 24DavidHuang/Emotion-Qwen). The hub id and its "
         "architecture could not be checked offline: pass the downloaded folder as --model to use it. "
         "Its code defaults to fps 2 like qwen-vl-utils.", verified=False, video_kwargs=_QWEN2_VIDEO))
_add(ModelSpec(
    name="gemini-2.5-flash", repo_id="gemini-2.5-flash", backend="openai", family=None,
    paper_name="Gemini2.5-Flash", base_urls=("https://generativelanguage.googleapis.com/v1beta/openai/",),
    api_key_env="GEMINI_API_KEY", sampler="fps", sampler_params=_frozen(target_fps=1.0),
    notes="Through Google's OpenAI-compatible endpoint; frames are sent as JPEG images with their timestamps "
          "stated in the prompt. 1 fps mirrors the Gemini API's default sampling of uploaded video; the "
          "paper's setting is not known. Hosted model: the revision is whatever the API serves that day."))
_add(ModelSpec(
    name="qwen2.5-vl-7b-server", repo_id="Qwen/Qwen2.5-VL-7B-Instruct", backend="openai", family="qwen2.5-vl",
    paper_name="Qwen2.5-VL", base_urls=("http://127.0.0.1:8000/v1",), api_key_env=None,
    **_budget_sampler("qwen2.5-vl"),
    notes="Qwen2.5-VL-7B behind a local OpenAI-compatible server (vLLM, SGLang, `transformers serve`); pass "
          "--base-url to point elsewhere. Frames go as images so the server cannot resample them; HF and "
          "vLLM scores can differ (as lmms-eval users report)."))


def list_models() -> list[str]:
    return MODELS.names()


# config.json model_type -> emoprobe.budget family
MODEL_TYPE_FAMILIES = {
    "qwen2_vl": "qwen2-vl", "qwen2_5_vl": "qwen2.5-vl", "qwen3_vl": "qwen3-vl",
    "qwen2_5_omni": "qwen2.5-vl", "qwen2_5_omni_thinker": "qwen2.5-vl",
    "internvl": "internvl3", "llava_next_video": "llava-next-video", "video_llava": "video-llava",
    "llava_onevision": "llava-onevision",
}


def family_from_config(folder) -> str | None:
    """The budget family of a local checkpoint folder, from ``config.json``'s ``model_type``."""
    path = Path(folder) / "config.json"
    try:
        config = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise ValueError(f"{path}: expected a readable transformers config.json; {e}") from e
    return MODEL_TYPE_FAMILIES.get(config.get("model_type"))


def _is_video_classifier(folder: Path) -> bool:
    config = json.loads((folder / "config.json").read_text()) if (folder / "config.json").is_file() else {}
    return any(str(a).endswith("ForVideoClassification") for a in config.get("architectures") or [])


def get_model(name_or_path: str, **overrides) -> ModelSpec:
    """The registered spec ``name_or_path``, or a spec for a local checkpoint folder.

    ``overrides`` replace spec fields (``get_model("qwen2.5-vl-7b", revision="abc123")``).
    """
    key = str(name_or_path)
    if key in MODELS:
        spec = MODELS[key]
    elif Path(key).is_dir() and _is_video_classifier(Path(key)):
        folder = Path(key).resolve()
        config = json.loads((folder / "config.json").read_text())
        spec = ModelSpec(name=folder.name, repo_id=str(folder), backend="video_classifier", family=None,
                         model_class="AutoModelForVideoClassification", sampler="segment_center",
                         sampler_params=_frozen(num_segments=int(config.get("num_frames", 16))),
                         notes="Local video classifier (vision-only); frames are its num_frames TSN segment "
                               "centres, as DFER models are evaluated.")
    elif Path(key).is_dir():
        folder = Path(key).resolve()
        family = family_from_config(folder)
        model_type = json.loads((folder / "config.json").read_text()).get("model_type")
        params = _budget_sampler(family) if family else {}
        omni = model_type in ("qwen2_5_omni", "qwen2_5_omni_thinker")
        # a full Omni checkpoint or its saved thinker (the tiny one): either way only the thinker generates text
        model_class = "Qwen2_5OmniThinkerForConditionalGeneration" if omni else "AutoModelForImageTextToText"
        spec = ModelSpec(name=folder.name, repo_id=str(folder), family=family, model_class=model_class,
                         pass_fps=omni,
                         notes=f"Local folder (model_type {model_type!r}); processor settings as saved there.",
                         **params)
    else:  # the registry's own message (close names, then every name), saying that no folder has this name
        raise ValueError(f"{unknown_name('model', key, MODELS)} (no local folder has this path either)")
    if overrides:
        known = {f.name for f in dataclasses.fields(ModelSpec)}
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise ValueError(f"unknown ModelSpec field(s) {unknown}; known: {sorted(known)}")
        spec = dataclasses.replace(spec, **overrides)
    return spec


def as_spec(model) -> ModelSpec:
    """``model`` as a spec: a `ModelSpec` as it is; a registered name, a checkpoint folder, or a
    ``probe:<profile>/<name>`` / ``tiny:<family>`` name (emoprobe.sources) through `get_model`."""
    import os

    from emoprobe.sources import resolve_model

    if isinstance(model, ModelSpec):
        return model
    if isinstance(model, (str, os.PathLike)):
        return get_model(resolve_model(str(model)))
    raise ValueError(f"model must be a registered name, a folder, a ModelSpec or a backend, got {model!r}")
