"""The probe VLM (emoprobe.probe.vlm): building, the processor path shared with HFBackend, the budget rule,
motion text, training."""

import os

import numpy as np
import pytest
import torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from emoprobe.data.synth.aus import AU_INDEX, AU_NAMES  # noqa: E402
from emoprobe.data.synth.generate import generate_clip  # noqa: E402
from emoprobe.labels import LABEL_SETS  # noqa: E402
from emoprobe.probe import corpus  # noqa: E402
from emoprobe.probe.vlm.budget import (VISUAL_TOKENS, budget_indices, default_budget, fit_budget,  # noqa: E402
                                       frame_side, max_frames, visual_tokens_of)
from emoprobe.probe.vlm.build import build  # noqa: E402
from emoprobe.probe.vlm.encode import collate, encode_example, encode_prompt, fast_encode_prompt  # noqa: E402
from emoprobe.probe.vlm.examples import plain_example  # noqa: E402
from emoprobe.probe.vlm.pools import build_pool, clip_frames, timeline_clips  # noqa: E402
from emoprobe.probe.vlm.train import TRAIN_DEFAULTS, pretrain_plan, train_probe_vlm  # noqa: E402


@pytest.fixture(scope="module")
def vlm():
    return build(seed=0)


@pytest.fixture(scope="module")
def saved(vlm, tmp_path_factory):
    return vlm.save_pretrained(tmp_path_factory.mktemp("probe") / "vlm")


def _frames(n, side=56, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (n, side, side, 3), dtype=np.uint8)


def test_build_has_the_recipe_shape(vlm):
    cfg = vlm.model.config
    assert cfg.vision_config.patch_size == 14 and cfg.vision_config.depth == 2
    assert cfg.text_config.hidden_size == 64 and cfg.text_config.num_hidden_layers == 2
    assert cfg.text_config.num_key_value_heads == 2
    tok = vlm.processor.tokenizer
    for special in ("<|im_start|>", "<|im_end|>", "<|video_pad|>", "<|endoftext|>"):
        assert tok.convert_tokens_to_ids(special) != tok.unk_token_id
    # the tokenizer was trained on the probe's words: every MAFW label is a single token
    for label in LABEL_SETS["mafw"]:
        assert len(tok(label, add_special_tokens=False)["input_ids"]) == 1, label


def test_save_load_generate_through_hfbackend(saved, vlm):
    from emoprobe.vlm.base import VLMRequest
    from emoprobe.vlm.hf import HFBackend

    backend = HFBackend(model=str(saved), batch_size=2, max_new_tokens=4)
    reqs = [VLMRequest(prompt="Which emotion?", frames=_frames(n, seed=n), frame_indices=list(range(n)),
                       clip_fps=25.0, clip_num_frames=n) for n in (4, 8)]
    out = backend.generate(reqs)
    assert [r["error"] for r in out] == [None, None]
    assert all(isinstance(r["text"], str) for r in out)
    assert out[1]["visual_tokens"] == visual_tokens_of(8, 56) == VISUAL_TOKENS == 16
    gen = backend.model_.generation_config
    tok = backend.tokenizer
    assert gen.eos_token_id == tok.convert_tokens_to_ids("<|im_end|>")
    assert gen.pad_token_id == tok.convert_tokens_to_ids("<|endoftext|>")
    assert tok.padding_side == "left"
    # the loaded weights are the saved ones
    a = dict(vlm.model.named_parameters())
    for name, p in backend.model_.named_parameters():
        assert torch.equal(p, a[name]), name


@pytest.mark.parametrize("n", [1, 2, 5, 8, 16, 40])
def test_fast_encoding_equals_processor_and_backend(saved, vlm, n):
    from emoprobe.vlm.base import VLMRequest
    from emoprobe.vlm.hf import HFBackend

    frames = fit_budget(_frames(n, side=64, seed=n))
    prompt = "Context: 0.0-1.0 s: the lips part.\n\nWhich emotion does the person express?"
    official = encode_prompt(vlm.processor, frames, prompt, indices=range(n), clip_fps=25.0,
                             clip_num_frames=n)
    fast = fast_encode_prompt(vlm.processor, frames, prompt)
    assert torch.equal(official["input_ids"], fast["input_ids"])
    assert torch.equal(official["mm_token_type_ids"], fast["mm_token_type_ids"])
    assert torch.equal(official["video_grid_thw"], fast["video_grid_thw"])
    assert torch.allclose(official["pixel_values_videos"], fast["pixel_values_videos"], atol=1e-5)
    backend = HFBackend(model=str(saved))
    inputs = backend.build_inputs([VLMRequest(prompt=prompt, frames=frames, frame_indices=list(range(n)),
                                              clip_fps=25.0, clip_num_frames=n)])
    assert torch.equal(inputs["input_ids"], fast["input_ids"])


def test_labels_cover_only_the_answer(vlm):
    ex = encode_example(vlm.processor, _frames(8), "Which emotion?", "helplessness")
    labelled = ex["labels"][ex["labels"] != -100]
    assert vlm.processor.tokenizer.decode(labelled) == "helplessness<|im_end|>"
    # the labelled tokens are the last ones of the expanded sequence
    k = len(labelled)
    assert torch.equal(ex["input_ids"][-k:], labelled)
    assert (ex["labels"][:-k] == -100).all()
    assert int((ex["mm_token_type_ids"] == 2).sum()) == 16  # 4 frame pairs x (56 / 28) ** 2


def test_collate_left_pads_and_packs_pixels(vlm):
    a = encode_example(vlm.processor, _frames(8), "Which emotion?", "sadness")
    b = encode_example(vlm.processor, _frames(2), "Which emotion does the person show here?", "fear")
    batch = collate([a, b], vlm.processor.tokenizer.pad_token_id)
    assert batch["input_ids"].shape[0] == 2
    assert batch["attention_mask"][1, -1] == 1 and batch["attention_mask"].sum() == len(a["input_ids"]) + len(b["input_ids"])
    assert batch["pixel_values_videos"].shape[0] == len(a["pixel_values_videos"]) + len(b["pixel_values_videos"])
    assert batch["pixel_values_videos"].dtype == torch.float32
    loss = vlm.model(**batch).loss
    assert torch.isfinite(loss)


@pytest.mark.parametrize("patch", [7, 14])
def test_frame_side_keeps_the_budget(patch):
    budget = default_budget(patch)
    assert budget == {7: 64, 14: 16}[patch]  # 8 frames at 56 px
    sides = []
    for n in range(1, 2 * budget + 1):
        side = frame_side(n, budget, patch_size=patch)
        assert side % (2 * patch) == 0 and 2 * patch <= side <= 56
        assert visual_tokens_of(n, side, patch) <= budget
        sides.append(side)
    assert sides == sorted(sides, reverse=True)  # more frames never get more pixels
    assert frame_side(8, budget, patch_size=patch) == 56
    assert frame_side(16, budget, patch_size=patch) == 28
    assert len(budget_indices(np.arange(500), budget)) == max_frames(budget) == 2 * budget
    with pytest.raises(ValueError, match="num_frames"):
        frame_side(0)


def _aus(n, **tracks):
    a = np.zeros((n, len(AU_NAMES)), np.float32)
    for name, values in tracks.items():
        a[:, AU_INDEX[name]] = values
    return a


def test_describe_motion_words():
    ramp = np.linspace(0, 1, 5)
    assert corpus.describe_motion(_aus(5, AU12=ramp), AU_NAMES) == "the lip corners pull up"
    bump = np.array([0, 0.5, 1, 0.5, 0])
    assert corpus.describe_motion(_aus(5, AU12=bump), AU_NAMES) == "the lip corners pull up for a moment"
    assert corpus.describe_motion(_aus(5, AU4=ramp, AU12=0.5 * ramp), AU_NAMES) == (
        "the brows lower and draw together and the lip corners pull up")
    assert corpus.describe_motion(_aus(5, AU12=ramp[::-1]), AU_NAMES) == "the lip corners drop"
    assert corpus.describe_motion(_aus(5, AU12=0.1 * ramp), AU_NAMES) == corpus.STILL
    emotion_words = {w for ws in corpus.CAPTION_WORDS.values() for w in ws} | set(corpus.CAPTION_WORDS)
    for rise, release in corpus.AU_PHRASES.values():
        assert not emotion_words & set(f"{rise} {release}".split())


def test_motion_context_follows_keyframe_gaps():
    from emoprobe.samplers import make_sampler

    s = make_sampler("keyframes", keyframe_fps=1.0, per_gap=4).sample(50, 25.0)
    a = _aus(50, AU12=np.r_[np.zeros(30), np.ones(20)])
    text = corpus.motion_context(a, AU_NAMES, s, 25.0)
    assert text.startswith("0.0-1.0 s: the face stays still. 1.0-")
    assert "the lip corners pull up" in text
    with pytest.raises(ValueError, match="descriptions"):
        corpus.motion_context(a, AU_NAMES, s, 25.0, descriptions=["x"] * 5)


def _rendered(spec_clips, size=56, cap=25):
    """Whole clips rendered and face-cropped, as the test sets on disk hold them."""
    from emoprobe.data.synth.crop import RENDER_SIZE, face_crop

    out = []
    for c in spec_clips:
        clip = generate_clip(**dict(c, num_frames=min(c["num_frames"], cap)), size=RENDER_SIZE)
        out.append({**clip, "frames": face_crop(clip["frames"], size)})
    return out


def _tiny_pool(vlm, clips=11, seed=0):
    from emoprobe.data.synth.generate import make_dataset_spec

    spec = make_dataset_spec("balanced", clips, seed=seed, dataset="mafw")
    return build_pool(_rendered(spec["clips"]), {"plain": 1, "classify": 1, "caption": 1, "motion": 1}, vlm.processor, seed,
                      None, 0.25)


@pytest.mark.slow
def test_training_lowers_the_loss():
    start = build(seed=1)
    pool = _tiny_pool(start)
    out = train_probe_vlm(pool, {"steps": 40, "batch_size": 8, "warmup_steps": 5}, seed=1, init=start,
                          progress=False)
    loss = out["history"]["loss"]
    assert np.mean(loss[-5:]) < 0.8 * np.mean(loss[:5])
    assert out["model"].info["stage"] == "pretrain"


@pytest.mark.slow
def test_training_is_deterministic():
    curves = []
    for _ in range(2):
        start = build(seed=2)
        pool = _tiny_pool(start, seed=2)
        out = train_probe_vlm(pool, {"steps": 4, "batch_size": 4}, seed=2, init=start, progress=False)
        curves.append(out["history"]["loss"])
    assert curves[0] == curves[1]
    start = build(seed=3)
    other = train_probe_vlm(_tiny_pool(start, seed=2), {"steps": 4, "batch_size": 4}, seed=3, init=start,
                            progress=False)
    assert other["history"]["loss"] != curves[0]


def test_pretrain_plan_follows_the_prior(vlm):
    pool = {"label": ["happiness"] * 10 + ["helplessness"] * 10, "task": ["classify"] * 20,
            "kind": ["macro"] * 20, "clip": np.arange(20)}
    cfg = dict(TRAIN_DEFAULTS, steps=200, batch_size=16)
    share = {}
    for power in (0.0, 2.0):
        drawn = np.concatenate(pretrain_plan(pool, dict(cfg, prior_power=power), seed=0))
        share[power] = float(np.mean(drawn < 10))
    assert abs(share[0.0] - 0.5) < 0.05
    assert share[2.0] > 0.99


def test_pretrain_plan_curriculum_and_task_weights():
    # two classes; class b has micro clips, class a none; tasks plain / caption
    labels = ["happiness"] * 8 + ["sadness"] * 8
    kind = ["macro"] * 8 + ["macro"] * 4 + ["micro"] * 4
    task = ["plain", "caption"] * 8
    pool = {"label": labels, "task": task, "kind": kind, "clip": np.arange(16)}
    cfg = dict(TRAIN_DEFAULTS, steps=300, batch_size=16, prior_power=0.0)
    plain_only = np.concatenate(pretrain_plan(pool, dict(cfg, task_weights={"plain": 1.0},
                                                        micro_curriculum=None), seed=0))
    assert {task[i] for i in plain_only} == {"plain"} and {kind[i] for i in plain_only} == {"macro"}
    # masking the micro clips keeps the class prior: still half and half
    assert abs(np.mean(plain_only < 8) - 0.5) < 0.05
    late = pretrain_plan(pool, dict(cfg, task_weights={"plain": 0.5, "caption": 0.5},
                                    micro_curriculum=[0.5, 0.6]), seed=0)
    micro = lambda steps: np.mean([kind[i] == "micro" for s in steps for i in s])  # noqa: E731
    assert micro(late[:140]) == 0 and micro(late[-100:]) > 0.1
    assert abs(np.mean([task[i] == "caption" for s in late for i in s]) - 0.5) < 0.05
    with pytest.raises(ValueError, match="task_weights"):
        pretrain_plan(pool, dict(cfg, task_weights={"classfy": 1.0}), seed=0)


def test_plain_examples_ask_the_evaluation_question(vlm):
    from emoprobe.data.synth.generate import make_dataset_spec

    spec = make_dataset_spec("balanced", 7, seed=4, dataset="dfew", nuisance=False)
    clips = timeline_clips(spec["clips"], 56, 40)
    rng = np.random.default_rng(0)
    first = plain_example(clips[0], rng, "a", first=True, dataset="dfew")
    other = plain_example(clips[0], rng, "b", first=False, dataset="dfew")
    n = clips[0]["num_frames"]
    from emoprobe.samplers import make_sampler

    uniform = make_sampler("uniform", num_samples=8).sample(n, clips[0]["fps"]).indices
    assert first["indices"].tolist() == uniform.tolist()
    assert len(other["indices"]) == 8 and first["task"] == other["task"] == "plain"
    assert first["answer"] == corpus.dataset_word(clips[0]["label"], "dfew")
    assert all(w in first["prompt"] for w in LABEL_SETS["dfew"])


def test_generate_clip_renders_only_the_requested_frames():
    from emoprobe.data.synth.generate import generate_clip

    full = generate_clip("sad", kind="macro", seed=5, num_frames=30, size=48, nuisance=False)
    part = generate_clip("sad", kind="macro", seed=5, num_frames=30, size=48, nuisance=False, frame_indices=[3, 20, 7])
    assert part["frames"].shape == (3, 48, 48, 3)
    assert np.array_equal(part["frames"], full["frames"][[3, 20, 7]])  # no pixel noise: identical pixels
    assert np.array_equal(part["aus"], full["aus"]) and part["event"] == full["event"]
    assert part["frame_indices"].tolist() == [3, 20, 7] and "frame_indices" not in full
    with pytest.raises(ValueError, match="frame_indices"):
        generate_clip("sad", seed=5, num_frames=30, size=48, frame_indices=[30])


def test_timeline_clips_pool_renders_what_examples_sample(vlm):
    from emoprobe.data.synth.generate import make_dataset_spec

    spec = make_dataset_spec("balanced", 7, seed=4, dataset="dfew", nuisance=False)
    lazy = timeline_clips(spec["clips"], 56, 25)
    full = _rendered(spec["clips"])
    assert "frames" not in lazy[0] and lazy[0]["num_frames"] == full[0]["num_frames"]
    assert np.array_equal(lazy[0]["aus"], full[0]["aus"])
    idx = [0, 12, 24]
    assert np.array_equal(clip_frames(lazy[0], idx), full[0]["frames"][idx])
    tasks = {"classify": 2, "caption": 1}
    a = build_pool(lazy, tasks, vlm.processor, 0, None, 0.0, dataset="dfew")
    b = build_pool(full, tasks, vlm.processor, 0, None, 0.0, dataset="dfew")
    assert len(a["examples"]) == len(b["examples"]) == 21 and a["task"] == b["task"]
    for x, y in zip(a["examples"], b["examples"]):
        assert torch.equal(x["input_ids"], y["input_ids"])
        assert torch.equal(x["pixel_values_videos"], y["pixel_values_videos"])
    # a DFEW pool asks with DFEW's 7 words and answers in them
    tok = vlm.processor.tokenizer
    answers = {tok.decode(e["input_ids"][e["labels"] != -100][:-1]) for e, t in zip(a["examples"], a["task"])
               if t == "classify"}
    assert answers <= set(LABEL_SETS["dfew"]) and len(answers) > 1
