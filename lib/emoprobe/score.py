"""Score predictions made elsewhere: ``emoprobe score --predictions FILE --labels dfew``.

FILE is lmms-eval's ``--log_samples`` JSONL, a VLMEvalKit prediction file (emoprobe.harnesses), or a CSV with
one row per clip: an id, the true class and the prediction. A prediction may be a
ranked, comma-separated list (GPT-4V with Emotion writes "Neutral,Surprise,Fear,Sad,Angry"; Lian et al.,
arXiv 2312.04293, https://github.com/zeroQiaoba/gpt4v-emotion): its first item is scored, and top-k accuracy
is reported for k = 1..top_k. A prediction that is not a list is read by :func:`emoprobe.parse.parse`. Class
names are matched case-insensitively through the label set and its synonyms.

Two denominators, both reported because published numbers use either:

- ``answered``: rows with a non-empty prediction. A top-1 item outside the label set (GPT-4V sometimes says
  "Pain") counts as a wrong answer here, not as unanswered.
- ``all``: every clip, unanswered ones counted wrong. Clips that the prediction file simply leaves out are
  only known when the full ground truth is given (``--ground-truth``, e.g. GPT-4V's ``label.csv``); rows with
  an empty prediction are unanswered in any case.

Predicted-vs-true shares and the sink analysis (:func:`emoprobe.metrics.collapse_report`) are computed on
the answered rows.
"""

from __future__ import annotations

import json
import math
import re
import sys
from collections import Counter
from pathlib import Path

from emoprobe.labels import LABEL_SETS
from emoprobe.metrics import classification_report, collapse_report
from emoprobe.parse import PARSER_VERSION, match_label, parse

ID_COLUMNS = ("id", "name", "video_name", "video_id", "clip_id", "clip", "video", "sample", "filename")
LABEL_COLUMNS = ("label", "gt", "ground_truth", "true", "target", "emotion", "y_true")
PRED_COLUMNS = ("prediction", "pred", "predictions", "gpt4v", "predicted", "output", "response", "answer",
                "y_pred")

_LIST_SPLIT = re.compile(r"\s*[,;]\s*")


def resolve_labels(labels) -> list[str]:
    """A dataset name (``dfew``, ``mafw``, ``ferv39k``), a comma-separated string or a list of class names."""
    if isinstance(labels, str):
        if labels.lower() in LABEL_SETS:
            return list(LABEL_SETS[labels.lower()])
        names = [x.strip() for x in labels.split(",") if x.strip()]
        if len(names) < 2:
            raise ValueError(f"labels: {labels!r} is neither a dataset ({sorted(LABEL_SETS)}) nor a "
                             f"comma-separated list of at least two class names")
        return names
    return [str(x) for x in labels]


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or not str(value).strip()


def read_prediction(value, labels) -> tuple[list, str]:
    """(classes by rank, with None for items outside the set; how it was read) for one prediction cell."""
    if _missing(value):
        return [], "unanswered"
    text = str(value)
    items = [it for it in _LIST_SPLIT.split(text.strip()) if it.strip()]
    if len(items) >= 2 and all(len(it.split()) <= 3 for it in items):
        return [match_label(it, labels) for it in items], "ranked list"
    if len(items) == 1 and len(items[0].split()) <= 3:
        label = match_label(items[0], labels)
        if label is not None:
            return [label], "exact"
    out = parse(text, labels)
    return ([out["label"]] if out["outcome"] == "parsed" else [None]), f"parsed: {out['reason']}"


def _top_k(ranks, truths, k) -> float:
    hits = 0
    for ranked, truth in zip(ranks, truths):
        seen = list(dict.fromkeys(ranked))[:k] if ranked else []
        hits += truth in seen
    return hits / len(truths) if truths else float("nan")


def score_predictions(rows, labels, top_k: int = 3) -> dict:
    """Score rows of ``{"id", "label", "prediction"}`` (prediction None or "" = unanswered).

    Returns plain dicts: counts, ``all`` and ``answered`` classification reports (see
    :func:`emoprobe.metrics.classification_report`), ``top_k`` accuracies for both denominators, the collapse
    analysis of answered rows, and the out-of-set words that were ranked first.
    """
    labels = resolve_labels(labels)
    top_k = int(top_k)
    if top_k < 1:
        raise ValueError(f"top_k: expected a positive integer, got {top_k}")
    rows = list(rows)
    if not rows:
        raise ValueError("rows: no predictions to score")
    ids, truths, ranks, answered = [], [], [], []
    outside = Counter()
    for i, row in enumerate(rows):
        rid = row.get("id", i)
        truth = match_label(str(row.get("label", "")), labels)
        if truth is None:
            raise ValueError(f"row {rid!r}: unknown true class {row.get('label')!r}; expected one of {labels} "
                             "(or a synonym)")
        ranked, how = read_prediction(row.get("prediction"), labels)
        if ranked and ranked[0] is None:
            first = _LIST_SPLIT.split(str(row.get("prediction")).strip())[0].strip().lower()
            outside[first if how == "ranked list" else "(unparsed text)"] += 1
        ids.append(rid)
        truths.append(truth)
        ranks.append(ranked)
        answered.append(how != "unanswered")
    top1 = [r[0] if r else None for r in ranks]
    idx = [i for i, a in enumerate(answered) if a]
    ks = range(1, top_k + 1)
    out = {
        "labels": labels,
        "parser_version": PARSER_VERSION,
        "n_rows": len(rows),
        "n_answered": len(idx),
        "n_unanswered": len(rows) - len(idx),
        "n_top1_outside_labels": sum(outside.values()),
        "top1_outside_labels": dict(outside.most_common()),
        "all": classification_report(truths, top1, labels),
        "top_k": {"all": {f"top{k}": _top_k(ranks, truths, k) for k in ks}},
    }
    if idx:
        a_truth, a_top1, a_ranks = [truths[i] for i in idx], [top1[i] for i in idx], [ranks[i] for i in idx]
        out["answered"] = classification_report(a_truth, a_top1, labels)
        out["top_k"]["answered"] = {f"top{k}": _top_k(a_ranks, a_truth, k) for k in ks}
        out["collapse"] = collapse_report(a_truth, a_top1, labels)
    else:
        out["answered"] = None
        out["top_k"]["answered"] = None
        out["collapse"] = None
    return out


# --- CSV -------------------------------------------------------------------------------------------------------

def _pick(path, columns, given, candidates, what, flag):
    lower = {c.lower().strip(): c for c in columns}
    if given is not None:
        if given in columns:
            return given
        if given.lower() in lower:
            return lower[given.lower()]
        raise ValueError(f"{path}: no column {given!r} ({flag}); the file has columns {list(columns)}")
    for cand in candidates:
        if cand in lower:
            return lower[cand]
    raise ValueError(f"{path}: cannot find the {what} column; looked for {list(candidates)} among "
                     f"{list(columns)}; name it with {flag}")


def read_csv_rows(path, id_col=None, label_col=None, pred_col=None, need_prediction=True) -> list[dict]:
    """Rows ``{"id", "label", "prediction"}`` from a CSV (or ``;``/tab-separated file, as spreadsheets export
    them: emoprobe.tables), with auto-detected column names."""
    from emoprobe.tables import read_table

    path = Path(path)
    cols, rows = read_table(path, "predictions" if need_prediction else "ground truth")
    cid = _pick(path, cols, id_col, ID_COLUMNS, "clip id", "--id-col")
    clab = _pick(path, cols, label_col, LABEL_COLUMNS, "true label", "--label-col")
    cpred = _pick(path, cols, pred_col, PRED_COLUMNS, "prediction", "--pred-col") if need_prediction else None
    seen = {}
    for line, r in rows:
        if r[cid] in seen:
            raise ValueError(f"{path}: line {line}: clip id {r[cid]!r} in column {cid!r} already on line "
                             f"{seen[r[cid]]}; expected one row per clip")
        seen[r[cid]] = line
    return [{"id": r[cid], "label": r[clab], "prediction": (r[cpred] if cpred else None)} for _, r in rows]


def merge_ground_truth(pred_rows, truth_rows, labels, path="ground truth") -> list[dict]:
    """Every clip of ``truth_rows``, with its prediction (None when the prediction file leaves it out)."""
    labels = resolve_labels(labels)
    preds = {r["id"]: r for r in pred_rows}
    truth_ids = {r["id"] for r in truth_rows}
    extra = [i for i in preds if i not in truth_ids]
    if extra:
        raise ValueError(f"{path}: {len(extra)} predicted ids are missing from the ground truth, e.g. {extra[:5]}")
    merged = []
    for r in truth_rows:
        p = preds.get(r["id"])
        if p is not None and match_label(str(p["label"]), labels) != match_label(str(r["label"]), labels):
            raise ValueError(f"{path}: clip {r['id']!r} has label {r['label']!r} but the predictions file says "
                             f"{p['label']!r}")
        merged.append({"id": r["id"], "label": r["label"], "prediction": p["prediction"] if p else None})
    return merged


def score_file(predictions, labels, id_col=None, label_col=None, pred_col=None, top_k=3,
               ground_truth=None, fmt: str = "auto", doc_ids=None) -> dict:
    """Score a predictions file: a plain CSV, lmms-eval's ``--log_samples`` JSONL or a VLMEvalKit prediction
    file (``fmt``, detected by default; emoprobe.harnesses); ``doc_ids``: the clip ids of lmms-eval's
    documents, in order (a file, one per line)."""
    from emoprobe.harnesses import detect, read_rows

    rows = read_rows(predictions, fmt, doc_ids)
    if rows is None:
        rows = read_csv_rows(predictions, id_col, label_col, pred_col)
    if ground_truth is not None:
        truth = read_csv_rows(ground_truth, id_col, label_col, need_prediction=False)
        try:
            rows = merge_ground_truth(rows, truth, labels, path=str(ground_truth))
        except ValueError as e:
            if doc_ids is None and "missing from the ground truth" in str(e) and detect(predictions) == "lmms-eval":
                raise ValueError(f"{e}; lmms-eval's samples name clips by position (doc_id): give --doc-ids, "
                                 "the task's clip ids in order") from None
            raise
    labels = resolve_labels(labels)
    for r in rows:  # name the file in label errors
        if match_label(str(r["label"]), labels) is None:
            raise ValueError(f"{predictions}: clip {r['id']!r} has unknown true class {r['label']!r}; expected "
                             f"one of {labels}")
    out = score_predictions(rows, labels, top_k=top_k)
    out["predictions_file"] = str(predictions)
    out["format"] = fmt
    out["ground_truth_file"] = str(ground_truth) if ground_truth is not None else None
    return out


def format_summary(result: dict) -> str:
    """A short plain-text table of the scores (percentages)."""
    lines = [f"predictions: {result.get('predictions_file', '(rows)')}"
             + (f"   ground truth: {result['ground_truth_file']}" if result.get("ground_truth_file") else ""),
             f"classes: {', '.join(result['labels'])}",
             f"clips {result['n_rows']}, answered {result['n_answered']}, unanswered {result['n_unanswered']}, "
             f"top-1 outside the label set {result['n_top1_outside_labels']}"
             + (f" ({', '.join(f'{k}: {v}' for k, v in result['top1_outside_labels'].items())})"
                if result["top1_outside_labels"] else "")]
    ks = list(result["top_k"]["all"])
    head = f"{'':16}{'n':>7}{'WAR':>8}{'UAR':>8}{'macroF1':>9}" + "".join(f"{k:>8}" for k in ks[1:])
    lines.append(head)
    for name in ("all", "answered"):
        rep = result[name]
        if rep is None:
            continue
        title = "all clips" if name == "all" else "answered only"
        lines.append(f"{title:16}{rep['n']:>7}{100 * rep['war']:>8.2f}{100 * rep['uar']:>8.2f}"
                     f"{100 * rep['macro_f1']:>9.2f}"
                     + "".join(f"{100 * result['top_k'][name][k]:>8.2f}" for k in ks[1:]))
    if result["collapse"] is not None:
        lines.append("answered: predicted share vs true share, recall")
        for label, s in result["collapse"]["shares"].items():
            rec = result["answered"]["per_class"][label]["recall"]
            lines.append(f"  {label:16}{100 * s['predicted_share']:6.1f}% vs {100 * s['true_share']:5.1f}%"
                         f"   recall {100 * rec:5.1f}")
    return "\n".join(lines)


def _run(args) -> int:
    try:
        result = score_file(args.predictions, args.labels, id_col=args.id_col, label_col=args.label_col,
                            pred_col=args.pred_col, top_k=args.top_k, ground_truth=args.ground_truth,
                            fmt=args.format, doc_ids=args.doc_ids)
    except (ValueError, OSError) as err:
        print(f"emoprobe score: error: {err}", file=sys.stderr)
        return 2
    print(format_summary(result))
    if args.json:
        try:
            Path(args.json).parent.mkdir(parents=True, exist_ok=True)
            Path(args.json).write_text(json.dumps(result, indent=1, allow_nan=False) + "\n")
        except OSError as err:
            print(f"emoprobe score: error: --json {args.json}: cannot write it ({err.strerror or err})", file=sys.stderr)
            return 2
        print(f"wrote {args.json}")
    return 0


def add_command(subparsers):
    p = subparsers.add_parser("score", help="score a CSV of predictions (id, label, prediction) made elsewhere",
                              description="Score a CSV of predictions made elsewhere (id, true label, prediction; a "
                                          "prediction may be a ranked comma-separated list).")
    p.add_argument("--predictions", required=True,
                   help="CSV with an id, a true label and a prediction column; or lmms-eval's --log_samples JSONL; "
                        "or a VLMEvalKit prediction file (.xlsx, .tsv, .csv)")
    from emoprobe.harnesses import FORMATS

    p.add_argument("--format", default="auto", choices=list(FORMATS),
                   help="how to read --predictions (default: detected from the file)")
    p.add_argument("--labels", required=True,
                   help=f"dataset ({', '.join(sorted(LABEL_SETS))}) or a comma-separated list of class names")
    p.add_argument("--ground-truth", default=None,
                   help="CSV with every clip's id and label: clips absent from --predictions count as unanswered")
    p.add_argument("--doc-ids", default=None,
                   help="lmms-eval only: a file with the clip id of every document of the task, one per line in "
                        "the task's order (its samples name clips by position, doc_id); needed for --ground-truth")
    p.add_argument("--id-col", default=None, help=f"id column (default: first of {', '.join(ID_COLUMNS)})")
    p.add_argument("--label-col", default=None, help=f"true label column (default: first of "
                                                     f"{', '.join(LABEL_COLUMNS)})")
    p.add_argument("--pred-col", default=None, help=f"prediction column (default: first of "
                                                    f"{', '.join(PRED_COLUMNS)})")
    p.add_argument("--top-k", type=int, default=3, help="report top-1 .. top-k accuracy (default 3)")
    p.add_argument("--json", default=None, help="also write every score as JSON to this file")
    p.set_defaults(func=_run)
    return p
