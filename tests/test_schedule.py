"""The zoo's parallel schedule: the dependency graph, bit-identical models whatever the schedule, a warm cache
that starts no process, progress lines per model and seed, and a failed training that names its model."""

import pytest

from emoprobe.cache import folder_fingerprint
from emoprobe.probe import schedule, zoo


def test_jobs_follow_the_zoo_graph():
    jobs = {j.key: j for j in schedule.jobs(["vlm-ft-sqrt", "videomae"], [0, 1])}
    # what each model starts from is added, per seed, and never across seeds
    assert set(jobs) == {(n, s) for s in (0, 1) for n in ("vlm-base", "vlm-prior1", "vlm-ft-sqrt", "videomae-web",
                                                          "videomae")}
    assert jobs[("vlm-ft-sqrt", 1)].after == (("vlm-prior1", 1),)
    assert jobs[("vlm-base", 0)].after == ()
    assert schedule._chain_length(jobs[("vlm-base", 0)], jobs) == 2
    assert zoo.seeds("quick") == [0, 1, 2] and zoo.seeds("smoke") == [0]


@pytest.mark.slow
def test_models_are_the_same_whatever_the_schedule(tmp_path, monkeypatch):
    monkeypatch.setenv("EMOPROBE_CACHE_DIR", str(tmp_path / "shared"))  # pools
    names = ["vlm-ft-balanced", "videomae"]  # a fine-tune (emoprobe.finetune) and its chain, and VideoMAE's
    lines = []
    parallel = schedule.train("smoke", seeds=[0, 1], names=names, workers=2, cache_dir=tmp_path / "a",
                              log=lines.append)
    serial = schedule.train("smoke", seeds=[0, 1], names=names, workers=1, cache_dir=tmp_path / "b",
                            log=lambda m: None)
    assert set(parallel) == set(serial) and len(parallel) == 10
    assert all(v["trained"] for v in parallel.values())
    for k in parallel:
        assert folder_fingerprint(parallel[k]["path"]) == folder_fingerprint(serial[k]["path"]), k
    # another seed is another model
    assert folder_fingerprint(parallel[("vlm-base", 0)]["path"]) != folder_fingerprint(parallel[("vlm-base", 1)]["path"])
    # in this process (another thread count outside the training), the same weights again
    path = zoo.get("vlm-base", "smoke", cache_dir=tmp_path / "c", seed=1, progress=False)
    assert folder_fingerprint(path) == folder_fingerprint(parallel[("vlm-base", 1)]["path"])
    assert any("vlm-base seed 1: trained in" in m for m in lines)
    assert lines[-1].startswith("all 10 models ready")
    # warm: nothing trained, nothing started
    warm = []
    again = schedule.train("smoke", seeds=[0, 1], names=names, workers=2, cache_dir=tmp_path / "a", log=warm.append)
    assert warm == [] and not any(v["trained"] for v in again.values())


def test_progress_lines_give_elapsed_and_remaining_time():
    out = []
    lines = schedule._Lines(out.append, start=0.0)
    lines.update(("vlm-base", 2), "probe-vlm pretrain", 0, 100, 0.0)
    lines.update(("vlm-base", 2), "probe-vlm pretrain", 10, 100, 5.0)  # too early to estimate
    lines.update(("vlm-base", 2), "probe-vlm pretrain", 40, 100, 40.0)
    lines.update(("vlm-base", 2), "probe-vlm pretrain", 41, 100, 41.0)  # within the print interval
    assert out == ["[40s] vlm-base seed 2: probe-vlm pretrain 40/100 (40 %), 40s in, ~1m00s left in this step"]


@pytest.mark.slow
def test_a_failed_training_names_its_model(tmp_path):
    not_a_folder = tmp_path / "cache"
    not_a_folder.write_text("a file where the cache folder should be")
    with pytest.raises(RuntimeError, match=r"training videomae-web \(seed 0, profile smoke\) failed"):
        schedule.train("smoke", seeds=[0], names=["videomae-web"], workers=1, cache_dir=not_a_folder,
                       log=lambda m: None)


def test_bad_arguments_are_named(tmp_path):
    with pytest.raises(ValueError, match="unknown profile"):
        schedule.train("no-such-profile", seeds=[0], names=["vlm-base"], cache_dir=tmp_path)
    with pytest.raises(ValueError, match="workers"):
        schedule.train("smoke", seeds=[0], names=["vlm-base"], workers=0, cache_dir=tmp_path)
