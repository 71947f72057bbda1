"""Cold run vs warm-cache rerun of `emoprobe.evaluate` on a tiny random-weight Qwen2-VL.

Prints both wall times, their ratio, and the model calls of the warm run. Targets: zero calls on the warm
run and a warm time under 5 % of the cold one (the warm run still probes each clip's header; it decodes no
frames and never loads the model). Both runs happen in this process, one after the other.

    python benchmarks/cache_rerun.py [--clips 40] [--max-new-tokens 32]
"""

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clips", type=int, default=40)
    ap.add_argument("--max-new-tokens", type=int, default=32)
    args = ap.parse_args(argv)

    from vlm_fixtures import CLIP_LABELS, write_clips

    from emoprobe.evaluate import evaluate
    from emoprobe.vlm.hf import HFBackend
    from emoprobe.vlm.tiny import build_tiny

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        model = build_tiny("qwen2-vl", tmp / "tiny")
        records = write_clips(tmp / "clips", args.clips, num_frames=50, fps=25.0)
        cache = tmp / "cache.jsonl"
        kw = dict(sampler="uniform", sampler_params={"num_samples": 8}, labels=CLIP_LABELS, cache=cache,
                  max_new_tokens=args.max_new_tokens, progress=False)
        t0 = time.perf_counter()
        cold = evaluate(records, model=HFBackend(str(model), batch_size=4), out_dir=tmp / "cold", **kw)
        t_cold = time.perf_counter() - t0
        t0 = time.perf_counter()
        warm_backend = HFBackend(str(model), batch_size=4)
        warm = evaluate(records, model=warm_backend, out_dir=tmp / "warm", **kw)
        t_warm = time.perf_counter() - t0
    ratio = t_warm / t_cold
    print(f"clips: {args.clips}, 8 frames each, max_new_tokens {args.max_new_tokens}")
    print(f"cold run: {t_cold:8.3f} s  model calls {cold['counts']['model_calls_this_run']} (includes model load)")
    print(f"warm run: {t_warm:8.3f} s  model calls {warm['counts']['model_calls_this_run']}, "
          f"cache hits {warm['counts']['cache_hits_this_run']}, model loaded: {hasattr(warm_backend, 'model_')}")
    print(f"warm / cold time: {ratio:.3%}  (target < 5 %, zero calls) -> "
          f"{'OK' if ratio < 0.05 and warm['counts']['model_calls_this_run'] == 0 else 'MISSED'}")


if __name__ == "__main__":
    main()
