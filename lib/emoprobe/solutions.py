"""What the worked solutions of the finding chapters' exercises share (the folded cells after each chapter's
exercises): the heading every solution starts with, which probe zoo a chapter's models come from, and the
published GPT-4V predictions, which are not included and are read only when a reader has downloaded them.
"""

from __future__ import annotations

import os
from pathlib import Path

from emoprobe.sources import is_probe, split

__all__ = ["heading", "probe_profile", "needs_probe", "gpt4v_scores", "gpt4v_howto", "as_gpt4v_files"]

GPT4V_SOURCE = "https://github.com/zeroQiaoba/gpt4v-emotion"
GPT4V_ENV = "EMOPROBE_GPT4V_PREDICTIONS"  # the folder tests/test_score.py reads too
GPT4V_FOLDER = "data/gpt4v-emotion"       # relative to the repository, with one subfolder per dataset


def heading(n: int, text: str = "") -> str:
    """Markdown that opens the solution to exercise ``n``: a bold line, then ``text``."""
    return f"**Solution to exercise {n}.**" + (f"\n\n{text}" if text else "")


def probe_profile(models, data_root=None) -> str | None:
    """The zoo profile the chapter's probe models come from (``probe:quick/vlm-prior1`` -> "quick"), or None
    when the chapter runs real models. A chapter that has replaced its model names by short names
    (``vlm-prior1``) passes its ``data_root``: its models count as probe models when every one is a zoo name,
    and the probe test set's profile is theirs."""
    names = [str(m) for m in models]
    for name in names:
        if is_probe(name):
            return split(name)[0]
    if data_root is not None and is_probe(data_root) and names:
        from emoprobe.probe import zoo

        if all(n in zoo.MODELS for n in names):
            return split(data_root)[0]
    return None


def needs_probe(what: str) -> str:
    """The one sentence a solution prints instead of failing when the chapter runs real models."""
    return (f"This solution needs the probe ({what}), and this build of the chapter runs real models; "
            "run the chapter in the quick or smoke profile to see it computed.")


def _gpt4v_folder(dataset: str) -> Path | None:
    base = os.environ.get(GPT4V_ENV)
    for root in ([Path(base)] if base else [Path(GPT4V_FOLDER), Path("..") / GPT4V_FOLDER]):
        folder = root / dataset
        if (folder / "label-gpt4v.csv").is_file() and (folder / "label.csv").is_file():
            return folder
    return None


def gpt4v_scores(dataset: str = "dfew") -> dict | None:
    """``emoprobe score`` of the published GPT-4V predictions on ``dataset`` (emoprobe.score.score_file, every
    test clip through ``label.csv``), or None when they are not on this machine."""
    folder = _gpt4v_folder(dataset)
    if folder is None:
        return None
    from emoprobe.score import score_file

    return score_file(folder / "label-gpt4v.csv", dataset, ground_truth=folder / "label.csv")


def as_gpt4v_files(rows, folder) -> tuple[Path, Path]:
    """Write prediction rows in the layout of the published GPT-4V files, so that a solution can run their
    steps on any model's answers: ``label.csv`` (``name,gt``: every clip) and ``label-gpt4v.csv``
    (``name,gt,gpt4v``: the answered clips, the answer as a ranked list; results/dfew/label-gpt4v.csv of
    github.com/zeroQiaoba/gpt4v-emotion at commit e82d695). Returns the two paths (predictions, ground truth)."""
    import csv

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    truth, preds = folder / "label.csv", folder / "label-gpt4v.csv"
    with open(truth, "w", newline="") as t, open(preds, "w", newline="") as p:
        tw, pw = csv.writer(t), csv.writer(p)
        tw.writerow(["name", "gt"])
        pw.writerow(["name", "gt", "gpt4v"])
        for r in rows:
            tw.writerow([r["id"], r["label"]])
            ranked = r.get("ranked") or ([r["prediction"]] if r.get("prediction") else [])
            if r.get("outcome") == "parsed" and ranked:
                pw.writerow([r["id"], r["label"], ",".join(ranked)])
    return preds, truth


def gpt4v_howto(dataset: str = "dfew", then: str = "") -> str:
    """Markdown: the published GPT-4V predictions are not included; where to get them and the command that
    scores them, then ``then`` (what to do with the JSON it writes)."""
    folder = f"{GPT4V_FOLDER}/{dataset}"
    return (f"The published GPT-4V predictions are not included in this repository (they are the authors' files, "
            f"not ours), so this solution is not computed here. Download `label-gpt4v.csv` and `label.csv` for "
            f"{dataset.upper()} from {GPT4V_SOURCE} into `{folder}/` (or point `{GPT4V_ENV}` at a folder with a "
            f"`{dataset}/` subfolder) and rebuild the chapter: this cell then computes the answer. From the "
            "command line:\n\n"
            f"```bash\n.venv/bin/emoprobe score --predictions {folder}/label-gpt4v.csv --labels {dataset} \\\n"
            f"    --ground-truth {folder}/label.csv --json gpt4v-{dataset}.json\n```\n\n" + then)
