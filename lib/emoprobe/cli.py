"""Command line: ``emoprobe synth | train | eval | finetune | score | budget | book``.

Each subcommand lives beside the code it drives: the module listed in ``COMMANDS`` exposes
``add_command(subparsers)``, which adds its parser and sets ``func`` (returns an exit code). Modules are
imported lazily so ``emoprobe --help`` stays fast; a module that cannot be imported does not take the other
commands down, and running its command prints why (exit 1) instead of vanishing from the list.
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


def _unloadable(sub, name: str, module: str, err: Exception) -> None:
    """A command whose module cannot be imported: listed as such, and running it says why (exit 1)."""
    reason = f"emoprobe {name}: cannot load {module}: {type(err).__name__}: {err}"

    def fail(args) -> int:
        print(reason, file=sys.stderr)
        return 1

    p = sub.add_parser(name, help=f"(cannot be loaded: {err})", add_help=False)
    p.set_defaults(func=fail, unloadable=True)  # its own arguments are unknown: main() lets them through


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
            if not hasattr(mod, "add_command"):
                raise AttributeError(f"{module} has no add_command(subparsers)")
        except (ImportError, AttributeError) as err:  # never dropped silently: the command says why it is broken
            _unloadable(sub, name, module, err)
            continue
        mod.add_command(sub)
    return parser


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    command = argv[0] if argv and argv[0] in COMMANDS else None
    parser = build_parser(command)
    args, unknown = parser.parse_known_args(argv)
    if unknown and not getattr(args, "unloadable", False):
        parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
