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


def _lmms_eval(tmp_path, letters=False):
    """A samples JSONL as lmms-eval writes it (--log_samples; EvaluationTracker.save_results_samples at commit
    0716c69): the document is dropped, the prompt kept as ``input``, ``resps`` dropped when the filters left the
    answer as it was, the target turned into a string. ``letters``: a multiple-choice task whose prompt lists
    lettered options and whose target is the letter."""
    path = tmp_path / "2026-12-01T10-00-00_samples_dfew_emotion.jsonl"
    options = "".join(f"{chr(65 + i)}. {c}\n" for i, c in enumerate(LABELS))
    with open(path, "w") as f:
        for n, (clip, truth, out) in enumerate(CASES):
            target = chr(65 + LABELS.index(truth)) if letters else truth
            raw = out.strip()
            sample = {"doc_id": n, "target": target, "filtered_resps": [out],
                      "doc_hash": "0" * 64, "prompt_hash": "1" * 64, "target_hash": "2" * 64,
                      "exact_match": float(raw == truth),
                      "input": f"<video>Which emotion does the person show?\n{options}Answer with the option."}
            if raw != out:  # a filter changed the answer: both are kept
                sample["resps"] = [[out]]
            f.write(json.dumps(sample) + "\n")
    return path


def _doc_ids(tmp_path):
    path = tmp_path / "dfew_fold1_test_ids.txt"
    path.write_text("".join(c[0] + "\n" for c in CASES))
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
    rows = read_rows(path, doc_ids=_doc_ids(tmp_path) if kind == "lmms-eval" else None)
    assert [r["id"] for r in rows] == [c[0] for c in CASES]  # the clip's own name, not the row number
    assert [r["label"] for r in rows] == [c[1] for c in CASES]  # letters mapped to their option text
    assert _scores(score_file(path, LABELS)) == _scores(score_file(_plain(tmp_path), LABELS))


def test_lmms_eval_names_clips_by_position_unless_given_their_ids(tmp_path):
    path = _lmms_eval(tmp_path)
    assert [r["id"] for r in read_rows(path)] == [str(n) for n in range(len(CASES))]
    truth = tmp_path / "truth.csv"
    truth.write_text("id,label\n" + "".join(f"{c},{t}\n" for c, t, _ in CASES) + "00007,happy\n")
    with pytest.raises(ValueError, match="--doc-ids"):
        score_file(path, LABELS, ground_truth=truth)
    out = score_file(path, LABELS, ground_truth=truth, doc_ids=_doc_ids(tmp_path))
    assert out["n_rows"] == len(CASES) + 1 and out["n_unanswered"] == 1  # the clip lmms-eval did not run
    short = tmp_path / "short.txt"
    short.write_text("00001\n00002\n")
    with pytest.raises(ValueError, match="doc_id 2 is not a position in the 2 doc ids"):
        read_rows(path, doc_ids=short)


def test_lmms_eval_letters_and_older_layouts(tmp_path):
    """Option letters are read through the prompt's own list; a sample that keeps its ``doc`` (older releases)
    is named by the document's clip field; an older release's one-object ``{"logs": [...]}`` file reads alike."""
    plain = _scores(score_file(_plain(tmp_path), LABELS))
    lettered = _lmms_eval(tmp_path, letters=True)
    assert [r["label"] for r in read_rows(lettered)] == [c[1] for c in CASES]
    assert _scores(score_file(lettered, LABELS)) == plain
    samples = [json.loads(line) for line in _lmms_eval(tmp_path).read_text().splitlines()]
    for s, (clip, _, _) in zip(samples, CASES):
        s["doc"] = {"video_name": clip, "question": "Which emotion?"}
    old = tmp_path / "dfew_emotion.json"
    old.write_text(json.dumps({"args": {"model": "qwen2_5_vl"}, "logs": samples}, indent=2))
    assert [r["id"] for r in read_rows(old)] == [c[0] for c in CASES]
    assert _scores(score_file(old, LABELS)) == plain


def test_vlmevalkit_video_candidates(tmp_path):
    """VLMEvalKit's video MCQ tables (MVBench's shape) keep the options as a ``candidates`` list and the answer as
    its text; a prediction given as a letter indexes that list."""
    rows = [{"index": n, "video": clip, "question": "Which emotion?", "candidates": repr(LABELS), "answer": truth,
             "prediction": chr(65 + LABELS.index(out)) if out in LABELS else out}
            for n, (clip, truth, out) in enumerate(CASES)]
    path = tmp_path / "Qwen2.5-VL-7B_DFEW_8frame.xlsx"
    pd.DataFrame(rows).to_excel(path, index=False)
    assert [r["prediction"] for r in read_rows(path)][:3] == ["happy", "The person looks sad.", "neutral"]
    assert _scores(score_file(path, LABELS)) == _scores(score_file(_plain(tmp_path), LABELS))


def test_one_command_each(tmp_path, capsys):
    for args in (["--predictions", str(_lmms_eval(tmp_path)), "--doc-ids", str(_doc_ids(tmp_path))],
                 ["--predictions", str(_vlmevalkit(tmp_path, "xlsx"))]):
        assert main(["score", *args, "--labels", "dfew"]) == 0
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
