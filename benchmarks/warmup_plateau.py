"""Why the probe VLM's warm-up sits on a chance plateau for a seed-dependent number of steps, and what shortens it.

Trains ``vlm-base``'s warm-up (plain 8-frame questions on clear expressions, the quick profile's web pool) for
each recipe variant and seed, and prints per run: the step at which the loss leaves the chance plateau (first
step whose 50-step mean loss is below ``--exit-loss``; the plateau sits at about ln(7)/2 = 0.97, the answer word
uniform over DFEW's 7 classes, averaged with the trivially learned end token), the final training loss, and
held-out accuracy of the answer word on the quick test set's clips (first answer token, teacher-forced; the
test set is balanced, so this is the unweighted recall). Then mean and standard deviation over seeds.

    python benchmarks/warmup_plateau.py [--steps 800] [--seeds 0 1 2] [--variants base vision-lr5 ...]

Each variant is a set of training overrides (``VARIANTS``); the pools are encoded once per seed and shared.
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")

VARIANTS = {
    "base": {},
    "lr2e-3": {"lr": 2e-3},
    "vision-lr5": {"lr_scale": {"model.visual.": 5.0}},
    "vision-lr10": {"lr_scale": {"model.visual.": 10.0}},
    "lr5e-4": {"lr": 5e-4},
    "batch32": {"batch_size": 32},
    "batch64": {"batch_size": 64},
    "no-decay": {"weight_decay": 0.0},
}


def _answer_accuracy(vlm, pool) -> float:
    """Share of examples whose most likely first answer token (among the classes' first tokens) is right."""
    import torch

    examples = pool["examples"]
    pad = vlm.processor.tokenizer.pad_token_id
    from emoprobe.probe.vlm.encode import collate

    first = [int(e["labels"][e["labels"] != -100][0]) for e in examples]
    options = sorted(set(first))
    right = 0
    vlm.model.eval()
    with torch.no_grad():
        for i in range(0, len(examples), 32):
            chunk = examples[i:i + 32]
            batch = collate(chunk, pad)
            n_ans = [(e["labels"] != -100).sum().item() for e in chunk]
            logits = vlm.model(**{k: v for k, v in batch.items() if k != "labels"}).logits
            length = batch["input_ids"].shape[1]
            for j, k in enumerate(n_ans):
                pos = length - k - 1  # the position that predicts the first answer token (left padding)
                pick = options[int(torch.argmax(logits[j, pos, options]))]
                right += pick == first[i + j]
    return right / len(examples)


def main(argv=None) -> int:
    import numpy as np
    import torch

    from emoprobe.probe import zoo
    from emoprobe.probe.vlm.budget import VISUAL_TOKENS
    from emoprobe.probe.vlm.build import build
    from emoprobe.probe.vlm.pools import build_pool
    from emoprobe.probe.vlm.train import train_probe_vlm

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=800)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    ap.add_argument("--exit-loss", type=float, default=0.85)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)

    base_cfg = zoo.config("vlm-base", "quick")
    web = {**base_cfg["pool"]}
    test = zoo.test_pool("quick", "test")
    results = {}
    for seed in args.seeds:
        probe = build(seed=seed, **base_cfg["train"]["model"])
        t0 = time.perf_counter()
        pool = build_pool(zoo.timelines(web), {"plain": 2}, probe.processor, seed, VISUAL_TOKENS, 0.0,
                          dataset=web["dataset"])
        held = build_pool(zoo.timelines(test), {"plain": 1}, probe.processor, 999, VISUAL_TOKENS, 0.0,
                          dataset=test["dataset"])
        print(f"seed {seed}: pools encoded in {time.perf_counter() - t0:.0f} s", flush=True)
        for name in args.variants:
            # a constant rate after the warm-up: the first 1,000 steps of the zoo's 3,000-step cosine stay
            # above 77 % of the peak, and a short cosine would decay where the plateau ends
            cfg = {**base_cfg["train"], "steps": args.steps, "num_threads": args.threads, "min_lr_ratio": 1.0}
            cfg.pop("tasks_per_clip")
            cfg.update(VARIANTS[name])
            t0 = time.perf_counter()
            out = train_probe_vlm(pool, cfg, seed=seed, progress=False)
            loss = np.asarray(out["history"]["loss"])
            smooth = np.convolve(loss, np.ones(50) / 50, mode="valid")
            below = np.flatnonzero(smooth < args.exit_loss)
            exit_step = int(below[0]) + 50 if len(below) else None
            acc = _answer_accuracy(out["model"], held)
            results.setdefault(name, []).append((exit_step, float(smooth[-1]), acc))
            print(f"  {name:12s} seed {seed}: plateau exit {exit_step}  final loss {smooth[-1]:.3f}  "
                  f"held-out acc {acc:.3f}  ({time.perf_counter() - t0:.0f} s)", flush=True)
    print(f"\n{args.steps} steps; chance accuracy {1 / 7:.3f}")
    for name, runs in results.items():
        exits = [r[0] if r[0] is not None else args.steps for r in runs]
        accs = [r[2] for r in runs]
        print(f"{name:12s} exit step mean {np.mean(exits):6.0f} (per seed {exits})  "
              f"held-out acc {np.mean(accs):.3f} sd {np.std(accs, ddof=1) if len(accs) > 1 else 0:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
