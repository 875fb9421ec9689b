"""Text signals shared by question understanding, retrieval, composers and grounding: content stems, numbers,
dates, proper names, and text addressed to a model. Pure functions over strings; imports nothing of the assistant.
"""

from __future__ import annotations

import re
from functools import lru_cache

from indexer.tagging import fold

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


def dates_in(text: str) -> set[str]:
    """The years and days of the month a text states, a day as «día/mes» however it is written («30 de junio»,
    "June 30" and «30/06/2022» are all «30/6»)."""
    return set(_YEAR.findall(text)) | {f"{day}/{month}" for day, month in _days(text)}


# What a number in a text can be besides a figure of something: a date («30 de junio», «30/06/2022», «02/ 2020»), an
# identifier (a law's or a file's number: «Ley N°30001», «Expediente número 02744-2015-AA», «A/RES/73/195»,
# «D.S. 015-2017-RE», «COVID-19») or the number of a reference («objetivo 14», «tabla 3», «artículo 2», «Ley 21.325»).
_IDENTIFIER = re.compile(r"(?i)(?:\bn(?:ro|[°ºo])\.?\s*|\bn[uú]mero\s+|\bno\.\s*|#\s*)[\d.,/-]*\d|"
                         r"(?<![\w.,])[\w.]*\d[\w.]*(?:[/-][\w.]+)+|\b[^\W\d_]+-\d[\w.]*")
_REFERENCE_NUMBER = re.compile(r"(?i)\b(?:objetivos?|objectives?|tablas?|tables?|cuadros?|gr[aá]ficos?|figuras?|figures?|"
                               r"lineamientos?|guidelines?|ejes?|axis|art[ií]culos?|articles?|p[aá]rrafos?|"
                               r"paragraphs?|acci[oó]n|action|metas?|targets?|leyes|ley|laws?|decretos?|decrees?|p\.|pp\.)\s+\d+(?:[.,]\d+)*")


def figures_text(text: str) -> str:
    """A text with what only looks like a figure blanked out (dates, identifiers, the numbers of references): what
    remains of its numbers are figures of something («23 miembros», «245,899 extranjeros», «3,9%»). Years are left
    in: `is_year` tells them apart."""
    for pattern in (_NUMERIC_DATE, _NUMERIC_MONTH, _DAY_OF_MONTH, _IDENTIFIER, _REFERENCE_NUMBER):
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



def differing_figures(quotes: list[tuple[int, str]]) -> tuple[int, int] | None:
    """Two cited quotes that give different figures for what looks like the same thing (most of their words in
    common, a percentage or a count in each, not the same): their citation numbers, so the answer can say that
    the sources differ. None when no two quotes disagree that way."""
    described = []
    for n, quote in quotes:
        figures = {x for x in numbers_in(quote) if not is_year(x)}
        if figures:
            described.append((n, content_stems(re.sub(r"\d[\d.,]*%?", " ", quote)), figures))
    for i, (n1, stems1, fig1) in enumerate(described):
        for n2, stems2, fig2 in described[i + 1:]:
            if n1 == n2 or not stems1 or not stems2:
                continue
            overlap = len(stems1 & stems2) / min(len(stems1), len(stems2))
            if overlap >= 0.6 and fig1 != fig2 and not fig1 & fig2:
                return n1, n2
    return None
