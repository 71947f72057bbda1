"""Every tiny family end to end: built offline, found by the registry, evaluated on real mp4 clips, and held to
a fixed visual-token budget.

These folders are what the book's offline rehearsal runs the paper profile on, so each one must go through
exactly the path a hub checkpoint takes: `get_model(folder)` -> `HFBackend` -> the official processor ->
`generate`. The placeholder check makes sure each chat template writes the family's own video token, the one
the processor expands (a template writing another family's token would leave the video unused).
"""

import json

import numpy as np
import pytest
from vlm_fixtures import CLIP_LABELS, write_clips

from emoprobe import budget
from emoprobe.evaluate import evaluate
from emoprobe.parse import OUTCOMES
from emoprobe.vlm.base import VLMRequest, make_backend
from emoprobe.vlm.registry import get_model
from emoprobe.vlm.tiny import TINY_BUILDERS, build_tiny

# tiny family -> emoprobe.budget family (Qwen2.5-Omni's vision encoder follows the Qwen2.5-VL rule)
BUDGET_FAMILY = {"qwen2.5-omni": "qwen2.5-vl"}

# what each family's chat template writes for one video, as the hub templates do
VIDEO_PLACEHOLDER = {
    "qwen2-vl": "<|vision_start|><|video_pad|><|vision_end|>",
    "qwen2.5-vl": "<|vision_start|><|video_pad|><|vision_end|>",
    "qwen3-vl": "<|vision_start|><|video_pad|><|vision_end|>",
    "qwen2.5-omni": "<|vision_bos|><|VIDEO|><|vision_eos|>",
    "internvl3": "<video>\n",
    "video-llava": "<video>\n",
    "llava-onevision": "<video>",
    "llava-next-video": "<video>\n",
}

DYNAMIC_BUDGET = 8   # visual tokens for the Qwen families (frames thinned and shrunk to fit)
FIXED_FRAMES = 3     # frames' worth of tokens for the fixed-size families


def test_every_family_has_a_builder():
    assert set(TINY_BUILDERS) == set(VIDEO_PLACEHOLDER)
    assert {BUDGET_FAMILY.get(f, f) for f in TINY_BUILDERS} == set(budget.FAMILIES)


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    return write_clips(tmp_path_factory.mktemp("clips"), 2, num_frames=20, fps=10.0, height=56, width=56)


def _rows(folder, clips, out, **kw) -> list[dict]:
    evaluate(clips, model=str(folder), sampler="uniform", out_dir=out, labels=CLIP_LABELS, cache=False,
             progress=False, max_new_tokens=4, **kw)
    return [json.loads(line) for line in (out / "predictions.jsonl").read_text().splitlines()]


def _check(rows, clips):
    assert [r["id"] for r in rows] == [c["id"] for c in clips]
    for r in rows:
        assert r["error"] is None, r["error"]
        assert r["outcome"] in OUTCOMES
        assert r["visual_tokens"] > 0


@pytest.mark.parametrize("family", sorted(TINY_BUILDERS))
def test_tiny_family_end_to_end(family, clips, tmp_path_factory):
    tmp = tmp_path_factory.mktemp(family)
    folder = build_tiny(family, tmp / "model")
    assert (folder / "EMOPROBE_TINY.json").is_file()

    spec = get_model(str(folder))
    expected = BUDGET_FAMILY.get(family, family)
    assert spec.family == expected
    if family == "qwen2.5-omni":
        assert spec.model_class == "Qwen2_5OmniThinkerForConditionalGeneration" and spec.pass_fps

    backend = make_backend(spec, max_new_tokens=4).load()
    messages = backend._messages(VLMRequest(prompt="Which emotion?", frames=np.zeros((2, 56, 56, 3), np.uint8)))
    text = backend.processor_.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
    assert VIDEO_PLACEHOLDER[family] in text

    rows = _rows(folder, clips, tmp / "free", sampler_params={"num_samples": 8})
    _check(rows, clips)
    assert all(len(r["frame_indices"]) == 8 for r in rows)

    fam = backend.budget_family()
    if fam.kind == "dynamic":
        limit, samples = DYNAMIC_BUDGET, 16
    else:
        limit, samples = FIXED_FRAMES * fam.tokens_per_frame, 8
    rows = _rows(folder, clips, tmp / "budget", sampler_params={"num_samples": samples}, visual_tokens=limit)
    _check(rows, clips)
    for r in rows:
        assert r["visual_token_budget"] == limit
        assert r["visual_tokens"] <= limit
        if fam.kind == "fixed":
            assert len(r["frame_indices"]) <= FIXED_FRAMES
