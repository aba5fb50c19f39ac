"""Per-language word handling for segmentation and extractive names: tokens, Snowball stems, stop words."""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass

import snowballstemmer
import stop_words

from aiat_analyzer import segmenter

# A word of any script: letters, with apostrophes inside ("don't", "l'energia"); no digits.
TOKEN = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*")

# ISO 639-1 code -> Snowball algorithm (snowballstemmer.algorithms()).
SNOWBALL = {
    "ar": "arabic", "hy": "armenian", "eu": "basque", "ca": "catalan", "cs": "czech", "da": "danish",
    "nl": "dutch", "en": "english", "eo": "esperanto", "et": "estonian", "fi": "finnish", "fr": "french",
    "de": "german", "el": "greek", "hi": "hindi", "hu": "hungarian", "id": "indonesian", "ga": "irish",
    "it": "italian", "lt": "lithuanian", "ne": "nepali", "no": "norwegian", "nb": "norwegian",
    "nn": "norwegian", "fa": "persian", "pl": "polish", "pt": "portuguese", "ro": "romanian",
    "ru": "russian", "sr": "serbian", "st": "sesotho", "es": "spanish", "sv": "swedish", "ta": "tamil",
    "tr": "turkish", "yi": "yiddish",
}  # fmt: skip

# Spoken fillers the written-text lists lack, per language.
FILLERS: dict[str, frozenset[str]] = {
    "es": frozenset("eh este bueno pues vale entonces vamos digamos".split()),
    "de": frozenset("äh ähm also ja naja genau halt mal eben".split()),
    "fr": frozenset("euh ben bon alors voilà donc".split()),
    "it": frozenset("ehm cioè allora dunque insomma".split()),
}


@dataclass(frozen=True)
class Lexicon:
    """How one language's text becomes content terms."""

    language: str  # the ISO code it was made for ("en" when none was given)
    stopwords: frozenset[str]
    stem: Callable[[str], str]
    stemmed: bool  # False: no Snowball stemmer for this language, words are compared as they are
    english: bool = False  # the segmenter's own tokenizer (ASCII words), as tuned

    def terms(self, text: str) -> list[str]:
        """Stemmed content words of a text (lower-cased, stop words and one-letter words dropped)."""
        if self.english:
            return segmenter.content_terms(text)
        words = (w.replace("’", "'") for w in TOKEN.findall(text.lower()))
        return [self.stem(w) for w in words if len(w) > 1 and w not in self.stopwords]


def code_of(language: str) -> str:
    """The ISO 639-1 part of a language tag ("de-AT" -> "de"); English when empty."""
    return (language.strip().lower().replace("_", "-").split("-")[0]) or "en"


@functools.cache
def lexicon(language: str = "") -> Lexicon:
    """The lexicon of a language code; an unknown language gets no stemming and no stop words."""
    code = code_of(language)
    if code == "en":
        # English keeps the segmenter's curated list and light stemmer, on which the segmentation was
        # tuned (docs/benchmarks.md); stop-words' English list (1,333 words) also drops topic words
        # such as "area", "amount" or "information".
        return Lexicon(code, segmenter.STOPWORDS, segmenter.stem, stemmed=True, english=True)
    try:
        words = frozenset(w.lower() for w in stop_words.get_stop_words(code))
    except stop_words.StopWordError:
        words = frozenset()
    words |= FILLERS.get(code, frozenset())
    algorithm = SNOWBALL.get(code)
    if algorithm is None:
        return Lexicon(code, words, _identity, stemmed=False)
    return Lexicon(code, words, functools.lru_cache(maxsize=65536)(_snowball(algorithm)), True)


def _identity(word: str) -> str:
    return word


def _snowball(algorithm: str) -> Callable[[str], str]:
    stemmer = snowballstemmer.stemmer(algorithm)
    lock = threading.Lock()  # a Snowball stemmer keeps its state on the instance: one word at a time

    def run(word: str) -> str:
        with lock:
            return str(stemmer.stemWord(word[:-2] if word.endswith("'s") else word))

    return run
