"""How common each emotion word is in web-scale text, from the `wordfreq` package (English and Chinese).

The paper correlates per-class accuracy with how often the class word appears in text (its lexical-frequency
figure), and the probe's tiny VLM is pretrained on captions whose emotion words follow these frequencies
(``prior``). `wordfreq` ships its word lists inside the package (wordfreq's README), so this works
offline; its data is a frozen snapshot (through about 2021), so the numbers never change.

Every canonical label of ``emoprobe.labels`` (DFEW/FERV39k say ``happy``, MAFW says ``happiness``) maps to one
*concept* with its English noun, adjective and common variants, and its Chinese words.

Chinese: wordfreq's own ``zipf_frequency(word, "zh")`` first segments the text with ``jieba``, which is not
installed here (it raises ``ModuleNotFoundError``). We look whole words up in wordfreq's Chinese list
directly (``get_frequency_dict("zh")``), which is what its lookup does when the word is a single entry of
the list — all the words below are. The Chinese words are our own choice of the usual Simplified Chinese
terms; MAFW's official Chinese class names are not used (its split files name the classes in English).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import wordfreq

LANGS = ("en", "zh")
WORDLIST = "large"  # the 'small' list stops at Zipf 3 and would give 'helplessness' 0 (wordfreq's README)

# concept -> words. English: the noun and adjective forms and a few everyday single-word variants (no
# ambiguous ones such as "mad"; no phrases, which wordfreq would split into common words); Chinese: the usual
# term first, then common near-synonyms.
CONCEPTS: dict[str, dict] = {
    "happiness": {"en": {"noun": "happiness", "adjective": "happy", "variants": ("joy", "glad")},
                  "zh": ("快乐", "高兴", "开心")},
    "sadness": {"en": {"noun": "sadness", "adjective": "sad", "variants": ("sorrow", "unhappy")},
                "zh": ("悲伤", "难过", "伤心")},
    "neutral": {"en": {"noun": "neutral", "adjective": "neutral", "variants": ("calm",)},
                "zh": ("中性", "平静")},
    "anger": {"en": {"noun": "anger", "adjective": "angry", "variants": ("furious",)},
              "zh": ("愤怒", "生气")},
    "surprise": {"en": {"noun": "surprise", "adjective": "surprised", "variants": ("astonished",)},
                 "zh": ("惊讶", "吃惊")},
    "disgust": {"en": {"noun": "disgust", "adjective": "disgusted", "variants": ("revulsion",)},
                "zh": ("厌恶", "恶心")},
    "fear": {"en": {"noun": "fear", "adjective": "fearful", "variants": ("afraid", "scared")},
             "zh": ("恐惧", "害怕")},
    "contempt": {"en": {"noun": "contempt", "adjective": "contemptuous", "variants": ("scorn",)},
                 "zh": ("轻蔑", "蔑视")},
    "anxiety": {"en": {"noun": "anxiety", "adjective": "anxious", "variants": ("worried", "nervous")},
                "zh": ("焦虑", "不安")},
    "helplessness": {"en": {"noun": "helplessness", "adjective": "helpless", "variants": ("powerless",)},
                     "zh": ("无助", "无奈")},
    "disappointment": {"en": {"noun": "disappointment", "adjective": "disappointed", "variants": ()},
                       "zh": ("失望", "沮丧")},
}

# Labels (any dataset's wording) -> concept.
ALIASES = {"happy": "happiness", "sad": "sadness", "angry": "anger", "surprised": "surprise",
           "disgusted": "disgust", "fearful": "fear", "afraid": "fear", "anxious": "anxiety",
           "helpless": "helplessness", "disappointed": "disappointment", "contemptuous": "contempt",
           "happiness": "happiness", "sadness": "sadness", "anger": "anger", "surprise": "surprise",
           "disgust": "disgust", "fear": "fear", "neutral": "neutral", "contempt": "contempt",
           "anxiety": "anxiety", "helplessness": "helplessness", "disappointment": "disappointment"}

FORMS = ("label", "noun", "adjective", "all")


def concept(label: str) -> str:
    """The concept a label names (``happy`` and ``happiness`` are both ``happiness``)."""
    key = str(label).strip().lower()
    try:
        return ALIASES[key]
    except KeyError:
        raise ValueError(f"unknown emotion label {label!r}; expected one of {sorted(ALIASES)}") from None


def _check_lang(lang):
    if lang not in LANGS:
        raise ValueError(f"lang must be one of {LANGS}, got {lang!r}")


def words(label: str, lang: str = "en", form: str = "label") -> tuple[str, ...]:
    """The word(s) whose frequency stands for ``label``.

    ``form``: ``label`` — English: the label itself (``happy`` for DFEW, ``happiness`` for MAFW); Chinese: the
    usual term. ``noun`` / ``adjective`` — that English form (Chinese: the usual term). ``all`` — every word
    listed for the concept, variants included.
    """
    _check_lang(lang)
    if form not in FORMS:
        raise ValueError(f"form must be one of {FORMS}, got {form!r}")
    c = concept(label)
    if lang == "zh":
        zh = CONCEPTS[c]["zh"]
        return tuple(zh) if form == "all" else (zh[0],)
    en = CONCEPTS[c]["en"]
    if form == "label":
        return (str(label).strip().lower(),)
    if form in ("noun", "adjective"):
        return (en[form],)
    return tuple(dict.fromkeys((en["noun"], en["adjective"], *en["variants"])))


def word_zipf(word: str, lang: str = "en") -> float:
    """Zipf frequency of one word (log10 of occurrences per billion words; 0 when the list lacks it)."""
    _check_lang(lang)
    if lang == "en":
        return wordfreq.zipf_frequency(word, "en", wordlist=WORDLIST)
    # Whole-word lookup in the Chinese list: no jieba needed (see the module docstring).
    freq = wordfreq.get_frequency_dict("zh", WORDLIST).get(word.strip(), 0.0)
    return round(math.log10(freq) + 9, 2) if freq > 0 else 0.0


def zipf(label: str, lang: str = "en", form: str = "label") -> float:
    """Zipf frequency of an emotion label's word; with ``form="all"``, of all its words together (their
    frequencies summed: how often the concept is named in any of those ways)."""
    ws = words(label, lang, form)
    if len(ws) == 1:
        return word_zipf(ws[0], lang)
    total = sum(wordfreq.zipf_to_freq(word_zipf(w, lang)) for w in ws if word_zipf(w, lang) > 0)
    return round(math.log10(total) + 9, 2) if total > 0 else 0.0


def frequencies(labels: Sequence[str], lang: str = "en", form: str = "label") -> dict[str, float]:
    """label -> Zipf value, for a table or a correlation with per-class scores."""
    return {label: zipf(label, lang, form) for label in labels}


def prior(labels: Sequence[str], power: float, lang: str = "en", form: str = "label") -> dict[str, float]:
    """A class prior proportional to word frequency ** ``power``.

    ``power`` 0 gives the uniform prior, 1 the web-like one, 2 an exaggerated one (the probe's dose-response
    dial). A word missing from the list counts at the list's floor (Zipf 1, once per 100 million words), so
    no class gets probability 0.
    """
    labels = list(labels)
    if not labels or len(set(labels)) != len(labels):
        raise ValueError(f"labels must be a non-empty list of distinct labels, got {labels!r}")
    if not isinstance(power, (int, float)) or isinstance(power, bool) or not math.isfinite(power) or power < 0:
        raise ValueError(f"power must be a finite number >= 0, got {power!r}")
    # Work in log space: freq ** power = 10 ** (power * (zipf - 9)), normalised by the largest term.
    logs = [power * max(zipf(label, lang, form), 1.0) for label in labels]
    top = max(logs)
    weights = [10.0 ** (v - top) for v in logs]
    total = sum(weights)
    return {label: w / total for label, w in zip(labels, weights)}


__all__ = ["CONCEPTS", "LANGS", "concept", "frequencies", "prior", "word_zipf", "words", "zipf"]
