"""Types that travel out of the assistant: passages, citations, answers, conversation turns, filters.

`Answer.to_dict()` is the `ask --json` contract of DESIGN.md; evaluations and scripts rely on it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from indexer.types import Chunk


@dataclass
class Filters:
    """Optional restrictions chosen in the UI."""

    doc_ids: list[str] = field(default_factory=list)
    pmm_objectives: list[int] = field(default_factory=list)
    pnm_ejes: list[int] = field(default_factory=list)

    def is_empty(self) -> bool:
        return not (self.doc_ids or self.pmm_objectives or self.pnm_ejes)


@dataclass
class Passage:
    """A retrieved chunk with its fused score and the parts of the score."""

    chunk: Chunk
    score: float
    dense: float = 0.0
    lexical: float = 0.0
    reference_match: bool = False
    neighbours: list[Chunk] = field(default_factory=list)
    # chunk id (this chunk and its neighbours) → the question's cosine similarity to each evidence unit, in
    # `indexer.sentences.evidence_units` order
    unit_similarity: dict[str, list[float]] = field(default_factory=dict)
    # what the passage reranker reads (assistant.rerank.PASSAGE_FEATURES); all of them only inside the reranked pool
    features: dict[str, float] = field(default_factory=dict)

    def context_dict(self) -> dict:
        c = self.chunk
        meta = {"kind": c.kind, "section": c.section, "page": c.page, "page_end": c.page_end,
                "refs": asdict(c.refs), **{k: v for k, v in c.attrs.items() if isinstance(v, str | int | float | bool)}}
        return {"chunk_id": c.id, "doc_id": c.doc_id, "text": c.text, "score": round(self.score, 4),
                "metadata": meta}


@dataclass
class Citation:
    n: int
    label: str
    doc_id: str
    chunk_id: str
    section: str
    page: int | None
    quote: str
    document_title: str = ""
    labels: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Answer:
    question: str
    language: str
    answer: str
    abstained: bool
    citations: list[Citation]
    passages: list[Passage]
    backend: str
    timings_ms: dict[str, float]
    id: str | None = None
    resolved_question: str = ""
    dropped_sentences: int = 0
    dropped_citations: int = 0
    notes: list[str] = field(default_factory=list)
    answerability: list[float] = field(default_factory=list)  # the calibrated score of each part of the question

    def to_dict(self) -> dict:
        out = {
            "id": self.id, "question": self.question, "language": self.language, "answer": self.answer,
            "abstained": self.abstained, "citations": [c.to_dict() for c in self.citations],
            "contexts": [p.context_dict() for p in self.passages], "backend": self.backend,
            "timings_ms": {k: round(v, 1) for k, v in self.timings_ms.items()},
        }
        out["resolved_question"] = self.resolved_question or self.question
        out["grounding"] = {"dropped_sentences": self.dropped_sentences, "dropped_citations": self.dropped_citations}
        if self.notes:
            out["notes"] = self.notes
        if self.answerability:
            out["answerability"] = self.answerability
        return out


@dataclass
class Turn:
    """One exchange of a conversation, kept to resolve follow-ups."""

    question: str
    resolved_question: str
    answer: str
    refs: dict = field(default_factory=dict)
    entities: list[str] = field(default_factory=list)
    language: str = "es"
    cited: list[str] = field(default_factory=list)  # the chunks its answer cited: a follow-up searches around them
