"""The run loop: clips -> sampler -> frames -> VLM (cached) -> parser -> one JSONL row per clip + a summary.

``evaluate(records, sampler, model, prompt, ..., out_dir)`` writes ``predictions.jsonl`` (every field needed
to rescore without rerunning the model: frame indices, timestamps, prompt id and hash, class order, raw
output, parsed label with outcome and reason) and ``summary.json`` (full provenance and metrics). The same
run from the command line is ``emoprobe eval``.

Resume and crash safety: rows are appended and fsync-ed batch by batch, so a killed run keeps every finished
row; rerunning skips the clips already in ``predictions.jsonl`` (a torn last line is ignored). Clips whose
call failed (server down) are retried on the next run, and the latest row of a clip is the one that counts.
The response cache (`emoprobe.cache`) additionally makes a *new* run with identical settings free.
A clip that cannot be decoded (`emoprobe.video.VideoError`) is recorded with its error and listed in the
summary; it does not stop the run.
"""

from __future__ import annotations

import csv
import datetime as _dt
import inspect
import json
import os
import platform
import sys
import time
from pathlib import Path

from emoprobe.cache import ResponseCache, append_jsonl, is_deterministic, make_key, read_jsonl, text_hash

__all__ = ["evaluate", "load_records", "read_manifest", "read_predictions", "add_command", "git_revision"]

PREDICTIONS = "predictions.jsonl"
SUMMARY = "summary.json"


# -------------------------------------------------------------------------------------------------- input

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
        with open(path, newline="") as f:
            rows = list(csv.DictReader(f, delimiter="\t" if path.suffix.lower() == ".tsv" else ","))
    else:
        raise ValueError(f"manifest {path}: expected a .jsonl or .csv file")
    out = []
    for i, row in enumerate(rows):
        missing = [k for k in ("id", "path", "label") if not row.get(k) and row.get(k) != 0]
        if missing:
            raise ValueError(f"manifest {path}: row {i + 1} lacks {missing}; expected columns id, path, label")
        rec = dict(row)
        rec["id"] = str(rec["id"])
        p = Path(str(rec["path"]))
        rec["path"] = str(p if p.is_absolute() else (path.parent / p))
        out.append(rec)
    return out


def load_records(data=None, root=None, split="test", fold=None, manifest=None) -> list:
    """Records from a dataset loader (``emoprobe.data.load(name, root, split, fold)``) or a manifest."""
    if manifest is not None:
        return read_manifest(manifest)
    if data is None:
        raise ValueError("give a dataset (--data NAME --root DIR) or a manifest (--manifest FILE)")
    try:
        from emoprobe.data import load
    except ImportError as e:
        raise ValueError(f"dataset {data!r}: emoprobe.data.load is not available ({e}); use --manifest") from e
    if root is None:
        raise ValueError(f"dataset {data!r}: give its root folder (--root DIR)")
    return list(load(data, root, split, fold))


def _get(rec, key, default=None):
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


# ------------------------------------------------------------------------------------------- provenance

def git_revision(start=None) -> str | None:
    """The commit of the repository holding this package, read from ``.git`` files (no git process)."""
    here = Path(start or __file__).resolve()
    for folder in [here, *here.parents]:
        git = folder / ".git"
        if git.is_dir():
            try:
                head = (git / "HEAD").read_text().strip()
                if head.startswith("ref: "):
                    ref = head[5:]
                    ref_file = git / ref
                    if ref_file.exists():
                        return ref_file.read_text().strip()
                    packed = git / "packed-refs"
                    if packed.exists():
                        for line in packed.read_text().splitlines():
                            if line.endswith(" " + ref):
                                return line.split()[0]
                    return None
                return head
            except OSError:
                return None
    return None


def _versions() -> dict:
    import emoprobe

    out = {"emoprobe": emoprobe.__version__, "git": git_revision(), "python": platform.python_version()}
    for mod in ("transformers", "torch", "httpx"):
        if mod in sys.modules:
            out[mod] = getattr(sys.modules[mod], "__version__", None)
    return out


# -------------------------------------------------------------------------------------------- the loop

def _make_backend(model, backend_params):
    from emoprobe.vlm.registry import ModelSpec, get_model

    if isinstance(model, (str, os.PathLike)):
        spec = get_model(str(model))
        return spec, spec.make_backend(**(backend_params or {}))
    if isinstance(model, ModelSpec):
        return model, model.make_backend(**(backend_params or {}))
    if hasattr(model, "generate") and hasattr(model, "identity"):
        return None, model
    raise ValueError(f"model must be a registered name, a folder, a ModelSpec or a backend, got {model!r}")


def _make_sampler(sampler, sampler_params, spec):
    from emoprobe.samplers import make_sampler

    if sampler is None:
        if spec is None:
            raise ValueError("sampler: none given and the model has no default sampler")
        return spec.make_sampler(**(sampler_params or {}))
    if isinstance(sampler, str):
        return make_sampler(sampler, **(sampler_params or {}))
    if hasattr(sampler, "sample"):
        return sampler
    raise ValueError(f"sampler must be a registered name or a sampler object, got {sampler!r}")


def _clip_source(path) -> dict:
    # identifies the clip's bytes cheaply (no decoding): the name and size of a file, the frame count of a folder
    p = Path(path)
    if p.is_dir():
        return {"name": p.name, "files": sum(1 for q in p.iterdir() if q.is_file())}
    return {"name": p.name, "bytes": p.stat().st_size if p.exists() else None}


def _parse(parse_fn, text, labels, synonyms, options):
    kw = {"synonyms": synonyms}
    if options is not None and "options" in inspect.signature(parse_fn).parameters:
        kw["options"] = options
    return parse_fn(text, labels, **kw)


def evaluate(records, sampler=None, model=None, prompt="closed_set", out_dir=None, labels=None, limit=None,
             resume=True, cache=True, sampler_params=None, class_order="fixed", seed=0, max_new_tokens=32,
             temperature=0.0, decoder="auto", dataset=None, synonyms=None, system=None, batch_size=None,
             backend_params=None, progress=True) -> dict:
    """Evaluate ``model`` on ``records`` and write ``predictions.jsonl`` and ``summary.json`` to ``out_dir``.

    Parameters
    ----------
    records : iterable of clip records (dicts or objects) with ``id``, ``path`` (mp4 or frame folder) and
        ``label``; an optional ``fps`` is used for frame folders.
    sampler : a registered sampler name (with ``sampler_params``) or a sampler object; None -> the model's.
    model : a registered model name, a local checkpoint folder, a `ModelSpec`, or a backend object.
    prompt : a prompt id of `emoprobe.prompts` (``closed_set``, ``closed_set_timed``, ...).
    labels : the class names; None -> the dataset's label set, else the sorted labels of the records.
    limit : evaluate only the first ``limit`` records (smoke runs).
    resume : skip clips already in ``predictions.jsonl``; False starts the file afresh.
    cache : True (``$EMOPROBE_CACHE_DIR`` or ``~/.cache/emoprobe``), a file path, or False.
    decoder : ``auto``, ``decord`` or ``pyav`` (identical pixels; recorded).

    Returns the summary dict (also written to ``summary.json``).
    """
    from emoprobe import prompts as prompts_mod
    from emoprobe.samplers import clip_rng
    from emoprobe.video import VideoError, probe, read_frames
    from emoprobe.vlm.base import VLMRequest

    try:
        from emoprobe.parse import PARSER_VERSION
        from emoprobe.parse import parse as parse_fn
    except ImportError as e:  # pragma: no cover - the parser is part of the package
        raise ImportError(f"emoprobe.parse is needed to score answers: {e}") from e

    if out_dir is None:
        raise ValueError("out_dir: give a folder for predictions.jsonl and summary.json")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    pred_path = out / PREDICTIONS
    started = time.time()

    records = list(records)
    if limit is not None:
        if not (isinstance(limit, int) and limit >= 0):
            raise ValueError(f"limit must be a non-negative integer, got {limit!r}")
        records = records[:limit]
    ids = [str(_get(r, "id")) for r in records]
    if len(set(ids)) != len(ids):
        raise ValueError("records: clip ids must be unique (resume and the cache key on them)")
    if labels is None:
        from emoprobe.labels import LABEL_SETS

        labels = list(LABEL_SETS[dataset]) if dataset in LABEL_SETS else sorted({str(_get(r, "label")) for r in records})
    labels = [str(x) for x in labels]

    spec, backend = _make_backend(model, backend_params)
    smp = _make_sampler(sampler, sampler_params, spec)
    identity = backend.identity()
    generation = backend.generation_params(max_new_tokens, temperature)
    store = None
    if cache:
        if cache is True:
            base = os.environ.get("EMOPROBE_CACHE_DIR") or os.path.join(os.path.expanduser("~"), ".cache", "emoprobe")
            cache = os.path.join(base, "responses.jsonl")
        store = ResponseCache(cache)
    use_cache = store is not None and is_deterministic(generation)
    if hasattr(backend, "check") and callable(backend.check):
        backend.check()  # fail fast on a dead server / unknown model / missing key, naming which

    if not resume and pred_path.exists():
        pred_path.unlink()
    done = read_predictions(pred_path) if resume else {}
    # a row whose model call failed is retried; a clip that cannot be decoded stays recorded as such
    finished = {k for k, row in done.items() if row.get("error_kind") != "backend"}
    todo = [r for r, i in zip(records, ids) if i not in finished]
    chunk = batch_size or getattr(backend, "batch_size", 1) or 1
    template_hash = prompts_mod.template_hash(prompt)
    sampler_info = {"name": getattr(smp, "name", type(smp).__name__),
                    "params": smp.get_params() if hasattr(smp, "get_params") else {}}

    from tqdm.auto import tqdm

    bar = tqdm(total=len(todo), unit="clip", desc=f"eval {identity.get('model')}", disable=not progress,
               dynamic_ncols=True)
    calls = hits = 0
    for start in range(0, len(todo), chunk):
        batch = todo[start:start + chunk]
        rows, pending = [], []
        for rec in batch:
            cid, path = str(_get(rec, "id")), _get(rec, "path")
            row = {"id": cid, "label": _get(rec, "label"), "dataset": _get(rec, "dataset", dataset),
                   "path": str(path), "prompt_id": prompt, "template_hash": template_hash, "error": None,
                   "error_kind": None, "cache_hit": False}
            try:
                meta = probe(path, fps=_get(rec, "fps"))
                sample = smp.sample(meta["num_frames"], meta["fps"], rng=clip_rng(seed, cid),
                                    frame_times=meta["timestamps"])
            except (VideoError, OSError) as e:
                row.update(error=f"{type(e).__name__}: {e}", error_kind="video", outcome="error",
                           prediction=None, raw_output=None)
                rows.append(row)
                continue
            indices = [int(i) for i in sample.indices]
            times = [round(float(t), 6) for t in sample.timestamps]
            rendered = prompts_mod.render(prompt, labels, order=class_order, seed=seed, clip_id=cid,
                                          timestamps=times, context=_get(rec, "context"))
            row.update(frame_indices=indices, timestamps=times, clip_num_frames=int(meta["num_frames"]),
                       clip_fps=float(meta["fps"]), class_order=rendered["class_order"])
            key = make_key({"model": identity, "prompt_sha256": text_hash(rendered["text"]),
                            "system_sha256": text_hash(system) if system else None,
                            "clip": {"id": cid, "dataset": row["dataset"], "source": _clip_source(path)},
                            "frame_indices": indices, "clip_fps": float(meta["fps"]),
                            "clip_num_frames": int(meta["num_frames"]), "decoder": decoder,
                            "generation": generation})
            hit = store.get(key) if use_cache else None
            if hit is not None:
                hits += 1
                row.update(cache_hit=True)
                rows.append((row, hit, rendered))
                continue
            try:
                frames = read_frames(path, indices, backend=decoder, fps=_get(rec, "fps"))
            except (VideoError, OSError) as e:
                row.update(error=f"{type(e).__name__}: {e}", error_kind="video", outcome="error",
                           prediction=None, raw_output=None)
                rows.append(row)
                continue
            req = VLMRequest(prompt=rendered["text"], frames=frames, frame_indices=indices, timestamps=times,
                             clip_fps=float(meta["fps"]), clip_num_frames=int(meta["num_frames"]), system=system,
                             request_id=cid)
            pending.append((row, req, key, rendered))
            rows.append(None)  # placeholder keeps the input order
        if pending:
            answers = backend.generate([p[1] for p in pending], max_new_tokens=max_new_tokens,
                                       temperature=temperature)
            calls += len(pending)
            it = iter(zip(pending, answers))
            for i, item in enumerate(rows):
                if item is None:
                    (row, _req, key, rendered), resp = next(it)
                    if use_cache:
                        store.put(key, resp, generation, meta={"id": row["id"], "model": identity.get("model")})
                    rows[i] = (row, resp, rendered)
        final = []
        for item in rows:
            if isinstance(item, dict):
                final.append(item)
                continue
            row, resp, rendered = item
            row.update(raw_output=resp.get("text"), latency_s=resp.get("latency_s"),
                       visual_tokens=resp.get("visual_tokens"), input_tokens=resp.get("input_tokens"),
                       output_tokens=resp.get("output_tokens"))
            if resp.get("error"):
                row.update(error=resp["error"], error_kind="backend", outcome="error", prediction=None,
                           reason=None, ranked=None)
            else:
                parsed = _parse(parse_fn, resp.get("text") or "", labels, synonyms, rendered.get("options"))
                row.update(prediction=parsed.get("label"), outcome=parsed.get("outcome"),
                           reason=parsed.get("reason"), ranked=parsed.get("ranked"))
            final.append(row)
        append_jsonl(pred_path, final)
        bar.update(len(batch))
    bar.close()

    summary = _summary(pred_path, ids, labels, identity, spec, sampler_info, generation, prompt, template_hash,
                       class_order, seed, decoder, dataset, store, use_cache, calls, hits, started,
                       PARSER_VERSION, system)
    (out / SUMMARY).write_text(json.dumps(summary, indent=2, sort_keys=False, default=str) + "\n")
    return summary


def _summary(pred_path, ids, labels, identity, spec, sampler_info, generation, prompt, template_hash,
             class_order, seed, decoder, dataset, store, use_cache, calls, hits, started, parser_version,
             system):
    rows_by_id = read_predictions(pred_path)
    rows = [rows_by_id[i] for i in ids if i in rows_by_id]
    outcomes = {}
    for r in rows:
        outcomes[r.get("outcome")] = outcomes.get(r.get("outcome"), 0) + 1
    video_errors = [{"id": r["id"], "error": r["error"]} for r in rows if r.get("error_kind") == "video"]
    backend_errors = [{"id": r["id"], "error": r["error"]} for r in rows if r.get("error_kind") == "backend"]
    scored = [r for r in rows if not r.get("error")]
    frames = [len(r.get("frame_indices") or []) for r in scored]
    counts = {"records": len(ids), "rows": len(rows), "missing": len(ids) - len(rows), "scored": len(scored),
              "outcomes": outcomes, "video_errors": len(video_errors), "backend_errors": len(backend_errors),
              "model_calls_this_run": calls, "cache_hits_this_run": hits,
              "mean_frames": (sum(frames) / len(frames)) if frames else None}
    metrics, metrics_error = None, None
    if scored:
        try:
            from emoprobe.metrics import classification_report

            y_pred = [r.get("prediction") if r.get("outcome") == "parsed" else None for r in scored]
            metrics = classification_report([str(r["label"]) for r in scored], y_pred, labels)
        except ImportError:
            metrics_error = "emoprobe.metrics is not available"
        except ValueError as e:
            metrics_error = str(e)
    return {
        "model": identity, "model_spec": spec.to_dict() if spec is not None else None,
        "backend": identity.get("backend"), "sampler": sampler_info,
        "pixel_budget": {"family": getattr(spec, "family", None),
                         "video_kwargs": identity.get("video_kwargs"), "image_kwargs": identity.get("image_kwargs")},
        "decoder": decoder, "prompt": {"id": prompt, "template_hash": template_hash, "class_order": class_order,
                                       "system_sha256": text_hash(system) if system else None},
        "parser_version": parser_version, "generation": generation, "seed": seed, "dataset": dataset,
        "labels": labels, "code": _versions(), "cache": {"path": str(store.path) if store else None,
                                                           "used": use_cache},
        "predictions": str(pred_path), "counts": counts, "video_errors": video_errors,
        "backend_errors": backend_errors, "metrics": metrics, "metrics_error": metrics_error,
        "started": _dt.datetime.fromtimestamp(started, _dt.timezone.utc).isoformat(timespec="seconds"),
        "elapsed_s": round(time.time() - started, 3),
    }


# ----------------------------------------------------------------------------------------------- CLI

def _kv(pairs) -> dict:
    import yaml

    out = {}
    for item in pairs or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValueError(f"expected key=value, got {item!r}")
        out[key.strip()] = yaml.safe_load(value)
    return out


def add_command(subparsers):
    p = subparsers.add_parser("eval", help="run a VLM over clips; write predictions.jsonl and summary.json")
    p.add_argument("--model", required=True, help="registered model name or a local checkpoint folder")
    src = p.add_argument_group("clips (one of)")
    src.add_argument("--data", help="dataset name for emoprobe.data.load (with --root)")
    src.add_argument("--root", help="dataset root folder")
    src.add_argument("--split", default="test")
    src.add_argument("--fold", type=int, default=None)
    src.add_argument("--manifest", help="JSONL or CSV with id,path,label")
    p.add_argument("--labels", help="comma-separated class names or a dataset name (default: the dataset's)")
    p.add_argument("--sampler", help="frame sampler name (default: the model's)")
    p.add_argument("--sampler-param", action="append", default=[], metavar="K=V")
    p.add_argument("--prompt", default="closed_set")
    p.add_argument("--class-order", default="fixed")
    p.add_argument("--limit", type=int, default=None)
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--max-new-tokens", type=int, default=32)
    p.add_argument("--decoder", default="auto", choices=["auto", "decord", "pyav"])
    p.add_argument("--batch-size", type=int, default=None)
    p.add_argument("--no-resume", action="store_true", help="start predictions.jsonl afresh")
    p.add_argument("--cache", default=None, help="response cache file (default ~/.cache/emoprobe)")
    p.add_argument("--no-cache", action="store_true")
    p.add_argument("--device", default=None, help="hf backend: cpu, cuda, auto")
    p.add_argument("--dtype", default=None, help="hf backend: auto, float32, bfloat16, float16")
    p.add_argument("--base-url", action="append", default=[], help="openai backend: server URL (repeatable)")
    p.add_argument("--concurrency", type=int, default=None, help="openai backend: requests in flight")
    p.add_argument("--backend-param", action="append", default=[], metavar="K=V")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=_run)
    return p


def _run(args) -> int:
    from emoprobe.vlm.base import BackendError
    from emoprobe.vlm.registry import get_model

    try:
        spec = get_model(args.model)
        records = load_records(args.data, args.root, args.split, args.fold, args.manifest)
        labels = None
        if args.labels:
            from emoprobe.labels import LABEL_SETS

            labels = list(LABEL_SETS[args.labels]) if args.labels in LABEL_SETS else [
                x.strip() for x in args.labels.split(",") if x.strip()]
        params = _kv(args.backend_param)
        if args.device and spec.backend == "hf":
            params["device"] = args.device
        if args.dtype and spec.backend == "hf":
            params["dtype"] = args.dtype
        if args.base_url:
            params["base_urls"] = args.base_url
        if args.concurrency:
            params["concurrency"] = args.concurrency
        if args.batch_size:
            params["batch_size"] = args.batch_size
        summary = evaluate(records, sampler=args.sampler, model=spec, prompt=args.prompt, out_dir=args.out,
                           labels=labels, limit=args.limit, resume=not args.no_resume,
                           cache=False if args.no_cache else (args.cache or True),
                           sampler_params=_kv(args.sampler_param), class_order=args.class_order, seed=args.seed,
                           max_new_tokens=args.max_new_tokens, decoder=args.decoder,
                           dataset=args.data, batch_size=args.batch_size, backend_params=params,
                           progress=not args.no_progress)
    except (ValueError, BackendError) as e:
        print(f"emoprobe eval: error: {e}", file=sys.stderr)
        return 2
    c = summary["counts"]
    m = summary["metrics"] or {}
    print(f"{c['rows']}/{c['records']} clips; outcomes {c['outcomes']}; model calls {c['model_calls_this_run']}, "
          f"cache hits {c['cache_hits_this_run']}; video errors {c['video_errors']}")
    if m:
        print(f"WAR {m.get('war', float('nan')):.4f}  UAR {m.get('uar', float('nan')):.4f}  "
              f"macro-F1 {m.get('macro_f1', float('nan')):.4f}")
    print(f"sampler {summary['sampler']['name']} {summary['sampler']['params']}; "
          f"summary: {Path(args.out) / SUMMARY}")
    return 0
