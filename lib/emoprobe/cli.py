"""Command line: ``emoprobe book`` (more subcommands arrive with the engine and the probe)."""

from __future__ import annotations

import argparse
import sys


def _book(args) -> int:
    from emoprobe.book import BookError, make_book

    try:
        make_book(profile=args.profile, only=args.only, force=args.force, build=not args.no_build)
    except BookError as err:
        print(f"book: error: {err}", file=sys.stderr)
        return 1
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="emoprobe", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    book = sub.add_parser("book", help="execute the notebooks of a profile (runs.yml) and build the book")
    book.add_argument("--profile", default="quick", help="smoke | quick | paper (default: quick)")
    book.add_argument("--only", nargs="+", metavar="NAME", help="execute only these notebooks")
    book.add_argument("--force", action="store_true", help="re-execute even if nothing changed")
    book.add_argument("--no-build", action="store_true", help="execute the notebooks but do not render")
    book.set_defaults(func=_book)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
