"""Any OpenAI-compatible chat server: vLLM, SGLang, `transformers serve`, hosted APIs.

Frames are decoded here (by the sampler's indices) and sent as base64 images, so the server cannot resample
them: vLLM samples a video URL server-side (32 frames by default, per vLLM's multimodal input docs). Because
a list of images carries no time, the sampling is stated in the text: how many frames, from how long a clip, and
the timestamp of each frame. ``send_as="video"`` sends one mp4 (at the sampled rate) instead, for servers
that take ``video_url`` parts; its frames are still exactly the sampler's.

Robustness: a thread pool bounds concurrency; each request has a timeout; connection errors, 5xx and 429 are
retried with exponential backoff (``Retry-After`` honoured), other 4xx are not (they will not get better);
requests are spread over several base URLs, each to the server with the fewest requests in flight.

The API key is read from the environment variable the spec names (e.g. ``OPENAI_API_KEY``) when the client
is created. It only ever sits in the HTTP client's headers: not in ``repr``, `identity` (hence not in cache
keys or summaries), responses, or log messages.
"""

from __future__ import annotations

import base64
import io
import itertools
import logging
import os
import random
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from emoprobe.vlm.base import BackendError, BaseBackend, VLMRequest, response

__all__ = ["OpenAICompatBackend", "encode_frame", "sampling_statement"]

log = logging.getLogger(__name__)

RETRY_STATUS = {429, 500, 502, 503, 504}


def encode_frame(frame, image_format="jpeg", jpeg_quality=90) -> str:
    """A data URL of one (H, W, 3) uint8 frame."""
    from PIL import Image

    buf = io.BytesIO()
    fmt = image_format.lower()
    if fmt in ("jpeg", "jpg"):
        Image.fromarray(frame).save(buf, format="JPEG", quality=int(jpeg_quality))
        mime = "image/jpeg"
    elif fmt == "png":
        Image.fromarray(frame).save(buf, format="PNG")
        mime = "image/png"
    else:
        raise ValueError(f"image_format must be 'jpeg' or 'png', got {image_format!r}")
    return f"data:{mime};base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def sampling_statement(req: VLMRequest) -> str:
    """The text that tells the model which frames it is looking at."""
    n = 0 if req.frames is None else len(req.frames)
    parts = [f"The video is shown as {n} frames in the order given"]
    if req.clip_fps and req.clip_num_frames:
        duration = req.clip_num_frames / float(req.clip_fps)
        parts.append(f", sampled from a {duration:.2f} s clip ({req.clip_num_frames} frames at "
                     f"{float(req.clip_fps):g} fps; {req.sampled_fps:.2f} sampled frames per second)")
    return "".join(parts) + "."


def _video_data_url(req: VLMRequest) -> str:
    from emoprobe.video import write_video

    fps = req.sampled_fps or 1.0
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "clip.mp4")
        write_video(path, req.frames, fps=fps)
        with open(path, "rb") as f:
            return "data:video/mp4;base64," + base64.b64encode(f.read()).decode("ascii")


class OpenAICompatBackend(BaseBackend):
    """Chat-completions client. The constructor only stores parameters; nothing connects until used.

    Parameters
    ----------
    model : the model name the server serves (``/v1/models``).
    base_urls : one or more server roots ending in ``/v1``.
    api_key_env : environment variable holding the key; None for servers without auth.
    send_as : ``"images"`` (one image_url part per frame, each preceded by its timestamp) or ``"video"``.
    concurrency : requests in flight at once (over all servers).
    timeout : seconds per HTTP request.
    max_retries : extra attempts after a connection error, 5xx or 429.
    backoff, backoff_max : first retry wait and cap, seconds (doubled per attempt, with jitter).
    balance : ``"least_busy"`` or ``"round_robin"`` over ``base_urls``.
    extra_body : extra JSON fields for every request (e.g. vLLM's ``mm_processor_kwargs``).
    """

    name = "openai"
    DEFAULT_MAX_NEW_TOKENS = 32

    def __init__(self, model, base_urls=("http://127.0.0.1:8000/v1",), api_key_env=None, send_as="images",
                 image_format="jpeg", jpeg_quality=90, state_sampling=True, concurrency=4, timeout=120.0,
                 max_retries=4, backoff=0.5, backoff_max=30.0, balance="least_busy",
                 max_new_tokens=DEFAULT_MAX_NEW_TOKENS, extra_body=None, batch_size=16, startup_wait=60.0):
        self.model = model
        self.startup_wait = startup_wait
        self.base_urls = base_urls
        self.api_key_env = api_key_env
        self.send_as = send_as
        self.image_format = image_format
        self.jpeg_quality = jpeg_quality
        self.state_sampling = state_sampling
        self.concurrency = concurrency
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff = backoff
        self.backoff_max = backoff_max
        self.balance = balance
        self.max_new_tokens = max_new_tokens
        self.extra_body = extra_body
        self.batch_size = batch_size  # how many requests evaluate hands over at once

    @classmethod
    def from_spec(cls, spec, **overrides) -> OpenAICompatBackend:
        """The backend of a served model's spec (its URLs and the name of its key's environment variable)."""
        params = dict(model=spec.repo_id, base_urls=list(spec.base_urls), api_key_env=spec.api_key_env)
        overrides = {k: v for k, v in overrides.items() if k not in ("device", "dtype")}  # the server decides
        return cls(**{**params, **overrides})

    def __repr__(self):
        return (f"OpenAICompatBackend(model={self.model!r}, base_urls={self._urls()!r}, "
                f"api_key_env={self.api_key_env!r})")

    # --------------------------------------------------------------------------------------------- setup

    def _urls(self) -> list[str]:
        urls = [self.base_urls] if isinstance(self.base_urls, str) else list(self.base_urls or [])
        return [u.rstrip("/") for u in urls]

    def load(self):
        """Check parameters, read the API key, create the HTTP client (once). Returns self."""
        if getattr(self, "client_", None) is not None:
            return self
        import httpx

        urls = self._urls()
        if not urls:
            raise ValueError(f"model {self.model!r}: base_urls is empty; give at least one server URL")
        if self.send_as not in ("images", "video"):
            raise ValueError(f"send_as must be 'images' or 'video', got {self.send_as!r}")
        if self.balance not in ("least_busy", "round_robin"):
            raise ValueError(f"balance must be 'least_busy' or 'round_robin', got {self.balance!r}")
        if not (isinstance(self.concurrency, int) and self.concurrency >= 1):
            raise ValueError(f"concurrency must be a positive integer, got {self.concurrency!r}")
        headers = {"Content-Type": "application/json"}
        if self.api_key_env:
            key = os.environ.get(self.api_key_env)
            if not key:
                raise BackendError(f"model {self.model!r} needs an API key: set the environment variable "
                                   f"{self.api_key_env}")
            headers["Authorization"] = f"Bearer {key}"
        limits = httpx.Limits(max_connections=self.concurrency * 2, max_keepalive_connections=self.concurrency)
        self.client_ = httpx.Client(headers=headers, timeout=self.timeout, limits=limits)
        self.lock_ = threading.Lock()
        self.in_flight_ = {u: 0 for u in urls}
        self.turn_ = itertools.count()
        self.calls_ = 0
        return self

    def close(self):
        client = getattr(self, "client_", None)
        if client is not None:
            client.close()
            self.client_ = None

    def identity(self) -> dict:
        """What identifies this model's answers. Server URLs and the key are not part of it."""
        return {"backend": self.name, "model": str(self.model), "revision": None, "send_as": self.send_as,
                "image_format": self.image_format,
                "jpeg_quality": self.jpeg_quality if self.image_format in ("jpeg", "jpg") else None,
                "state_sampling": bool(self.state_sampling), "extra_body": self.extra_body or {}}

    def generation_params(self, max_new_tokens=None, temperature=0.0) -> dict:
        n = self.max_new_tokens if max_new_tokens is None else max_new_tokens
        return {"max_new_tokens": int(n), "temperature": float(temperature or 0.0),
                "do_sample": bool(temperature), "n": 1}

    def _models(self, url):
        """GET /models, waiting up to ``startup_wait`` seconds for a server that is still starting (connection
        refused, or 502/503 while it loads its model)."""
        import time

        import httpx

        deadline, pause, said = time.monotonic() + float(self.startup_wait or 0), 0.5, False
        while True:
            try:
                r = self.client_.get(f"{url}/models", timeout=min(self.timeout, 10.0))
                if r.status_code not in (502, 503):
                    return r
                why = f"HTTP {r.status_code}"
            except httpx.HTTPError as e:
                why = f"{type(e).__name__}: {e}"
            if time.monotonic() + pause > deadline:
                waited = f" after waiting {self.startup_wait:g} s" if self.startup_wait else ""
                raise BackendError(f"server {url} is not reachable{waited} ({why}); start it, or raise "
                                   "startup_wait (--backend-param startup_wait=SECONDS)")
            if not said:  # one line, so a wait of a minute does not look like a hang
                print(f"openai backend: server {url} is not answering yet ({why}); waiting up to "
                      f"{self.startup_wait:g} s for it to start", file=sys.stderr, flush=True)
                said = True
            time.sleep(pause)
            pause = min(pause * 2, 5.0)

    def check(self) -> dict:
        """Ask every server which models it serves; raise BackendError naming a dead server or missing model.
        A server that is still starting is waited for (``startup_wait`` seconds)."""
        self.load()
        served = {}
        for url in self._urls():
            r = self._models(url)
            if r.status_code in (401, 403):
                raise BackendError(f"server {url} refused the API key (HTTP {r.status_code})")
            if r.status_code != 200:
                raise BackendError(f"server {url}: GET /models answered HTTP {r.status_code}: {r.text[:200]}")
            names = [m.get("id") for m in r.json().get("data", [])]
            if self.model not in names:
                raise BackendError(f"server {url} does not serve model {self.model!r}; it serves {names}")
            served[url] = names
        return served

    # ------------------------------------------------------------------------------------------ requests

    def payload(self, req: VLMRequest, max_new_tokens=None, temperature=0.0) -> dict:
        """The chat-completions JSON body for one request."""
        content = []
        n = 0 if req.frames is None else len(req.frames)
        if n and self.state_sampling:
            content.append({"type": "text", "text": sampling_statement(req)})
        if n and self.send_as == "video":
            content.append({"type": "video_url", "video_url": {"url": _video_data_url(req)}})
        elif n:
            for i, frame in enumerate(req.frames):
                if self.state_sampling and req.timestamps:
                    content.append({"type": "text", "text": f"Frame {i + 1} at {float(req.timestamps[i]):.2f} s:"})
                content.append({"type": "image_url",
                                "image_url": {"url": encode_frame(frame, self.image_format, self.jpeg_quality)}})
        content.append({"type": "text", "text": req.prompt})
        messages = [] if not req.system else [{"role": "system", "content": req.system}]
        messages.append({"role": "user", "content": content})
        params = self.generation_params(max_new_tokens, temperature)
        body = {"model": self.model, "messages": messages, "max_tokens": params["max_new_tokens"],
                "temperature": params["temperature"], "n": 1}
        if self.extra_body:
            body.update(self.extra_body)
        return body

    def _pick(self) -> str:
        with self.lock_:
            urls = list(self.in_flight_)
            turn = next(self.turn_)
            if self.balance == "round_robin":
                url = urls[turn % len(urls)]
            else:  # fewest in flight; ties broken in rotation so idle servers share the load
                low = min(self.in_flight_.values())
                idle = [u for u in urls if self.in_flight_[u] == low]
                url = idle[turn % len(idle)]
            self.in_flight_[url] += 1
            self.calls_ += 1
            return url

    def _release(self, url):
        with self.lock_:
            self.in_flight_[url] -= 1

    def _wait(self, attempt, retry_after=None):
        delay = min(self.backoff_max, self.backoff * (2 ** attempt))
        if retry_after is not None:
            delay = min(self.backoff_max, max(delay, retry_after))
        time.sleep(delay * (0.75 + 0.5 * random.random()))

    def _one(self, body: dict) -> dict:
        import httpx

        t0 = time.perf_counter()
        last = None
        for attempt in range(self.max_retries + 1):
            url = self._pick()
            try:
                r = self.client_.post(f"{url}/chat/completions", json=body)
            except (httpx.TransportError,) as e:  # connect/read errors, timeouts, dropped connections
                last = f"cannot reach {url}: {type(e).__name__}: {e}"
                log.info("attempt %d: %s", attempt + 1, last)
                self._release(url)
                if attempt < self.max_retries:
                    self._wait(attempt)
                continue
            self._release(url)
            if r.status_code == 200:
                data = r.json()
                choice = (data.get("choices") or [{}])[0]
                text = (choice.get("message") or {}).get("content") or ""
                usage = data.get("usage") or {}
                return response(text, time.perf_counter() - t0, None,
                                input_tokens=usage.get("prompt_tokens"), output_tokens=usage.get("completion_tokens"),
                                finish_reason=choice.get("finish_reason"), server=url, attempts=attempt + 1)
            detail = r.text[:300]
            if r.status_code in RETRY_STATUS:
                last = f"{url} answered HTTP {r.status_code}: {detail}"
                log.info("attempt %d: %s", attempt + 1, last)
                if attempt < self.max_retries:
                    retry_after = r.headers.get("retry-after")
                    try:
                        retry_after = float(retry_after) if retry_after is not None else None
                    except ValueError:
                        retry_after = None
                    self._wait(attempt, retry_after)
                continue
            if r.status_code in (401, 403):
                msg = f"{url} refused the request (HTTP {r.status_code}); check the key in ${self.api_key_env}"
            elif r.status_code in (400, 404) and "model" in detail.lower():
                msg = f"{url} does not serve model {self.model!r} (HTTP {r.status_code}): {detail}"
            else:
                msg = f"{url} answered HTTP {r.status_code}: {detail}"
            return response("", time.perf_counter() - t0, msg, attempts=attempt + 1)
        return response("", time.perf_counter() - t0,
                        f"gave up after {self.max_retries + 1} attempts; last: {last}",
                        attempts=self.max_retries + 1)

    def generate(self, requests: list[VLMRequest], max_new_tokens=None, temperature=0.0) -> list[dict]:
        """One response dict per request, in order. Failures come back with ``error`` set, never raised."""
        self.load()
        bodies = [self.payload(r, max_new_tokens, temperature) for r in requests]
        if len(bodies) == 1 or self.concurrency == 1:
            return [self._one(b) for b in bodies]
        with ThreadPoolExecutor(max_workers=min(self.concurrency, len(bodies))) as pool:
            return list(pool.map(self._one, bodies))
