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
