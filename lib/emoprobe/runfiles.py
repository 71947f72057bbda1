"""The files of an evaluation run, and where its clips come from.

``predictions.jsonl`` holds one row per clip (emoprobe.rows: every field needed to rescore), appended and
fsync-ed batch by batch; the last row of a clip counts, a torn last line is ignored. ``summary.json`` holds the
counts, metrics and provenance. Clips come from a dataset loader (emoprobe.data.load) or a manifest.
"""

from __future__ import annotations

import datetime as _dt
import time
from pathlib import Path

from emoprobe.cache import read_jsonl

__all__ = ["PREDICTIONS", "SUMMARY", "read_manifest", "load_records", "read_predictions", "field", "run_summary"]

PREDICTIONS = "predictions.jsonl"
SUMMARY = "summary.json"


def read_manifest(path) -> list[dict]:
    """Clip records from a JSONL or CSV manifest with at least ``id``, ``path``, ``label`` columns.

    Relative paths are resolved against the manifest's folder.
    """
    path = Path(path)
    if not path.exists():
        raise ValueError(f"manifest {path}: file not found")
    if path.suffix.lower() in (".jsonl", ".json"):
        rows, bad = read_jsonl(path)
        if bad:
            raise ValueError(f"manifest {path}: {bad} line(s) are not valid JSON")
    elif path.suffix.lower() in (".csv", ".tsv"):
        from emoprobe.tables import read_table

        rows = [r for _, r in read_table(path, "manifest")[1]]
    else:
        raise ValueError(f"manifest {path}: expected a .jsonl or .csv file")
    if not rows:
        raise ValueError(f"manifest {path}: no clips; expected one row per clip with id, path and label")
    out, seen = [], {}
    for i, row in enumerate(rows):
        missing = [k for k in ("id", "path", "label") if not row.get(k) and row.get(k) != 0]
        if missing:
            raise ValueError(f"manifest {path}: row {i + 1} lacks {missing}; expected columns id, path, label")
        cid = str(row["id"])
        if cid in seen:
            raise ValueError(f"manifest {path}: row {i + 1}: clip id {cid!r} already in row {seen[cid]}; expected "
                             "each clip once")
        seen[cid] = i + 1
        rec = dict(row)
        rec["id"] = str(rec["id"])
        p = Path(str(rec["path"]))
        rec["path"] = str(p if p.is_absolute() else (path.parent / p))
        out.append(rec)
    return out


def load_records(data=None, root=None, split="test", fold=None, manifest=None, missing="skip") -> list:
    """Records from a dataset loader (``emoprobe.data.load(name, root, split, fold)``) or a manifest.

    ``missing="keep"`` keeps clips listed but absent on disk (``exists`` False), so a run can count them."""
    if manifest is not None:
        return read_manifest(manifest)
    if data is None:
        raise ValueError("give a dataset (--data NAME --root DIR) or a manifest (--manifest FILE)")
    from emoprobe.data import load
    from emoprobe.sources import resolve_root

    if root is None:
        raise ValueError(f"dataset {data!r}: give its root folder (--root DIR)")
    return list(load(data, resolve_root(root), split, fold, missing=missing))


def field(rec, key, default=None):
    """A field of a clip record (a dict or an object with attributes)."""
    if isinstance(rec, dict):
        return rec.get(key, default)
    if hasattr(rec, "get"):
        try:
            return rec.get(key, default)
        except TypeError:
            pass
    return getattr(rec, key, default)


def read_predictions(path) -> dict:
    """Rows of a predictions file by clip id; the last row of a clip wins; torn lines are skipped."""
    rows, _ = read_jsonl(path)
    out = {}
    for row in rows:
        if isinstance(row, dict) and "id" in row:
            out[str(row["id"])] = row
    return out


def run_summary(pred_path, ids, prov: dict, started: float, calls: int, hits: int, cache_path) -> dict:
    """``summary.json``: the provenance block, counts of rows, outcomes and failures, and the metrics."""
    from emoprobe.metrics import classification_report

    rows_by_id = read_predictions(pred_path)
    rows = [rows_by_id[i] for i in ids if i in rows_by_id]
    outcomes: dict = {}
    for r in rows:
        outcomes[r.get("outcome")] = outcomes.get(r.get("outcome"), 0) + 1
    video_errors = [{"id": r["id"], "error": r["error"]} for r in rows if r.get("error_kind") == "video"]
    missing_on_disk = [r["id"] for r in rows if r.get("error_kind") == "missing"]
    backend_errors = [{"id": r["id"], "error": r["error"]} for r in rows if r.get("error_kind") == "backend"]
    scored = [r for r in rows if not r.get("error")]
    frames = [len(r.get("frame_indices") or []) for r in scored]
    counts = {"records": len(ids), "rows": len(rows), "missing": len(ids) - len(rows), "scored": len(scored),
              "outcomes": outcomes, "missing_on_disk": len(missing_on_disk), "video_errors": len(video_errors),
              "backend_errors": len(backend_errors),
              "unparsed": outcomes.get("unparsed", 0) + outcomes.get("empty", 0), "refused": outcomes.get("refused", 0),
              # complete: every listed clip was decoded and answered (unreadable answers still count as answers)
              "complete": len(scored) == len(ids),
              "model_calls_this_run": calls, "cache_hits_this_run": hits,
              "mean_frames": (sum(frames) / len(frames)) if frames else None}
    metrics, metrics_error = None, None
    if scored:
        try:
            y_pred = [r.get("prediction") if r.get("outcome") == "parsed" else None for r in scored]
            metrics = classification_report([str(r["label"]) for r in scored], y_pred, prov["labels"])
        except ValueError as e:
            metrics_error = str(e)
    return {
        **prov, "pixel_budget": {"family": prov["budget_family"], "video_kwargs": prov["model"].get("video_kwargs"),
                                 "image_kwargs": prov["model"].get("image_kwargs")},
        "cache": {"path": cache_path, "used": cache_path is not None},
        "predictions": str(pred_path), "counts": counts, "missing_on_disk": missing_on_disk,
        "video_errors": video_errors,
        "backend_errors": backend_errors, "metrics": metrics, "metrics_error": metrics_error,
        "started": _dt.datetime.fromtimestamp(started, _dt.timezone.utc).isoformat(timespec="seconds"),
        "elapsed_s": round(time.time() - started, 3),
    }
