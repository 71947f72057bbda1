"""Training utilities: determinism, the loop's loss curve, the schedule, and the training cache."""

import json
import os
import math

import numpy as np
import pytest
import torch

import emoprobe
from emoprobe.probe import training, videomae
from emoprobe.probe.training import cache_key, cached_train, canonical_json, code_hash, fit, warmup_cosine

LABELS = ["red", "green", "blue"]
# The smallest VideoMAE that still trains: enough for cache and determinism checks in well under a second.
TINY = {"hidden_size": 32, "num_hidden_layers": 1, "num_attention_heads": 2, "intermediate_size": 64,
        "image_size": 16, "epochs": 2, "batch_size": 6}


@pytest.fixture(autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def colour_clips(per_class, seed):
    """Noise clips tinted by their class colour, 10-20 frames of 16x16."""
    rng = np.random.default_rng(seed)
    clips = []
    for k, label in enumerate(LABELS):
        for _ in range(per_class):
            frames = rng.integers(0, 120, size=(int(rng.integers(10, 21)), 16, 16, 3)).astype(np.uint8)
            frames[..., k] += 120
            clips.append((frames, label))
    return clips


def test_same_seed_gives_identical_loss_curves():
    clips = colour_clips(4, seed=0)
    runs = [videomae.train_videomae(clips, LABELS, TINY, seed=s, progress=False)["history"] for s in (0, 0, 1)]
    assert runs[0]["loss"] == runs[1]["loss"]  # bit for bit
    assert runs[0]["grad_norm"] == runs[1]["grad_norm"]
    assert runs[0]["loss"] != runs[2]["loss"]
    assert runs[0]["settings"]["deterministic"] is True and runs[0]["settings"]["seed"] == 0


def test_seed_everything_seeds_every_generator():
    training.seed_everything(11)
    a = (np.random.rand(), torch.rand(3).tolist())
    training.seed_everything(11)
    assert (np.random.rand(), torch.rand(3).tolist()) == a
    with pytest.raises(ValueError, match="seed must be an integer"):
        training.seed_everything(1.5)


def test_fit_records_a_falling_loss_curve():
    torch.manual_seed(0)
    model = torch.nn.Linear(4, 1)
    x = torch.randn(64, 4)
    y = x @ torch.tensor([[1.0], [-2.0], [0.5], [3.0]])

    def loss_fn(m, batch):
        return torch.nn.functional.mse_loss(m(batch["x"]), batch["y"])

    h = fit(model, lambda step: {"x": x, "y": y}, 200, loss_fn=loss_fn, progress=False, lr=5e-2, warmup_steps=10)
    assert h["step"] == list(range(200)) and len(h["loss"]) == len(h["lr"]) == len(h["grad_norm"]) == 200
    assert all(isinstance(v, float) for v in h["loss"])
    assert h["loss"][-1] < 0.05 * h["loss"][0]
    assert h["lr"][0] == pytest.approx(5e-2 / 10) and max(h["lr"]) == pytest.approx(5e-2)
    json.dumps(h)  # plain data
    with pytest.raises(ValueError, match="unknown optimiser settings"):
        fit(model, lambda s: {}, 1, loss_fn=loss_fn, learning_rate=1.0)


def test_warmup_cosine_schedule():
    assert warmup_cosine(0, 100, 10, 0.05) == pytest.approx(0.1)
    assert warmup_cosine(9, 100, 10, 0.05) == pytest.approx(1.0)
    assert warmup_cosine(10, 100, 10, 0.05) == pytest.approx(1.0)
    assert warmup_cosine(99, 100, 10, 0.05) == pytest.approx(0.05)
    mid = warmup_cosine(10 + 89 // 2, 100, 10, 0.05)
    assert 0.45 < mid < 0.6
    assert warmup_cosine(0, 1, 100, 0.05) == pytest.approx(1.0)  # a one-step run is not stuck in warm-up


def test_canonical_json_and_cache_key():
    a = {"b": 1, "a": [1, 2.5, "x"], "n": np.int64(3)}
    b = {"n": 3, "a": [1, 2.5, "x"], "b": 1}
    assert canonical_json(a) == canonical_json(b) == '{"a":[1,2.5,"x"],"b":1,"n":3}'
    assert cache_key("m", a) == cache_key("m", b)
    assert cache_key("m", a) != cache_key("m", {**b, "b": 2})
    assert cache_key("m", a) != cache_key("other", a)
    assert len(cache_key("m", a)) == 64
    with pytest.raises(TypeError, match="not JSON-serialisable"):
        canonical_json({"f": object()})
    with pytest.raises(ValueError):
        canonical_json({"x": math.nan})


def test_code_hash_follows_the_source_files(tmp_path):
    (tmp_path / "probe").mkdir()
    (tmp_path / "probe" / "a.py").write_text("x = 1\n")
    first = code_hash(["probe/*.py"], root=tmp_path)
    assert code_hash(["probe/*.py"], root=tmp_path) == first
    (tmp_path / "probe" / "a.py").write_text("x = 2\n")
    assert code_hash(["probe/*.py"], root=tmp_path) != first
    assert len(code_hash()) == 64  # the package's own training code
    with pytest.raises(ValueError, match="no file matches"):
        code_hash(["nothing/*.py"], root=tmp_path)


def test_cached_train_trains_once(tmp_path):
    clips = colour_clips(3, seed=0)
    calls = []

    def train(config):
        calls.append(config)
        return videomae.train_videomae(clips, LABELS, config, seed=0, progress=False)

    logs = []
    cold = cached_train("videomae-test", TINY, train, tmp_path, log=logs.append)
    assert not cold["cached"] and len(calls) == 1
    assert (cold["path"] / "model" / "config.json").exists() and (cold["path"] / "history.json").exists()
    meta = json.loads((cold["path"] / "meta.json").read_text())
    assert meta["version"] == emoprobe.__version__ and meta["config"] == TINY and meta["key"] == cold["key"]
    assert meta["model_class"].endswith(":VideoMAEForVideoClassification")

    warm = cached_train("videomae-test", TINY, train, tmp_path, log=logs.append)
    assert warm["cached"] and len(calls) == 1, "a warm call must not train"
    assert warm["key"] == cold["key"] and warm["path"] == cold["path"]
    assert warm["history"]["loss"] == cold["history"]["loss"]
    assert any("cached model" in line for line in logs)
    probe = [frames for frames, _ in clips]
    np.testing.assert_array_equal(videomae.logits(warm["model"], probe), videomae.logits(cold["model"], probe))

    changed = cached_train("videomae-test", {**TINY, "epochs": 1}, train, tmp_path)
    assert not changed["cached"] and len(calls) == 2 and changed["key"] != cold["key"]
    assert len(changed["history"]["loss"]) == len(cold["history"]["loss"]) // 2
    assert not list((tmp_path / "videomae-test").glob(".tmp-*"))  # nothing half-written left behind


def test_cached_train_rejects_bad_input(tmp_path):
    with pytest.raises(ValueError, match="config must be a dict"):
        cached_train("m", [1], lambda c: {}, tmp_path)
    with pytest.raises(ValueError, match="plain folder name"):
        cached_train("../m", {}, lambda c: {}, tmp_path)
    with pytest.raises(ValueError, match="'model' and 'history'"):
        cached_train("m", {}, lambda c: {"model": None}, tmp_path)


def test_a_training_killed_while_saving_leaves_nothing_behind(tmp_path):
    """The temporary folder of a process that died is removed by the next training in the same cache; the
    folder of a process that is still alive is not."""
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    proc.kill()
    proc.wait()
    folder = tmp_path / "videomae-test"
    dead = folder / f".tmp-0123456789abcdef-{proc.pid}"
    alive = folder / f".tmp-0123456789abcdef-{os.getppid()}"
    for d in (dead, alive):
        (d / "model").mkdir(parents=True)
    clips = colour_clips(3, seed=0)
    cached_train("videomae-test", TINY, lambda c: videomae.train_videomae(clips, LABELS, c, seed=0, progress=False),
                 tmp_path)
    assert not dead.exists() and alive.exists()
    assert [p.name for p in folder.iterdir() if not p.name.startswith(".")]  # the model itself was stored
