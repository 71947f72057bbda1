"""The registry of named probe models: configs, cache keys, the CLI, and every model trained in the smoke profile."""

import json
import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from emoprobe.probe import zoo  # noqa: E402


def test_registry_and_configs_are_plain_data():
    assert {"vlm-prior0", "vlm-prior1", "vlm-prior2", "vlm-ft-instance", "vlm-ft-sqrt", "vlm-ft-balanced",
            "vlm-ft-progressive", "videomae"} <= set(zoo.list_models())
    for name in zoo.list_models():
        for profile in zoo.PROFILES:
            cfg = zoo.config(name, profile)
            assert json.loads(json.dumps(cfg)) == cfg
    assert zoo.config("vlm-prior2")["train"]["prior_power"] == 2.0
    assert zoo.config("vlm-ft-sqrt")["init"]["name"] == "vlm-prior1"
    # the three priors continue the same warm-up and differ by the prior alone
    priors = [zoo.config(f"vlm-prior{k}") for k in range(3)]
    assert {c["init"]["key"] for c in priors} == {zoo.cache_key("vlm-base")}
    strip = lambda c: {**c, "name": None, "train": {**c["train"], "prior_power": None}}  # noqa: E731
    assert strip(priors[0]) == strip(priors[2])
    base = zoo.config("vlm-base")["train"]
    assert base["task_weights"] == {"plain": 1.0} and base["micro_curriculum"] is None
    with pytest.raises(ValueError, match="unknown probe model"):
        zoo.config("vlm-prior9")
    with pytest.raises(ValueError, match="unknown profile"):
        zoo.config("videomae", "huge")


def test_test_sets_are_balanced_and_held_out():
    test = zoo.test_pool("quick")
    assert test["prior"] == "balanced"
    seeds = {getattr(zoo.PROFILES["quick"], k)["seed"] for k in ("web", "train", "test", "micro_test")}
    assert len(seeds) == 4
    micro = zoo.make_spec(zoo.test_pool("quick", "micro_test"))["clips"]
    assert {c["kind"] for c in micro} == {"micro", "none"} and {c["num_frames"] for c in micro} == {150}
    with pytest.raises(ValueError, match="test_set"):
        zoo.test_pool("quick", "validation")


def test_cache_key_changes_with_the_config(monkeypatch):
    base = {name: zoo.cache_key(name, "smoke") for name in zoo.list_models()}
    assert len(set(base.values())) == len(base)
    assert zoo.cache_key("vlm-prior1", "smoke") == base["vlm-prior1"]  # stable
    assert zoo.cache_key("vlm-prior1", "smoke", seed=1) != base["vlm-prior1"]
    smoke = zoo.PROFILES["smoke"]
    monkeypatch.setattr(zoo, "PROFILES", {**zoo.PROFILES, "smoke": smoke.replace(pretrain_steps=smoke.pretrain_steps + 1)})
    assert zoo.cache_key("vlm-prior1", "smoke") != base["vlm-prior1"]
    # a fine-tune's key follows the model it starts from
    assert zoo.cache_key("vlm-ft-balanced", "smoke") != base["vlm-ft-balanced"]
    assert zoo.cache_key("videomae", "smoke") == base["videomae"]


def test_summarize_splits_micro_by_capture():
    rows = [{"label": "happiness", "prediction": "happiness", "kind": "micro", "event_sampled": True},
            {"label": "fear", "prediction": "neutral", "kind": "micro", "event_sampled": False},
            {"label": "fear", "prediction": "fear", "kind": "micro", "event_sampled": False},
            {"label": "neutral", "prediction": None, "kind": "none", "event_sampled": None}]
    from emoprobe.findings import summarize
    from emoprobe.labels import LABEL_SETS

    s = summarize(rows, LABEL_SETS["mafw"])
    assert s["micro_sampled_n"] == 1 and s["micro_sampled_accuracy"] == 1.0
    assert s["micro_missed_n"] == 2 and s["micro_missed_accuracy"] == 0.5
    assert s["unparsed_rate"] == 0.25
    assert s["head_classes"][0] == "happiness"


def test_cli_lists_models(tmp_path, capsys):
    from emoprobe.cli import main

    assert main(["train", "--list", "--profile", "smoke", "--cache", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    for name in zoo.list_models():
        assert name in out
    assert "not trained" in out
    assert main(["train", "no-such-model", "--cache", str(tmp_path)]) == 2
    assert main(["train", "videomae", "--profile", "huge", "--cache", str(tmp_path)]) == 2


@pytest.fixture(scope="module")
def smoke_cache(tmp_path_factory):
    return tmp_path_factory.mktemp("zoo-smoke")


@pytest.mark.slow
@pytest.mark.parametrize("name", zoo.list_models())
def test_every_model_trains_saves_loads_and_predicts(name, smoke_cache, tmp_path):
    """Each zoo model is a checkpoint folder that the engine loads like a hub model and asks about the smoke
    test set written on disk in the DFEW layout."""
    from emoprobe.data import load
    from emoprobe.evaluate import evaluate, read_predictions
    from emoprobe.parse import OUTCOMES
    from emoprobe.probe import testsets

    logs = []
    path = zoo.get(name, "smoke", cache_dir=smoke_cache, progress=False, log=logs.append)
    assert path.is_dir() and (path / "config.json").exists()
    assert (path.parent / "meta.json").exists() and (path.parent / "history.json").exists()
    records = load("dfew", testsets.folder("smoke", cache_dir=tmp_path / "sets"), fold=testsets.FOLD)[:3]
    vlm = zoo.MODELS[name]["kind"] != "videomae"
    if vlm:
        for f in ("tokenizer.json", "processor_config.json", "chat_template.jinja", "generation_config.json"):
            assert (path / f).exists(), f
    else:
        assert (path / "preprocessor_config.json").exists()  # its image processor travels with the weights
    summary = evaluate(records, model=str(path), sampler="uniform" if vlm else None,
                       sampler_params={"num_samples": 8} if vlm else None, out_dir=tmp_path / "run",
                       dataset="dfew", cache=False, progress=False)
    rows = list(read_predictions(tmp_path / "run" / "predictions.jsonl").values())
    assert summary["counts"]["rows"] == 3 and summary["backend"] == ("hf" if vlm else "video_classifier")
    for r in rows:
        assert isinstance(r["raw_output"], str) and r["outcome"] in OUTCOMES
        assert r["prediction"] is None or r["prediction"] in zoo.LABELS
        assert len(r["frame_indices"]) == (8 if vlm else 16) and r["kind"] in ("macro", "micro", "none")
    if not vlm:  # a classifier always names a class
        assert all(r["outcome"] == "parsed" for r in rows)
    # a second call trains nothing
    logs.clear()
    assert zoo.get(name, "smoke", cache_dir=smoke_cache, progress=False, log=logs.append) == path
    assert not any(": training" in m for m in logs)


@pytest.mark.slow
def test_fine_tunes_are_trained_by_the_engines_finetune(smoke_cache):
    """The zoo's fine-tunes run emoprobe.finetune (the code a real VLM's fine-tune runs) on the training split
    written to disk: its history, its class sampler's draws, and no work folder left behind."""
    import json

    hist = {}
    for sampler in ("instance", "balanced"):
        path = zoo.get(f"vlm-ft-{sampler}", "smoke", cache_dir=smoke_cache, progress=False)
        hist[sampler] = json.loads((path.parent / "history.json").read_text())
        assert not [p for p in (smoke_cache / f"vlm-ft-{sampler}").iterdir() if p.name.startswith(".work-")]
    for sampler, h in hist.items():
        cfg = h["config"]
        assert cfg["full"] and cfg["class_sampler"] == sampler and cfg["class_order"] == "shuffled"
        assert len(h["loss"]) == zoo.PROFILES["smoke"].finetune_steps == len(h["lr"])
    spread = {k: max(h["drawn_class_counts"].values()) / min(h["drawn_class_counts"].values())
              for k, h in hist.items()}
    assert spread["balanced"] < spread["instance"]  # the long tail is drawn evenly only by the balanced sampler
