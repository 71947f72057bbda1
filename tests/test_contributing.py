"""CONTRIBUTING.md's first two recipes, followed to the letter: a new frame sampler and a new model entry work
through the engine by name, with no other file touched."""

import json

import numpy as np
import pytest
from vlm_fixtures import CLIP_LABELS, tiny_qwen2_vl, write_clips  # noqa: F401

from emoprobe.evaluate import evaluate
from emoprobe.samplers import temporal
from emoprobe.vlm import registry


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    return write_clips(tmp_path_factory.mktemp("contrib"), 3, num_frames=20, fps=10.0, height=56, width=56)


@pytest.fixture()
def every_other():
    """The guide's sampler: every ``step``-th frame (registered for this test only)."""

    @temporal.register("every_other_test")
    class EveryOther(temporal.Sampler):
        def __init__(self, step: int = 2, shuffle: bool = False, seed: int = 0):
            super().__init__(shuffle, seed)
            self.step = step

        def _indices(self, num_frames, fps, rng, frame_times):
            temporal._positive_int("step", self.step)
            return np.arange(0, num_frames, self.step)

    yield EveryOther
    del temporal.SAMPLERS["every_other_test"]


def _rows(folder):
    return [json.loads(line) for line in (folder / "predictions.jsonl").read_text().splitlines()]


def test_a_new_sampler_and_a_new_model_run_by_name(clips, every_other, tiny_qwen2_vl, tmp_path):  # noqa: F811
    registry._add(registry._hf("my-tiny-qwen", str(tiny_qwen2_vl), "qwen2-vl", "", "a test entry"))
    try:
        evaluate(clips, model="my-tiny-qwen", sampler="every_other_test", sampler_params={"step": 5},
                 labels=CLIP_LABELS, out_dir=tmp_path / "run", cache=False, progress=False, max_new_tokens=4)
        rows = _rows(tmp_path / "run")
        assert len(rows) == 3 and all(r["frame_indices"] == [0, 5, 10, 15] for r in rows)
        assert all(r["error"] is None for r in rows)
        with pytest.raises(ValueError, match="step"):
            evaluate(clips, model="my-tiny-qwen", sampler="every_other_test", sampler_params={"step": 0},
                     labels=CLIP_LABELS, out_dir=tmp_path / "bad", cache=False, progress=False)
    finally:
        registry.MODELS.pop("my-tiny-qwen", None)
