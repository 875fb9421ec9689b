"""Exports of a saved conversation, or of one of its answers, to .docx and .md with numbered references.

A conversation becomes a `CitedDocument` (one section per question, the answer's paragraphs as its statements,
the citations of all answers numbered once across the document) and is written by the briefing note's exporter.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from assistant.briefing import NoteSection, Numbering, export
from assistant.conversations import Conversation, StoredTurn
from assistant.prompts import message
from assistant.types import Citation

FORMATS = ("docx", "md")
MEDIA_TYPES = {"docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
               "md": "text/markdown; charset=utf-8"}
_TRAILING_MARKERS = re.compile(r"((?:\s*\[\d+\])+)\s*$")
_MARKER = re.compile(r"\[(\d+)\]")


@dataclass
class ConversationDocument:
    title: str
    meta_lines: list[tuple[str, str]]
    sections: list[NoteSection] = field(default_factory=list)
    sources: list[Citation] = field(default_factory=list)


def _section(turn: StoredTurn, numbering: Numbering, language: str) -> NoteSection:
    """The turn's answer, paragraph by paragraph, its [n] markers renumbered into the document's references."""
    local = {c.n: numbering.number(Citation(**c.to_dict())) for c in turn.citations}
    section = NoteSection(f"{message('export_question', language)} {turn.n}: {turn.question}")
    for paragraph in (p.strip() for p in turn.answer.split("\n\n")):
        if not paragraph:
            continue
        trailing = _TRAILING_MARKERS.search(paragraph)
        numbers = [local[int(n)] for n in _MARKER.findall(trailing.group(1)) if int(n) in local] if trailing else []
        text = paragraph[:trailing.start()] if trailing else paragraph
        text = _MARKER.sub(lambda m: f"[{local.get(int(m.group(1)), m.group(1))}]", text)
        section.statements.append((text, numbers))
    return section


def conversation_document(conversation: Conversation, only_turn: int | None = None,
                          language: str = "es") -> ConversationDocument:
    """The whole conversation, or only its turn number `only_turn`."""
    turns = [t for t in conversation.turns if only_turn is None or t.n == only_turn]
    if only_turn is not None and not turns:
        raise LookupError(f"{conversation.id}#{only_turn}")
    title = conversation.title or message("ui_untitled", language)
    document = ConversationDocument(
        title=f"{message('export_conversation_title', language)}: {title}",
        meta_lines=[(message("export_date", language), datetime.now(UTC).date().isoformat()),
                    (message("export_user", language), conversation.owner)])
    numbering = Numbering()
    document.sections = [_section(t, numbering, language) for t in turns]
    document.sources = numbering.sources
    return document


def export_conversation(conversation: Conversation, fmt: str, folder: Path, only_turn: int | None = None,
                        language: str = "es") -> Path:
    """Write the export into `folder` (one file per user and conversation) and return its path."""
    if fmt not in FORMATS:
        raise ValueError(f"formato no admitido: {fmt!r} (use docx o md)")
    suffix = f"_{only_turn}" if only_turn is not None else ""
    path = folder / conversation.owner / f"conversacion_{conversation.id}{suffix}.{fmt}"
    return export(conversation_document(conversation, only_turn, language), path)
