"""Dataset loaders: real formats (fixtures written here), errors, and generate -> load round trips."""

import warnings

import numpy as np
import pytest

from emoprobe.data import DATASETS, MissingClipsWarning, load
from emoprobe.data.synth import make_dataset_spec, write_dataset
from emoprobe.labels import label_set
from emoprobe.video import clip_info, write_frames, write_video

FRAMES = np.full((3, 16, 16, 3), 90, np.uint8)


def _write(path, lines):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(line + "\n" for line in lines))


@pytest.fixture
def dfew_root(tmp_path):
    root = tmp_path / "DFEW"
    for cid in ("00001", "00002", "00003"):
        write_frames(root / "Clip" / "jpg_256" / cid, FRAMES, name=cid + "_{i:05d}.{ext}")
    split = root / "EmoLabel_DataSplit"
    _write(split / "test(single-labeled)" / "set_1.csv", ["video_name,label", "00001,1", "00002,6", "3,7"])
    _write(split / "train(single-labeled)" / "set_1.csv", ["video_name,label", "00004,3", "00002,6"])
    # DFER-CLIP list written on another machine: absolute paths that do not exist here, 0-based labels
    _write(root / "annotation" / "DFEW_set_2_test.txt", ["D:/datasets/DFEW_Frame_Face/00002 66 5",
                                                         "D:/datasets/DFEW_Frame_Face/00003 70 0"])
    _write(root / "saved/data/dfew/org/split03/test.csv", ["D:/datasets/frames/00001 4"])
    return root


def test_dfew_official_and_derived_lists(dfew_root):
    recs = load("dfew", dfew_root, split="test", fold=1)
    assert [(r["id"], r["label"]) for r in recs] == [("00001", "happy"), ("00002", "disgust"), ("00003", "fear")]
    assert clip_info(recs[0]["path"])["num_frames"] == 3 and recs[0]["fold"] == 1 and recs[0]["meta"] is None
    clip = load("dfew", dfew_root, split="test", fold=2, fmt="dfer-clip")
    assert [(r["id"], r["label"], r["num_frames"]) for r in clip] == [("00002", "disgust", 66), ("00003", "happy", 70)]
    mae = load("dfew", dfew_root, split="test", fold=3, fmt="mae-dfer")
    assert mae[0]["label"] == "surprise" and mae[0]["exists"]


@pytest.mark.parametrize("shape", ["trailing comma", "semicolons", "tabs", "quoted", "crlf and bom"])
def test_split_files_saved_by_a_spreadsheet_read_the_same(dfew_root, shape):
    split = dfew_root / "EmoLabel_DataSplit" / "test(single-labeled)" / "set_1.csv"
    expected = [(r["id"], r["label"]) for r in load("dfew", dfew_root, split="test", fold=1)]
    rows = [("video_name", "label"), ("00001", "1"), ("00002", "6"), ("3", "7")]
    sep = {"semicolons": ";", "tabs": "\t"}.get(shape, ",")
    cell = (lambda v: f'"{v}"') if shape == "quoted" else str
    text = "".join(sep.join(cell(v) for v in row) + ("," if shape == "trailing comma" else "")
                   + ("\r\n" if shape == "crlf and bom" else "\n") for row in rows)
    split.write_bytes((("\ufeff" if shape == "crlf and bom" else "") + text).encode("utf-8"))
    assert [(r["id"], r["label"]) for r in load("dfew", dfew_root, split="test", fold=1)] == expected


def test_a_wrong_header_says_what_was_expected(dfew_root):
    split = dfew_root / "EmoLabel_DataSplit" / "test(single-labeled)" / "set_1.csv"
    _write(split, ["clip,emotion", "00001,1"])
    with pytest.raises(ValueError, match=r"set_1\.csv:1: expected the header 'video_name,label'"):
        load("dfew", dfew_root, split="test", fold=1)


def test_missing_clip_policies(dfew_root):
    with pytest.warns(MissingClipsWarning, match="00004"):
        assert [r["id"] for r in load("dfew", dfew_root, split="train", fold=1)] == ["00002"]
    with pytest.raises(FileNotFoundError, match="00004"):
        load("dfew", dfew_root, split="train", fold=1, missing="error")
    kept = load("dfew", dfew_root, split="train", fold=1, missing="keep")
    assert kept[0]["exists"] is False and kept[0]["label"] == "neutral" and kept[1]["exists"]


def test_no_clip_on_disk_is_a_wrong_folder_not_a_partial_run(dfew_root):
    import shutil

    shutil.rmtree(dfew_root / "Clip")
    with pytest.raises(FileNotFoundError, match=r"none of the 3 clips listed in .*set_1\.csv is on disk"):
        load("dfew", dfew_root, split="test", fold=1, missing="keep")


def test_clear_errors(dfew_root, tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load("dfew", tmp_path / "nowhere")
    with pytest.raises(FileNotFoundError, match=r"set_4\.csv"):
        load("dfew", dfew_root, fold=4)
    bad = dfew_root / "EmoLabel_DataSplit" / "test(single-labeled)" / "set_5.csv"
    _write(bad, ["video_name,label", "00001,9"])
    with pytest.raises(ValueError, match=r"set_5\.csv:2.*out of range"):
        load("dfew", dfew_root, fold=5)
    with pytest.raises(ValueError, match="fold"):
        load("dfew", dfew_root, fold=6)
    with pytest.raises(ValueError, match="no folds"):
        load("ferv39k", dfew_root, fold=1)
    with pytest.raises(ValueError, match="unknown dataset"):
        load("afew", dfew_root)


def test_mafw_names_and_repository_orders(tmp_path):
    root = tmp_path / "MAFW"
    (root / "clips").mkdir(parents=True)
    write_video(root / "clips" / "00025.mp4", np.full((4, 16, 16, 3), 120, np.uint8), fps=25)
    _write(root / "split/single/no_caption/set_1/test.txt", ["00025.mp4 anger"])
    recs = load("mafw", root, split="test", fold=1)
    assert recs[0]["label"] == "anger" and recs[0]["path"].endswith("clips/00025.mp4")
    assert clip_info(recs[0]["path"])["num_frames"] == 4
    # the same integer means different classes in DFER-CLIP's and MAE-DFER's orders (emoprobe.labels.ID_ORDERS)
    _write(root / "annotation/MAFW_set_1_test.txt", ["/x/faces/00025 40 3"])
    _write(root / "split01/test.csv", ["/x/frames/00025 3"])
    assert load("mafw", root, fmt="dfer-clip")[0]["label"] == "anger"
    assert load("mafw", root, fmt="mae-dfer")[0]["label"] == "happiness"
    assert load("mafw", root, fmt="mae-dfer", order="s2d")[0]["label"] == "disappointment"
    _write(root / "split/single/no_caption/set_2/test.txt", ["00025.mp4 boredom"])
    with pytest.raises(ValueError, match=r"test\.txt:1: unknown mafw class 'boredom'"):
        load("mafw", root, fold=2)


def test_ferv39k_official_and_s2d(tmp_path):
    root = tmp_path / "FERV39k"
    write_frames(root / "2_ClipsforFaceCrop/Interview/Happy/0118", FRAMES, name="{i}.{ext}")
    _write(root / "4_setups/All_scenes/test_All.csv", ["Interview/Happy/0118 Happy"])
    _write(root / "Annotation/test.csv", ["path,id", "Interview/Happy/0118,3"])
    _write(root / "annotation/FERV39K_test.txt", ["/y/Interview/Happy/0118 3 0"])
    for fmt in ("official", "s2d", "dfer-clip"):
        rec = load("ferv39k", root, split="test", fmt=fmt)
        assert [(r["id"], r["label"], r["exists"]) for r in rec] == [("Interview/Happy/0118", "happy", True)], fmt


@pytest.mark.parametrize("name", sorted(DATASETS))
def test_every_loader_round_trips_generated_data(tmp_path, name):
    spec = make_dataset_spec(name, 2 * len(label_set(name)), seed=7, micro_fraction=0.5)
    fmt = "mp4" if name == "mafw" else "frames"
    write_dataset(spec, tmp_path, format=fmt, size=32, progress=False)
    fold = None if name == "ferv39k" else 2
    with warnings.catch_warnings():
        warnings.simplefilter("error", MissingClipsWarning)  # nothing may be missing
        test = load(name, tmp_path, split="test", fold=fold)
        train = load(name, tmp_path, split="train", fold=fold)
    truth = {c["id"]: c for c in spec["clips"]}
    assert {r["id"] for r in test} | {r["id"] for r in train} == set(truth)
    assert not {r["id"] for r in test} & {r["id"] for r in train}
    for r in test + train:
        assert r["label"] == truth[r["id"]]["label"] and r["label"] in label_set(name)
        assert r["meta"]["num_frames"] == truth[r["id"]]["num_frames"]
    r = test[0]
    assert clip_info(r["path"])["num_frames"] == r["meta"]["num_frames"] and r["meta"]["kind"] == truth[r["id"]]["kind"]
