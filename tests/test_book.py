"""The book pipeline: runs.yml, notebooks, papermill execution, the rendered smoke book."""

import json
import os
import re
from pathlib import Path

import nbformat
import pytest
import yaml

from emoprobe.book import BookError, load_runs, make_book

ROOT = Path(__file__).resolve().parents[1]
RUNS = yaml.safe_load((ROOT / "runs.yml").read_text())["notebooks"]


def _parameters_cell(nb):
    cells = [c for c in nb.cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(cells) == 1, "a notebook needs exactly one cell tagged `parameters`"
    names = set(re.findall(r"^([A-Za-z_]\w*)\s*=", cells[0].source, flags=re.M))
    return names


@pytest.mark.parametrize("entry", RUNS, ids=[e["name"] for e in RUNS])
def test_runs_file_matches_notebook_parameters(entry):
    nb = nbformat.read(ROOT / entry["path"], as_version=4)
    names = _parameters_cell(nb)
    assert "profile" in names
    assert set(entry["profiles"]) == {"smoke", "quick", "paper", "rehearsal"}
    for profile, params in entry["profiles"].items():
        unknown = set(params or {}) - names
        assert not unknown, f"runs.yml sets {unknown} for {profile}, which the parameters cell does not define"
    # a reader who opens the notebook and runs it sees the book's own (quick) build: its defaults are that profile
    assert not entry["profiles"]["quick"], f"quick sets {entry['profiles']['quick']}: make them the notebook's defaults"


@pytest.mark.parametrize("path", sorted((ROOT / "notebooks").glob("*.ipynb")), ids=lambda p: p.name)
def test_notebooks_are_committed_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert not cell.outputs and cell.execution_count is None, f"{path.name}: strip outputs"


def test_every_notebook_is_in_runs_and_toc():
    toc = (ROOT / "_toc.yml").read_text()
    listed = {Path(e["path"]).stem for e in RUNS}
    for path in (ROOT / "notebooks").glob("*.ipynb"):
        assert path.stem in listed, f"{path.name} is not in runs.yml"
        assert f"notebooks/{path.stem}" in toc, f"{path.name} is not in _toc.yml"


def test_unknown_profile_is_named():
    with pytest.raises(BookError, match="unknown profile 'fast'"):
        load_runs(ROOT, "fast")


def test_environment_yml_agrees_with_requirements():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    deps = env["dependencies"]
    assert "python=3.11" in deps
    pip = next(d["pip"] for d in deps if isinstance(d, dict))
    assert "-r requirements-dev.txt" in pip and "-e ." in pip
    dev = (ROOT / "requirements-dev.txt").read_text()
    assert "-r requirements.txt" in dev
    # every pin is exact, and torch/torchvision are pinned as a pair
    for line in (ROOT / "requirements.txt").read_text().splitlines() + dev.splitlines():
        line = line.split("#")[0].strip()
        if line and not line.startswith("-r"):
            assert re.fullmatch(r"[A-Za-z0-9_.\-\[\]]+==[\w.+]+", line), f"not an exact pin: {line}"
    reqs = (ROOT / "requirements.txt").read_text()
    assert "torch==" in reqs and "torchvision==" in reqs


def uncaptioned_figures(nb) -> list[str]:
    """The code cells that draw a figure and are not followed by a caption (a markdown cell that says what the
    figure shows and, in a sentence of its own, what to look at)."""
    cells = nb.cells
    missing = []
    for i, cell in enumerate(cells):
        if cell.cell_type != "code" or not any("image/png" in o.get("data", {}) for o in cell.get("outputs", [])):
            continue
        nxt = cells[i + 1] if i + 1 < len(cells) else None
        if nxt is None or nxt.cell_type != "markdown" or "What to look at:" not in nxt.source:
            missing.append(cell.get("id") or f"cell {i}")
    return missing


@pytest.mark.slow
def test_smoke_book_executes_and_renders(smoke_book):
    html, root = smoke_book["html"], smoke_book["root"]
    assert (html / "index.html").is_file()
    for entry in RUNS:
        page = html / Path(entry["path"]).with_suffix(".html")
        assert page.is_file(), f"{page} missing"
        text = page.read_text()
        assert "Parameters of this run" in text
        # directives rendered, not shown as raw MyST (a backtick fence breaks on a backtick in its title)
        assert "{admonition}" not in text, f"{page.name} shows a raw admonition"
        assert "<img" in text, f"{page.name} shows no figure"
        nb = nbformat.read(root / "_build" / "executed" / "smoke" / f"{entry['name']}.ipynb", as_version=4)
        assert nb.metadata["emoprobe"]["profile"] == "smoke"
        for cell in nb.cells:
            for out in cell.get("outputs", []):
                assert out.get("name") != "stderr"
        assert not uncaptioned_figures(nb), f"{entry['name']}: figures without a caption: {uncaptioned_figures(nb)}"
    # pages carry no path of the machine that built them
    for page in html.rglob("*.html"):
        text = page.read_text()
        assert str(root) not in text and os.path.expanduser("~") + "/" not in text, page
    assert (html / "_static" / "mathjax" / "tex-chtml.js").is_file()


@pytest.mark.slow
def test_results_page_is_built_from_what_each_chapter_recorded(smoke_book):
    """The results page, results.json and results.csv hold one row per finding, each with the verdict its
    executed chapter shows; each finding chapter opens with its summary figure under the claim."""
    import csv

    from emoprobe.results import FINDINGS

    html, root = smoke_book["html"], smoke_book["root"]
    executed = root / "_build" / "executed" / "smoke"
    shown = _verdicts(executed)
    rows = json.loads((html / "results.json").read_text())
    assert [r["finding"] for r in rows] == list(FINDINGS)
    for r in rows:
        assert r["status"] == shown[r["chapter"]], r  # the page says what the chapter's box says
        assert r["profile"] == "smoke" and r["reason"] and r["ours"]
    with open(html / "results.csv", newline="") as f:
        assert [r["status"] for r in csv.DictReader(f)] == [r["status"] for r in rows]
    page = (html / "book" / "results.html").read_text()
    for r in rows:
        assert f'href="../notebooks/{r["chapter"]}.html"' in page, r["chapter"]
    for chapter in (f.chapter for f in FINDINGS.values()):
        nb = nbformat.read(executed / f"{chapter}.ipynb", as_version=4)
        tags = [c.metadata.get("tags", []) for c in nb.cells]
        first = next(i for i, t in enumerate(tags) if "emoprobe-summary" in t)
        assert first == 1 and nb.cells[0].cell_type == "markdown", chapter  # right under the claim
        assert "image/png" in nb.cells[first].outputs[0]["data"]
        assert not any("application/vnd.emoprobe.result+json" in o.get("data", {})
                       for c in nb.cells for o in c.get("outputs", []))


@pytest.mark.slow
def test_rerun_command_gives_the_same_parameters(smoke_book, tmp_path):
    """The parameter box's papermill command, run as printed (papermill --prepare-only), injects exactly the
    parameters this run had."""
    import html
    import shlex
    import subprocess

    from emoprobe.book import rerun_command

    root = smoke_book["root"]
    for name in ("f2_frame_shuffle", "f6_micro_sampling"):
        nb = nbformat.read(root / "_build" / "executed" / "smoke" / f"{name}.ipynb", as_version=4)
        params = nb.metadata["emoprobe"]["parameters"]
        page = html.unescape(re.sub(r"<[^>]+>", "", (smoke_book["html"] / "notebooks" / f"{name}.html").read_text()))
        assert f"papermill notebooks/{name}.ipynb" in page  # the command is on the page as text
        cmd = shlex.split(rerun_command(f"notebooks/{name}.ipynb", params))
        assert cmd[0] == ".venv/bin/papermill" and (ROOT / cmd[0]).is_file()
        out = tmp_path / f"{name}.ipynb"
        subprocess.run([cmd[0], cmd[1], str(out), *cmd[3:], "--prepare-only"], cwd=ROOT, check=True,
                       capture_output=True)
        injected = next(c for c in nbformat.read(out, as_version=4).cells
                        if "injected-parameters" in c.metadata.get("tags", []))
        scope = {}
        exec(injected.source, scope)
        assert {k: scope[k] for k in params} == params


def test_parameter_box_shows_what_differs_and_folds_the_rest():
    from emoprobe.book import _parameter_table

    nb = nbformat.v4.new_notebook()
    text = _parameter_table(nb, {"profile": "smoke", "seed": 0, "models": ["a", "b"]},
                            {"profile": "quick", "seed": 0, "models": ["x"], "n_boot": 1000}, "notebooks/x.ipynb")
    shown, folded = text.split(":::{dropdown}")
    assert "`profile`" in shown and "`models`" in shown and "`seed`" not in shown and "`n_boot`" not in shown
    assert "All 4 parameters" in folded and "`n_boot`" in folded and "`seed`" in folded
    assert "papermill notebooks/x.ipynb x.out.ipynb -y" in folded


@pytest.mark.slow
def test_warm_rebuild_reuses_executed_notebooks(smoke_book):
    logs = []
    make_book(profile="smoke", root=smoke_book["root"], build=False, log=logs.append)
    assert all("up to date" in line for line in logs if line.startswith("book: f")), logs
    assert sum("up to date" in line for line in logs) == len(RUNS)
    # a chapter edited since it ran, reused by --only for another chapter, is reported as out of date
    f1 = smoke_book["root"] / "notebooks" / "f1_vlm_vs_vision.ipynb"
    before = f1.read_bytes()
    try:
        nb = nbformat.read(f1, as_version=4)
        nb.cells.append(nbformat.v4.new_markdown_cell("An edit after the run."))
        nbformat.write(nb, f1)
        logs.clear()
        make_book(profile="smoke", root=smoke_book["root"], only=["f2_frame_shuffle"], build=False, log=logs.append)
        assert [line for line in logs if "out of date" in line] == [
            line for line in logs if line.startswith("book: f1_vlm_vs_vision:")], logs
        assert any(line.startswith("book: f1_vlm_vs_vision:") for line in logs)
    finally:
        f1.write_bytes(before)


@pytest.mark.slow
def test_failing_notebook_stops_the_build_naming_notebook_and_cell(tmp_path):
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell("profile = 'quick'")
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell("x = 1"), nbformat.v4.new_code_cell("1 / 0")]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    (tmp_path / "notebooks").mkdir()
    nbformat.write(nb, tmp_path / "notebooks" / "broken.ipynb")
    (tmp_path / "runs.yml").write_text(yaml.safe_dump({"notebooks": [
        {"name": "broken", "path": "notebooks/broken.ipynb", "profiles": {"smoke": {}}}]}))
    (tmp_path / "_toc.yml").write_text("format: jb-book\nroot: notebooks/broken\n")
    (tmp_path / "requirements.txt").write_text("")
    with pytest.raises(BookError) as err:
        make_book(profile="smoke", root=tmp_path, build=False, log=lambda *_: None)
    msg = str(err.value)
    assert "broken.ipynb" in msg and "ZeroDivisionError" in msg and "1 / 0" in msg
    assert re.search(r"cell \d+", msg)


def test_cli_reports_book_errors(tmp_path, monkeypatch, capsys):
    from emoprobe.cli import main

    monkeypatch.chdir(tmp_path)
    assert main(["book", "--profile", "smoke"]) == 1
    assert "no runs.yml" in capsys.readouterr().err


def test_notebook_json_is_valid():
    for path in (ROOT / "notebooks").glob("*.ipynb"):
        nbformat.validate(nbformat.read(path, as_version=4))
        json.loads(path.read_text())


def _verdicts(executed: Path) -> dict:
    out = {}
    for path in sorted(executed.glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            for o in cell.get("outputs", []):
                m = re.search(r"Verdict: ([^\n]+)", "".join(o.get("data", {}).get("text/markdown", "")))
                if m:
                    out[path.stem] = m.group(1).strip()
    return out


@pytest.mark.slow
def test_rehearsal_book_runs_the_paper_path_offline_and_claims_nothing(rehearsal_book):
    """Every registered VLM family (tiny random weights), a video classifier, a LoRA fine-tune and MSCE, on probe
    data in the DFEW and MAFW layouts: every chapter executes, and every verdict that rests on a model says
    "not testable here" (the answers are noise). F6's capture arithmetic uses no model, so it stands."""
    html, root = rehearsal_book["html"], rehearsal_book["root"]
    for entry in RUNS:
        assert (html / Path(entry["path"]).with_suffix(".html")).is_file()
    verdicts = _verdicts(root / "_build" / "executed" / "rehearsal")
    findings = [e["name"] for e in RUNS if e["name"].startswith("f")]
    assert set(verdicts) == set(findings)
    for name, status in verdicts.items():
        if name == "f6_micro_sampling":  # arithmetic on clip lengths and sampler rules, no model
            assert status.startswith("reproduced"), status
        else:
            assert status == "not testable here", (name, status)
    families = {"qwen2.5-vl", "qwen3-vl", "internvl3", "llava-next-video", "video-llava", "llava-onevision",
                "qwen2.5-omni", "qwen2-vl"}
    used = {f for e in RUNS for v in (e["profiles"]["rehearsal"] or {}).values()
            for f in (v if isinstance(v, list) else [v]) if isinstance(f, str) and f.startswith("tiny:")}
    assert {u.removeprefix("tiny:") for u in used} == families


@pytest.mark.parametrize("entry", [e for e in RUNS if e["name"].startswith("f")], ids=lambda e: e["name"])
def test_every_exercise_has_a_folded_worked_solution(entry):
    """Teachers get a solution for each exercise, after the exercises and folded: a code cell tagged hide-cell
    (computed when the chapter executes) or a dropdown."""
    nb = nbformat.read(ROOT / entry["path"], as_version=4)
    at = next(i for i, c in enumerate(nb.cells) if c.cell_type == "markdown" and c.source.startswith("## Exercises"))
    asked = re.findall(r"^(\d+)\. ", nb.cells[at].source, flags=re.M)
    solved = {}
    for cell in nb.cells[at + 1:]:
        # the heading is written out, or made by emoprobe.solutions.heading(n)
        for n in (a or b for a, b in re.findall(r"Solution to exercise (\d+)|solutions\.heading\((\d+)", cell.source)):
            folded = ("hide-cell" in cell.metadata.get("tags", []) if cell.cell_type == "code"
                      else "{dropdown} Solution to exercise" in cell.source)
            solved[n] = folded
    assert asked and set(solved) == set(asked), (asked, solved)
    assert all(solved.values()), solved
