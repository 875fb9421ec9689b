"""How users type against how the corpus writes: a question typed as in a chat («q problema ve la tesis en q cada
ministerio trabaje x su lado», «pa lo de inclusion y cohesion social») respelled the way the documents spell its
words, for the dense search to embed.

The lexical search folds accents and never sees the difference; the embedder does: «inclusion» and «inclusión», «q»
and «que» are different tokens to it, and a question full of them lands far from the passage that answers (dev,
typed Spanish questions, dense search alone: evidence in the top 5 chunks 0.64 as typed, 0.71 respelled; first
chunk 0.47 both). Three steps: an interrogative that opens a question or a clause takes its accent («cuantos…»,
«en q regiones…» → «cuántos…», «en qué regiones…»); Spanish chat shorthand (a closed list of the common
abbreviations, not of any question's words) is written out; and a word typed without its accents takes the
accented form the index itself uses most for those letters (the lexicon's words, most frequent first: «politica»
→ «política», while «esta», more frequent unaccented in the corpus than «está», stays). Nothing else changes:
capitalised words (names, acronyms) other than a sentence's first, lettered items («(d)»), numbers and words the
index does not hold are kept as typed.

Typos are corrected before anything reads the question (`Typos`, `Retriever.corrected`): a word no one knows
becomes the index's word one or two edits away («venesolanos» → «venezolanos»). Unlike the respelling, this
changes what every step sees, the lexical search, the figure checks and answerability included.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from functools import lru_cache

from indexer.tagging import fold

# Spanish chat shorthand, written out
SHORTHAND = {"q": "que", "k": "que", "x": "por", "xq": "por qué", "pq": "por qué", "pa": "para", "xa": "para",
             "tb": "también", "tmb": "también", "d": "de", "dnd": "dónde", "cdo": "cuando", "porfa": "por favor",
             "xfa": "por favor"}
_WORD = re.compile(r"[^\W\d_]+")
# an interrogative that opens a question or a clause, after a preposition or not («cuantos…», «y q…», «en q
# regiones…», «por q…»), is written with its accent
_OPENING = re.compile(r"(?:^|[¿?¡!,;:(]|\b[ye])\s*(?:(?:por|para|pa|x|xa|en|de|a|con|desde|hasta)\s+)?$", re.IGNORECASE)
# the start of a sentence: the text's, or after its end
_SENTENCE_START = re.compile(r"(?:^|[.?!¿¡])\s*$")
_ASKING = {"que": "qué", "q": "qué", "k": "qué", "quien": "quién", "quienes": "quiénes", "cual": "cuál",
           "cuales": "cuáles", "como": "cómo", "cuando": "cuándo", "donde": "dónde", "cuanto": "cuánto",
           "cuanta": "cuánta", "cuantos": "cuántos", "cuantas": "cuántas"}


def spellings(words: list[str]) -> dict[str, str]:
    """Each word's letters, folded, → the index's most frequent spelling of them (`words`: most frequent first),
    in that order."""
    out: dict[str, str] = {}
    for word in words:
        out.setdefault(fold(word.lower()), word.lower())
    return out


def folded_words(texts: Iterable[str]) -> set[str]:
    """The words of some texts, folded (lower case, no accents)."""
    return {fold(word.lower()) for text in texts for word in _WORD.findall(text)}


class Respeller:
    """Respells questions in `language`, the index's main one, from the index's own words in it (`words`: most
    frequent first)."""

    def __init__(self, words: list[str], language: str):
        self.language = language
        self.accented = spellings(words)

    def __call__(self, text: str) -> str:
        def respell(found: re.Match) -> str:
            word, start = found.group(0), found.start()
            lower = word.lower()
            if text[found.end():found.end() + 1] == ")":
                return word  # a lettered item, «la acción (d)», «d) …»: a label, not shorthand
            if lower in _ASKING and _OPENING.search(text, 0, start):
                spelled = _ASKING[lower]
            elif word == lower or (word == word.capitalize() and _SENTENCE_START.search(text, 0, start)):
                # a phone capitalises the first word of a sentence («Politica migratoria…»): respelled, capital kept
                spelled = SHORTHAND.get(lower) or self.accented.get(lower, lower)
            else:
                return word  # a name, an acronym
            return spelled if word == lower else spelled[0].upper() + spelled[1:]

        return _WORD.sub(respell, text)


# A typo is corrected in a word this long or longer (shorter ones have too many neighbours), by one edit, or by
# two in a word of TWO_EDITS_FROM letters or more
MIN_TYPO_LETTERS = 6
TWO_EDITS_FROM = 9
# the endings of Spanish verb forms (folded: «-ió» is «-io»): a form a dictionary of lemmas does not hold
# («dijeron», «devuelven», «prometió» typed «prometio») is no typo, and the nearest word of the index would be
# another word («dieron», «resuelven», «promedio»)
_VERB_FORM = re.compile(r"(?:aron|ieron|eron|aban|ian|ando|iendo|ado|ido|ada|ida|ados|idos|adas|idas|amos|emos|imos|"
                        r"ar|er|ir|an|en|io)$")


def _deletes(word: str, edits: int) -> set[str]:
    """The word with up to `edits` letters deleted, itself included."""
    out, frontier = {word}, {word}
    for _ in range(edits):
        frontier = {w[:i] + w[i + 1:] for w in frontier for i in range(len(w))}
        out |= frontier
    return out


def _distance(a: str, b: str) -> int:
    """Edits (insertions, deletions, substitutions, swaps of two neighbours) from one word to another."""
    before: list[int] | None = None
    previous = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        current = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] != b[j - 1]))
            if before is not None and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                current[j] = min(current[j], before[j - 2] + 1)
        before, previous = previous, current
    return previous[len(b)]


# British spellings and their American forms, the form the dictionary lists
_AMERICAN = ((r"our(s?)$", r"or\1"), (r"is(e|es|ed|ing|ation|ations)$", r"iz\1"), (r"tre(s?)$", r"ter\1"),
             (r"ogue(s?)$", r"og\1"), (r"ence(s?)$", r"ense\1"), (r"lled$", "led"), (r"lling$", "ling"))


def _single_letters(word: str) -> str:
    """The word with each run of one letter written once («trafficking» → «trafiking»)."""
    return re.sub(r"(.)\1+", r"\1", word)


class Typos:
    """Corrects the typos of questions in `language` («cuantos venesolanos viven en el peru», «la mtigm cuantos
    mienbros tiene» → «venezolanos», «miembros»), which no search finds: BM25 stems «venesolan», the figure check
    looks for «venesolanos» beside a number, the embedder reads other tokens.

    A word is a typo only when nothing knows it: not the index (`known`: the folded words of its chunks), not the
    stems of the language's dictionary (`dictionary_stems`: the lemmas of pyspellchecker's word list, stemmed, so
    that «provincias», «quedan» are known through «provincia», «queda»), not its stop words, shorthand or
    interrogatives; and it is no verb form (an irregular one, «dijeron», is in no dictionary of lemmas). It becomes
    the most frequent of the index's words (`words`, most frequent first) one edit away, two for a long word;
    names and acronyms (capitalised), short words and words with no close neighbour are kept."""

    def __init__(self, words: list[str], known: set[str], dictionary_stems: set[str], stem, language: str,
                 fallback: Callable[[str], str | None] | None = None):
        self.language = language
        self.fallback = fallback  # a correction from elsewhere when no index word is close (English: the dictionary)
        self.known = known
        self.dictionary_stems = dictionary_stems
        self.stem = stem
        self.spelled = spellings(words)
        self.rank = {word: i for i, word in enumerate(self.spelled)}  # most frequent first
        self.by_deletes: dict[str, list[str]] = {}
        for word in self.rank:
            if len(word) >= MIN_TYPO_LETTERS - 1:
                for form in _deletes(word, 2 if len(word) >= TWO_EDITS_FROM - 1 else 1):
                    self.by_deletes.setdefault(form, []).append(word)

    def _known_form(self, word: str) -> bool:
        """An English word the dictionary knows in another form: British spelling ("neighbours", "organised",
        "centre"), a compound of two words ("workplans"), a contraction typed without its apostrophe ("theyre")."""
        if self.language != "en":
            return False
        american = [re.sub(pattern, repl, word) for pattern, repl in _AMERICAN]
        compounds = [(word[:i], word[i:]) for i in range(3, len(word) - 2)]
        contractions = [word[:i] + "'" + word[i:] for i in (len(word) - 1, len(word) - 2)]
        return any(form != word and self.stem(form) in self.dictionary_stems for form in american + contractions) or \
            any(self.stem(a) in self.dictionary_stems and self.stem(b) in self.dictionary_stems for a, b in compounds)

    def is_typo(self, word: str) -> bool:
        folded = fold(word)
        return word == word.lower() and len(word) >= MIN_TYPO_LETTERS and folded not in self.known and \
            not self._known_form(folded) and \
            folded not in SHORTHAND and folded not in _ASKING and \
            not (self.language == "es" and _VERB_FORM.search(folded)) and \
            self.stem(folded) not in self.dictionary_stems

    def correction(self, word: str) -> str | None:
        """The index's word a typo stands for, or None."""
        folded = fold(word)
        edits = 2 if len(folded) >= TWO_EDITS_FROM else 1
        found: dict[str, int] = {}
        for form in _deletes(folded, edits):
            for candidate in self.by_deletes.get(form, ()):
                if candidate not in found and (d := _distance(folded, candidate)) <= edits:
                    found[candidate] = d
        if not found:
            return self.fallback(folded) if self.fallback else None
        # among words as far, the one nearest once doubled letters count once (a doubled letter typed once is
        # the commonest slip: "trafiking" is "trafficking" before "training"), then the most frequent
        single = _single_letters(folded)
        best = min(found, key=lambda c: (found[c], _distance(single, _single_letters(c)), self.rank[c]))
        return self.spelled[best]

    def __call__(self, text: str) -> str:
        def correct(match: re.Match) -> str:
            word = match.group(0)
            return (self.correction(word) or word) if self.is_typo(word) else word

        return _WORD.sub(correct, text)


@lru_cache(maxsize=4)
def _dictionary(language: str):
    """pyspellchecker's checker for a language (its word list ships inside the package), or None; loaded once."""
    from spellchecker import SpellChecker

    try:
        return SpellChecker(language=language, distance=1)
    except ValueError:
        return None


def dictionary_words(language: str) -> list[str]:
    """The words of a language's dictionary: for Spanish mostly lemmas («provincia» without «provincias»), for
    English inflected forms too; empty for a language it has none for."""
    checker = _dictionary(language)
    return list(checker.word_frequency.dictionary) if checker else []


def dictionary_correction(language: str) -> Callable[[str], str | None]:
    """The dictionary's most frequent word one edit away from a word, or None ("acording" → "according")."""
    checker = _dictionary(language)

    def correct(word: str) -> str | None:
        found = checker.correction(word) if checker else None
        return found if found and found != word else None

    return correct
