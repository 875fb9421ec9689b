"""Citation labels: what a passage is (PMM objective, PNM lineamiento, finding, table, GCM action) and where
it is (document, chapter, section, printed page), from the catalog and the chunk's metadata.
"""

from __future__ import annotations

import re
from dataclasses import replace

from assistant.types import Citation
from indexer.catalog import Catalog
from indexer.stores import StoredDocument
from indexer.tagging import tag_section_path
from indexer.types import Chunk, References


def _pages(chunk: Chunk, language: str) -> str:
    if chunk.page is None:
        return ""
    p = "p." if language == "es" else "p."
    if chunk.page_end and chunk.page_end != chunk.page:
        return f"pp. {chunk.page}–{chunk.page_end}"
    return f"{p} {chunk.page}"


def _chapter(path: list[str]) -> str:
    if not path:
        return ""
    m = re.match(r"^CAP[IÍ]TULO\s+([IVXLC]+)", path[0], re.I)
    return f"Cap. {m.group(1)}" if m else path[0].title() if path[0].isupper() else path[0]


def reference_labels(chunk: Chunk, catalog: Catalog, language: str) -> list[str]:
    """Catalog labels of what the passage is about: from its place in the document first."""
    structural = tag_section_path(chunk.section_path, catalog)
    labels: list[str] = []
    pmm = structural.pmm or (chunk.refs.pmm if len(chunk.refs.pmm) <= 2 else [])
    for n in pmm[:2]:
        labels.append(catalog.objective_label(n, "es" if chunk.doc_id != "gcm_2018_en" else language))
    lineamientos = structural.pnm_lineamientos or (chunk.refs.pnm_lineamientos if len(chunk.refs.pnm_lineamientos) <= 2
                                                   else [])
    for code in lineamientos[:2]:
        labels.append(catalog.lineamiento_label(code))
    if not lineamientos and len(structural.pnm_ejes) == 1:
        labels.append(catalog.eje_label(structural.pnm_ejes[0]))
    return labels


def location_label(chunk: Chunk, document: StoredDocument | None, language: str) -> str:
    label = _location(chunk, document, language)
    if chunk.attrs.get("ocr"):  # the reader should know the words were recognised from a scan
        label += " (texto reconocido por OCR)" if language == "es" else " (text recognised by OCR)"
    return label


def _location(chunk: Chunk, document: StoredDocument | None, language: str) -> str:
    citation = (document.meta.get("citation") if document else "") or (document.title if document else chunk.doc_id)
    attrs = chunk.attrs
    if attrs.get("normative_label"):  # «Decreto Supremo N° 031-2026-RE, Artículo 3, p. 1»
        pages = _pages(chunk, language)
        return f"{citation}, {attrs['normative_label']}" + (f", {pages}" if pages else "")
    if attrs.get("gcm_objective"):
        action = f", action ({attrs['gcm_action']})" if attrs.get("gcm_action") else ""
        return f"{citation}, Objective {attrs['gcm_objective']}{action}"
    if attrs.get("finding_label"):
        return f"{citation}, {attrs['finding_label']}"
    if attrs.get("table_number"):
        pages = _pages(chunk, language)
        return f"{citation}, Tabla {attrs['table_number']}" + (f", {pages}" if pages else "")
    parts = [citation]
    chapter = _chapter(chunk.section_path)
    if chapter and len(chunk.section_path) > 1:
        parts.append(chapter)
    if chunk.section_path:
        parts.append(f"«{chunk.section_path[-1]}»")
    pages = _pages(chunk, language)
    if pages:
        parts.append(pages)
    return ", ".join(parts)


def make_citation(n: int, chunk: Chunk, quote: str, catalog: Catalog, document: StoredDocument | None,
                  language: str, about: References | None = None) -> Citation:
    """`about`: the references the quote is about, when its chunk names more (a row of a table of objectives)."""
    if quote not in chunk.text:
        raise ValueError(f"quote not verbatim in chunk {chunk.id}: {quote[:60]!r}")
    labels = reference_labels(replace(chunk, refs=about) if about else chunk, catalog, language)
    location = location_label(chunk, document, language)
    return Citation(n=n, label=" · ".join([*labels[:1], location]), doc_id=chunk.doc_id, chunk_id=chunk.id,
                    section=chunk.section, page=chunk.page, quote=quote,
                    document_title=document.title if document else chunk.doc_id, labels=[*labels, location])
