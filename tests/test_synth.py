"""The probe generator: AU geometry, event timing, priors and folds, writers' layouts and determinism."""

import filecmp
import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from emoprobe.data.synth import (AU_NAMES, PROXY_CLASSES, au_table, class_counts, gallery, generate_clip,
                                 make_dataset_spec, make_timeline, prototypes, render, sample_identity, strip)
from emoprobe.data.synth.aus import AU_INDEX, au_vector
from emoprobe.data.synth.writers import rgb_to_yuv420p, write_dataset
from emoprobe.labels import label_set
from emoprobe.reference import CLASS_COUNTS

SIZE = 64


def _face(aus, seed=3, size=SIZE):
    return render(np.asarray([au_vector(aus)]), sample_identity(seed), size)[0].astype(np.int16)


# where each AU must change the picture (rows of a 64 px frame: brows/eyes ~ 14-33, mouth ~ 38-58)
UPPER = {"AU1", "AU2", "AU4", "AU5", "AU6", "AU7", "AU45"}


@pytest.mark.parametrize("au", AU_NAMES)
def test_every_au_changes_its_region(au):
    neutral, moved = _face({}), _face({au: 1.0})
    diff = np.abs(moved - neutral).sum(axis=2)
    assert diff.sum() > 300 * 3, f"{au} barely changes the face"
    rows = np.nonzero(diff.sum(axis=1) > 30)[0]
    centre = np.average(np.arange(SIZE), weights=diff.sum(axis=1))
    if au in UPPER:
        assert centre < SIZE * 0.55, (au, rows)
    elif au not in ("AU9",):  # the nose wrinkle sits in between
        assert centre > SIZE * 0.5, (au, rows)


def test_au14_is_unilateral():
    diff = np.abs(_face({"AU14": 1.0}) - _face({})).sum(axis=2)
    left, right = diff[:, : SIZE // 2].sum(), diff[:, SIZE // 2:].sum()
    assert max(left, right) > 3 * min(left, right)


def test_prototypes_cover_every_class_and_proxies_are_declared():
    for ds in ("dfew", "mafw", "ferv39k"):
        assert set(prototypes(ds)) == set(label_set(ds))
    assert set(PROXY_CLASSES) == {"anxiety", "helplessness", "disappointment"}
    assert all(len(reason) > 40 for reason in PROXY_CLASSES.values())


def test_basic_emotions_differ_at_apex():
    g = gallery("mafw", size=SIZE, seed=1, labels=False)
    faces = [g[:, i * SIZE:(i + 1) * SIZE].astype(np.int16) for i in range(len(label_set("mafw")))]
    for i in range(len(faces)):
        for j in range(i + 1, len(faces)):
            assert np.abs(faces[i] - faces[j]).mean() > 0.3, (label_set("mafw")[i], label_set("mafw")[j])
    labelled = gallery("dfew", size=SIZE, seed=1, identities=2)
    assert labelled.shape[0] > 2 * SIZE and labelled.shape[1] == 7 * SIZE and labelled.dtype == np.uint8


def test_micro_event_lies_inside_its_range():
    for seed in range(20):
        tl = make_timeline("fear", kind="micro", num_frames=75, fps=25.0, seed=seed, nuisance=False)
        ev = tl["event"]
        assert 0.25 - 1e-3 <= ev["duration_s"] <= 0.5 + 1e-3
        assert 0 <= ev["onset_frame"] <= ev["apex_frame"] <= ev["offset_frame"] < 75
        fear = tl["aus"][:, AU_INDEX["AU20"]]
        active = np.nonzero(fear > 0.05)[0]
        assert active.min() >= ev["onset_frame"] - 1 and active.max() <= ev["offset_frame"] + 1
        assert fear[ev["apex_frame"]] == pytest.approx(fear.max(), abs=0.1)


def test_macro_and_trajectory_timing():
    tl = make_timeline("happy", kind="macro", num_frames=200, fps=25.0, seed=1, nuisance=False)
    assert 0.5 - 1e-3 <= tl["event"]["duration_s"] <= 4.0 + 1e-3
    tr = make_timeline("disappointment", num_frames=150, fps=25.0, seed=2, nuisance=False)
    assert tr["event"]["kind"] == "trajectory"
    smile, down = tr["aus"][:, AU_INDEX["AU12"]], tr["aus"][:, AU_INDEX["AU15"]]
    assert smile.argmax() < down.argmax() and smile[-1] < 0.2 < down.max()
    neutral = make_timeline("neutral", num_frames=30, seed=0)
    assert neutral["event"]["kind"] == "none" and neutral["event"]["onset_s"] is None


def test_generate_clip_is_deterministic_and_shaped():
    a = generate_clip("sad", seed=5, num_frames=30, size=48)
    b = generate_clip("sad", seed=5, num_frames=30, size=48)
    c = generate_clip("sad", seed=6, num_frames=30, size=48)
    assert a["frames"].shape == (30, 48, 48, 3) and a["frames"].dtype == np.uint8
    assert a["aus"].shape == (30, len(AU_NAMES))
    assert np.array_equal(a["frames"], b["frames"]) and not np.array_equal(a["frames"], c["frames"])
    assert strip(a["frames"], n=4).shape == (48, 4 * 48, 3)
    assert list(au_table(a).columns) == list(AU_NAMES)


def test_class_counts_follow_prior():
    counts = class_counts("dfew", 1000)
    assert sum(counts.values()) == 1000 and counts["disgust"] >= 1
    real = CLASS_COUNTS["dfew"]
    for k, v in counts.items():
        assert abs(v / 1000 - real[k] / sum(real.values())) < 0.002
    assert set(class_counts("balanced", 22, "mafw").values()) == {2}
    with pytest.raises(ValueError, match="prior"):
        class_counts("dfew", 10, "mafw")


def test_spec_folds_split_micro_and_lengths():
    spec = make_dataset_spec("mafw", 500, seed=0, micro_fraction=0.4)
    clips = spec["clips"]
    per = Counter((c["label"], c["fold"]) for c in clips)
    for name in label_set("mafw"):
        folds = [per[(name, k)] for k in range(1, 6)]
        assert max(folds) - min(folds) <= 1, (name, folds)
    kinds = Counter((c["label"], c["kind"]) for c in clips)
    assert kinds[("neutral", "none")] == spec["params"]["class_counts"]["neutral"]
    assert kinds[("disappointment", "trajectory")] == spec["params"]["class_counts"]["disappointment"]
    n_anger = spec["params"]["class_counts"]["anger"]
    assert kinds[("anger", "micro")] == round(0.4 * n_anger)
    lengths = np.array([c["num_frames"] for c in make_dataset_spec("dfew", 2000, seed=1)["clips"]])
    assert 60 <= np.median(lengths) <= 80
    ferv = make_dataset_spec("ferv39k", 300, seed=0)
    share = np.mean([c["split"] == "test" for c in ferv["clips"]])
    assert 0.18 < share < 0.22 and all("/" in c["id"] for c in ferv["clips"])
    assert make_dataset_spec("dfew", 50, seed=3) == make_dataset_spec("dfew", 50, seed=3)
    assert {c["num_frames"] for c in make_dataset_spec("balanced", 14, lengths=16)["clips"]} == {16}


def test_yuv_conversion_of_grey_is_neutral():
    grey = np.full((4, 4, 3), 128, np.uint8)
    planes = rgb_to_yuv420p(grey)
    assert planes.shape == (6, 4)
    assert abs(int(planes[0, 0]) - 126) <= 1 and np.all(planes[4:] == 128)


def _same_tree(a, b):
    cmp = filecmp.dircmp(a, b)
    stack = [cmp]
    while stack:
        c = stack.pop()
        if c.left_only or c.right_only or c.diff_files or c.funny_files:
            return False
        # dircmp compares shallowly (size and mtime); compare bytes
        for f in c.same_files:
            if Path(c.left, f).read_bytes() != Path(c.right, f).read_bytes():
                return False
        stack.extend(c.subdirs.values())
    return True


@pytest.mark.parametrize("dataset,fmt", [("dfew", "frames"), ("mafw", "mp4"), ("ferv39k", "frames")])
def test_writer_is_byte_deterministic(tmp_path, dataset, fmt):
    spec = make_dataset_spec(dataset, 12, seed=4, micro_fraction=0.5)
    write_dataset(spec, tmp_path / "a", format=fmt, size=32, workers=1, progress=False)
    write_dataset(spec, tmp_path / "b", format=fmt, size=32, workers=2, progress=False)
    assert _same_tree(tmp_path / "a", tmp_path / "b")
    rows = [json.loads(line) for line in (tmp_path / "a" / "probe_meta.jsonl").read_text().splitlines()]
    assert [r["id"] for r in rows] == [c["id"] for c in spec["clips"]]
    assert all(len(r["aus"]) == r["num_frames"] and {"onset_frame", "apex_s", "offset_s"} <= set(r["event"])
               for r in rows)


def test_writer_refuses_mp4_for_ferv39k(tmp_path):
    with pytest.raises(ValueError, match="frame folders"):
        write_dataset(make_dataset_spec("ferv39k", 3), tmp_path, format="mp4", progress=False)


def test_cli_writes_dfew_layout(tmp_path, capsys):
    from emoprobe.cli import main

    code = main(["synth", "--prior", "dfew", "--clips", "9", "--seed", "2", "--out", str(tmp_path), "--size", "32",
                 "--micro-fraction", "0.3", "--no-progress"])
    assert code == 0 and "wrote 9 dfew clips" in capsys.readouterr().out
    csv = tmp_path / "EmoLabel_DataSplit" / "test(single-labeled)" / "set_1.csv"
    lines = csv.read_text().splitlines()
    assert lines[0] == "video_name,label" and all(1 <= int(x.split(",")[1]) <= 7 for x in lines[1:])
    first = sorted((tmp_path / "Clip" / "jpg_256").iterdir())[0]
    assert sorted(first.iterdir())[0].name == f"{first.name}_00001.jpg"
