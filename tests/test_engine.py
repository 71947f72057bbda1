"""The one engine: every condition through the same evaluate() call, on a tiny real-architecture VLM and on
probe checkpoints read from a probe test set on disk; the budget rule, MSCE text and the paper preflight."""

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from vlm_fixtures import CLIP_LABELS, tiny_qwen2_vl, write_clips  # noqa: F401

from emoprobe import conditions, msce
from emoprobe.budget import get_family
from emoprobe.evaluate import evaluate, read_predictions
from emoprobe.labels import LABEL_SETS
from emoprobe.probe import corpus
from emoprobe.probe.vlm.budget import budget_indices, frame_side
from emoprobe.samplers import make_sampler
from emoprobe.vlm.base import BaseBackend


@pytest.mark.parametrize("n", list(range(1, 41)))
@pytest.mark.parametrize("budget", [4, 16, 64])
def test_budget_rule_is_the_probe_training_rule(n, budget):
    """The general rule, read from the Qwen2-VL family with the probe's patch, gives exactly the frames and size
    the probe VLM was trained on (emoprobe.probe.vlm.budget: budget_indices and frame_side) for its 56-px frames."""
    fam = get_family("qwen2-vl", patch_size=14)
    plan = conditions.budget_plan(fam, n, 56, 56, budget)
    assert np.array_equal(plan["keep"], budget_indices(np.arange(n), budget))
    assert plan["size"] == (frame_side(len(plan["keep"]), budget),) * 2
    assert plan["tokens"] <= budget


def test_budget_rule_for_fixed_size_families_limits_frames():
    fam = get_family("llava-next-video")
    plan = conditions.budget_plan(fam, 32, 480, 640, 3 * fam.tokens_per_frame)
    assert len(plan["keep"]) == 3 and plan["size"] == (480, 640)
    with pytest.raises(ValueError, match="one frame"):
        conditions.budget_plan(fam, 8, 480, 640, fam.tokens_per_frame - 1)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(["a", "b", "c", "the face stays still"]), min_size=0, max_size=6),
       st.integers(0, 2**31 - 1))
def test_shuffled_context_is_never_the_identity_when_it_can_differ(texts, seed):
    out, shuffled = msce.shuffle_descriptions(texts, np.random.default_rng(seed))
    assert sorted(out) == sorted(texts)
    assert shuffled == (len(set(texts)) >= 2)
    if shuffled:
        assert out != texts


def test_shuffled_context_uses_a_permutation_per_clip():
    from emoprobe.samplers import clip_rng

    texts = ["one", "two", "three", "four"]
    orders = {tuple(msce.shuffle_descriptions(texts, clip_rng(0, f"clip{i}/context"))[0]) for i in range(30)}
    assert len(orders) > 5  # not one fixed permutation for every clip


def test_stage2_text_is_what_the_probe_was_trained_on():
    from emoprobe.data.synth.aus import AU_INDEX, AU_NAMES

    aus = np.zeros((75, len(AU_NAMES)))
    aus[30:50, AU_INDEX["AU12"]] = 1.0
    s = make_sampler("keyframes", keyframe_fps=1.0, per_gap=4).sample(75, 25.0)
    texts = msce.oracle_descriptions({"aus": aus.tolist(), "au_names": AU_NAMES}, msce.gaps(s), "x")
    assert msce.format_context(s, 25.0, texts) == corpus.motion_context(aus, AU_NAMES, s, 25.0)
    with pytest.raises(ValueError, match="action units"):
        msce.oracle_descriptions(None, msce.gaps(s), "clip7")
    # stage 2's text gives back the descriptions it was written from, for comparing stage-1 writers
    assert msce.descriptions_of(msce.format_context(s, 25.0, texts)) == [t.rstrip(".") for t in texts]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from(list(corpus.AU_PHRASES)[:6]), min_size=1, max_size=4))
def test_descriptions_round_trip_and_agreement(units):
    s = make_sampler("keyframes", keyframe_fps=1.0, per_gap=4).sample(100, 25.0)
    texts = [corpus.AU_PHRASES[u][0] + (" and the eyes blink" if n % 2 else "") for n, u in
             enumerate(units[:len(msce.gaps(s))])]
    texts += [corpus.STILL] * (len(msce.gaps(s)) - len(texts))
    assert msce.descriptions_of(msce.format_context(s, 25.0, texts)) == texts
    same = msce.agreement(texts, texts)
    assert same["exact"] == same["moving_agrees"] == same["phrase_f1"] == 1.0
    still = msce.agreement([corpus.STILL] * len(texts), texts)
    assert still["phrase_f1"] < 1.0 and still["moving_agrees"] == np.mean([t == corpus.STILL for t in texts])
    with pytest.raises(ValueError, match="reference"):
        msce.agreement(texts[:-1], texts)


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    return write_clips(tmp_path_factory.mktemp("clips"), 4, num_frames=50, fps=25.0, height=56, width=84)


def _rows(out):
    return list(read_predictions(out / "predictions.jsonl").values())


def test_every_condition_through_one_call_on_a_tiny_real_vlm(clips, tiny_qwen2_vl, tmp_path):  # noqa: F811
    base = dict(model=str(tiny_qwen2_vl), labels=CLIP_LABELS, cache=False, progress=False, max_new_tokens=4)
    evaluate(clips, sampler="uniform", sampler_params={"num_samples": 8, "shuffle": True}, out_dir=tmp_path / "s",
             class_order="shuffled", **base)
    for r in _rows(tmp_path / "s"):
        assert r["shuffled"] and r["timestamps"] != sorted(r["timestamps"])
        # the model is told an ordinary clip: the same times, in order (conditions module docstring)
        assert r["presented_timestamps"] == sorted(r["timestamps"])
        assert sorted(r["class_order"]) == sorted(CLIP_LABELS)
    evaluate(clips, sampler="uniform", sampler_params={"num_samples": 16}, out_dir=tmp_path / "b", visual_tokens=12,
             **base)
    for r in _rows(tmp_path / "b"):
        assert r["visual_token_budget"] == 12 and 0 < r["visual_tokens"] <= 12
        assert r["frame_size"][0] % 28 == 0 and r["frame_size"][1] % 28 == 0
    evaluate(clips, sampler="keyframes", sampler_params={"keyframe_fps": 1.0}, context="msce", shuffle_context=True,
             out_dir=tmp_path / "m", **base)
    for r in _rows(tmp_path / "m"):
        assert r["context_mode"] == "msce-shuffled" and r["context"].startswith("0.0-1.0 s: ")
    with pytest.raises(ValueError, match="keyframes"):
        evaluate(clips, sampler="uniform", context="msce", out_dir=tmp_path / "x", **base)
    with pytest.raises(ValueError, match="action units"):  # real clips carry no generator metadata
        evaluate(clips, sampler="keyframes", context="oracle", out_dir=tmp_path / "o", **base)


@pytest.fixture(scope="module")
def probe_data(tmp_path_factory):
    """The smoke zoo's VLM and VideoMAE checkpoints and the smoke test set, in a cache of this module's own."""
    import os

    from emoprobe.data import load
    from emoprobe.probe import testsets, zoo

    cache = tmp_path_factory.mktemp("probe-cache")
    vlm = zoo.get("vlm-prior1", "smoke", cache_dir=cache / "models", progress=False)
    vision = zoo.get("videomae", "smoke", cache_dir=cache / "models", progress=False)
    root = testsets.folder("smoke", cache_dir=cache / "datasets")
    assert os.path.isdir(root / "Clip" / "jpg_256")  # DFEW's layout, read by the DFEW loader
    return {"vlm": vlm, "vision": vision, "records": load("dfew", root, fold=testsets.FOLD), "cache": cache}


@pytest.mark.slow
def test_every_condition_through_the_same_call_on_a_probe_checkpoint(probe_data, tmp_path):
    records = probe_data["records"]
    assert all(r["meta"]["aus"] and r["path"].endswith(r["id"]) for r in records)
    base = dict(model=str(probe_data["vlm"]), dataset="dfew", cache=False, progress=False)
    runs = {
        "shuffle": dict(sampler="uniform", sampler_params={"num_samples": 8, "shuffle": True}),
        "budget": dict(sampler="fps", sampler_params={"target_fps": 25.0}, visual_tokens=16),
        "msce": dict(sampler="keyframes", context="msce"),
        "oracle": dict(sampler="keyframes", context="oracle"),
        "oracle-shuffled": dict(sampler="keyframes", context="oracle", shuffle_context=True),
        "order": dict(sampler="uniform", class_order="shuffled"),
    }
    rows = {}
    for name, kw in runs.items():
        summary = evaluate(records, out_dir=tmp_path / name, **base, **kw)
        assert summary["counts"]["rows"] == len(records) and summary["conditions"]["context"] == kw.get("context")
        rows[name] = _rows(tmp_path / name)
    assert all(r["presented_timestamps"] == sorted(r["timestamps"]) for r in rows["shuffle"])
    # 16 tokens: at most 32 frames of 28 px (the probe's training budget), counted by the processor itself
    assert all(r["visual_tokens"] <= 16 and len(r["frame_indices"]) <= 32 and r["frame_size"] == [28, 28]
               for r in rows["budget"] if len(r["frame_indices"]) > 8)
    assert all(r["context"] for r in rows["msce"] + rows["oracle"])
    for a, b in zip(rows["oracle"], rows["oracle-shuffled"]):
        assert (a["context"] != b["context"]) == bool(b["context_shuffled"])
    assert any(r["class_order"] != rows["order"][0]["class_order"] for r in rows["order"])
    # the generator's metadata reaches every row: kind and whether a shown frame caught the event
    assert {r["kind"] for r in rows["shuffle"]} <= {"macro", "micro", "none"}
    assert any(r["event_sampled"] is not None for r in rows["shuffle"])


@pytest.mark.slow
def test_video_classifier_backend_and_its_label_map(probe_data, tmp_path):
    records = probe_data["records"]
    summary = evaluate(records, model=str(probe_data["vision"]), out_dir=tmp_path / "v", dataset="dfew", cache=False,
                       progress=False)
    assert summary["backend"] == "video_classifier" and summary["sampler"]["name"] == "segment_center"
    rows = _rows(tmp_path / "v")
    assert all(r["outcome"] == "parsed" and len(r["frame_indices"]) == 16 for r in rows)
    # a class the checkpoint cannot answer (its id2label has DFEW's seven): named before any clip is run
    with pytest.raises(ValueError, match=r"label map.*\['contempt'\] have no model class"):
        evaluate(records, model=str(probe_data["vision"]), out_dir=tmp_path / "w", dataset="dfew", cache=False,
                 labels=[*LABEL_SETS["dfew"], "contempt"], progress=False)
    # and a truth that is no class at all is named before the model is even built
    with pytest.raises(ValueError, match="not one of the classes"):
        evaluate(records, model=str(probe_data["vision"]), out_dir=tmp_path / "w2", dataset="mafw", cache=False,
                 progress=False)
    with pytest.raises(ValueError, match="budget rule"):
        evaluate(records, model=str(probe_data["vision"]), out_dir=tmp_path / "x", dataset="dfew", visual_tokens=16,
                 cache=False, progress=False)


@pytest.mark.slow
def test_cli_eval_runs_probe_names_through_the_same_engine(probe_data, tmp_path, monkeypatch, capsys):
    from emoprobe.cli import main

    monkeypatch.setenv("EMOPROBE_CACHE_DIR", str(probe_data["cache"]))
    out = tmp_path / "cli"
    assert main(["eval", "--model", "probe:smoke/videomae", "--data", "dfew", "--root", "probe:smoke/test",
                 "--fold", "1", "--shuffle", "--out", str(out), "--no-cache", "--no-progress"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["backend"] == "video_classifier" and summary["conditions"]["shuffle"] is True
    assert summary["counts"]["rows"] == len(probe_data["records"])
    assert main(["eval", "--model", "probe:smoke/vlm-prior1", "--data", "dfew", "--root", "probe:smoke/test",
                 "--fold", "1", "--sampler", "keyframes", "--context", "oracle", "--shuffle-context",
                 "--out", str(tmp_path / "cli2"), "--no-cache", "--no-progress"]) == 0
    assert main(["eval", "--model", "probe:nothing", "--data", "dfew", "--root", "probe:smoke/test",
                 "--out", str(tmp_path / "cli3")]) == 2
    assert "probe:<profile>/<name>" in capsys.readouterr().err


def test_paper_profile_preflight_names_everything_missing(tmp_path):
    from emoprobe.book import find_root, load_runs
    from emoprobe.preflight import problems

    runs = load_runs(find_root(), "paper")
    found = problems(runs)
    text = "\n".join(found)
    assert "f1_vlm_vs_vision: data_root is not set" in text and "MAFW" in text
    assert "qwen2.5-vl-7b (Qwen/Qwen2.5-VL-7B-Instruct) is not in the local Hugging Face cache" in text
    assert "hf download Qwen/Qwen2.5-VL-7B-Instruct" in text
    assert len([x for x in found if "qwen2.5-vl-7b " in x]) == 1  # each model once, whatever chapters use it
    assert problems(load_runs(find_root(), "quick")) == []


def test_paper_book_without_data_stops_with_one_message_and_no_traceback():
    import subprocess
    import sys
    from pathlib import Path

    exe = Path(sys.executable).parent / "emoprobe"
    proc = subprocess.run([str(exe), "book", "--profile", "paper"], capture_output=True, text=True,
                          env={**__import__("os").environ, "HF_HUB_OFFLINE": "1"})
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "nothing was run" in proc.stderr and "data_root is not set" in proc.stderr



class Recording(BaseBackend):
    """A real backend, recording the requests it is asked (to see what the model is told)."""

    name = "recording"

    def __init__(self, backend):
        self.backend, self.requests = backend, []
        self.batch_size = 1

    def identity(self):
        return self.backend.identity()

    def generation_params(self, *a, **k):
        return self.backend.generation_params(*a, **k)

    def budget_family(self):
        return self.backend.budget_family()

    def generate(self, requests, **kw):
        self.requests += list(requests)
        return self.backend.generate(requests, **kw)


def test_qwen3_vl_is_told_an_ordinary_clip_when_frames_are_shuffled(clips, tmp_path):
    """Qwen3-VL writes '<t seconds>' before each frame from the metadata we pass: under shuffling the text
    it reads has the sample's timestamps in increasing order, while the pixels are out of order."""
    import re

    from emoprobe.vlm.hf import HFBackend
    from emoprobe.vlm.tiny import build_tiny

    backend = Recording(HFBackend(str(build_tiny("qwen3-vl", tmp_path / "qwen3")), max_new_tokens=2))
    evaluate(clips, model=backend, sampler="uniform", sampler_params={"num_samples": 6, "shuffle": True},
             out_dir=tmp_path / "run", labels=CLIP_LABELS, cache=False, progress=False)
    rows = {r["id"]: r for r in _rows(tmp_path / "run")}
    for req in backend.requests:
        row = rows[req.request_id]
        text = backend.backend.processor_.batch_decode(backend.backend.build_inputs([req])["input_ids"])[0]
        stamps = [float(x) for x in re.findall(r"<([0-9.]+) seconds>", text)]
        assert stamps and stamps == sorted(stamps)
        assert row["timestamps"] != sorted(row["timestamps"])  # the frames themselves were shuffled
        assert req.frame_indices == sorted(row["frame_indices"])
