"""Fixtures and helpers shared by the VLM, cache and evaluate tests (import them into a test module).

Tiny random-weight models are built once per test session under pytest's tmp folder (a second or so each).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
CLIP_LABELS = ["happy", "sad", "neutral", "angry"]


@pytest.fixture(scope="session")
def tiny_qwen2_vl(tmp_path_factory):
    from emoprobe.vlm.tiny import build_tiny

    return build_tiny("qwen2-vl", tmp_path_factory.mktemp("tiny") / "qwen2-vl")


@pytest.fixture(scope="session")
def tiny_llava_next_video(tmp_path_factory):
    from emoprobe.vlm.tiny import build_tiny

    return build_tiny("llava-next-video", tmp_path_factory.mktemp("tiny") / "llava-next-video")


def random_frames(n, height=48, width=64, seed=0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, height, width, 3), dtype=np.uint8)


def write_clips(folder, count, num_frames=20, fps=10.0, height=48, width=64, seed=0, corrupt=()) -> list:
    """Small mp4 clips and their records (id, path, label); ids in ``corrupt`` get a file that is not a video."""
    from emoprobe.video import write_video

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    records = []
    for i in range(count):
        cid = f"clip{i:03d}"
        path = folder / f"{cid}.mp4"
        if cid in corrupt:
            path.write_bytes(b"this is not an mp4 file")
        else:
            write_video(path, random_frames(num_frames, height, width, seed + i), fps=fps)
        records.append({"id": cid, "path": str(path), "label": CLIP_LABELS[i % len(CLIP_LABELS)]})
    return records


def write_manifest(path, records) -> Path:
    path = Path(path)
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url, timeout=120.0, proc=None) -> bool:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            return False
        try:
            if httpx.get(url, timeout=2.0).status_code == 200:
                return True
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    return False


@pytest.fixture(scope="session")
def served_tiny_qwen(tiny_qwen2_vl, tmp_path_factory):
    """`transformers serve` on 127.0.0.1 with the tiny Qwen2-VL folder pinned; yields (base_url, model name)."""
    exe = Path(PYTHON).parent / "transformers"
    if not exe.exists():
        pytest.skip(f"no `transformers` CLI next to {PYTHON} (install transformers[serving])")
    port = free_port()
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    with open(log, "wb") as out:
        proc = subprocess.Popen([str(exe), "serve", str(tiny_qwen2_vl), "--host", "127.0.0.1", "--port", str(port),
                                 "--device", "cpu", "--dtype", "float32"], stdout=out, stderr=subprocess.STDOUT,
                                env=env)
    try:
        if not wait_http(f"http://127.0.0.1:{port}/health", proc=proc):
            proc.kill()
            pytest.skip(f"`transformers serve` did not start; log:\n{log.read_text()[-2000:]}")
        yield f"http://127.0.0.1:{port}/v1", str(tiny_qwen2_vl)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
