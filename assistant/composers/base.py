"""The composer interface and the draft it returns: sentences, each tied to the passages it cites."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from assistant.query import Query
from assistant.types import Passage
from indexer.types import Chunk, References


@dataclass
class DraftSentence:
    """One sentence of an answer: what it says, which chunk backs it, and the verbatim quote there."""

    text: str
    chunk: Chunk
    quote: str
    support: float = 1.0
    about: References | None = None  # what the sentence is about, when the chunk is about more (a catalog row)


@dataclass
class Draft:
    sentences: list[DraftSentence] = field(default_factory=list)
    intro: str = ""
    dropped_sentences: int = 0
    dropped_citations: int = 0
    best_support: float = 0.0
    notes: list[str] = field(default_factory=list)


class Composer(Protocol):
    name: str

    def compose(self, query: Query, passages: list[Passage],
                on_sentence: Callable[[DraftSentence], None] | None = None) -> Draft:
        """Draft an answer; `on_sentence` receives each sentence once it has passed its checks (streaming)."""
        ...
