"""The results page's data: each chapter's record, the table over every finding, the page and its files."""

import csv
import json

import matplotlib
import pytest

from emoprobe import verdicts
from emoprobe.results import FINDINGS, Point, figure, page, record, table, write_files

matplotlib.use("Agg")

V = verdicts.Verdict("partly reproduced", ("The vision-only model scores higher, but the intervals overlap.",
                                           "A second sentence."), {"vlm": 0.5, "gap": float("nan")})


def _record(finding="F1"):
    return record(finding, V, [Point("HiCMAE (best vision-only)", 0.5725)],
                  [Point("vlm-prior1 (VLM)", 0.546, 0.50, 0.59)], profile="quick", models=["probe:quick/vlm-prior1"],
                  seeds=[0, 1, 2], paper_source="Table 2")


def test_a_record_is_plain_data_with_the_deciding_sentence():
    rec = _record()
    assert json.loads(json.dumps(rec, allow_nan=False)) == rec  # NaN facts become null
    assert rec["status"] == "partly reproduced" and rec["reason"] == V.reasons[0]
    assert rec["paper"] == "HiCMAE (best vision-only) 0.573" and rec["ours"] == "vlm-prior1 (VLM) 0.546 (0.500 to 0.590)"
    assert rec["chapter"] == "f1_vlm_vs_vision" and rec["seeds"] == [0, 1, 2] and rec["facts"]["gap"] is None
    assert record("F3", V, [], [], profile="quick", models=[])["paper"] == "no number reported"
    with pytest.raises(ValueError, match="finding"):
        record("F9", V, [], [], profile="quick", models=[])


def test_table_has_every_finding_and_flags_chapters_that_recorded_nothing():
    rows = table({"f1_vlm_vs_vision": _record(), "f2_frame_shuffle": None})
    assert [r["finding"] for r in rows] == list(FINDINGS)
    assert rows[0]["status"] == "partly reproduced"
    assert all(r["status"] == "not executed" for r in rows[1:])


def test_a_stale_chapter_is_flagged_in_its_row():
    """A chapter reused by ``emoprobe book --only`` although its inputs changed keeps its verdict but says it is
    out of date, in the page and in the data files alike."""
    rows = table({"f1_vlm_vs_vision": _record()}, stale={"f1_vlm_vs_vision"})
    assert rows[0]["status"] == "partly reproduced" and rows[0]["reason"].startswith("STALE")
    assert rows[0]["reason"].endswith(V.reasons[0])
    assert "STALE" in page(rows, "") and not table({"f1_vlm_vs_vision": _record()})[0]["reason"].startswith("STALE")


def test_page_links_every_row_to_its_chapter_and_escapes_table_cells(tmp_path):
    rec = {**_record(), "reason": "a | b"}
    rows = table({"f1_vlm_vs_vision": rec})
    text = page(rows, "# Results")
    assert text.startswith("# Results")
    for chapter in (f.chapter for f in FINDINGS.values()):
        assert f"(../notebooks/{chapter}.ipynb)" in text
    assert "a \\| b" in text  # a pipe in a reason does not split the row
    write_files(rows, tmp_path)
    assert json.loads((tmp_path / "results.json").read_text()) == rows
    with open(tmp_path / "results.csv", newline="") as f:
        got = list(csv.DictReader(f))
    assert [r["status"] for r in got] == [r["status"] for r in rows] and got[0]["seeds"] == "0 1 2"


def test_figure_puts_both_sides_on_one_axis():
    fig = figure([Point("paper", 0.57)], [Point("ours", 0.55, 0.5, 0.6), Point("ours 2", 0.4, 0.35, 0.45)],
                 "macro-F1", "F1", reference=1 / 7, reference_label="chance")
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["paper", "ours", "ours 2"]
    labels = ax.get_legend_handles_labels()[1]
    assert sorted(labels) == ["chance", "paper (as reported)", "this build (95 % interval)"]


@pytest.mark.parametrize("rows", [1, 3, 8])
def test_the_figures_legend_clears_the_axis_label(rows):
    """The legend sits below the axes without covering the x-axis label, however few rows the figure has (a
    three-row figure used to print the legend over the label)."""
    fig = figure([], [Point(f"model {i}", 0.3 + 0.05 * i, 0.25 + 0.05 * i, 0.35 + 0.05 * i) for i in range(rows)],
                 "share of answers naming happy or fear", "F4", reference=0.29, reference_label="their share")
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    legend = fig.legends[0].get_window_extent(renderer)
    label = fig.axes[0].xaxis.label.get_window_extent(renderer)
    assert not legend.overlaps(label) and legend.y1 <= label.y0
