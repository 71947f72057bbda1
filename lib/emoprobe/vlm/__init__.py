"""VLM backends (HF transformers, OpenAI-compatible servers) behind one request/response shape.

`get_model(name_or_path)` gives a `ModelSpec`; ``make_backend(name or spec)`` builds its backend (nothing is loaded
until the first request); ``backend.generate(requests)`` returns one plain response dict per request.
"""

from emoprobe.vlm.base import BACKENDS, Backend, BackendError, BaseBackend, VLMRequest, list_backends, make_backend, response
from emoprobe.vlm.registry import MODELS, ModelSpec, get_model, list_models

__all__ = ["BACKENDS", "Backend", "BaseBackend", "BackendError", "VLMRequest", "list_backends", "make_backend", "response", "MODELS",
           "ModelSpec", "get_model", "list_models"]
