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
