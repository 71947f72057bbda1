import json
import os
from pathlib import Path

import pytest

from emoprobe.cli import main
from emoprobe.score import read_csv_rows, read_prediction, score_file, score_predictions

# The published GPT-4V with Emotion predictions, downloaded by hand (https://github.com/zeroQiaoba/gpt4v-emotion): a folder with
# dfew/ and ferv39k/ subfolders. Without it the recomputation test is skipped and says why.
HELDOUT = Path(os.environ.get("EMOPROBE_GPT4V_PREDICTIONS", "data/gpt4v-emotion"))
DFEW = ["happy", "sad", "neutral", "angry", "surprise", "disgust", "fear"]


def _write(path, text):
    path.write_text(text)
    return path


def test_score_predictions_ranked_lists_topk_and_unanswered():
    rows = [
        {"id": 1, "label": "Happy", "prediction": "Happy,Neutral,Sad"},
        {"id": 2, "label": "Sad", "prediction": "Neutral,Sad,Fear"},
        {"id": 3, "label": "Fear", "prediction": "Pain,Surprise,Fear"},  # top-1 outside the set: wrong
        {"id": 4, "label": "Neutral", "prediction": ""},  # unanswered
        {"id": 5, "label": "Disgust", "prediction": "The person looks disgusted."},  # free text
    ]
    out = score_predictions(rows, "dfew", top_k=3)
    assert (out["n_rows"], out["n_answered"], out["n_unanswered"]) == (5, 4, 1)
    assert out["top1_outside_labels"] == {"pain": 1}
    assert out["all"]["war"] == pytest.approx(2 / 5)
    assert out["answered"]["war"] == pytest.approx(2 / 4)
    assert out["top_k"]["all"] == pytest.approx({"top1": 2 / 5, "top2": 3 / 5, "top3": 4 / 5})
    assert out["top_k"]["answered"]["top3"] == pytest.approx(4 / 4)
    assert out["all"]["n_unparsed"] == 2  # the unanswered clip and the "Pain" answer
    assert out["collapse"]["shares"]["neutral"]["predicted_share"] == pytest.approx(1 / 4)
    json.dumps(out)  # plain data


def test_read_prediction_forms():
    assert read_prediction("Neutral, surprised ,Fear", DFEW) == (["neutral", "surprise", "fear"], "ranked list")
    assert read_prediction("  HAPPINESS ", DFEW) == (["happy"], "exact")
    assert read_prediction(None, DFEW) == ([], "unanswered")
    assert read_prediction(float("nan"), DFEW) == ([], "unanswered")
    assert read_prediction("I'm sorry, I can't help with that.", DFEW)[0] == [None]


def test_unknown_true_label_is_named():
    with pytest.raises(ValueError, match=r"row 'x'.*'joyish'"):
        score_predictions([{"id": "x", "label": "joyish", "prediction": "happy"}], "dfew")
    with pytest.raises(ValueError, match="labels"):
        score_predictions([{"id": "x", "label": "happy", "prediction": "happy"}], "nosuchset")


def test_cli_autodetects_columns_and_writes_json(tmp_path, capsys):
    csv = _write(tmp_path / "p.csv", "video_name,GT,pred\na,happy,happy\nb,sad,neutral\nc,sad,\n")
    out_json = tmp_path / "s.json"
    assert main(["score", "--predictions", str(csv), "--labels", "dfew", "--json", str(out_json)]) == 0
    text = capsys.readouterr().out
    assert "answered only" in text and "clips 3, answered 2, unanswered 1" in text
    result = json.loads(out_json.read_text())
    assert result["all"]["war"] == pytest.approx(1 / 3) and result["answered"]["war"] == pytest.approx(1 / 2)


def test_cli_explicit_columns_and_clear_errors(tmp_path, capsys):
    csv = _write(tmp_path / "p.csv", "clip,truth,model_a\na,happy,happy\n")
    assert main(["score", "--predictions", str(csv), "--labels", "dfew"]) == 2
    err = capsys.readouterr().err
    assert str(csv) in err and "true label" in err and "--label-col" in err  # names the file and the column
    assert main(["score", "--predictions", str(csv), "--labels", "dfew", "--label-col", "truth",
                 "--pred-col", "model_a"]) == 0
    capsys.readouterr()
    assert main(["score", "--predictions", str(csv), "--labels", "dfew", "--label-col", "truth",
                 "--pred-col", "nope"]) == 2
    assert "no column 'nope' (--pred-col)" in capsys.readouterr().err
    bad = _write(tmp_path / "bad.csv", "id,label,prediction\na,pain,happy\n")
    assert main(["score", "--predictions", str(bad), "--labels", "dfew"]) == 2
    msg = capsys.readouterr().err
    assert str(bad) in msg and "'pain'" in msg
    assert main(["score", "--predictions", str(tmp_path / "none.csv"), "--labels", "dfew"]) == 2
    assert "no such file" in capsys.readouterr().err


def test_ground_truth_adds_missing_clips_as_unanswered(tmp_path):
    from emoprobe.score import score_file

    preds = _write(tmp_path / "p.csv", "name,gt,gpt4v\na,Happy,\"Happy,Sad\"\n")
    truth = _write(tmp_path / "t.csv", "name,gt,gpt4v\na,Happy,\nb,Sad,\n")
    out = score_file(preds, "dfew", ground_truth=truth)
    assert (out["n_rows"], out["n_answered"]) == (2, 1)
    assert out["all"]["war"] == 0.5 and out["answered"]["war"] == 1.0
    clash = _write(tmp_path / "c.csv", "name,gt\na,Sad\n")
    with pytest.raises(ValueError, match="clip 'a'"):
        score_file(preds, "dfew", ground_truth=clash)
    stray = _write(tmp_path / "s.csv", "name,gt\nz,Sad\n")
    with pytest.raises(ValueError, match="missing from the ground truth"):
        score_file(preds, "dfew", ground_truth=stray)


# --- the published GPT-4V with Emotion predictions (github.com/zeroQiaoba/gpt4v-emotion) ---------------------------------

@pytest.mark.parametrize("dataset", ["dfew", "ferv39k"])
def test_reproduces_gpt4v_recomputation(dataset):
    from emoprobe.reference import GPT4V_RECOMPUTED  # the numbers the book states for these files

    want = GPT4V_RECOMPUTED[dataset]
    n_all, n_answered, war, uar = want["clips"], want["answered"], want["war"], want["uar"]
    neutral_share = want["neutral_predicted_share"]
    folder = HELDOUT / dataset
    if not (folder / "label-gpt4v.csv").is_file() or not (folder / "label.csv").is_file():
        pytest.skip(f"published GPT-4V predictions not available under {folder} (set EMOPROBE_GPT4V_PREDICTIONS)")
    from emoprobe.score import score_file

    # label-gpt4v.csv holds the answered clips only; label.csv lists every test clip (empty predictions).
    # The recomputed numbers use the answered clips as the denominator.
    out = score_file(folder / "label-gpt4v.csv", dataset, ground_truth=folder / "label.csv")
    assert (out["n_rows"], out["n_answered"]) == (n_all, n_answered)
    assert round(100 * out["answered"]["war"], 2) == war
    assert round(100 * out["answered"]["uar"], 2) == uar
    assert round(100 * out["collapse"]["shares"]["neutral"]["predicted_share"], 1) == neutral_share
    # counting the unanswered clips as wrong lowers both (stated, not hidden)
    assert out["all"]["war"] < out["answered"]["war"]
    # the prediction file alone gives the answered-only numbers
    alone = score_file(folder / "label-gpt4v.csv", dataset)
    assert alone["n_rows"] == n_answered and alone["all"]["war"] == out["answered"]["war"]


# --- spreadsheet exports: every shape gives the same scores ------------------------------------------------------

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

DFEW = ["happy", "sad", "neutral", "angry", "surprise", "disgust", "fear"]


def _export(rows, delimiter=",", bom=False, crlf=False, quote=False, trailing=False):
    """Rows written the way a spreadsheet may save them (a field holding the separator is always quoted)."""
    def cell(v):
        return f'"{v}"' if quote or delimiter in v or "\n" in v else v

    end = "\r\n" if crlf else "\n"
    lines = [delimiter.join(cell(v) for v in row) + (delimiter if trailing else "") for row in rows]
    return ("\ufeff" if bom else "") + end.join(lines) + end


SHAPES = st.fixed_dictionaries({"delimiter": st.sampled_from([",", ";", "\t"]), "bom": st.booleans(),
                                "crlf": st.booleans(), "quote": st.booleans(), "trailing": st.booleans()})


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(preds=st.lists(st.tuples(st.sampled_from(DFEW), st.sampled_from(DFEW + ["", "Happy, sad", "Answer:\nsad"])),
                      min_size=1, max_size=25),
       shape=SHAPES)
def test_spreadsheet_exports_score_like_the_plain_csv(tmp_path, preds, shape):
    rows = [("id", "label", "prediction")] + [(f"{i:05d}", y, p) for i, (y, p) in enumerate(preds)]
    plain = _write(tmp_path / "plain.csv", _export(rows))
    exported = tmp_path / "exported.csv"
    exported.write_bytes(_export(rows, **shape).encode("utf-8"))
    # the rows themselves, a quoted line break included, and then every score
    assert [(r["id"], r["label"], r["prediction"]) for r in read_csv_rows(exported)] == rows[1:]
    assert _comparable(score_file(exported, "dfew")) == _comparable(score_file(plain, "dfew"))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(preds=st.lists(st.tuples(st.sampled_from(DFEW), st.sampled_from(DFEW + ["", "Answer:\nsad"])), min_size=1,
                      max_size=12),
       shape=SHAPES)
def test_vlmevalkit_tables_exported_by_a_spreadsheet_score_alike(tmp_path, preds, shape):
    """A VLMEvalKit prediction table re-saved by a spreadsheet (its own reader: emoprobe.harnesses)."""
    rows = [("index", "answer", "prediction")] + [(str(i), y, p) for i, (y, p) in enumerate(preds)]
    plain = _write(tmp_path / "plain.csv", _export(rows))
    exported = tmp_path / "exported.csv"
    exported.write_bytes(_export(rows, **shape).encode("utf-8"))
    assert _comparable(score_file(exported, "dfew")) == _comparable(score_file(plain, "dfew"))
    direct = score_predictions([{"id": i, "label": y, "prediction": p} for i, y, p in rows[1:]], DFEW)
    got = score_file(exported, "dfew")
    assert (got["n_rows"], got["n_answered"], got["all"]["war"]) == (direct["n_rows"], direct["n_answered"],
                                                                    direct["all"]["war"])


def _comparable(result):
    # NaN (an undefined precision) is not equal to itself; its JSON text is
    return json.dumps({k: v for k, v in result.items() if k not in ("predictions_file", "ground_truth_file")}, sort_keys=True)


def test_a_trailing_comma_on_every_row_is_not_a_shifted_table(tmp_path):
    f = _write(tmp_path / "p.csv",
               "id,label,prediction,\n00001,happy,happy,\n00002,sad,sad,\n00003,fear,happy,\n")
    result = score_file(f, "dfew")
    assert result["all"]["war"] == pytest.approx(2 / 3) and result["n_answered"] == 3


def test_bad_tables_name_the_file_and_line(tmp_path, capsys):
    cases = {
        "header only": ("id,label,prediction\n", "only a header row"),
        "empty": ("", "the file is empty"),
        "duplicate": ("id,label,prediction\n1,happy,happy\n1,sad,sad\n", "line 3: clip id '1'"),
        "too many fields": ("id,label,prediction\n1,happy,happy,sad\n", "line 2 has 4 fields"),
    }
    for name, (text, expected) in cases.items():
        f = _write(tmp_path / f"{name}.csv", text)
        assert main(["score", "--predictions", str(f), "--labels", "dfew"]) == 2, name
        err = capsys.readouterr().err
        assert str(f) in err and expected in err, (name, err)
