"""Loaders: read a file into pages and elements, or fail with an error a person can act on.

Readers are chosen by file suffix behind one function, `load_file`; each returns `LoadedFile`:
- text and Markdown: the raw text (structure.py reads its layout);
- PDF: page by page through indexer.layout (columns, running headers out, tables, footnotes), pages
  without a text layer read by OCR (indexer.ocr), each page keeping its printed number;
- Word (.docx) and saved web pages (.html): headings, paragraphs, lists and tables (indexer.office).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

from indexer.settings import OcrSettings
from indexer.types import Element, FileProblem

TEXT_SUFFIXES = {".md", ".txt", ".markdown"}
PDF_SUFFIXES = {".pdf"}
WORD_SUFFIXES = {".docx"}
HTML_SUFFIXES = {".html", ".htm"}
SUPPORTED_SUFFIXES = TEXT_SUFFIXES | PDF_SUFFIXES | WORD_SUFFIXES | HTML_SUFFIXES
SUPPORTED_HINT = "use PDF, Word (.docx), HTML, .txt o .md"
MAX_FILE_BYTES = 200 * 1024 * 1024
MAX_TEXT_BYTES = 20 * 1024 * 1024  # ~5M tokens: hours of embedding on a laptop; such a file is a dump, not a document

logging.getLogger("pypdf").setLevel(logging.ERROR)
logging.getLogger("pdfminer").setLevel(logging.ERROR)


class LoadError(Exception):
    """A file that cannot be read; carries the problem to report."""

    def __init__(self, problem: FileProblem):
        super().__init__(problem.line())
        self.problem = problem

    def __reduce__(self):  # raised in a worker process, re-raised in the main one
        return (LoadError, (self.problem,))


@dataclass
class Page:
    number: int | None
    text: str


@dataclass
class LoadedFile:
    path: Path
    kind: str  # "text", "pdf", "docx" or "html"
    pages: list[Page]
    warnings: list[FileProblem] = field(default_factory=list)
    elements: list[Element] = field(default_factory=list)  # the read structure (all but text files)
    title: str = ""  # the document's own title (PDF metadata, Word properties, first heading)
    ocr_pages: list[int] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "\n\n".join(p.text for p in self.pages)


def _fail(path: Path, problem: str, hint: str = "", page: int | None = None) -> LoadError:
    return LoadError(FileProblem(file=path.name, problem=problem, hint=hint, page=page))


def decode_text(raw: bytes, path: Path) -> tuple[str, list[FileProblem]]:
    """Decode bytes as UTF-8 (with or without BOM) or UTF-16; Latin-1 as a reported fallback."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return raw.decode("utf-16"), []
        except UnicodeDecodeError:
            raise _fail(path, "texto UTF-16 dañado (caracteres inválidos)", "vuelva a guardarlo en UTF-8") from None
    if b"\x00" in raw[:4096]:
        raise _fail(path, "contiene bytes binarios, no es texto", "compruebe que el archivo no esté dañado")
    try:
        return raw.decode("utf-8-sig"), []
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
        note = FileProblem(path.name, "no es UTF-8; se leyó como Latin-1", "guárdelo en UTF-8 si ve caracteres extraños")
        return text, [note]


def load_text(path: Path) -> LoadedFile:
    raw = path.read_bytes()
    if not raw.strip():
        raise _fail(path, "el archivo está vacío", "añada un archivo con contenido")
    text, warnings = decode_text(raw, path)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise _fail(path, "el archivo no contiene texto", "añada un archivo con contenido")
    return LoadedFile(path=path, kind="text", pages=[Page(None, text)], warnings=warnings)


def _page_numbers(reader) -> list[int | None]:
    """Printed page numbers from the PDF's page labels where they are numeric, else the physical position."""
    count = len(reader.pages)
    try:
        labels = list(reader.page_labels)
    except Exception:  # malformed label trees are common; fall back to positions
        labels = []
    if len(labels) == count and all(label.isdigit() for label in labels):
        return [int(label) for label in labels]
    return list(range(1, count + 1))


_BAD_TITLES = re.compile(r"^(untitled|sin t[ií]tulo|documento\d*|microsoft word\b.*|.*\.(docx?|pdf|odt))$", re.I)


def _pdf_title(reader, path: Path) -> str:
    """The PDF's own title, unless it is a placeholder or merely the file name (as image-to-PDF tools write)."""
    try:
        title = str((reader.metadata or {}).get("/Title") or "").strip()
    except Exception:  # broken info dictionaries are common and never fatal
        return ""
    if _BAD_TITLES.match(title) or re.sub(r"\W+", "", title.lower()) == re.sub(r"\W+", "", path.stem.lower()):
        return ""
    return title


def _first_line_title(elements: list[Element]) -> str:
    """A short first paragraph without a final full stop («OFICIO N° 245-2026-RE/DGC») titles a document
    that has no heading (a scan)."""
    first = next((e for e in elements if e.kind in {"heading", "paragraph"}), None)
    if first is None or len(first.text) > 100 or first.text.endswith("."):
        return ""
    return first.text


def _ocr_pages(path: Path, pages: list, ocr: OcrSettings, language: str, progress: bool,
               warnings: list[FileProblem]) -> dict[int, list[Element]]:
    """Elements of the pages that need OCR, by page index; the problems go to `warnings`."""
    from indexer.ocr import OcrUnavailable, check_available, ocr_pdf_page, tesseract_language

    todo = [i for i, p in enumerate(pages) if p.needs_ocr]
    if not todo:
        return {}
    lang = tesseract_language(language)
    numbers = ", ".join(str(pages[i].number) for i in todo[:10]) + ("…" if len(todo) > 10 else "")
    if not ocr.enabled:
        warnings.append(FileProblem(path.name, f"{len(todo)} página(s) sin capa de texto (págs. {numbers})",
                                    "active el OCR (index.parsing.ocr.enabled) o pase el PDF por OCR"))
        return {}
    try:
        check_available(ocr, lang)
    except OcrUnavailable as exc:
        warnings.append(FileProblem(path.name, f"{len(todo)} página(s) escaneada(s) sin leer (págs. {numbers}): "
                                               "falta Tesseract para el OCR", str(exc)))
        return {}
    from tqdm import tqdm

    found: dict[int, list[Element]] = {}
    for i in tqdm(todo, desc=f"  OCR {path.name[:30]}", unit="pág", disable=not progress, leave=False):
        number = pages[i].number
        result = ocr_pdf_page(path, i, ocr, lang)
        found[i] = [Element("paragraph", text, page=number, ocr=True) for text in result.paragraphs]
        if found[i] and result.confidence < ocr.min_confidence:
            warnings.append(FileProblem(path.name, f"texto reconocido por OCR con confianza baja "
                                                   f"({result.confidence:.0f} %)",
                                        "revise esa página o añada un escaneo más nítido", page=number))
    return found


def _layout(path: Path, numbers: list[int | None], ocr: OcrSettings, language: str, progress: bool,
            warnings: list[FileProblem]) -> tuple[list[Page], list[Element], str, list[int]]:
    import pdfplumber

    from indexer import layout

    with pdfplumber.open(str(path)) as pdf:
        pages = []
        for number, plumber_page in zip(numbers, pdf.pages, strict=True):
            pages.append(layout.read_page(plumber_page, number))
            plumber_page.close()
    layout.drop_running_lines(pages)
    body = layout.body_size(pages)
    recognised = _ocr_pages(path, pages, ocr, language, progress, warnings)
    elements: list[Element] = []
    texts: list[Page] = []
    for i, page in enumerate(pages):
        own = recognised.get(i) if page.needs_ocr else layout.page_elements(page, body)
        own = own or []
        elements += own
        texts.append(Page(page.number, "\n".join(_element_text(e) for e in own)))
    title = next((layout.title_candidate(p) for p in pages if p.lines), "")
    return texts, elements, title, [pages[i].number for i in sorted(recognised) if recognised[i]]


def _element_text(element: Element) -> str:
    if element.kind == "table":
        return "\n".join([element.text, *(" | ".join(r) for r in element.rows)]).strip()
    return element.text


def load_pdf(path: Path, ocr: OcrSettings | None = None, language: str = "es", progress: bool = False) -> LoadedFile:
    from pdfminer.pdfparser import PDFSyntaxError
    from pdfminer.psexceptions import PSException
    from pypdf import PdfReader
    from pypdf.errors import DependencyError, FileNotDecryptedError, PdfReadError

    ocr = ocr or OcrSettings()
    if path.stat().st_size == 0:
        raise _fail(path, "el PDF está vacío (0 bytes)", "vuelva a descargar o exportar el documento")
    warnings: list[FileProblem] = []
    try:
        reader = PdfReader(str(path))
        if reader.is_encrypted and not reader.decrypt(""):
            raise _fail(path, "el PDF está cifrado con contraseña", "guárdelo sin protección y vuelva a añadirlo")
        numbers = _page_numbers(reader)
        if not numbers:
            raise _fail(path, "el PDF no tiene páginas", "vuelva a exportar el documento")
        meta_title = _pdf_title(reader, path)
        pages, elements, first_heading, ocr_pages = _layout(path, numbers, ocr, language, progress, warnings)
    except LoadError:
        raise
    except (FileNotDecryptedError, DependencyError):
        raise _fail(path, "el PDF está cifrado y no se puede leer", "guárdelo sin protección y vuelva a añadirlo") from None
    except (PdfReadError, PDFSyntaxError, PSException, ValueError, KeyError, TypeError, AttributeError,
            OSError) as exc:
        raise _fail(path, f"el PDF está dañado o no es un PDF válido ({type(exc).__name__})",
                    "ábralo y expórtelo de nuevo como PDF") from None
    if not any(p.text.strip() for p in pages):
        unread = next((w for w in warnings if "Tesseract" in w.problem), None)
        if unread is not None:
            raise _fail(path, f"el PDF no tiene capa de texto ({len(pages)} págs.) y falta Tesseract para leerlo por "
                              "OCR", unread.hint)
        raise _fail(path, f"el PDF no tiene capa de texto ({len(pages)} págs.) y el OCR no reconoció texto",
                    "compruebe que el escaneo sea legible o páselo por otro OCR (por ejemplo, ocrmypdf)")
    empty = [p.number for p in pages if not p.text.strip() and p.number not in ocr_pages]
    if empty and not any("sin capa de texto" in w.problem or "Tesseract" in w.problem for w in warnings):
        shown = ", ".join(str(n) for n in empty[:10]) + ("…" if len(empty) > 10 else "")
        warnings.append(FileProblem(path.name, f"{len(empty)} página(s) sin texto (págs. {shown})",
                                    "si deberían tener texto, revise el PDF"))
    return LoadedFile(path=path, kind="pdf", pages=pages, warnings=warnings, elements=elements,
                      title=meta_title or first_heading or _first_line_title(elements), ocr_pages=ocr_pages)


def load_docx(path: Path) -> LoadedFile:
    from zipfile import BadZipFile

    from docx.opc.exceptions import PackageNotFoundError

    from indexer.office import read_docx

    try:
        elements, title = read_docx(path)
    except (BadZipFile, PackageNotFoundError, KeyError, ValueError) as exc:
        raise _fail(path, f"el archivo Word está dañado o no es un .docx ({type(exc).__name__})",
                    "ábralo en Word o LibreOffice y guárdelo de nuevo como .docx") from None
    return _structured(path, "docx", elements, title)


def load_html(path: Path) -> LoadedFile:
    from indexer.office import read_html

    raw = path.read_bytes()
    if not raw.strip():
        raise _fail(path, "el archivo está vacío", "añada un archivo con contenido")
    text, warnings = decode_text(raw, path)
    elements, title = read_html(text)
    loaded = _structured(path, "html", elements, title)
    loaded.warnings = warnings
    return loaded


def _structured(path: Path, kind: str, elements: list[Element], title: str) -> LoadedFile:
    if not any(e.text.strip() or e.rows for e in elements):
        raise _fail(path, "el documento no contiene texto", "compruebe que el archivo tenga contenido")
    text = "\n".join(_element_text(e) for e in elements)
    first_heading = next((e.text for e in elements if e.kind == "heading"), "")
    return LoadedFile(path=path, kind=kind, pages=[Page(None, text)], elements=elements,
                      title=title or first_heading)


def load_file(path: Path, ocr: OcrSettings | None = None, language: str = "es", progress: bool = False) -> LoadedFile:
    """Read one corpus file; raises LoadError with a user-facing reason. `language` is the document's
    (ISO code): scanned pages are recognised in it."""
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        hint = "guárdelo como .docx" if suffix in {".doc", ".odt", ".rtf"} else SUPPORTED_HINT
        raise _fail(path, f"tipo de archivo no admitido ({suffix or 'sin extensión'})", hint)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise _fail(path, f"no se puede leer el archivo ({exc.strerror})", "compruebe el archivo y sus permisos") from None
    limit = MAX_FILE_BYTES if suffix in PDF_SUFFIXES | WORD_SUFFIXES else MAX_TEXT_BYTES
    if size > limit:
        raise _fail(path, f"el archivo es demasiado grande ({size // (1024 * 1024)} MB)",
                    f"divida el documento en partes de menos de {limit // (1024 * 1024)} MB")
    if suffix in PDF_SUFFIXES:
        return load_pdf(path, ocr, language, progress)
    if suffix in WORD_SUFFIXES:
        return load_docx(path)
    if suffix in HTML_SUFFIXES:
        return load_html(path)
    return load_text(path)
