"""Train every probe model of a profile from scratch into a temporary cache; print each training time and the
total against the 15-minute budget, then a warm rerun (target: 0 trainings).

    python benchmarks/probe_training.py [--profile quick] [--scores results.json] [--keep DIR] [--extra-seeds 1 2]

``--scores`` also scores every model on the profile's held-out balanced test set, read from disk through
emoprobe.evaluate like any dataset (macro-F1, per-class recall,
prediction shares, micro-expression accuracy when the sampled frames caught / missed the event) and writes them
as JSON. ``--extra-seeds`` then trains and scores the whole zoo again for each of these seeds (untimed) and
prints every model's held-out macro-F1 as mean and standard deviation over all seeds. The CPU is whatever this machine gives now: the number of torch threads and the load average are
printed next to the times, so a run on a busy machine can be read (and extrapolated) honestly.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")

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


def main(argv=None) -> int:
    import torch

    from emoprobe.findings import summarize
    from emoprobe.probe import zoo

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profile", default="quick", choices=sorted(zoo.PROFILES))
    ap.add_argument("--scores", default=None, help="write held-out scores of every model to this JSON file")
    ap.add_argument("--keep", default=None, help="use (and keep) this cache folder instead of a temporary one")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--extra-seeds", type=int, nargs="*", default=[],
                    help="also train and score the zoo with these seeds (needs --scores)")
    ap.add_argument("--class-order", default="fixed", choices=["fixed", "shuffled"],
                    help="candidate order of the held-out questions (the book's default is fixed)")
    args = ap.parse_args(argv)

    torch.set_num_threads(2)
    tmp = None if args.keep else tempfile.TemporaryDirectory(prefix="emoprobe-bench-")
    cache = args.keep or tmp.name
    trainings = []

    def log(msg):
        if ": training" in msg:
            trainings.append(msg.split(":")[0])

    print(f"profile {args.profile}, torch threads {torch.get_num_threads()}, load average {os.getloadavg()[0]:.2f}, "
          f"cache {cache}")
    times = {}
    t_all = time.perf_counter()
    for name in zoo.list_models():
        t0 = time.perf_counter()
        zoo.get(name, args.profile, cache_dir=cache, seed=args.seed, progress=True, log=log)
        times[name] = time.perf_counter() - t0
        print(f"  {name:20s} {times[name]:7.1f} s   (load average {os.getloadavg()[0]:.2f})", flush=True)
    total = time.perf_counter() - t_all
    print(f"total {total:.1f} s = {total / BUDGET_S:.2f} x the 15-minute budget ({len(trainings)} trainings)")

    cold = len(trainings)
    t0 = time.perf_counter()
    for name in zoo.list_models():
        zoo.get(name, args.profile, cache_dir=cache, seed=args.seed, progress=False, log=log)
    warm = time.perf_counter() - t0
    print(f"warm rerun {warm:.1f} s, {len(trainings) - cold} trainings (target 0)")

    if args.scores:
        results = {"profile": args.profile, "train_seconds": times, "total_seconds": total, "warm_seconds": warm,
                   "histories": {}, "scores": {}}
        for name in zoo.list_models():
            h = zoo.history(name, args.profile, cache_dir=cache, seed=args.seed)
            results["histories"][name] = {k: h.get(k) for k in ("seconds", "steps_per_second", "num_parameters",
                                                                 "drawn_label_share", "drawn_micro_share",
                                                                 "pool_seconds")}
            results["histories"][name]["loss_first_last"] = [h["loss"][:20], h["loss"][-20:]]
            s = score(name, args.profile, cache, args.seed, args.class_order)
            s["rows"] = [{k: r.get(k) for k in ("id", "label", "kind", "prediction", "raw_output", "event_sampled")}
                         for r in s["rows"]]
            results["scores"][name] = s
            macro_rows = [r for r in s["rows"] if r["kind"] != "micro"]
            s["non_micro"] = {k: v for k, v in summarize(macro_rows, zoo.labels(args.profile)).items()
                              if k in ("n", "macro_f1", "war", "uar", "head_share", "predicted_share")}

            def fmt(x):
                return "-" if x is None else f"{x:.2f}"

            print(f"  {name:20s} macro-F1 {s['macro_f1']:.3f} (without micro clips {s['non_micro']['macro_f1']:.3f})"
                  f"  WAR {s['war']:.3f}  head share {s['head_share']:.3f}  unparsed {s['unparsed_rate']:.3f}"
                  f"  micro sampled/missed {fmt(s['micro_sampled_accuracy'])}/{fmt(s['micro_missed_accuracy'])}",
                  flush=True)
        seeds = {args.seed: {n: s["macro_f1"] for n, s in results["scores"].items()}}
        for seed in args.extra_seeds:
            print(f"seed {seed}:", flush=True)
            seeds[seed] = {}
            for name in zoo.list_models():
                seeds[seed][name] = score(name, args.profile, cache, seed, args.class_order)["macro_f1"]
                print(f"  {name:20s} macro-F1 {seeds[seed][name]:.3f}", flush=True)
        if len(seeds) > 1:
            import numpy as np

            results["macro_f1_by_seed"] = seeds
            print(f"held-out macro-F1 over seeds {sorted(seeds)}: mean (sd)")
            for name in zoo.list_models():
                v = [seeds[k][name] for k in seeds]
                print(f"  {name:20s} {np.mean(v):.3f} ({np.std(v, ddof=1):.3f})   " + " ".join(f"{x:.3f}" for x in v))
        with open(args.scores, "w") as f:
            json.dump(results, f, indent=1, default=str)
        print(f"scores written to {args.scores}")
    if tmp is not None:
        tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
