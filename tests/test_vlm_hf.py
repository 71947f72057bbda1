"""The HF backend on tiny random-weight models of two families, and the model registry.

"No hidden resampling" is checked through the visual-token count: the processor output must hold exactly the
tokens `emoprobe.budget` predicts for the frames we passed, so no frame was dropped or added on the way.
"""

import math

import numpy as np
import pytest
from vlm_fixtures import random_frames, tiny_llava_next_video, tiny_qwen2_vl  # noqa: F401  (fixtures)

from emoprobe import budget
from emoprobe.vlm import MODELS, VLMRequest, get_model, list_models
from emoprobe.vlm.base import BACKENDS, Backend, BackendError, make_backend
from emoprobe.vlm.hf import HFBackend

# what the tiny builders configure (emoprobe.vlm.tiny defaults)
BUDGET = {
    "qwen2-vl": dict(pipeline="transformers", hf_min_pixels=28 * 28, hf_max_pixels=56 * 56, patch_size=14),
    "llava-next-video": dict(input_size=56, patch_size=14, pool_factor=2),
}


def _request(n, h, w, seed=0, prompt="What is the emotional state of the person?", stride=3, fps=25.0):
    return VLMRequest(prompt=prompt, frames=random_frames(n, h, w, seed), frame_indices=list(range(0, stride * n, stride)),
                      timestamps=[stride * i / fps for i in range(n)], clip_fps=fps, clip_num_frames=stride * n + 1,
                      request_id=f"r{seed}")


@pytest.fixture(scope="module")
def qwen_backend(tiny_qwen2_vl):  # noqa: F811
    return HFBackend(str(tiny_qwen2_vl), family="qwen2-vl", batch_size=4, max_new_tokens=6).load()


@pytest.fixture(scope="module")
def llava_backend(tiny_llava_next_video):  # noqa: F811
    return HFBackend(str(tiny_llava_next_video), family="llava-next-video", batch_size=4, max_new_tokens=6).load()


@pytest.mark.parametrize("n", [1, 4, 5, 8])
@pytest.mark.parametrize("shape", [(48, 64), (56, 56), (112, 84), (20, 20)])
def test_qwen_visual_tokens_match_budget(qwen_backend, n, shape):
    req = _request(n, *shape)
    inputs = qwen_backend.build_inputs([req])
    expected = budget.visual_tokens("qwen2-vl", shape[0], shape[1], n, **BUDGET["qwen2-vl"])
    assert qwen_backend.count_visual_tokens(inputs) == [expected]
    # every frame we gave is a frame the model sees: grid_t covers n frames padded to the temporal patch
    assert int(inputs["video_grid_thw"][0][0]) == math.ceil(n / 2)


@pytest.mark.parametrize("n", [1, 3, 8])
@pytest.mark.parametrize("shape", [(48, 64), (112, 84)])
def test_llava_next_video_visual_tokens_match_budget(llava_backend, n, shape):
    req = _request(n, *shape)
    inputs = llava_backend.build_inputs([req])
    expected = budget.visual_tokens("llava-next-video", shape[0], shape[1], n, **BUDGET["llava-next-video"])
    assert llava_backend.count_visual_tokens(inputs) == [expected]
    assert inputs["pixel_values_videos"].shape[:2] == (1, n)


def test_qwen_video_metadata_carries_the_sampler_times(qwen_backend):
    # Qwen2.5-VL and Qwen3-VL read the sampled fps / frame times from this metadata; without it they assume 24 fps
    req = _request(4, 48, 64, stride=5, fps=25.0)
    meta = HFBackend._metadata(req)
    assert meta["frames_indices"] == [0, 5, 10, 15]
    assert meta["fps"] == 25.0 and meta["total_num_frames"] == 21
    assert req.sampled_fps == pytest.approx(4 / 21 * 25.0)


@pytest.mark.parametrize("which", ["qwen", "llava"])
def test_generation_round_trip_equals_plain_transformers(which, qwen_backend, llava_backend):
    import torch

    backend = qwen_backend if which == "qwen" else llava_backend
    req = _request(4, 48, 64, seed=3)
    got = backend.generate([req], max_new_tokens=6)[0]
    # the same inputs through transformers directly
    inputs = backend.build_inputs([req])
    with torch.inference_mode():
        ids = backend.model_.generate(**inputs, max_new_tokens=6, do_sample=False, num_beams=1)
    new = ids[0, inputs["input_ids"].shape[1]:]
    assert got["error"] is None
    assert got["text"] == backend.processor_.tokenizer.decode(new, skip_special_tokens=True)
    assert got["output_tokens"] == len(new) and got["visual_tokens"] > 0
    assert backend.generate([req], max_new_tokens=6)[0]["text"] == got["text"]  # deterministic


def test_batching_matches_one_by_one_qwen(qwen_backend):
    # mixed frame counts and sizes in one batch (Qwen packs patches, so they can share a forward pass)
    reqs = [_request(n, *shape, seed=i) for i, (n, shape) in enumerate([(4, (48, 64)), (5, (56, 56)), (8, (112, 84)),
                                                                        (2, (48, 64))])]
    batched = qwen_backend.generate(reqs)
    single = [qwen_backend.generate([r])[0] for r in reqs]
    assert [b["text"] for b in batched] == [s["text"] for s in single]
    assert [b["visual_tokens"] for b in batched] == [s["visual_tokens"] for s in single]
    assert len({b["input_tokens"] for b in batched}) > 1  # really padded to different lengths


def test_batching_matches_one_by_one_llava(llava_backend):
    reqs = [_request(4, 48, 64, seed=i, prompt="Which emotion?" + " really" * i) for i in range(3)]
    reqs.append(_request(6, 48, 64, seed=9))  # a different frame count goes in its own batch
    batched = llava_backend.generate(reqs)
    single = [llava_backend.generate([r])[0] for r in reqs]
    assert [b["text"] for b in batched] == [s["text"] for s in single]
    assert [len(b) for b in llava_backend._batches(reqs)] == [3, 1]


def test_images_mode_gives_one_image_per_frame(tiny_qwen2_vl):  # noqa: F811
    backend = HFBackend(str(tiny_qwen2_vl), video_input="images", max_new_tokens=3)
    inputs = backend.build_inputs([_request(3, 56, 56)])
    assert inputs["image_grid_thw"].shape[0] == 3
    assert backend.generate([_request(3, 56, 56)])[0]["error"] is None


def test_constructor_only_stores_parameters(tmp_path):
    backend = HFBackend(str(tmp_path / "missing"), dtype="float32", batch_size=2)
    assert not hasattr(backend, "model_") and backend.batch_size == 2
    with pytest.raises(BackendError, match="missing"):
        backend.load()
    with pytest.raises(ValueError, match="dtype"):
        HFBackend(str(tmp_path), dtype="float8").load()


def test_identity_of_local_folder_is_a_content_hash(tiny_qwen2_vl, tmp_path):  # noqa: F811
    import shutil

    a = HFBackend(str(tiny_qwen2_vl)).identity()
    copy = tmp_path / "qwen2-vl"
    shutil.copytree(tiny_qwen2_vl, copy)
    assert HFBackend(str(copy)).identity()["revision"] == a["revision"]  # moved, same content
    (copy / "config.json").write_text((copy / "config.json").read_text().replace("}", ' }', 1))
    assert HFBackend(str(copy)).identity()["revision"] != a["revision"]


# ------------------------------------------------------------------------------------------------ registry

@pytest.mark.parametrize("name", list_models())
def test_registry_spec(name):
    spec = MODELS[name]
    assert spec.name == name and spec.repo_id and spec.notes.strip()
    assert spec.family is None or spec.family in budget.FAMILIES
    assert spec.backend in ("hf", "openai")
    if spec.backend == "openai":
        assert spec.base_urls
    else:
        assert spec.video_input in ("video", "images") and spec.family is not None
    if spec.family and spec.budget_overrides:
        budget.get_family(spec.family, **dict(spec.budget_overrides))
    sample = spec.make_sampler().sample(75, 25.0)
    assert len(sample.indices) >= 1 and np.all(np.diff(sample.indices) >= 0)
    backend = make_backend(spec)  # constructors only store parameters: nothing loads, nothing connects
    assert isinstance(backend, BACKENDS.get(spec.backend)) and isinstance(backend, Backend)
    assert backend.identity()["model"] == spec.repo_id
    assert spec.to_dict()["name"] == name


def test_paper_models_are_registered():
    names = {s.paper_name for s in MODELS.values()}
    for paper in ("Qwen2.5-VL", "Qwen2.5-Omni", "Qwen3-VL", "EmotionQwen", "Video-LLaVA", "LLaVA-NeXT-V",
                  "InternVL-3.0", "Gemini2.5-Flash"):
        assert paper in names


def test_get_model_errors_and_local_folders(tiny_qwen2_vl, tiny_llava_next_video):  # noqa: F811
    with pytest.raises(ValueError, match="qwen2.5-vl-7b"):
        get_model("qwen25-vl-7b")
    assert get_model(str(tiny_qwen2_vl)).family == "qwen2-vl"
    spec = get_model(str(tiny_llava_next_video))
    assert spec.family == "llava-next-video" and spec.sampler == budget.FAMILIES["llava-next-video"].sampler
    assert get_model("qwen2.5-vl-7b", revision="abc").revision == "abc"
    with pytest.raises(ValueError, match="unknown ModelSpec field"):
        get_model("qwen2.5-vl-7b", colour="red")
