"""Word (.docx, python-docx) and saved web pages (.html, the standard library's parser) as elements:
headings with their level, paragraphs, list items and tables (header row first), plus the document's title.

A web page's navigation, header, footer, scripts and styles are not content and are skipped.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

from indexer.types import Element

_SPACES = re.compile(r"\s+")


def _clean(text: str) -> str:
    return _SPACES.sub(" ", text.replace("\u00a0", " ")).strip()


# --- Word -------------------------------------------------------------------------------------------

def _docx_rows(table) -> list[list[str]]:
    rows = []
    for row in table.rows:
        cells, seen = [], set()
        for cell in row.cells:  # a merged cell is returned once per grid column it spans: read it once
            if id(cell._tc) in seen:
                continue
            seen.add(id(cell._tc))
            cells.append(_clean(cell.text))
        if any(cells):
            rows.append(cells)
    return rows


def _heading_level(style_name: str) -> int | None:
    name = style_name.lower()
    if name == "title":
        return 1
    m = re.match(r"^(heading|título|titulo|encabezado)\s*(\d)$", name)
    return int(m.group(2)) if m else None


def _is_list(paragraph) -> bool:
    style = (paragraph.style.name if paragraph.style is not None else "").lower()
    ppr = paragraph._p.pPr
    return style.startswith(("list", "lista")) or (ppr is not None and ppr.numPr is not None)


def read_docx(path: Path) -> tuple[list[Element], str]:
    """(elements, title) of a Word file; the title from its properties, else its first heading."""
    import docx
    from docx.table import Table

    document = docx.Document(str(path))
    elements: list[Element] = []
    for item in document.iter_inner_content():
        if isinstance(item, Table):
            rows = _docx_rows(item)
            if rows:
                elements.append(Element("table", "", rows=rows))
            continue
        text = _clean(item.text)
        if not text:
            continue
        level = _heading_level(item.style.name if item.style is not None else "")
        if level is not None:
            elements.append(Element("heading", text, level=level))
        elif _is_list(item):
            elements.append(Element("list_item", text))
        else:
            elements.append(Element("paragraph", text))
    title = _clean(document.core_properties.title or "")
    return elements, title


# --- HTML -------------------------------------------------------------------------------------------

_SKIP = {"script", "style", "nav", "header", "footer", "aside", "form", "noscript", "template", "svg", "button",
         "select", "iframe"}
_BLOCKS = {"p", "div", "section", "article", "main", "blockquote", "pre", "dd", "dt", "figcaption", "address",
           "body"}


class _PageParser(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.elements: list[Element] = []
        self.title = ""
        self.skip = 0
        self.text: list[str] = []
        self.kind = "paragraph"
        self.level = 0
        self.in_title = False
        self.table: list[list[str]] | None = None
        self.caption = ""
        self.cell: list[str] | None = None
        self.in_caption = False

    def _flush(self) -> None:
        text = _clean("".join(self.text))
        self.text = []
        if text:
            self.elements.append(Element(self.kind, text, level=self.level))
        self.kind, self.level = "paragraph", 0

    def handle_starttag(self, tag, attrs):
        if tag in _SKIP:
            self.skip += 1
            return
        if self.skip:
            return
        if tag == "title":
            self.in_title = True
        elif tag == "table":
            self._flush()
            self.table, self.caption = [], ""
        elif tag == "caption" and self.table is not None:
            self.in_caption = True
        elif tag == "tr" and self.table is not None:
            self.table.append([])
        elif tag in {"td", "th"} and self.table is not None:
            self.cell = []
        elif self.table is not None:
            return
        elif re.fullmatch(r"h[1-6]", tag):
            self._flush()
            self.kind, self.level = "heading", int(tag[1])
        elif tag == "li":
            self._flush()
            self.kind = "list_item"
        elif tag in _BLOCKS:
            self._flush()
        elif tag == "br":
            self.text.append(" ")

    def handle_endtag(self, tag):
        if tag in _SKIP:
            self.skip = max(0, self.skip - 1)
            return
        if self.skip:
            return
        if tag == "title":
            self.in_title = False
        elif tag == "caption":
            self.in_caption = False
        elif tag in {"td", "th"} and self.cell is not None and self.table is not None:
            if not self.table:
                self.table.append([])
            self.table[-1].append(_clean("".join(self.cell)))
            self.cell = None
        elif tag == "table" and self.table is not None:
            rows = [r for r in self.table if any(r)]
            if rows:
                self.elements.append(Element("table", _clean(self.caption), rows=rows))
            self.table = None
        elif self.table is None and (re.fullmatch(r"h[1-6]", tag) or tag in _BLOCKS or tag == "li"):
            self._flush()

    def handle_data(self, data):
        if self.skip:
            return
        if self.in_title:
            self.title += data
        elif self.in_caption:
            self.caption += data
        elif self.cell is not None:
            self.cell.append(data)
        elif self.table is None:
            self.text.append(data)


def read_html(raw: str) -> tuple[list[Element], str]:
    """(elements, title) of a saved web page; the title from its first <h1>, else its <title>."""
    parser = _PageParser()
    parser.feed(raw)
    parser.close()
    parser._flush()
    first_h1 = next((e.text for e in parser.elements if e.kind == "heading" and e.level == 1), "")
    return parser.elements, first_h1 or _clean(parser.title)
