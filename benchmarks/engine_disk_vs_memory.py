"""The one engine reading probe clips from disk vs asking the same model about frames held in memory.

The chapters used to render probe test clips in memory and call the model on them; they now read a test set
written in the DFEW layout (PNG frames) through the loaders and emoprobe.evaluate, like any real dataset. This
script times both on the same clips, model and frames (8 uniform frames), alternating the two so that a
loaded machine slows both alike, and prints the ratio (target: disk / memory <= 1.25). The memory path is
rebuilt here only as the baseline: sample, index the rendered frames, one batched generate, parse.

    python benchmarks/engine_disk_vs_memory.py [--profile quick] [--model vlm-prior1] [--clips 120] [--repeats 3]
"""

import argparse
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def memory_rows(backend, clips, labels, seed=0):
    from emoprobe import prompts
    from emoprobe.parse import parse
    from emoprobe.samplers import clip_rng, make_sampler
    from emoprobe.vlm.base import VLMRequest

    smp, reqs = make_sampler("uniform", num_samples=8), []
    for cid, frames, fps in clips:
        s = smp.sample(len(frames), fps, rng=clip_rng(seed, cid))
        text = prompts.render("closed_set", labels, seed=seed, clip_id=cid)["text"]
        reqs.append(VLMRequest(prompt=text, frames=frames[s.indices], frame_indices=s.indices.tolist(),
                               timestamps=s.timestamps.tolist(), clip_fps=fps, clip_num_frames=len(frames),
                               request_id=cid))
    return [parse(a["text"], labels) for a in backend.generate(reqs)]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profile", default="quick")
    ap.add_argument("--model", default="vlm-prior1")
    ap.add_argument("--clips", type=int, default=120)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args(argv)

    from emoprobe.data import load
    from emoprobe.evaluate import evaluate
    from emoprobe.labels import label_set
    from emoprobe.probe import testsets
    from emoprobe.sources import resolve_model
    from emoprobe.video import read_frames
    from emoprobe.vlm.hf import HFBackend

    t0 = time.perf_counter()
    root = testsets.folder(args.profile, "test", progress=True)
    print(f"test set on disk: {root} ({time.perf_counter() - t0:.1f} s, written once and cached)")
    dataset = testsets.dataset_of(args.profile)
    labels = list(label_set(dataset))
    records = load(dataset, root, fold=testsets.FOLD)[:args.clips]
    # the memory baseline holds every frame decoded up front (what rendering in memory gave the old path)
    clips = [(r["id"], read_frames(r["path"], range(r["meta"]["num_frames"])), float(r["meta"]["fps"]))
             for r in records]
    backend = HFBackend(resolve_model(f"probe:{args.profile}/{args.model}"), batch_size=16, max_new_tokens=12,
                        dtype="float32")
    backend.load()
    times = {"memory": [], "disk": []}
    with tempfile.TemporaryDirectory() as tmp:
        for k in range(args.repeats):
            t = time.perf_counter()
            memory_rows(backend, clips, labels)
            times["memory"].append(time.perf_counter() - t)
            t = time.perf_counter()
            evaluate(records, model=backend, sampler="uniform", sampler_params={"num_samples": 8},
                     out_dir=Path(tmp) / f"run{k}", dataset=dataset, cache=False, progress=False, batch_size=16,
                     max_new_tokens=12)
            times["disk"].append(time.perf_counter() - t)
    memory, disk = min(times["memory"]), min(times["disk"])
    print(f"{len(records)} clips, 8 frames each, best of {args.repeats}: memory {memory:.2f} s, "
          f"disk (emoprobe.evaluate) {disk:.2f} s, ratio {disk / memory:.2f} (target <= 1.25)")


if __name__ == "__main__":
    main()
