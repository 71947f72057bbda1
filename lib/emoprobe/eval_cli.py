"""``emoprobe eval``: the command-line face of emoprobe.evaluate (every condition is a flag)."""

from __future__ import annotations

import sys
from pathlib import Path

from emoprobe.evaluate import SUMMARY, evaluate, load_records

__all__ = ["add_command", "PARTIAL"]

PARTIAL = 3  # exit status of a run in which some listed clips were not answered (errors are 2)


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
    p.add_argument("--model", required=True,
                   help="registered model name, a local checkpoint folder, or probe:<profile>/<name>")
    src = p.add_argument_group("clips (one of)")
    src.add_argument("--data", help="dataset name for emoprobe.data.load (with --root)")
    src.add_argument("--root", help="dataset root folder, or probe:<profile>/<test set>")
    src.add_argument("--split", default="test")
    src.add_argument("--fold", type=int, default=None)
    src.add_argument("--manifest", help="JSONL or CSV with id,path,label")
    p.add_argument("--labels", help="comma-separated class names or a dataset name (default: the dataset's)")
    p.add_argument("--sampler", help="frame sampler name (default: the model's)")
    p.add_argument("--sampler-param", action="append", default=[], metavar="K=V")
    p.add_argument("--prompt", default="closed_set")
    p.add_argument("--class-order", default="fixed", choices=["fixed", "alphabetical", "shuffled"])
    cond = p.add_argument_group("conditions")
    cond.add_argument("--shuffle", action="store_true", help="shuffle each clip's sampled frames (a seed per clip)")
    cond.add_argument("--visual-tokens", type=int, default=None,
                      help="fixed budget of the model's own visual tokens per clip (frames resized/thinned)")
    cond.add_argument("--context", choices=["msce", "oracle"], default=None,
                      help="MSCE context between keyframes (needs --sampler keyframes)")
    cond.add_argument("--shuffle-context", action="store_true", help="permute each clip's gap descriptions")
    cond.add_argument("--context-model", default=None, help="MSCE stage-1 model (default: the evaluated one)")
    p.add_argument("--limit", type=int, default=None)
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--max-new-tokens", type=int, default=32)
    p.add_argument("--decoder", default="auto", choices=["auto", "decord", "pyav"])
    p.add_argument("--batch-size", type=int, default=None)
    p.add_argument("--no-resume", action="store_true", help="start predictions.jsonl afresh")
    p.add_argument("--cache", default=None, help="response cache file (default ~/.cache/emoprobe)")
    p.add_argument("--no-cache", action="store_true")
    p.add_argument("--device", default=None, help="local models: cpu, cuda, auto (default: cuda when present)")
    p.add_argument("--dtype", default=None, help="local models: auto, float32, bfloat16 (default on cuda), float16")
    p.add_argument("--base-url", action="append", default=[], help="openai backend: server URL (repeatable)")
    p.add_argument("--concurrency", type=int, default=None, help="openai backend: requests in flight")
    p.add_argument("--backend-param", action="append", default=[], metavar="K=V")
    p.add_argument("--no-progress", action="store_true")
    p.add_argument("--allow-partial", action="store_true",
                   help="exit 0 even when some listed clips were missing, undecodable or failed at the backend")
    p.set_defaults(func=_run)
    return p


def _check_params(spec, backend_params: dict, sampler, sampler_params: dict) -> None:
    """Name a misspelt --backend-param or --sampler-param before anything is loaded."""
    from emoprobe.registry import check_params
    from emoprobe.samplers import SAMPLERS
    from emoprobe.vlm.base import BACKENDS

    check_params("backend", spec.backend, BACKENDS.get(spec.backend), backend_params)
    name = sampler or spec.sampler
    if name in SAMPLERS:
        check_params("frame sampler", name, SAMPLERS.get(name), sampler_params)


def _run(args) -> int:
    from emoprobe.sources import resolve_model
    from emoprobe.vlm.base import BackendError
    from emoprobe.vlm.registry import get_model

    try:
        spec = get_model(resolve_model(args.model, seed=args.seed))
        records = load_records(args.data, args.root, args.split, args.fold, args.manifest, missing="keep")
        labels = None
        if args.labels:
            from emoprobe.labels import LABEL_SETS

            labels = list(LABEL_SETS[args.labels]) if args.labels in LABEL_SETS else [
                x.strip() for x in args.labels.split(",") if x.strip()]
        params = _kv(args.backend_param)
        if args.base_url:
            params["base_urls"] = args.base_url
        if args.concurrency:
            params["concurrency"] = args.concurrency
        if args.batch_size:
            params["batch_size"] = args.batch_size
        sampler_params = _kv(args.sampler_param)
        if args.shuffle:
            sampler_params["shuffle"] = True
        _check_params(spec, params, args.sampler, sampler_params)
        summary = evaluate(records, sampler=args.sampler, model=spec, prompt=args.prompt, out_dir=args.out,
                           labels=labels, limit=args.limit, resume=not args.no_resume,
                           cache=False if args.no_cache else (args.cache or True),
                           sampler_params=sampler_params, class_order=args.class_order, seed=args.seed,
                           max_new_tokens=args.max_new_tokens, decoder=args.decoder,
                           dataset=args.data, batch_size=args.batch_size, backend_params=params,
                           progress=not args.no_progress, visual_tokens=args.visual_tokens, context=args.context,
                           shuffle_context=args.shuffle_context, context_model=args.context_model,
                           device=args.device, dtype=args.dtype)
    except (ValueError, BackendError, OSError) as e:  # user errors: one line, no traceback
        print(f"emoprobe eval: error: {e}", file=sys.stderr)
        return 2
    c = summary["counts"]
    m = summary["metrics"] or {}
    print(f"{c['scored']} of {c['records']} clips answered; missing on disk {c['missing_on_disk']}, undecodable "
          f"{c['video_errors']}, failed at the backend {c['backend_errors']}; unparsed {c['unparsed']}, refused "
          f"{c['refused']}; model calls {c['model_calls_this_run']}, cache hits {c['cache_hits_this_run']}")
    if m:
        over = "" if c["complete"] else f" (PARTIAL: over the {c['scored']} answered clips of {c['records']})"
        print(f"WAR {m.get('war', float('nan')):.4f}  UAR {m.get('uar', float('nan')):.4f}  "
              f"macro-F1 {m.get('macro_f1', float('nan')):.4f}{over}")
    print(f"sampler {summary['sampler']['name']} {summary['sampler']['params']}; "
          f"summary: {Path(args.out) / SUMMARY}")
    if not c["complete"] and not args.allow_partial:
        print(f"emoprobe eval: partial run: {c['records'] - c['scored']} of {c['records']} clips were not answered "
              f"(see {Path(args.out) / SUMMARY}); a rerun retries the backend failures and the clips whose file "
              "has changed (repair or restore the missing and undecodable ones first), or pass --allow-partial",
              file=sys.stderr)
        return PARTIAL
    return 0
