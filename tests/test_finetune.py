"""Fine-tuning real-architecture VLMs with a class sampler: LoRA lowers the loss, the saved folder loads and
answers through evaluate, an interrupted run resumes from its checkpoint, bad input is named."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from vlm_fixtures import CLIP_LABELS, tiny_llava_next_video, tiny_qwen2_vl, write_clips  # noqa: F401

from emoprobe.vlm.tiny import build_tiny

from emoprobe.evaluate import evaluate, read_predictions
from emoprobe.finetune import FinetuneConfig, finetune

FRAMES = {"sampler": "uniform", "sampler_params": {"num_samples": 4}}


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    return write_clips(tmp_path_factory.mktemp("ft-clips"), 8, num_frames=20, fps=10.0, height=56, width=56)


@pytest.mark.slow
@pytest.mark.parametrize("family", ["qwen2.5-vl", "llava-next-video"])
def test_lora_lowers_the_loss_and_the_folder_loads_and_answers(family, clips, tmp_path):
    base = build_tiny(family, tmp_path / "base")
    cfg = FinetuneConfig(class_sampler="balanced", steps=12, batch_size=2, lr=5e-3, save_every=6, **FRAMES)
    history = finetune(clips, str(base), tmp_path / "ft", cfg, labels=CLIP_LABELS, progress=False)
    loss = history["loss"]
    assert len(loss) == 12 and sum(loss[-3:]) / 3 < sum(loss[:3]) / 3
    # balanced: every class drawn equally often, although the clips' labels cycle unevenly over 8 clips
    assert len(set(history["drawn_class_counts"].values())) == 1
    summary = evaluate(clips, model=str(tmp_path / "ft" / "model"), out_dir=tmp_path / "eval", labels=CLIP_LABELS,
                       cache=False, progress=False, max_new_tokens=4, **FRAMES)
    rows = list(read_predictions(tmp_path / "eval" / "predictions.jsonl").values())
    assert summary["counts"]["rows"] == 8 and all(r["error"] is None and r["raw_output"] is not None for r in rows)
    assert not (tmp_path / "ft" / "model" / "adapter_config.json").exists()  # LoRA merged: a plain checkpoint


@pytest.mark.slow
def test_an_interrupted_finetune_resumes_where_it_stopped(clips, tiny_qwen2_vl, tmp_path):  # noqa: F811
    from vlm_fixtures import write_manifest

    manifest = write_manifest(tmp_path / "clips.jsonl", clips)
    out = tmp_path / "ft"
    code = ("import sys, json; sys.path.insert(0, 'tests'); from emoprobe.finetune import *; "
            "from emoprobe.evaluate import read_manifest; "
            f"cfg = FinetuneConfig(steps=40, batch_size=2, lr=5e-3, save_every=2, sampler='uniform', "
            f"sampler_params={{'num_samples': 4}}); "
            f"finetune(read_manifest({str(manifest)!r}), {str(tiny_qwen2_vl)!r}, {str(out)!r}, cfg, "
            f"labels={CLIP_LABELS!r}, progress=False)")
    proc = subprocess.Popen([sys.executable, "-c", code], env={**os.environ, "HF_HUB_OFFLINE": "1"})
    deadline = time.monotonic() + 300
    while not (out / "checkpoint.pt").exists() and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.2)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert (out / "checkpoint.pt").exists() and not (out / "model").exists()
    import torch

    saved = torch.load(out / "checkpoint.pt", weights_only=False)["step"]
    assert 0 < saved < 40
    # what a kill while writing leaves (here planted, under the killed process's id): a checkpoint not yet renamed
    # into place and a half-written model folder; the resumed run removes both
    (out / f"checkpoint.{proc.pid}.tmp").write_bytes(b"torn")
    (out / f".tmp-model-{proc.pid}").mkdir()
    (out / f".tmp-model-{proc.pid}" / "config.json").write_text("{}")
    cfg = FinetuneConfig(steps=40, batch_size=2, lr=5e-3, save_every=2, **FRAMES)
    history = finetune(clips, str(tiny_qwen2_vl), out, cfg, labels=CLIP_LABELS, progress=False)
    assert len(history["loss"]) == 40 and (out / "model" / "config.json").is_file()
    assert sorted(p.name for p in out.iterdir()) == ["checkpoint.pt", "history.json", "model"]
    assert json.loads((out / "history.json").read_text())["loss"][:saved] == history["loss"][:saved]


def test_bad_input_is_named(clips, tiny_qwen2_vl, tmp_path):  # noqa: F811
    with pytest.raises(ValueError, match="class_sampler"):
        FinetuneConfig(class_sampler="fair")
    with pytest.raises(ValueError, match="steps"):
        FinetuneConfig(steps=0)
    with pytest.raises(ValueError, match="not classes"):
        finetune(clips, str(tiny_qwen2_vl), tmp_path / "x", FinetuneConfig(steps=1, **FRAMES), labels=["happy"],
                 progress=False)


def test_cli_finetune_errors_are_one_line(tmp_path, capsys):
    from emoprobe.cli import main

    assert main(["finetune", "--model", "tiny:qwen2-vl", "--data", "dfew", "--root", str(tmp_path / "none"),
                 "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("emoprobe finetune: error:") and "does not exist" in err and "Traceback" not in err


def test_shuffled_frames_are_told_the_sorted_times_as_in_evaluation(clips):
    """Training on shuffled frames: the pixels come in the shuffled order, the indices and timestamps the model is
    told are sorted (emoprobe.conditions.presented_times), so a timestamp-reading model cannot undo the shuffle."""
    import numpy as np

    from emoprobe.finetune import _request
    from emoprobe.samplers import make_sampler
    from emoprobe.video import read_frames

    cfg = FinetuneConfig(sampler="uniform", sampler_params={"num_samples": 6, "shuffle": True})
    smp = make_sampler("uniform", num_samples=6, shuffle=True)
    shuffled = 0
    for step in range(4):
        req = _request(smp, clips[0], cfg, CLIP_LABELS, step)
        assert req.frame_indices == sorted(req.frame_indices)
        assert list(req.timestamps) == sorted(req.timestamps)
        order = [int(np.flatnonzero([np.array_equal(f, g) for g in read_frames(clips[0]["path"], req.frame_indices)])[0])
                 for f in req.frames]
        shuffled += order != list(range(6))
    assert shuffled >= 3  # the frames themselves are out of order
