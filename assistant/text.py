"""Text signals shared by question understanding, retrieval, composers and grounding: content stems, numbers,
dates, proper names, and text addressed to a model. Pure functions over strings; imports nothing of the assistant.
"""

from __future__ import annotations

import re
from functools import lru_cache

from indexer.tagging import REFERENCE_NOUNS, fold

_NUMBER = re.compile(r"\d+(?:[.,\s]\d{3})*(?:[.,]\d+)?%?")
_NAME = re.compile(r"(?<![\w])([A-ZÁÉÍÓÚÑ]{2,}[A-ZÁÉÍÓÚÑ0-9-]*|[A-ZÁÉÍÓÚÑ][a-záéíóúñ]+(?:\s+[A-ZÁÉÍÓÚÑ][a-záéíóúñ]+)+)")
_GENERIC_NAMES = {"el", "la", "los", "las", "según", "according", "the", "en", "in", "por", "asimismo", "además"}


_WORD_TOKEN = re.compile(r"[^\W\d_][\w-]*")


def words_in(text: str) -> list[str]:
    """The words of a text, in order: runs of letters (hyphens and digits allowed after the first letter)."""
    return _WORD_TOKEN.findall(text)


def normalise_number(token: str) -> str:
    """1,200 / 1 200 / 1.200 / 1200 compare equal; a decimal comma and point too."""
    token = token.rstrip("%")
    token = re.sub(r"(?<=\d)[.,\s](?=\d{3}\b)", "", token)
    return token.replace(",", ".")


def numbers_in(text: str) -> set[str]:
    return {normalise_number(m.group(0).strip()) for m in _NUMBER.finditer(text)}


_MONTH_NUMBER = {name: i % 12 + 1 for i, name in enumerate(
    "enero febrero marzo abril mayo junio julio agosto septiembre octubre noviembre diciembre "
    "january february march april may june july august september october november december".split())}
_MONTH_NUMBER["setiembre"] = 9
_MONTHS = "|".join(_MONTH_NUMBER)
_YEAR = re.compile(r"(?<![\d.,])(?:19|20)\d{2}(?![\d.,]\d)")
_DAY_OF_MONTH = re.compile(rf"(?i)\b(\d{{1,2}})\s+(?:de\s+)?({_MONTHS})\b|\b({_MONTHS})\s+(\d{{1,2}})\b")
# a date in figures, day first as the corpus writes it («30/06/2022», «6.10.2022»), and a month of a year («02/ 2020»)
_NUMERIC_DATE = re.compile(r"(?<![\d/.-])(\d{1,2})[/.-](\d{1,2})[/.-]\s?(?:19|20)\d{2}(?!\d)")
_NUMERIC_MONTH = re.compile(r"(?<![\d/.-])(\d{1,2})/\s?(?:19|20)\d{2}(?!\d)")

_MONTH = re.compile(rf"(?i)\b(?:{_MONTHS})\b")


def _days(text: str) -> set[tuple[int, int]]:
    """The days of the month a text states, as (day, month), however written: «30 de junio», "June 30",
    «30/06/2022»."""
    found = set()
    for m in _DAY_OF_MONTH.finditer(text):
        day, month = (m.group(1), m.group(2)) if m.group(1) else (m.group(4), m.group(3))
        found.add((int(day), _MONTH_NUMBER[month.lower()]))
    found |= {(int(m.group(1)), int(m.group(2))) for m in _NUMERIC_DATE.finditer(text) if 1 <= int(m.group(2)) <= 12}
    return {(d, m) for d, m in found if 1 <= d <= 31}


def months_in(text: str, days: bool = True) -> set[int]:
    """The months (1–12) a text names, in Spanish or English («agosto de 2020», "in April") or in figures
    («02/ 2020», «30/06/2022»); with `days` false, not those of a day of the month («6 de octubre» is a date,
    `dates_in`)."""
    found = set()
    plain = text if days else _NUMERIC_DATE.sub(" ", _DAY_OF_MONTH.sub(" ", text))
    for m in _MONTH.finditer(plain):
        word = m.group(0)
        if word.lower() == "may" and word != "May":
            continue  # English «may» is a month only written «May»
        found.add(_MONTH_NUMBER[word.lower()])
    found |= {int(m.group(1)) for m in _NUMERIC_MONTH.finditer(plain) if 1 <= int(m.group(1)) <= 12}
    if days:
        found |= {month for _, month in _days(text)}
    return found


def is_year(token: str) -> bool:
    """Whether a figure (as `numbers_in` gives it) is a year: «2021» yes, «210» or «20 000» no."""
    return bool(re.fullmatch(r"(?:19|20)\d{2}", token))


# An author-year citation («(AGNU 2016c)», «(Gammeltoft-Hansen et al., 2017)», «(OIM 2019b, p. 12)»): the year a
# source was published, not a date the sentence states
_CITATION = re.compile(rf"\((?=[^()]*[A-Z])(?![^()]*\b(?:{_MONTHS})\b)[^()]{{0,80}}?\b(?:19|20)\d{{2}}[a-z]?"
                       r"(?:,\s*pp?\.\s*[\d-]+)?\)")


def without_citations(text: str) -> str:
    """A text without its author-year citations."""
    return _CITATION.sub(" ", text)


def dates_in(text: str) -> set[str]:
    """The years and days of the month a text states, a day as «día/mes» however it is written («30 de junio»,
    "June 30" and «30/06/2022» are all «30/6»)."""
    return set(_YEAR.findall(text)) | {f"{day}/{month}" for day, month in _days(text)}


# What a number in a text can be besides a figure of something: a date («30 de junio», «30/06/2022», «02/ 2020»), an
# identifier (a law's or a file's number: «Ley N°30001», «Expediente número 02744-2015-AA», «A/RES/73/195»,
# «D.S. 015-2017-RE», «COVID-19»), the number of a reference («objetivo 14», «tabla 3», «artículo 2», «Ley 21.325»,
# and each of an enumeration: «los objetivos 9, 10 y 11») or of a list item or a table's row («1. Peruanos…», «13 |
# Utilizar la detención…»).
_IDENTIFIER = re.compile(r"(?i)(?:\bn(?:ro|[°ºo])\.?\s*|\bn[uú]mero\s+|\bno\.\s*|#\s*)[\d.,/-]*\d|"
                         r"(?<![\w.,])[\w.]*\d[\w.]*(?:[/-][\w.]+)+|\b[^\W\d_]+-\d[\w.]*")
# the number of a reference the questions name (indexer.tagging), of a part of a document, or of a norm
_REFERENCE_NUMBER = re.compile(rf"(?i)\b(?:(?:{REFERENCE_NOUNS})(?:e?s)?|(?:ejes?|[aá]reas?)\s+tem[aá]tic[oa]s?|"
                               r"cuadros?|gr[aá]ficos?|figuras?|figures?|art[ií]culos?|articles?|p[aá]rrafos?|"
                               r"paragraphs?|metas?|targets?|leyes|ley|laws?|decretos?|decrees?|p\.|pp\.)\s+"
                               r"\d+(?:[.,]\d+)*")
_LISTED_NUMBER = r"\d{1,2}(?![\d%]|[.,]\d)"
_REFERENCE_LIST = re.compile(rf"(?i)\b(?:objetivos|objectives|tablas|tables|lineamientos|guidelines|ejes|axes|"
                             rf"[aá]reas\s+tem[aá]ticas|thematic\s+areas|art[ií]culos|articles|acciones|actions|metas|"
                             rf"targets|conclusiones|conclusions|recomendaciones|recommendations):?\s+{_LISTED_NUMBER}"
                             rf"(?:\s*,\s*{_LISTED_NUMBER})*\s*,?\s*\b(?:y|e|o|u|and|or)\s+{_LISTED_NUMBER}")

# the number of a list item, opening a line or a table cell («1. Peruanos con voluntad de migrar | …»,
# «| 22. Seguridad»), or a table row's first cell that is a number alone (the row's: «13 | Utilizar la detención…»)
_ITEM_MARKER = re.compile(r"(?m)(?:^|(?<=\|))\s*\d{1,2}[.)](?=\s)|^\s*\d{1,3}\s*(?=\|)")


@lru_cache(maxsize=20_000)
def figures_text(text: str) -> str:
    """A text with what only looks like a figure blanked out (dates, identifiers, the numbers of references): what
    remains of its numbers are figures of something («23 miembros», «245,899 extranjeros», «3,9%»). Years are left
    in: `is_year` tells them apart. Remembered: the evidence ranker reads a unit's figures twice (`fulfils`,
    `states_count`), and the same units for every question that retrieves them."""
    for pattern in (_NUMERIC_DATE, _NUMERIC_MONTH, _DAY_OF_MONTH, _IDENTIFIER, _REFERENCE_LIST, _REFERENCE_NUMBER,
                    _ITEM_MARKER):
        text = pattern.sub(" ", text)
    return text


def names_in(text: str) -> set[str]:
    out = set()
    for m in _NAME.finditer(text):
        name = m.group(1)
        if fold(name.split()[0]) in _GENERIC_NAMES:
            continue
        out.add(fold(name))
    return out


# The given-name lists of Faker's person providers for the languages of the corpus and of its places: a
# gazetteer maintained with the package, nothing written here, nothing downloaded.
_GIVEN_NAME_LOCALES = ("es", "es_ES", "es_MX", "es_CO", "es_AR", "es_CL", "en", "en_US", "en_GB", "pt_BR", "fr_FR",
                       "it_IT", "de_DE")
_CAPITALISED = r"[A-ZÁÉÍÓÚÑÜ][a-záéíóúñü]+(?:-[A-ZÁÉÍÓÚÑÜ][a-záéíóúñü]+)?"
# a capitalised word and the surname after it, read at every capitalised word («Según Brian C. Schmidt»)
_GIVEN_AND_SURNAME = re.compile(rf"(?<![\w.])({_CAPITALISED})(?=(\s+(?:[A-Z]\.\s+)?{_CAPITALISED}))")


@lru_cache(maxsize=1)
def _given_names() -> frozenset[str]:
    """Given names of people in those languages, less the function words of Spanish and English that are names
    too («Esta», "Will")."""
    from importlib import import_module

    names: set[str] = set()
    for locale in _GIVEN_NAME_LOCALES:
        provider = import_module(f"faker.providers.person.{locale}").Provider
        for attribute in ("first_names_male", "first_names_female", "first_names"):
            listed = next((vars(c)[attribute] for c in provider.__mro__
                           if isinstance(vars(c).get(attribute), tuple | list | dict)), ())
            names.update(listed)
    stop = _stop_words()
    return frozenset(n for n in names if fold(n.lower()) not in stop)


def person_names(text: str) -> set[str]:
    """The names of people a text gives: a given name followed by a capitalised surname («Peter Sutherland»,
    «Felipe González Morales», «Brian C. Schmidt»), folded. A role without its holder («el Canciller del Perú»)
    names nobody."""
    given = _given_names()
    return {fold(m.group(1) + m.group(2)) for m in _GIVEN_AND_SURNAME.finditer(text) if m.group(1) in given}


_INSTRUCTION = re.compile(
    r"(?i)\b(ignor[ae]\w*\s+(all\s+|todas\s+)?(las\s+|the\s+)?(previous|prior|above|anteriores|previas)|"
    r"(disregard|olvid[ae])\w*\s+(\w+\s+){0,3}(instructions|instrucciones)|system prompt|prompt del sistema|"
    r"(responde|answer|reply)\s+(únicamente|solamente|only)\b|you are now|ahora eres|act as)")


def looks_like_instruction(text: str) -> bool:
    """Text addressed to a model rather than to a reader (a prompt-injection attempt planted in a document):
    such a sentence is never used as an answer, whatever it says."""
    return bool(_INSTRUCTION.search(text))


@lru_cache(maxsize=1)
def _stop_words() -> frozenset[str]:
    """Spanish and English stop words, folded: a question in either language carries its function words («the»,
    «were», «how») into no support check. «once» is a Spanish number (eleven), not an English stop word here."""
    from indexer.lexicon import stop_words

    return (stop_words("es") | stop_words("en")) - {"once"}


def content_stems(text: str) -> set[str]:
    """Stemmed, accent-folded content words, stop words of either language left out: the currency of lexical
    support checks."""
    return set(_stems(text))


# the lexical index's words (bm25s's default pattern): two word characters or more
_TOKEN = re.compile(r"(?u)\b\w\w+\b")


@lru_cache(maxsize=20_000)
def _stems(text: str) -> frozenset[str]:
    """content_stems, remembered: the same chunks are read by every question that retrieves them. The stems are
    the lexical index's own (indexer.stores.lexical_tokens: folded, split and stemmed alike), so that they read its
    idf; made here directly, without building a one-text tokenizer vocabulary each time."""
    from indexer.stores import spanish_stemmer

    stop = _stop_words()
    words = list(dict.fromkeys(t for t in _TOKEN.findall(fold(text)) if t not in stop))
    return frozenset(spanish_stemmer().stemWords(words))


# a figure in a text (after `figures_text`), a percentage when «%» follows it
_FIGURE_IN_TEXT = re.compile(r"(?<![\w.,])(\d+(?:[.,\s]\d{3})*(?:[.,]\d+)?)(\s?%)?(?![\w])")
_WHAT_FOLLOWS = 3  # the content words after a figure that say what it is a figure of


# a figure given as a bound or a rough value («más de 10 mil casos», "about 3 million"): no other figure disagrees
_ROUGHLY = re.compile(r"(?i)\b(?:m[aá]s\s+de|menos\s+de|cerca\s+de|alrededor\s+de|casi|aproximadamente|unos|unas|"
                      r"hasta|over|more\s+than|less\s+than|about|around|nearly|almost|approximately|up\s+to)\s*$")
_SCALE = {"mil": 1e3, "thousand": 1e3, "millon": 1e6, "millones": 1e6, "million": 1e6, "millions": 1e6}


def _figures_of(text: str) -> list[tuple[bool, float, frozenset[str]]]:
    """(is a percentage, value, stems of the words after it, and for a percentage before it too: «la tasa de
    informalidad llegó al 88%») of each exact figure a text gives, years and rough values left out: «245,899
    extranjeros» → (False, 245899, {extranjer}); «91,5% no tiene seguro de salud» → (True, 91.5, {tien, segur,
    salud}); «10 mil casos» → (False, 10000, {cas})."""
    text = figures_text(text)
    out = []
    for m in _FIGURE_IN_TEXT.finditer(text):
        value = normalise_number(m.group(1))
        if is_year(value) or _ROUGHLY.search(text[max(0, m.start() - 30):m.start()]):
            continue
        following = words_in(text[m.end():])[:_WHAT_FOLLOWS + 3]
        scale = _SCALE.get(fold(following[0].lower()), 1.0) if following and not m.group(2) else 1.0
        what = [w for w in following[1 if scale != 1.0 else 0:] if fold(w.lower()) not in _stop_words()][:_WHAT_FOLLOWS]
        if m.group(2):
            what += [w for w in words_in(text[:m.start()])[-(_WHAT_FOLLOWS + 3):]
                     if fold(w.lower()) not in _stop_words()][-_WHAT_FOLLOWS:]
        out.append((bool(m.group(2)), float(value) * scale, frozenset(content_stems(" ".join(what)))))
    return out


def _row_label(quote: str) -> frozenset[str] | None:
    """A table row's first cell, as stems (what its figures are figures of); None for a sentence."""
    return frozenset(content_stems(quote.split("|", 1)[0])) if "|" in quote else None


def differing_figures(quotes: list[tuple[int, str]]) -> tuple[int, int] | None:
    """Two cited quotes that give different figures of the same thing: most of their words in common, and a
    figure in each of one kind (a percentage, or a count) followed by the same word, of different values, neither
    value stated by the other quote («245,899 extranjeros» and «245,699 extranjeros»). Their citation numbers, so
    the answer can say that the sources differ; None when no two quotes disagree that way. A date, an identifier
    or a reference's or list item's number is no figure (`figures_text`), a bound or a rough value («más de 10
    mil») disagrees with nothing, and figures of different things do not disagree: «25 Unidades» and «3975
    atenciones», table rows with different labels, figures of different dates («(noviembre 2020-febrero 2021)»
    and «…agosto de 2022»)."""
    described = []
    for n, quote in quotes:
        if figures := _figures_of(quote):
            described.append((n, content_stems(re.sub(r"\d[\d.,]*%?", " ", quote)), figures, dates_in(quote),
                              _row_label(quote)))
    for i, (n1, stems1, figures1, dates1, label1) in enumerate(described):
        for n2, stems2, figures2, dates2, label2 in described[i + 1:]:
            if n1 == n2 or not stems1 or not stems2 or (dates1 and dates2 and not dates1 & dates2):
                continue
            if label1 is not None and label2 is not None and label1 != label2:
                continue  # two rows about different things («Seguro de salud», «Gestantes con seguro de salud»)
            if len(stems1 & stems2) / min(len(stems1), len(stems2)) < 0.6:
                continue
            values1, values2 = {v for _, v, _ in figures1}, {v for _, v, _ in figures2}
            if any(share1 == share2 and v1 != v2 and what1 & what2 and v1 not in values2 and v2 not in values1
                   for share1, v1, what1 in figures1 for share2, v2, what2 in figures2):
                return n1, n2
    return None
