"""What each finding chapter concluded, recorded where the book can gather it: the results page and its files.

A finding chapter ends with ``conclude``: it shows the verdict box and, at the top of the chapter, one figure
that puts the paper's reported numbers and this build's on the same axis ("the paper beside us"). It also
records the chapter's result as plain data (status, reason, the numbers on both sides, profile, seeds, models)
in an output of its own type, ``MIME``. When ``emoprobe book`` renders an executed notebook it moves that record
into the notebook's metadata and the figure to the top (emoprobe.book.finalize), then builds the results page
from the records of every finding chapter (``page``) and writes the same table as ``results.json`` and
``results.csv`` next to the HTML (``write_files``). Nothing on the page is typed: a chapter that was not
executed, or that recorded nothing, shows as such.
"""

from __future__ import annotations

import base64
import csv
import io
import json
import math
from dataclasses import dataclass

from emoprobe.registry import Registry

__all__ = ["FINDINGS", "Finding", "MIME", "FIGURE_ROLE", "Point", "conclude", "record", "figure", "table", "page",
           "write_files"]

MIME = "application/vnd.emoprobe.result+json"
FIGURE_ROLE = "paper-beside-us"  # an output's metadata["emoprobe"]: the figure book.finalize moves to the top


@dataclass(frozen=True)
class Finding:
    """One finding of the paper as the book treats it: its chapter (the notebook's name in runs.yml), the claim
    in the book's words, what the chapter measures that no setting fixed in advance (``emerged``), and which facts
    of the probe's training bear on it (``designed_in``: keys of emoprobe.probe.disclosure.FACTS; empty when no
    model is trained)."""

    chapter: str
    claim: str
    emerged: str
    designed_in: tuple[str, ...] = ()

    def __post_init__(self):
        from emoprobe.probe.disclosure import FACTS

        unknown = sorted(set(self.designed_in) - set(FACTS))
        if unknown:
            raise ValueError(f"Finding {self.chapter!r}: unknown designed-in fact(s) {unknown}; expected some of "
                             f"{sorted(FACTS)}")
        if not (self.chapter and self.claim.strip() and self.emerged.strip()):
            raise ValueError(f"Finding {self.chapter!r}: chapter, claim and emerged must be non-empty")


# The paper's seven findings, in the book's words, in the book's order
FINDINGS = Registry("finding")
FINDINGS.register("F1", Finding(
    "f1_vlm_vs_vision", "Zero-shot VLMs trail specialised vision-only classifiers.",
    "whether a zero-shot VLM that learnt its class words from captions ranks below a classifier trained on the "
    "task's labels, and by how much", ("prior", "prompt", "split", "frames")))
FINDINGS.register("F2", Finding(
    "f2_frame_shuffle", "Shuffling frames barely moves VLMs, while vision-only models drop.",
    "how much each model's answers depend on the order of its frames, and whether training on shuffled frames "
    "takes that dependence away", ("order", "frames")))
FINDINGS.register("F3", Finding(
    "f3_lexical_frequency", "Per-class accuracy tracks how common the emotion word is (English and Chinese).",
    "whether per-class accuracy (not only how often a word is answered) follows the word's frequency",
    ("prior", "prompt")))
FINDINGS.register("F4", Finding(
    "f4_head_class_collapse", "Rare emotions collapse into the head classes.",
    "how strongly the answers pile onto the head classes, and whether that grows with the prior",
    ("prior", "prompt")))
FINDINGS.register("F5", Finding(
    "f5_balanced_finetuning", "Class-balanced fine-tuning spreads the answers and helps the tail.",
    "what each class sampler does to the answers and to the tail classes' recall", ("split", "prior")))
FINDINGS.register("F6 micro", Finding(
    "f6_micro_sampling", "Sparse VLM frame sampling misses micro-expressions of 0.25-0.5 s.",
    "nothing: the chapter is exact arithmetic on clip lengths and sampler rules, no model is trained"))
FINDINGS.register("F6 sweep", Finding(
    "f6_fps_sweep", "Accuracy rises with the frame rate, then falls past about 5 fps.",
    "where accuracy peaks as the frame rate grows, with and without a fixed token budget", ("frames", "micro")))
FINDINGS.register("F7", Finding(
    "f7_msce", "Text summaries of the in-between frames (MSCE) help.",
    "whether the model's own descriptions of the in-between frames, or a separate describer's, are good enough "
    "to help, and whether the true text helps where the keyframes missed the event",
    ("oracle", "describer", "frames")))
COLUMNS = ("finding", "claim", "paper", "paper_source", "ours", "status", "reason", "profile", "seeds", "models",
           "chapter")


@dataclass(frozen=True)
class Point:
    """One number on the summary figure: a label, the value and (for our measurements) its 95 % interval."""
    label: str
    value: float
    low: float | None = None
    high: float | None = None
    digits: int = 3  # decimals in the results table (a frame rate needs none)

    def text(self) -> str:
        if not math.isfinite(self.value):
            return f"{self.label} n/a"
        f = f".{self.digits}f"
        if self.low is None or self.high is None:
            return f"{self.label} {self.value:{f}}"
        return f"{self.label} {self.value:{f}} ({self.low:{f}} to {self.high:{f}})"


def _plain(x):
    """JSON-ready facts: numpy scalars become numbers, NaN becomes None, tuples lists."""
    if isinstance(x, dict):
        return {str(k): _plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_plain(v) for v in x]
    if hasattr(x, "item") and not isinstance(x, (str, bytes)):
        x = x.item()
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x if isinstance(x, (str, int, float, bool, type(None))) else str(x)


def record(finding: str, verdict, paper: list[Point], ours: list[Point], *, profile: str, models, seeds=(0,),
           paper_source: str = "", paper_text: str = "", ours_text: str = "") -> dict:
    """The chapter's result as plain data (what the results page and its JSON and CSV hold). ``paper_text``,
    ``ours_text``: how the row states each side (default: its points joined; "no number reported" and
    "nothing measured" when there are none)."""
    chapter, claim = FINDINGS[finding].chapter, FINDINGS[finding].claim
    reason = verdict.reasons[0] if verdict.reasons else ""
    return {"finding": finding, "claim": claim, "chapter": chapter, "status": verdict.status, "reason": reason,
            "paper": paper_text or "; ".join(p.text() for p in paper) or "no number reported",
            "paper_source": paper_source, "ours": ours_text or "; ".join(p.text() for p in ours) or "nothing measured",
            "profile": profile,
            "seeds": [int(s) for s in seeds], "models": [str(m) for m in models],
            "points": {"paper": [_plain(vars(p)) for p in paper], "ours": [_plain(vars(p)) for p in ours]},
            "facts": _plain(dict(verdict.facts))}


def figure(paper: list[Point], ours: list[Point], xlabel: str, title: str, reference: float | None = None,
           reference_label: str = ""):
    """The paper's numbers (squares, as reported) and ours (dots with 95 % intervals) on one axis."""
    import matplotlib.pyplot as plt

    rows = [("paper", p) for p in paper] + [("ours", p) for p in ours]
    # constrained layout keeps the legend, outside below the axes, clear of the axis label and of every point
    fig, ax = plt.subplots(figsize=(7.5, 1.3 + 0.42 * max(len(rows), 2)), layout="constrained")
    for y, (side, p) in enumerate(rows):
        if side == "paper":
            ax.plot(p.value, y, "s", color="0.35", ms=7, label="paper (as reported)" if y == 0 else None)
        else:
            err = None if p.low is None else [[p.value - p.low], [p.high - p.value]]
            ax.errorbar(p.value, y, xerr=err, fmt="o", color="tab:blue", capsize=4,
                        label="this build (95 % interval)" if side != rows[y - 1][0] or y == 0 else None)
    if reference is not None:
        ax.axvline(reference, color="black", lw=0.8, ls="--", label=reference_label or None)
    if paper and ours:
        ax.axhline(len(paper) - 0.5, color="0.8", lw=0.8)
    ax.set(yticks=range(len(rows)), yticklabels=[p.label for _, p in rows], xlabel=xlabel, title=title)
    ax.invert_yaxis()
    fig.legend(loc="outside lower center", ncol=3, fontsize="small", frameon=False)
    return fig


def conclude(finding: str, verdict, text: str, *, paper: list[Point], ours: list[Point], xlabel: str,
             caption: str, profile: str, models, seeds=(0,), paper_source: str = "", paper_text: str = "",
             ours_text: str = "", reference: float | None = None, reference_label: str = "") -> dict:
    """Show the verdict box, the summary figure (moved to the chapter's top when the book renders it) and
    record the result; returns the record."""
    import matplotlib.pyplot as plt
    from IPython.display import Markdown, display

    from emoprobe.findings import verdict as verdict_box

    fig = figure(paper, ours, xlabel, f"{finding}: the paper beside this build", reference, reference_label)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
    plt.close(fig)
    display({"image/png": base64.b64encode(buf.getvalue()).decode(), "text/plain": f"<{finding} summary figure>"},
            raw=True, metadata={"emoprobe": FIGURE_ROLE, "caption": caption})
    display(Markdown(verdict_box(verdict.status, text)))
    rec = record(finding, verdict, paper, ours, profile=profile, models=models, seeds=seeds,
                 paper_source=paper_source, paper_text=paper_text, ours_text=ours_text)
    display({MIME: rec, "text/plain": f"result of {finding} recorded"}, raw=True)
    return rec


# --- the results page ---------------------------------------------------------------------------------------------

STALE = "STALE (executed before its notebook, parameters or the library last changed; rebuild without --only): "


def table(records: dict[str, dict | None], stale=()) -> list[dict]:
    """One row per finding (``FINDINGS`` order) from each chapter's record (None: not executed / nothing
    recorded); the reason of a chapter in ``stale`` (reused by ``emoprobe book --only`` although what it
    depends on changed) starts with ``STALE``, so an out-of-date verdict never reads as this build's."""
    rows = []
    for finding, entry in FINDINGS.items():
        chapter, claim = entry.chapter, entry.claim
        rec = records.get(chapter)
        if rec is None:
            rows.append({"finding": finding, "claim": claim, "chapter": chapter, "status": "not executed",
                         "reason": "this chapter was not executed in this build (or recorded no result)",
                         "paper": "", "paper_source": "", "ours": "", "profile": "", "seeds": [], "models": []})
        else:
            row = {k: rec.get(k) for k in COLUMNS}
            if chapter in stale:
                row["reason"] = STALE + str(row["reason"])
            rows.append(row)
    return rows


def _cell(text) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def page(rows: list[dict], intro: str) -> str:
    """The results page (MyST markdown): the intro text, then one row per finding linking to its chapter, the
    sources of the paper's numbers as numbered notes, and where each row's numbers come from."""
    sources = list(dict.fromkeys(r["paper_source"] for r in rows if r["paper_source"]))
    lines = [intro.rstrip(), "",
             "| finding | the paper's claim | the paper (as reported) | this build (95 % interval) | verdict |",
             "|---|---|---|---|---|"]
    for r in rows:
        link = f"[{r['finding']}](../notebooks/{r['chapter']}.ipynb)"
        note = f" [{sources.index(r['paper_source']) + 1}]" if r["paper_source"] else ""
        lines.append(f"| {link} | {_cell(r['claim'])} | {_cell(r['paper'])}{note} | {_cell(r['ours'])} | "
                     f"**{r['status']}**: {_cell(r['reason'])} |")
    lines += ["", "Sources of the paper's numbers:", ""]
    lines += [f"{i}. {_cell(s)}" for i, s in enumerate(sources, 1)]
    lines += ["", "Where each row's numbers come from:", ""]
    for r in rows:
        if r["profile"]:
            models = ", ".join(f"`{m}`" for m in r["models"]) or "none (arithmetic on the samplers)"
            lines.append(f"- **{r['finding']}**: profile `{r['profile']}`, training seeds "
                         f"{', '.join(map(str, r['seeds']))}; models {models}.")
    lines += ["", "The same table as data: <a href=\"../results.json\">results.json</a>, "
              "<a href=\"../results.csv\">results.csv</a> (next to this book's `index.html`).", ""]
    return "\n".join(lines)


def write_files(rows: list[dict], folder) -> None:
    """``results.json`` and ``results.csv`` in ``folder`` (the HTML root)."""
    from pathlib import Path

    folder = Path(folder)
    (folder / "results.json").write_text(json.dumps(rows, indent=1, ensure_ascii=False) + "\n")
    with open(folder / "results.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=list(COLUMNS))
        w.writeheader()
        for r in rows:
            w.writerow({k: " ".join(map(str, r[k])) if isinstance(r.get(k), list) else r.get(k, "") for k in COLUMNS})
