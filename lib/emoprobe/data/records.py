"""What the dataset loaders share: clip records, list-file parsing, label mapping and missing-clip policy.

A clip record is a plain dict:
``id`` (DFEW/MAFW: "00025"; FERV39k: "Scene/Emotion/NNNN"), ``path`` (an mp4 file or a frame folder that
`emoprobe.video.clip_info` / `read_frames` open; for a missing clip kept with missing="keep", the path where it
was expected), ``exists``, ``label`` (canonical class name, emoprobe.labels), ``dataset``, ``fold`` (1..5, or
None for FERV39k), ``split`` ("train"/"test"), ``num_frames`` (when the list gives it, else None),
``list_file`` (where the clip was listed) and ``meta`` (the clip's probe_meta.jsonl row for synthetic
data, else None).

Missing clips: lists name clips that are sometimes absent on disk (face detection failed, a partial
download). The default, ``missing="skip"``, drops them and emits one `MissingClipsWarning` naming how many
and which ids, so a long run proceeds and the gap is visible in its log; ``"error"`` raises
FileNotFoundError; ``"keep"`` keeps them with ``exists=False`` (enough to score predictions made elsewhere).
"""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path

from emoprobe.labels import id_to_name, label_set

MISSING_POLICIES = ("skip", "error", "keep")
SPLITS = ("train", "test")
META_FILE = "probe_meta.jsonl"


class MissingClipsWarning(UserWarning):
    """Some clips named in a split/list file are not on disk and were skipped."""


def check_root(root, dataset) -> Path:
    if root is None:
        raise FileNotFoundError(f"{dataset}: no dataset root given; expected the folder of the {dataset} release")
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"{dataset}: dataset root {root} does not exist or is not a folder")
    return root


def check_split(split, fold, folds, dataset):
    if split not in SPLITS:
        raise ValueError(f"{dataset}: split must be one of {SPLITS}, got {split!r}")
    if folds is None:
        if fold not in (None,):
            raise ValueError(f"{dataset}: has one official train/test split and no folds; pass fold=None, got {fold!r}")
        return
    if not isinstance(fold, (int,)) or not 1 <= fold <= folds:
        raise ValueError(f"{dataset}: fold must be an int in 1..{folds}, got {fold!r}")


def check_missing(missing):
    if missing not in MISSING_POLICIES:
        raise ValueError(f"missing: expected one of {MISSING_POLICIES}, got {missing!r}")


def find_file(root, candidates, what) -> Path:
    """The first existing candidate (relative to root unless absolute), else an error naming all of them."""
    paths = [Path(c) if os.path.isabs(c) else Path(root) / c for c in candidates]
    for p in paths:
        if p.is_file():
            return p
    expected = " or ".join(str(p) for p in paths)
    raise FileNotFoundError(f"{what}: expected {expected}; not found")


def read_lines(path):
    """Non-empty lines with their 1-based line numbers (tolerates a UTF-8 BOM and Windows line ends)."""
    try:
        with open(path, encoding="utf-8-sig") as f:
            lines = f.read().splitlines()
    except UnicodeDecodeError as e:
        raise ValueError(f"{path}: not UTF-8 text ({e.reason} at byte {e.start}); expected the dataset's split "
                         "file as text") from None
    for i, line in enumerate(lines, 1):
        line = line.strip()
        if line:
            yield i, line


def name_label(dataset, name, file, line_no) -> str:
    key = name.strip().lower()
    names = label_set(dataset)
    if key not in names:
        raise ValueError(f"{file}:{line_no}: unknown {dataset} class {name!r}; expected one of {list(names)}")
    return key


def id_label(dataset, order, value, file, line_no) -> str:
    if not str(value).strip().lstrip("-").isdigit():
        from emoprobe.labels import ID_ORDERS, first_id

        names, lo = ID_ORDERS[dataset][order], first_id(dataset, order)
        raise ValueError(f"{file}:{line_no}: expected an integer label id ({lo}..{lo + len(names) - 1}, the "
                         f"{order} order: {', '.join(f'{lo + k}={n}' for k, n in enumerate(names))}), got {value!r}")
    try:
        return id_to_name(dataset, order, int(value))
    except ValueError as e:
        raise ValueError(f"{file}:{line_no}: {e}") from None


def parse_list_line(line, fmt, file, line_no):
    """A derived list line -> (listed path, num_frames or None, label id). Formats: 'path num_frames label'
    (DFER-CLIP, Former-DFER) or 'path label' (MAE-DFER); split on whitespace, commas or semicolons (quotes and a
    spreadsheet's trailing separator are dropped)."""
    from emoprobe.tables import split_line

    parts = [p for field in split_line(line) for p in field.split()]
    want = 3 if fmt == "dfer-clip" else 2
    if len(parts) != want or not parts[-1].lstrip("-").isdigit():
        shape = "<path> <num_frames> <label0>" if want == 3 else "<path> <label0>"
        raise ValueError(f"{file}:{line_no}: expected a {fmt} line {shape!r}, got {line!r}")
    num = int(parts[1]) if want == 3 else None
    return parts[0], num, parts[-1]


def check_truth(truths, labels) -> None:
    """``(clip id, true label)`` pairs must name one of ``labels`` (at least two classes): a typo in a manifest
    would otherwise run the model and then fail to score."""
    if len(set(labels)) < 2:
        raise ValueError(f"labels: expected at least two classes to choose from, got {list(labels)}")
    wrong = [(i, lab) for i, lab in truths if lab not in labels]
    if wrong:
        shown = ", ".join(f"{i}: {lab!r}" for i, lab in wrong[:5]) + (" ..." if len(wrong) > 5 else "")
        raise ValueError(f"records: {len(wrong)} clips have a true label that is not one of the classes "
                         f"{list(labels)} ({shown}); fix the labels or pass the classes (--labels)")


def check_new(seen: dict, clip_id: str, file, line_no: int) -> None:
    """A clip listed twice in a split file is an error naming both lines (results are keyed by clip id)."""
    if clip_id in seen:
        raise ValueError(f"{file}:{line_no}: clip {clip_id!r} is listed again (first on line {seen[clip_id]}); "
                         "expected each clip once")
    seen[clip_id] = line_no


def read_meta(root) -> dict:
    """id -> probe_meta.jsonl row, if the dataset was generated by emoprobe (else empty)."""
    p = Path(root) / META_FILE
    if not p.is_file():
        return {}
    out = {}
    for i, line in read_lines(p):
        row = json.loads(line)
        out[str(row["id"])] = row
    return out


def resolve(listed, root, clip_id, clip_dirs):
    """Where a listed clip is on disk: the listed path (absolute, or relative to root), else `<dir>/<id>` or
    `<dir>/<id>.mp4` in the first of `clip_dirs` that has it. Returns (path, exists)."""
    tried = []
    if listed:
        p = Path(listed)
        for q in ((p,) if p.is_absolute() else (Path(root) / p,)):
            if q.exists():
                return str(q), True
            tried.append(q)
    for d in clip_dirs:
        for q in (d / clip_id, d / f"{clip_id}.mp4"):
            if q.exists():
                return str(q), True
            tried.append(q)
    return (str(tried[-1 if not listed else 0]) if tried else str(Path(root) / clip_id)), False


def existing_dirs(root, names, override=None):
    """The clip folders to search: `override` alone if given (relative to root unless absolute), else those of
    `names` that exist under root."""
    if override is not None:
        d = Path(override) if os.path.isabs(override) else Path(root) / override
        if not d.is_dir():
            raise FileNotFoundError(f"clips_dir {d} does not exist")
        return [d]
    return [Path(root) / n for n in names if (Path(root) / n).is_dir()]


def record(clip_id, path, exists, label, dataset, fold, split, num_frames, list_file, meta) -> dict:
    return {"id": clip_id, "path": path, "exists": exists, "label": label, "dataset": dataset, "fold": fold,
            "split": split, "num_frames": num_frames, "list_file": str(list_file), "meta": meta}


def apply_missing(records, missing, list_file, root, clip_dirs=None):
    if not records:  # an empty or header-only split file would otherwise be a run over no clips that "passes"
        raise ValueError(f"{list_file}: no clips listed; expected one line per clip after the header")
    absent = [r["id"] for r in records if not r["exists"]]
    if records and len(absent) == len(records):
        # nothing at all on disk: a wrong root or clip folder, not a few lost clips
        where = ", ".join(str(d) for d in clip_dirs) if clip_dirs else "no clip folder found under the root"
        raise FileNotFoundError(f"none of the {len(records)} clips listed in {list_file} is on disk under {root} "
                                f"(clip folders searched: {where}); expected the dataset's clip folder")
    if not absent or missing == "keep":
        return records
    shown = ", ".join(absent[:20]) + (" ..." if len(absent) > 20 else "")
    msg = (f"{len(absent)} of {len(records)} clips listed in {list_file} are not on disk under {root} "
           f"(ids: {shown})")
    if missing == "error":
        raise FileNotFoundError(msg + "; pass missing='skip' to leave them out")
    warnings.warn(MissingClipsWarning(msg + "; skipped"), stacklevel=3)
    return [r for r in records if r["exists"]]
