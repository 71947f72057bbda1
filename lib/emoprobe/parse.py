"""Free text from a VLM -> one class of the label set, or a stated reason why not.

``parse(text, labels)`` returns ``dict(label, outcome, reason, ranked)`` with ``outcome`` one of

- ``parsed``    ``label`` is a member of ``labels`` (spelled exactly as given there);
- ``unparsed``  no single class could be read (``reason`` says why, e.g. ``ambiguous: happy, sad``);
- ``refused``   the model declined ("I'm sorry", "I cannot determine emotions ...");
- ``empty``     nothing but whitespace (or only a ``<think>`` block).

Unparsed, refused and empty answers are *wrong* answers for scoring, and are also reported as rates of their
own (users of lmms-eval and VLMEvalKit ask, in those projects' issue trackers, for the unparsed rate
separately from errors). The rules, tried in this order, first hit wins:

1. **exact**: the whole reply (without surrounding quotes, brackets and punctuation) is a class name or a
   synonym of one ("Happiness.", "**Sad**").
2. **option letter**: with ``options`` (the lettered list the prompt showed, option A first), a reply that
   is a letter ("B", "(B)", "B. sad", "Option B") or ends on "answer is B" gives that option.
3. **answer marker**: "Answer: X", "The answer is X", "Emotion: X", "The facial expression is X" ... The
   *last* marker whose sentence names a class wins (chain-of-thought replies put the verdict last); inside
   that sentence the first class that is not negated is taken.
4. **ranked list**: a reply made only of short items separated by commas, semicolons, new lines, ">" or
   "then" (optionally numbered), most of them class names, is a ranking: ``label`` is its first item and
   ``ranked`` every class it names, in order. A first item outside the set (GPT-4V says "Pain") is unparsed.
5. **leading answer**: the first clause of the reply is a class name ("Sad, because the corners of ...").
6. **refusal**: an apology or a statement of inability ("I'm sorry", "I cannot determine ...", "as an AI").
7. **free text**: every class mentioned and not negated; exactly one distinct class is taken, several are
   ``ambiguous`` (we do not guess which one the model meant).

Matching is by whole words, case-insensitive, over the class names and :data:`SYNONYMS` mapped onto the
dataset's own spelling (DFEW's "happy" and MAFW's "happiness" both accept "joy"), so "unhappy" is never
"happy" (it is a synonym of sad). A mention is **negated** when one of ``not no never neither nor without
cannot non hardly barely lack(s/ing)`` or a word ending in "n't", or "rather than", "instead of", "other
than", "as opposed to", occurs in the four words before it within the same clause (a comma, full stop,
"but" or "however" ends a clause): "not happy" and "neither happy nor sad" name no class.
"""

from __future__ import annotations

import functools
import re
import string
import unicodedata

PARSER_VERSION = "emoprobe-parse-1"

OUTCOMES = ("parsed", "unparsed", "refused", "empty")

# Concept -> words and phrases that name it. A label set maps each of its classes to the concept whose list
# contains the class name, so the synonyms land on the dataset's own spelling. Words that could name two
# concepts ("upset", "frustrated", "content") are left out on purpose.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "happy": ("happy", "happiness", "joy", "joyful", "joyous", "cheerful", "glad", "delighted", "pleased",
              "smiling", "smile", "smiles", "laughing", "laughter", "amused", "elated"),
    "sad": ("sad", "sadness", "unhappy", "unhappiness", "sorrow", "sorrowful", "grief", "grieving", "crying",
            "tearful", "depressed", "melancholy", "gloomy"),
    "neutral": ("neutral", "calm", "no emotion", "no emotions", "no particular emotion", "no clear emotion",
                "no obvious emotion", "no visible emotion", "no strong emotion", "expressionless",
                "emotionless", "blank expression", "impassive", "neutrality"),
    "angry": ("angry", "anger", "mad", "furious", "fury", "rage", "enraged", "irritated", "annoyed",
              "annoyance", "irritation"),
    "surprise": ("surprise", "surprised", "astonished", "astonishment", "amazed", "amazement", "shocked",
                 "shock", "startled"),
    "disgust": ("disgust", "disgusted", "disgusting", "revulsion", "repulsed", "revolted", "grossed out"),
    "fear": ("fear", "afraid", "scared", "fearful", "frightened", "terrified", "terror", "panicked"),
    "contempt": ("contempt", "contemptuous", "disdain", "disdainful", "scorn", "scornful", "sneering"),
    "anxiety": ("anxiety", "anxious", "nervous", "nervousness", "worried", "worry", "uneasy", "unease"),
    "helplessness": ("helplessness", "helpless", "powerless", "powerlessness"),
    "disappointment": ("disappointment", "disappointed", "let down", "dismayed", "dismay"),
}

NEGATORS = frozenset({"not", "no", "never", "neither", "nor", "without", "cannot", "non", "hardly", "barely",
                      "lack", "lacks", "lacking"})
NEGATING_PHRASES = ("rather than", "instead of", "other than", "opposed to")
NEGATION_WINDOW = 4  # words looked at before a mention

REFUSAL_PATTERNS = (
    r"\bi(?:'m| am) sorry\b",
    r"^sorry\b",
    r"\bas an ai\b",
    r"\bi (?:cannot|can't|can not|am unable to|am not able to|'m unable to|'m not able to|won't|will not) "
    r"(?:determine|identify|recogni[sz]e|tell|assess|analy[sz]e|infer|detect|help|assist|provide|see|view|"
    r"watch|process|interpret|make|read|classify|judge|comment|do)\b",
    r"\b(?:unable|not possible|impossible) to (?:determine|identify|recogni[sz]e|tell|assess|infer|detect|"
    r"classify|judge)\b",
    r"\bcannot be (?:determined|identified|inferred)\b",
    r"\bi (?:do not|don't) have the ability\b",
)

_PUNCT = string.punctuation + " \t\n\r“”‘’«»…·•"
_MARKER = re.compile(
    r"(?<![a-z])(?:final answer|answer|predicted emotion|prediction|emotional state|emotion|facial expression|"
    r"expression|label|category|classification|class)\s*(?:is|would be|:|=|-)\s*")
_SENTENCE_END = re.compile(r"[.!?\n;]")
_NUMBERING = re.compile(r"^\s*(?:\(?\d{1,2}[.)]|[-*•]|\d{1,2}\s*[:-])\s*")
_LIST_SPLIT = re.compile(r"\s*(?:,|;|\n|>|\||→|->|\bthen\b)\s*")
_CLAUSE_BREAK = re.compile(r"[,.;:!?\n()]|\bbut\b|\bhowever\b|\bwhereas\b|\bwhile\b")
_WORD = re.compile(r"[a-z]+(?:'[a-z]+)?")
_THINK = re.compile(r"<think>.*?</think>", re.S)


def _norm_phrase(phrase: str) -> str:
    return " ".join(str(phrase).lower().split())


@functools.lru_cache(maxsize=64)
def _compile(labels: tuple[str, ...], extra: tuple[tuple[str, tuple[str, ...]], ...]):
    """phrase -> label lookup and one whole-word regex over all phrases (longest first)."""
    lookup: dict[str, str] = {}
    lowered = {label.lower(): label for label in labels}
    for key, label in lowered.items():
        lookup[key] = label
        for concept, words in SYNONYMS.items():
            if key == concept or key in words:
                for w in (concept, *words):
                    lookup.setdefault(_norm_phrase(w), label)
    for key, words in extra:
        label = lowered.get(key.lower())
        if label is None:  # a concept name: map through the concept's class in this set
            concept_words = {key.lower(), *SYNONYMS.get(key.lower(), ())}
            label = next((lab for k, lab in lowered.items() if k in concept_words), None)
        if label is None:
            raise ValueError(f"synonyms: key {key!r} is neither a class of {list(labels)} nor a concept of "
                             f"{sorted(SYNONYMS)}")
        for w in words:
            lookup[_norm_phrase(w)] = label  # user entries override the defaults
    phrases = sorted(lookup, key=len, reverse=True)
    alternation = "|".join(r"\s+".join(re.escape(part) for part in p.split()) for p in phrases)
    pattern = re.compile(r"(?<![a-z0-9_])(" + alternation + r")(?![a-z0-9_])")
    return lookup, pattern


def _tables(labels, synonyms):
    labels = tuple(str(x) for x in labels)
    if not labels:
        raise ValueError("labels: expected at least one class name")
    extra = tuple(sorted((str(k), tuple(v) if not isinstance(v, str) else (v,))
                         for k, v in (synonyms or {}).items()))
    return labels, *_compile(labels, extra)


def normalize(text) -> str:
    """Lower-case, NFKC, straight apostrophes, no markdown emphasis, no ``<think>`` blocks."""
    text = _THINK.sub(" ", str(text))
    text = unicodedata.normalize("NFKC", text).replace("’", "'").replace("‘", "'").replace("`", "'")
    text = re.sub(r"[*_#]+", " ", text)
    return text.lower().strip()


def _strip(s: str) -> str:
    return " ".join(s.strip(_PUNCT).split())


def match_label(item, labels, synonyms=None) -> str | None:
    """The class a short item names exactly (a list entry such as "Happy" or " surprised "), else None."""
    labels, lookup, _ = _tables(labels, synonyms)
    item = re.sub(r"\(.*?\)", " ", normalize(item))
    return lookup.get(_strip(_NUMBERING.sub("", item)))


def _negated(text: str, start: int) -> bool:
    before = text[:start]
    breaks = list(_CLAUSE_BREAK.finditer(before))
    if breaks:
        before = before[breaks[-1].end():]
    words = _WORD.findall(before)[-NEGATION_WINDOW:]
    if any(w in NEGATORS or w.endswith("n't") for w in words):
        return True
    window = " ".join(words)
    return any(p in window for p in NEGATING_PHRASES)


def _mentions(text: str, lookup, pattern) -> list[str]:
    """Classes mentioned and not negated, in order of appearance (repeats kept)."""
    return [lookup[_norm_phrase(m.group(1))] for m in pattern.finditer(text) if not _negated(text, m.start())]


def _as_list(text: str, lookup):
    """(first item, its class or None, classes in order) if ``text`` reads as a ranked list, else None."""
    items = [_strip(_NUMBERING.sub("", re.sub(r"\(.*?\)", " ", it))) for it in _LIST_SPLIT.split(text)]
    items = [it for it in items if it]
    if len(items) < 2 or any(len(it.split()) > 3 for it in items):
        return None
    mapped = [lookup.get(it) for it in items]
    if 2 * sum(m is not None for m in mapped) < len(items):
        return None
    ranked = list(dict.fromkeys(m for m in mapped if m is not None))
    return items[0], mapped[0], ranked


def _result(label, outcome, reason, ranked=None):
    if ranked is None:
        ranked = [label] if label is not None else []
    return {"label": label, "outcome": outcome, "reason": reason, "ranked": list(ranked)}


def _option_letter(t: str, options):
    n = len(options)
    letters = string.ascii_lowercase[:n]
    lead = re.match(r"^(?:(?:the\s+)?(?:correct\s+|final\s+)?(?:answer|option|choice)(?:\s+is)?\s*[:\-]?\s*)?"
                    r"(?:\(([a-z])\)|([a-z])(?=\s*(?:[.):\]]|$)))", t)
    if lead:
        letter = lead.group(1) or lead.group(2)
        if letter in letters:
            return letter
    tail = None
    for m in re.finditer(r"(?:answer|option|choice)\s*(?:is|:)\s*\(?([a-z])\)?(?=\s*(?:[.):\],;!]|$))", t):
        tail = m.group(1)
    if tail is not None and tail in letters:
        return tail
    return None


def parse(text, labels, synonyms=None, options=None) -> dict:
    """Map a reply to one class of ``labels``; see the module docstring for the rules, in order.

    ``synonyms`` adds phrases: ``{class or concept: [phrase, ...]}``. ``options`` is the lettered candidate
    list shown by the prompt (option A first), as returned by ``emoprobe.prompts.render(...)["options"]``.
    """
    labels, lookup, pattern = _tables(labels, synonyms)
    if options is not None:
        options = [str(o) for o in options]
        unknown = [o for o in options if o not in labels]
        if unknown:
            raise ValueError(f"options: {unknown} are not classes of {list(labels)}")
    if text is None or not str(text).strip():
        return _result(None, "empty", "empty response")
    t = normalize(text)
    if not t.strip(_PUNCT):
        if not _THINK.sub("", str(text)).strip():
            return _result(None, "empty", "only a <think> block, no answer")
        return _result(None, "unparsed", "no words in the response")

    core = _strip(t)
    if core in lookup:
        return _result(lookup[core], "parsed", "exact")

    if options:
        letter = _option_letter(t, options)
        if letter is not None:
            label = options[string.ascii_lowercase.index(letter)]
            return _result(label, "parsed", f"option letter {letter.upper()}")

    verdict = None
    for m in _MARKER.finditer(t):
        rest = _NUMBERING.sub("", t[m.end():])
        listed = _as_list(rest.split("\n")[0], lookup)
        if listed is not None and listed[1] is not None:
            verdict = (listed[1], listed[2])
            continue
        end = _SENTENCE_END.search(rest)
        span = rest[:end.start()] if end else rest
        found = _mentions(span, lookup, pattern)
        if found:
            verdict = (found[0], None)
    if verdict is not None:
        return _result(verdict[0], "parsed", "answer marker", verdict[1])

    listed = _as_list(t, lookup)
    if listed is not None:
        first, label, ranked = listed
        if label is None:
            return _result(None, "unparsed", f"top-ranked item {first!r} is not a class", ranked)
        return _result(label, "parsed", "ranked list", ranked)

    lead = _strip(re.split(r"[.!?\n,:;]|\s-\s|\s—\s", core)[0])
    if lead in lookup:
        return _result(lookup[lead], "parsed", "leading answer")

    for pat in REFUSAL_PATTERNS:
        m = re.search(pat, t)
        if m:
            return _result(None, "refused", f"refusal: {m.group(0).strip()!r}")

    found = list(dict.fromkeys(_mentions(t, lookup, pattern)))
    if len(found) == 1:
        return _result(found[0], "parsed", "single class mentioned")
    if found:
        return _result(None, "unparsed", "ambiguous: " + ", ".join(found))
    return _result(None, "unparsed", "no class found")
