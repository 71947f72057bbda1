"""CONTRIBUTING.md's recipes, followed to the letter: a new frame sampler, model entry, backend, dataset and
finding chapter work by name, with no other file touched."""

import json
import math

import numpy as np
import pytest
from vlm_fixtures import CLIP_LABELS, tiny_qwen2_vl, write_clips  # noqa: F401

from emoprobe.evaluate import evaluate
from emoprobe.samplers import temporal
from emoprobe.vlm import registry


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    return write_clips(tmp_path_factory.mktemp("contrib"), 3, num_frames=20, fps=10.0, height=56, width=56)


@pytest.fixture()
def every_other():
    """The guide's sampler: every ``step``-th frame (registered for this test only)."""

    @temporal.register("every_other_test")
    class EveryOther(temporal.Sampler):
        def __init__(self, step: int = 2, shuffle: bool = False, seed: int = 0):
            super().__init__(shuffle, seed)
            self.step = step

        def _indices(self, num_frames, fps, rng, frame_times):
            temporal._positive_int("step", self.step)
            return np.arange(0, num_frames, self.step)

    yield EveryOther
    temporal.SAMPLERS.unregister("every_other_test")


def _rows(folder):
    return [json.loads(line) for line in (folder / "predictions.jsonl").read_text().splitlines()]


def test_a_new_sampler_and_a_new_model_run_by_name(clips, every_other, tiny_qwen2_vl, tmp_path):  # noqa: F811
    registry._add(registry._hf("my-tiny-qwen", str(tiny_qwen2_vl), "qwen2-vl", "", "a test entry"))
    try:
        evaluate(clips, model="my-tiny-qwen", sampler="every_other_test", sampler_params={"step": 5},
                 labels=CLIP_LABELS, out_dir=tmp_path / "run", cache=False, progress=False, max_new_tokens=4)
        rows = _rows(tmp_path / "run")
        assert len(rows) == 3 and all(r["frame_indices"] == [0, 5, 10, 15] for r in rows)
        assert all(r["error"] is None for r in rows)
        with pytest.raises(ValueError, match="step"):
            evaluate(clips, model="my-tiny-qwen", sampler="every_other_test", sampler_params={"step": 0},
                     labels=CLIP_LABELS, out_dir=tmp_path / "bad", cache=False, progress=False)
    finally:
        registry.MODELS.unregister("my-tiny-qwen")


def test_a_new_backend_and_a_new_dataset_run_by_name(tmp_path):
    """The guide's backend (a class and one registration line) and dataset (a layout with its classes and
    integer orders, one registration), evaluated together by name."""
    from emoprobe import data, labels
    from emoprobe.data import DATASETS, Format, Layout
    from emoprobe.video import write_video
    from emoprobe.vlm.base import BACKENDS, BaseBackend, response
    from emoprobe.vlm.registry import ModelSpec

    class Brightness(BaseBackend):
        """Answers "happy" for a bright clip and "sad" for a dark one: a backend that needs no model."""

        name = "brightness_test"

        def __init__(self, model, threshold=128, batch_size=1):
            self.model, self.threshold, self.batch_size = model, threshold, batch_size

        @classmethod
        def from_spec(cls, spec, **overrides):
            return cls(model=spec.repo_id, **{k: v for k, v in overrides.items() if k not in ("device", "dtype")})

        def identity(self):
            return {"backend": self.name, "model": self.model, "threshold": self.threshold}

        def generation_params(self, max_new_tokens=None, temperature=0.0):
            return {"decision": "rule", "temperature": 0.0, "do_sample": False}

        def generate(self, requests, max_new_tokens=None, temperature=0.0):
            return [response("happy" if r.frames.mean() > self.threshold else "sad") for r in requests]

    BACKENDS.register("brightness_test", Brightness)
    DATASETS.register("toyset", Layout(name="toyset", title="ToySet", classes=("happy", "sad"), clip_dirs=("videos",),
                                       formats={"official": Format(("lists/{split}.csv",), line="csv",
                                                                   header=("clip", "emotion"), shape="<clip>,<emotion>"),
                                                "ids": Format(("lists/{split}_ids.txt",), line="words", order="ours")},
                                       id_orders={"ours": ("sad", "happy")}, one_based=("ours",)))
    try:
        root = tmp_path / "ToySet"
        (root / "videos").mkdir(parents=True)
        for i, level in enumerate((40, 220, 30, 250)):
            write_video(root / "videos" / f"c{i}.mp4", np.full((6, 32, 32, 3), level, np.uint8), fps=10)
        (root / "lists").mkdir()
        (root / "lists" / "test.csv").write_text("clip,emotion\nc0,sad\nc1,happy\nc2,happy\nc3,happy\n")
        records = data.load("toyset", root)
        assert [(r["id"], r["label"]) for r in records] == [("c0", "sad"), ("c1", "happy"), ("c2", "happy"),
                                                            ("c3", "happy")]
        spec = ModelSpec(name="bright", repo_id="rule", backend="brightness_test", sampler="uniform")
        summary = evaluate(records, model=spec, dataset="toyset", sampler_params={"num_samples": 2},
                           out_dir=tmp_path / "run", cache=False, progress=False)
        assert summary["backend"] == "brightness_test"
        assert [r["prediction"] for r in _rows(tmp_path / "run")] == ["sad", "happy", "sad", "happy"]
        assert labels.label_set("toyset") == ("happy", "sad")  # the layout is the one place that names the classes
        (root / "lists" / "test_ids.txt").write_text("c0 1\nc1 2\n")
        assert [r["label"] for r in data.load("toyset", root, fmt="ids")] == ["sad", "happy"]
        (root / "lists" / "test.csv").write_text("clip,emotion\nc0,bored\n")
        with pytest.raises(ValueError, match=r"test\.csv:2: unknown toyset class 'bored'"):
            data.load("toyset", root)
    finally:
        BACKENDS.unregister("brightness_test")
        DATASETS.unregister("toyset")


def _notebook(cells):
    import nbformat

    nb = nbformat.v4.new_notebook()
    for kind, source, *tags in cells:
        cell = (nbformat.v4.new_markdown_cell if kind == "md" else nbformat.v4.new_code_cell)(source)
        if tags:
            cell.metadata["tags"] = list(tags)
        nb.cells.append(cell)
    return nb


def test_a_new_finding_chapter_reaches_the_results_page(tmp_path, monkeypatch):
    """The guide's chapter: a notebook (claim, parameters, library calls, ``conclude``), its rule in
    emoprobe.verdicts, one ``FINDINGS`` entry, and its lines in runs.yml and _toc.yml. The notebook's cells run
    here in one namespace, with the parameters papermill would inject, so the test can see what the library
    made of it; the book's check names each list the chapter is missing from."""
    import matplotlib
    import nbformat
    import yaml

    from emoprobe import book, results, verdicts
    from emoprobe.probe import disclosure
    from emoprobe.results import FINDINGS, Finding

    matplotlib.use("Agg")

    def f8_gap(gap: verdicts.Delta) -> verdicts.Verdict:  # the rule, as it would be written in verdicts.py
        if not math.isfinite(gap.value):
            return verdicts.Verdict("not testable here", ("Nothing was measured.",))
        status = "reproduced" if gap.low > 0 else "not reproduced"
        return verdicts.Verdict(status, (f"The gap is {gap.value:+.2f} ({gap.low:+.2f} to {gap.high:+.2f}).",),
                                {"gap": gap.value})

    monkeypatch.setattr(verdicts, "f8_gap", f8_gap, raising=False)
    with pytest.raises(ValueError, match="unknown designed-in fact"):
        Finding("f8_gap", "A claim.", "what emerged", ("weather",))
    FINDINGS.register("F8", Finding("f8_gap", "A new gap opens.", "how wide the gap is", ("prior", "frames")))
    try:
        nb = _notebook([
            ("md", "# F8: a new gap opens"),
            ("code", "profile = 'quick'\nmodels = ['probe:smoke/vlm-prior1']\nmeasured = (0.10, 0.04, 0.16)",
             "parameters"),
            ("code", "from emoprobe import results, verdicts\nfrom emoprobe.probe import disclosure\n"
                     "box = disclosure.box_for('F8', models)"),
            ("code", "v = verdicts.f8_gap(verdicts.Delta(*measured))\n"
                     "rec = results.conclude('F8', v, 'The gap, measured.', paper=[results.Point('paper', 0.2)],\n"
                     "    ours=[results.Point('ours', *measured)], xlabel='gap', caption='Look at the gap.',\n"
                     "    profile=profile, models=models)"),
        ])
        (tmp_path / "notebooks").mkdir()
        nbformat.write(nb, tmp_path / "notebooks" / "f8_gap.ipynb")
        ns = {}
        for cell in nb.cells:
            if cell.cell_type == "code":
                exec(cell.source, ns)
        assert "`smoke` zoo" in ns["box"] and "how wide the gap is" in ns["box"]
        assert len(disclosure.designed_in("F8", "smoke")) == 2
        assert ns["rec"]["status"] == "reproduced" and ns["rec"]["chapter"] == "f8_gap"
        row = results.table({"f8_gap": ns["rec"]})[-1]
        assert row["finding"] == "F8" and "(../notebooks/f8_gap.ipynb)" in results.page([row], "")

        # the lists: a runs.yml entry without its _toc.yml page, then the finding's chapter missing from runs.yml
        (tmp_path / "runs.yml").write_text(yaml.safe_dump({"notebooks": [
            {"name": "f8_gap", "path": "notebooks/f8_gap.ipynb", "profiles": {"smoke": {}, "quick": {}}}]}))
        (tmp_path / "_toc.yml").write_text(yaml.safe_dump({"format": "jb-book", "root": "book/intro"}))
        runs = book.load_runs(tmp_path, "smoke")
        assert runs[0]["parameters"] == {"profile": "smoke"}
        with pytest.raises(book.BookError, match=r"notebooks/f8_gap.ipynb is in runs.yml but not in _toc.yml"):
            book.check_listed(tmp_path, runs)
        (tmp_path / "_toc.yml").write_text(yaml.safe_dump({"format": "jb-book", "root": "book/intro", "parts": [
            {"caption": "The findings", "chapters": [{"file": "notebooks/f8_gap"}]}]}))
        unlisted = book.check_listed(tmp_path, runs)  # a trimmed book: the other findings are named, not fatal
        assert any("finding F1 (emoprobe.results.FINDINGS) names chapter 'f1_vlm_vs_vision'" in x for x in unlisted)
        assert not any("F8" in x for x in unlisted)
    finally:
        FINDINGS.unregister("F8")
    assert book.check_listed(book.find_root(), book.load_runs(book.find_root(), "quick")) == []  # the repository's
