"""What the worked solutions of the finding chapters' exercises share (the folded cells after each chapter's
exercises): the heading every solution starts with, which probe zoo a chapter's models come from, and the
published GPT-4V predictions, which are not included and are read only when a reader has downloaded them.
"""

from __future__ import annotations

import os
from pathlib import Path

from emoprobe.sources import is_probe, split

__all__ = ["heading", "probe_profile", "needs_probe", "gpt4v_scores", "gpt4v_howto", "as_gpt4v_files", "interval", "ci",
           "direction", "compare", "near_chance_note", "per_gap_text", "compute_budget_text"]

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


# --- wording shared by the worked solutions: one rule for "resolvably different" -----------------------------------

def interval(d) -> str:
    """A paired difference of emoprobe.findings.paired_delta (or a Delta) as text: ``+0.012 (-0.010 to +0.030)``."""
    value, low, high = _vlh(d)
    return f"{value:+.3f} ({low:+.3f} to {high:+.3f})"


def ci(d) -> str:
    """``interval`` with the interval named: ``+0.012 (95% CI -0.010 to +0.030)``."""
    value, low, high = _vlh(d)
    return f"{value:+.3f} (95% CI {low:+.3f} to {high:+.3f})"


def direction(d) -> str | None:
    """"up" when the whole 95 % interval is above zero, "down" when below, None when it contains zero (or was
    not measured): the solutions call a change resolvable only when its interval excludes zero."""
    _, low, high = _vlh(d)
    return "up" if low > 0 else "down" if high < 0 else None


def compare(d, a: str, b: str) -> str:
    """Words for ``d`` = the score of ``b`` minus that of ``a``, paired over the same clips."""
    where = {"up": "scores above", "down": "scores below"}.get(direction(d))
    return f"`{b}` {where} `{a}`: {ci(d)}" if where else f"`{b}` and `{a}` do not differ measurably: {ci(d)}"


def near_chance_note(model: str, macro_f1: float, k: int, what: str = "on the keyframes alone") -> str:
    """The caveat a solution adds when its reference model is near chance (emoprobe.verdicts.near_chance)."""
    from emoprobe.verdicts import near_chance

    if not near_chance(macro_f1, k):
        return ""
    return f" Note that `{model}` is near chance {what}, so in this build the differences say little about recognition."


def _vlh(d) -> tuple[float, float, float]:
    if isinstance(d, dict):  # emoprobe.findings.paired_delta ("delta") or rank_correlation ("value")
        return float(d["delta"] if "delta" in d else d["value"]), float(d["low"]), float(d["high"])
    return float(d.value), float(d.low), float(d.high)


# --- F7's exercises ------------------------------------------------------------------------------------------------

def per_gap_text(vs_key: dict, steps: dict, changed: dict, micro_accuracy: dict) -> str:
    """F7 exercise 1 in words, from runs that differ only in ``per_gap`` (in-between frames per keyframe gap):
    ``vs_key`` per_gap -> its paired difference against keyframes alone; ``steps`` (a, b) -> the difference from
    per_gap a to the next value b; ``changed`` (a, b) -> the share of clips whose text changed on that step;
    ``micro_accuracy`` per_gap -> accuracy on the micro-expression clips (NaN: none)."""
    gaps = sorted(vs_key)
    text = "; ".join(f"per_gap {g}: {interval(vs_key[g])}" for g in gaps) + ". "
    if steps:
        text = (text + "Step by step: " + "; ".join(f"{a} → {b}: {interval(d)}, with the text of {changed[a, b]:.0%} "
                                                    "of the clips changed" for (a, b), d in steps.items()) + ". ")
    helps = [g for g in gaps if direction(vs_key[g]) == "up"]
    hurts = [g for g in gaps if direction(vs_key[g]) == "down"]
    if helps:
        text += f"The text helps resolvably at per_gap {', '.join(map(str, helps))}. "
    elif hurts:
        text += f"The text helps at no value and costs macro-F1 resolvably at per_gap {', '.join(map(str, hurts))}. "
    else:
        text += "The text changes macro-F1 resolvably at no value. "
    order = list(steps)
    # the first per_gap from which no later step changes macro-F1 resolvably
    settled = next((a for i, (a, _) in enumerate(order) if all(direction(steps[ab]) is None for ab in order[i:])),
                   None)
    shares = list(changed.values())
    if not steps:
        text += "Only one value of per_gap was run, so there is no step to compare."
    elif settled == gaps[0]:
        text += (f"No step changes macro-F1 resolvably, although each changes the descriptions of "
                 f"{min(shares):.0%}–{max(shares):.0%} of the clips: "
                 + ("since no value helps, the in-between frames add no information this model can use at any "
                    "density" if not helps else f"by this measure the in-between frames stop adding information at "
                    f"per_gap {settled}") + "; more of them change the words, not the answers.")
    elif settled is not None:
        text += (f"The steps up to per_gap {settled} still change macro-F1 resolvably, the later ones do not: from "
                 f"about {settled} in-between frames per gap on, more of them stop adding information that shows in "
                 "macro-F1.")
    else:
        text += (f"The last step still changes macro-F1 resolvably: the in-between frames have not stopped adding "
                 f"information by per_gap {gaps[-1]}.")
    acc = [micro_accuracy[g] for g in gaps]
    if all(a == a for a in acc):  # NaN: the test set has no micro-expressions
        text += (" On the micro-expression clips, whose events fall between keyframes most often and where more "
                 "in-between frames should matter first, accuracy is "
                 + (f"{acc[0]:.3f} at every value." if max(acc) == min(acc) else
                    ", ".join(f"{a:.3f}" for a in acc) + f" at per_gap {', '.join(map(str, gaps))}."))
    return text


def compute_budget_text(msce_vs_key, dense_vs_key, msce_vs_dense, calls_ratio: float, dense_side: float,
                        key_side: float) -> str:
    """F7 exercise 3's conclusion: is MSCE worth its extra calls against dense frames under one budget? The
    paired differences of MSCE and of dense frames against keyframes alone, and of MSCE minus dense frames;
    ``calls_ratio``: MSCE's model calls per clip over dense frames'; the mean frame side (px) of each input."""
    if direction(msce_vs_key) != "up":
        text = (f"But MSCE {'is worse than' if direction(msce_vs_key) == 'down' else 'does not beat'} keyframes "
                f"alone (Δ {interval(msce_vs_key)}), the cheapest input of the three, with one call and the fewest "
                "frames. ")
        if direction(dense_vs_key) == "up":
            return text + (f"Dense frames do beat keyframes alone (Δ {interval(dense_vs_key)}) for one call, so "
                           "under a fixed compute budget they are the better use of it.")
        return text + (f"Dense frames do not beat them either (Δ {interval(dense_vs_key)}), so under a fixed compute "
                       "budget the keyframes alone are the best buy here and neither extra is worth its cost"
                       + (f"; to fit their budget the dense frames shrink to a mean of {dense_side:.0f} px a side "
                          f"(keyframes alone: {key_side:.0f} px)" if dense_side < key_side else "") + ".")
    if direction(msce_vs_dense) == "down":
        return "Dense frames are both better and cheaper, so under any fixed compute budget they win."
    if direction(msce_vs_dense) is None:
        return (f"MSCE is not measurably better than dense frames, at {calls_ratio:.1f} times their calls, so under "
                "a fixed compute budget the dense frames are the better use of it.")
    return (f"MSCE is better, but at {calls_ratio:.1f} times the calls; at equal compute the dense frames would get "
            "that much more budget, a run this solution leaves out, so whether MSCE wins at equal compute stays open.")
