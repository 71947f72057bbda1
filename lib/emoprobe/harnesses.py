"""Predictions written by other evaluation harnesses, read as rows ``{"id", "label", "prediction"}`` for scoring.

- **lmms-eval** (``--log_samples``): ``<date>_samples_<task>.jsonl``, one object per document as the harness's
  ``EvaluationTracker.save_results_samples`` writes it (lmms_eval/loggers/evaluation_tracker.py at commit
  0716c69, EvolvingLMMs-Lab/lmms-eval): ``doc_id``, ``target`` (the true answer, as a string), ``input`` (the
  prompt), ``filtered_resps`` (the answers after the task's filters; ``resps``, the raw ones, only when they
  differ), hashes and the task's metrics; the document itself (``doc``) is dropped. So the file names a clip
  only by ``doc_id``, its position in the task's dataset: ``doc_ids`` (a file with one clip id per line, in that
  order) gives the clip names, which ``--ground-truth`` needs; a ``doc`` that does carry a clip name (older
  releases and in-memory logs keep it) is used. Older releases also wrote one JSON object per task with the
  samples under ``"logs"``; that layout is read too. An option letter (``B``, ``(B)``) in the target or the
  answer is mapped to that option's text as the prompt (``input``) lists it (``A. happy`` or ``(A) happy``).
- **VLMEvalKit**: the prediction file a run leaves in its work folder (``<model>_<dataset>.xlsx``, ``.tsv`` or
  ``.csv``): the dataset's table (``index``, ``question``, ``answer``, and the options: one column per letter in
  its image MCQ datasets, a ``candidates`` list in its video ones such as MVBench) with the model's raw output
  added as ``prediction`` (vlmeval/inference_video.py and vlmeval/dataset/MVBench.py, open-compass/VLMEvalKit).
  A letter answer is mapped to its option's text, for the truth and the prediction alike.

A free-text prediction goes to emoprobe.parse as any other, and both then go through the same scoring as a
plain CSV (emoprobe.score).
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

__all__ = ["FORMATS", "detect", "read_doc_ids", "read_lmms_eval", "read_vlmevalkit", "read_rows"]

FORMATS = ("auto", "csv", "lmms-eval", "vlmevalkit")
_DOC_IDS = ("video_name", "video_id", "video", "clip_id", "id", "name")
_LETTER = re.compile(r"^\(?([A-Z])\)?[.:)]?$")
# an option line of a prompt: "A. happy", "(A) happy", "A) happy", "A: happy"
_OPTION_LINE = re.compile(r"^\s*\(?([A-Z])[.):]\)?\s+(\S.*?)\s*$", re.MULTILINE)


def _first_text(x):
    """The first string inside nested lists (lmms-eval keeps one list per request, one item per repeat)."""
    while isinstance(x, (list, tuple)):
        if not x:
            return None
        x = x[0]
    return None if x is None else str(x)


def _option(text, options: dict):
    """A letter answer's option text, when ``options`` has that letter; else the text itself."""
    if text is None:
        return None
    m = _LETTER.match(str(text).strip())
    if m and str(options.get(m.group(1), "")).strip():
        return str(options[m.group(1)]).strip()
    return text


def _prompt_options(prompt) -> dict:
    """The lettered options a prompt lists, when it lists at least two in order (A, B, ...)."""
    found = dict(_OPTION_LINE.findall(prompt)) if isinstance(prompt, str) else {}
    letters = [chr(ord("A") + i) for i in range(len(found))]
    return found if len(found) >= 2 and sorted(found) == letters else {}


def read_doc_ids(path) -> list[str]:
    """Clip ids in a task's document order, one per line (blank lines ignored): doc_id k is line k + 1."""
    path = Path(path)
    try:
        ids = [line.strip() for line in path.read_text(encoding="utf-8-sig").splitlines() if line.strip()]
    except OSError as e:
        raise ValueError(f"doc ids {path}: cannot read it ({e.strerror or e})") from None
    if not ids:
        raise ValueError(f"doc ids {path}: empty; expected one clip id per line, in the task's document order")
    dup = next((i for n, i in enumerate(ids) if i in ids[:n]), None)
    if dup is not None:
        raise ValueError(f"doc ids {path}: clip {dup!r} is listed twice; expected each clip once")
    return ids


def _lmms_samples(path: Path):
    """(line or position, sample) pairs of a JSONL file, or of an older release's ``{"logs": [...]}`` file."""
    text = path.read_text(encoding="utf-8-sig")
    try:
        whole = json.loads(text)
    except json.JSONDecodeError:
        whole = None
    if isinstance(whole, dict) and isinstance(whole.get("logs"), list):
        return [(f"sample {n}", obj) for n, obj in enumerate(whole["logs"], 1)]
    out = []
    for line_no, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            out.append((f"line {line_no}", json.loads(line)))
        except json.JSONDecodeError as e:
            raise ValueError(f"{path}: line {line_no} is not JSON ({e.msg}); expected one lmms-eval sample "
                             "per line (--log_samples)") from None
    return out


def read_lmms_eval(path, doc_ids=None) -> list[dict]:
    """Rows of an lmms-eval samples file; ``doc_ids`` (a list, or a file read by ``read_doc_ids``) names the
    clip of every ``doc_id``."""
    path = Path(path)
    if doc_ids is not None and not isinstance(doc_ids, (list, tuple)):
        doc_ids = read_doc_ids(doc_ids)
    rows, seen = [], {}
    for where, obj in _lmms_samples(path):
        if not isinstance(obj, dict) or "target" not in obj or not ("filtered_resps" in obj or "resps" in obj):
            raise ValueError(f"{path}: {where}: expected an lmms-eval sample with 'target' and "
                             f"'filtered_resps' (or 'resps'), got keys {sorted(obj) if isinstance(obj, dict) else obj!r}")
        doc = obj.get("doc") if isinstance(obj.get("doc"), dict) else {}
        cid = next((str(doc[k]) for k in _DOC_IDS if doc.get(k) not in (None, "")), None)
        if cid is None and doc_ids is not None:
            k = obj.get("doc_id")
            if not isinstance(k, int) or not 0 <= k < len(doc_ids):
                raise ValueError(f"{path}: {where}: doc_id {k!r} is not a position in the {len(doc_ids)} doc ids "
                                 "given; expected the ids of every document of the task, in its order")
            cid = doc_ids[k]
        cid = cid if cid is not None else str(obj.get("doc_id", where))
        if cid in seen:
            raise ValueError(f"{path}: {where}: clip {cid!r} already at {seen[cid]}; expected one sample per clip")
        seen[cid] = where
        pred = _first_text(obj.get("filtered_resps")) if obj.get("filtered_resps") else _first_text(obj.get("resps"))
        options = _prompt_options(_first_text(obj.get("input")))  # the prompt: a string, or a request's args
        rows.append({"id": cid, "label": _option(_first_text(obj["target"]) or "", options),
                     "prediction": _option(pred, options)})
    if not rows:
        raise ValueError(f"{path}: no samples; expected lmms-eval's --log_samples JSONL")
    return rows


def _table(path: Path):
    import pandas as pd

    kw = {"dtype": str, "keep_default_na": False}
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xls"):
        return pd.read_excel(path, **kw)
    # pandas' reader: VLMEvalKit writes raw generations, which may hold newlines inside quoted fields.
    # index_col=False: a spreadsheet's trailing separator on every row must not turn the first column into the
    # index (every column would shift by one); the empty column it adds is dropped
    table = pd.read_csv(path, sep="\t" if suffix == ".tsv" else None, engine="python", encoding="utf-8-sig",
                        index_col=False, **kw)
    empty = [c for c in table.columns if str(c).startswith("Unnamed:") and not table[c].str.strip().any()]
    return table.drop(columns=empty)


def _row_options(row: dict) -> dict:
    """A VLMEvalKit row's options by letter: its A, B, ... columns, or its ``candidates`` list (video MCQ)."""
    letters = {k: row[k] for k in row if len(str(k)) == 1 and "A" <= str(k) <= "Z" and str(row[k]).strip()}
    if letters or not str(row.get("candidates", "")).strip():
        return letters
    try:
        cands = ast.literal_eval(str(row["candidates"]))
    except (ValueError, SyntaxError):
        return {}
    return {chr(ord("A") + i): str(c) for i, c in enumerate(cands)} if isinstance(cands, (list, tuple)) else {}


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
        options = _row_options(row)
        rows.append({"id": cid, "label": _option(row["answer"], options),
                     "prediction": _option(row["prediction"], options)})
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


def read_rows(path, fmt: str = "auto", doc_ids=None):
    """Rows of a harness's file (``fmt`` one of ``FORMATS``; None for a plain CSV, read by emoprobe.score);
    ``doc_ids`` names lmms-eval's documents (``read_lmms_eval``)."""
    if fmt not in FORMATS:
        raise ValueError(f"format: expected one of {FORMATS}, got {fmt!r}")
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"predictions {path}: no such file")
    fmt = detect(path) if fmt == "auto" else fmt
    if doc_ids is not None and fmt != "lmms-eval":
        raise ValueError(f"doc ids: only lmms-eval's files name clips by position; {path} is read as {fmt}")
    if fmt == "lmms-eval":
        return read_lmms_eval(path, doc_ids)
    return read_vlmevalkit(path) if fmt == "vlmevalkit" else None
