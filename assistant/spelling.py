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
"""

from __future__ import annotations

import re

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


class Respeller:
    """Respells questions in `language`, the index's main one, from the index's own words in it (`words`: most
    frequent first)."""

    def __init__(self, words: list[str], language: str):
        self.language = language
        self.accented: dict[str, str] = {}
        for word in words:
            self.accented.setdefault(fold(word.lower()), word.lower())

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
