"""The worked solutions' shared helpers: which zoo a chapter's models come from, and the GPT-4V fallback."""

from emoprobe import solutions


def test_probe_profile_of_a_chapters_models():
    assert solutions.probe_profile(["qwen2.5-vl-7b", "probe:smoke/vlm-prior1"]) == "smoke"
    assert solutions.probe_profile(["qwen2.5-vl-7b"]) is None
    assert solutions.probe_profile(["vlm-prior1"], data_root="probe:quick/test") == "quick"
    assert solutions.probe_profile(["my-model"], data_root="probe:quick/test") is None
    assert solutions.heading(2, "text").startswith("**Solution to exercise 2.**")


def test_gpt4v_predictions_absent_gives_instructions(monkeypatch, tmp_path):
    monkeypatch.setenv(solutions.GPT4V_ENV, str(tmp_path))
    assert solutions.gpt4v_scores("dfew") is None
    assert "emoprobe score" in solutions.gpt4v_howto("dfew")


def test_any_models_answers_go_through_the_gpt4v_files_steps(monkeypatch, tmp_path):
    """A model's rows written in the published GPT-4V files' layout score as GPT-4V's would (the solutions of
    F3 and F4 run those steps on a probe model when the authors' files are not on the machine)."""
    rows = [{"id": "1", "label": "happy", "prediction": "happy", "ranked": ["happy", "sad"], "outcome": "parsed"},
            {"id": "2", "label": "sad", "prediction": "neutral", "ranked": ["neutral"], "outcome": "parsed"},
            {"id": "3", "label": "fear", "prediction": None, "ranked": None, "outcome": "unparsed"},
            {"id": "4", "label": "neutral", "prediction": "neutral", "ranked": None, "outcome": "parsed"}]
    preds, truth = solutions.as_gpt4v_files(rows, tmp_path / "dfew")
    assert preds.read_text().splitlines() == ["name,gt,gpt4v", '1,happy,"happy,sad"', "2,sad,neutral",
                                              "4,neutral,neutral"]
    monkeypatch.setenv(solutions.GPT4V_ENV, str(tmp_path))
    out = solutions.gpt4v_scores("dfew")  # the published files' own path: every clip through label.csv
    assert (out["n_rows"], out["n_answered"]) == (4, 3)
    assert out["answered"]["war"] == 2 / 3 and out["all"]["war"] == 2 / 4
    assert out["top_k"]["answered"]["top2"] == 2 / 3
