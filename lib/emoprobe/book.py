"""Execute the book's notebooks with papermill, then build the book with execution off.

Jupyter Book has no notion of parameters, so (as CUPiD and Project Pythia do) each notebook is executed first
with the parameters that ``runs.yml`` lists for the chosen profile, into ``_build/executed/<profile>/``; the
sources plus the executed copies are staged into ``_build/src``; Jupyter Book renders the staged tree into
``_build/html``. An executed notebook is reused when nothing it depends on changed (the notebook, its
parameters, the package's code, the pinned requirements), which is what makes a warm ``make book`` fast;
jupyter-cache cannot do this because it ignores imported modules.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import yaml

import emoprobe

PROFILES = ("smoke", "quick", "paper", "rehearsal")
LIB_DIR = Path(emoprobe.__file__).resolve().parent


class BookError(RuntimeError):
    """A notebook or the book build failed; the message says which and where."""


def find_root(start: Path | None = None) -> Path:
    """The repository root: the nearest parent holding ``runs.yml`` and ``_toc.yml``."""
    here = (start or Path.cwd()).resolve()
    for d in [here, *here.parents]:
        if (d / "runs.yml").is_file() and (d / "_toc.yml").is_file():
            return d
    raise BookError(f"no runs.yml and _toc.yml found in {here} or its parents; run from the repository")


def load_runs(root: Path, profile: str) -> list[dict]:
    """The notebooks of ``runs.yml`` with the parameters of ``profile`` (plus ``profile`` itself)."""
    if profile not in PROFILES:
        raise BookError(f"unknown profile {profile!r}; expected one of {', '.join(PROFILES)}")
    path = root / "runs.yml"
    spec = yaml.safe_load(path.read_text())
    runs = []
    for entry in spec.get("notebooks", []):
        for key in ("name", "path"):
            if key not in entry:
                raise BookError(f"{path}: every notebook needs '{key}', got {entry}")
        params = dict((entry.get("profiles") or {}).get(profile) or {})
        params["profile"] = profile
        runs.append({"name": entry["name"], "path": root / entry["path"], "source": entry["path"],
                     "parameters": params})
    return runs


def _toc_files(entry) -> list[str]:
    if isinstance(entry, dict):
        own = [entry[k] for k in ("root", "file") if isinstance(entry.get(k), str)]
        return own + [f for v in entry.values() for f in _toc_files(v)]
    if isinstance(entry, list):
        return [f for v in entry for f in _toc_files(v)]
    return []


def check_listed(root: Path, runs: list[dict]) -> list[str]:
    """A chapter added in one list but not the other: every notebook of runs.yml must be a page of ``_toc.yml``
    (Jupyter Book would leave it out of the book), else a ``BookError`` says what to add. Returns the findings of
    emoprobe.results.FINDINGS whose chapter runs.yml does not list (a trimmed book may leave some out; their
    results rows read "not executed"), for the log."""
    from emoprobe.results import FINDINGS

    pages = {str(Path(f).with_suffix("")) for f in _toc_files(yaml.safe_load((root / "_toc.yml").read_text()))}
    missing = [f"{r['source']} is in runs.yml but not in _toc.yml (add `- file: {Path(r['source']).with_suffix('')}`)"
               for r in runs if str(Path(r["source"]).with_suffix("")) not in pages]
    if missing:
        raise BookError("the book's chapter lists disagree:\n  " + "\n  ".join(missing))
    names = {r["name"] for r in runs}
    return [f"finding {f} (emoprobe.results.FINDINGS) names chapter {e.chapter!r}, which runs.yml does not list"
            for f, e in FINDINGS.items() if e.chapter not in names]


def _code_fingerprint(root: Path) -> str:
    """The library's code without docstrings and comments (emoprobe.codehash.module_text), and the pins."""
    from emoprobe.codehash import module_text

    h = hashlib.sha256()
    for f in sorted(LIB_DIR.rglob("*.py")):
        h.update(str(f.relative_to(LIB_DIR)).encode() + b"\0" + module_text(f).encode() + b"\0")
    h.update((root / "requirements.txt").read_bytes())
    return h.hexdigest()


def run_key(notebook: Path, parameters: dict, code_fingerprint: str) -> str:
    """What an executed notebook depends on; equal keys mean its outputs can be reused."""
    h = hashlib.sha256()
    h.update(notebook.read_bytes())
    h.update(json.dumps(parameters, sort_keys=True).encode())
    h.update(code_fingerprint.encode())
    return h.hexdigest()[:16]


def _value(v) -> str:
    return f'"{v}"' if isinstance(v, str) else json.dumps(v)


def rerun_command(notebook: str, parameters: dict) -> str:
    """The papermill command line that reruns a chapter with these parameters (JSON is valid YAML for -y)."""
    import shlex

    name = Path(notebook).stem
    # the virtualenv's papermill, as every command of the README: it runs from a fresh clone after `make`
    return (f".venv/bin/papermill {shlex.quote(notebook)} {shlex.quote(name + '.out.ipynb')} -y "
            + shlex.quote(json.dumps(parameters, ensure_ascii=False)))


def _parameter_table(nb, parameters: dict, defaults: dict, notebook: str = "") -> str:
    merged = {**defaults, **parameters}
    changed = sorted(k for k in parameters if k not in defaults or defaults[k] != parameters[k])
    rows = ["| parameter | value |", "|---|---|"] + [f"| `{k}` | `{_value(merged[k])}` |" for k in changed]
    full = ["| parameter | value | |", "|---|---|---|"]
    for name in sorted(merged):
        note = "set by runs.yml" if name in parameters else "notebook default"
        full.append(f"| `{name}` | `{_value(merged[name])}` | {note} |")
    meta = nb.metadata.get("papermill", {})
    shown = ("\n".join(rows) if changed else "Every parameter has its notebook default.")
    rerun = rerun_command(notebook, parameters) if notebook else ""
    return (
        # A colon fence: a backtick fence's info string may not contain backticks (CommonMark), and the title has one.
        f"::::{{admonition}} Parameters of this run (profile `{parameters.get('profile', '?')}`)\n"
        f":class: note\n\nWhat this run sets differently from the notebook's defaults:\n\n{shown}\n\n"
        f":::{{dropdown}} All {len(merged)} parameters\n" + "\n".join(full) + "\n:::\n\n"
        + (f"Rerun this chapter with these parameters (from the repository root; change any value):\n\n"
           f"```bash\n{rerun}\n```\n\n" if rerun else "")
        + f"emoprobe {emoprobe.__version__}; executed by papermill in {meta.get('duration', 0):.0f} s. "
        f"More ways to rerun: see *Run it with your model*.\n::::"
    )


def _take_outputs(nb, keep) -> list:
    """Remove and return the outputs for which ``keep(output)`` is true, from every code cell."""
    taken = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        rest = []
        for o in cell.get("outputs", []):
            (taken if keep(o) else rest).append(o)
        cell.outputs = rest
    return taken


def finalize(nb, parameters: dict, defaults: dict, notebook: str = "") -> dict | None:
    """Make an executed notebook ready to render; return the chapter's recorded result (emoprobe.results).

    The parameter cells become a readable table of what differs from the defaults, the full list folded, and
    the papermill command that reruns the chapter (papermill issue #585 asks for such a table: its injected
    cell is noise on a web page); stderr outputs are dropped (progress bars and warnings are not content, and
    they leak machine paths). A finding chapter's result record leaves the outputs (it is data, kept in the
    notebook's metadata), and its summary figure moves to the top, under the claim, with its caption.
    """
    from emoprobe.results import FIGURE_ROLE, MIME

    insert_at = 0
    for i, cell in enumerate(nb.cells):
        tags = cell.get("metadata", {}).get("tags", [])
        if "parameters" in tags or "injected-parameters" in tags:
            cell.metadata.setdefault("tags", [])
            if "remove-cell" not in cell.metadata["tags"]:
                cell.metadata["tags"].append("remove-cell")
            insert_at = i + 1
        if cell.cell_type == "code":
            cell.outputs = [o for o in cell.get("outputs", [])
                            if not (o.get("output_type") == "stream" and o.get("name") == "stderr")]
    table = nbformat.v4.new_markdown_cell(_parameter_table(nb, parameters, defaults, notebook))
    table.metadata["tags"] = ["emoprobe-parameters"]
    nb.cells.insert(insert_at, table)
    records = _take_outputs(nb, lambda o: MIME in o.get("data", {}))
    figures = _take_outputs(nb, lambda o: o.get("metadata", {}).get("emoprobe") == FIGURE_ROLE)
    if figures:
        top = next((i + 1 for i, c in enumerate(nb.cells) if c.cell_type == "markdown"), 0)
        fig = nbformat.v4.new_code_cell("# the summary figure, drawn by the chapter's last cells")
        fig.metadata["tags"] = ["remove-input", "emoprobe-summary"]
        fig.outputs = figures[-1:]
        caption = figures[-1].get("metadata", {}).get("caption", "")
        note = nbformat.v4.new_markdown_cell(f"*The paper beside this build.* {caption} The details follow; "
                                             "the verdict is at the end of the chapter.")
        note.metadata["tags"] = ["emoprobe-summary"]
        nb.cells[top:top] = [fig, note]
    return records[-1]["data"][MIME] if records else None


def execute(run: dict, out_dir: Path, code_fingerprint: str, force: bool = False, log=print) -> Path:
    """Execute one notebook with papermill unless an up-to-date executed copy exists; return its path."""
    import papermill

    src, params = run["path"], run["parameters"]
    if not src.is_file():
        raise BookError(f"runs.yml lists {src}, which does not exist")
    out = out_dir / f"{run['name']}.ipynb"
    key = run_key(src, params, code_fingerprint)
    if out.is_file() and not force:
        old = nbformat.read(out, as_version=4)
        if old.metadata.get("emoprobe", {}).get("run_key") == key:
            log(f"book: {run['name']}: up to date, reused")
            return out
    out_dir.mkdir(parents=True, exist_ok=True)
    log(f"book: {run['name']}: executing with {json.dumps(params)}")
    defaults = {name: p["default"] for name, p in papermill.inspect_notebook(str(src)).items()}
    defaults = {k: _literal(v) for k, v in defaults.items()}
    partial = out.with_suffix(".partial.ipynb")
    t0 = time.perf_counter()
    try:
        papermill.execute_notebook(str(src), str(partial), parameters=params, kernel_name="python3",
                                   cwd=str(src.parent), progress_bar=False, log_output=False)
    except papermill.PapermillExecutionError as err:
        first = (err.source or "").strip().splitlines()[:3]
        raise BookError(
            f"notebook {src.name} failed in cell {err.cell_index} (execution count {err.exec_count}): "
            f"{err.ename}: {err.evalue}\n  cell starts: {' / '.join(first)}\n"
            f"  the partly executed notebook is {partial}") from None
    nb = nbformat.read(partial, as_version=4)
    result = finalize(nb, params, defaults, run.get("source", src.name))
    nb.metadata["emoprobe"] = {"run_key": key, "profile": params.get("profile"), "parameters": params,
                               "result": result}
    nbformat.write(nb, out)
    partial.unlink()
    log(f"book: {run['name']}: done in {time.perf_counter() - t0:.0f} s")
    return out


def _literal(text):
    # papermill reports defaults as source text; turn "[24, 30]" back into a value for the table.
    import ast

    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


RESULTS_MARKER = "<!-- the results table: written here by emoprobe book -->"


def results_rows(executed: dict[str, Path], stale=()) -> list[dict]:
    """The results page's rows, from the result each executed finding chapter recorded (emoprobe.results);
    ``stale``: the chapters reused although out of date."""
    from emoprobe.results import table

    records = {}
    for name, path in executed.items():
        if Path(path).is_file():
            records[name] = nbformat.read(path, as_version=4).metadata.get("emoprobe", {}).get("result")
    return table(records, stale)


def stage(root: Path, executed: dict[str, Path], runs: list[dict], build: Path, stale=()) -> Path:
    """Copy the book sources and the executed notebooks into ``build/src`` (the tree Jupyter Book reads)."""
    src = build / "src"
    if src.exists():
        shutil.rmtree(src)
    src.mkdir(parents=True)
    for name in ("_config.yml", "_toc.yml"):
        shutil.copy2(root / name, src / name)
    shutil.copytree(root / "book", src / "book")
    for run in runs:
        dest = src / run["path"].relative_to(root)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(executed[run["name"]], dest)
    template = root / "book" / "results.md"
    if template.is_file():
        text = template.read_text()
        if RESULTS_MARKER not in text:
            raise BookError(f"{template}: expected the line {RESULTS_MARKER!r} where the results table goes")
        from emoprobe.results import page

        (src / "book" / "results.md").write_text(text.replace(RESULTS_MARKER, page(results_rows(executed, stale), "")))
    mathjax = root / "node_modules" / "mathjax" / "es5"
    if not (mathjax / "tex-chtml.js").is_file():
        raise BookError(f"MathJax is missing ({mathjax}); run `npm ci` (make does it) so math renders offline")
    shutil.copytree(mathjax, src / "_vendor" / "mathjax", ignore=shutil.ignore_patterns("sre", "node-main*"))
    shutil.copy2(root / "book" / "emoprobe.css", src / "_vendor" / "emoprobe.css")
    return src


def build_book(src: Path, root: Path, log=print) -> Path:
    """Render the staged tree into ``root/_build/html``; a warning about a missing page fails the build."""
    # jupyter-book 1.x has no ``__main__``; call its click entry point in a fresh interpreter.
    cmd = [sys.executable, "-c", "from jupyter_book.cli.main import main; main()", "build", str(src), "--path-output", str(root), "--all",
           "--keep-going"]
    log("book: jupyter-book " + " ".join(cmd[3:]))
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True)
    if proc.returncode != 0 or "ERROR" in proc.stderr:
        raise BookError("jupyter-book build failed:\n" + proc.stdout[-3000:] + proc.stderr[-3000:])
    warnings = [line for line in proc.stderr.splitlines() if "WARNING" in line]
    for line in warnings:
        log("book: " + line.replace(str(root) + os.sep, ""))
    return root / "_build" / "html"


def make_book(profile: str = "quick", only: list[str] | None = None, force: bool = False,
              build: bool = True, root: Path | None = None, log=print) -> Path:
    """Execute every notebook of ``profile`` (or only the named ones) and build the book."""
    root = root or find_root()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    runs = load_runs(root, profile)
    for line in check_listed(root, runs):
        log(f"book: {line}; its results row will read 'not executed'")
    unknown = set(only or []) - {r["name"] for r in runs}
    if unknown:
        raise BookError(f"unknown notebook(s) {sorted(unknown)}; runs.yml has {[r['name'] for r in runs]}")
    from emoprobe.preflight import problems

    missing = problems([r for r in runs if not only or r["name"] in only])
    if missing:
        raise BookError(f"profile {profile}: {len(missing)} thing(s) this book needs are missing; nothing was run:\n  "
                        + "\n  ".join(missing))
    out_dir = root / "_build" / "executed" / profile
    fingerprint = _code_fingerprint(root)
    executed, stale = {}, set()
    for run in runs:
        if only and run["name"] not in only:
            path = out_dir / f"{run['name']}.ipynb"
            if not path.is_file():
                raise BookError(f"{run['name']} has not been executed for profile {profile}; drop --only")
            if nbformat.read(path, as_version=4).metadata.get("emoprobe", {}).get("run_key") != run_key(
                    run["path"], run["parameters"], fingerprint):
                stale.add(run["name"])
                log(f"book: {run['name']}: reused as it is, but it is out of date (its notebook, parameters or the "
                    "library changed since it ran); its results row says so")
            executed[run["name"]] = path
            continue
        executed[run["name"]] = execute(run, out_dir, fingerprint, force=force, log=log)
    if not build:
        return out_dir
    src = stage(root, executed, runs, root / "_build", stale)
    html = build_book(src, root, log=log)
    from emoprobe.results import write_files

    write_files(results_rows(executed, stale), html)
    log(f"book: open {html / 'index.html'}")
    return html


def _run_command(args) -> int:
    try:
        make_book(profile=args.profile, only=args.only, force=args.force, build=not args.no_build)
    except BookError as err:
        print(f"book: error: {err}", file=sys.stderr)
        return 1
    return 0


def add_command(sub) -> None:
    p = sub.add_parser("book", help="execute the notebooks of a profile (runs.yml) and build the book")
    p.add_argument("--profile", default="quick", help="smoke | quick | paper | rehearsal (default: quick)")
    p.add_argument("--only", nargs="+", metavar="NAME", help="execute only these notebooks")
    p.add_argument("--force", action="store_true", help="re-execute even if nothing changed")
    p.add_argument("--no-build", action="store_true", help="execute the notebooks but do not render")
    p.set_defaults(func=_run_command)
