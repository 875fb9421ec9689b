"""Extractive composer: the answer is made of the passages' own sentences and table rows, each cited.

No model, deterministic, always available. Which units it quotes, and in what order, is the evidence
ranker's choice (assistant.evidence): the unit that answers first, then the supporting ones grouped by source.
A question that names a conclusion or a recommendation gets that finding whole, in its own order. A quote that
points back at what its section is about («En este objetivo destaca…», «…esta área fue la que generó mayores
progresos») is introduced by that section's label, on a line before it («Objetivo 2:», then «En este objetivo
destaca…»), since the reader does not see the heading it points at; the quote itself stays verbatim.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from assistant import evidence
from assistant.composers.base import Draft, DraftSentence
from assistant.query import Query
from assistant.settings import Settings
from assistant.types import Passage
from indexer.sentences import evidence_units
from indexer.tagging import fold


def units_of(chunk) -> list[tuple[str, bool]]:
    """(verbatim unit, is_table_row) of a chunk, for composers that look for a quote by themselves."""
    return [(u.text, u.is_row) for u in evidence_units(chunk)]


# The kinds of section a sentence may point back at, by the words that name them (folded), and the heading that
# opens such a section («Área temática 2: …», «Objetivo 14: …», «Lineamiento 3: …», "Objective 7: …")
_KIND_OF = {"area": "area", "area tematica": "area", "thematic area": "area", "objetivo": "objetivo",
            "objective": "objetivo", "lineamiento": "lineamiento", "guideline": "lineamiento", "eje": "eje",
            "eje tematico": "eje", "axis": "eje"}
_POINTING_BACK = re.compile(r"(?i)\b(?:est[ea]|dich[oa]|this|that)\s+(área(?:\s+temática)?|area(?:\s+tematica)?|"
                            r"thematic\s+area|objetivo|objective|lineamiento|guideline|eje(?:\s+temático)?|axis)\b")
_HEADING = re.compile(r"(?i)^(área\s+temática|objetivo|objective|lineamiento|eje\s+temático)\s+(\d{1,2})\b")


_LABELS = {"es": {"area": "Área temática {}", "objetivo": "Objetivo {}", "lineamiento": "Lineamiento {}",
                  "eje": "Eje temático {}", "of_axis": "Eje temático {axis}, {label}"},
           "en": {"area": "Thematic area {}", "objetivo": "Objective {}", "lineamiento": "Guideline {}",
                  "eje": "Axis {}", "of_axis": "Axis {axis}, {label}"}}


def _kind(words: str) -> str:
    """The kind of section a name of it stands for («Área  temática», "thematic area" → "area")."""
    return _KIND_OF[" ".join(fold(words.lower()).split())]


def pointed_section(text: str, section: str, language: str = "es") -> str | None:
    """The label of the section a sentence points back at («esta área», "this objective") and does not name:
    the nearest heading of that kind above it («Área temática 2»; a lineamiento with its eje: «Eje temático 1,
    lineamiento 3»), in the answer's language ("Thematic area 2", "Axis 1, guideline 3"). None when the sentence
    points at nothing, names it itself («el objetivo 14…»), or no heading of that kind is above it."""
    pointing = _POINTING_BACK.search(text)
    if not pointing:
        return None
    kind = _kind(pointing.group(1))
    headings = [(_kind(m.group(1)), int(m.group(2)))
                for segment in section.split("›") if (m := _HEADING.match(segment.strip()))]
    numbers = [n for k, n in headings if k == kind]
    if not numbers or re.search(rf"(?i)\b{pointing.group(1).split()[0]}\s+(?:tem[aá]tic[oa]\s+)?\d", text):
        return None
    words = _LABELS["en" if language == "en" else "es"]
    label = words[kind].format(numbers[-1])
    if kind == "lineamiento" and (axes := [n for k, n in headings if k == "eje"]):
        return words["of_axis"].format(axis=axes[-1], label=label.lower())
    return label


def _introduced(text: str, section: str, language: str) -> str:
    """The quote, after the label of the section it points back at on a line of its own: the label is the
    answer's words (in its language), the quote the document's."""
    label = pointed_section(text, section, language)
    return f"{label}:\n{text}" if label else text


class ExtractiveComposer:
    name = "extractive"

    def __init__(self, settings: Settings):
        self.settings = settings

    def _whole_findings(self, passages: list[Passage]) -> list[DraftSentence]:
        chunks = sorted({p.chunk.id: p.chunk for p in passages}.values(), key=lambda c: c.ordinal)
        return [DraftSentence(text=u.text, chunk=chunk, quote=u.text)
                for chunk in chunks for u in evidence_units(chunk)[: self.settings.answer.max_sentences + 3]]

    def from_ranked(self, query: Query, passages: list[Passage], ranked: list[evidence.Candidate]) -> Draft:
        """The draft for evidence already ranked (the assistant ranks once, to decide answerability too)."""
        named = [p for p in passages[:6] if p.reference_match and p.chunk.kind == "finding" and query.refs.findings]
        if named:
            return Draft(sentences=self._whole_findings(named), best_support=1.0)
        chosen = evidence.grouped(evidence.select(ranked, self.settings.answer.max_sentences, query=query))
        sentences = [DraftSentence(text=_introduced(c.text, c.chunk.section or "", query.language), chunk=c.chunk,
                                   quote=c.text, support=c.probability) for c in chosen]
        return Draft(sentences=sentences, best_support=max((c.features["lexical"] for c in ranked[:3]), default=0.0))

    def compose(self, query: Query, passages: list[Passage],
                on_sentence: Callable[[DraftSentence], None] | None = None) -> Draft:
        draft = self.from_ranked(query, passages, evidence.rank(query, passages))
        for sentence in draft.sentences:
            if on_sentence:
                on_sentence(sentence)
        return draft
