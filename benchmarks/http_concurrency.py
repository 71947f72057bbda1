"""Throughput of the OpenAI-compatible backend at concurrency 1 vs 8 against a local stub server.

The stub is a real `http.server` (threaded) that answers every chat completion with a fixed reply after
sleeping ``--latency`` seconds, standing in for a model server whose time per request dominates. With the
latency fixed, concurrency 8 should approach 8x the requests per second of concurrency 1.

    python benchmarks/http_concurrency.py [--requests 32] [--latency 0.2]
"""

import argparse
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np

REPLY = {"id": "bench", "object": "chat.completion", "model": "stub",
         "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "neutral"}}],
         "usage": {"prompt_tokens": 1, "completion_tokens": 1}}


def serve(latency):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_POST(self):
            self.rfile.read(int(self.headers["Content-Length"]))
            time.sleep(latency)
            data = json.dumps(REPLY).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/v1"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=32)
    ap.add_argument("--latency", type=float, default=0.2)
    args = ap.parse_args(argv)

    from emoprobe.vlm import VLMRequest
    from emoprobe.vlm.openai_compat import OpenAICompatBackend

    rng = np.random.default_rng(0)
    reqs = [VLMRequest(prompt="Which emotion?", frames=rng.integers(0, 256, (4, 112, 112, 3), dtype=np.uint8),
                       frame_indices=[0, 8, 16, 24], timestamps=[0, 0.32, 0.64, 0.96], clip_fps=25.0,
                       clip_num_frames=25) for _ in range(args.requests)]
    server, url = serve(args.latency)
    try:
        rates = {}
        for conc in (1, 8):
            backend = OpenAICompatBackend("stub", base_urls=[url], concurrency=conc)
            t0 = time.perf_counter()
            out = backend.generate(reqs)
            dt = time.perf_counter() - t0
            assert all(o["error"] is None for o in out)
            rates[conc] = args.requests / dt
            print(f"concurrency {conc}: {args.requests} requests in {dt:6.2f} s -> {rates[conc]:6.2f} req/s")
            backend.close()
    finally:
        server.shutdown()
    print(f"speed-up 8 vs 1: {rates[8] / rates[1]:.2f}x (ideal 8x with {args.latency:.2f} s server latency)")


if __name__ == "__main__":
    main()
