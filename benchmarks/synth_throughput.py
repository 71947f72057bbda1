"""How fast does the probe generator write a dataset? Run: python benchmarks/synth_throughput.py [N] [--size S]

Writes N clips (default 1000; DFEW prior and frame-count distribution, 25 fps, default size, jpg frame folders)
with 1 and then 2 worker processes, and prints clips/second, frames/second, and the projected time for 1,000
clips against the 2-minute target (ratio = target / projected; >= 1 meets it). Both runs happen in the same
invocation, so the ratio between them is measured on the same machine state. Other work on the machine
slows both down: run it on an idle machine for a fair figure.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time

from emoprobe.data.synth import DEFAULT_SIZE, make_dataset_spec, write_dataset

TARGET_SECONDS = 120.0  # 1,000 clips in 2 minutes
TARGET_CLIPS = 1000


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("clips", nargs="?", type=int, default=1000)
    p.add_argument("--size", type=int, default=DEFAULT_SIZE)
    p.add_argument("--format", default="frames", choices=("frames", "mp4"))
    args = p.parse_args(argv)
    spec = make_dataset_spec("dfew", args.clips, seed=0)
    frames = sum(c["num_frames"] for c in spec["clips"])
    print(f"{args.clips} clips, {frames} frames (mean {frames / args.clips:.1f}), size {args.size}, {args.format}")
    results = {}
    for workers in (1, 2):
        out = tempfile.mkdtemp(prefix="synth_bench_")
        try:
            t0 = time.perf_counter()
            write_dataset(spec, out, format=args.format, size=args.size, workers=workers, progress=False)
            dt = time.perf_counter() - t0
        finally:
            shutil.rmtree(out, ignore_errors=True)
        projected = dt / args.clips * TARGET_CLIPS
        results[workers] = dt
        print(f"workers={workers}: {args.clips / dt:6.2f} clips/s, {frames / dt:7.0f} frames/s; "
              f"1,000 clips in {projected:6.1f} s; target/actual = {TARGET_SECONDS / projected:.2f}")
    print(f"speed-up of 2 workers over 1: {results[1] / results[2]:.2f}x")


if __name__ == "__main__":
    main()
