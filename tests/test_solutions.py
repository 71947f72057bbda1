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
