"""The designed-in box: its facts come from the zoo's configuration, every finding has one, real models get none."""

import pytest

from emoprobe.probe import disclosure, zoo
from emoprobe.results import FINDINGS


@pytest.mark.parametrize("finding", list(FINDINGS))
def test_every_finding_has_a_box_in_every_profile(finding):
    for profile in zoo.PROFILES:
        text = disclosure.box(finding, profile)
        assert text.startswith(":::{admonition}") and text.endswith(":::")
    assert "real models on real data" in disclosure.box_for(finding, ["qwen2.5-vl-7b"]) or finding == "F6 micro"


def test_the_facts_are_the_configured_values():
    quick, smoke = disclosure.designed_in("F1", "quick"), disclosure.designed_in("F1", "smoke")
    assert f"{zoo.PROFILES['quick'].base_steps:,} steps" in " ".join(quick)
    assert f"{zoo.PROFILES['smoke'].base_steps:,} steps" in " ".join(smoke) and quick != smoke
    assert f"{zoo.PROFILES['quick'].context_share:.0%}" in " ".join(disclosure.designed_in("F7", "quick"))
    assert "`smoke` zoo" in disclosure.box_for("F2", ["probe:smoke/vlm-prior1", "qwen2.5-vl-7b"])
    with pytest.raises(ValueError, match="finding"):
        disclosure.designed_in("F8")


def test_every_fact_a_finding_can_name_has_its_sentence():
    from emoprobe.results import Finding

    FINDINGS.register("F-all", Finding("all_facts", "Every fact.", "nothing", disclosure.FACTS))
    try:
        sentences = disclosure.designed_in("F-all", "quick")
    finally:
        FINDINGS.unregister("F-all")
    assert len(sentences) == len(set(sentences)) == len(disclosure.FACTS)
