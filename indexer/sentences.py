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
    reference lines, or the sentences of each paragraph (very short ones joined to a neighbour)."""
    if chunk.kind == "table":
        lines = chunk.text.split("\n")
        rows = [Unit(ln, True) for ln in lines[2:] if ln.strip() and not ln.startswith("Nota")]
        return rows or [Unit(lines[0])]
    if chunk.kind in {"glossary", "reference"}:
        return [Unit(ln) for ln in chunk.text.split("\n") if ln.strip()]
    units: list[Unit] = []
    for paragraph in chunk.text.split("\n"):
        units += [Unit(s) for s in _joined_sentences(paragraph)]
    return units


def _joined_sentences(paragraph: str) -> list[str]:
    """A paragraph's sentences, a very short one («Eslovaquia no votó.», «Herramienta N°3.», «A.») joined to the
    sentence before it, or to the one after it when it comes first, as the paragraph writes them (verbatim): a
    fact that short is still a fact, and a label belongs with what it labels. A paragraph that is one short
    fragment («TEMA DE TESIS:», «1.») gives no unit."""
    spans, cursor = [], 0
    for sentence in split_sentences(paragraph):
        start = paragraph.find(sentence, cursor)
        cursor = start + len(sentence)
        spans.append([start, cursor])
    groups: list[list[int]] = []
    opening: int | None = None  # the start of the short fragments that open the paragraph
    for start, end in spans:
        if end - start > MIN_UNIT_CHARS:
            groups.append([start if opening is None else opening, end])
            opening = None
        elif groups:
            groups[-1][1] = end
        elif opening is None:
            opening = start
    return [paragraph[start:end] for start, end in groups]


def unit_embedding_text(chunk: Chunk, unit: Unit) -> str:
    """What the embedder sees for a unit: a table row keeps its table's caption and header (a bare row of
    cells means nothing on its own); a sentence, the heading of its section before it («Lineamiento 1: Gestión
    migratoria…: Se expidieron 93 Tarjetas…»), since a sentence seldom repeats what its section is about (dev,
    out of fold: the evidence ranker's lead unit is gold evidence 0.615 → 0.639 of the time)."""
    if unit.is_row:
        caption, _, rest = chunk.text.partition("\n")
        header = rest.split("\n", 1)[0]
        return f"{caption}\n{header}\n{unit.text}"
    heading = chunk.section_path[-1].strip() if chunk.section_path else ""
    return f"{heading}: {unit.text}" if heading else unit.text
