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


def _d(value, low, high):
    return {"delta": value, "low": low, "high": high, "n": 100}


UP, DOWN, FLAT = _d(0.05, 0.01, 0.09), _d(-0.05, -0.09, -0.01), _d(0.01, -0.02, 0.04)


def test_a_change_is_resolvable_only_when_its_interval_excludes_zero():
    from emoprobe.verdicts import Delta

    assert [solutions.direction(d) for d in (UP, DOWN, FLAT)] == ["up", "down", None]
    assert solutions.direction(_d(0.0, 0.0, 0.1)) is None  # an interval touching zero does not exclude it
    assert solutions.direction(Delta(float("nan"), float("nan"), float("nan"))) is None  # not measured
    assert solutions.direction(Delta(0.2, 0.1, 0.3)) == "up"  # a verdicts.Delta reads like a paired_delta dict
    assert solutions.compare(UP, "a", "b").startswith("`b` scores above `a`: +0.050 (95% CI +0.010 to +0.090)")
    assert solutions.compare(DOWN, "a", "b").startswith("`b` scores below `a`")
    assert solutions.compare(FLAT, "a", "b").startswith("`b` and `a` do not differ measurably")
    assert solutions.interval(FLAT) == "+0.010 (-0.020 to +0.040)"
    assert solutions.near_chance_note("m", 0.20, 7) and not solutions.near_chance_note("m", 0.60, 7)


def test_per_gap_text_says_where_more_in_between_frames_stop_helping():
    changed = {(1, 4): 0.6, (4, 8): 0.3}
    nan = float("nan")
    # helps from 4 on, the last step changes nothing: settled at 4
    text = solutions.per_gap_text({1: FLAT, 4: UP, 8: UP}, {(1, 4): UP, (4, 8): FLAT}, changed,
                                  {1: 0.2, 4: 0.5, 8: 0.5})
    assert "helps resolvably at per_gap 4, 8" in text and "steps up to per_gap 4 still change" in text
    assert "accuracy is 0.200, 0.500, 0.500 at per_gap 1, 4, 8" in text
    # no step resolvable, nothing helps; a test set without micro-expressions says nothing about them
    text = solutions.per_gap_text({1: FLAT, 4: FLAT, 8: FLAT}, {(1, 4): FLAT, (4, 8): FLAT}, changed,
                                  {1: nan, 4: nan, 8: nan})
    assert "at no value" in text and "add no information this model can use" in text and "30%–60%" in text
    assert "micro-expression" not in text
    # hurts; the last step still moves
    text = solutions.per_gap_text({1: DOWN, 4: FLAT, 8: DOWN}, {(1, 4): UP, (4, 8): DOWN}, changed,
                                  {1: 0.4, 4: 0.4, 8: 0.4})
    assert "costs macro-F1 resolvably at per_gap 1, 8" in text and "have not stopped adding information by per_gap 8" in text
    assert "0.400 at every value" in text
    # helps but no step resolvable: the frames stop adding information at the first value
    text = solutions.per_gap_text({1: UP, 8: UP}, {(1, 8): FLAT}, {(1, 8): 0.5}, {1: 0.5, 8: 0.5})
    assert "stop adding information at per_gap 1" in text
    assert "no step to compare" in solutions.per_gap_text({4: FLAT}, {}, {}, {4: nan})


def test_compute_budget_text_names_the_better_use_of_one_budget():
    ratio, text = 5.0, solutions.compute_budget_text
    assert "worse than" in text(DOWN, UP, FLAT, ratio, 32, 48) and "Dense frames do beat" in text(DOWN, UP, FLAT, ratio, 32, 48)
    flat = text(FLAT, FLAT, FLAT, ratio, 32, 48)
    assert "does not beat" in flat and "keyframes alone are the best buy" in flat and "shrink to a mean of 32 px" in flat
    assert "shrink" not in text(FLAT, FLAT, FLAT, ratio, 48, 48)
    assert "both better and cheaper" in text(UP, UP, DOWN, ratio, 48, 48)
    assert "not measurably better than dense frames, at 5.0 times" in text(UP, UP, FLAT, ratio, 48, 48)
    assert "whether MSCE wins at equal compute stays open" in text(UP, FLAT, UP, ratio, 48, 48)
