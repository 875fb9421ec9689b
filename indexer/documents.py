"""Documents of an index, managed: list them (title, pages, chunks, OCR pages, problems, when indexed),
remove one, re-index one. Used by `policy-assistant documents` and the app's corpus page.

Every change leaves the docstore, Chroma and BM25 in step, and survives a kill at any point: a removal
is committed in the docstore (the source of truth) first, so the next run's repair drops any vector left.
A removed upload is deleted; a removed file of the corpus folder is listed in `excluded.json` of the data
folder so that later runs do not index it again.
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict, dataclass, field

from indexer.corpus import UPLOADS_PREFIX, resolve
from indexer.pipeline import EXCLUDED_FILE, Index, IndexReport, excluded_files, refresh_lexical, run_index
from indexer.settings import IndexSettings
from indexer.stores import DocStore


class UnknownDocument(ValueError):
    """No document of the index has this id."""


@dataclass
class DocumentInfo:
    id: str
    title: str
    file: str
    format: str
    pages: int | None
    chunks: int
    ocr_pages: list[int] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    indexed_at: str = ""

    def to_dict(self) -> dict:
        return asdict(self)


def list_documents(settings: IndexSettings) -> list[DocumentInfo]:
    path = settings.data_dir / "docstore.sqlite"
    if not path.exists():
        return []
    store = DocStore(path)
    try:
        return [DocumentInfo(id=d.id, title=d.title, file=d.file, format=d.meta.get("format") or d.kind,
                             pages=d.meta.get("pages"), chunks=d.chunk_count, ocr_pages=d.meta.get("ocr_pages", []),
                             problems=d.meta.get("problems", []), indexed_at=d.indexed_at)
                for d in store.documents().values()]
    finally:
        store.close()


def failed_files(settings: IndexSettings) -> list[str]:
    """The problem lines of the last index run (files that could not be indexed)."""
    path = settings.data_dir / "index.json"
    return json.loads(path.read_text(encoding="utf-8")).get("problems", []) if path.exists() else []


def _unknown(doc_id: str) -> UnknownDocument:
    return UnknownDocument(f"no hay ningún documento «{doc_id}» en el índice (vea `documents list`)")


def remove_document(settings: IndexSettings, doc_id: str) -> DocumentInfo:
    """Take a document out of the index for good; returns what it was."""
    info = next((d for d in list_documents(settings) if d.id == doc_id), None)
    if info is None:
        raise _unknown(doc_id)
    if info.file.startswith(UPLOADS_PREFIX):
        resolve(info.file, settings.corpus_dir, settings.uploads_dir).unlink(missing_ok=True)
    else:
        excluded = sorted({*excluded_files(settings.data_dir), info.file})
        tmp = settings.data_dir / (EXCLUDED_FILE + ".tmp")
        tmp.write_text(json.dumps({"files": excluded}, ensure_ascii=False, indent=2), encoding="utf-8")
        tmp.replace(settings.data_dir / EXCLUDED_FILE)
    index = Index(settings)
    try:
        ids = index.docstore.chunk_ids(doc_id)
        index.docstore.delete_document(doc_id)
        index.vectors.delete(ids)
        refresh_lexical(index)
        _update_manifest(index)
    finally:
        index.close()
    return info


def reindex_document(settings: IndexSettings, doc_id: str, progress: bool = False,
                     log=lambda line: print(line, file=sys.stderr)) -> IndexReport:
    """Read, chunk and embed one document again (after a fix to its file, or a change of OCR settings)."""
    if not any(d.id == doc_id for d in list_documents(settings)):
        raise _unknown(doc_id)
    return run_index(settings, progress=progress, log=log, force={doc_id})


def _update_manifest(index: Index) -> None:
    path = index.data_dir / "index.json"
    manifest = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    manifest.update(documents=sorted(index.docstore.documents()), chunks=index.docstore.count())
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")
    tmp.replace(path)
