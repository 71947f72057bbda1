"""Train every probe model of a profile for its seeds from scratch into a temporary cache, side by side in worker
processes (emoprobe.probe.schedule); print each model's time, the total against the 15-minute budget, a warm
rerun (target: 0 trainings), and the ratio of the parallel schedule against the serial one, measured in the
same run on the heads of the zoo's two chains (``--ratio-models``, seed 0, fresh caches).

    python benchmarks/probe_training.py [--profile quick] [--seeds 0 1 2] [--workers 2] [--scores results.json]
                                        [--keep DIR] [--no-ratio]

``--scores`` also scores every model and seed on the profile's held-out balanced test set, read from disk
through emoprobe.evaluate like any dataset (macro-F1, per-class recall, prediction shares, micro-expression
accuracy when the sampled frames caught / missed the event), prints each model's mean and standard deviation
over seeds against the seed-stability target (sd <= 0.03), and writes everything as JSON. The CPU is whatever
this machine gives now: the load average is printed next to the times, so a run on a busy machine can be read
honestly.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from emoprobe.probe.profiles import SEED_SD_TARGET  # noqa: E402

BUDGET_S = 15 * 60


def score(name, profile, cache, seed, class_order="fixed"):
    """A zoo model's held-out scores, through the one engine on the profile's test set written on disk (VLMs:
    8 uniform frames; VideoMAE: its 16 segment centres); emoprobe.findings.summarize plus the rows."""
    from emoprobe.data import load
    from emoprobe.evaluate import evaluate, read_predictions
    from emoprobe.findings import summarize
    from emoprobe.probe import testsets, zoo

    path = zoo.get(name, profile, cache_dir=cache, seed=seed, progress=False)
    vlm = zoo.MODELS[name]["kind"] != "videomae"
    dataset = zoo.dataset(profile)
    records = load(dataset, testsets.folder(profile), fold=testsets.FOLD)
    with tempfile.TemporaryDirectory() as out:
        evaluate(records, model=str(path), sampler="uniform" if vlm else None,
                 sampler_params={"num_samples": 8} if vlm else None, out_dir=out, dataset=dataset, cache=False,
                 progress=False, class_order=class_order, seed=seed, batch_size=16, max_new_tokens=12)
        rows = list(read_predictions(os.path.join(out, "predictions.jsonl")).values())
    return {**summarize(rows, zoo.labels(profile)), "rows": rows}




def _timed(profile, seeds, names, workers, cache, lines=None):
    from emoprobe.probe import schedule

    t0 = time.perf_counter()
    done = schedule.train(profile, seeds=seeds, names=names, workers=workers, cache_dir=cache,
                          log=(lambda m: (lines.append(m), print("   ", m, flush=True))) if lines is not None
                          else (lambda m: None))
    return time.perf_counter() - t0, done


def main(argv=None) -> int:
    import numpy as np

    from emoprobe.probe import zoo

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profile", default="quick", choices=sorted(zoo.PROFILES))
    ap.add_argument("--seeds", type=int, nargs="+", default=None, help="default: the profile's seeds")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--scores", default=None, help="write held-out scores of every model and seed to this JSON file")
    ap.add_argument("--keep", default=None, help="use (and keep) this cache folder instead of a temporary one")
    ap.add_argument("--no-ratio", action="store_true", help="skip the parallel-against-serial measurement")
    ap.add_argument("--ratio-models", nargs="+", default=["vlm-base", "videomae-web"])
    ap.add_argument("--class-order", default="fixed", choices=["fixed", "shuffled"],
                    help="candidate order of the held-out questions (the book's default is fixed)")
    args = ap.parse_args(argv)
    seeds = args.seeds or zoo.seeds(args.profile)
    tmp = tempfile.TemporaryDirectory(prefix="emoprobe-bench-")
    cache = args.keep or os.path.join(tmp.name, "models")
    # pools live beside the models: a cold run renders them too
    os.environ["EMOPROBE_CACHE_DIR"] = os.path.dirname(cache) if args.keep else tmp.name
    print(f"profile {args.profile}, seeds {seeds}, {args.workers} workers, load average {os.getloadavg()[0]:.2f}, "
          f"cache {cache}")
    lines = []
    total, done = _timed(args.profile, seeds, None, args.workers, cache, lines)
    print(f"total {total:.1f} s = {total / BUDGET_S:.2f} x the 15-minute budget "
          f"({sum(v['trained'] for v in done.values())} trainings); per model and seed (wall time of its job, "
          "pools included when it rendered them):")
    for (name, seed), v in sorted(done.items()):
        print(f"  {name:20s} seed {seed}  {v['seconds']:7.1f} s")
    t0 = time.perf_counter()
    _, warm_done = _timed(args.profile, seeds, None, args.workers, cache)
    warm = time.perf_counter() - t0
    print(f"warm rerun {warm:.1f} s, {sum(v['trained'] for v in warm_done.values())} trainings (target 0)")

    ratio = None
    if not args.no_ratio:
        with tempfile.TemporaryDirectory(prefix="emoprobe-ratio-") as r:
            runs = {}
            for workers in (args.workers, 1):
                os.environ["EMOPROBE_CACHE_DIR"] = os.path.join(r, f"w{workers}")  # pools rendered in both
                runs[workers], _ = _timed(args.profile, [0], args.ratio_models, workers,
                                          os.path.join(r, f"w{workers}", "models"))
        ratio = runs[args.workers] / runs[1]
        print(f"{' + '.join(args.ratio_models)} (seed 0): {args.workers} workers {runs[args.workers]:.1f} s, serial "
              f"{runs[1]:.1f} s: parallel / serial = {ratio:.2f}")

    if args.scores:
        results = {"profile": args.profile, "seeds": seeds, "total_seconds": total, "warm_seconds": warm,
                   "parallel_over_serial": ratio,
                   "job_seconds": {f"{n}/{s}": v["seconds"] for (n, s), v in done.items()},
                   "histories": {}, "scores": {}}
        by_seed = {}
        for name in zoo.list_models():
            for seed in seeds:
                h = zoo.history(name, args.profile, cache_dir=cache, seed=seed)
                results["histories"][f"{name}/{seed}"] = {k: h.get(k) for k in (
                    "seconds", "steps_per_second", "num_parameters", "drawn_label_share", "pool_seconds")}
                sc = score(name, args.profile, cache, seed, args.class_order)
                sc["rows"] = [{k: r.get(k) for k in ("id", "label", "kind", "prediction", "event_sampled")}
                              for r in sc["rows"]]
                results["scores"][f"{name}/{seed}"] = sc
                by_seed.setdefault(name, {})[seed] = sc["macro_f1"]
        print(f"held-out macro-F1 over seeds {seeds}: mean (sd; target sd <= {SEED_SD_TARGET})")
        for name, v in by_seed.items():
            vals = list(v.values())
            sd = float(np.std(vals, ddof=1)) if len(vals) > 1 else 0.0
            print(f"  {name:20s} {np.mean(vals):.3f} ({sd:.3f}{' over target' if sd > SEED_SD_TARGET else ''})   "
                  + " ".join(f"{x:.3f}" for x in vals))
        results["macro_f1_by_seed"] = by_seed
        with open(args.scores, "w") as f:
            json.dump(results, f, indent=1, default=str)
        print(f"scores written to {args.scores}")
    tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
