"""Every registry of the package has one shape (emoprobe.registry), and every backend keeps one contract.

The entries' own contracts are tested beside their code: every frame sampler (test_samplers.py), class sampler
(test_class_samplers.py), budget family (test_budget.py), dataset layout on a fixture in its real format
(test_loaders.py), zoo model in smoke (test_probe_zoo.py) and prompt (test_prompts.py). Here: the shape of
every registry, and every registered backend on a tiny real model through `make_backend`.
"""

from __future__ import annotations

import numpy as np
import pytest
from vlm_fixtures import served_tiny_qwen, tiny_qwen2_vl  # noqa: F401

from emoprobe.data import DATASETS
from emoprobe.families import FAMILIES
from emoprobe.probe.profiles import PROFILES
from emoprobe.probe.zoo import KINDS
from emoprobe.prompts import PROMPTS
from emoprobe.registry import Registry
from emoprobe.samplers import CLASS_SAMPLERS, SAMPLERS
from emoprobe.vlm.base import BACKENDS, Backend, VLMRequest, make_backend
from emoprobe.vlm.registry import MODELS, ModelSpec, get_model
from emoprobe.vlm.tiny import TINY_BUILDERS

REGISTRIES = {"frame sampler": SAMPLERS, "class sampler": CLASS_SAMPLERS, "backend": BACKENDS, "model": MODELS,
              "VLM family": FAMILIES, "dataset": DATASETS, "zoo model kind": KINDS, "zoo profile": PROFILES,
              "tiny builder": TINY_BUILDERS, "prompt": PROMPTS}


@pytest.mark.parametrize("kind", sorted(REGISTRIES))
def test_every_registry_has_one_shape(kind):
    reg = REGISTRIES[kind]
    assert isinstance(reg, Registry) and reg.kind == kind
    names = reg.names()
    assert names and names == sorted(set(names)) == sorted(reg)
    for name in names:
        assert name in reg and reg.get(name) is reg[name]
    # a near miss names the registry and suggests the close name; a far one lists every name
    near = names[0][:-1] + ("x" if names[0][-1] != "x" else "y")
    with pytest.raises(ValueError, match=rf"unknown {kind} {near!r}\. Did you mean {names[0]!r}"):
        reg.get(near)
    with pytest.raises(ValueError, match=rf"unknown {kind} 'zzzzzz'\. Expected one of: {names[0]}"):
        reg.get("zzzzzz")
    with pytest.raises(ValueError, match="already registered"):
        reg.register(names[0], object())


def test_a_registry_decorates_classes_and_imports_lazy_entries():
    reg = Registry("widget")

    @reg.register("round")
    class Round:
        pass

    assert reg.build("round").name == "round" and reg.names() == ["round"]
    lazy = Registry("codec", lazy=True)
    lazy.register("json", "json:dumps")
    import json

    assert lazy.get("json") is json.dumps
    reg.unregister("round")
    assert "round" not in reg and len(reg) == 0
    with pytest.raises(ValueError, match="non-empty string"):
        reg.register("", object())


@pytest.fixture(scope="module")
def tiny_videomae(tmp_path_factory):
    from emoprobe.probe.videomae import build, save

    folder = tmp_path_factory.mktemp("videomae") / "model"
    save(build(labels=["happy", "sad", "neutral", "angry"], seed=0, num_frames=4, tubelet_size=1), folder)
    return str(folder)


def _spec(name, request):
    if name == "hf":
        return get_model(request.getfixturevalue("tiny_qwen2_vl"))
    if name == "video_classifier":
        return get_model(request.getfixturevalue("tiny_videomae"))
    url, model = request.getfixturevalue("served_tiny_qwen")
    return ModelSpec(name="served", repo_id=model, backend="openai", base_urls=(url,))


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.slow) if n == "openai" else n
                                  for n in BACKENDS.names()])
def test_every_backend_keeps_the_contract_on_a_tiny_real_model(name, request):
    spec = _spec(name, request)
    assert spec.backend == name
    backend = make_backend(spec, batch_size=2)
    assert isinstance(backend, Backend) and isinstance(backend, BACKENDS.get(name)) and backend.name == name
    assert make_backend(backend) is backend  # a built backend passes through
    with pytest.raises(ValueError, match="already built"):
        make_backend(backend, batch_size=3)
    backend.check()
    labels = backend.labels()
    assert labels is None or (labels and all(isinstance(x, str) for x in labels))
    identity = backend.identity()
    assert identity["backend"] == name and "key" not in " ".join(map(str, identity))
    frames = np.random.default_rng(0).integers(0, 256, (4, 56, 56, 3), dtype=np.uint8)
    requests = [VLMRequest(prompt="Which emotion? Answer with one word.", frames=frames, frame_indices=[0, 3, 6, 9],
                           timestamps=[0.0, 0.3, 0.6, 0.9], clip_fps=10.0, clip_num_frames=10, request_id=f"r{i}")
                for i in range(3)]
    answers = backend.generate(requests, max_new_tokens=3)
    assert len(answers) == 3
    for a in answers:
        assert {"text", "latency_s", "error"} <= set(a) and a["error"] is None and isinstance(a["text"], str)
    if labels is not None:  # a classifier answers with one of its class names
        assert all(a["text"] in labels for a in answers)
    assert backend.generate(requests[:1], max_new_tokens=3)[0]["text"] == answers[0]["text"]  # greedy
    params = backend.generation_params(3, 0.0)
    assert isinstance(params, dict) and params
