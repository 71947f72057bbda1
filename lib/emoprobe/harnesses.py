"""Predictions written by other evaluation harnesses, read as rows ``{"id", "label", "prediction"}`` for scoring.

- **lmms-eval** (``--log_samples``): a JSONL file, one object per document with ``doc_id``, the ``doc``'s
  fields, ``target`` (the true answer), ``resps`` (the raw generations) and ``filtered_resps`` (after the
  task's filters), as the harness's evaluator writes them (lmms_eval/evaluator.py, EvolvingLMMs-Lab/lmms-eval).
  The prediction is the first filtered response (the raw one when no filter ran); the id is ``doc_id``, or
  the document's own clip name when it has one.
- **VLMEvalKit**: the prediction file a run leaves in its work folder (``<model>_<dataset>.xlsx``, ``.tsv`` or
  ``.csv``): the dataset's table (``index``, ``question``, ``answer``, for multiple choice one column per
  option letter) with the model's raw output added as ``prediction`` (vlmeval/inference_video.py,
  open-compass/VLMEvalKit). A letter answer (``B``, ``(B)``, ``B.``) is mapped to the text of its option
  column, for the truth and the prediction alike; a free-text prediction goes to emoprobe.parse as any other.

Both then go through the same scoring as a plain CSV (emoprobe.score).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

__all__ = ["FORMATS", "detect", "read_lmms_eval", "read_vlmevalkit", "read_rows"]

FORMATS = ("auto", "csv", "lmms-eval", "vlmevalkit")
_DOC_IDS = ("video_name", "video_id", "video", "clip_id", "id", "name")
_LETTER = re.compile(r"^\(?([A-Z])\)?[.:)]?$")


def _first_text(x):
    """The first string inside nested lists (lmms-eval keeps one list per request, one item per repeat)."""
    while isinstance(x, (list, tuple)):
        if not x:
            return None
        x = x[0]
    return None if x is None else str(x)


def read_lmms_eval(path) -> list[dict]:
    path = Path(path)
    rows, seen = [], {}
    with open(path, encoding="utf-8-sig") as f:
        for line_no, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as e:
                raise ValueError(f"{path}: line {line_no} is not JSON ({e.msg}); expected one lmms-eval sample "
                                 "per line (--log_samples)") from None
            if not isinstance(obj, dict) or "target" not in obj or not ("filtered_resps" in obj or "resps" in obj):
                raise ValueError(f"{path}: line {line_no}: expected an lmms-eval sample with 'target' and "
                                 f"'filtered_resps' (or 'resps'), got keys {sorted(obj) if isinstance(obj, dict) else obj!r}")
            doc = obj.get("doc") if isinstance(obj.get("doc"), dict) else {}
            cid = next((str(doc[k]) for k in _DOC_IDS if doc.get(k) not in (None, "")), str(obj.get("doc_id", line_no)))
            if cid in seen:
                raise ValueError(f"{path}: line {line_no}: clip {cid!r} already on line {seen[cid]}; expected one "
                                 "sample per clip")
            seen[cid] = line_no
            pred = _first_text(obj.get("filtered_resps")) if obj.get("filtered_resps") else _first_text(obj.get("resps"))
            rows.append({"id": cid, "label": _first_text(obj["target"]) or "", "prediction": pred})
    if not rows:
        raise ValueError(f"{path}: no samples; expected lmms-eval's --log_samples JSONL")
    return rows


def _table(path: Path):
    import pandas as pd

    kw = {"dtype": str, "keep_default_na": False}
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xls"):
        return pd.read_excel(path, **kw)
    # pandas' reader: VLMEvalKit writes raw generations, which may hold newlines inside quoted fields
    return pd.read_csv(path, sep="\t" if suffix == ".tsv" else None, engine="python", encoding="utf-8-sig", **kw)


def _option(text, row: dict):
    """A letter answer's option text, when the row has that option's column; else the text itself."""
    m = _LETTER.match(str(text).strip())
    if m and str(row.get(m.group(1), "")).strip():
        return str(row[m.group(1)]).strip()
    return text


def read_vlmevalkit(path) -> list[dict]:
    path = Path(path)
    try:
        table = _table(path)
    except (ValueError, OSError, ImportError) as e:
        raise ValueError(f"{path}: cannot read it as a VLMEvalKit prediction file ({e})") from None
    missing = [c for c in ("index", "answer", "prediction") if c not in table.columns]
    if missing:
        raise ValueError(f"{path}: expected VLMEvalKit's columns index, answer and prediction; missing {missing} "
                         f"among {list(table.columns)}")
    rows, seen = [], {}
    for n, row in enumerate(table.to_dict("records"), 2):  # line 1 is the header
        cid = str(row.get("video") or row["index"])
        if cid in seen:
            raise ValueError(f"{path}: row {n}: clip {cid!r} already in row {seen[cid]}; expected one row per clip")
        seen[cid] = n
        rows.append({"id": cid, "label": _option(row["answer"], row), "prediction": _option(row["prediction"], row)})
    return rows


def detect(path) -> str:
    """The format of a predictions file: ``lmms-eval``, ``vlmevalkit`` or ``csv``."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".json"):
        return "lmms-eval"
    if suffix in (".xlsx", ".xls"):
        return "vlmevalkit"
    with open(path, encoding="utf-8-sig", errors="replace") as f:
        header = f.readline().strip().lower()
    cols = {c.strip().strip('"') for c in re.split(r"[\t,;]", header)}
    return "vlmevalkit" if {"index", "answer", "prediction"} <= cols else "csv"


def read_rows(path, fmt: str = "auto"):
    """Rows of a harness's file (``fmt`` one of ``FORMATS``; None for a plain CSV, read by emoprobe.score)."""
    if fmt not in FORMATS:
        raise ValueError(f"format: expected one of {FORMATS}, got {fmt!r}")
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"predictions {path}: no such file")
    fmt = detect(path) if fmt == "auto" else fmt
    return {"lmms-eval": read_lmms_eval, "vlmevalkit": read_vlmevalkit}.get(fmt, lambda p: None)(path)
