"""Reference tagging: find the PMM objectives, áreas, PNM ejes/lineamientos, tables, findings and articles (of a
decree or a law) a text names.

Used on passages by the indexer and on questions by the assistant, so both speak the same ids.
Only ids the catalog knows are kept.
"""

from __future__ import annotations

import re
import unicodedata

from indexer.catalog import Catalog
from indexer.types import References

_NUM_LIST = r"(\d{1,2}(?:\s*(?:,|y|e|and|or|o|&)\s*\d{1,2})*)"
_OBJECTIVE = re.compile(r"\b(?:objetivos?|objectives?|obj\.?)\s+(?:(?:del\s+pmm|n[°º.]?|no\.?)\s*)?" + _NUM_LIST, re.I)
_O_CODE = re.compile(r"(?<![\w.])O(\d{1,2})\b")
_AREA = re.compile(r"\b(?:[aá]reas?\s+tem[aá]ticas?|thematic\s+areas?)\s+" + _NUM_LIST, re.I)
# «tabla 23», "tables 5 and 6": also what a question about a table sets aside to see what else it asks
TABLE_MENTION = re.compile(r"\b(?:tablas?|tables?)\s+(?:n[°º.]?\s*)?" + _NUM_LIST, re.I)
_LIN_OF_EJE = re.compile(
    r"\b(?:lineamientos?|guidelines?)\s+(\d)\s+(?:del?|of)\s+(?:la\s+|the\s+)?(?:eje|axis)(?:\s+tem[aá]tico)?\s+(\d)", re.I)
_EJE_THEN_LIN = re.compile(r"\b(?:eje|axis)(?:\s+tem[aá]tico)?\s+(\d)\s*[,:;]?\s*(?:y\s+|and\s+)?(?:el\s+|the\s+)?(?:lineamiento|guideline)\s+(\d)",
                           re.I)
_L_CODE = re.compile(r"(?<![\w.])L([1-4])\.(\d)\b")
_EJE = re.compile(r"\b(?:ejes?|axis|axes)(?:\s+tem[aá]ticos?)?\s+" + _NUM_LIST, re.I)
_CONCLUSION = re.compile(r"\bconclusi(?:o|ó)n(?:es)?\s+(?:n[°º.]?\s*)?" + _NUM_LIST, re.I)
_CONCLUSION_EN = re.compile(r"\bconclusions?\s+(?:no\.?\s*)?" + _NUM_LIST, re.I)
_RECOMMENDATION = re.compile(r"\b(?:recomendaci(?:o|ó)n(?:es)?|recommendations?)\s+(?:n[°º.]?\s*)?" + _NUM_LIST, re.I)
_ACTION = re.compile(r"\b(?:action|acci[oó]n)\s*\(?([a-z])\)?\s+(?:of|del?)\s+(?:the\s+|el\s+)?(?:(?:gcm|pmm|compact|pacto)\s+)?"
                     r"(?:objective|objetivo)\s+(\d{1,2})",
                     re.I)
_ARTICLE = re.compile(r"\b(?:art[íi]culos?|arts?\.)\s*(?:n[°º.]?\s*)?" + r"(\d{1,3}(?:\s*[°º])?(?:\s*(?:,|y|e|and|o)\s*\d{1,3})*)",
                      re.I)
_OBJ_ACTION = re.compile(r"\b(?:objective|objetivo)\s+(\d{1,2})\s*[,:]?\s*(?:action|acci[oó]n)\s*\(?([a-z])\)?", re.I)
# «acción (a)», "action (b)": an action of the Compact as a question writes it, with or without its objective
ACTION_MENTION = re.compile(r"(?i)\b(?:action|acci[oó]n)\s*\(?[a-z]\)?(?=\W)")
# «acción (e)», "action (c)" written apart from its objective («objetivo 8, ¿qué dice la acción (e)?»)
_LONE_ACTION = re.compile(r"\b(?:action|acci[oó]n)\s*\(([a-z])\)", re.I)
# «lineamiento 2», "guideline 8" written apart from its eje («eje 4 de la pnm, lineamiento 2…», "under axis 2 of
# the PNM, what was done for guideline 8?")
_LONE_LINEAMIENTO = re.compile(r"\b(?:lineamientos?|guidelines?)\s+(\d)\b(?!\.\d)", re.I)


# Ordinals a question writes before what it refers to («la primera acción del objetivo 23», "the second
# recommendation", «el 3er eje»): the number they stand for.
ORDINAL_WORDS = {
    1: r"primer[oa]?|first|1st", 2: r"segund[oa]|second|2nd", 3: r"tercer[oa]?|third|3rd", 4: r"cuart[oa]|fourth",
    5: r"quint[oa]|fifth", 6: r"sext[oa]|sixth", 7: r"s[eé]ptim[oa]|seventh", 8: r"octav[oa]|eighth",
    9: r"noven[oa]|ninth", 10: r"d[eé]cim[oa]|tenth"}
# The nouns a question names a kind of reference with («acción», "recommendation", «eje temático»…)
REFERENCE_NOUNS = (r"acci[oó]n|action|recomendaci[oó]n|recommendation|conclusi[oó]n|conclusion|objetivo|objective|"
                   r"eje(?:\s+tem[aá]tico)?|axis|lineamiento|guideline|[aá]rea\s+tem[aá]tica|thematic\s+area|tabla|table")
_ORDINAL = re.compile(
    r"\b(" + "|".join(ORDINAL_WORDS.values()) + r"|\d{1,2}(?:\.?\s?[°ºª]|\s?(?:er|ro|ra|do|da|to|ta|vo|va|no|na|mo|ma|th)))"
    r"\s+(" + REFERENCE_NOUNS + r")\b", re.I)


def ordinal_value(word: str) -> int:
    folded = fold(word)
    for n, words in ORDINAL_WORDS.items():
        if re.fullmatch(words, folded):
            return n
    return int(re.match(r"\d{1,2}", folded).group(0))  # «3er», «2.ª», "4th"


# «el último objetivo», "the last axis", «la última área temática»: the last of what the catalog counts
_LAST = re.compile(r"(?i)\b(?:[uú]ltim[oa]|last)\s+(objetivo|objective|eje(?:\s+tem[aá]tico)?|axis|"
                   r"[aá]rea\s+tem[aá]tica|thematic\s+area)\b")


def ordinals_as_numbers(text: str, catalog: Catalog | None = None) -> str:
    """A question's ordinal references written as the documents number them: «la primera acción del objetivo
    23» → «la acción (a) del objetivo 23», "the second recommendation" → "the recommendation 2", «el tercer eje»
    → «el eje 3»; with the catalog, «el último objetivo» → «el objetivo 23», and likewise the last eje or área
    temática. Any other «última…» is left as written: which one is last depends on the document."""
    def number(match: re.Match) -> str:
        n, noun = ordinal_value(match.group(1)), match.group(2)
        if re.fullmatch(r"(?i)acci[oó]n|action", noun):
            return f"{noun} ({chr(ord('a') + n - 1)})"
        return f"{noun} {n}"

    def last(match: re.Match) -> str:
        noun = match.group(1)
        counted = {"objetivo": catalog.objectives, "objective": catalog.objectives, "eje": catalog.ejes,
                   "axis": catalog.ejes, "area": catalog.areas, "thematic": catalog.areas}[fold(noun.lower()).split()[0]]
        return f"{noun} {max(counted)}" if counted else match.group(0)

    text = _ORDINAL.sub(number, text)
    return _LAST.sub(last, text) if catalog is not None else text


def _combining_marks() -> re.Pattern:
    """The combining marks of the Basic Multilingual Plane (accents, tildes, diaereses once decomposed), as one
    character class: removing them with a regex is four times faster than testing each character."""
    ranges: list[tuple[int, int]] = []
    for cp in range(0x10000):
        if unicodedata.combining(chr(cp)):
            if ranges and ranges[-1][1] == cp - 1:
                ranges[-1] = (ranges[-1][0], cp)
            else:
                ranges.append((cp, cp))
    return re.compile("[" + "".join(f"{chr(a)}-{chr(b)}" for a, b in ranges) + "]")


_COMBINING = _combining_marks()


def unaccented(text: str) -> str:
    """The text without its accents, case kept."""
    return _COMBINING.sub("", unicodedata.normalize("NFKD", text))


def fold(text: str) -> str:
    """Lower-case and strip accents: the comparison form used for matching."""
    return unaccented(text).lower()


def _numbers(group: str) -> list[int]:
    return [int(n) for n in re.findall(r"\d{1,2}", group)]


def tag_text(text: str, catalog: Catalog) -> References:
    """References a text names explicitly."""
    refs = References()
    objectives = {n for m in _OBJECTIVE.finditer(text) for n in _numbers(m.group(1))}
    objectives |= {int(m.group(1)) for m in _O_CODE.finditer(text)}
    lineamientos = {f"{m.group(2)}.{m.group(1)}" for m in _LIN_OF_EJE.finditer(text)}
    lineamientos |= {f"{m.group(1)}.{m.group(2)}" for m in _EJE_THEN_LIN.finditer(text)}
    lineamientos |= {f"{m.group(1)}.{m.group(2)}" for m in _L_CODE.finditer(text)}
    ejes = {n for m in _EJE.finditer(text) for n in _numbers(m.group(1))}
    ejes |= {int(code.split(".")[0]) for code in lineamientos}
    findings = {f"conclusion-{n}" for m in _CONCLUSION.finditer(text) for n in _numbers(m.group(1))}
    findings |= {f"conclusion-{n}" for m in _CONCLUSION_EN.finditer(text) for n in _numbers(m.group(1))}
    findings |= {f"recomendacion-{n}" for m in _RECOMMENDATION.finditer(text) for n in _numbers(m.group(1))}
    actions = {f"{int(m.group(2))}{m.group(1).lower()}" for m in _ACTION.finditer(text)}
    actions |= {f"{int(m.group(1))}{m.group(2).lower()}" for m in _OBJ_ACTION.finditer(text)}

    known_objectives = catalog.objectives.keys() or range(1, 24)
    refs.pmm = sorted(n for n in objectives if n in known_objectives)
    refs.pmm_areas = sorted(
        n for m in _AREA.finditer(text) for n in _numbers(m.group(1)) if n in (catalog.areas.keys() or range(1, 6)))
    refs.pnm_ejes = sorted(n for n in ejes if n in (catalog.ejes.keys() or range(1, 5)))
    refs.pnm_lineamientos = sorted(c for c in lineamientos if not catalog.ejes or catalog.lineamiento(c))
    refs.tables = sorted({n for m in TABLE_MENTION.finditer(text) for n in _numbers(m.group(1)) if 1 <= n <= 999})
    refs.findings = sorted(f for f in findings if 1 <= int(f.rsplit("-", 1)[1]) <= 20)
    refs.gcm_actions = sorted(a for a in actions if int(a[:-1]) in known_objectives)
    refs.articles = sorted({int(n) for m in _ARTICLE.finditer(text) for n in re.findall(r"\d{1,3}", m.group(1))
                            if 1 <= int(n) <= 999})
    return refs


_HEADING_OBJECTIVE = re.compile(r"^(?:objetivo|objective)\s+(\d{1,2})\s*[:.]", re.I)
_HEADING_AREA = re.compile(r"^[aá]rea\s+tem[aá]tica\s+(\d)\b", re.I)
_HEADING_EJE = re.compile(r"^eje\s+tem[aá]tico\s+(\d)\b", re.I)
_HEADING_LIN = re.compile(r"^lineamiento\s+(\d)\b", re.I)
_HEADING_ARTICLE = re.compile(r"^art[íi]culo\s+(\d{1,3})\b", re.I)


def tag_section_path(path: tuple[str, ...] | list[str], catalog: Catalog) -> References:
    """References implied by where a passage sits: under «Objetivo 14: …», under «Eje temático 2 › Lineamiento 4»."""
    refs = References()
    eje: int | None = None
    for heading in path:
        if m := _HEADING_OBJECTIVE.match(heading):
            refs.pmm.append(int(m.group(1)))
        elif m := _HEADING_AREA.match(heading):
            refs.pmm_areas.append(int(m.group(1)))
        elif m := _HEADING_EJE.match(heading):
            eje = int(m.group(1))
            refs.pnm_ejes.append(eje)
        elif (m := _HEADING_LIN.match(heading)) and eje is not None:
            refs.pnm_lineamientos.append(f"{eje}.{m.group(1)}")
        elif m := _HEADING_ARTICLE.match(heading):
            refs.articles.append(int(m.group(1)))
    known = catalog.objectives.keys() or range(1, 24)
    refs.pmm = sorted({n for n in refs.pmm if n in known})
    return References().merge(refs)


def tag_question(text: str, catalog: Catalog) -> References:
    """References a question names: those `tag_text` finds, written by number or by ordinal («la segunda
    recomendación», `ordinals_as_numbers`), a lettered action written apart from the one objective the
    question names («gcm objective 8, what does action (e) say?», «la primera acción del objetivo 23»), and a
    lineamiento written apart from the one eje it names («eje 4 de la pnm, lineamiento 2»). A document's text is
    tagged with `tag_text` alone: a passage may name an action and an objective that are not one another's."""
    text = ordinals_as_numbers(text, catalog)
    refs = tag_text(text, catalog)
    if not refs.gcm_actions and len(refs.pmm) == 1:
        refs.gcm_actions = sorted({f"{refs.pmm[0]}{m.group(1).lower()}" for m in _LONE_ACTION.finditer(text)})
    if not refs.pnm_lineamientos and len(refs.pnm_ejes) == 1:
        codes = {f"{refs.pnm_ejes[0]}.{m.group(1)}" for m in _LONE_LINEAMIENTO.finditer(text)}
        refs.pnm_lineamientos = sorted(c for c in codes if not catalog.ejes or catalog.lineamiento(c))
    return refs
