"""Places: the countries and territories a text names, by name or by nationality, in Spanish or English, as
territory codes («Italia», "Italy", «italianos», "Italian" → IT), and which of them an index names so often that
they go without saying.

The names come from the Unicode CLDR territory lists that Babel ships (nothing is downloaded, no list is written
here). A nationality is read as a name's stem and a nationality ending («colombianos», "Haitian", «japoneses»).
`named` is strict, for questions; `mentioned` is generous, for evidence («venezolanos» for Venezuela, «EE. UU.»
for Estados Unidos): a place counts as missing from the evidence only when no form of it is there.

Used by answerability: a question about a place its best evidence never mentions («¿qué porcentaje de los
peruanos en el exterior vive en Australia?», answered by a list of destinations without Australia) is refused.
Used by retrieval: the documents that never mention a place a question names (`IndexPlaces.silent_on`: the
Compact, for «¿qué hizo el Perú…?») rank lower.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache

from indexer.tagging import fold, unaccented

# Territory codes of CLDR that are no place a question asks about: the European Union, the euro zone, the
# United Nations, outlying Oceania, pseudo-locales and the unknown region.
_NOT_PLACES = frozenset({"EU", "EZ", "UN", "QO", "XA", "XB", "ZZ"})
# The endings of nationality words, Spanish and English: «-anos», «-eños», «-eses», «-ense», "-ian", "-ese"…
_NATIONALITY = ("anos", "anas", "ano", "ana", "enos", "enas", "eno", "ena", "eses", "esa", "es", "enses", "ense",
                "inos", "inas", "ino", "ina", "oles", "ol", "ola", "olas", "os", "as", "o", "a", "ians", "ian",
                "ans", "an", "ese", "ish", "is", "i")
_ENDINGS = frozenset(_NATIONALITY)
_ENDING_LENGTHS = sorted({len(e) for e in _NATIONALITY}, reverse=True)
# A stem this long is also recognised by its first letters alone in evidence («venez-» in «venezolanos»)
_LONG_STEM = 7
_PREFIX = 5
# A place that at least this share of the index's chunks mention is what the corpus is about: implied where it
# is not named (the thesis's tables of «migrantes en el Perú» are about Venezuelans without saying so)
COMMON_SHARE = 1 / 12
# a name written in lower case inside a web or mail address («gob.pe/noticias/peru-adopto-el-pacto»), which says
# nothing of its use as a word
_ADDRESS_MARKS = frozenset("./@-_")


@dataclass(frozen=True)
class _Gazetteer:
    """The CLDR territory names of Spanish and English, read for matching."""

    names: dict[str, str]  # a name's words, folded, joined by spaces → code
    longest: int  # the most words a name has
    stems: dict[str, str]  # the stems of one-word names → code («colombi», «haiti»)
    doubled: dict[str, str]  # the doubled initials of plural names («eeuu» for Estados Unidos) → code


@lru_cache(maxsize=1)
def _gazetteer() -> _Gazetteer:
    """Built once, at the first text read (40 ms): Babel's lists, without the pseudo-territories, parentheses and
    names of fewer than four letters."""
    from babel import Locale

    names: dict[str, str] = {}
    for language in ("es", "en"):
        for code, name in Locale.parse(language).territories.items():
            if len(code) != 2 or not code.isalpha() or code in _NOT_PLACES:
                continue
            words = _WORD.findall(fold(re.sub(r"\s*\(.*?\)", "", name)))
            if words and len("".join(words)) >= 4 and "," not in name:
                names[" ".join(words)] = code
    stems: dict[str, str] = {}
    doubled: dict[str, str] = {}
    for name, code in names.items():
        words = name.split()
        if len(words) == 1:
            for stem in {name, name[:-1] if name[-1] in "aeiouy" else name}:
                if len(stem) >= 4:
                    stems[stem] = code
        elif all(w.endswith("s") for w in words) and len(words) <= 3:
            doubled["".join(w[0] * 2 for w in words)] = code
    return _Gazetteer(names, max(len(n.split()) for n in names), stems, doubled)


_WORD = re.compile(r"[^\W\d_]+")
# a place name found in a text: its words folded, its code, where it starts and ends
_Span = tuple[str, str, int, int]


def _names_in(plain: str) -> Iterator[_Span]:
    """Each place name of an unaccented text: (its words folded, code, start, end)."""
    gazetteer = _gazetteer()
    words = list(_WORD.finditer(plain))
    folded = [w.group(0).lower() for w in words]
    for i in range(len(words)):
        for n in range(min(gazetteer.longest, len(words) - i), 0, -1):
            if code := gazetteer.names.get(" ".join(folded[i:i + n])):
                yield folded[i] if n == 1 else " ".join(folded[i:i + n]), code, words[i].start(), words[i + n - 1].end()
                break


def _nationality(word: str) -> str | None:
    """The code of the place a folded word is the nationality of («colombianos» → CO), or None."""
    stems = _gazetteer().stems
    for length in _ENDING_LENGTHS:
        if word[-length:] in _ENDINGS and (code := stems.get(word[:-length])):
            return code
    return None


def named(text: str, common_words: frozenset[str] = frozenset()) -> set[str]:
    """The places a text names, by name or nationality. `common_words`: folded names that are also ordinary words
    of the index («reunión», Réunion): they count only where the text writes them with a capital."""
    plain = unaccented(text)
    # a plural name by its doubled initials, as a word of its own (`mentioned` reads them more generously)
    return _named(plain, list(_names_in(plain)), common_words) | \
        {code for initials, code in _doubled_patterns() if initials.search(plain)}


def _named(plain: str, spans: list[_Span], common_words: frozenset[str] = frozenset()) -> set[str]:
    """`named` of an unaccented text whose place names (`_names_in`) are already found."""
    found = {code for name, code, start, _ in spans if name not in common_words or plain[start].isupper()}
    inside = {i for _, _, start, end in spans for i in range(start, end)}
    for m in _WORD.finditer(plain):
        word = m.group(0).lower()
        if len(word) >= 5 and m.start() not in inside and (code := _nationality(word)) and \
                (word not in common_words or m.group(0)[0].isupper()):
            found.add(code)
    return found


def mentioned(text: str) -> set[str]:
    """The places a text mentions in any form: those it names, those whose long stem its words begin with
    («venezolanos», «Venezuela»), and plural names by their doubled initials («EE. UU.»)."""
    plain = unaccented(text)
    return _mentioned(plain, list(_names_in(plain)))


def _mentioned(plain: str, spans: list[_Span]) -> set[str]:
    """`mentioned` of an unaccented text whose place names (`_names_in`) are already found."""
    doubled = _gazetteer().doubled
    found = _named(plain, spans)
    prefixes = _long_prefixes()
    folded = plain.lower()
    for word in set(re.findall(r"[^\W\d_]{5,}", folded)):
        found |= {code for length in prefixes if (code := prefixes[length].get(word[:length]))}
    squeezed = re.sub(r"[\s.]", "", folded)
    found |= {code for initials, code in doubled.items() if initials in squeezed}
    return found


@lru_cache(maxsize=1)
def _doubled_patterns() -> list[tuple[re.Pattern, str]]:
    """A plural name's doubled initials written as a word of their own, with or without points and spaces («EEUU»,
    «EE. UU.», «ee.uu.» for Estados Unidos), and its code."""
    return [(re.compile(r"(?i)(?<![\w.])" + r"\.?\s?".join(re.escape(initials[i:i + 2])
                                                          for i in range(0, len(initials), 2)) + r"\.?(?!\w)"), code)
            for initials, code in _gazetteer().doubled.items()]


@lru_cache(maxsize=1)
def _long_prefixes() -> dict[int, dict[str, str]]:
    """Length → the first letters of the long stems of that length → code: how evidence words are looked up."""
    out: dict[int, dict[str, str]] = {}
    for stem, code in _gazetteer().stems.items():
        if len(stem) >= _LONG_STEM:
            prefix = stem[: max(_PREFIX, len(stem) - 3)]
            out.setdefault(len(prefix), {})[prefix] = code
    return out


@dataclass(frozen=True)
class IndexPlaces:
    """What an index's chunks say of places: those it mentions everywhere, and the names it also uses as words."""

    common: frozenset[str]
    common_words: frozenset[str]
    by_document: dict[str, frozenset[str]] = field(default_factory=dict)  # document id → the places it mentions

    @classmethod
    def of(cls, texts: Iterable[tuple[str, str]]) -> IndexPlaces:
        """`texts`: (document id, a chunk's text) of every chunk."""
        counts: Counter[str] = Counter()
        lower: set[str] = set()
        by_document: dict[str, set[str]] = {}
        total = 0
        for doc_id, text in texts:
            total += 1
            plain = unaccented(text)
            spans = list(_names_in(plain))  # read once, for both counts
            found = _mentioned(plain, spans)
            counts.update(found)
            by_document.setdefault(doc_id, set()).update(found)
            lower |= {name for name, _, start, end in spans if plain[start].islower()
                      and not _ADDRESS_MARKS & {plain[start - 1:start], plain[end:end + 1]}}
        common = frozenset(code for code, n in counts.items() if total and n / total >= COMMON_SHARE)
        return cls(common, frozenset(lower), {d: frozenset(found) for d, found in by_document.items()})

    def asked(self, question: str) -> frozenset[str]:
        """The places a question names that the index does not take for granted."""
        return frozenset(named(question, self.common_words) - self.common)

    def silent_on(self, question: str) -> frozenset[str]:
        """The documents that never mention a place the question names, common ones included («¿qué hizo el
        Perú…?»: the Compact, which names no country)."""
        asked = named(question, self.common_words)
        return frozenset(d for d, found in self.by_document.items() if asked - found) if asked else frozenset()
