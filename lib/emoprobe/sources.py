"""Names of models and dataset roots, resolved to what the backends and loaders open.

A model is a registered name (emoprobe.vlm.registry), a local checkpoint folder, a probe model
``probe:<profile>/<name>`` (emoprobe.probe.zoo: trained on first use, then a checkpoint folder like any other),
or ``tiny:<family>``: a random-weight model of a real family (emoprobe.vlm.tiny), built on first use, with which
the offline ``rehearsal`` profile runs the paper profile's exact code path.
A dataset root is a folder, or a probe test set ``probe:<profile>/<test set>`` (emoprobe.probe.testsets:
written on first use in the real DFEW or MAFW layout). Everything after resolution is the same code path: the
loaders read the folder, the backends load the checkpoint.
"""

from __future__ import annotations

__all__ = ["PROBE", "TINY", "is_probe", "split", "resolve_model", "resolve_root", "short_name"]

PROBE = "probe:"
TINY = "tiny:"


def is_probe(name) -> bool:
    return isinstance(name, str) and name.startswith(PROBE)


def split(name: str) -> tuple[str, str]:
    """``probe:quick/vlm-prior1`` -> ("quick", "vlm-prior1"), with a clear error for a malformed name."""
    body = name[len(PROBE):]
    profile, sep, item = body.partition("/")
    if not sep or not profile or not item:
        raise ValueError(f"{name!r}: expected probe:<profile>/<name>, e.g. probe:quick/vlm-prior1")
    return profile, item


def resolve_model(name, seed: int = 0, progress: bool = False) -> str:
    """A probe model's or tiny model's checkpoint folder (built if needed); other names are returned unchanged."""
    if isinstance(name, str) and name.startswith(TINY):
        return str(_tiny(name[len(TINY):]))
    if not is_probe(name):
        return str(name)
    from emoprobe.probe import zoo

    profile, model = split(name)
    # a trained model is a folder in the cache: found without loading it (zoo.get loads what it returns)
    entry = zoo.default_cache_dir() / model / zoo.cache_key(model, profile, seed)[:16]
    if (entry / "meta.json").is_file():
        return str(entry / "model")
    return str(zoo.get(model, profile, seed=seed, progress=progress))


def _tiny(family: str):
    from emoprobe.codehash import code_fingerprint
    from emoprobe.probe import zoo
    from emoprobe.vlm.tiny import TINY_BUILDERS, build_tiny

    if family not in TINY_BUILDERS:
        raise ValueError(f"tiny:{family}: expected one of {', '.join('tiny:' + f for f in sorted(TINY_BUILDERS))}")
    # keyed by the builders' code, so a changed builder never reuses an old folder
    code = code_fingerprint(["emoprobe.vlm.tiny:build_tiny"], constants={family})
    folder = zoo.default_cache_dir().parent / "tiny" / f"{family}-{code[:12]}"
    return build_tiny(family, folder)


def resolve_root(root, progress: bool = False) -> str | None:
    """A probe test set's folder (written if needed); any other root is returned unchanged."""
    if not is_probe(root):
        return None if root is None else str(root)
    from emoprobe.probe import testsets

    profile, test_set = split(root)
    return str(testsets.folder(profile, test_set, progress=progress))


def short_name(name) -> str:
    """What tables call a model: the probe model's name, a folder's last part, or the registered name."""
    from pathlib import Path

    name = str(name)
    if is_probe(name):
        return split(name)[1]
    if name.startswith(TINY):
        return name
    if "/" not in name or not Path(name).exists():
        return name
    # checkpoint folders end in .../<name>/<cache key>/model (the zoo) or .../<run>/model (emoprobe finetune)
    parts = [p for p in Path(name).resolve().parts if p != "model"]
    while len(parts) > 1 and len(parts[-1]) == 16 and all(c in "0123456789abcdef" for c in parts[-1]):
        parts.pop()
    return parts[-1]
