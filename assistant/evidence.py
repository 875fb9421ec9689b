"""Evidence selection: which units (sentences, table rows) of the retrieved passages answer the question.

Every evidence unit (indexer.sentences) of the top passages and of their neighbours is a candidate, described
by features: its semantic closeness to the question (the unit vectors of the index), how many of the
question's terms it holds, its passage's rank and reference match, whether it states the kind of fact the
question asks for (a number for «¿cuántos…?», a date for «¿cuándo…?», a body or a person for «¿quién…?»),
whether it gives the figure the question asks for (a number of what «¿cuántos consulados…?» counts, a
percentage of what «¿qué porcentaje de…?» asks a share of, a sum of money), and
whether it states the catalog title of an objective, lineamiento or eje the question names, and how many of the
question's own words it holds (`own_sides`: a follow-up or a part asks with its own words; what it borrowed
from the previous turn or a sibling part only says what about).
A logistic model fitted on the dev split of the gold set (evals/calibration.py writes
assistant/models/evidence.json) turns the features into the probability that the unit is the evidence; the
answer leads with the most probable one. Nothing here names a gold question's words.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path

from assistant.query import Query
from assistant.text import (
    content_stems,
    dates_in,
    figures_text,
    is_year,
    looks_like_instruction,
    names_in,
    numbers_in,
    without_citations,
    words_in,
)
from assistant.types import Passage
from indexer.sentences import evidence_units
from indexer.tagging import fold
from indexer.types import Chunk

MODELS_DIR = Path(__file__).parent / "models"
CANDIDATE_PASSAGES = 6

# Words every question about this corpus shares: they say nothing about which sentence answers it.
_GENERIC = content_stems(
    "qué cuál cuáles cómo quién quiénes dónde cuándo cuánto cuántos cuántas perú peruano pmm pnm pacto mundial "
    "política nacional migratoria migración segura ordenada regular objetivo lineamiento eje tabla tesis según "
    "dice hizo sigla siglas significa significado acrónimo mean stand "
    "what which how who where when does did peru compact objective table thesis say says according many much")

EVIDENCE_FEATURES = ("semantic", "semantic_gap", "lexical", "rank", "reference", "neighbour", "fulfils",
                     "unfulfilled", "row", "short", "states_title", "states_figure", "own_lexical")


@dataclass
class Candidate:
    """One unit that may answer the question, with what the ranker knows about it."""

    text: str
    chunk: Chunk
    position: int
    is_row: bool
    passage_rank: int
    features: dict[str, float]
    probability: float = 0.0
    stems: set[str] = field(default_factory=set)

    @property
    def key(self) -> str:
        return re.sub(r"\W+", "", self.text.lower())[:120]


@dataclass
class LinearModel:
    """A logistic model over named features, read from a JSON file written by evals/calibration.py."""

    features: tuple[str, ...]
    weights: dict[str, float]
    bias: float
    threshold: float = 0.5
    meta: dict = field(default_factory=dict)

    def probability(self, values: dict[str, float]) -> float:
        z = self.bias + sum(self.weights.get(f, 0.0) * values.get(f, 0.0) for f in self.features)
        return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))

    @classmethod
    def load(cls, name: str, folder: Path = MODELS_DIR) -> LinearModel:
        return cls.from_dict(json.loads((folder / f"{name}.json").read_text(encoding="utf-8")))

    @classmethod
    def from_dict(cls, data: dict) -> LinearModel:
        return cls(features=tuple(data["features"]), weights=data["weights"], bias=data["bias"],
                   threshold=data.get("threshold", 0.5), meta=data.get("meta", {}))

    def to_json(self) -> str:
        return json.dumps({"features": list(self.features), "weights": self.weights, "bias": self.bias,
                           "threshold": self.threshold, "meta": self.meta}, ensure_ascii=False, indent=1)


# Models being fitted, answering in place of the shipped ones of the same name (evals.calibration only).
FITTING: dict[str, LinearModel] = {}


def model(name: str) -> LinearModel:
    return FITTING.get(name) or _shipped(name)


@lru_cache(maxsize=4)
def _shipped(name: str) -> LinearModel:
    return LinearModel.load(name)


def query_terms(query: Query) -> set[str]:
    """Stems a supporting unit should contain. English questions are matched through their Spanish
    equivalents (the query's expansions) plus their numbers and names, since the corpus is mostly Spanish."""
    if query.language == "en":
        specifics = " ".join([*numbers_in(query.resolved), *names_in(query.resolved)])
        stems = content_stems(" ".join([query.resolved, *query.expansions, specifics])) - _GENERIC
    else:
        stems = content_stems(" ".join([query.resolved, *query.expansions])) - _GENERIC
    return stems or content_stems(query.resolved)


# Counts written out in words («ciento veinte kits», "two thousand"): a document states a number that way too.
_NUMBER_WORD = (
    r"\b(?:dos|tres|cuatro|cinco|seis|siete|ocho|nueve|diez|once|doce|quince|veinte|treinta|cuarenta|cincuenta|"
    r"sesenta|setenta|ochenta|noventa|cien|ciento|doscientos|trescientos|quinientos|mil|millones?|"
    r"two|three|four|five|six|seven|eight|nine|ten|twelve|twenty|thirty|forty|fifty|hundred|thousand|million)\b")
_NUMBER_WORDS = re.compile(_NUMBER_WORD, re.IGNORECASE)


def term_sides(query: Query) -> list[set[str]]:
    """The question's terms as a unit written in one language can hold them: one set for a question in Spanish;
    for an English one, its own words and its Spanish equivalents (the expansions) apart, each with its numbers
    and names, so that a Spanish unit is not measured against English words it cannot contain, nor the English
    text of the Compact against Spanish ones."""
    terms = query_terms(query)
    if query.language != "en":
        return [terms]
    specifics = content_stems(" ".join([*numbers_in(query.resolved), *names_in(query.resolved)]))
    own = (content_stems(query.resolved) - _GENERIC) | specifics
    other = (content_stems(" ".join(query.expansions)) - _GENERIC) | specifics
    return [side for side in (own, other) if side] or [terms]


def own_sides(query: Query) -> list[set[str]]:
    """`term_sides` of the question's own words, without what the search adds to them: the context a follow-up
    borrowed from the previous turn or a part from its sibling («¿y cuándo se aprobó?» asks about the approval,
    not about everything the previous question named), catalog titles and the long forms of acronyms. An English
    question keeps its Spanish equivalents as their own side (the corpus is mostly Spanish)."""
    own = replace(query, resolved=query.question, expansions=query.expansions if query.language == "en" else [])
    return term_sides(own)


def term_coverage(sides: list[set[str]], stems: set[str], weights: dict[str, float] | None = None,
                  default: float = 0.0) -> float:
    """The largest share of one side's terms (`term_sides`) that `stems` hold, each term counted by its weight
    (its idf) when `weights` are given; `default` when no side has a term that weighs."""
    shares = []
    for side in sides:
        weighted = {t: (weights.get(t, 0.0) if weights is not None else 1.0) for t in side}
        total = sum(weighted.values())
        if total:
            shares.append(sum(w for t, w in weighted.items() if t in stems) / total)
    return max(shares, default=default)


def fulfils(expects: str | None, question: str, text: str) -> bool:
    """Whether a text states the kind of fact the question asks for, beyond what the question itself says."""
    if expects == "date":  # the year of a source it cites is no date it states
        return bool(dates_in(without_citations(text)) - dates_in(question))
    if expects == "number":
        fresh = numbers_in(figures_text(text)) - numbers_in(question)
        return any(not is_year(n) for n in fresh) or bool(_NUMBER_WORDS.search(text))
    if expects == "who":
        return bool(names_in(text) - names_in(question))
    return False


# «120 mil estudiantes venezolanos»: the counted word within this many words after the figure; a word close in
# meaning to it (`Query.counted_like`) also within this many before («los aportes de 21 entidades»)
_COUNT_WINDOW = 4
_COUNT_BEFORE = 3
_FIGURE = re.compile(rf"(?<![\w.,])\d[\d.,]*(?:\s\d{{3}})*|{_NUMBER_WORD}", re.IGNORECASE)


def _same_word(a: str, b: str) -> bool:
    """The same word in another form («consulado», «consulados») or a cognate across languages (the same first six
    letters: «organizaciones», "organizations")."""
    a, b = fold(a.lower()), fold(b.lower())
    return a == b or (len(a) >= 6 and len(b) >= 6 and a[:6] == b[:6]) or \
        content_stems(a) == content_stems(b) != set()


def _close(words: list[str], like: frozenset[str]) -> bool:
    """Whether one of the words is one of the index's words close in meaning to what is counted (`counted_like`)."""
    return any(word.lower() in like for word in words)


def states_count(text: str, counted: list[str], like: frozenset[str] = frozenset()) -> bool:
    """Whether a text gives a figure of what a count question counts (`Query.counted`): a number that is not a
    year, followed within a few words by one of those words («Cuenta con 5 acuerdos binacionales», «100 000
    llamadas»), or next to a word close to them in meaning (`like`: «69 440 solicitudes» for «pedidos», «los
    aportes de 21 entidades»); any such number when the question names nothing it counts («¿cuántas veces…?»,
    «¿cuántos hay?»). A text that only names the thing («los Consejos de Consulta») does not count it, nor does the
    day of a date, an identifier or a reference's number (`figures_text`: «el 15 de junio», «Ley N°30001»,
    «objetivo 14»)."""
    text = figures_text(text)
    for figure in _FIGURE.finditer(text):
        if is_year(figure.group(0).strip(" .,")):
            continue
        if not counted:
            return True
        after = words_in(text[figure.end():])[:_COUNT_WINDOW]
        if any(_same_word(word, c) for word in after for c in counted) or \
                (like and _close(words_in(text[:figure.start()])[-_COUNT_BEFORE:] + after, like)):
            return True
    return False


# A percentage and the words around it: «el 50,2% de los jóvenes», «una tasa de pobreza de 30 %»
_PERCENT = re.compile(r"(?i)\d[\d.,]*\s*(?:%|por\s+ciento|percent)")
_SHARE_WINDOW = 8

# A sum of money: a currency before the figure («S/ 1 200», "US$ 3 592") or after it («1,5 millones de soles»)
_AMOUNT = re.compile(r"(?i)(?:\bS/\.?|\bUS\$|\$|\bUSD\b|€|\bEUR\b)\s*\d|\d[\d.,]*\s*(?:(?:mil|millones?|million)\s+"
                     r"(?:de\s+)?)?(?:soles|d[oó]lares|euros|dollars|USD|EUR)\b|\b(?:millones|mil)\s+de\s+(?:soles|d[oó]lares|euros)\b")


def states_share(text: str, of: list[str], like: frozenset[str] = frozenset()) -> bool:
    """Whether a text gives a percentage with what it is a share of (`Query.counted`, or a word close to it in
    meaning: `like`) within a few words of it, before or after («50,2% de los jóvenes», «la pobreza … afecta al
    30%»)."""
    for percent in _PERCENT.finditer(text):
        near = words_in(text[:percent.start()])[-_SHARE_WINDOW:] + words_in(text[percent.end():])[:_SHARE_WINDOW]
        if not of or any(_same_word(word, w) for word in near for w in of) or _close(near, like):
            return True
    return False


def states_figure(query: Query, text: str) -> bool:
    """Whether a text gives the figure the question asks for (`Query.figure`): a number of what it counts, a
    percentage of what it asks a share of, or a sum of money."""
    if query.figure == "count":
        return states_count(text, query.counted, query.counted_like)
    if query.figure == "share":
        return states_share(text, query.counted, query.counted_like)
    return query.figure == "amount" and bool(_AMOUNT.search(text))


def candidates(query: Query, passages: list[Passage]) -> list[Candidate]:
    """Every quotable unit of the top passages and their neighbours, with its features (unranked)."""
    sides, own = term_sides(query), own_sides(query)
    titles = [fold(t) for t in query.titles]
    out: list[Candidate] = []
    seen: set[tuple[str, int]] = set()
    for rank, passage in enumerate(passages[:CANDIDATE_PASSAGES]):
        for chunk in [passage.chunk, *passage.neighbours]:
            sims = passage.unit_similarity.get(chunk.id, [])
            for position, unit in enumerate(evidence_units(chunk)):
                if (chunk.id, position) in seen or looks_like_instruction(unit.text):
                    continue
                seen.add((chunk.id, position))
                stems = content_stems(unit.text)
                fulfilled = fulfils(query.expects, query.resolved, unit.text)
                out.append(Candidate(
                    text=unit.text, chunk=chunk, position=position, is_row=unit.is_row, passage_rank=rank,
                    stems=stems, features={
                        "semantic": sims[position] if position < len(sims) else 0.0,
                        "lexical": term_coverage(sides, stems),
                        "own_lexical": term_coverage(own, stems),
                        "rank": 1.0 / (rank + 1),
                        "reference": float(passage.reference_match),
                        "neighbour": float(chunk is not passage.chunk),
                        "fulfils": float(bool(query.expects) and fulfilled),
                        "states_figure": float(states_figure(query, unit.text)),
                        "unfulfilled": float(bool(query.expects) and not fulfilled),
                        "row": float(unit.is_row),
                        "short": float(len(unit.text) < 60),
                        "states_title": float(any(t in fold(unit.text) for t in titles)),
                    }))
    best = max((c.features["semantic"] for c in out), default=0.0)
    for c in out:
        c.features["semantic_gap"] = c.features["semantic"] - best
    return out


def rank(query: Query, passages: list[Passage], ranker: LinearModel | None = None) -> list[Candidate]:
    """Candidates, most probable evidence first (ties: earlier passage, earlier in the document)."""
    ranker = ranker or model("evidence")
    found = candidates(query, passages)
    for c in found:
        c.probability = ranker.probability(c.features)
    found.sort(key=lambda c: (-c.probability, c.passage_rank, c.chunk.ordinal, c.position))
    return found


def select(ranked: list[Candidate], max_units: int, relative: float = 0.5, query: Query | None = None
           ) -> list[Candidate]:
    """The units an answer quotes: the most probable first (it answers), then the other likely ones that
    add something, at most `max_units`; a table question may take a few more rows. For a question that asks when
    or how many (`query`), a unit it would quote anyway that states a date or a number leads when the most
    probable one states none («¿Cuándo se adoptó el Pacto?»: «…aprobó el 19 de diciembre de 2018…», not «Ese día
    se adoptó la Declaración de Nueva York…»)."""
    if not ranked:
        return []
    floor = max(ranked[0].probability * relative, model("evidence").threshold)
    if query is not None and query.expects in ("date", "number") and not ranked[0].features["fulfils"]:
        stating = next((c for c in ranked[1:max_units] if c.features["fulfils"] and c.probability >= floor), None)
        if stating is not None:
            ranked = [stating, *(c for c in ranked if c is not stating)]
    lead = ranked[0]
    chosen = [lead]
    seen = {lead.key}
    limit = max_units + 2 if lead.is_row else max_units
    for c in ranked[1:]:
        if len(chosen) >= limit or c.probability < floor:
            break
        if c.key in seen or c.features["lexical"] == 0 and c.features["semantic_gap"] < -0.04:
            continue
        seen.add(c.key)
        chosen.append(c)
    return chosen


def grouped(chosen: list[Candidate]) -> list[Candidate]:
    """The lead unit first, then the supporting ones grouped by source, in reading order within each."""
    if len(chosen) <= 2:
        return chosen
    lead, rest = chosen[0], chosen[1:]
    order = {lead.chunk.doc_id: -1}
    for c in rest:
        order.setdefault(c.chunk.doc_id, len(order))
    rest.sort(key=lambda c: (order[c.chunk.doc_id], c.chunk.ordinal, c.position))
    return [lead, *rest]
