"""Command line: ``emoprobe synth | train | eval | finetune | score | budget | book``.

Each subcommand lives beside the code it drives: the module listed in ``COMMANDS`` exposes
``add_command(subparsers)``, which adds its parser and sets ``func`` (returns an exit code). Modules are
imported lazily so ``emoprobe --help`` stays fast and a broken optional part does not take the others down.
"""

from __future__ import annotations

import argparse
import importlib
import sys

# subcommand -> module that defines it
COMMANDS = {
    "synth": "emoprobe.data.synth.cli",
    "train": "emoprobe.probe.cli",
    "eval": "emoprobe.eval_cli",
    "finetune": "emoprobe.finetune",
    "score": "emoprobe.score",
    "budget": "emoprobe.budget",
    "book": "emoprobe.book",
}


def build_parser(argv_command: str | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="emoprobe", description="Reproduce the findings of arXiv 2604.15280.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="{" + ",".join(COMMANDS) + "}")
    for name, module in COMMANDS.items():
        if argv_command is not None and name != argv_command:
            # only import the module of the command being run; the others get a placeholder for --help
            sub.add_parser(name, help=f"(see `emoprobe {name} --help`)")
            continue
        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError as err:
            if err.name and module.startswith(err.name):  # the part is not built yet
                continue
            raise
        if hasattr(mod, "add_command"):
            mod.add_command(sub)
    return parser


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    command = argv[0] if argv and argv[0] in COMMANDS else None
    args = build_parser(command).parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
