"""Sections of read documents (PDF, Word, HTML): elements → blocks with their section path.

Headings come from the reader (Word styles, <h1>…<h6>, bold lines of a PDF) and from the normative
structure of decrees, laws and policies, wherever it appears: «Título I», «Capítulo II», «Artículo 3.-»,
«Disposiciones complementarias finales» (and their «Primera.-»), «Lineamiento 4», «Anexo 1». A block
under an article carries `normative_label` («Artículo 3») so that its citation names it.
Tables become blocks of kind "table" shaped as the thesis tables (caption, header, rows).
"""

from __future__ import annotations

import re

from indexer.chunking import continues_paragraph
from indexer.tagging import fold
from indexer.types import Block, Element

_ROMAN = r"[IVXLC]+|\d{1,3}|PRELIMINAR|[ÚU]NICO"
_LEVELS = [  # (pattern on the start of a heading or paragraph, level, label builder)
    (re.compile(rf"^T[ÍI]TULO\s+({_ROMAN})\b", re.I), 1, lambda m: f"Título {m.group(1).upper()}"),
    (re.compile(r"^DISPOSICI[OÓ]N(?:ES)?\s+COMPLEMENTARIAS?\s+(FINAL|FINALES|TRANSITORIAS?|MODIFICATORIAS?|"
                r"DEROGATORIAS?)\b", re.I), 1, lambda m: "disposiciones"),
    (re.compile(r"^ANEXO\s*(\d{1,3}|[IVXLC]+|[ÚU]NICO)?\b", re.I), 1, lambda m: "Anexo" + (f" {m.group(1)}"
                                                                                        if m.group(1) else "")),
    (re.compile(rf"^CAP[ÍI]TULO\s+({_ROMAN})\b", re.I), 2, lambda m: f"Capítulo {m.group(1).upper()}"),
    (re.compile(r"^Art[íi]culo\s+(\d{1,3})\s*[°º]?(?=[\s.:\-–—]|$)", re.I), 3, lambda m: f"Artículo {int(m.group(1))}"),
    (re.compile(r"^Lineamiento\s+(\d{1,2}(?:\.\d{1,2})?)\b", re.I), 3, lambda m: f"Lineamiento {m.group(1)}"),
]
_ORDINAL = re.compile(r"^(Primera|Segunda|Tercera|Cuarta|Quinta|Sexta|S[ée]ptima|Octava|Novena|D[ée]cima|[ÚU]nica)"
                      r"\s*\.?\s*[-–—]", re.I)
_TABLE_CAPTION = re.compile(r"^(?:Tabla|Cuadro|Table)\s+(?:N[°º.]?\s*)?(\d{1,3})\b\s*[.:\-–—]?\s*(.*)$", re.I)
_MAX_HEADING = 160


def _normative(text: str) -> tuple[int, str] | None:
    """(level, label) when a text opens a normative unit («disposiciones» for a block of dispositions)."""
    for pattern, level, label in _LEVELS:
        if m := pattern.match(text):
            return level, label(m)
    return None


class SectionTracker:
    """The open headings (level, title, normative label) above the current element."""

    def __init__(self) -> None:
        self.levels: list[tuple[int, str, str]] = []

    def open(self, level: int, title: str, label: str = "") -> None:
        self.levels = [lv for lv in self.levels if lv[0] < level] + [(level, title, label)]

    @property
    def path(self) -> tuple[str, ...]:
        return tuple(t for _, t, _ in self.levels)

    @property
    def label(self) -> str:
        return next((lb for _, _, lb in reversed(self.levels) if lb), "")


def _heading_level(element: Element, normative: tuple[int, str] | None) -> int:
    if normative:
        return normative[0]
    if element.level:
        return min(element.level, 6) + 3  # the reader's own outline sits below the normative levels
    return 4


def _table_block(element: Element, path: tuple[str, ...], label: str, count: int) -> Block:
    rows = [list(r) for r in element.rows]
    header, body = rows[0], rows[1:]
    caption = element.text.strip()
    attrs: dict = {"header": header, "rows": body, "note": "", "labelled_rows": True}
    if m := _TABLE_CAPTION.match(caption):
        attrs.update(table_number=int(m.group(1)), table_title=m.group(2).strip())
    if not caption:
        where = f"p. {element.page}" if element.page is not None else (path[-1] if path else "")
        caption = f"Tabla {count}" + (f" ({where})" if where else "")
    attrs["table_caption"] = caption
    annex = re.match(r"^(Anexo|Annex)\s+(\d{1,3}|[IVXLC]+)\b", caption, re.I)
    if label or annex:
        attrs["normative_label"] = label or f"{annex.group(1).capitalize()} {annex.group(2)}"
    if element.ocr:
        attrs["ocr"] = True
    block = Block("table", caption, path, page=element.page, page_end=element.page, attrs=attrs)
    if "table_number" in attrs:
        block.refs.tables.append(attrs["table_number"])
    return block


def parse_elements(elements: list[Element], title: str = "") -> list[Block]:
    """Blocks with their section path; paragraphs, list items and footnotes kept apart. A heading that
    repeats the document's title opens no section (the citation names the document already)."""
    sections = SectionTracker()
    title_key = fold(title).strip()
    blocks: list[Block] = []
    tables = 0
    in_dispositions = False
    for element in elements:
        text = element.text.strip()
        if element.kind == "table":
            if element.rows:
                tables += 1
                previous = blocks[-1] if blocks else None
                if not text and previous is not None and previous.kind == "body" and previous.page == element.page \
                        and _TABLE_CAPTION.match(previous.text) and len(previous.text) <= _MAX_HEADING:
                    element = Element("table", blocks.pop().text, page=element.page, rows=element.rows, ocr=element.ocr)
                blocks.append(_table_block(element, sections.path, sections.label, tables))
            continue
        if not text:
            continue
        normative = _normative(text)
        is_heading = element.kind == "heading" or (normative is not None and len(text) <= 60
                                                   and element.kind == "paragraph" and not text.endswith("."))
        if is_heading and title_key and fold(text).strip() == title_key:
            blocks.append(Block("body", text, sections.path, page=element.page, page_end=element.page))
            continue
        if is_heading and len(text) <= _MAX_HEADING:
            level = _heading_level(element, normative)
            label = normative[1] if normative and normative[0] == 3 else ""
            sections.open(level, text, label)
            in_dispositions = (normative is not None and normative[1] == "disposiciones") or \
                (in_dispositions and level > 1)
            continue
        if normative and normative[0] == 3:  # «Artículo 3.- Objeto. La presente…»: the article opens here
            sections.open(3, normative[1], normative[1])
        elif in_dispositions and (m := _ORDINAL.match(text)):
            top = next((t for lv, t, _ in sections.levels if lv == 1), "Disposición complementaria")
            ordinal = m.group(1).capitalize()
            sections.open(3, ordinal, f"{ordinal} {_singular(top)}")
        path = sections.path
        attrs: dict = {}
        if sections.label and element.kind != "footnote":
            attrs["normative_label"] = sections.label
        if element.ocr:
            attrs["ocr"] = True
        if element.kind == "footnote":
            path = ("Notas al pie",)
            attrs["footnote"] = True
        elif element.kind == "list_item":
            attrs["list_item"] = True
        elif (cut := _cut_by_page_break(blocks, path, element)) is not None:
            cut.text = f"{cut.text} {text}"
            cut.page_end = element.page
            continue
        blocks.append(Block("body", text, path, page=element.page, page_end=element.page, attrs=attrs))
    return blocks


def _cut_by_page_break(blocks: list[Block], path: tuple[str, ...], element: Element) -> Block | None:
    """The paragraph of the page before that this one goes on with (`continues_paragraph`: «…que gobierne los» |
    «Estados. En ese sentido…»), its footnotes between them aside; None when it starts a paragraph of its own."""
    previous = next((b for b in reversed(blocks) if not b.attrs.get("footnote")), None)
    if previous is None or previous.kind != "body" or previous.attrs.get("list_item") or \
            previous.section_path != path or element.page is None or previous.page_end is None or \
            element.page != previous.page_end + 1:
        return None
    return previous if continues_paragraph(previous.text, element.text.strip()) else None


def _singular(heading: str) -> str:
    """«DISPOSICIONES COMPLEMENTARIAS FINALES» → «disposición complementaria final»."""
    folded = heading.lower()
    folded = folded.replace("disposiciones", "disposición").replace("complementarias", "complementaria")
    return re.sub(r"\b(final|transitoria|modificatoria|derogatoria)(?:e?s)\b", r"\1", folded)
