"""The dial experiments' rules (emoprobe.mechanisms) driven through each outcome on constructed numbers; a broken
run (near chance, too few clips) must read "not testable here", never "as predicted"."""

import math

import pytest

from emoprobe import mechanisms as M
from emoprobe.verdicts import Delta, Score

K = 7


def S(value, width=0.03, unparsed=0.0):
    return Score(value, value - width, value + width, unparsed)


def D(value, width=0.02, reference=0.5):
    return Delta(value, value - width, value + width, value - 0.84 * width, value + 0.84 * width, reference)


def test_statuses_are_checked():
    with pytest.raises(ValueError, match="status"):
        M.Check("p", "reproduced")
    box = M.f2_shuffled_training(D(-0.08), D(0.0), K).markdown("The dial")
    assert box.startswith(":::{admonition} The dial: as predicted") and "Predicted before the run" in box


@pytest.mark.parametrize("ordered, shuffled, status", [
    (D(-0.08), D(0.0), "as predicted"),                       # the loss goes away
    (D(-0.08), D(-0.06), "not as predicted"),                 # it stays
    (D(-0.08), D(0.0, width=0.05), "not as predicted"),       # too wide to show equivalence
    (D(-0.01), D(0.0), "not testable here"),                  # nothing to remove: interval reaches zero
    (D(-0.08, reference=0.1), D(0.0), "not testable here"),   # ordered model near chance
    (D(-0.08), D(0.0, reference=math.nan), "not testable here"),  # nothing measured
])
def test_f2_shuffled_training(ordered, shuffled, status):
    check = M.f2_shuffled_training(ordered, shuffled, K)
    assert check.status == status
    assert check.facts["margin"] == M.EQUIVALENCE_MARGIN and check.prediction and check.text


@pytest.mark.parametrize("missed, n, keyframes, status", [
    (D(0.2), 40, S(0.5), "as predicted"),
    (D(0.01), 40, S(0.5), "not as predicted"),
    (D(-0.1), 40, S(0.5), "not as predicted"),
    (D(0.2), M.MIN_CLIPS - 1, S(0.5), "not testable here"),
    (D(0.2), 40, S(0.1), "not testable here"),                 # a shifted label map scores near chance
    (D(0.2), 40, S(0.5, unparsed=0.9), "not testable here"),   # every answer unparsed
])
def test_f7_missed_events(missed, n, keyframes, status):
    check = M.f7_missed_events(missed, n, keyframes, K, caught=D(0.0))
    assert check.status == status
    assert check.facts["n_missed"] == n


@pytest.mark.parametrize("describer, oracle, status", [
    (D(0.05), D(0.1), "as predicted"),
    (D(0.05), None, "as predicted"),            # real data: no oracle, the describer alone decides
    (D(0.0), D(0.1), "not as predicted"),
    (D(0.05), D(-0.05), "not testable here"),   # the reader cannot use text at all
])
def test_f7_describer(describer, oracle, status):
    check = M.f7_describer(describer, S(0.5), K, oracle, phrase_f1=0.4)
    assert check.status == status
    assert check.status == "not testable here" or "phrase F1 0.40" in check.text


def test_f7_describer_near_chance():
    assert M.f7_describer(D(0.05), S(0.15), K, D(0.1)).status == "not testable here"


@pytest.mark.parametrize("step, n, status", [
    (D(0.1), 40, "as predicted"),
    (D(0.0), 40, "not as predicted"),
    (D(0.1), 3, "not testable here"),
])
def test_f7_gap_length(step, n, status):
    check = M.f7_gap_length(step, n, S(0.5), K, fewest=1, most=8)
    assert check.status == status and check.facts["most"] == 8
    assert M.f7_gap_length(step, n, S(0.1), K, 1, 8).status == "not testable here"


def test_real_data_has_no_oracle_text():
    for check in (M.f7_missed_events(None, 0, S(0.5), K), M.f7_gap_length(None, 0, S(0.5), K, 1, 8)):
        assert check.status == "not testable here" and "action units" in check.text


def test_nothing_measured_is_not_testable():
    nan = Delta(math.nan, math.nan, math.nan)
    assert M.f2_shuffled_training(D(-0.08), nan, K).status == "not testable here"
    assert M.f7_missed_events(nan, 40, S(0.5), K).status == "not testable here"
    assert M.f7_describer(nan, S(0.5), K).status == "not testable here"
    assert M.f7_gap_length(nan, 40, S(0.5), K, 4, 4).status == "not testable here"
