"""Response cache: a model's answer to a deterministic request is computed once, even across crashes.

Design (after lmms-eval's response cache, `lmms_eval/caching/response_cache.py` in
https://github.com/EvolvingLMMs-Lab/lmms-eval, made simpler):
- **Key** = sha256 of a canonical JSON of everything that can change an answer: the model's identity (id and
  revision, or a content fingerprint of a local folder), the prompt text, the clip and its frame indices,
  the pixel settings, the decoder, the generation parameters, and a schema version. No secrets: API keys
  never reach a backend's identity, so they never reach a key or a stored record.
- **Only deterministic requests** (greedy: temperature 0, no sampling, one answer) are stored; a sampled
  answer is a draw, and replaying it would hide the variance.
- **Never poisoned**: empty answers and failed calls are refused, so a rerun asks again.
- **Crash-safe**: an append-only JSONL file, one record per line written with a single ``write`` under an
  exclusive lock and ``fsync``-ed before `put` returns. A process killed mid-write leaves at most one torn
  last line, which `load` skips (and the next append starts on a fresh line). Duplicate keys are harmless:
  the first record wins.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
from pathlib import Path

__all__ = ["ResponseCache", "make_key", "is_deterministic", "folder_fingerprint", "SCHEMA_VERSION", "append_jsonl",
           "read_jsonl", "remove_orphan_files", "remove_orphans", "temporary_name", "text_hash"]

SCHEMA_VERSION = 1

# Files bigger than this are fingerprinted by size + their first and last FINGERPRINT_EDGE bytes, so a 15 GB
# checkpoint is not read in full on every run; fine-tuned weights differ everywhere, edges included.
FINGERPRINT_FULL_LIMIT = 256 * 1024 * 1024
FINGERPRINT_EDGE = 4 * 1024 * 1024
_WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".json", ".jinja", ".model", ".txt", ".py")


def _canonical(obj) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_jsonable)


def _jsonable(obj):
    try:
        import numpy as np

        if isinstance(obj, np.generic):
            return obj.item()
        if isinstance(obj, np.ndarray):
            return obj.tolist()
    except ImportError:  # pragma: no cover
        pass
    if hasattr(obj, "items"):
        return dict(obj.items())
    if isinstance(obj, (set, frozenset)):
        return sorted(obj)
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"cannot put {type(obj).__name__} into a cache key")


def make_key(parts: dict) -> str:
    """sha256 hex of the canonical JSON of ``parts`` (plus the schema version)."""
    return hashlib.sha256(_canonical({"schema": SCHEMA_VERSION, **parts}).encode("utf-8")).hexdigest()


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def is_deterministic(generation: dict) -> bool:
    """True for greedy single-answer settings (the only ones cached)."""
    temperature = generation.get("temperature") or 0.0
    return (float(temperature) == 0.0 and not generation.get("do_sample", False)
            and int(generation.get("n", 1) or 1) == 1)


_FINGERPRINTS: dict = {}


def folder_fingerprint(folder) -> str:
    """A content hash of a local checkpoint folder: config, tokenizer/processor files and weights.

    Memoised per process by (path, size, mtime) of each file.
    """
    folder = Path(folder)
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix in _WEIGHT_SUFFIXES)
    stat_key = (str(folder.resolve()), tuple((str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in files))
    if stat_key in _FINGERPRINTS:
        return _FINGERPRINTS[stat_key]
    h = hashlib.sha256()
    for p in files:
        rel = p.relative_to(folder).as_posix()
        if rel == "EMOPROBE_TINY.json":
            continue
        size = p.stat().st_size
        h.update(f"{rel}\0{size}\0".encode())
        with open(p, "rb") as f:
            if size <= FINGERPRINT_FULL_LIMIT:
                for chunk in iter(lambda: f.read(1 << 20), b""):
                    h.update(chunk)
            else:
                h.update(f.read(FINGERPRINT_EDGE))
                f.seek(size - FINGERPRINT_EDGE)
                h.update(f.read(FINGERPRINT_EDGE))
    digest = h.hexdigest()
    _FINGERPRINTS[stat_key] = digest
    return digest


def temporary_name(stem: str) -> str:
    """The name of a folder a process writes before renaming it into place: ``.tmp-<stem>-<pid>``."""
    return f".tmp-{stem}-{os.getpid()}"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def remove_orphans(folder) -> list[Path]:
    """Delete the ``temporary_name`` folders in ``folder`` whose process is gone (killed while writing);
    return them. Folders of live processes are left alone, so two writers never delete each other's work."""
    removed = []
    folder = Path(folder)
    if not folder.is_dir():
        return removed
    for p in folder.glob(".tmp-*-*"):
        pid = p.name.rpartition("-")[2]
        if p.is_dir() and pid.isdigit() and int(pid) != os.getpid() and not _alive(int(pid)):
            shutil.rmtree(p, ignore_errors=True)
            removed.append(p)
    return removed


def remove_orphan_files(folder, suffix: str = ".tmp") -> list[Path]:
    """Delete the files ``<name>.<pid><suffix>`` in ``folder`` whose writing process is gone (a checkpoint
    written beside its final name, then renamed into place, by a process killed in between); return them."""
    removed = []
    folder = Path(folder)
    for p in folder.glob(f"*{suffix}") if folder.is_dir() else ():
        pid = p.name[:-len(suffix)].rpartition(".")[2]
        if p.is_file() and pid.isdigit() and int(pid) != os.getpid() and not _alive(int(pid)):
            p.unlink(missing_ok=True)
            removed.append(p)
    return removed


def append_jsonl(path, records) -> int:
    """Append records durably: one ``write`` under an exclusive lock, then ``fsync``. Returns bytes written.

    If the file ends in a torn line (a crash mid-write), the new records start on a fresh line.
    """
    data = "".join(_canonical(r) + "\n" for r in records).encode("utf-8")
    if not data:
        return 0
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        size = os.fstat(fd).st_size
        if size and os.pread(fd, 1, size - 1) != b"\n":
            data = b"\n" + data
        os.write(fd, data)
        os.fsync(fd)
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
    return len(data)


def read_jsonl(path) -> tuple[list, int]:
    """(records, number of unreadable lines) of a JSONL file; a missing file is empty."""
    records, bad = [], 0
    path = Path(path)
    if not path.exists():
        return records, bad
    with open(path, "rb") as f:
        for line in f:
            if not line.strip():
                continue
            try:
                records.append(json.loads(line))
            except ValueError:
                bad += 1
    return records, bad


class ResponseCache:
    """Append-only JSONL store of responses by key. ``ResponseCache(path)`` creates nothing until used."""

    def __init__(self, path):
        self.path = path

    def _load(self):
        if getattr(self, "entries_", None) is not None:
            return
        self.entries_ = {}
        self.torn_lines_ = 0
        path = Path(self.path)
        if not path.exists():
            return
        records, self.torn_lines_ = read_jsonl(path)  # a torn line is a write cut short by a crash
        for rec in records:
            try:
                key, resp = rec["key"], rec["response"]
                resp["text"]
            except (KeyError, TypeError):
                self.torn_lines_ += 1
                continue
            self.entries_.setdefault(key, resp)

    def __len__(self):
        self._load()
        return len(self.entries_)

    def __contains__(self, key):
        self._load()
        return key in self.entries_

    def get(self, key) -> dict | None:
        """The stored response (a copy) or None."""
        self._load()
        hit = self.entries_.get(key)
        return None if hit is None else dict(hit)

    @staticmethod
    def cacheable(resp: dict, generation: dict | None = None) -> bool:
        if generation is not None and not is_deterministic(generation):
            return False
        text = resp.get("text")
        return resp.get("error") is None and isinstance(text, str) and bool(text.strip())

    def put(self, key, resp: dict, generation: dict | None = None, meta: dict | None = None) -> bool:
        """Store ``resp`` durably under ``key``; False (nothing written) when it must not be cached."""
        self._load()
        if not self.cacheable(resp, generation):
            return False
        if key in self.entries_:
            return True
        record = {"key": key, "response": resp}
        if meta:
            record["meta"] = meta
        append_jsonl(self.path, [record])
        self.entries_[key] = dict(resp)
        return True
