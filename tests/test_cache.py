"""The response cache: keys, what is (not) cached, torn lines, and a real SIGKILL in the middle of a run."""

import json
import os
import signal
import subprocess
import time

import pytest
from vlm_fixtures import PYTHON, ROOT, tiny_qwen2_vl, write_clips, write_manifest  # noqa: F401

from emoprobe.cache import ResponseCache, folder_fingerprint, is_deterministic, make_key, read_jsonl

GREEDY = {"max_new_tokens": 8, "temperature": 0.0, "do_sample": False}


def test_key_is_stable_and_sensitive():
    parts = {"model": {"model": "m", "revision": "r"}, "prompt_sha256": "p", "frame_indices": [0, 5, 10],
             "generation": GREEDY}
    assert make_key(parts) == make_key(json.loads(json.dumps(parts)))  # order and round trips do not matter
    assert make_key(parts) == make_key(dict(reversed(list(parts.items()))))
    for change in ({"frame_indices": [0, 5, 11]}, {"prompt_sha256": "q"}, {"model": {"model": "m", "revision": "s"}},
                   {"generation": {**GREEDY, "max_new_tokens": 9}}):
        assert make_key({**parts, **change}) != make_key(parts)


def test_only_deterministic_non_empty_answers_are_cached(tmp_path):
    cache = ResponseCache(tmp_path / "c.jsonl")
    assert not (tmp_path / "c.jsonl").exists()  # constructing creates nothing
    assert cache.put("a", {"text": "happy", "error": None}, GREEDY)
    assert not cache.put("b", {"text": "happy", "error": None}, {**GREEDY, "temperature": 0.7, "do_sample": True})
    assert not cache.put("c", {"text": "   ", "error": None}, GREEDY)
    assert not cache.put("d", {"text": "", "error": "server down"}, GREEDY)
    assert not is_deterministic({"temperature": 0.0, "n": 3})
    again = ResponseCache(tmp_path / "c.jsonl")
    assert len(again) == 1 and again.get("a")["text"] == "happy" and again.get("b") is None


def test_torn_last_line_is_skipped_and_next_record_survives(tmp_path):
    path = tmp_path / "c.jsonl"
    cache = ResponseCache(path)
    cache.put("a", {"text": "sad", "error": None}, GREEDY)
    with open(path, "ab") as f:  # what a process killed mid-write leaves behind
        f.write(b'{"key": "b", "response": {"te')
    cache2 = ResponseCache(path)
    assert len(cache2) == 1 and cache2.torn_lines_ == 1
    assert cache2.put("c", {"text": "fear", "error": None}, GREEDY)
    cache3 = ResponseCache(path)
    assert {k for k in ("a", "b", "c") if k in cache3} == {"a", "c"}
    records, bad = read_jsonl(path)
    assert bad == 1 and [r["key"] for r in records] == ["a", "c"]


def test_folder_fingerprint_follows_content(tmp_path):
    (tmp_path / "config.json").write_text("{}")
    (tmp_path / "model.safetensors").write_bytes(b"\0" * 100)
    a = folder_fingerprint(tmp_path)
    (tmp_path / "model.safetensors").write_bytes(b"\1" * 100)
    assert folder_fingerprint(tmp_path) != a


def _count_lines(path):
    try:
        with open(path, "rb") as f:
            return sum(1 for line in f if line.endswith(b"\n"))
    except FileNotFoundError:
        return 0


@pytest.mark.slow
def test_sigkill_mid_run_then_rerun_loses_and_duplicates_nothing(tiny_qwen2_vl, tmp_path):  # noqa: F811
    total = 30
    records = write_clips(tmp_path / "clips", total, num_frames=12)
    manifest = write_manifest(tmp_path / "clips.jsonl", records)
    out, cache_path = tmp_path / "out", tmp_path / "cache.jsonl"
    cmd = [PYTHON, "-m", "emoprobe.cli", "eval", "--model", str(tiny_qwen2_vl), "--manifest", str(manifest),
           "--sampler", "uniform", "--sampler-param", "num_samples=4", "--labels", "happy,sad,neutral,angry",
           "--out", str(out), "--cache", str(cache_path), "--max-new-tokens", "48", "--batch-size", "1",
           "--no-progress"]
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    pred = out / "predictions.jsonl"
    deadline = time.monotonic() + 300
    while _count_lines(pred) < 3 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the run finished before it could be killed"
    before, _ = read_jsonl(pred)
    assert 3 <= len(before) < total
    cached_ids = {r["meta"]["id"] for r in read_jsonl(cache_path)[0]}
    done_ids = {r["id"] for r in before}

    rerun = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    summary = json.loads((out / "summary.json").read_text())
    rows, _ = read_jsonl(pred)
    ids = [r["id"] for r in rows]
    assert len(ids) == len(set(ids)) == total  # none lost, none duplicated
    assert set(ids) == {r["id"] for r in records}
    # the rerun only called the model for clips that had neither a row nor a cached answer
    assert summary["counts"]["model_calls_this_run"] == total - len(done_ids | cached_ids)
    assert summary["counts"]["cache_hits_this_run"] == len(cached_ids - done_ids)
    # rows written before the kill are kept as they were
    by_id = {r["id"]: r for r in rows}
    assert all(by_id[r["id"]]["raw_output"] == r["raw_output"] for r in before)
