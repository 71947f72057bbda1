"""The verdict rules as a specification: every finding's function driven through each of its outcomes on
constructed numbers, broken runs included (they must never read "reproduced")."""

import ast
import json
import math
import re
from pathlib import Path

import pytest

from emoprobe import verdicts as V
from emoprobe.verdicts import Delta, Score

K = 7  # DFEW's classes: chance 0.143, near-chance floor 0.214


def S(value, width=0.03, unparsed=0.0):
    return Score(value, value - width, value + width, unparsed)


def D(value, width=0.02, reference=0.5):
    # a 90 % interval about 0.84 of the 95 % one, as for a normal statistic
    return Delta(value, value - width, value + width, value - 0.84 * width, value + 0.84 * width, reference)


BROKEN = S(0.0, 0.0, unparsed=1.0)  # every answer unparsed
SHIFTED = S(0.02, 0.01)  # a label map shifted by one: almost never right


def test_near_chance_is_one_rule():
    assert V.near_chance(0.2, K) and not V.near_chance(0.22, K)
    assert V.near_chance(math.nan, K)
    assert V.CHANCE_FACTOR / K == pytest.approx(0.2143, abs=1e-4)
    with pytest.raises(ValueError):
        V.near_chance(0.5, 1)
    with pytest.raises(ValueError, match="status"):
        V.Verdict("reproduced (arithmetically)")


@pytest.mark.parametrize("vlm, vision, status", [
    (S(0.35), S(0.55), "reproduced"),
    (S(0.45, 0.06), S(0.50, 0.06), "partly reproduced"),
    (S(0.55), S(0.50), "not reproduced"),
    (S(0.15), S(0.55), "partly reproduced"),     # the VLM at chance: a trivial gap
    (S(0.40), S(0.18), "not testable here"),     # the baseline at chance
    (BROKEN, S(0.55), "not testable here"),
    (SHIFTED, S(0.55), "partly reproduced"),
])
def test_f1_against_a_measured_baseline(vlm, vision, status):
    assert V.f1_vlm_vs_vision(vlm, K, vision=vision).status == status


@pytest.mark.parametrize("vlm, published, status", [
    (S(0.35), 0.55, "reproduced"),
    (S(0.56), 0.55, "not reproduced"),
    (SHIFTED, 0.55, "not testable here"),  # the sanity floor: a broken run never reproduces a published gap
    (BROKEN, 0.55, "not testable here"),
    (S(0.35), None, "not testable here"),
])
def test_f1_against_a_published_baseline(vlm, published, status):
    assert V.f1_vlm_vs_vision(vlm, K, published=published).status == status


@pytest.mark.parametrize("vlm, vision, status", [
    ({"a": D(-0.005, 0.02)}, {"v": D(-0.07)}, "reproduced"),
    ({"a": D(-0.005, 0.02)}, {}, "reproduced"),
    ({"a": D(-0.005, 0.02)}, {"v": D(-0.01)}, "partly reproduced"),         # the vision model does not drop
    ({"a": D(-0.005, 0.02)}, {"v": D(-0.07, reference=0.1)}, "partly reproduced"),  # vision at chance
    ({"a": D(-0.06)}, {"v": D(-0.07)}, "not reproduced"),                 # the VLM drops
    ({"a": D(-0.01, 0.08)}, {"v": D(-0.07)}, "not testable here"),       # too few clips for the margin
    ({"a": D(0.0, 0.01, reference=0.15)}, {"v": D(-0.07)}, "not testable here"),  # the VLM at chance
])
def test_f2_is_an_equivalence_test(vlm, vision, status):
    assert V.f2_frame_shuffle(vlm, K, vision).status == status


def test_f2_a_small_real_drop_is_not_no_effect():
    # -0.02 measured tightly is inside the margin: "barely moves"; the same with a wide interval is untestable
    assert V.f2_frame_shuffle({"a": D(-0.02, 0.005)}, K).status == "reproduced"
    assert V.f2_frame_shuffle({"a": D(-0.02, 0.05)}, K).status == "not testable here"
    assert V.f2_frame_shuffle({"a": D(-0.04, 0.005)}, K).status == "not reproduced"


def _rho(en, zh, width=0.2):
    return {"English": S(en, width), "Chinese": S(zh, width)}


@pytest.mark.parametrize("rhos, powers, status", [
    ({"p0": _rho(0.0, 0.0), "p1": _rho(0.6, 0.5), "p2": _rho(0.7, 0.6)}, {"p0": 0, "p1": 1, "p2": 2}, "reproduced"),
    ({"a": _rho(0.6, 0.5), "b": _rho(0.7, 0.6)}, None, "reproduced"),
    ({"a": _rho(0.6, 0.0), "b": _rho(0.7, 0.6)}, None, "partly reproduced"),  # English alone is not enough
    ({"a": _rho(0.0, 0.0), "b": _rho(0.1, 0.0)}, None, "not reproduced"),
    ({"a": _rho(math.nan, math.nan)}, None, "not testable here"),
])
def test_f3_needs_both_languages(rhos, powers, status):
    f1 = {m: 0.5 for m in rhos}
    assert V.f3_lexical_frequency(rhos, K, f1, powers).status == status


def test_f3_leaves_models_at_chance_out():
    rhos = {"a": _rho(0.6, 0.5)}
    assert V.f3_lexical_frequency(rhos, K, {"a": 0.1}).status == "not testable here"


@pytest.mark.parametrize("shares, powers, f1, status", [
    ({"p0": S(0.30), "p2": S(0.60)}, {"p0": 0, "p2": 2}, 0.5, "reproduced"),
    ({"p0": S(0.50), "p2": S(0.60)}, {"p0": 0, "p2": 2}, 0.5, "partly reproduced"),
    ({"p0": S(0.29), "p2": S(0.30)}, {"p0": 0, "p2": 2}, 0.5, "not reproduced"),
    ({"a": S(0.60), "b": S(0.65)}, None, 0.5, "reproduced"),
    ({"a": S(0.60), "b": S(0.30)}, None, 0.5, "partly reproduced"),
    ({"a": S(0.30)}, None, 0.5, "not reproduced"),
    ({"a": S(0.90), "b": S(0.95)}, None, 0.1, "partly reproduced"),  # at chance: answering the prior
])
def test_f4_head_share_against_the_test_labels(shares, powers, f1, status):
    out = V.f4_head_collapse(shares, expected=2 / K, unparsed={m: 0.0 for m in shares}, macro_f1={m: f1 for m in shares},
                             k=K, prior_powers=powers)
    assert out.status == status


def test_f4_uses_the_test_sets_own_distribution_and_refuses_unreadable_runs():
    share = {"a": S(0.40)}
    assert V.f4_head_collapse(share, 0.2, {"a": 0.0}, {"a": 0.5}, K).status == "reproduced"
    assert V.f4_head_collapse(share, 0.35, {"a": 0.0}, {"a": 0.5}, K).status == "not reproduced"  # imbalanced fold
    assert V.f4_head_collapse(share, 0.2, {"a": 0.9}, {"a": 0.5}, K).status == "not testable here"


@pytest.mark.parametrize("args, status", [
    ((S(0.45), S(0.47), 2.0, 2.5, D(0.15)), "reproduced"),
    ((S(0.45), S(0.47), 2.0, 2.5, D(0.01, 0.05)), "partly reproduced"),
    ((S(0.45), S(0.47), 2.5, 2.0, D(-0.05)), "not reproduced"),
    ((S(0.10), S(0.12), 2.0, 2.5, D(0.15)), "not testable here"),
    ((None, S(0.47), 2.0, 2.5, None), "not testable here"),
])
def test_f5(args, status):
    n, b, en, eb, tail = args
    assert V.f5_balanced_finetuning(n, b, K, en, eb, tail).status == status


def _sweep(values, width=0.02):
    return list(zip([1, 2, 5, 10, 15, 20, 25], [S(v, width) for v in values]))


@pytest.mark.parametrize("values, status", [
    ([0.30, 0.40, 0.50, 0.45, 0.40, 0.38, 0.35], "reproduced"),
    ([0.30, 0.35, 0.40, 0.45, 0.50, 0.45, 0.35], "partly reproduced"),  # peak far from 5 fps
    ([0.30, 0.40, 0.45, 0.48, 0.50, 0.51, 0.52], "partly reproduced"),  # rises only
    ([0.40, 0.41, 0.40, 0.41, 0.40, 0.41, 0.40], "not reproduced"),
    ([0.10, 0.12, 0.11, 0.10, 0.12, 0.11, 0.10], "not testable here"),
])
def test_f6_sweep_locates_the_peak(values, status):
    out = V.f6_fps_sweep(_sweep(values), K)
    assert out.status == status


def test_f6_sweep_names_identical_inputs_and_drops_the_copy():
    values = [0.30, 0.40, 0.50, 0.45, 0.40, 0.38, 0.38]
    out = V.f6_fps_sweep(_sweep(values), K, identical=[(20, 25)])
    assert "20 and 25 fps" in out.text and out.facts["identical_inputs"] == [(20, 25)]


@pytest.mark.parametrize("capture, status", [(0.6, "reproduced"), (0.95, "not reproduced"), (1.5, "not testable here")])
def test_f6_micro_capture(capture, status):
    assert V.f6_micro_capture(capture).status == status


@pytest.mark.parametrize("msce, oracle, keyframes, status", [
    (D(0.05), D(0.08), S(0.4), "reproduced"),
    (D(0.0), D(0.08), S(0.4), "not reproduced"),        # only the oracle helps: stage 1 is the bottleneck
    (D(0.0), D(-0.1), S(0.4), "not testable here"),     # even the oracle does not help
    (D(0.0), None, S(0.4), "not reproduced"),
    (D(0.05), D(0.08), S(0.1), "not testable here"),
])
def test_f7_only_the_models_own_text_reproduces(msce, oracle, keyframes, status):
    assert V.f7_msce(msce, keyframes, K, oracle).status == status


def test_every_function_returns_reasons():
    out = V.f1_vlm_vs_vision(S(0.35), K, vision=S(0.55))
    assert out.reasons and out.text and out.facts["vision"] == 0.55


# --- the chapters use these rules, and quote published numbers from emoprobe.reference ---------------------------

FINDING_CHAPTERS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("f[0-9]_*.ipynb"))
# a published number has three or four decimals (0.2449); a reading precision ("about ±0.002") is not one
PUBLISHED_NUMBER = re.compile(r"(?<![±\d])[+−-]?\d\.\d{3,}")


def _strings(nb):
    for cell in nb["cells"]:
        src = "".join(cell["source"])
        if cell["cell_type"] == "markdown":
            yield src
        else:
            yield from (n.value for n in ast.walk(ast.parse(src))
                        if isinstance(n, ast.Constant) and isinstance(n.value, str))


@pytest.mark.parametrize("path", FINDING_CHAPTERS, ids=lambda p: p.stem)
def test_chapters_render_the_library_verdict_and_type_no_published_number(path):
    nb = json.loads(path.read_text())
    code = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code")
    assert re.search(r"verdicts\.f\d_\w+\(", code), "the status must come from emoprobe.verdicts"
    assert not re.search(r"(?<![.\w])status\s*=(?!=)", code), "a chapter must not decide a status itself"
    typed = [m.group() for s in _strings(nb) for m in PUBLISHED_NUMBER.finditer(s)]
    assert not typed, f"published numbers typed into {path.name} (take them from emoprobe.reference): {typed}"
