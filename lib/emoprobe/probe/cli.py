"""``emoprobe train NAME [--profile quick|smoke] [--seed S] [--cache DIR] [--force]``, ``emoprobe train --all``
and ``emoprobe train --list``.

Trains a named probe model (emoprobe.probe.zoo) unless the cache already holds it, and prints the folder it
lives in; ``--all`` trains every model for every seed of the profile (or ``--seeds``) in ``--workers``
processes (emoprobe.probe.schedule); ``--list`` shows every name with its description and whether it is cached.
"""

from __future__ import annotations

import os


def add_command(subparsers):
    p = subparsers.add_parser("train", help="train (or find in the cache) a named probe model",
                              description=__doc__.splitlines()[0])
    p.add_argument("name", nargs="?", help="model name (see --list)")
    p.add_argument("--list", action="store_true", help="list the probe models and exit")
    p.add_argument("--all", action="store_true", help="train every model for every seed of the profile")
    p.add_argument("--seeds", type=int, nargs="+", default=None, help="with --all: these seeds (default: the "
                                                                       "profile's)")
    p.add_argument("--workers", type=int, default=2, help="with --all: trainings side by side (default 2)")
    p.add_argument("--profile", default="quick", help="quick (default) or smoke")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--cache", default=None, help="model cache folder (default $EMOPROBE_CACHE_DIR/models or "
                                                 "~/.cache/emoprobe/models)")
    p.add_argument("--force", action="store_true", help="retrain even if cached")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=run)
    return p


def _cached(name, profile, seed, cache):
    from emoprobe.probe import zoo

    key = zoo.cache_key(name, profile, seed)
    return (cache / name / key[:16] / "meta.json").exists()


def run(args) -> int:
    import sys
    from pathlib import Path

    from emoprobe.probe import zoo

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if args.profile not in zoo.PROFILES:
        print(f"emoprobe train: unknown profile {args.profile!r}; expected one of {sorted(zoo.PROFILES)}",
              file=sys.stderr)
        return 2
    cache = Path(args.cache) if args.cache else zoo.default_cache_dir()
    if args.list:
        for name in zoo.list_models():
            state = "cached" if _cached(name, args.profile, args.seed, cache) else "not trained"
            print(f"{name:20s} {state:12s} {zoo.MODELS[name]['description']}")
        return 0
    if args.all:
        from emoprobe.probe import schedule

        try:
            done = schedule.train(args.profile, seeds=args.seeds, workers=args.workers, cache_dir=cache,
                                  log=lambda m: print(m, file=sys.stderr, flush=True))
        except ValueError as e:
            print(f"emoprobe train: {e}", file=sys.stderr)
            return 2
        for (name, seed), entry in sorted(done.items()):
            print(f"{name}\t{seed}\t{entry['path']}")
        return 0
    if not args.name:
        print("emoprobe train: give a model name, --all or --list", file=sys.stderr)
        return 2
    if args.name not in zoo.MODELS:
        print(f"emoprobe train: unknown model {args.name!r}; expected one of {zoo.list_models()}", file=sys.stderr)
        return 2
    path = zoo.get(args.name, args.profile, cache_dir=cache, seed=args.seed, force=args.force,
                   progress=not args.quiet, log=lambda m: print(m, file=sys.stderr))
    print(path)
    return 0
