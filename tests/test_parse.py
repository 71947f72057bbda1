import re
import string

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from emoprobe.labels import label_set
from emoprobe.parse import OUTCOMES, PARSER_VERSION, SYNONYMS, match_label, parse

DFEW = label_set("dfew")
MAFW = label_set("mafw")
SETS = {"dfew": DFEW, "mafw": MAFW}


@pytest.mark.parametrize(("text", "labels", "label", "outcome", "reason"), [
    ("Happy", DFEW, "happy", "parsed", "exact"),
    ("**Sadness**.", DFEW, "sad", "parsed", "exact"),
    ("happiness", DFEW, "happy", "parsed", "exact"),  # MAFW's spelling onto DFEW's
    ("happy", MAFW, "happiness", "parsed", "exact"),  # and back
    ("Joyful!", MAFW, "happiness", "parsed", "exact"),
    ("No emotion.", DFEW, "neutral", "parsed", "exact"),
    ("Answer: Neutral", DFEW, "neutral", "parsed", "answer marker"),
    ("Let me look. A smile forms... Final answer: angry", DFEW, "angry", "parsed", "answer marker"),
    ("The emotion is not happy, it's sad.", DFEW, "sad", "parsed", "answer marker"),
    ("Neutral, Surprise, Fear, Sad, Angry", DFEW, "neutral", "parsed", "ranked list"),
    ("1. Fear\n2. Surprise\n3. Neutral", DFEW, "fear", "parsed", "ranked list"),
    ("Pain,Neutral,Sad", DFEW, None, "unparsed", "top-ranked item 'pain' is not a class"),
    ("Sad, because the corners of the mouth drop.", DFEW, "sad", "parsed", "leading answer"),
    ("They look unhappy.", DFEW, "sad", "parsed", "single class mentioned"),
    ("The person looks happy rather than sad.", DFEW, "happy", "parsed", "single class mentioned"),
    ("The person doesn't seem angry; they are calm.", DFEW, "neutral", "parsed", "single class mentioned"),
    ("The person seems nervous and worried.", MAFW, "anxiety", "parsed", "single class mentioned"),
    ("She looks disappointed.", MAFW, "disappointment", "parsed", "single class mentioned"),
    ("She looks disappointed.", DFEW, None, "unparsed", "no class found"),  # not a DFEW class
    ("The person is not happy.", DFEW, None, "unparsed", "no class found"),
    ("Neither happy nor sad.", DFEW, None, "unparsed", "no class found"),
    ("The person looks surprised, possibly with some fear.", DFEW, None, "unparsed", "ambiguous: surprise, fear"),
    ("I'm sorry, I cannot determine emotions from videos.", DFEW, None, "refused", None),
    ("I am unable to determine the emotional state of real people.", DFEW, None, "refused", None),
    ("As an AI, I don't judge feelings.", DFEW, None, "refused", None),
    ("I cannot be certain, but the person is most likely happy.", DFEW, "happy", "parsed", None),
    ("   \n\t", DFEW, None, "empty", "empty response"),
    ("", DFEW, None, "empty", "empty response"),
    (None, DFEW, None, "empty", "empty response"),
    ("<think>maybe sad?</think>\nAngry", DFEW, "angry", "parsed", "exact"),
    ("<think>no idea</think>", DFEW, None, "empty", None),
    ("...", DFEW, None, "unparsed", None),
    ("The sadness is obvious.", DFEW, "sad", "parsed", "single class mentioned"),
    ("A smile, then a frown of disgust.", DFEW, None, "unparsed", None),
])
def test_rules(text, labels, label, outcome, reason):
    out = parse(text, labels)
    assert (out["label"], out["outcome"]) == (label, outcome), out
    if reason is not None:
        assert out["reason"] == reason


def test_ranked_list_keeps_every_class_in_order():
    out = parse("Neutral,Surprise,Pain,Fear", DFEW)
    assert out["ranked"] == ["neutral", "surprise", "fear"]
    assert parse("happy", DFEW)["ranked"] == ["happy"]
    assert parse("not happy", DFEW)["ranked"] == []


@pytest.mark.parametrize(("text", "label"), [
    ("B", "sad"), ("(c)", "neutral"), ("A. happy", "happy"), ("Option D", "angry"), ("The answer is E.", "surprise"),
    ("The face is tense, so the answer is (G)", "fear"),
])
def test_option_letters(text, label):
    assert parse(text, DFEW, options=list(DFEW))["label"] == label


def test_option_letters_need_options_and_do_not_eat_articles():
    assert parse("B", DFEW)["outcome"] == "unparsed"
    assert parse("a happy person", DFEW, options=list(DFEW))["label"] == "happy"  # "a" is not option A
    assert parse("H", DFEW, options=list(DFEW))["outcome"] == "unparsed"  # only 7 options
    with pytest.raises(ValueError, match="options"):
        parse("A", DFEW, options=["happy", "joy"])


def test_word_boundaries():
    assert parse("unhappy", DFEW)["label"] == "sad"  # a synonym, not "happy"
    assert parse("sadistic", DFEW)["outcome"] == "unparsed"
    assert parse("madness", DFEW)["outcome"] == "unparsed"
    assert parse("fearless", DFEW)["outcome"] == "unparsed"


def test_user_synonyms_extend_the_table():
    assert parse("beaming", DFEW)["outcome"] == "unparsed"
    assert parse("beaming", DFEW, synonyms={"happy": ["beaming"]})["label"] == "happy"
    assert parse("beaming", MAFW, synonyms={"happy": ["beaming"]})["label"] == "happiness"  # concept key
    with pytest.raises(ValueError, match="synonyms"):
        parse("x", DFEW, synonyms={"pain": ["ouch"]})


def test_synonyms_cover_every_class_of_every_dataset():
    for labels in SETS.values():
        for label in labels:
            assert any(label in words for words in SYNONYMS.values()), label
    assert isinstance(PARSER_VERSION, str) and PARSER_VERSION


def test_match_label_for_list_items():
    assert match_label(" Surprised ", DFEW) == "surprise"
    assert match_label("2. Fear", DFEW) == "fear"
    assert match_label("Pain", DFEW) is None


# --- properties on adversarial text --------------------------------------------------------------------------

junk = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=200)
punct = st.text(alphabet=string.punctuation + " ", max_size=6)
label_sets = st.sampled_from(sorted(SETS))


def _all_words(labels):
    words = set()
    for label in labels:
        for concept, syn in SYNONYMS.items():
            if label == concept or label in syn:
                words |= {concept, *syn}
    return words


@settings(max_examples=300, deadline=None)
@given(junk, label_sets, st.booleans())
def test_random_text_never_raises_and_is_well_formed(text, name, with_options):
    labels = SETS[name]
    out = parse(text, labels, options=list(labels) if with_options else None)
    assert set(out) == {"label", "outcome", "reason", "ranked"}
    assert out["outcome"] in OUTCOMES
    assert out["label"] is None or out["label"] in labels
    assert (out["label"] is not None) == (out["outcome"] == "parsed")
    assert all(r in labels for r in out["ranked"])
    assert isinstance(out["reason"], str) and out["reason"]


@settings(max_examples=300, deadline=None)
@given(label_sets, st.data(), punct, punct, st.sampled_from(["lower", "upper", "title", "same"]))
def test_the_answer_is_label(name, data, before, after, case):
    labels = SETS[name]
    label = data.draw(st.sampled_from(labels))
    text = f"{before}The answer is {label}.{after}"
    text = {"lower": text.lower(), "upper": text.upper(), "title": text.title(), "same": text}[case]
    assert parse(text, labels)["label"] == label


@settings(max_examples=300, deadline=None)
@given(label_sets, st.data(), junk, junk)
def test_not_label_never_parses_as_label(name, data, before, after):
    labels = SETS[name]
    label = data.draw(st.sampled_from(labels))
    words = _all_words([label])
    # the label (or a synonym) must not occur elsewhere, un-negated, in the junk
    for part in (before, after):
        assume(not any(re.search(rf"(?<![a-z0-9_]){re.escape(w)}(?![a-z0-9_])", part.lower()) for w in words))
    text = f"{before} not {label} {after}"
    assert parse(text, labels)["label"] != label
