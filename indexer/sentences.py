"""Evidence units: the sentences (or table rows, glossary lines) of a chunk that an answer may quote.

Computed the same way at index time, where each unit gets its own vector (small-to-big retrieval: units are
searched, their chunk is returned), and at answer time, where the composer picks units to quote. Positions
are the unit's index in `evidence_units(chunk)`, so a stored vector and a composed sentence name the same unit.
"""

from __future__ import annotations

from dataclasses import dataclass

from indexer.chunking import split_sentences
from indexer.types import Chunk

MIN_UNIT_CHARS = 25


@dataclass(frozen=True)
class Unit:
    """One quotable piece of a chunk, verbatim."""

    text: str
    is_row: bool = False


def evidence_units(chunk: Chunk) -> list[Unit]:
    """A chunk's quotable units in reading order: table rows (after caption and header), glossary and
    reference lines, or the sentences of each paragraph (very short fragments left out)."""
    if chunk.kind == "table":
        lines = chunk.text.split("\n")
        rows = [Unit(ln, True) for ln in lines[2:] if ln.strip() and not ln.startswith("Nota")]
        return rows or [Unit(lines[0])]
    if chunk.kind in {"glossary", "reference"}:
        return [Unit(ln) for ln in chunk.text.split("\n") if ln.strip()]
    units: list[Unit] = []
    for paragraph in chunk.text.split("\n"):
        units += [Unit(s) for s in split_sentences(paragraph) if len(s) > MIN_UNIT_CHARS]
    return units


def unit_embedding_text(chunk: Chunk, unit: Unit) -> str:
    """What the embedder sees for a unit: a table row keeps its table's caption and header (a bare row of
    cells means nothing on its own); a sentence is embedded as written."""
    if unit.is_row:
        caption, _, rest = chunk.text.partition("\n")
        header = rest.split("\n", 1)[0]
        return f"{caption}\n{header}\n{unit.text}"
    return unit.text
