"""The OpenAI-compatible backend against real servers: `transformers serve` with a tiny model, small local
http.server stubs (500 then 200, 429, 400, auth) and a port nobody listens on."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from vlm_fixtures import (CLIP_LABELS, free_port, random_frames, served_tiny_qwen, tiny_qwen2_vl,  # noqa: F401
                          write_clips)

from emoprobe.vlm import VLMRequest
from emoprobe.vlm.base import BackendError
from emoprobe.vlm.openai_compat import OpenAICompatBackend, sampling_statement

COMPLETION = {"id": "x", "object": "chat.completion", "model": "stub",
              "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "happy"}}],
              "usage": {"prompt_tokens": 10, "completion_tokens": 1}}


def _req(n=3, seed=0):
    return VLMRequest(prompt="Which emotion?", frames=random_frames(n, 32, 32, seed), frame_indices=[0, 5, 10][:n],
                      timestamps=[0.0, 0.2, 0.4][:n], clip_fps=25.0, clip_num_frames=25, request_id=str(seed))


class Stub:
    """A real HTTP server on 127.0.0.1 answering from a script of (status, body, headers) per POST."""

    def __init__(self, script=(), models=("stub",)):
        self.script = list(script)
        self.models = list(models)
        self.posts = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _send(self, status, body, headers=None):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                self._send(200, {"object": "list", "data": [{"id": m} for m in stub.models]})

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                stub.posts.append({"body": body, "auth": self.headers.get("Authorization")})
                status, payload, headers = stub.script.pop(0) if stub.script else (200, COMPLETION, {})
                self._send(status, payload, headers)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def _backend(urls, **kw):
    kw.setdefault("backoff", 0.01)
    kw.setdefault("timeout", 5.0)
    return OpenAICompatBackend("stub", base_urls=urls, **kw)


def test_retries_500_then_succeeds():
    with Stub([(500, {"error": "boom"}, {}), (200, COMPLETION, {})]) as s:
        got = _backend(s.url, max_retries=3).generate([_req()])[0]
    assert got["error"] is None and got["text"] == "happy" and got["attempts"] == 2
    assert len(s.posts) == 2


def test_retries_429_and_gives_up_after_max_retries():
    with Stub([(429, {"error": "slow down"}, {"Retry-After": "0"})] * 5) as s:
        got = _backend(s.url, max_retries=2).generate([_req()])[0]
    assert got["text"] == "" and "3 attempts" in got["error"] and "429" in got["error"]
    assert len(s.posts) == 3


def test_no_retry_on_4xx_and_unknown_model_is_named():
    with Stub([(400, {"detail": "model 'stub' not found"}, {})]) as s:
        got = _backend(s.url, max_retries=3).generate([_req()])[0]
    assert len(s.posts) == 1 and got["attempts"] == 1
    assert "does not serve model 'stub'" in got["error"]


def test_dead_server_is_named(tmp_path):
    dead = f"http://127.0.0.1:{free_port()}/v1"
    backend = _backend(dead, max_retries=2, startup_wait=0)
    got = backend.generate([_req()])[0]
    assert dead in got["error"] and "3 attempts" in got["error"]
    with pytest.raises(BackendError, match=dead.replace(".", r"\.")):
        backend.check()


def test_a_server_that_is_still_starting_is_waited_for(capsys):
    """The port opens 1.5 s after the run starts (a real server thread bound late); check() waits for it, and a
    server that never comes gives up after startup_wait seconds, naming the URL."""
    import time

    port = free_port()
    url = f"http://127.0.0.1:{port}/v1"

    class Models(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            body = json.dumps({"data": [{"id": "stub"}]}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    servers = []

    def start_late():
        time.sleep(1.5)
        servers.append(ThreadingHTTPServer(("127.0.0.1", port), Models))
        servers[0].serve_forever()

    threading.Thread(target=start_late, daemon=True).start()
    try:
        # without waiting this fails at once: nothing listens on the port yet
        assert _backend(url, startup_wait=20).check() == {url: ["stub"]}
        assert f"server {url} is not answering yet" in capsys.readouterr().err  # said once, not silent
    finally:
        while not servers:
            time.sleep(0.1)
        servers[0].shutdown()
        servers[0].server_close()
    never = f"http://127.0.0.1:{free_port()}/v1"
    with pytest.raises(BackendError, match=r"not reachable after waiting 1 s.*startup_wait"):
        _backend(never, startup_wait=1).check()


def test_check_names_a_missing_model():
    with Stub(models=["other"]) as s:
        with pytest.raises(BackendError, match="does not serve model 'stub'"):
            _backend(s.url).check()


def test_api_key_from_environment_never_stored(monkeypatch):
    monkeypatch.delenv("EMOPROBE_TEST_KEY", raising=False)
    with Stub() as s:
        backend = _backend(s.url, api_key_env="EMOPROBE_TEST_KEY")
        with pytest.raises(BackendError, match="EMOPROBE_TEST_KEY"):
            backend.generate([_req()])
        monkeypatch.setenv("EMOPROBE_TEST_KEY", "sk-secret-123")
        backend = _backend(s.url, api_key_env="EMOPROBE_TEST_KEY")
        got = backend.generate([_req()])[0]
    assert s.posts[-1]["auth"] == "Bearer sk-secret-123"
    for text in (repr(backend), json.dumps(backend.identity()), json.dumps(got), json.dumps(s.posts[-1]["body"])):
        assert "sk-secret-123" not in text


def test_payload_states_the_sampling_and_sends_every_frame():
    body = _backend("http://127.0.0.1:1/v1").payload(_req(3))
    parts = body["messages"][0]["content"]
    images = [p for p in parts if p["type"] == "image_url"]
    texts = " ".join(p["text"] for p in parts if p["type"] == "text")
    assert len(images) == 3 and images[0]["image_url"]["url"].startswith("data:image/jpeg;base64,")
    assert "Frame 2 at 0.20 s" in texts and "3 frames" in texts and "25 fps" in texts
    assert body["temperature"] == 0.0 and body["max_tokens"] == 32
    assert "1.00 s clip" in sampling_statement(_req(3))


def test_requests_spread_over_servers():
    with Stub() as a, Stub() as b:
        backend = _backend([a.url, b.url], concurrency=4)
        got = backend.generate([_req(1, seed=i) for i in range(12)])
    assert all(g["error"] is None for g in got)
    assert len(a.posts) + len(b.posts) == 12 and len(a.posts) >= 3 and len(b.posts) >= 3
    assert backend.calls_ == 12


@pytest.mark.slow
def test_transformers_serve_end_to_end(served_tiny_qwen, tmp_path):
    from emoprobe.evaluate import evaluate

    url, model = served_tiny_qwen
    backend = OpenAICompatBackend(model, base_urls=[url], concurrency=2, max_new_tokens=5, timeout=60)
    assert model in backend.check()[url]
    got = backend.generate([_req(2, seed=i) for i in range(3)])
    assert all(g["error"] is None and isinstance(g["text"], str) and g["output_tokens"] >= 1 for g in got)
    # greedy: the same request gives the same text
    assert backend.generate([_req(2, seed=0)])[0]["text"] == got[0]["text"]
    # unknown model: a clear error from the real server
    wrong = OpenAICompatBackend("no-such-model", base_urls=[url], max_retries=0).generate([_req(1)])[0]
    assert "no-such-model" in wrong["error"]
    # and a whole evaluation through the server
    records = write_clips(tmp_path / "clips", 3, num_frames=10)
    summary = evaluate(records, sampler="uniform", sampler_params={"num_samples": 2}, model=backend,
                       out_dir=tmp_path / "out", labels=CLIP_LABELS, cache=tmp_path / "cache.jsonl",
                       max_new_tokens=5, progress=False)
    assert summary["counts"]["rows"] == 3 and summary["counts"]["backend_errors"] == 0
    assert summary["backend"] == "openai" and summary["counts"]["model_calls_this_run"] == 3
