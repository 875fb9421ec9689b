"""Question understanding: language, named references, the kind of fact and the figure asked for, parts,
follow-up resolution, search text.

A follow-up («¿y quién lo implementó?», "what about objective 7?") is resolved against the previous
turn before retrieval: with a language model when one is configured (see composers), otherwise by
carrying over the previous turn's references and wording; it also carries the chunks the previous answer
cited, next to which retrieval looks too.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from assistant.text import content_stems, looks_like_instruction, names_in, numbers_in, words_in
from assistant.types import Turn
from indexer.catalog import Catalog
from indexer.language import detect_language
from indexer.lexicon import content_words, stop_words
from indexer.tagging import ACTION_MENTION, ORDINAL_WORDS, REFERENCE_NOUNS, fold, ordinal_value, tag_question
from indexer.types import Chunk, References

if TYPE_CHECKING:
    import numpy as np

_FOLLOW_UP_START = re.compile(
    r"^\s*(¿\s*)?(y|e|and|what about|how about|y qu[eé] (hay|pasa) (de|con)|qu[eé] (hay|pasa) (de|con)|"
    r"tambi[eé]n|also|and what|entonces|then)\b", re.I)
# «lo», «la», «los», «las» are pronouns only before a verb («¿quién la preside?», «¿cuándo lo firmaron?», «¿por qué
# no lo hacían?»): after an interrogative, «no», «ya», «se», «y», «que», or before a past form («la adoptaron»); elsewhere
# they are articles («¿Qué es la MTIGM?», «cuáles son los ejes de la PNM»), and the question names its own subject
_CLITIC = (r"(?:(?<=\bqu[eé]\s)|(?<=\bq\s)|(?<=\bqui[eé]n\s)|(?<=\bcu[aá]ndo\s)|(?<=\bd[oó]nde\s)|(?<=\bc[oó]mo\s)|"
           r"(?<=\bno\s)|(?<=\bya\s)|(?<=\bse\s)|(?<=\by\s)|(?<=^)|(?<=¿))(?:lo|la|los|las)\b|"
           r"\b(?:lo|la|los|las)(?=\s+\w+(?:ó|aron|ieron|aba|aban)\b)")
_PRONOUNS = re.compile(rf"(?:{_CLITIC})|\b(eso|esto|ello|este|esta|ese|esa|it|that|this|they|them|those|these|"
                       r"dicho|dicha|mismo|misma)\b", re.I)
# Words that stand for what was said, with no noun of their own: «eso», «ahí», "it", "them", and the «lo» of «¿por
# qué no lo hacían?» (not «lo que», «lo más»: those point at nothing)
_STANDING_FOR = (r"eso|esto|ello|ah[ií]|all[ií]|it|its|they|them|their|"
                 r"lo(?!\s+(?:que|q|m[aá]s|mismo|cual|mejor|peor|menos|antes|suficiente)\b)")
# Words that point back at what was said, even in a longer turn ("were results reported for it?", «¿y ese programa…?»).
_POINTERS = re.compile(rf"\b({_STANDING_FOR}|ese|esa|esos|esas|este|esta|estos|estas|dicho|dicha|dichos|dichas|that|"
                       r"this|those|these|dem[aá]s|resto|others|the rest)\b", re.I)
# Pronouns without a noun (a demonstrative with its own, «ese reglamento», names what it points at): those above,
# «le(s)», one joined to a verb («¿qué hizo para cumplirlo?», «aplicándola»), and a demonstrative that ends its
# clause ("did peru do anything on that?", «¿y sobre esos?»)
_NOUNLESS_POINTER = re.compile(rf"(?i)\b({_STANDING_FOR}|les?|\w{{3,}}(?:ar|er|ir|[aá]ndo|i[eé]ndo)(?:lo|la|los|las|le|les)|"
                               r"(?:that|this|those|these|es[aeo]s?|est[aeo]s?)(?=\s*(?:[?.!,;)]|$)))\b")
_DEFINITION = re.compile(r"(?i)\b(qu[eé] (es|son|era)|what (is|are|was)|define|definici[oó]n)\b")
_GLOSSARY = re.compile(r"\b(sigla|siglas|acr[oó]nimo|qu[eé] significa|significado de|stand for|acronym|"
                       r"what does \w+ mean)\b", re.I)


@lru_cache(maxsize=1)
def _lexicon() -> dict[str, str]:
    return json.loads((Path(__file__).parent / "lexicon_en_es.json").read_text(encoding="utf-8"))


@dataclass
class Query:
    question: str
    resolved: str
    language: str
    refs: References
    search_text: str
    is_follow_up: bool = False
    wants_glossary: bool = False
    expansions: list[str] = field(default_factory=list)
    rewritten: bool = False  # the follow-up was resolved by the language model (validated)
    expects: str | None = None  # the kind of fact asked for: "date", "number", "who" (see `expected_answer`)
    figure: str | None = None  # the figure it asks for: "count", "share", "amount" (`asked_figure`)
    counted: list[str] = field(default_factory=list)  # what that figure is of, also in the index's other languages
    # the index's words close in meaning to those (themselves included where the index uses them: «pedidos» →
    # «solicitudes»), read on either side of a figure (`Retriever.similar_words`, assistant.evidence)
    counted_like: frozenset[str] = frozenset()
    titles: list[str] = field(default_factory=list)  # catalog titles of the references it names
    context: str = ""  # what a follow-up borrowed from the previous turn: `resolved` is «question (context)»
    # a second search of the same question (a follow-up on its own words, `part_queries`): it may cover the
    # question, but the question's labels do not describe it, so no model is fitted on it (evals.calibration)
    auxiliary: bool = False
    # the chunks the previous answer cited, for a follow-up: what it asks about is often next to them
    previous_chunks: list[str] = field(default_factory=list)
    # «¿y la tercera?», "and the last one?": the item of the list the previous answer drew on (1 the first, -1 the
    # last; `list_position`), answered from that list when one is there (assistant.listing)
    list_item: int | None = None
    # a follow-up that names nothing but another reference («¿y en el 22?», "what about guideline 8?"): `resolved` is
    # the previous question asked of it, and the reference is also searched on its own (`part_queries`)
    reference_only: bool = False
    asks_person: bool = False  # it asks for the name of the person holding a role (`asks_for_person`)
    # the places its own words name that the index does not take for granted (`assistant.places`), as codes
    places: frozenset[str] = frozenset()
    # the documents of the index that never mention a place its own words name (`assistant.places`): the Compact
    # speaks of no country, so it cannot say what Peru did; retrieval ranks their chunks lower
    placeless_documents: frozenset[str] = frozenset()


_EXPECTS_DATE = re.compile(r"(?i)(?<!\w)(cu[aá]ndo|en qu[eé] (fecha|año|mes)|desde cu[aá]ndo|when|what (date|year)|"
                           r"(in )?(which|what) year|since when)\b")
_EXPECTS_NUMBER = re.compile(r"(?i)(?<!\w)(cu[aá]nt[oa]s?|qu[eé] (porcentaje|proporci[oó]n|cantidad|n[uú]mero|cifra|"
                             r"monto|total)|how (many|much)|what (percentage|share|proportion|number|amount|figure))\b")
_EXPECTS_WHO = re.compile(r"(?i)(?<!\w)(qui[eé]n(es)?|qu[eé] (entidad|entidades|instituci[oó]n|instituciones|organismo|"
                          r"organismos|[oó]rgano|sector|sectores|ministerio|autoridad)|who|whom|which (body|bodies|"
                          r"institution|institutions|agency|agencies|entity|entities|ministry|authority))\b")


# «¿Cómo se llama el funcionario…?», «¿quién es el actual embajador…?», "what is the name of the minister…?": a
# request for a person's name, read where a word for a post or for someone follows the asking within four words
_PERSON_ROLE = (r"(?:vice\s?)?(?:canciller|ministr[oa]|president[ea]|director(?:a)?|jef[ea]|secretari[oa]|"
                r"embajador(?:a)?|relator(?:a)?|funcionari[oa]|representante|superintendente|c[oó]nsul|"
                r"alcalde(?:sa)?|gobernador(?:a)?|autor(?:a)?|persona|titular|minister|president|director|head|chief|"
                r"secretary|ambassador|rapporteur|official|representative|superintendent|consul|mayor|governor|"
                r"author|person|chair(?:man|woman|person)?)(?:e?s)?")
# the asking that a request for a person's name and a bare name request share
_ASKING_WHO = r"c[oó]mo se llama(?:ba)?n?|qui[eé]n(?:es)? (?:es|era|fue|son|eran|fueron)"
_ASKS_PERSON = re.compile(
    rf"(?i)(?<!\w)(?:{_ASKING_WHO}|(?:el |los )?nombres? de(?:l| la| los| las)?|"
    r"(?:what(?:'s| is| was| are| were) )?the names? of|names? of|"
    r"who (?:is|was|are|were))\s+(?:\w+\s+){0,3}?" + _PERSON_ROLE + r"\b")


# «¿y cómo se llama?», «¿cuál es su nombre?», "what's her name?", «¿y quién es?»: a name asked of whoever the
# previous turn was about; "his", "her" say it is a person
_NAME_REQUEST = re.compile(
    rf"(?i)(?<!\w)(?:{_ASKING_WHO}|cu[aá]l (?:es|era) (?:su|el) nombre|(?:su|el) nombre|"
    r"what(?:'s| is| was) (?:his|her|their|the) names?|"
    r"(?:his|her|their) names?|who (?:is|was|are|were) (?:he|she|they|it|that)|who)(?!\w)")
_PERSON_NAME_REQUEST = re.compile(r"(?i)\b(?:his|her|their)\s+names?\b")
_PERSON_WORD = re.compile(rf"(?i)\b{_PERSON_ROLE}\b")


def asks_nothing_of_its_own(question: str) -> bool:
    """A turn whose words, a name request («cómo se llama», "what's her name") and bare interrogatives left out,
    are none: «¿y cómo se llama?», «¿y cuántos?», "and who?". Searched on its own words, it finds what its
    interrogative spells («llamadas», «Nombre del documento»), nothing it asks about."""
    return not (content_stems(_NAME_REQUEST.sub(" ", question)) - _BARE_WORDS)


def asks_for_person(question: str, previous: str = "") -> bool:
    """Whether the question asks who holds a post by name («¿Cómo se llamaba el Canciller…?», "who is the head
    of…?"): its answer must name a person (assistant.answerability), not the post («el Canciller del Perú»). A
    follow-up that asks a name and nothing else («¿y cómo se llama?», "what's his name?") asks for a person when
    it says so ("his", "her") or when the `previous` question asked who did something or named a post."""
    if _ASKS_PERSON.search(question):
        return True
    if not previous or not _NAME_REQUEST.search(question) or not asks_nothing_of_its_own(question):
        return False
    return bool(_PERSON_NAME_REQUEST.search(question)) or expected_answer(previous) == "who" or \
        bool(_PERSON_WORD.search(previous))


def expected_answer(question: str) -> str | None:
    """The kind of fact the question asks for: "date" (¿cuándo…?, when…?), "number" (¿cuántos…?, how many…?),
    "who" (¿quién…?, which institution…?) or None. It is read from the question's first interrogative: in «¿Qué
    hizo el Perú cuando cerraron las fronteras?» or "which instruments should States consider when drafting
    policy?" the «cuando», the "when" only say when something is done, and no date is asked for. Evidence that
    states the kind of fact ranks higher, and an answer with none of it is less likely to answer
    (assistant.evidence, assistant.answerability; for a date, a veto)."""
    found = [(match.start(), order, kind) for order, (kind, pattern) in
             enumerate((("date", _EXPECTS_DATE), ("number", _EXPECTS_NUMBER), ("who", _EXPECTS_WHO)))
             if (match := pattern.search(question))]
    if not found:
        return None
    start, _, kind = min(found)
    opening = _ASKING.search(question)
    return None if opening and opening.end() <= start else kind


# The figure a question asks for, and what it is a figure of (assistant.evidence `states_figure`):
# a count names what it counts right after the count word («¿cuántos consulados…?», "how many health workers…");
_COUNT_QUESTION = re.compile(r"(?i)\b(?:cu[aá]nt[oa]s|how\s+many|n[uú]mero\s+de|number\s+of|cantidad\s+de)\s+"
                             r"((?:[\w-]+\s+){0,3}[\w-]+)")
# a share, what it is a share of («¿qué porcentaje de jóvenes…?», «la tasa de pobreza», "what share of households",
# "the unemployment rate");
_SHARE_QUESTION = re.compile(r"(?i)\b(?:porcentaje|proporci[oó]n|tasa|percentage|share|proportion|rate)\b|%")
_SHARE_OF = re.compile(r"(?i)(?:\b(?:porcentaje|proporci[oó]n|tasa|percentage|share|proportion|rate)\b|%)\s+(?:del?|of)\s+"
                       r"((?:[\w-]+\s+){0,3}[\w-]+)")
_RATE_OF = re.compile(r"(?i)\b([^\W\d_][\w-]*)\s+(?:rate|share)\b")
# a sum of money: «¿cuánto cuesta…?», «¿qué presupuesto tuvo…?», «¿cuál fue el presupuesto de…?», "how much
# funding…", or what money does, «¿cuánto aportó…?», "how much … raise", "how much is … worth": the money noun asked
# for, not one naming something else («¿qué programa presupuestal…?», "which budget programme…")
_AMOUNT_QUESTION = re.compile(
    r"(?i)\b(?:cu[aá]nt[oa]|how\s+much)\b(?:\W+\w+){0,4}?\W+(?:presupuest|financiamient|financiaci|fondos?\b|dinero|"
    r"plata|cost|cuest|monto|salari|sueldo|ingreso|gan[aó]|budget|funding|money|income|wage|earn|remesa|remittance|"
    r"efectivo|cash|vale\b|valor|worth|value|pag[aoóué]|pay|paid|don[aoó]|donat|donor|grant|subvenci|subsidi|"
    r"invirti|invert|invest|gast|spen[dt]|recaud|raise|aport)|"
    r"\b(?:qu[eé]|cu[aá]l|what|which)\b(?:\W+[\w'’]+){0,5}?\W+(?:presupuesto|monto|costo|financiamiento|budget|"
    r"amount|cost|funding)\b(?!\W+(?:program|programa|line|l[ií]nea|partida))|"
    r"\bhow\s+much\b[^?.;]*\bworth\b")


def _head_words(phrase: str, language: str) -> list[str]:
    """The first content word of a phrase (a Spanish noun comes before its modifiers: «consulados honorarios»), or
    the first two in English (the noun comes after them: "health workers"), lower case, stop words skipped."""
    stop = stop_words(language) | stop_words("es")
    words: list[str] = []
    for word in words_in(phrase):
        if fold(word.lower()) in stop:
            if words:
                break
            continue
        words.append(word.lower())
        if len(words) == (2 if language == "en" else 1):
            break
    return words


# «¿cuántas veces…?», "how many times…": a count of occurrences, whatever word the text counts them in
# («3975 atenciones»)
_OCCURRENCES = {"veces", "vez", "ocasiones", "times", "occasions"}


def asked_figure(question: str, language: str) -> tuple[str | None, list[str]]:
    """The kind of figure a question asks for — "count", "share" or "amount" (of money) — and the words of what it
    is a figure of (none for an amount, nor for a count of occurrences); (None, []) for a question that asks for
    no figure."""
    if found := _COUNT_QUESTION.search(question):
        head = _head_words(found.group(1), language)
        return "count", [] if head and fold(head[0]) in _OCCURRENCES else head
    if _SHARE_QUESTION.search(question):
        if found := _SHARE_OF.search(question):
            return "share", _head_words(found.group(1), language)
        if (found := _RATE_OF.search(question)) and fold(found.group(1).lower()) not in stop_words(language):
            return "share", [found.group(1).lower()]
        return None, []
    if _AMOUNT_QUESTION.search(question):
        return "amount", []
    return None, []


_INTERROGATIVE = (r"(?:qu[eé]|cu[aá]l(?:es)?|c[oó]mo|qui[eé]n(?:es)?|d[oó]nde|cu[aá]ndo|cu[aá]nt[oa]s?|por qu[eé]|"
                  r"para qu[eé]|en qu[eé]|a qu[eé]|de qu[eé]|desde cu[aá]ndo|hasta cu[aá]ndo|desde qu[eé]|"
                  r"what|which|how|who|where|when|why|whom)")
# the first interrogative of a question (`expected_answer`): one that only asks (an accented Spanish one; in English
# "what", "which", "how", "where", "why"), or any, typed shorthand «q» included, where a clause begins (an unaccented
# «que», «quien» or «q» inside a clause is mostly a relative pronoun: «los peruanos q viven afuera, cuántos son?»)
_ASKING = re.compile(rf"(?i)(?<!\w)(?:qué|cuál(?:es)?|cómo|quién(?:es)?|dónde|cuándo|cuánt[oa]s?|what|which|how|where|why)\b|"
                     rf"(?:^|[¿,;:\-–—]\s*|\b(?:y|e|and|o|or)\s+)¿?(?:{_INTERROGATIVE}|q)\b")
# «…en 2020 y cuántos en 2022?», «…; ¿y qué hizo…?», "… and when was it adopted?", «… y a cuántas personas
# llegó?», "… and for how long?": a second question begins (its interrogative may follow a preposition).
_PREPOSITION = r"(?:a|al|de|del|en|con|para|por|desde|hasta|sobre|entre|seg[uú]n|to|for|from|with|in|on|by|at)"
# "… and did Peru implement it?", "… and is it binding?": an English yes/no question after "and" begins with its
# auxiliary and a subject
_YES_NO = (r"(?:did|does|do|is|are|was|were|has|have|had|can|could|will|would|should)\s+"
           r"(?:it|they|he|she|we|you|there|the|this|that|these|those|its|their|any|peru|[A-Z]\w*)\b")
_PART_BOUNDARY = re.compile(rf"(?i)\s*(?:\?\s*¿?|;\s*¿?|,?\s+(?:y|e|and)\s+¿?(?=(?:{_PREPOSITION}\s+)?{_INTERROGATIVE}\b)|"
                            rf",?\s+and\s+(?={_YES_NO})|\?\s+(?=\w))")


_MARKUP = re.compile(r"[<>{}=]")


def split_parts(question: str) -> list[str]:
    """The sub-questions of a multi-part question, each as written («¿Cuántos… y cuándo…?» → two parts);
    a single question comes back alone. A later piece that is no question (too short, or markup or code pasted
    after the «?» that neither opens with an interrogative nor closes with «?») stays with the one before."""
    text = question.strip()
    raw = _PART_BOUNDARY.split(text)
    pieces = [p.strip(" ¿?¡!.,;") for p in raw]
    parts: list[str] = []
    for piece, written in zip(pieces, raw, strict=True):
        if not piece:
            continue
        asks = re.match(rf"(?i){_INTERROGATIVE}\b", piece) or written.rstrip().endswith("?") or \
            not _MARKUP.search(piece)
        if parts and (len(re.findall(r"\w+", piece)) < 2 or not asks):
            parts[-1] = f"{parts[-1]} {piece}"
        else:
            parts.append(piece)
    return parts if len(parts) > 1 else [question]


def _is_follow_up(question: str, refs: References, names_own: bool = False) -> bool:
    """A turn that leans on the previous one: it opens like a follow-up («¿y…?», "what about…"), or it is short
    and points back (a pronoun), or it is too bare to stand alone («¿cuántos eran?»). One that names a reference
    or, pointing back at nothing, a subject of its own (`names_own`: an acronym or a name, «¿Qué es la MTIGM?»)
    stands alone."""
    words = re.findall(r"\w+", question)
    if _FOLLOW_UP_START.match(question):
        return True
    if not refs.is_empty():
        return False
    if _STEP.search(question):  # «¿cuál es el objetivo siguiente?»: after the previous turn's one
        return True
    if names_own and not _PRONOUNS.search(question) and not _POINTERS.search(question):
        return False
    bare = len(words) <= 4 or (len(words) <= 6 and len(content_stems(question) - _BARE_WORDS) <= 1)
    return bare or (len(words) <= 7 and bool(_PRONOUNS.search(question))) or \
        (len(words) <= 12 and bool(_POINTERS.search(question)))


# The ways a reference is written, one pattern per kind; a follow-up that names one of a kind the previous
# question also named asks the previous question again about it («¿y en el eje 4?», "what about objective 7?").
_REFERENCE_SPANS = (
    re.compile(r"(?i)\blineamientos?\s+\d\s+(?:del?|of)\s+(?:la\s+|the\s+)?(?:eje|axis)(?:\s+tem[aá]tico)?\s+\d|"
               r"(?<![\w.])L[1-4]\.\d\b"),
    re.compile(r"(?i)\b(?:lineamientos?|guidelines?)\s+\d\b"),  # «lineamiento 4», "guideline 8", without its eje
    re.compile(r"(?i)\b(?:objetivos?|objectives?)\s+(?:del\s+pmm\s+|n[°º.]?\s*)?\d{1,2}\b|(?<![\w.])O\d{1,2}\b"),
    re.compile(r"(?i)\b(?:[aá]reas?\s+tem[aá]ticas?|thematic\s+areas?)\s+\d\b"),
    re.compile(r"(?i)\b(?:ejes?|axis)(?:\s+tem[aá]tico)?\s+\d\b"),
    re.compile(r"(?i)\b(?:tablas?|tables?)\s+(?:n[°º.]?\s*)?\d+"),
    re.compile(r"(?i)\b(?:conclusi[oó]n(?:es)?|conclusions?|recomendaci[oó]n(?:es)?|recommendations?)\s+"
               r"(?:n[°º.]?\s*)?\d"),
    ACTION_MENTION,
    re.compile(r"(?i)\b(?:art[ií]culos?|arts?\.|articles?)\s*\d+"),
)


# What names a reference right after it: a parenthesis, or a phrase after a comma, colon, dash or «sobre» / "on",
# up to the end of the clause.
_GLOSS = re.compile(r"(?i)^(?:\s*\([^()]{0,80}\)|\s*(?:,|:|—|–|\s(?:on|about|sobre|acerca\s+de|relativ[oa]\s+a|"
                    r"referid[oa]\s+a))\s*[^?¿;:.,()]{1,100}?(?=\s*[?;.,)]|$))")
_BARE_NUMBER = re.compile(r"(?<![\d.,])(\d{1,2})(?![\d.,]\d)")
# «¿y la (d)?», "and (e)?", «¿y la d)?»: a lettered item of the list the previous question named one of
_BARE_LETTER = re.compile(r"(?i)(?:\(([a-z])\)|(?<![\w(])([a-z])\))")


def _names_only_a_reference(question: str) -> bool:
    """Whether a follow-up says nothing but which reference it is about («¿y en el 22?», «¿y el lineamiento 4?»,
    "what about guideline 8?"): what is left without its references, numbers and bare words asks nothing."""
    for pattern in _REFERENCE_SPANS:
        question = pattern.sub(" ", question)
    return not (content_stems(_BARE_NUMBER.sub(" ", question)) - _BARE_WORDS - _REFERENCE_WORDS)


def _substitute_refs(previous: str, question: str) -> str | None:
    """The previous question with its reference replaced by the one of the same kind the follow-up names; a
    follow-up that gives only a number («¿y en el 11?», "and 7?") renumbers the previous question's reference."""
    def swapped(old: re.Match, span: str) -> str:
        # a gloss right after the old reference names it («objetivo 10 (trata de personas)», «objetivo 13,
        # alternativas a la detención», "guideline 7 on migrants' contribution…"): it goes too
        rest = previous[old.end():]
        gloss = _GLOSS.match(rest)
        if gloss and not re.search(rf"(?i)\b{_INTERROGATIVE}\b", gloss.group(0)):
            rest = rest[gloss.end():]
        return previous[:old.start()] + span + rest

    for pattern in _REFERENCE_SPANS:
        new, old = pattern.search(question), pattern.search(previous)
        if new and old:
            return swapped(old, new.group(0))
    # a number or a letter alone renumbers; one that belongs to a reference of another kind does not
    short = len(re.findall(r"\w+", question)) <= 6 and not any(p.search(question) for p in _REFERENCE_SPANS)
    number = _BARE_NUMBER.search(question)
    if number and short:
        for pattern in _REFERENCE_SPANS:
            if old := pattern.search(previous):
                return swapped(old, _BARE_NUMBER.sub(number.group(1), old.group(0), count=1))
    letter = _BARE_LETTER.search(question)
    if letter and short and (old := ACTION_MENTION.search(previous)):
        new_letter = letter.group(1) or letter.group(2)
        return swapped(old, re.sub(r"(?i)[a-z](?=\)?$)", new_letter.lower(), old.group(0)))
    return None


# «ese objetivo», «dicha tabla», "that objective", "the same guideline": a follow-up pointing at the one reference of
# that kind the previous turn named
_POINTED = re.compile(r"(?i)\b(?:ese|esa|este|esta|dicho|dicha|aquel|aquella|el\s+mismo|la\s+misma|that|this|"
                      r"the\s+same|said)\s+(objetivo|objective|lineamiento|guideline|eje(?:\s+tem[aá]tico)?|axis|"
                      r"tabla|table|[aá]rea\s+tem[aá]tica|thematic\s+area|acci[oó]n|action)\b")


def _reference_named(kind: str, refs: References, language: str, catalog: Catalog, step: int = 0) -> str | None:
    """How a question names the previous turn's one reference of a kind («el objetivo 22», "objective 14"), or,
    `step` ±1, the one after or before it («el objetivo 8» after objective 7, "action (d) of objective 21" after
    (c)). None when it named none of that kind, or several, or there is none before it, or no lineamiento of the
    catalog after it; one past the last objective, eje or área («el objetivo 24») is named all the same: the answer
    says how many there are. `kind` as a question writes it («objetivo», "thematic area", «acción»)."""
    kind = _KIND_KEY.get(key := fold(kind.lower()).split()[0], key)
    english = language == "en"
    if kind == "accion":
        if len(refs.gcm_actions) != 1 or not "a" <= (letter := chr(ord(refs.gcm_actions[0][-1]) + step)) <= "z":
            return None
        objective = refs.gcm_actions[0][:-1]
        return f"action ({letter}) of objective {objective}" if english else \
            f"la acción ({letter}) del objetivo {objective}"
    # an action names its objective too
    objectives = refs.pmm or sorted({int(re.match(r"\d+", a).group(0)) for a in refs.gcm_actions})
    numbered = {"objetivo": (objectives, "objective {}", "el objetivo {}"),
                "lineamiento": (refs.pnm_lineamientos, "guideline {} of axis {}", "el lineamiento {} del eje {}"),
                "eje": (refs.pnm_ejes, "axis {}", "el eje {}"),
                "area": (refs.pmm_areas, "thematic area {}", "el área temática {}"),
                "tabla": (refs.tables, "table {}", "la tabla {}"),
                "articulo": (refs.articles, "article {}", "el artículo {}"),
                "conclusion": ([f for f in refs.findings if f.startswith("conclusion")], "conclusion {}",
                               "la conclusión {}"),
                "recomendacion": ([f for f in refs.findings if f.startswith("recomendacion")], "recommendation {}",
                                  "la recomendación {}")}
    if kind not in numbered or len(numbered[kind][0]) != 1:
        return None
    (value,), en, es = numbered[kind]
    parent, number = str(value).split(".")[0], int(re.search(r"\d+$", str(value)).group(0)) + step
    if number < 1 or (kind == "lineamiento" and catalog.lineamiento(f"{parent}.{number}") is None):
        return None
    return (en if english else es).format(number, parent)


def reference_names(refs: References, language: str, catalog: Catalog) -> list[str]:
    """How a question names each of the references in `refs` («la acción (e) del objetivo 22», "table 80")."""
    kinds = {"gcm_actions": "accion", "pnm_lineamientos": "lineamiento", "tables": "tabla", "articles": "articulo",
             "pmm": "objetivo", "pnm_ejes": "eje", "pmm_areas": "area"}
    names = [_reference_named(kinds[field], References(**{field: [value]}), language, catalog)
             for field, values in asdict(refs).items() if field in kinds for value in values]
    names += [_reference_named(f.split("-")[0], References(findings=[f]), language, catalog) for f in refs.findings]
    return [n for n in names if n]


def _name_pointed_reference(question: str, previous_refs: References, language: str, catalog: Catalog
                            ) -> str | None:
    """The follow-up with «ese objetivo» written as the reference the previous turn named («¿en qué área temática
    está ese objetivo?» after a question on action (b) of objective 22 → «…está el objetivo 22?»): asked in full,
    about that reference and nothing narrower the previous turn also named (not its action)."""
    found = _POINTED.search(question)
    if not found or not (named := _reference_named(found.group(1), previous_refs, language, catalog)):
        return None
    return _written_in(question, found, named)


def _written_in(question: str, found: re.Match, named: str) -> str:
    """The follow-up with the span `found` written as the reference `named`, asked in full (no opening «y»)."""
    written = question[:found.start()] + named + question[found.end():]
    written = re.sub(r"(?i)\b(de|a) el\b", lambda m: "del" if m.group(1).lower() == "de" else "al", written)
    return re.sub(r"(?i)^(\s*¿?\s*)(?:y|e|and)\s+", r"\1", written).strip()


# «el siguiente objetivo», «la acción anterior», "the next guideline", «¿y el siguiente?», "and the previous one?":
# a follow-up stepping from the reference the previous turn named to the one after (or before) it
_KIND_WORDS = rf"{REFERENCE_NOUNS}|art[ií]culo|article"
# («anterior a la pandemia», "prior to 2018" place things in time: no step)
_NEXT, _BEFORE = r"siguiente|pr[oó]xim[oa]|next|following", r"anterior|previous|preceding|prior"
_STEP = re.compile(
    rf"(?i)\b(?:(?:el|la|the)\s+)?(?:(?P<step>{_NEXT}|{_BEFORE})\s+(?P<kind>{_KIND_WORDS})\b|"
    rf"(?P<kind2>{_KIND_WORDS})\s+(?P<step2>{_NEXT}|{_BEFORE})\b(?!\s+(?:a|al|to)\b)|"
    rf"(?:el|la|lo|the)\s+(?P<step3>{_NEXT}|{_BEFORE})(?:\s+one)?(?=\s*(?:[?!.,;]|$)))"
    # "…of that objective", «…de ese eje»: the parent the previous turn named, said again
    rf"(?:\s+(?:of|in|under|de|del|en)\s+(?:(?:that|this|the\s+same|ese|esa|este|esta|dicho|dicha|el\s+mismo)\s+)?"
    rf"(?:objetivo|objective|eje(?:\s+tem[aá]tico)?|axis))?")
# the kinds a bare step («¿y el siguiente?») may move along, the most specific first
_STEP_KINDS = ("accion", "lineamiento", "objetivo", "eje", "tabla", "area", "conclusion", "recomendacion", "articulo")
_KIND_KEY = {"objective": "objetivo", "guideline": "lineamiento", "axis": "eje", "table": "tabla", "thematic": "area",
             "action": "accion", "recommendation": "recomendacion", "article": "articulo"}


def _step_reference(question: str, previous: str, previous_refs: References, language: str, catalog: Catalog
                    ) -> str | None:
    """A follow-up that steps to the next (or the previous) reference, written in full: «¿qué dice la acción
    siguiente?» after action (c) of objective 21 → «qué dice la acción (d) del objetivo 21»; «¿y el siguiente?»
    after «¿qué dice el objetivo 7?» → «¿qué dice el objetivo 8?», the previous question about the next one.
    None when the turn steps nowhere the catalog knows."""
    found = _STEP.search(question)
    if not found:
        return None
    step = 1 if re.fullmatch(rf"(?i){_NEXT}", found.group("step") or found.group("step2") or found.group("step3")) \
        else -1
    written_kind = found.group("kind") or found.group("kind2")
    kind, named = next(((k, n) for k in ([written_kind] if written_kind else _STEP_KINDS)
                        if (n := _reference_named(k, previous_refs, language, catalog, step))), (None, None))
    if named is None:
        return None
    if not _words_beside(question, found):  # it asks nothing itself: the previous question, stepped
        in_previous = _reference_named(kind, previous_refs, detect_language(previous, language), catalog, step)
        letter = re.search(r"\([a-z]\)", in_previous)  # an action: its letter re-letters the previous question's
        if swapped := _substitute_refs(previous, letter.group(0) if letter else in_previous):
            return swapped
    return _written_in(question, found, named)


def _words_beside(question: str, found: re.Match) -> set[str]:
    """What a follow-up asks besides the span `found`: the stems of its other content words, its opening «y» /
    "and" and its question words left out."""
    return content_stems(_FOLLOW_UP_START.sub("", f"{question[:found.start()]} {question[found.end():]}")) - _BARE_WORDS


# «¿y la tercera?», «¿cuál es la segunda de esas funciones?», "And the last one?": an ordinal standing for an item
_LIST_ORDINAL = re.compile(r"(?i)\b(second[\s-]+to[\s-]+last|pen[uú]ltim[oa]|penultimate|[uú]ltim[oa]s?|last|" +
                           "|".join(ORDINAL_WORDS.values()) + r")\b")
# what may stand beside it without asking anything else: "one", «de ellas», "of those", "on the list"
_LIST_WORDS = content_stems("one ones item items list lista elemento elementos punto puntos mencionado mencionada "
                            "mencionados mencionadas listed mentioned those these them ellos ellas esos esas estos estas "
                            "cual cuál es son is was what which")


# «¿cuál es el 3?», "which is number 2?": one item, by its number, asked of a list the previous question asked for
# («¿cuáles son los lineamientos del eje 4?»); «¿y el 3?» alone may as well step to another reference (eje 3)
_NUMBERED_ITEM = re.compile(r"(?i)\b(?:cu[aá]l|which|what)\s+(?:es|era|is|was|one\s+is)\s+(?:el\s+|la\s+|the\s+)?"
                            r"(?:n[uú]mero\s+|number\s+|no\.?\s*|n[°º]\s*|#\s*)?(\d{1,2})\W*$")
_ASKS_LIST = re.compile(r"(?i)\b(?:cu[aá]les|which|what)\s+(?:son|eran|fueron|are|were)\b|\b(?:lista|list)\b")


def list_position(question: str, previous: str) -> int | None:
    """The place in a list an ordinal follow-up asks for (1 the first, -1 the last, -2 the one before it), when
    it asks nothing else: beside the ordinal, only words of the previous question («funciones» after "how many
    functions…") or words that point at a list. None for «¿y en el primer trimestre?» after a question that never
    spoke of quarters. A number does for an ordinal when the turn asks which one it is of a list the previous
    question asked for («¿cuál es el 3?» after «¿cuáles son los lineamientos del eje 4?»)."""
    found = _LIST_ORDINAL.search(question)
    if not found:
        numbered = _NUMBERED_ITEM.search(question.strip())
        number = int(numbered.group(1)) if numbered and _ASKS_LIST.search(previous) else 0
        return number or None
    word = fold(found.group(1).lower())
    if _words_beside(question, found) - _LIST_WORDS - content_stems(previous):
        return None
    if re.fullmatch(r"pen[uú]ltim[oa]|penultimate|second[\s-]+to[\s-]+last", word):
        return -2
    if re.fullmatch(r"ultim[oa]s?|last", word):
        return -1
    return ordinal_value(word)


# A facet follow-up names one new thing and asks nothing of its own («¿Y las estructurales?» after «¿Qué
# limitaciones coyunturales…?», "and discrimination?"): its word takes the place of the previous question's word it
# is closest to in meaning, when that is close enough (fitted on the dev conversations).
FACET_MIN_SIMILARITY = 0.88
_MAX_FACET_WORDS = 2
_MAX_FACET_LENGTH = 4  # words after the opener: «¿Y las estructurales?», «¿y para los estudiantes?»
_SAME_WORD = 0.95  # «migración» for «migratoria»: the same thing, no facet

# (new words, old words) → their similarity matrix, rows by columns (`Retriever.word_similarity`)
WordSimilarity = Callable[[list[str], list[str]], "np.ndarray"]


def _substitute_facet(previous: str, question: str, language: str, similar: WordSimilarity | None) -> str | None:
    """The previous question with the word the follow-up replaces swapped for the follow-up's own; None when the
    follow-up is not such a facet (it asks something itself, or brings more than two new words)."""
    if similar is None:
        return None
    bare = _FOLLOW_UP_START.sub("", question).strip(" ¿?¡!.,;")
    if len(bare.split()) > _MAX_FACET_LENGTH or re.search(rf"(?i)\b(?:{_INTERROGATIVE}|q)\b", bare) or \
            _POINTERS.search(bare):
        return None
    known = content_stems(previous)
    new = [w for w in content_words(bare, language) if content_stems(w) and not content_stems(w) <= known]
    base = previous.split(" (", 1)[0]  # the previous question without the context it borrowed itself
    # what a facet may replace: no word of a reference («objetivo» of «objetivo 14»), none that only frames the
    # question («respecto», «hizo»)
    referenced = " ".join(m.group(0) for p in _REFERENCE_SPANS for m in p.finditer(base))
    old = [w for w in content_words(base, detect_language(base, language))
           if content_stems(w) - _BARE_WORDS and w not in new and not re.search(rf"(?i)\b{re.escape(w)}\b", referenced)]
    if not new or len(new) > _MAX_FACET_WORDS or not old:
        return None
    sims = similar(new, old)
    swapped, replaced = base, set()
    for i, word in enumerate(new):
        j = max(range(len(old)), key=lambda k: sims[i][k])
        if not FACET_MIN_SIMILARITY <= sims[i][j] < _SAME_WORD:  # not close, or the same word in another form
            return None
        if j in replaced:  # two new words for one old one («primer trimestre» for «Perú»): no facet
            return None
        replaced.add(j)
        swapped = re.sub(rf"(?i)\b{re.escape(old[j])}\b", word, swapped, count=1)
    return swapped if swapped != base else None


# Kinds of reference that name the same sort of thing: a follow-up naming one of a family («¿y el objetivo 22?»,
# «¿y en el área temática 3?») turns from the previous turn's references of that family to its own.
_FAMILIES = (("pmm", "gcm_actions", "pmm_areas"), ("pnm_ejes", "pnm_lineamientos"), ("tables",), ("findings",),
             ("articles",))


def _carried(previous: References, own: References) -> tuple[References, bool]:
    """The previous turn's references a follow-up carries on (all but those of a family it names itself), and
    whether it replaces any: names, in a family the previous turn was about, other references."""
    kept, named = asdict(previous), asdict(own)
    replaced = False
    for family in _FAMILIES:
        if any(named[k] for k in family):
            replaced = replaced or any(set(kept[k]) - set(named[k]) for k in family)
            for k in family:
                kept[k] = []
    return References(**kept), replaced


def _context_of(previous: str) -> str:
    """What a follow-up borrows from the previous (resolved) question: its words, without nested parentheses,
    so that a long conversation does not pile questions inside questions."""
    return " ".join(previous.replace("(", " ").replace(")", " ").split())[:MAX_REWRITE_CHARS]


def expansions_for(refs: References, catalog: Catalog, language: str) -> list[str]:
    """Catalog titles of the references a question names: they find passages that only use the title."""
    out: list[str] = []
    for n in refs.pmm[:3]:
        obj = catalog.objectives.get(n)
        if obj:
            out.append(f"Objetivo {n}: {obj.short_es}. {obj.title_es}")
            if language == "en":
                out.append(obj.title_en)
    for code in refs.pnm_lineamientos[:3]:
        lin = catalog.lineamiento(code)
        if lin:
            out.append(f"Lineamiento {lin.number} del Eje temático {lin.eje}: {lin.title_es}")
    for n in refs.pnm_ejes[:2]:
        eje = catalog.ejes.get(n)
        if eje and not refs.pnm_lineamientos:
            out.append(f"Eje temático {n}: {eje.title_es}")
    for n in refs.pmm_areas[:2]:
        if n in catalog.areas:
            out.append(f"Área temática {n}: {catalog.areas[n]}")
    return out


def catalog_titles(refs: References, catalog: Catalog) -> list[str]:
    """The titles, as the catalog writes them, of the objectives, lineamientos and ejes a question names: a unit
    that states one of them says what the reference is."""
    titles: list[str] = []
    for n in refs.pmm[:3]:
        if obj := catalog.objectives.get(n):
            titles += [obj.title_es, obj.short_es, obj.title_en]
    for code in refs.pnm_lineamientos[:3]:
        if lin := catalog.lineamiento(code):
            titles += [lin.title_es, lin.short_es]
    for n in refs.pnm_ejes[:2]:
        if eje := catalog.ejes.get(n):
            titles.append(eje.title_es)
    return [t.rstrip(".") for t in titles if t and len(t) >= 12]


def english_terms() -> list[str]:
    """The English terms of the English–Spanish word list."""
    return list(_lexicon())


def translatable(word: str) -> bool:
    """Whether the English–Spanish word list has the word («unhcr», "court")."""
    return word.lower() in _lexicon()


def translate_terms(question: str) -> list[str]:
    """Spanish equivalents of the English content words of a question (for the lexical index)."""
    text = question.lower()
    lexicon = _lexicon()
    found = [es for en, es in lexicon.items() if re.search(rf"\b{re.escape(en)}\b", text)]
    return found


MAX_REWRITE_CHARS = 300
_REWRITE_PREFIX = re.compile(r"(?i)^\W*(pregunta|rewritten question|question|standalone question)[^:?¿]{0,25}:\s*")


def valid_rewrite(rewritten: str | None, question: str, previous: str, catalog: Catalog) -> str | None:
    """A model's standalone version of a follow-up, or None when it cannot be trusted: empty, too long, an
    instruction, about something else, losing the follow-up's own words or a reference it names (or, when it
    names none, all those of the previous question), keeping one the follow-up replaces, or bringing in a
    number the conversation never mentioned."""
    lines = [ln.strip() for ln in (rewritten or "").strip().split("\n") if ln.strip()]
    if not lines:
        return None
    text = _REWRITE_PREFIX.sub("", lines[0]).strip().strip("«»\"'“”` ").strip()
    if not 8 <= len(text) <= MAX_REWRITE_CHARS or looks_like_instruction(text) or not re.search(r"[^\W\d_]{3,}", text):
        return None
    own, earlier, new = (asdict(tag_question(t, catalog)) for t in (question, previous, text))
    if any(not set(values) <= set(new[key]) for key, values in own.items()):
        return None
    # «what about objective 7?» after objective 14: the new reference replaces the old one of its kind
    if any(values and set(new[key]) & (set(earlier[key]) - set(values)) for key, values in own.items()):
        return None
    if not any(own.values()) and any(earlier.values()) and not any(set(v) & set(new[k]) for k, v in earlier.items()):
        return None
    if numbers_in(text) - numbers_in(f"{question} {previous}"):
        return None
    stems, own_stems = content_stems(text), content_stems(question)
    if own_stems and len(own_stems & stems) < len(own_stems) / 2:  # «¿y quién lo coordina?» must keep «coordina»
        return None
    if not stems & (own_stems | content_stems(previous)):
        return None
    return text


# Greetings, thanks and acknowledgements, in Spanish and English: a message made only of these asks nothing
_FORMULAS = {
    "es": set("hola buenas buenos buen dia dias tardes noches gracias muchas mil muy amable ok okay vale listo "
              "perfecto genial excelente entendido chao chau adios hasta luego pronto saludos tal como estas esta "
              "usted de nada bien claro bueno si no que".split()),
    "en": set("hi hello hey thanks thank you thx ok okay great good morning afternoon evening bye goodbye cheers "
              "perfect nice got it cool yes no sure how are much very so a lot".split()),
}
# the words that make it a formula rather than a bare «sí», «no», «bien»
_FORMULA_CORE = set("hola buenas buenos gracias chao chau adios saludos hi hello hey thanks thank thx bye goodbye "
                    "cheers ok okay vale".split())


def small_talk_language(text: str) -> str | None:
    """The language of a message that is only a greeting, thanks or an acknowledgement («hola», «¡muchas
    gracias!», "thanks, bye"), None for anything that asks something («gracias, ¿y el objetivo 15?»): "en" when
    only English formulas say so, else "es"."""
    words = [fold(w) for w in re.findall(r"[^\W\d_]+", text.lower())]
    if not words or len(words) > 8 or (len(words) > 2 and not set(words) & _FORMULA_CORE):
        return None
    if all(w in _FORMULAS["es"] for w in words):
        return "es"
    if all(w in _FORMULAS["en"] or w in _FORMULAS["es"] for w in words):
        return "en"
    return None


def without_formulas(text: str) -> str:
    """The message without the greeting or thanks it opens with («Buenos días, ¿qué es la MTIGM?», «muchas
    gracias. ¿Y el objetivo 15?»): searched, «buenos días» finds «buenas prácticas», and split into parts,
    «muchas gracias» is one."""
    while (m := re.match(r"\s*([^,.;:!?¡¿]+)[,.;:!?]+\s*(?=\S)", text)) and small_talk_language(m.group(1)):
        text = text[m.end():]
    bare = _GREETING.sub("", text)
    return bare if bare.strip() else text


# a greeting typed with no stop after it («hola buenos dias q es la mtigm»)
_GREETING = re.compile(r"(?i)^\s*(?:(?:hola|buen[oa]s\s+(?:d[ií]as|tardes|noches)|(?:muchas\s+)?gracias|hi|hello|"
                       r"hey|good\s+(?:morning|afternoon|evening)|thanks)\s+)+")


def remembered_turn(question: str, resolved: str, answer: str, language: str, catalog: Catalog,
                    lead: Chunk | None = None, cited: list[str] | None = None) -> Turn:
    """What a follow-up may lean on after a turn: the references the question named, or else those of the passage
    that answered it (`lead`, None when the turn was refused), when that passage is about one or two specific
    things; and the chunks its answer cited."""
    refs = tag_question(resolved, catalog)
    if refs.is_empty() and lead is not None:
        top = lead.refs
        if 0 < len(top.pmm) <= 2 or 0 < len(top.pnm_lineamientos) <= 2:
            refs = References(pmm=top.pmm if len(top.pmm) <= 2 else [],
                              pnm_lineamientos=top.pnm_lineamientos if len(top.pnm_lineamientos) <= 2 else [])
    return Turn(question=question, resolved_question=resolved, answer=answer, refs=asdict(refs), language=language,
                cited=list(cited or []))


def understand(question: str, history: list[Turn], catalog: Catalog, default_language: str = "es",
               rewrite: Callable[[str, str, str], str] | None = None, similar: WordSimilarity | None = None) -> Query:
    """`rewrite(question, previous_question, language)`, when given (a model-backed composer), resolves a
    follow-up; its output is validated and the rule-based resolution is used whenever it fails. `similar`
    (words' similarity in meaning, from the index's embedder) lets a facet follow-up swap the word it replaces."""
    question = question.strip()
    language = detect_language(question, default_language)
    refs = tag_question(question, catalog)
    resolved = question
    follow_up = bool(history) and _is_follow_up(question, refs, bool(names_in(question) or
                                                                     acronyms_in(question, catalog)))
    rewritten = None
    if follow_up and rewrite is not None:
        try:
            rewritten = valid_rewrite(rewrite(question, history[-1].resolved_question, language), question,
                                      history[-1].resolved_question, catalog)
        except RuntimeError:  # the model is unavailable: the rules still resolve the follow-up
            rewritten = None
    if follow_up:
        previous = history[-1]
        previous_refs = References(**previous.refs) if previous.refs else References()
    if rewritten:
        resolved = rewritten
        if refs.is_empty():  # «¿y quién lo implementó?»: still about what the previous turn was about
            refs = previous_refs
        refs = refs.merge(tag_question(rewritten, catalog))
    elif follow_up and refs.is_empty() and \
            (stepped := _step_reference(question, previous.resolved_question, previous_refs, language, catalog)):
        # another reference than the previous turn's: asked in full, not searched around the previous answer
        resolved = stepped
        refs = tag_question(resolved, catalog)
        return build_query(question, resolved, language, refs, catalog, follow_up=True)
    elif follow_up:
        # «¿y la tercera?»: the previous question as context, and the place of the item in the list it drew on
        item = list_position(question, previous.resolved_question) if refs.is_empty() else None
        swapped = None
        if item is None:
            swapped = _name_pointed_reference(question, previous_refs, language, catalog) if refs.is_empty() else None
            if not swapped:
                swapped = _substitute_refs(previous.resolved_question, question)
            if not swapped and refs.is_empty():  # a facet keeps the previous question's references
                swapped = _substitute_facet(previous.resolved_question, question, language, similar)
                refs = refs.merge(previous_refs) if swapped else refs
        context = ""
        previous_chunks = previous.cited
        reference_only = False
        if swapped:
            reference_only = _names_only_a_reference(question)
            resolved = swapped
            refs = refs.merge(tag_question(resolved, catalog))
        else:
            context = _context_of(previous.resolved_question)
            resolved = f"{question} ({context})"
            carried, replaced = _carried(previous_refs.merge(tag_question(context, catalog)), refs)
            if replaced:  # «¿y el objetivo 22?» after a turn on objective 21: about 22 only
                previous_chunks = []
            refs = refs.merge(carried)
        query = build_query(question, resolved, language, refs, catalog, follow_up=True, context=context,
                            previous_chunks=previous_chunks)
        return replace(query, list_item=item, reference_only=reference_only,
                       asks_person=asks_for_person(question, previous.resolved_question))
    return build_query(question, resolved, language, refs, catalog, follow_up=follow_up, rewritten=bool(rewritten),
                       previous_chunks=previous.cited if follow_up else None)


def acronyms_in(text: str, catalog: Catalog) -> list[str]:
    """The catalog's acronyms a text uses, in capitals or not («la pnm», «OIM»): a lower-case word counts when it
    has three letters or more and is no ordinary word of either language."""
    found = [w for w in re.findall(r"\b[A-Z][A-Z0-9]{1,9}\b", text) if w in catalog.acronyms]
    for word in re.findall(r"\b[a-z][a-z0-9]{2,9}\b", text):
        upper = word.upper()
        if upper in catalog.acronyms and upper not in found and word not in _COMMON_WORDS:
            found.append(upper)
    return found


# Lower-case words that are also acronyms of the catalog but, in a question, are ordinary words.
_COMMON_WORDS = set("con las los del una por que sin son sus ese esa era fue han hay muy mas the and for not was "
                    "are has its can our who".split())


def implied_objective(text: str, catalog: Catalog) -> int | None:
    """The one PMM objective whose short name a question uses without naming its number («¿qué hizo el Perú en
    protección consular?», "consular protection" through its Spanish terms): all the words of the short name
    (or of a variant of it, two words at least) are in the question. None when no objective, or several, fit."""
    words = content_stems(text)
    found = set()
    for number, objective in catalog.objectives.items():
        for name in (objective.short_es, *objective.short_variants):
            stems = content_stems(name)
            if len(stems) >= 2 and stems <= words:
                found.add(number)
    return found.pop() if len(found) == 1 else None


def build_query(question: str, resolved: str, language: str, refs: References, catalog: Catalog,
                follow_up: bool = False, rewritten: bool = False, context: str = "",
                previous_chunks: list[str] | None = None) -> Query:
    """A query from its resolved text: catalog expansions of its references and acronyms, English terms in
    Spanish, the kind of fact it asks for (the question's own words first, then the resolved form), and the
    titles of the objective a question implies by its short name when it names no reference."""
    expansions = expansions_for(refs, catalog, language)
    if refs.is_empty():  # the implied objective's titles widen the search; no reference filter or boost
        translated = " ".join(translate_terms(resolved)) if language == "en" else ""
        if (implied := implied_objective(f"{resolved} {translated}", catalog)) is not None:
            expansions += expansions_for(References(pmm=[implied]), catalog, language)
    acronyms = acronyms_in(resolved, catalog)
    expansions += [f"{a}: {catalog.acronyms[a]}" for a in acronyms[:3]]
    if language == "en":
        expansions += translate_terms(resolved)
    search_text = " ".join([resolved, *expansions])
    figure, counted = asked_figure(question, language)
    expects = expected_answer(question)
    if figure is None and not context and expects is None and not _ASKING.search(question):
        # a part that asks nothing of its own («¿Cuántos… en 2020? ¿Y en 2022?») asks for the figure its sibling asks
        # for; one that asks for a date or a name ("…, and when did that phase run?"), or asks anything else in
        # its own words («…y por qué no lo hacían los demás?»), does not
        figure, counted = asked_figure(resolved, language)
    return Query(question=question, resolved=resolved, language=language, refs=refs, search_text=search_text,
                 is_follow_up=follow_up, expansions=expansions, rewritten=rewritten, context=context,
                 expects=expects or expected_answer(resolved), titles=catalog_titles(refs, catalog),
                 figure=figure, counted=counted, previous_chunks=list(previous_chunks or []),
                 asks_person=asks_for_person(question),
                 wants_glossary=bool(_GLOSSARY.search(question)) or (bool(acronyms) and bool(_DEFINITION.search(question))))


def _specific_free(text: str) -> str:
    """A part's wording without its years and figures: the context an elliptical sibling part borrows."""
    return " ".join(re.sub(r"\b\d[\d.,]*\b", " ", text).split())


def part_queries(query: Query, catalog: Catalog) -> list[Query]:
    """One query per part of a multi-part question (the query itself when it has one part). A part too bare to
    stand alone («…y cuántos en 2022?»), or one that points back at the first ("…, and how is it worded?"),
    borrows the first part's wording, without its figures, and references. A follow-up's parts are its own
    question's: what it borrowed from the previous turn is no part of it, and every part keeps it."""
    parts = split_parts(query.question if query.context else query.resolved)
    if len(parts) == 1 and query.context and not asks_nothing_of_its_own(query.question):
        # a follow-up that borrowed the previous turn is also searched on its own words: its new facet («¿y la
        # discriminación?») is what the borrowed words outweigh (dev follow-up turns right: 0.71 in context
        # alone, 0.78 with both searches); not when its words ask nothing of their own («¿y cómo se llama?»)
        own = build_query(query.question, query.question, query.language, tag_question(query.question, catalog), catalog,
                          follow_up=True, previous_chunks=query.previous_chunks)
        own = replace(own, auxiliary=True, asks_person=query.asks_person)
        # the search that answers first leads the answer: the turn's own words, unless they point back at what the
        # previous turn named («¿y qué hizo el Perú para cumplirlo?», "which guidelines does it have?"), which
        # they do not hold
        return [query, own] if _NOUNLESS_POINTER.search(query.question) else [own, query]
    if query.reference_only:
        # «¿y en el 22?» after «¿cuántos convenios fueron?» on objective 4: the previous question asked of 22, and
        # what the corpus says of 22 itself, for the previous question may have asked what 22 does not have
        named = "; ".join([*reference_names(query.refs, query.language, catalog), *query.titles[:1]])
        itself = build_query(query.question, f"{query.question} ({named})", query.language, query.refs, catalog,
                             follow_up=True)
        return [*part_queries(replace(query, reference_only=False), catalog), replace(itself, auxiliary=True)]
    if len(parts) == 1:
        return [query]
    first = parts[0]
    first_refs = tag_question(first, catalog)
    out: list[Query] = []
    for i, part in enumerate(parts):
        refs = tag_question(part, catalog)
        resolved = part
        if i and (len(content_stems(part) - _BARE_WORDS) <= 1 or _POINTERS.search(part)):
            resolved = f"{part} ({_specific_free(first)})"
            refs = refs if not refs.is_empty() else first_refs
        if i and refs.is_empty():
            refs = first_refs if len(content_stems(part)) <= 3 else refs
        if query.context:
            resolved = f"{resolved} ({query.context})"
            refs = refs.merge(query.refs)
        out.append(build_query(part, resolved, query.language, refs, catalog, follow_up=query.is_follow_up,
                               context=query.context, previous_chunks=query.previous_chunks))
    return out


_BARE_WORDS = content_stems("qué cuál cuáles cómo quién quiénes dónde cuándo cuánto cuántos cuántas hizo hace hay "
                            "what which how who where when many much did does do respecto respect eso esto ello")
# what names a reference beside its number («el 22 del pacto», "the PNM's axis"), and asks nothing of it
_REFERENCE_WORDS = content_stems("objetivo objective lineamiento guideline eje axis área area temática thematic tabla "
                                 "table acción action pmm pnm gcm pacto compact política policy about")
