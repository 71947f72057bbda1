"""The tiny VideoMAE baseline: building, pixels, a short training run on toy videos, prediction, save/load.

The probe dataset (emoprobe.data.synth) is built elsewhere; these tests make their own toy videos: a bright
square crossing the frame, whose direction (and, in the easy variant, colour) is the class.
"""

import numpy as np
import pytest
import torch

from emoprobe.probe import videomae
from emoprobe.probe.videomae import build, predict, resize_clip, train_videomae

LABELS = ["right", "left", "down"]
DIRECTIONS = {"right": (0, 1), "left": (0, -1), "down": (1, 0)}
COLOURS = {"right": (255, 60, 60), "left": (60, 255, 60), "down": (60, 60, 255)}


@pytest.fixture(autouse=True)
def one_thread():
    # 2 shared cores: one torch thread per test process
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def toy_clip(label, rng, size=32, colour_cue=True):
    """A square moving right, left or down over noise; clip length varies like real clips (18-39 frames)."""
    T = int(rng.integers(18, 40))
    frames = rng.integers(0, 40, size=(T, size, size, 3)).astype(np.uint8)
    dy, dx = DIRECTIONS[label]
    sq = size // 4
    span = size - sq
    y0, x0 = rng.integers(0, span, size=2)
    colour = COLOURS[label] if colour_cue else tuple(int(c) for c in rng.integers(150, 256, size=3))
    for t in range(T):
        f = t / (T - 1)
        y = round(f * span) if dy else y0
        x = round(f * span) if dx > 0 else (round((1 - f) * span) if dx < 0 else x0)
        frames[t, y:y + sq, x:x + sq] = colour
    return frames


def toy_set(per_class, seed, colour_cue=True, counts=None):
    rng = np.random.default_rng(seed)
    counts = counts or {label: per_class for label in LABELS}
    return [(toy_clip(label, rng, colour_cue=colour_cue), label) for label in LABELS for _ in range(counts[label])]


def accuracy(pred, clips):
    return float(np.mean([p == label for p, (_, label) in zip(pred, clips)]))


def test_build_from_config():
    model = build(labels=LABELS, seed=0)
    cfg = model.config
    assert type(model).__name__ == "VideoMAEForVideoClassification"
    assert (cfg.image_size, cfg.patch_size, cfg.num_frames, cfg.tubelet_size) == (32, 8, 16, 2)
    assert cfg.id2label == {0: "right", 1: "left", 2: "down"} and cfg.label2id["down"] == 2
    assert 50_000 < videomae.num_parameters(model) < 200_000
    same = build(labels=LABELS, seed=0)
    other = build(labels=LABELS, seed=1)
    for (name, a), b, c in zip(model.state_dict().items(), same.state_dict().values(), other.state_dict().values()):
        assert torch.equal(a, b), name
    assert any(not torch.equal(a, c) for a, c in zip(model.state_dict().values(), other.state_dict().values()))
    bigger = build(num_labels=5, seed=0, hidden_size=96, num_hidden_layers=3, image_size=48)
    assert bigger.config.num_labels == 5 and bigger.config.hidden_size == 96 and bigger.config.image_size == 48
    x = torch.zeros(2, 16, 3, 48, 48)
    assert bigger(pixel_values=x).logits.shape == (2, 5)


def test_build_rejects_bad_config():
    with pytest.raises(ValueError, match="multiple of patch_size"):
        build(labels=LABELS, image_size=30)
    with pytest.raises(ValueError, match="unknown keys.*hidden"):
        build(labels=LABELS, hidden=64)
    with pytest.raises(ValueError, match="num_labels"):
        build(num_labels=1)
    with pytest.raises(ValueError, match="distinct"):
        build(labels=["a", "a"])


def test_resize_clip_shortest_edge_and_centre_crop():
    frames = np.zeros((3, 40, 80, 3), dtype=np.uint8)
    frames[:, :, 30:50] = 255  # a bright centre column survives the centre crop
    out = resize_clip(frames, 32)
    assert out.shape == (3, 3, 32, 32) and out.dtype == torch.uint8
    assert out[0, :, :, 16].min() == 255 and out[0, :, :, 0].max() == 0
    square = np.full((2, 32, 32, 3), 7, dtype=np.uint8)
    assert torch.equal(resize_clip(square, 32), torch.full((2, 3, 32, 32), 7, dtype=torch.uint8))
    with pytest.raises(ValueError, match=r"uint8 array \(T, H, W, 3\)"):
        resize_clip(np.zeros((4, 32, 32), dtype=np.uint8), 32)


def test_short_run_lowers_loss_and_learns_easy_task():
    train, test = toy_set(32, seed=0), toy_set(10, seed=1)
    out = train_videomae(train, LABELS, {"epochs": 10, "batch_size": 16}, seed=0, progress=False)
    h = out["history"]
    assert h["num_steps"] == 60 and len(h["loss"]) == 60 and h["steps_per_second"] > 0
    assert np.mean(h["loss"][-10:]) < 0.7 * np.mean(h["loss"][:10])
    acc = accuracy(predict(out["model"], test), test)
    assert acc > 0.6, acc  # chance is 1/3
    assert h["train_class_counts"] == {"right": 32, "left": 32, "down": 32}
    assert h["class_sampler"] == "instance" and h["model_config"]["hidden_size"] == 64


def test_class_sampler_changes_what_the_model_sees():
    train = toy_set(0, seed=0, counts={"right": 24, "left": 6, "down": 2})
    for name, expect in [("instance", {"right": 24, "left": 6, "down": 2}),
                         ("balanced", None)]:
        h = train_videomae(train, LABELS, {"epochs": 2, "batch_size": 16}, seed=0, class_sampler=name,
                           progress=False)["history"]
        for drawn in h["drawn_class_counts"]:
            assert sum(drawn.values()) == 32
            if expect:
                assert drawn == expect
            else:
                assert max(drawn.values()) - min(drawn.values()) <= 1


def test_predict_batches_and_save_load_roundtrip(tmp_path):
    model = build(labels=LABELS, seed=3)
    clips = toy_set(3, seed=2)
    a = videomae.logits(model, clips, batch_size=4)
    b = videomae.logits(model, [frames for frames, _ in clips], batch_size=32)
    assert a.shape == (9, 3)
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    videomae.save(model, tmp_path / "m")
    loaded = videomae.load(tmp_path / "m")
    np.testing.assert_array_equal(videomae.logits(loaded, clips, batch_size=4), a)  # same batches: same bits
    assert predict(loaded, clips) == predict(model, clips)
    assert set(predict(model, clips)) <= set(LABELS)


def test_training_continues_from_a_saved_model(tmp_path):
    train = toy_set(8, seed=0)
    first = train_videomae(train, LABELS, {"epochs": 2, "batch_size": 16}, seed=0, progress=False)
    videomae.save(first["model"], tmp_path / "m")
    start = {k: v.clone() for k, v in first["model"].state_dict().items()}
    more = train_videomae(train, LABELS, {"epochs": 2, "batch_size": 16}, seed=1, progress=False, init=tmp_path / "m")
    # the continued run starts from the saved weights (its first loss is the trained model's, not a fresh one's)
    fresh = train_videomae(train, LABELS, {"epochs": 2, "batch_size": 16}, seed=1, progress=False)
    assert more["history"]["loss"][0] < fresh["history"]["loss"][0]
    assert any(not torch.equal(start[k], v) for k, v in more["model"].state_dict().items())
    with pytest.raises(ValueError, match="labels"):
        train_videomae(train, list(reversed(LABELS)), {"epochs": 1}, progress=False, init=tmp_path / "m")


def test_training_rejects_unknown_labels_and_keys():
    with pytest.raises(ValueError, match="label 'up' is not one of"):
        train_videomae([(toy_clip("down", np.random.default_rng(0)), "up")], LABELS, {"epochs": 1}, progress=False)
    with pytest.raises(ValueError, match="unknown keys"):
        train_videomae(toy_set(1, 0), LABELS, {"epoch": 1}, progress=False)


@pytest.mark.slow
def test_direction_only_task_needs_frame_order():
    """Without the colour cue only motion tells the classes apart: the model learns it, and shuffling the
    frames at test time (the paper's frame-shuffling control) takes that accuracy away."""
    train, test = toy_set(32, seed=0, colour_cue=False), toy_set(20, seed=1, colour_cue=False)
    out = train_videomae(train, LABELS, {"epochs": 40, "batch_size": 16}, seed=0, progress=False)
    ordered = accuracy(predict(out["model"], test), test)
    shuffled = accuracy(predict(out["model"], test, shuffle=True, seed=5), test)
    assert ordered > 0.85, ordered
    assert shuffled < ordered - 0.2, (ordered, shuffled)
