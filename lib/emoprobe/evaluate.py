"""The one run loop: clips -> sampler -> frames -> conditions -> backend (cached) -> parser -> rows + summary.

``evaluate(records, model=..., sampler=..., out_dir=...)`` is the only code that turns clips into prediction
rows, for a hub VLM, a server, a local checkpoint (the probe's included) or a video classifier. It runs in
three steps per batch of clips:

1. ``_prepare`` — sample frame indices (per-clip rng from ``seed`` and the clip id), decode them, apply the
   conditions of emoprobe.conditions (shuffled presentation, a fixed visual-token budget), build the MSCE
   context (emoprobe.msce; stage 1 is one cached call for the batch's gaps), then render the prompt;
2. ``_generate`` — answer every request not in the response cache (emoprobe.cache) in one backend call;
3. ``_finish`` — parse each answer and append the rows (emoprobe.rows) to ``predictions.jsonl``.

A summary with counts, metrics and the provenance block (emoprobe.provenance) goes to ``summary.json``.

Resume and crash safety: rows are appended and fsync-ed batch by batch, so a killed run keeps every finished
row; rerunning skips the clips already in ``predictions.jsonl``. Clips whose call failed (server down) or that
were missing on disk are retried on the next run. A clip that cannot be decoded (`emoprobe.video.VideoError`)
is recorded with its error and its file's size and time (``file_stamp``), and retried once the file changes; a
listed clip that is not on disk as missing. Neither stops the run, and the summary counts both
(``counts["complete"]`` is False when any listed clip was not answered).
"""

from __future__ import annotations

import inspect
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from emoprobe import conditions, msce, provenance
from emoprobe.cache import ResponseCache, append_jsonl, is_deterministic, make_key, text_hash
from emoprobe.rows import new_row
from emoprobe.runfiles import PREDICTIONS, SUMMARY, load_records, read_manifest, read_predictions, run_summary
from emoprobe.runfiles import field as _get

__all__ = ["evaluate", "load_records", "read_manifest", "read_predictions", "event_sampled",
           "PREDICTIONS", "SUMMARY"]

CLASS_ORDER = "fixed"  # the candidate list in the dataset's own order, in every profile (recorded per row)


def event_sampled(event: dict | None, indices) -> bool | None:
    """Did a shown frame fall inside the clip's event (onset..offset frames)? None for clips without one."""
    if not event or event.get("onset_frame") is None:
        return None
    idx = np.asarray(indices)
    return bool(np.any((idx >= event["onset_frame"]) & (idx <= event["offset_frame"])))


def _make_backend(model, backend_params, device=None, dtype=None, batch_size=None):
    """(the model's spec or None for a ready backend, its backend with the run's device, dtype and batch size)."""
    from emoprobe.vlm.base import Backend, make_backend
    from emoprobe.vlm.registry import as_spec

    if isinstance(model, Backend):
        return None, model
    params = {k: v for k, v in (("device", device), ("dtype", dtype)) if v is not None}
    params.update(backend_params or {})
    if batch_size:
        params.setdefault("batch_size", int(batch_size))
    spec = as_spec(model)
    return spec, make_backend(spec, **params)


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


@dataclass
class _Run:
    """What every step of one run needs (built once by ``evaluate``)."""

    backend: object
    identity: dict
    generation: dict
    sampler: object
    labels: list
    prompt: str
    class_order: str
    seed: int
    decoder: str
    dataset: str | None
    system: str | None
    synonyms: dict | None
    visual_tokens: int | None
    family: object
    context: str | None
    shuffle_context: bool
    stage1: object
    stage1_identity: dict | None
    store: ResponseCache | None
    max_new_tokens: int
    temperature: float
    calls: int = 0
    hits: int = 0


def _cached_generate(run: _Run, backend, identity, items, max_new_tokens):
    """Answers for (cache key, request) items: cached ones from the store, the rest in one backend call."""
    out, todo = [None] * len(items), []
    for i, (key, _req) in enumerate(items):
        hit = run.store.get(key) if run.store is not None else None
        if hit is not None:
            out[i] = dict(hit, cache_hit=True)
            run.hits += 1
        else:
            todo.append(i)
    if todo:
        answers = backend.generate([items[i][1] for i in todo], max_new_tokens=max_new_tokens,
                                   temperature=run.temperature)
        run.calls += len(todo)
        for i, resp in zip(todo, answers):
            if run.store is not None:
                run.store.put(items[i][0], resp, run.generation, meta={"id": items[i][1].request_id,
                                                                      "model": identity.get("model")})
            out[i] = resp
    return out


def _key(run: _Run, identity, prompt_text, row, path, indices, frames, presented, generation):
    return make_key({"model": identity, "prompt_sha256": text_hash(prompt_text),
                     "system_sha256": text_hash(run.system) if run.system else None,
                     "clip": {"id": row["id"], "dataset": row["dataset"], "source": _clip_source(path)},
                     "frame_indices": [int(i) for i in indices], "presented": presented,
                     "frame_size": list(frames.shape[1:3]), "clip_fps": row["clip_fps"],
                     "clip_num_frames": row["clip_num_frames"], "decoder": run.decoder, "generation": generation})


def _shown(run: _Run, frames: np.ndarray, indices: list[int]):
    """The frames and indices the model sees, after the budget (all of them without one)."""
    if run.visual_tokens is None:
        return frames, indices
    kept, positions, _ = conditions.fit_budget(frames, run.family, run.visual_tokens)
    return kept, [indices[int(p)] for p in positions]


def file_stamp(path) -> list:
    """[files, bytes, newest modification time in ns] of a clip (a video file or a folder of frames): what
    changes when the clip is repaired or replaced, so a clip that failed to decode is retried after that."""
    p = Path(path)
    entries = [p] if p.is_file() else [q for q in p.iterdir() if q.is_file()] if p.is_dir() else []
    stats = [q.stat() for q in entries]
    return [len(stats), sum(s.st_size for s in stats), max((s.st_mtime_ns for s in stats), default=0)]


def _sample(run: _Run, rec) -> tuple[dict, dict | None]:
    """Step 1a for one clip: sample, decode, apply the budget and the shuffled presentation; its row and what
    the next steps need (None when the clip cannot be decoded)."""
    from emoprobe.samplers import clip_rng
    from emoprobe.video import VideoError, clip_info, read_frames

    cid, path, meta = str(_get(rec, "id")), _get(rec, "path"), _get(rec, "meta") or None
    row = new_row(id=cid, label=_get(rec, "label"), dataset=_get(rec, "dataset", run.dataset), path=str(path),
                  kind=(meta or {}).get("kind"), prompt_id=run.prompt, visual_token_budget=run.visual_tokens,
                  context_mode=None if run.context is None else run.context + ("-shuffled" if run.shuffle_context
                                                                               else ""))
    if _get(rec, "exists", True) is False or not os.path.exists(str(path)):
        row.update(error=f"not on disk: {path}", error_kind="missing", outcome="error")
        return row, None
    try:
        info = clip_info(path, fps=_get(rec, "fps"))
        sample = run.sampler.sample(info["num_frames"], info["fps"], rng=clip_rng(run.seed, cid),
                                    frame_times=info["timestamps"])
        indices = [int(i) for i in sample.indices]
        gap_list = msce.gaps(sample) if run.context else []
        wanted = sorted(set(indices).union(*[set(g.tolist()) for g in gap_list]))
        decoded = read_frames(path, wanted, backend=run.decoder, fps=_get(rec, "fps"))
    except (VideoError, OSError) as e:
        row.update(error=f"{type(e).__name__}: {e}", error_kind="video", outcome="error",
                   file_stamp=file_stamp(path))
        return row, None
    fps = float(info["fps"])
    at = {i: k for k, i in enumerate(wanted)}
    time_of = {int(i): float(t) for i, t in zip(sample.indices, sample.timestamps)}
    frames, indices = _shown(run, decoded[[at[i] for i in indices]], indices)
    true_times = [round(time_of[i], 6) for i in indices]
    shuffled = bool(getattr(run.sampler, "shuffle", False))
    presented, times = conditions.presented_times(indices, time_of) if shuffled else (indices, true_times)
    row.update(frame_indices=indices, timestamps=true_times, presented_timestamps=times,
               shuffled=shuffled, frame_size=list(frames.shape[1:3]), clip_num_frames=int(info["num_frames"]),
               clip_fps=fps, event_sampled=event_sampled((meta or {}).get("event"), indices))
    return row, {"path": path, "meta": meta, "sample": sample, "decoded": decoded, "at": at, "gaps": gap_list,
                 "frames": frames, "presented": presented, "shuffled": shuffled}


def _descriptions(run: _Run, staged) -> dict:
    """Step 1b, MSCE stage 1 for a batch of clips: clip id -> one description per gap, from the oracle or from
    the stage-1 model (every gap of the batch in one cached call)."""
    from emoprobe.vlm.base import VLMRequest

    live = [(row, st) for row, st in staged if st is not None]
    if run.context == "oracle":
        return {row["id"]: msce.oracle_descriptions(st["meta"], st["gaps"], row["id"]) for row, st in live}
    text, items, owner = msce.stage1_prompt(), [], []
    for row, st in live:
        for n, g in enumerate(st["gaps"]):
            frames, shown = _shown(run, st["decoded"][[st["at"][int(i)] for i in g]], [int(i) for i in g])
            req = VLMRequest(prompt=text, frames=frames, frame_indices=shown, clip_fps=row["clip_fps"],
                             clip_num_frames=row["clip_num_frames"], request_id=f"{row['id']}/gap{n}",
                             keep_size=run.visual_tokens is not None)
            items.append((_key(run, run.stage1_identity, text, row, st["path"], shown, frames, None,
                               run.generation), req))
            owner.append(row["id"])
    answers = _cached_generate(run, run.stage1, run.stage1_identity, items, max(run.max_new_tokens, 24))
    out = {row["id"]: [] for row, _st in live}
    for cid, a in zip(owner, answers):
        out[cid].append((a.get("text") or "").strip() or msce.STILL)
    return out


def _request(run: _Run, row: dict, st: dict, texts) -> tuple:
    """Step 1c: the MSCE context (stage 2), the prompt and the request of one clip, with its cache key."""
    from emoprobe import prompts
    from emoprobe.samplers import clip_rng
    from emoprobe.vlm.base import VLMRequest

    if run.context:
        if run.shuffle_context:
            rng = clip_rng(run.seed, row["id"] + "/context")  # a permutation of this clip's own
            texts, row["context_shuffled"] = msce.shuffle_descriptions(texts, rng)
        row["context"] = msce.format_context(st["sample"], row["clip_fps"], texts)
    rendered = prompts.render(run.prompt, run.labels, order=run.class_order, seed=run.seed, clip_id=row["id"],
                              timestamps=row["presented_timestamps"], context=row["context"])
    row.update(class_order=rendered["class_order"], template_hash=rendered["template_hash"])
    req = VLMRequest(prompt=rendered["text"], frames=st["frames"], frame_indices=st["presented"],
                     timestamps=row["presented_timestamps"], clip_fps=row["clip_fps"],
                     clip_num_frames=row["clip_num_frames"], system=run.system, request_id=row["id"],
                     keep_size=run.visual_tokens is not None)
    key = _key(run, run.identity, rendered["text"], row, st["path"], row["frame_indices"], st["frames"],
               st["presented"] if st["shuffled"] else None, run.generation)
    return key, req, rendered.get("options")


def _prepare(run: _Run, records) -> list[tuple[dict, tuple | None]]:
    """Step 1 for a batch of clips: (row, (cache key, request, lettered options) or None)."""
    staged = [_sample(run, rec) for rec in records]
    texts = _descriptions(run, staged) if run.context else {}
    return [(row, None if st is None else _request(run, row, st, texts.get(row["id"]))) for row, st in staged]


def _finish(run: _Run, row: dict, resp: dict, options, parse_fn) -> dict:
    row.update(raw_output=resp.get("text"), latency_s=resp.get("latency_s"), visual_tokens=resp.get("visual_tokens"),
               input_tokens=resp.get("input_tokens"), output_tokens=resp.get("output_tokens"),
               cache_hit=bool(resp.get("cache_hit")))
    if resp.get("error"):
        row.update(error=resp["error"], error_kind="backend", outcome="error", prediction=None)
        return row
    kw = {"synonyms": run.synonyms}
    if options is not None and "options" in inspect.signature(parse_fn).parameters:
        kw["options"] = options
    parsed = parse_fn(resp.get("text") or "", run.labels, **kw)
    row.update(prediction=parsed.get("label"), outcome=parsed.get("outcome"), reason=parsed.get("reason"),
               ranked=parsed.get("ranked"))
    return row


def evaluate(records, sampler=None, model=None, prompt="closed_set", out_dir=None, labels=None, limit=None,
             resume=True, cache=True, sampler_params=None, class_order=CLASS_ORDER, seed=0, max_new_tokens=32,
             temperature=0.0, decoder="auto", dataset=None, synonyms=None, system=None, batch_size=None,
             backend_params=None, progress=True, visual_tokens=None, context=None, shuffle_context=False,
             context_model=None, device=None, dtype=None) -> dict:
    """Evaluate ``model`` on ``records`` and write ``predictions.jsonl`` and ``summary.json`` to ``out_dir``.

    records : clip records (dicts or objects) with ``id``, ``path`` (mp4 or frame folder), ``label``, and
        optionally ``fps`` (frame folders) and ``meta`` (probe generator metadata: kind, event, action units).
    model : a registered name, a checkpoint folder, ``probe:<profile>/<name>``, a `ModelSpec`, or a backend.
    sampler, sampler_params : a registered frame sampler (``shuffle=True`` for the frame-order control);
        None -> the model's own default.
    prompt, class_order : a prompt id of emoprobe.prompts and the candidate order (``fixed`` by default).
    visual_tokens : a fixed budget of the model's own visual tokens (emoprobe.conditions), or None.
    context, shuffle_context, context_model : MSCE (emoprobe.msce): None, ``"msce"`` (stage 1 by
        ``context_model``, default the evaluated model) or ``"oracle"``; needs the ``keyframes`` sampler.
    labels : class names; None -> the dataset's label set, else the sorted labels of the records.
    cache : True (``$EMOPROBE_CACHE_DIR`` or ``~/.cache/emoprobe``), a file path, or False.
    device, dtype : for local models (default: CUDA with bfloat16 when present, else CPU float32).
    batch_size : clips per batch, and the backend's batch size unless ``backend_params`` sets one.

    Returns the summary dict (also written to ``summary.json``).
    """
    from emoprobe.parse import PARSER_VERSION
    from emoprobe.parse import parse as parse_fn
    from emoprobe.data.records import check_truth
    from emoprobe.prompts import ORDERS, check_prompt, template_hash

    if out_dir is None:
        raise ValueError("out_dir: give a folder for predictions.jsonl and summary.json")
    if class_order not in ORDERS:
        raise ValueError(f"class_order: expected one of {ORDERS}, got {class_order!r}")
    msce.check(context)
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

        labels = (list(LABEL_SETS[dataset]) if dataset in LABEL_SETS
                  else sorted({str(_get(r, "label")) for r in records}))
    labels = [str(x) for x in labels]
    check_prompt(prompt)  # an unknown prompt, or a truth that is not a class, fails before a model is loaded
    check_truth(zip(ids, (str(_get(r, "label")) for r in records)), labels)

    spec, backend = _make_backend(model, backend_params, device, dtype, batch_size)
    smp = _make_sampler(sampler, sampler_params, spec)
    msce.check(context, smp)
    if backend.labels() is not None:  # a classifier: its label map must fit
        from emoprobe.vlm.video_classifier import check_labels

        check_labels(backend.labels(), labels, synonyms)
    family = backend.budget_family() if visual_tokens is not None else None
    if visual_tokens is not None and family is None:
        raise ValueError(f"visual_tokens: backend {type(backend).__name__} has no visual-token budget rule")
    stage1 = backend
    if context == "msce" and context_model is not None:
        stage1 = _make_backend(context_model, None, device, dtype, batch_size)[1]
    identity, generation = backend.identity(), backend.generation_params(max_new_tokens, temperature)
    store = None
    if cache and is_deterministic(generation):
        if cache is True:
            base = os.environ.get("EMOPROBE_CACHE_DIR") or os.path.join(os.path.expanduser("~"), ".cache", "emoprobe")
            cache = os.path.join(base, "responses.jsonl")
        store = ResponseCache(cache)
    backend.check()  # fail fast on a dead server / unknown model / missing key, naming which
    run = _Run(backend=backend, identity=identity, generation=generation, sampler=smp, labels=labels,
               prompt=prompt, class_order=class_order, seed=int(seed), decoder=decoder, dataset=dataset,
               system=system, synonyms=synonyms, visual_tokens=None if visual_tokens is None else int(visual_tokens),
               family=family, context=context, shuffle_context=bool(shuffle_context), stage1=stage1,
               stage1_identity=stage1.identity() if context == "msce" else None, store=store,
               max_new_tokens=max_new_tokens, temperature=temperature)

    if not resume and pred_path.exists():
        pred_path.unlink()
    done = read_predictions(pred_path) if resume else {}
    # retried: a failed model call, a clip that was not on disk, and an undecodable clip whose file changed since
    path_of = {i: str(_get(r, "path")) for r, i in zip(records, ids)}

    def final(k, row):
        if row.get("error_kind") in ("backend", "missing"):
            return False
        if row.get("error_kind") == "video":
            return k in path_of and row.get("file_stamp") == file_stamp(path_of[k])
        return True

    finished = {k for k, row in done.items() if final(k, row)}
    todo = [r for r, i in zip(records, ids) if i not in finished]
    chunk = batch_size or getattr(backend, "batch_size", 1) or 1

    from emoprobe.progress import bar as progress_bar

    with progress_bar(len(todo), f"eval {identity.get('model')}", progress, unit="clip") as bar:
        for start in range(0, len(todo), chunk):
            prepared = _prepare(run, todo[start:start + chunk])
            asked = [(i, job) for i, (_row, job) in enumerate(prepared) if job is not None]
            answers = _cached_generate(run, backend, identity, [(k, r) for _i, (k, r, _o) in asked], max_new_tokens)
            rows = [row for row, _job in prepared]
            for (i, (_k, _r, options)), resp in zip(asked, answers):
                rows[i] = _finish(run, rows[i], resp, options, parse_fn)
            append_jsonl(pred_path, rows)
            bar.update(len(prepared))

    sampler_info = {"name": getattr(smp, "name", type(smp).__name__),
                    "params": smp.get_params() if hasattr(smp, "get_params") else {}}
    prov = provenance.record(
        identity=identity, spec=spec, sampler=sampler_info,
        conditions={"shuffle": bool(getattr(smp, "shuffle", False)), "visual_tokens": run.visual_tokens,
                    "budget_family": family.to_dict() if family is not None else None, "context": context,
                    "shuffle_context": bool(shuffle_context),
                    "context_model": None if run.stage1_identity is None else run.stage1_identity.get("model")},
        decoder=decoder, prompt={"id": prompt, "template_hash": template_hash(prompt), "class_order": class_order,
                                 "system_sha256": text_hash(system) if system else None},
        parser_version=PARSER_VERSION, seed=seed, generation=generation, dataset=dataset, labels=labels)
    summary = run_summary(pred_path, ids, prov, started, calls=run.calls, hits=run.hits,
                          cache_path=str(run.store.path) if run.store else None)
    (out / SUMMARY).write_text(json.dumps(summary, indent=2, sort_keys=False, default=str) + "\n")
    return summary
