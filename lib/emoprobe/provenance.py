"""Where a score came from: code versions, the git commit, and the run summary's provenance block.

Every ``summary.json`` written by emoprobe.evaluate carries one ``provenance`` record with the same keys in
every profile: the model (backend identity, revision or content hash, budget family), the frame sampler and
its parameters, the conditions (shuffle, visual-token budget, MSCE context), the decoder, the prompt (id,
template hash, class order), the parser version, the seed, the generation settings and the code versions.
"""

from __future__ import annotations

import platform
import sys
from pathlib import Path

__all__ = ["git_revision", "versions", "record"]


def git_revision(start=None) -> str | None:
    """The commit of the repository holding this package, read from ``.git`` files (no git process)."""
    here = Path(start or __file__).resolve()
    for folder in [here, *here.parents]:
        git = folder / ".git"
        if not git.is_dir():
            continue
        try:
            head = (git / "HEAD").read_text().strip()
            if not head.startswith("ref: "):
                return head
            ref = head[5:]
            if (git / ref).exists():
                return (git / ref).read_text().strip()
            packed = git / "packed-refs"
            if packed.exists():
                for line in packed.read_text().splitlines():
                    if line.endswith(" " + ref):
                        return line.split()[0]
        except OSError:
            pass
        return None
    return None


def versions() -> dict:
    import emoprobe

    out = {"emoprobe": emoprobe.__version__, "git": git_revision(), "python": platform.python_version()}
    for mod in ("transformers", "torch", "httpx"):
        if mod in sys.modules:
            out[mod] = getattr(sys.modules[mod], "__version__", None)
    return out


def record(*, identity: dict, spec, sampler: dict, conditions: dict, decoder: str, prompt: dict,
           parser_version: str, seed: int, generation: dict, dataset, labels) -> dict:
    """The provenance block of a run (plain JSON)."""
    return {
        "model": identity, "model_spec": spec.to_dict() if spec is not None else None,
        "backend": identity.get("backend"), "budget_family": getattr(spec, "family", None),
        "sampler": sampler, "conditions": conditions, "decoder": decoder, "prompt": prompt,
        "parser_version": parser_version, "seed": int(seed), "generation": generation, "dataset": dataset,
        "labels": list(labels), "code": versions(),
    }
