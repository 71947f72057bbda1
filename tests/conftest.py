"""Shared fixtures: the smoke book is executed and rendered once per test session."""

import shutil
from pathlib import Path

import pytest

from emoprobe.book import make_book

ROOT = Path(__file__).resolve().parents[1]


def _copy_sources(dest: Path):
    for name in ("runs.yml", "_config.yml", "_toc.yml", "requirements.txt"):
        shutil.copy2(ROOT / name, dest / name)
    for name in ("book", "notebooks"):
        shutil.copytree(ROOT / name, dest / name)
    (dest / "node_modules").symlink_to(ROOT / "node_modules")


@pytest.fixture(scope="session")
def smoke_book(tmp_path_factory):
    """The whole book executed in the smoke profile and rendered, in a scratch copy of the repository."""
    root = tmp_path_factory.mktemp("book")
    _copy_sources(root)
    logs = []
    html = make_book(profile="smoke", root=root, log=logs.append)
    return {"root": root, "html": html, "logs": logs}




@pytest.fixture(scope="session")
def rehearsal_book(tmp_path_factory):
    """The whole book executed in the rehearsal profile (the paper profile's code path on tiny random-weight
    models of every family) and rendered, in a scratch copy of the repository."""
    root = tmp_path_factory.mktemp("rehearsal")
    _copy_sources(root)
    logs = []
    html = make_book(profile="rehearsal", root=root, log=logs.append)
    return {"root": root, "html": html, "logs": logs}
