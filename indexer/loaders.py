"""Loaders: read a file into text, page by page for PDFs, or fail with an error a person can act on.

Readers are chosen by file suffix behind one function, `load_file`; each returns `LoadedFile`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from indexer.types import FileProblem

TEXT_SUFFIXES = {".md", ".txt", ".markdown"}
PDF_SUFFIXES = {".pdf"}
SUPPORTED_SUFFIXES = TEXT_SUFFIXES | PDF_SUFFIXES
MAX_FILE_BYTES = 200 * 1024 * 1024
MAX_TEXT_BYTES = 20 * 1024 * 1024  # ~5M tokens: hours of embedding on a laptop; such a file is a dump, not a document

logging.getLogger("pypdf").setLevel(logging.ERROR)


class LoadError(Exception):
    """A file that cannot be read; carries the problem to report."""

    def __init__(self, problem: FileProblem):
        super().__init__(problem.line())
        self.problem = problem


@dataclass
class Page:
    number: int | None
    text: str


@dataclass
class LoadedFile:
    path: Path
    kind: str  # "text" or "pdf"
    pages: list[Page]
    warnings: list[FileProblem] = field(default_factory=list)

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


def load_pdf(path: Path) -> LoadedFile:
    from pypdf import PdfReader
    from pypdf.errors import DependencyError, FileNotDecryptedError, PdfReadError

    if path.stat().st_size == 0:
        raise _fail(path, "el PDF está vacío (0 bytes)", "vuelva a descargar o exportar el documento")
    try:
        reader = PdfReader(str(path))
        if reader.is_encrypted and not reader.decrypt(""):
            raise _fail(path, "el PDF está cifrado con contraseña", "guárdelo sin protección y vuelva a añadirlo")
        numbers = _page_numbers(reader)
        pages: list[Page] = []
        for number, page in zip(numbers, reader.pages, strict=True):
            pages.append(Page(number, (page.extract_text() or "").replace("\r\n", "\n")))
    except LoadError:
        raise
    except (FileNotDecryptedError, DependencyError):
        raise _fail(path, "el PDF está cifrado y no se puede leer", "guárdelo sin protección y vuelva a añadirlo") from None
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, OSError) as exc:
        raise _fail(path, f"el PDF está dañado o no es un PDF válido ({type(exc).__name__})",
                    "ábralo y expórtelo de nuevo como PDF") from None
    if not pages:
        raise _fail(path, "el PDF no tiene páginas", "vuelva a exportar el documento")
    if not any(p.text.strip() for p in pages):
        raise _fail(path, f"el PDF no tiene capa de texto ({len(pages)} págs.): parece un escaneo",
                    "páselo por OCR (por ejemplo, ocrmypdf) y vuelva a añadirlo")
    empty = [p.number for p in pages if not p.text.strip()]
    warnings = []
    if empty:
        shown = ", ".join(str(n) for n in empty[:10]) + ("…" if len(empty) > 10 else "")
        warnings.append(FileProblem(path.name, f"{len(empty)} página(s) sin texto (págs. {shown})",
                                    "si son escaneadas, pase el PDF por OCR"))
    return LoadedFile(path=path, kind="pdf", pages=pages, warnings=warnings)


def load_file(path: Path) -> LoadedFile:
    """Read one corpus file; raises LoadError with a user-facing reason."""
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise _fail(path, f"tipo de archivo no admitido ({suffix or 'sin extensión'})",
                    "use PDF, .txt o .md")
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise _fail(path, f"no se puede leer el archivo ({exc.strerror})", "compruebe el archivo y sus permisos") from None
    limit = MAX_FILE_BYTES if suffix in PDF_SUFFIXES else MAX_TEXT_BYTES
    if size > limit:
        raise _fail(path, f"el archivo es demasiado grande ({size // (1024 * 1024)} MB)",
                    f"divida el documento en partes de menos de {limit // (1024 * 1024)} MB")
    if suffix in PDF_SUFFIXES:
        return load_pdf(path)
    return load_text(path)
