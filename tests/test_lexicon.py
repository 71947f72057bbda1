"""Word frequencies of emotion words (wordfreq, offline), pinned to values decoded from wordfreq 3.1.1's data."""

import math

import pytest
import wordfreq

from emoprobe import lexicon
from emoprobe.labels import LABEL_SETS

# English Zipf values decoded from wordfreq's large_en list (https://github.com/rspeer/wordfreq).
REFERENCE_EN = {
    "happy": 5.35, "happiness": 4.44, "sad": 4.84, "sadness": 3.88, "angry": 4.66, "anger": 4.42,
    "surprised": 4.68, "surprise": 4.75, "disgusted": 3.57, "disgust": 3.61, "fearful": 3.58, "fear": 4.95,
    "neutral": 4.24, "contempt": 3.74, "anxious": 4.09, "anxiety": 4.45, "helpless": 3.69,
    "helplessness": 2.91, "disappointed": 4.42, "disappointment": 4.01,
    "joy": 4.55, "afraid": 4.70, "scared": 4.60, "worried": 4.63,
}

# Chinese Zipf values of the words lexicon.py uses for MAFW's 11 classes, computed here from wordfreq 3.1.1's
# large_zh list by whole-word lookup (no published Chinese values to check against; the data is frozen).
PINNED_ZH = {"happiness": 5.11, "sadness": 4.34, "neutral": 3.70, "anger": 4.64, "surprise": 4.44,
             "disgust": 4.12, "fear": 4.65, "contempt": 3.48, "anxiety": 4.24, "helplessness": 3.86,
             "disappointment": 4.69}


@pytest.mark.parametrize("word, value", sorted(REFERENCE_EN.items()))
def test_english_words_match_reference(word, value):
    assert lexicon.word_zipf(word, "en") == value


def test_wordfreq_readme_examples_offline():
    # the examples of wordfreq's README (the package's data ships with it: no network)
    assert wordfreq.zipf_frequency("the", "en") == 7.73
    assert wordfreq.zipf_frequency("word", "en") == 5.26


def test_whole_word_lookup_agrees_with_wordfreq_where_it_can_run():
    # Our Chinese path looks whole words up in the frequency dict; on English words (where wordfreq's own
    # tokenizer leaves one token) the same arithmetic must give wordfreq's own answer.
    d = wordfreq.get_frequency_dict("en", "large")
    for word, value in REFERENCE_EN.items():
        assert round(math.log10(d[word]) + 9, 2) == value


def test_dataset_labels_map_to_their_words():
    assert lexicon.zipf("happy") == 5.35 and lexicon.zipf("happiness") == 4.44  # DFEW vs MAFW wording
    assert lexicon.zipf("happy", form="noun") == 4.44 and lexicon.zipf("happiness", form="adjective") == 5.35
    assert lexicon.concept("Angry ") == "anger"
    for dataset, labels in LABEL_SETS.items():
        for lang in lexicon.LANGS:
            freqs = lexicon.frequencies(labels, lang)
            assert all(v > 0 for v in freqs.values()), (dataset, lang, freqs)
            full = lexicon.frequencies(labels, lang, form="all")
            assert all(full[k] >= freqs[k] for k in labels)  # adding variants never lowers the total


def test_mafw_chinese_words():
    got = lexicon.frequencies(LABEL_SETS["mafw"], "zh")
    assert got == pytest.approx(PINNED_ZH, abs=1e-9)
    assert lexicon.words("happiness", "zh") == ("快乐",) and lexicon.words("happy", "zh") == ("快乐",)
    assert lexicon.word_zipf("不存在的词语", "zh") == 0.0


def test_rarest_classes_have_rare_nouns():
    # measured here: MAFW's three rarest classes (helplessness, contempt, disappointment) and
    # DFEW's rarest (disgust) have the lowest noun-form Zipf values. Precisely: they are among the five lowest,
    # with sadness (3.88) just below disappointment (4.01).
    nouns = lexicon.frequencies(LABEL_SETS["mafw"], "en", form="noun")
    assert sorted(nouns, key=nouns.get)[:5] == ["helplessness", "disgust", "contempt", "sadness", "disappointment"]
    dfew = lexicon.frequencies(LABEL_SETS["dfew"], "en", form="noun")
    assert min(dfew, key=dfew.get) == "disgust"


def test_prior_power_is_a_dose_response():
    labels = LABEL_SETS["mafw"]
    uniform = lexicon.prior(labels, 0)
    assert uniform == pytest.approx({k: 1 / 11 for k in labels})
    web = lexicon.prior(labels, 1)
    assert sum(web.values()) == pytest.approx(1.0)
    # power 1: ratio of probabilities = ratio of frequencies = 10 ** (Zipf difference)
    assert web["fear"] / web["helplessness"] == pytest.approx(10 ** (4.95 - 2.91), rel=1e-9)
    strong = lexicon.prior(labels, 2)
    assert strong["fear"] / strong["helplessness"] == pytest.approx(10 ** (2 * (4.95 - 2.91)), rel=1e-9)
    assert max(strong.values()) > max(web.values()) > max(uniform.values())
    zh = lexicon.prior(labels, 1, lang="zh")
    assert max(zh, key=zh.get) == "happiness"


def test_bad_input_names_the_problem():
    with pytest.raises(ValueError, match="unknown emotion label 'joyful'"):
        lexicon.zipf("joyful")
    with pytest.raises(ValueError, match="lang"):
        lexicon.zipf("happy", lang="fr")
    with pytest.raises(ValueError, match="form"):
        lexicon.zipf("happy", form="verb")
    with pytest.raises(ValueError, match="power"):
        lexicon.prior(["happy", "sad"], -1)
    with pytest.raises(ValueError, match="distinct"):
        lexicon.prior(["happy", "happy"], 1)
