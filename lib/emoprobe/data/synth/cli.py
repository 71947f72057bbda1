"""`emoprobe synth`: write a synthetic probe dataset in a real dataset's on-disk layout."""

from __future__ import annotations

from pathlib import Path

from .face import DEFAULT_SIZE
from .generate import DEFAULT_FPS, PRIORS


def add_command(subparsers):
    p = subparsers.add_parser("synth", help="generate the synthetic probe dataset (DFEW / MAFW / FERV39k layout)")
    p.add_argument("--prior", choices=PRIORS, default="dfew", help="class prior (real counts) or balanced")
    p.add_argument("--dataset", choices=("dfew", "mafw", "ferv39k"), default=None,
                   help="label set and layout (default: the prior's dataset; dfew for balanced)")
    p.add_argument("--clips", type=int, default=1000, help="number of clips")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", required=True, help="output folder (the dataset root)")
    p.add_argument("--format", choices=("frames", "mp4"), default="frames")
    p.add_argument("--fps", type=float, default=DEFAULT_FPS)
    p.add_argument("--size", type=int, default=DEFAULT_SIZE, help="frame side in pixels")
    p.add_argument("--micro-fraction", type=float, default=0.0,
                   help="share of expressive clips that are micro-expressions (0.25-0.5 s)")
    p.add_argument("--lengths", default=None,
                   help="clip lengths: a dataset name (its frame-count distribution) or a fixed frame count")
    p.add_argument("--workers", type=int, default=1, help="rendering processes")
    p.add_argument("--no-nuisance", action="store_true", help="no blinks, talking, jitter, lighting or noise")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=run)
    return p


def run(args) -> int:
    import sys

    from .generate import make_dataset_spec
    from .writers import write_dataset

    lengths = args.lengths
    if lengths is not None and lengths.isdigit():
        lengths = int(lengths)
    options = {"nuisance": False} if args.no_nuisance else {}
    try:
        if args.clips < 1:
            raise ValueError(f"--clips: expected a positive number of clips, got {args.clips}")
        if Path(args.out).exists() and not Path(args.out).is_dir():
            raise ValueError(f"--out {args.out}: is a file; expected a folder (the dataset root) to write")
        spec = make_dataset_spec(args.prior, args.clips, seed=args.seed, dataset=args.dataset,
                                 micro_fraction=args.micro_fraction, fps=args.fps, lengths=lengths, **options)
        summary = write_dataset(spec, args.out, format=args.format, size=args.size, workers=args.workers,
                                progress=not args.no_progress)
    except (ValueError, OSError) as e:  # user errors: one line, no traceback
        print(f"emoprobe synth: error: {e}", file=sys.stderr)
        return 2
    print(f"wrote {summary['clips']} {summary['dataset']} clips ({summary['frames']} frames, {summary['format']}) "
          f"to {summary['root']}; ground truth in {summary['meta']}")
    return 0
