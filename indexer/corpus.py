"""The corpus folder: which documents it holds, from its manifest and from the files users drop in.

A file named in `manifest.json` takes its entry's id, title and citation; any other supported file
(PDF, Word, HTML, .txt, .md) becomes a document whose id derives from its file name and whose title is
left empty here: the pipeline takes the document's own title (PDF metadata, Word title, first heading).
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from indexer.loaders import SUPPORTED_HINT, SUPPORTED_SUFFIXES
from indexer.types import FileProblem, SourceDocument

IGNORED_FILES = {"SOURCES.md", "README.md", "manifest.json", "catalog.json"}
_KINDS = {".pdf": "pdf", ".docx": "docx", ".html": "html", ".htm": "html"}


def slugify(name: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-zA-Z0-9]+", "_", ascii_name).strip("_").lower()
    return slug or "documento"


@dataclass
class CorpusListing:
    documents: list[tuple[SourceDocument, Path]] = field(default_factory=list)
    problems: list[FileProblem] = field(default_factory=list)


def read_manifest(corpus_dir: Path) -> dict[str, SourceDocument]:
    path = corpus_dir / "manifest.json"
    if not path.exists():
        return {}
    entries = json.loads(path.read_text(encoding="utf-8")).get("documents", [])
    fields = set(SourceDocument.__dataclass_fields__)
    return {e["file"]: SourceDocument(**{k: v for k, v in e.items() if k in fields}) for e in entries}


UPLOADS_PREFIX = "uploads/"


def resolve(file: str, corpus_dir: Path, uploads_dir: Path | None) -> Path:
    """Where a document's file lives: uploads are kept apart from the shipped corpus."""
    if uploads_dir is not None and file.startswith(UPLOADS_PREFIX):
        return uploads_dir / file[len(UPLOADS_PREFIX):]
    return corpus_dir / file


def _files(corpus_dir: Path, uploads_dir: Path | None):
    for path in sorted(corpus_dir.rglob("*"), key=lambda p: str(p)):
        yield path, corpus_dir, path.relative_to(corpus_dir).as_posix()
    if uploads_dir is not None and uploads_dir.is_dir():
        for path in sorted(uploads_dir.rglob("*"), key=lambda p: str(p)):
            yield path, uploads_dir, UPLOADS_PREFIX + path.relative_to(uploads_dir).as_posix()


def list_corpus(corpus_dir: Path, uploads_dir: Path | None = None) -> CorpusListing:
    """Every document of the folder (recursively) and of the uploads folder, or a problem line for what
    cannot be taken."""
    listing = CorpusListing()
    manifest = read_manifest(corpus_dir)
    seen_ids: dict[str, str] = {}
    seen_real: dict[Path, str] = {}
    for path, root, rel in _files(corpus_dir, uploads_dir):
        if path.name in IGNORED_FILES or any(part.startswith(".") for part in path.relative_to(root).parts):
            continue
        try:
            if path.is_symlink():
                real = path.resolve(strict=True)
                if not real.is_relative_to(root.resolve()):
                    listing.problems.append(FileProblem(rel, "enlace simbólico que apunta fuera del corpus",
                                                        "copie el archivo en la carpeta del corpus"))
                    continue
            if not path.is_file():
                continue
            real = path.resolve(strict=True)
        except (OSError, RuntimeError):
            listing.problems.append(FileProblem(rel, "enlace simbólico roto o en bucle", "elimínelo o corríjalo"))
            continue
        if path.suffix.lower() not in SUPPORTED_SUFFIXES:
            listing.problems.append(FileProblem(rel, f"tipo de archivo no admitido ({path.suffix or 'sin extensión'})",
                                                SUPPORTED_HINT))
            continue
        if real in seen_real:
            listing.problems.append(FileProblem(rel, f"es el mismo archivo que {seen_real[real]}", "se indexa una sola vez"))
            continue
        seen_real[real] = rel
        doc = manifest.get(rel) or SourceDocument(
            id=slugify(path.stem), title="", kind=_KINDS.get(path.suffix.lower(), "text"), language="es", file=rel)
        if doc.id in seen_ids:
            doc = SourceDocument(**{**doc.__dict__, "id": f"{doc.id}_{len(seen_ids)}"})
        seen_ids[doc.id] = rel
        listing.documents.append((doc, path))
    return listing
