"""Every user error of the command line: a non-zero exit and one line on stderr that names the path or parameter
and what was expected, never a traceback. Each case runs the command (``emoprobe.cli.main``) on a DFEW folder in
its official layout, damaged the way a user would damage it."""

import shutil

import numpy as np
import pytest

from emoprobe.cli import main
from emoprobe.video import write_frames

FRAMES = np.full((3, 16, 16, 3), 90, np.uint8)


@pytest.fixture
def dfew(tmp_path):
    root = tmp_path / "DFEW"
    for cid in ("00001", "00002", "00003"):
        write_frames(root / "Clip" / "jpg_256" / cid, FRAMES, name=cid + "_{i:05d}.{ext}")
    split = root / "EmoLabel_DataSplit" / "test(single-labeled)" / "set_1.csv"
    split.parent.mkdir(parents=True)
    split.write_text("video_name,label\n00001,1\n00002,6\n00003,7\n")
    return root


def _damage(root, case):
    split = root / "EmoLabel_DataSplit" / "test(single-labeled)" / "set_1.csv"
    if case == "missing root":
        return root.parent / "no-such-folder", "does not exist"
    if case == "missing split file":
        split.unlink()
        return root, "set_1.csv"
    if case == "missing clip folder":
        shutil.rmtree(root / "Clip")
        return root, "none of the 3 clips listed in"
    if case == "unreadable split file":
        split.write_bytes(b"\xff\xfe\x00video_name,label\n")
        return root, "not UTF-8 text"
    if case == "split file is a folder":
        split.unlink()
        split.mkdir()
        return root, "set_1.csv"
    if case == "bad header":
        split.write_text("clip,emotion\n00001,1\n")
        return root, "expected the header 'video_name,label'"
    if case == "duplicate ids":
        split.write_text("video_name,label\n00001,1\n00002,6\n00001,7\n")
        return root, "set_1.csv:4: clip '00001' is listed again (first on line 2)"
    if case == "label out of range":
        split.write_text("video_name,label\n00001,9\n")
        return root, "set_1.csv:2"
    if case == "class names for label ids":
        split.write_text("video_name,label\n00001,happy\n")
        return root, "set_1.csv:2: expected an integer label id (1..7, the official order: 1=happy"
    if case == "header only":
        split.write_text("video_name,label\n")
        return root, "set_1.csv: no clips listed"
    raise AssertionError(case)


CASES = ["missing root", "missing split file", "missing clip folder", "unreadable split file", "split file is a folder",
         "bad header", "duplicate ids", "label out of range", "class names for label ids", "header only"]


@pytest.mark.parametrize("case", CASES)
def test_eval_user_errors_are_one_line(dfew, tmp_path, capsys, case):
    root, expected = _damage(dfew, case)
    # a hub model name: resolving it reads nothing, and the data is checked before any weights would load
    code = main(["eval", "--model", "qwen2.5-vl-7b", "--data", "dfew", "--root", str(root), "--fold", "1",
                 "--out", str(tmp_path / "run"), "--no-progress"])
    err = capsys.readouterr().err.strip()
    assert code == 2, err
    assert "Traceback" not in err and len(err.splitlines()) == 1, err
    assert expected in err, err


@pytest.mark.parametrize("args, expected", [
    (["--predictions", "{tmp}/none.csv"], "no such file"),
    (["--predictions", "{tmp}"], "no such file"),
    (["--predictions", "{tmp}/bad.csv"], "only a header row"),
])
def test_score_user_errors_are_one_line(tmp_path, capsys, args, expected):
    (tmp_path / "bad.csv").write_text("id,label,prediction\n")
    code = main(["score", "--labels", "dfew", *[a.format(tmp=tmp_path) for a in args]])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "Traceback" not in err and len(err.splitlines()) == 1 and expected in err, err


def test_manifest_with_a_duplicate_id_names_both_rows(tmp_path, capsys):
    m = tmp_path / "m.csv"
    m.write_text("id,path,label\na,x.mp4,happy\nb,y.mp4,sad\na,z.mp4,fear\n")
    code = main(["eval", "--model", "qwen2.5-vl-7b", "--manifest", str(m), "--out", str(tmp_path / "run"),
                 "--labels", "dfew", "--no-progress"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "row 3: clip id 'a' already in row 1" in err, err


@pytest.mark.parametrize("extra, expected", [
    (["--backend-param", "retries=1"], "backend 'hf': unknown parameter retries; it takes"),
    (["--sampler-param", "frames=4"], "frame sampler 'qwen': unknown parameter frames; it takes target_fps"),
    (["--prompt", "nosuch"], "unknown prompt 'nosuch'"),
    (["--labels", "happy"], "expected at least two classes"),
])
def test_eval_parameter_errors_are_one_line(dfew, tmp_path, capsys, extra, expected):
    code = main(["eval", "--model", "qwen2.5-vl-7b", "--data", "dfew", "--root", str(dfew), "--fold", "1",
                 "--out", str(tmp_path / "run"), "--no-progress", *extra])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "Traceback" not in err and len(err.splitlines()) == 1 and expected in err, err


def test_a_manifest_label_that_is_no_class_stops_before_the_model(tmp_path, capsys):
    m = tmp_path / "m.csv"
    m.write_text("id,path,label\na,x.mp4,happy\nb,y.mp4,hapy\n")
    code = main(["eval", "--model", "qwen2.5-vl-7b", "--manifest", str(m), "--out", str(tmp_path / "run"),
                 "--labels", "dfew", "--no-progress"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "1 clips have a true label that is not one of the classes" in err and "b: 'hapy'" in err, err
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    assert main(["eval", "--model", "qwen2.5-vl-7b", "--manifest", str(empty), "--out", str(tmp_path / "r2"),
                 "--no-progress"]) == 2
    assert "no clips" in capsys.readouterr().err


def test_other_commands_name_bad_paths_and_numbers(tmp_path, capsys):
    a_file = tmp_path / "a-file"
    a_file.write_text("x")
    preds = tmp_path / "p.csv"
    preds.write_text("id,label,prediction\n1,happy,happy\n")
    cases = [
        (["synth", "--clips", "-3", "--out", str(tmp_path / "s")], "--clips: expected a positive number"),
        (["synth", "--clips", "2", "--out", str(a_file)], "is a file; expected a folder"),
        (["score", "--predictions", str(preds), "--labels", "dfew", "--json", str(a_file / "x.json")],
         "cannot write it"),
        (["finetune", "--model", "tiny:qwen2-vl", "--data", "dfew", "--root", str(tmp_path / "none"),
          "--out", str(a_file / "ft")], "does not exist"),
    ]
    for args, expected in cases:
        code = main(args)
        err = capsys.readouterr().err.strip()
        assert code == 2 and "Traceback" not in err and expected in err, (args, err)
