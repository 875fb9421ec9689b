"""Layout of PDF pages: what a reader sees, in the order a reader reads it (pdfplumber words with boxes).

- lines are rebuilt from words and cut where a wide gap separates two columns; a page with a clear gutter
  is read column by column (full-width lines such as a title stay where they are);
- running headers and footers (a line at the top or bottom of most pages, digits aside) and page numbers
  are dropped, so they never reach a chunk, while each page keeps its number;
- hyphenated line ends are joined; footnotes (small type at the foot of the page) become their own
  elements, apart from the body;
- ruled tables (pdfplumber's line strategy) become table elements with their caption, header and rows;
- pages without a text layer are handed to OCR (indexer.ocr) by the caller.
"""

from __future__ import annotations

import re
import statistics
from collections import Counter
from dataclasses import dataclass, field

from indexer.chunking import TERMINAL
from indexer.tagging import fold
from indexer.types import Element

_PAGE_NUMBER = re.compile(r"^(?:[-–—]\s*)?(?:p[aá]g(?:ina)?\.?\s*)?\d{1,4}(?:\s*(?:de|/|of)\s*\d{1,4})?(?:\s*[-–—])?$",
                          re.I)
_CAPTION = re.compile(r"^(Tabla|Cuadro|Table|Anexo|Annex|Gr[aá]fico)\b", re.I)
_FOOTNOTE_START = re.compile(r"^(\d{1,3}|\*{1,3}|[¹²³⁴⁵⁶⁷⁸⁹⁰]+)\s*\S")
MARGIN_SHARE = 0.1  # running headers and footers sit in the top and bottom tenth of the page


@dataclass
class Line:
    """Words on one baseline that belong together (a gutter or a wide gap separates two lines)."""

    text: str
    x0: float
    x1: float
    top: float
    bottom: float
    size: float
    bold: bool
    table: Element | None = None


@dataclass
class PageText:
    """One page as read: its lines in reading order (tables as lines carrying the table element)."""

    number: int | None
    width: float
    height: float
    lines: list[Line] = field(default_factory=list)
    needs_ocr: bool = False


def _lines_of(words: list[dict]) -> list[Line]:
    rows: list[list[dict]] = []
    for word in sorted(words, key=lambda w: (round(w["top"]), w["x0"])):
        if rows and abs(word["top"] - rows[-1][0]["top"]) <= max(2.0, 0.3 * word["size"]):
            rows[-1].append(word)
        else:
            rows.append([word])
    lines: list[Line] = []
    for row in rows:
        row.sort(key=lambda w: w["x0"])
        pieces: list[list[dict]] = [[row[0]]]
        for word in row[1:]:
            if word["x0"] - pieces[-1][-1]["x1"] > 1.5 * word["size"]:
                pieces.append([word])
            else:
                pieces[-1].append(word)
        for piece in pieces:
            lines.append(Line(
                text=" ".join(w["text"] for w in piece), x0=piece[0]["x0"], x1=piece[-1]["x1"],
                top=min(w["top"] for w in piece), bottom=max(w["bottom"] for w in piece),
                size=statistics.median(w["size"] for w in piece),
                bold=all("bold" in w.get("fontname", "").lower() for w in piece)))
    return lines


def _gutter(lines: list[Line], width: float) -> float | None:
    """The x of a column gutter: crossed by few lines, with enough lines wholly on either side."""
    body = [ln for ln in lines if ln.table is None]
    if len(body) < 8:
        return None
    need = max(3, len(body) // 5)
    best: tuple[int, int, float] | None = None
    for x in range(int(width * 0.3), int(width * 0.7), 2):
        crossing = sum(1 for ln in body if ln.x0 < x < ln.x1)
        left = sum(1 for ln in body if ln.x1 <= x)
        right = sum(1 for ln in body if ln.x0 >= x)
        if left < need or right < need or crossing > max(3, len(body) * 0.25):
            continue
        key = (crossing, -min(left, right), x)
        if best is None or key < best:
            best = key
    return best[2] if best else None


def reading_order(lines: list[Line], width: float) -> list[Line]:
    """Top to bottom; where there is a gutter, the left column before the right one, band by band."""
    ordered = sorted(lines, key=lambda ln: (ln.top, ln.x0))
    gutter = _gutter(lines, width)
    if gutter is None:
        return ordered
    out: list[Line] = []
    left: list[Line] = []
    right: list[Line] = []
    for line in ordered:
        if line.x0 < gutter < line.x1:
            out += left + right
            left, right = [], []
            out.append(line)
        elif line.x1 <= gutter:
            left.append(line)
        else:
            right.append(line)
    return out + left + right


def _margin_key(text: str) -> str:
    return re.sub(r"\d+", "#", re.sub(r"\s+", " ", fold(text))).strip()


def drop_running_lines(pages: list[PageText]) -> None:
    """Remove running headers, footers and page numbers; a page never loses its only text."""
    def in_margin(page: PageText, line: Line) -> bool:
        return line.table is None and (line.top < page.height * MARGIN_SHARE
                                       or line.bottom > page.height * (1 - MARGIN_SHARE))

    with_text = [p for p in pages if p.lines]
    seen: Counter = Counter()
    for page in with_text:
        seen.update({_margin_key(ln.text) for ln in page.lines if in_margin(page, ln)})
    repeated = {k for k, n in seen.items() if n >= 2 and n >= 0.5 * len(with_text)}
    for page in with_text:
        running = [ln for ln in page.lines if in_margin(page, ln)
                   and (_margin_key(ln.text) in repeated or _PAGE_NUMBER.match(ln.text.strip()))]
        if running and len(running) < len(page.lines):
            page.lines = [ln for ln in page.lines if not any(ln is r for r in running)]


def join_lines(previous: str, line: str) -> str:
    """Join a line to the text before it; «consu-» + «lares» gives «consulares»."""
    if re.search(r"[^\W\d_]-$", previous) and line[:1].islower():
        return previous[:-1] + line
    return f"{previous} {line}" if previous else line


def _body_size(lines: list[Line]) -> float:
    sizes = Counter()
    for ln in lines:
        if ln.table is None:
            sizes[round(ln.size, 1)] += len(ln.text)
    return sizes.most_common(1)[0][0] if sizes else 10.0


def _footnote_start(page: PageText, lines: list[Line], body: float) -> int | None:
    """Index (in reading order) of the first footnote line: small type in the lower part of the page."""
    for i, line in enumerate(lines):
        if (line.table is None and line.size <= 0.85 * body and line.top > page.height * 0.55
                and _FOOTNOTE_START.match(line.text) and all(ln.size <= 0.85 * body or ln.table is not None
                                                            for ln in lines[i:])):
            return i
    return None


def page_elements(page: PageText, body: float) -> list[Element]:
    """Headings, paragraphs, tables and footnotes of one page, in reading order."""
    lines = reading_order(page.lines, page.width)
    cut = _footnote_start(page, lines, body)
    body_lines, notes = (lines[:cut], lines[cut:]) if cut is not None else (lines, [])
    elements: list[Element] = []
    text = ""
    previous: Line | None = None

    def flush() -> None:
        nonlocal text
        if text.strip():
            elements.append(Element("paragraph", text.strip(), page=page.number))
        text = ""

    right_edge = max((ln.x1 for ln in body_lines if ln.table is None), default=page.width)
    for line in body_lines:
        if line.table is not None:
            flush()
            elements.append(line.table)
            previous = None
            continue
        heading = line.bold and len(line.text) < 160 and not line.text.endswith(",")
        if heading:
            if elements and elements[-1].kind == "heading" and previous is not None and previous.bold \
                    and line.top - previous.bottom < 0.8 * line.size and not text:
                elements[-1].text = join_lines(elements[-1].text, line.text)
            else:
                flush()
                elements.append(Element("heading", line.text, page=page.number))
            previous = line
            continue
        if previous is not None and not previous.bold and text:
            gap = line.top - previous.bottom
            column_jump = line.top < previous.top - 1
            short_end = previous.text.endswith(TERMINAL) and previous.x1 < min(right_edge, _column_right(
                previous, body_lines)) - 3 * previous.size
            if (column_jump and previous.text.endswith(TERMINAL)) or (not column_jump and gap > 0.6 * line.size) \
                    or short_end:
                flush()
        text = join_lines(text, line.text)
        previous = line
    flush()
    note = ""
    for line in notes:
        if _FOOTNOTE_START.match(line.text) and note:
            elements.append(Element("footnote", note, page=page.number))
            note = ""
        note = join_lines(note, line.text)
    if note:
        elements.append(Element("footnote", note, page=page.number))
    return elements


def _column_right(line: Line, lines: list[Line]) -> float:
    """The right edge of the column a line sits in: the widest reach of lines starting near its left edge."""
    return max((ln.x1 for ln in lines if ln.table is None and abs(ln.x0 - line.x0) < 40), default=line.x1)


def _clean_cell(cell: str | None) -> str:
    text = ""
    for part in (cell or "").split("\n"):
        text = join_lines(text, part.strip())
    return text.strip()


def _tables(plumber_page, number: int | None, lines: list[Line]) -> list[Line]:
    """The page's lines with its ruled tables in place of the words inside them (one table line each)."""
    found = []
    for table in plumber_page.find_tables():
        rows = [[_clean_cell(c) for c in row] for row in table.extract()]
        rows = [r for r in rows if any(r)]
        if len(rows) < 2 or max(len(r) for r in rows) < 2:
            continue
        for r, row in enumerate(rows[1:], 1):  # an empty first cell: a label cell merged over several rows
            if row and not row[0] and rows[r - 1]:
                row[0] = rows[r - 1][0]
        found.append((table.bbox, rows))
    if not found:
        return lines
    kept: list[Line] = []
    for line in lines:
        cx, cy = (line.x0 + line.x1) / 2, (line.top + line.bottom) / 2
        if not any(x0 <= cx <= x1 and top <= cy <= bottom for (x0, top, x1, bottom), _ in found):
            kept.append(line)
    out = []
    for (x0, top, x1, bottom), rows in found:
        above = [ln for ln in kept if ln.bottom <= top + 1 and top - ln.bottom < 3 * ln.size
                 and ln.x1 > x0 and ln.x0 < x1]
        caption = ""
        if above:
            nearest = max(above, key=lambda ln: ln.bottom)
            if _CAPTION.match(nearest.text) or nearest.bold:
                caption = nearest.text
                kept = [ln for ln in kept if ln is not nearest]
        element = Element("table", caption, page=number, rows=rows)
        out.append(Line(text=caption, x0=x0, x1=x1, top=top, bottom=bottom, size=10.0, bold=False, table=element))
    return kept + out


def read_page(plumber_page, number: int | None) -> PageText:
    words = plumber_page.extract_words(extra_attrs=["size", "fontname"])
    page = PageText(number=number, width=float(plumber_page.width), height=float(plumber_page.height))
    chars = sum(len(w["text"]) for w in words)
    area = page.width * page.height
    image_area = sum(max(0.0, (im["x1"] - im["x0"]) * (im["bottom"] - im["top"])) for im in plumber_page.images)
    if chars < 30 and (image_area >= 0.3 * area or (not words and plumber_page.images)):
        page.needs_ocr = True
        return page
    page.lines = _tables(plumber_page, number, _lines_of(words))
    return page


def title_candidate(page: PageText) -> str:
    """The largest type near the top of the first page, when it stands out from the body."""
    lines = [ln for ln in page.lines if ln.table is None and ln.top < page.height * 0.5]
    if not lines:
        return ""
    body = _body_size(page.lines)
    biggest = max(ln.size for ln in lines)
    if biggest < 1.2 * body:
        return ""
    top = [ln for ln in sorted(lines, key=lambda ln: ln.top) if ln.size >= biggest - 0.5]
    return " ".join(ln.text for ln in top[:3]).strip()


def body_size(pages: list[PageText]) -> float:
    return _body_size([ln for p in pages for ln in p.lines])
