"""Before a book runs: is everything its parameters name on this machine?

A profile names dataset roots and models (runs.yml). Rather than stopping in the fifth chapter after an hour,
``problems(runs)`` lists up front every ``data_root`` that is unset or not a folder and every registered hub
model whose weights are not in the local Hugging Face cache (nothing is downloaded at run time), each with
what to do. Probe names (``probe:...``) and local folders always pass: they are built or read locally.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["problems"]


def _models_in(value) -> list[str]:
    from emoprobe.vlm.registry import MODELS

    values = value if isinstance(value, (list, tuple)) else [value]
    return [v for v in values if isinstance(v, str) and v in MODELS]


def _cached(spec) -> bool:
    from huggingface_hub import try_to_load_from_cache

    hit = try_to_load_from_cache(spec.repo_id, "config.json", revision=spec.revision)
    return isinstance(hit, str)


def problems(runs) -> list[str]:
    """One line per missing thing (empty when the book can run)."""
    from emoprobe.sources import is_probe
    from emoprobe.vlm.registry import MODELS

    out, seen = [], set()
    for run in runs:
        params = run["parameters"]
        if "data_root" in params:
            root = params["data_root"]
            ds = params.get("dataset", "the dataset")
            if root is None:
                out.append(f"{run['name']}: data_root is not set; expected the folder of {str(ds).upper()} in its "
                           f"official layout (runs.yml, or papermill -p data_root DIR)")
            elif not is_probe(root) and not Path(root).is_dir():
                out.append(f"{run['name']}: data_root {root} is not a folder")
        for key, value in params.items():
            for name in _models_in(value):
                spec = MODELS[name]
                if name in seen or spec.backend != "hf":
                    continue
                seen.add(name)
                if not _cached(spec):
                    out.append(f"{run['name']}: model {name} ({spec.repo_id}) is not in the local Hugging Face "
                               f"cache; download it first: hf download {spec.repo_id}")
    return out
