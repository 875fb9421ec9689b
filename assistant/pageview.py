"""The cited source, one click away: for a PDF, the cited page rendered (pypdfium2) with the quoted words
highlighted from the page's own character boxes; for a text document, the passage within its section with
its printed page.

PDFium is not thread-safe: every call into it holds one lock (a page renders in ~50 ms; the rest of an
answer does not wait on it).
"""

from __future__ import annotations

import html
import io
import re
import threading
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from urllib.parse import quote as url_quote

from assistant.prompts import message
from indexer.corpus import resolve
from indexer.settings import IndexSettings
from indexer.stores import StoredDocument
from indexer.types import Chunk

_PDFIUM = threading.Lock()
RENDER_SCALE = 1.6
MIN_SEGMENT = 12  # characters of a quote that must match together to count as found on the page


@dataclass
class PageHighlight:
    """The page of a PDF a citation points to, and the quote's boxes on it as fractions of the page (left, top,
    width, height), top-left origin, one box per line."""

    index: int
    printed: int | None
    boxes: list[tuple[float, float, float, float]] = field(default_factory=list)


def source_path(settings: IndexSettings, document: StoredDocument) -> Path:
    return resolve(document.file, settings.corpus_dir, settings.uploads_dir)


def _fold(ch: str) -> str:
    """A character as matched: case and accents aside; spaces, line breaks and hyphens dropped (the text layer
    and the indexed text break lines and hyphenate differently)."""
    if ch.isspace() or ch in "-\u00ad\u2010\u2011\x02\ufffe":
        return ""
    return unicodedata.normalize("NFKD", ch.lower())[:1]


def _folded(text: str) -> tuple[str, list[int]]:
    chars, where = [], []
    for i, ch in enumerate(text):
        f = _fold(ch)
        if f:
            chars.append(f)
            where.append(i)
    return "".join(chars), where


def _match_spans(page_text: str, quote: str) -> list[tuple[int, int]]:
    """Character ranges of the page that spell the quote: the whole quote, or failing that its longest pieces
    in order (a quote cut at an extraction quirk is still shown)."""
    folded, where = _folded(page_text)
    target, _ = _folded(quote)
    spans: list[tuple[int, int]] = []
    start, rest = 0, target
    while len(rest) >= MIN_SEGMENT:
        lo, hi, found = MIN_SEGMENT, len(rest), -1
        while lo <= hi:  # the longest prefix of `rest` that occurs after `start`
            mid = (lo + hi) // 2
            at = folded.find(rest[:mid], start)
            if at >= 0:
                found, best, lo = at, mid, mid + 1
            else:
                hi = mid - 1
        if found < 0:
            rest = rest[1:]
            continue
        spans.append((where[found], where[found + best - 1] + 1))
        start, rest = found + best, rest[best:]
    return spans


def pdf_page_index(path: Path, printed: int | None) -> int:
    """The physical page of a printed page number, by the rule the indexer numbered the pages with."""
    from pypdf import PdfReader

    from indexer.loaders import _page_numbers

    if printed is None:
        return 0
    numbers = _page_numbers(PdfReader(str(path)))
    return numbers.index(printed) if printed in numbers else max(0, min(printed - 1, len(numbers) - 1))


def locate(path: Path, printed: int | None, quote: str) -> PageHighlight:
    import pypdfium2 as pdfium
    import pypdfium2.raw as pdfium_c

    index = pdf_page_index(path, printed)
    highlight = PageHighlight(index=index, printed=printed)
    with _PDFIUM:
        pdf = pdfium.PdfDocument(str(path))
        try:
            page = pdf[index]
            width, height = page.get_size()
            textpage = page.get_textpage()
            count = textpage.count_chars()
            text = "".join(chr(pdfium_c.FPDFText_GetUnicode(textpage.raw, i) or 32) for i in range(count))
            for begin, end in _match_spans(text, quote):
                line: list[float] | None = None
                for i in range(begin, end):
                    if text[i].isspace():
                        continue
                    # Loose boxes span the font's whole height, so that the boxes of one line align.
                    left, bottom, right, top = textpage.get_charbox(i, loose=True)
                    if line and line[1] < (bottom + top) / 2 < line[3] and left >= line[0] - 1:
                        line[2], line[3] = max(line[2], right), max(line[3], top)
                        continue
                    if line:
                        highlight.boxes.append(_fraction(line, width, height))
                    line = [left, bottom, right, top]
                if line:
                    highlight.boxes.append(_fraction(line, width, height))
        finally:
            pdf.close()
    return highlight


def _fraction(box: list[float], width: float, height: float) -> tuple[float, float, float, float]:
    left, bottom, right, top = box
    pad = 1.5
    return ((left - pad) / width, 1 - (top + pad) / height, (right - left + 2 * pad) / width,
            (top - bottom + 2 * pad) / height)


@lru_cache(maxsize=32)
def _render(path: str, mtime: float, index: int, scale: float) -> bytes:
    import pypdfium2 as pdfium

    with _PDFIUM:
        pdf = pdfium.PdfDocument(path)
        try:
            image = pdf[index].render(scale=scale).to_pil()
        finally:
            pdf.close()
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def render_page(path: Path, index: int, scale: float = RENDER_SCALE) -> bytes:
    """The page as a PNG (cached per file version)."""
    return _render(str(path), path.stat().st_mtime, index, scale)


_STYLE = ("body{font-family:system-ui,sans-serif;margin:1.5rem;max-width:70rem}"
          ".page{position:relative;display:inline-block;border:1px solid #999}.page img{display:block;max-width:100%}"
          ".hl{position:absolute;background:rgba(255,221,0,.45);outline:2px solid rgba(230,160,0,.9)}"
          "mark{background:#ffe066}blockquote{border-left:4px solid #ccc;margin:0;padding:.5rem 1rem;white-space:pre-wrap}")


def _head(document: StoredDocument, page: int | None, label: str, download: str, language: str) -> str:
    where = f" · p. {page}" if page else ""
    link = (f"<p><a id='download-original' href='{html.escape(download)}'>"
            f"{html.escape(message('ui_download_original', language))}</a></p>") if download else ""
    return (f"<!doctype html><html lang='{language}'><head><meta charset='utf-8'><title>{html.escape(document.title)}"
            f"</title><style>{_STYLE}</style></head><body><h1>{html.escape(document.title)}{where}</h1>"
            f"<p class='label'>{html.escape(label)}</p>{link}")


def pdf_page_html(document: StoredDocument, chunk: Chunk, quote: str, highlight: PageHighlight, image_url: str,
                  label: str, download: str, language: str) -> str:
    boxes = "".join(f"<div class='hl' style='left:{x * 100:.3f}%;top:{y * 100:.3f}%;width:{w * 100:.3f}%;"
                    f"height:{h * 100:.3f}%'></div>" for x, y, w, h in highlight.boxes)
    missing = "" if highlight.boxes else f"<p class='notice'>{html.escape(message('ui_quote_not_located', language))}</p>"
    return (_head(document, chunk.page, label, download, language) + missing
            + f"<blockquote>{html.escape(quote)}</blockquote><div class='page' data-boxes='{len(highlight.boxes)}'>"
            f"<img alt='p. {highlight.printed or highlight.index + 1}' src='{html.escape(image_url)}'>{boxes}</div>"
            "</body></html>")


def text_passage_html(document: StoredDocument, chunk: Chunk, section_chunks: list[Chunk], quote: str, label: str,
                      download: str, language: str) -> str:
    """The cited chunk among its neighbours of the same section, the quoted words marked."""
    parts = []
    for c in section_chunks or [chunk]:
        text = html.escape(c.text)
        if c.id == chunk.id and quote and quote in c.text:
            text = html.escape(c.text).replace(html.escape(quote), f"<mark>{html.escape(quote)}</mark>", 1)
        elif c.id == chunk.id:
            text = f"<mark>{text}</mark>"
        pages = f"<small>p. {c.page}</small>" if c.page else ""
        parts.append(f"<div class='chunk' id='{'cited' if c.id == chunk.id else html.escape(c.id)}'>{pages}"
                     f"<blockquote>{text}</blockquote></div>")
    section = " › ".join(chunk.section_path) or chunk.section
    return (_head(document, chunk.page, label, download, language)
            + f"<h2 class='section'>{html.escape(section)}</h2>" + "".join(parts) + "</body></html>")


def view_url(chunk_id: str, quote: str, label: str = "") -> str:
    """Where the citation viewer shows a chunk with a quote."""
    return f"/view/{url_quote(chunk_id, safe='')}?quote={url_quote(quote, safe='')}&label={url_quote(label, safe='')}"


def is_pdf(document: StoredDocument) -> bool:
    return bool(re.search(r"\.pdf$", document.file, re.I))
