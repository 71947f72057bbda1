"""The evaluation loop on a tiny Qwen2-VL: rows, summary provenance, resume, cache reuse, corrupt clips, CLI."""

import json

import pytest
from vlm_fixtures import CLIP_LABELS, tiny_qwen2_vl, write_clips, write_manifest  # noqa: F401

from emoprobe.cli import main
from emoprobe.evaluate import evaluate, read_manifest, read_predictions
from emoprobe.vlm.hf import HFBackend

ROW_FIELDS = {"id", "label", "frame_indices", "timestamps", "prompt_id", "template_hash", "class_order",
              "raw_output", "prediction", "outcome", "reason", "latency_s", "cache_hit", "error"}


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    return write_clips(tmp_path_factory.mktemp("clips"), 6, num_frames=16, corrupt={"clip004"})


@pytest.fixture(scope="module")
def backend(tiny_qwen2_vl):  # noqa: F811
    return HFBackend(str(tiny_qwen2_vl), batch_size=2, max_new_tokens=4)


def _run(clips, backend, out, cache, **kw):
    kw.setdefault("sampler", "uniform")
    kw.setdefault("sampler_params", {"num_samples": 4})
    return evaluate(clips, model=backend, out_dir=out, labels=CLIP_LABELS, cache=cache, max_new_tokens=4,
                    progress=False, **kw)


def test_rows_summary_and_corrupt_clip(clips, backend, tmp_path):
    summary = _run(clips, backend, tmp_path / "out", tmp_path / "cache.jsonl", seed=3)
    rows = [json.loads(line) for line in (tmp_path / "out" / "predictions.jsonl").read_text().splitlines()]
    assert [r["id"] for r in rows] == [c["id"] for c in clips]  # input order kept across batches
    good = [r for r in rows if r["id"] != "clip004"]
    for r in good:
        assert ROW_FIELDS <= set(r) and r["error"] is None and r["frame_indices"] == [0, 5, 10, 15]
        assert r["timestamps"] == [0.0, 0.5, 1.0, 1.5] and r["outcome"] in ("parsed", "unparsed", "refused", "empty")
        assert r["visual_tokens"] == 8  # 48x64 frames -> 28x56 under the tiny model's pixel limits, 2 frame pairs
    bad = next(r for r in rows if r["id"] == "clip004")
    assert bad["error_kind"] == "video" and "clip004" in bad["error"]
    c = summary["counts"]
    assert c["rows"] == 6 and c["video_errors"] == 1 and c["scored"] == 5 and c["model_calls_this_run"] == 5
    assert summary["video_errors"][0]["id"] == "clip004"
    # provenance
    assert summary["model"]["revision"].startswith("sha256:") and summary["backend"] == "hf"
    assert summary["sampler"] == {"name": "uniform", "params": {"num_samples": 4, "shuffle": False, "seed": 0}}
    assert summary["prompt"]["id"] == "closed_set" and summary["prompt"]["template_hash"] == rows[0]["template_hash"]
    assert summary["parser_version"] and summary["seed"] == 3 and summary["code"]["emoprobe"]
    assert summary["decoder"] == "auto" and summary["generation"]["temperature"] == 0.0
    assert summary["metrics"]["n"] == 5 and set(summary["metrics"]["labels"]) == set(CLIP_LABELS)
    on_disk = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert on_disk["counts"] == c


def test_resume_skips_done_rows_and_cache_serves_a_new_run(clips, backend, tmp_path):
    cache = tmp_path / "cache.jsonl"
    first = _run(clips, backend, tmp_path / "a", cache, limit=3)
    assert first["counts"]["rows"] == 3 and first["counts"]["model_calls_this_run"] == 3
    # same folder, all clips: only the missing ones are run (one of them is the corrupt clip)
    second = _run(clips, backend, tmp_path / "a", False)
    assert second["counts"]["rows"] == 6 and second["counts"]["model_calls_this_run"] == 2
    ids = [json.loads(x)["id"] for x in (tmp_path / "a" / "predictions.jsonl").read_text().splitlines()]
    assert len(ids) == len(set(ids)) == 6
    # a new folder with the same settings: every answer the cache holds is reused
    third = _run(clips, backend, tmp_path / "b", cache, limit=3)
    assert third["counts"]["model_calls_this_run"] == 0 and third["counts"]["cache_hits_this_run"] == 3
    a, b = read_predictions(tmp_path / "a" / "predictions.jsonl"), read_predictions(tmp_path / "b" / "predictions.jsonl")
    assert all(a[k]["raw_output"] == b[k]["raw_output"] and b[k]["cache_hit"] for k in b)
    # other frames -> other key -> the model is called again
    other = _run(clips, backend, tmp_path / "c", cache, limit=3, sampler_params={"num_samples": 2})
    assert other["counts"]["model_calls_this_run"] == 3


def test_shuffled_sampler_rows_are_reproducible(clips, backend, tmp_path):
    params = {"num_samples": 4, "shuffle": True}
    a = _run(clips, backend, tmp_path / "a", False, limit=2, sampler_params=params, seed=1)
    b = _run(clips, backend, tmp_path / "b", False, limit=2, sampler_params=params, seed=1)
    ra, rb = (read_predictions(tmp_path / x / "predictions.jsonl") for x in "ab")
    assert all(ra[k]["frame_indices"] == rb[k]["frame_indices"] for k in ra)
    assert any(ra[k]["frame_indices"] != sorted(ra[k]["frame_indices"]) for k in ra)
    assert a["counts"] == b["counts"]


def test_cli_with_csv_manifest(clips, tiny_qwen2_vl, tmp_path, capsys):  # noqa: F811
    manifest = tmp_path / "m.csv"
    manifest.write_text("id,path,label\n" + "".join(f"{c['id']},{c['path']},{c['label']}\n" for c in clips[:3]))
    code = main(["eval", "--model", str(tiny_qwen2_vl), "--manifest", str(manifest), "--sampler", "uniform",
                 "--sampler-param", "num_samples=2", "--labels", ",".join(CLIP_LABELS), "--limit", "2",
                 "--out", str(tmp_path / "out"), "--no-cache", "--max-new-tokens", "3", "--no-progress"])
    assert code == 0
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["counts"]["rows"] == 2 and summary["sampler"]["params"]["num_samples"] == 2
    assert "summary:" in capsys.readouterr().out
    assert main(["eval", "--model", "qwen25-vl", "--manifest", str(manifest), "--out", str(tmp_path / "x")]) == 2
    assert "Did you mean" in capsys.readouterr().err


def test_manifest_errors(tmp_path, clips):
    good = write_manifest(tmp_path / "m.jsonl", [{"id": "a", "path": "a.mp4", "label": "happy"}])
    assert read_manifest(good)[0]["path"] == str(tmp_path / "a.mp4")
    bad = write_manifest(tmp_path / "bad.jsonl", [{"id": "a", "label": "happy"}])
    with pytest.raises(ValueError, match="path"):
        read_manifest(bad)
    with pytest.raises(ValueError, match="unique"):
        evaluate([clips[0], clips[0]], sampler="uniform", model=HFBackend("unused"), out_dir=tmp_path / "o",
                 labels=CLIP_LABELS, cache=False)


def test_partial_runs_say_so_in_the_summary_and_the_exit_status(clips, tiny_qwen2_vl, tmp_path, capsys):  # noqa: F811
    """A listed clip missing on disk and an undecodable one are counted, the score says over how many clips it
    was computed, and the command exits 3 unless partial results are accepted; a rerun retries the missing clip
    once it is back."""
    import shutil

    from emoprobe.data.synth.generate import make_dataset_spec
    from emoprobe.data.synth.writers import write_dataset

    root = tmp_path / "dfew"
    spec = make_dataset_spec("balanced", 4, seed=1, dataset="dfew", lengths=12)
    for c in spec["clips"]:
        c["fold"] = 1
    write_dataset(spec, root, size=32, progress=False)
    gone = root / "Clip" / "jpg_256" / "00002"
    shutil.move(gone, tmp_path / "00002")
    (root / "Clip" / "jpg_256" / "00003" / "00003_00001.jpg").write_bytes(b"not a jpeg")
    args = ["eval", "--model", str(tiny_qwen2_vl), "--data", "dfew", "--root", str(root), "--fold", "1",
            "--sampler", "uniform", "--sampler-param", "num_samples=2", "--out", str(tmp_path / "out"), "--no-cache",
            "--max-new-tokens", "2", "--no-progress"]
    assert main(args) == 3
    out, err = capsys.readouterr()
    assert "2 of 4 clips answered; missing on disk 1, undecodable 1" in out and "PARTIAL" in out
    assert "partial run: 2 of 4 clips were not answered" in err and "Traceback" not in err
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    c = summary["counts"]
    assert (c["records"], c["scored"], c["missing_on_disk"], c["video_errors"], c["complete"]) == (4, 2, 1, 1, False)
    assert summary["missing_on_disk"] == ["00002"]
    assert main(args + ["--allow-partial"]) == 0
    capsys.readouterr()
    shutil.move(tmp_path / "00002", gone)  # the clip is back: the rerun answers it
    main(args)
    c = json.loads((tmp_path / "out" / "summary.json").read_text())["counts"]
    assert c["missing_on_disk"] == 0 and c["scored"] == 3


def test_a_chapter_never_scores_a_partial_run_silently(tiny_qwen2_vl, tmp_path, monkeypatch):  # noqa: F811
    from emoprobe import findings
    from emoprobe.data.synth.generate import make_dataset_spec
    from emoprobe.data.synth.writers import write_dataset

    monkeypatch.setenv("EMOPROBE_CACHE_DIR", str(tmp_path / "cache"))
    root = tmp_path / "dfew"
    spec = make_dataset_spec("balanced", 3, seed=2, dataset="dfew", lengths=10)
    for c in spec["clips"]:
        c["fold"] = 1
    write_dataset(spec, root, size=32, progress=False)
    for f in (root / "Clip" / "jpg_256" / "00001").iterdir():
        f.unlink()
    (root / "Clip" / "jpg_256" / "00001").rmdir()
    kw = dict(dataset="dfew", data_root=str(root), sampler="uniform", sampler_params={"num_samples": 2})
    with pytest.raises(ValueError, match="partial run, 1 of 3 clips not answered"):
        findings.predictions(str(tiny_qwen2_vl), **kw)
    rows = findings.predictions(str(tiny_qwen2_vl), allow_partial=True, **kw)
    assert [r["error_kind"] for r in rows] == ["missing", None, None]


def test_an_undecodable_clip_is_retried_once_its_file_is_repaired(backend, tmp_path):
    import shutil

    clips = write_clips(tmp_path / "clips", 3, num_frames=16, corrupt={"clip001"})
    out = tmp_path / "run"
    first = _run(clips, backend, out, False)
    assert first["counts"]["video_errors"] == 1 and not first["counts"]["complete"]
    bad = read_predictions(out / "predictions.jsonl")["clip001"]
    assert bad["error_kind"] == "video" and bad["file_stamp"][1] == len(b"this is not an mp4 file")
    # unchanged: the clip is not tried again (nothing else to do, so no model call)
    again = _run(clips, backend, out, False)
    assert again["counts"]["model_calls_this_run"] == 0 and again["counts"]["video_errors"] == 1
    # repaired (a good file in its place): retried and answered, the error row replaced
    good = write_clips(tmp_path / "good", 2, num_frames=16)
    shutil.copyfile(good[1]["path"], clips[1]["path"])
    fixed = _run(clips, backend, out, False)
    assert fixed["counts"]["model_calls_this_run"] == 1 and fixed["counts"]["video_errors"] == 0
    assert fixed["counts"]["complete"] and read_predictions(out / "predictions.jsonl")["clip001"]["error"] is None
