"""Predictions from lmms-eval and VLMEvalKit, in the files those harnesses write, score like a plain CSV."""

import csv
import json

import pandas as pd
import pytest

from emoprobe.cli import main
from emoprobe.harnesses import detect, read_rows
from emoprobe.score import score_file

LABELS = ["happy", "sad", "neutral", "angry", "surprise", "disgust", "fear"]
# (clip, truth, raw output): a plain word, a sentence, a refusal, a multi-line answer
CASES = [("00001", "happy", "happy"), ("00002", "sad", "The person looks sad."), ("00003", "angry", "neutral"),
         ("00004", "fear", "I cannot tell."), ("00005", "disgust", "Answer:\ndisgust"), ("00006", "surprise", "surprise")]


def _plain(tmp_path):
    path = tmp_path / "plain.csv"
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id", "label", "prediction"])
        # emoprobe.tables reads one line per row, so the plain file holds the multi-line answer on one line
        w.writerows((c, t, out.replace("\n", " ")) for c, t, out in CASES)
    return path


def _lmms_eval(tmp_path):
    """A samples JSONL as lmms-eval's evaluator logs it (--log_samples): one object per document."""
    path = tmp_path / "20261201_samples_dfew_emotion.jsonl"
    with open(path, "w") as f:
        for n, (clip, truth, out) in enumerate(CASES):
            f.write(json.dumps({
                "doc_id": n, "doc": {"video_name": clip, "question": "Which emotion?"}, "target": truth,
                "arguments": [{"max_new_tokens": 16}], "resps": [[out]], "filtered_resps": [out],
                "doc_hash": "0" * 64, "prompt_hash": "1" * 64, "target_hash": "2" * 64,
                "exact_match": float(out == truth)}) + "\n")
    return path


def _vlmevalkit(tmp_path, suffix):
    """A VLMEvalKit prediction file: the dataset's table with option columns, plus the model's raw output.
    The truth is an option letter, as in its multiple-choice datasets; one prediction is a letter too."""
    letters = dict(zip(LABELS, "ABCDEFG"))
    rows = []
    for n, (clip, truth, out) in enumerate(CASES):
        pred = letters[out] if out == "happy" else out  # "A": the model answered with the option letter
        rows.append({"index": n, "video": clip, "question": "Which emotion?", **dict(zip("ABCDEFG", LABELS)),
                     "answer": letters[truth], "prediction": pred})
    path = tmp_path / f"Qwen2.5-VL-7B_DFEW.{suffix}"
    table = pd.DataFrame(rows)
    if suffix == "xlsx":
        table.to_excel(path, index=False)
    else:
        table.to_csv(path, sep="\t" if suffix == "tsv" else ",", index=False)
    return path


def _scores(result):
    return {k: result["all"][k] for k in ("n", "war", "uar", "macro_f1")} | {"answered": result["n_answered"]}


@pytest.mark.parametrize("kind", ["lmms-eval", "xlsx", "tsv", "csv"])
def test_harness_files_score_like_the_plain_csv(kind, tmp_path):
    path = _lmms_eval(tmp_path) if kind == "lmms-eval" else _vlmevalkit(tmp_path, kind)
    assert detect(path) == ("lmms-eval" if kind == "lmms-eval" else "vlmevalkit")
    rows = read_rows(path)
    assert [r["id"] for r in rows] == [c[0] for c in CASES]  # the clip's own name, not the row number
    assert [r["label"] for r in rows] == [c[1] for c in CASES]  # letters mapped to their option text
    assert _scores(score_file(path, LABELS)) == _scores(score_file(_plain(tmp_path), LABELS))


def test_one_command_each(tmp_path, capsys):
    for path in (_lmms_eval(tmp_path), _vlmevalkit(tmp_path, "xlsx")):
        assert main(["score", "--predictions", str(path), "--labels", "dfew"]) == 0
        out = capsys.readouterr().out
        assert "clips 6, answered 6" in out


def test_malformed_harness_files_are_named(tmp_path, capsys):
    bad = tmp_path / "samples.jsonl"
    bad.write_text('{"doc_id": 0, "target": "happy", "filtered_resps": ["happy"]}\nnot json\n')
    assert main(["score", "--predictions", str(bad), "--labels", "dfew"]) == 2
    err = capsys.readouterr().err
    assert "line 2 is not JSON" in err and str(bad) in err
    wrong = tmp_path / "samples2.jsonl"
    wrong.write_text('{"doc_id": 0, "answer": "happy"}\n')
    with pytest.raises(ValueError, match="'target'"):
        read_rows(wrong)
    table = tmp_path / "pred.xlsx"
    pd.DataFrame([{"index": 0, "answer": "happy"}]).to_excel(table, index=False)
    with pytest.raises(ValueError, match=r"missing \['prediction'\]"):
        read_rows(table)
    with pytest.raises(ValueError, match="format"):
        read_rows(table, "lm-eval")
