"""Extractive composer: the answer is made of the passages' own sentences and table rows, each cited.

No model, deterministic, always available. Which units it quotes, and in what order, is the evidence
ranker's choice (assistant.evidence): the unit that answers first, then the supporting ones grouped by source.
A question that names a conclusion or a recommendation gets that finding whole, in its own order.
"""

from __future__ import annotations

from collections.abc import Callable

from assistant import evidence
from assistant.composers.base import Draft, DraftSentence
from assistant.query import Query
from assistant.settings import Settings
from assistant.types import Passage
from indexer.sentences import evidence_units


def units_of(chunk) -> list[tuple[str, bool]]:
    """(verbatim unit, is_table_row) of a chunk, for composers that look for a quote by themselves."""
    return [(u.text, u.is_row) for u in evidence_units(chunk)]


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
        chosen = evidence.grouped(evidence.select(ranked, self.settings.answer.max_sentences))
        sentences = [DraftSentence(text=c.text, chunk=c.chunk, quote=c.text, support=c.probability) for c in chosen]
        return Draft(sentences=sentences, best_support=max((c.features["lexical"] for c in ranked[:3]), default=0.0))

    def compose(self, query: Query, passages: list[Passage],
                on_sentence: Callable[[DraftSentence], None] | None = None) -> Draft:
        draft = self.from_ranked(query, passages, evidence.rank(query, passages))
        for sentence in draft.sentences:
            if on_sentence:
                on_sentence(sentence)
        return draft
