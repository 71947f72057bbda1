"""VLM backends (HF transformers, OpenAI-compatible servers) behind one request/response shape.

`get_model(name_or_path)` gives a `ModelSpec`; ``spec.make_backend()`` builds its backend (nothing is loaded
until the first request); ``backend.generate(requests)`` returns one plain response dict per request.
"""

from emoprobe.vlm.base import BACKENDS, BackendError, VLMRequest, list_backends, make_backend, response
from emoprobe.vlm.registry import MODELS, ModelSpec, get_model, list_models

__all__ = ["BACKENDS", "BackendError", "VLMRequest", "list_backends", "make_backend", "response", "MODELS",
           "ModelSpec", "get_model", "list_models"]
