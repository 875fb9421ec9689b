"""Briefing notes in the ministry's short formats (*ayuda memoria*, *nota informativa*), every statement cited.

A note is assembled section by section from cited sentences (`Assistant.supported_sentences`) and the
catalog (PMM objectives, PNM lineamientos and their alignment). The exporter (`to_markdown`, `to_docx`,
`export`) writes any `CitedDocument` — a note, or a saved conversation (assistant/exports.py) — to Markdown
and Word with numbered references.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Protocol

from assistant.api import Assistant
from assistant.query import understand
from assistant.text import content_stems
from assistant.types import Citation, Filters

FORMATS = {"ayuda_memoria": "Ayuda memoria", "nota_informativa": "Nota informativa"}
LENGTHS = {"breve": 2, "media": 3, "extensa": 5}

# (section title, query template, words one of which a statement must contain; empty: any)
SECTION_QUERIES = [
    ("Antecedentes", "{topic}: contexto y antecedentes", ""),
    ("Avances del Perú", "{topic}: acciones, avances e implementación en el Perú",
     "implementó implementación avance logró realizó desarrolló aprobó estrategia programa acción brindado"),
    ("Desafíos y limitaciones", "{topic}: dificultades, desafíos y limitaciones",
     "dificultad desafío limitación reto falta problema insuficiente brecha"),
    ("Recomendaciones", "{topic}: propuestas y recomendaciones para el fortalecimiento",
     "propuesta propone recomienda recomendación fortalecimiento fortalecer sugiere conveniente necesario"),
]


@dataclass
class NoteSection:
    title: str
    statements: list[tuple[str, list[int]]] = field(default_factory=list)  # (text, citation numbers)
    empty_reason: str = ""


class CitedDocument(Protocol):
    """What the exporter writes: a title, «label: value» lines under it, sections of cited statements, sources."""

    title: str
    meta_lines: list[tuple[str, str]]
    sections: list[NoteSection]
    sources: list[Citation]


@dataclass
class BriefingNote:
    topic: str
    kind: str
    audience: str
    issued: date
    sections: list[NoteSection]
    sources: list[Citation]

    @property
    def title(self) -> str:
        return f"{FORMATS.get(self.kind, 'Nota')}: {self.topic}"

    @property
    def meta_lines(self) -> list[tuple[str, str]]:
        return [("Fecha", self.issued.isoformat()), *([("Destinatario", self.audience)] if self.audience else [])]


class Numbering:
    """Global citation numbers across sections: the same passage and quote keep one number."""

    def __init__(self):
        self.sources: list[Citation] = []
        self._index: dict[tuple[str, str], int] = {}

    def used(self, citation: Citation) -> bool:
        return (citation.chunk_id, citation.quote) in self._index

    def number(self, citation: Citation) -> int:
        key = (citation.chunk_id, citation.quote)
        if key not in self._index:
            citation.n = len(self.sources) + 1
            self.sources.append(citation)
            self._index[key] = citation.n
        return self._index[key]


def _focus_filters(pmm: list[int], ejes: list[int]) -> Filters | None:
    if not pmm and not ejes:
        return None
    return Filters(pmm_objectives=list(pmm), pnm_ejes=list(ejes))


def topic_objectives(assistant: Assistant, topic: str, limit: int = 2) -> list[int]:
    """The PMM objectives a topic is most about, when the user named none: those whose catalog title shares
    the topic's words, and those the topic's best passages are tagged with, weighted by rank (a passage
    about many objectives counts for little). Objectives far behind the first are left out."""
    from collections import Counter

    query = understand(topic, [], assistant.catalog, assistant.settings.app.language)
    weight: Counter[int] = Counter()
    stems = content_stems(topic)
    for n, objective in assistant.catalog.objectives.items():
        shared = stems & content_stems(f"{objective.title_es} {objective.short_es}")
        if stems and shared:
            weight[n] += len(shared) / len(stems)
    for rank, passage in enumerate(assistant.retriever.retrieve(query).passages[:8]):
        objectives = passage.chunk.refs.pmm
        for n in objectives:
            weight[n] += 1 / (rank + 1) / len(objectives)
    ranked = weight.most_common(limit)
    return [n for n, w in ranked if w >= ranked[0][1] / 2]


def _normative_section(assistant: Assistant, pmm: list[int], ejes: list[int], numbering: Numbering,
                       per_item: int) -> NoteSection:
    """Marco normativo: the PMM objectives and PNM lineamientos in focus, each backed by its own text."""
    section = NoteSection("Marco normativo: objetivos del PMM y lineamientos de la PNM")
    catalog = assistant.catalog
    lineamientos = [lin for e in ejes for lin in catalog.ejes[e].lineamientos] if ejes else []
    if pmm and not lineamientos:
        lineamientos = [lin for e in catalog.ejes.values() for lin in e.lineamientos
                        if set(lin.pmm_objectives) & set(pmm)]
    for n in pmm:
        obj = catalog.objectives.get(n)
        if obj is None:
            continue
        normative = assistant.supported_sentences(f"Objective {n}: {obj.title_en}",
                                                  Filters(doc_ids=["gcm_2018_en"], pmm_objectives=[n]),
                                                  max_sentences=1, require_answerable=False)
        for text, citation in normative[:1]:
            section.statements.append((f"Objetivo {n} del PMM ({obj.title_es.rstrip('.')}), texto del Pacto: {text}",
                                       [numbering.number(citation)]))
        found = assistant.supported_sentences(f"Objetivo {n} del PMM: {obj.title_es}", Filters(pmm_objectives=[n]),
                                              max_sentences=per_item)
        for text, citation in found[:per_item]:
            section.statements.append((f"Objetivo {n} del PMM ({obj.short_es}): {text}", [numbering.number(citation)]))
    for lin in lineamientos[:6]:
        found = assistant.supported_sentences(f"lineamiento {lin.number} del eje {lin.eje} de la PNM: {lin.title_es}",
                                              Filters(pnm_ejes=[lin.eje]), max_sentences=1)
        for text, citation in found:
            section.statements.append((f"PNM, Eje {lin.eje}, Lineamiento {lin.number} ({lin.short_es or lin.title_es}): "
                                       f"{text}", [numbering.number(citation)]))
    if not section.statements:
        section.empty_reason = "Sin objetivos ni lineamientos en foco, o sin pasajes que los respalden."
    return section


def build_note(assistant: Assistant, topic: str, pmm: list[int] | None = None, ejes: list[int] | None = None,
               audience: str = "", length: str = "media", kind: str = "ayuda_memoria") -> BriefingNote:
    """Assemble a cited briefing note on a topic; sections the corpus cannot fill say so."""
    topic = re.sub(r"\s+", " ", topic or "").strip()
    if not topic:
        raise ValueError("El tema de la nota está vacío.")
    pmm = sorted(set(pmm or []))
    ejes = sorted(set(ejes or []))
    per_section = LENGTHS.get(length, 3)
    numbering = Numbering()
    filters = _focus_filters(pmm, ejes)
    sections: list[NoteSection] = []
    for title, template, keywords in SECTION_QUERIES:
        section = NoteSection(title)
        required = content_stems(keywords)
        for scope in ([filters, None] if filters is not None else [None]):
            found = assistant.supported_sentences(template.format(topic=topic), scope, require_answerable=not required)
            for text, citation in found:
                if len(section.statements) >= per_section or numbering.used(citation):
                    continue
                if required and not required & content_stems(text):
                    continue
                section.statements.append((text, [numbering.number(citation)]))
            if section.statements:
                break
        if not section.statements:
            section.empty_reason = "El corpus no contiene información suficiente para esta sección."
        sections.append(section)
    # Without a focus, the framework is that of the objectives the topic's passages are about.
    framework = pmm if (pmm or ejes) else topic_objectives(assistant, topic)
    sections.insert(1, _normative_section(assistant, framework, ejes, numbering, max(1, per_section - 1)))
    return BriefingNote(topic=topic, kind=kind, audience=audience, issued=date.today(), sections=sections,
                        sources=numbering.sources)


def to_markdown(note: CitedDocument) -> str:
    lines = [f"# {note.title}", "", *[f"{label}: {value}" for label, value in note.meta_lines]]
    for section in note.sections:
        lines += ["", f"## {section.title}", ""]
        if not section.statements:
            lines.append(f"_{section.empty_reason}_")
        for text, numbers in section.statements:
            text = re.sub(r"^(\d+)\.(?=\s)", r"\1\\.", text)  # «2. Peruanos…» (a table row) is no nested list
            lines.append(f"- {text} " + "".join(f"[{n}]" for n in numbers))
    lines += ["", "## Fuentes", ""]
    for c in note.sources:
        lines.append(f"{c.n}. {c.label}. «{c.quote}»")
    return "\n".join(lines) + "\n"


def to_docx(note: CitedDocument, path: Path) -> Path:
    from docx import Document
    from docx.shared import Pt

    doc = Document()
    doc.core_properties.title = note.title
    doc.add_heading(note.title, level=0)
    meta = doc.add_paragraph()
    for i, (label, value) in enumerate(note.meta_lines):
        meta.add_run(("\n" if i else "") + f"{label}: ").bold = True
        meta.add_run(value)
    for section in note.sections:
        doc.add_heading(section.title, level=1)
        if not section.statements:
            doc.add_paragraph().add_run(section.empty_reason).italic = True
        for text, numbers in section.statements:
            paragraph = doc.add_paragraph(style="List Bullet")
            paragraph.add_run(text + " ")
            ref = paragraph.add_run("".join(f"[{n}]" for n in numbers))
            ref.font.superscript = True
    doc.add_heading("Fuentes", level=1)
    for c in note.sources:
        paragraph = doc.add_paragraph(style="List Number")
        paragraph.add_run(f"[{c.n}] {c.label}. ").bold = True
        quote = paragraph.add_run(f"«{c.quote}»")
        quote.italic = True
        quote.font.size = Pt(9)
    path.parent.mkdir(parents=True, exist_ok=True)
    doc.save(str(path))
    return path


def export(note: CitedDocument, path: Path) -> Path:
    """Write the note (or any cited document) as .docx or .md, by the file's suffix."""
    if path.suffix.lower() == ".docx":
        return to_docx(note, path)
    if path.suffix.lower() in {".md", ".markdown"}:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(to_markdown(note), encoding="utf-8")
        return path
    raise ValueError(f"Formato no admitido: {path.suffix or 'sin extensión'} (use .docx o .md)")
