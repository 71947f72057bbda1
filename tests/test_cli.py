"""The command line: every registered subcommand exists, parses --help, and reports bad input clearly."""

import importlib
import json

import pytest

from emoprobe import budget
from emoprobe.cli import COMMANDS, main


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_subcommand_is_defined_beside_its_code(name, capsys):
    module = importlib.import_module(COMMANDS[name])
    assert callable(getattr(module, "add_command", None)), f"{COMMANDS[name]} has no add_command"
    with pytest.raises(SystemExit) as exit_:
        main([name, "--help"])
    assert exit_.value.code == 0
    assert f"emoprobe {name}" in capsys.readouterr().out


def test_a_command_whose_module_is_broken_says_so(monkeypatch, capsys):
    """A subcommand whose module cannot be imported is still listed, and running it names the import error."""
    monkeypatch.setitem(COMMANDS, "ghost", "emoprobe.no_such_module")
    monkeypatch.setitem(COMMANDS, "husk", "emoprobe.labels")  # imports, but defines no command
    assert main(["ghost", "--out", "x"]) == 1
    err = capsys.readouterr().err
    assert "emoprobe ghost: cannot load emoprobe.no_such_module" in err and "No module named" in err
    assert main(["husk"]) == 1
    assert "has no add_command" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert "ghost" in out and "husk" in out and "budget" in out  # the others are unaffected


def test_budget_prints_every_family_and_agrees_with_the_library(capsys):
    assert main(["budget", "--frames", "70", "--fps", "25", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["family"] for r in rows] == budget.list_families()
    for r in rows:
        expected = budget.clip_budget(r["family"], 224, 224, 70, 25.0)
        assert r["visual_tokens"] == expected["visual_tokens"]
        assert r["capture_0.25s"] == pytest.approx(expected["capture_0.25s"])


def test_budget_names_a_bad_parameter(capsys):
    assert main(["budget", "--frames", "0"]) == 2
    assert "frames" in capsys.readouterr().err
