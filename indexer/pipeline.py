"""The index run: list → (skip unchanged) → load → structure → chunk → embed → store, then repair and BM25.

Reading (layout, OCR) and chunking run in worker processes (`parsing.workers`; by default one per core the
embedder leaves free) while the main process embeds and stores the document before: the slow parts
overlap. Plain text, and everything on a machine with no core to spare, is read in the main process.

Every chunk and every evidence unit of it (indexer.sentences) is embedded; texts the shipped corpus already
carries vectors for (indexer.vector_cache) are not embedded again.

Crash safety: the docstore (SQLite) is the source of truth and is written in one transaction per
document; Chroma is written before that commit and cleaned after it. Every run starts by reconciling
Chroma with the docstore (orphans deleted, missing vectors re-sent from the docstore), so a run killed
at any point leaves no duplicate and loses no chunk once the next run completes.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import shutil
import sys
import time
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from tqdm import tqdm

from indexer.catalog import catalog_for
from indexer.chunking import chunk_blocks, count_tokens
from indexer.corpus import list_corpus, resolve
from indexer.embeddings import get_embedder, latent_terms_of
from indexer.lexicon import Lexicon, build_lexicon, lexicon_stamp, vocabulary
from indexer.loaders import TEXT_SUFFIXES, LoadError, load_file
from indexer.sentences import evidence_units, unit_embedding_text
from indexer.settings import IndexSettings
from indexer.stores import DocStore, LexicalIndex, StoredDocument, VectorStore, chunk_set_stamp, embed_key
from indexer.structure import parse_document
from indexer.types import Chunk, FileProblem, SourceDocument
from indexer.vector_cache import shipped_vectors

PIPELINE_VERSION = "11"  # 7: layout-aware PDFs, OCR, Word/HTML; 8: evidence units get their own vectors; 9: notes;
# 10: chunks get their latent terms; 11: paragraphs cut by a page break after a function word or inside a name rejoined
EXCLUDED_FILE = "excluded.json"  # corpus files removed with `documents remove`: not indexed again


@dataclass
class IndexReport:
    indexed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    problems: list[FileProblem] = field(default_factory=list)
    warnings: list[FileProblem] = field(default_factory=list)
    repaired_orphans: int = 0
    repaired_missing: int = 0
    chunks_total: int = 0
    chunks_embedded: int = 0
    units_embedded: int = 0
    words_embedded: int = 0
    texts_embedded: int = 0
    tokens_embedded: int = 0
    pages_read: int = 0
    pages_ocr: int = 0
    timings_s: dict[str, float] = field(default_factory=dict)

    @property
    def partial(self) -> bool:
        return bool(self.problems)

    def summary_lines(self) -> list[str]:
        lines = [
            f"Documentos indexados: {len(self.indexed)} · sin cambios: {len(self.unchanged)} · "
            f"eliminados: {len(self.removed)} · con errores: {len(self.problems)}",
            f"Fragmentos en el índice: {self.chunks_total} · embebidos en esta pasada: {self.chunks_embedded} "
            f"(y {self.units_embedded} frases, {self.words_embedded} palabras)",
        ]
        if self.repaired_orphans or self.repaired_missing:
            lines.append(f"Reparación: {self.repaired_orphans} fragmentos huérfanos borrados, "
                         f"{self.repaired_missing} restituidos en Chroma")
        lines.append("Tiempos: " + ", ".join(f"{k} {v:.2f} s" for k, v in self.timings_s.items()))
        lines += [f"ERROR {p.line()}" for p in self.problems]
        lines += [f"aviso {w.line()}" for w in self.warnings]
        return lines


class Index:
    """The stores of one data folder, opened together."""

    def __init__(self, settings: IndexSettings):
        self.settings = settings
        self.data_dir = settings.data_dir
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.docstore = DocStore(self.data_dir / "docstore.sqlite")
        self.vectors = VectorStore(self.data_dir, settings.store)
        self.lexical_dir = self.data_dir / "lexical"

    def close(self) -> None:
        self.docstore.close()


def _fingerprint(raw: bytes, settings: IndexSettings, embedder_name: str, catalog_digest: str) -> str:
    h = hashlib.sha256(raw)
    h.update(f"|{PIPELINE_VERSION}|{settings.chunking.model_dump_json()}|{embedder_name}|{catalog_digest}|"
             f"{settings.privacy.scrub_personal_data}".encode())
    return h.hexdigest()


def _catalog_digest(corpus_dir: Path) -> str:
    path = corpus_dir / "catalog.json"
    return hashlib.sha1(path.read_bytes()).hexdigest() if path.exists() else "none"


def repair(index: Index, report: IndexReport) -> None:
    """Make Chroma hold exactly the docstore's chunks."""
    truth = index.docstore.chunk_ids()
    present = index.vectors.ids()
    orphans = present - truth
    missing = sorted(truth - present)
    if orphans:
        index.vectors.delete(orphans)
    if missing:
        chunks = index.docstore.get(missing)
        vectors = index.docstore.vectors(missing)
        ordered = [chunks[i] for i in missing]
        index.vectors.upsert(ordered, np.stack([vectors[i] for i in missing]))
    report.repaired_orphans += len(orphans)
    report.repaired_missing += len(missing)


def embed_texts(index: Index, texts: list[str], report: IndexReport, progress: bool, what: str = "frag",
                embedder=None) -> np.ndarray:
    """Vectors for texts, from the index's cache or the shipped corpus's (indexer.vector_cache) where the same
    text was embedded before by the same embedder; each new text embedded once. `embedder`: the index's own
    by default (the latent terms, `LatentTerms`, are cached the same way under their own name)."""
    embedder = embedder or get_embedder(index.settings.embeddings)
    name = getattr(embedder, "name", type(embedder).__name__)
    keys = [embed_key(name, t) for t in texts]
    cached = index.docstore.cached_vectors(keys)
    shipped = shipped_vectors(index.settings.corpus_dir, name, [k for k in keys if k not in cached])
    if shipped:
        index.docstore.cache_vectors(shipped)
        cached.update(shipped)
    first_of: dict[str, int] = {}
    for i, k in enumerate(keys):
        if k not in cached:
            first_of.setdefault(k, i)  # the same text (e.g. a repeated page) is embedded once
    todo = list(first_of.values())
    batch = max(1, index.settings.embeddings.batch_size)
    bar = tqdm(total=len(todo), desc=f"  embeddings ({what})", unit=what, disable=not progress or not todo,
               file=sys.stderr, leave=False)
    for start in range(0, len(todo), batch):
        part = todo[start:start + batch]
        vectors = embedder.embed_array([texts[i] for i in part])
        fresh = {keys[i]: v for i, v in zip(part, vectors, strict=True)}
        index.docstore.cache_vectors(fresh)
        cached.update(fresh)
        report.tokens_embedded += sum(count_tokens(texts[i]) for i in part)
        bar.update(len(part))
    bar.close()
    report.texts_embedded += len(todo)
    dim = len(next(iter(cached.values()))) if cached else 384
    return np.stack([cached[k] for k in keys]) if keys else np.zeros((0, dim), dtype=np.float32)


def embed_chunks(index: Index, chunks: list[Chunk], report: IndexReport, progress: bool) -> np.ndarray:
    """Vectors for chunks (their section path gives them context)."""
    before = report.texts_embedded
    vectors = embed_texts(index, [c.embedding_text() for c in chunks], report, progress)
    report.chunks_embedded += report.texts_embedded - before
    return vectors


def embed_latent(index: Index, chunks: list[Chunk], report: IndexReport, progress: bool) -> np.ndarray | None:
    """The chunks' latent terms (packed rows, indexer.embeddings), read from the text the chunk vector reads; None
    when the embedder has none."""
    latent = latent_terms_of(get_embedder(index.settings.embeddings))
    if latent is None:
        return None
    return embed_texts(index, [c.embedding_text() for c in chunks], report, progress, what="términos", embedder=latent)


def embed_units(index: Index, chunks: list[Chunk], report: IndexReport, progress: bool) -> list[np.ndarray]:
    """Per chunk, the vectors of its evidence units (one row each, in `evidence_units` order)."""
    units = [evidence_units(c) for c in chunks]
    texts = [unit_embedding_text(c, u) for c, us in zip(chunks, units, strict=True) for u in us]
    before = report.texts_embedded
    flat = embed_texts(index, texts, report, progress, what="frase")
    report.units_embedded += report.texts_embedded - before
    out, start = [], 0
    for us in units:
        out.append(flat[start:start + len(us)])
        start += len(us)
    return out


@dataclass
class PreparedDocument:
    """A document read and chunked (in a worker process), ready to embed and store."""

    chunks: list[Chunk]
    title: str
    kind: str
    pages: int | None
    ocr_pages: list[int]
    warnings: list[FileProblem]
    parse_s: float


def prepare_document(doc: SourceDocument, path: Path, settings: IndexSettings, progress: bool) -> PreparedDocument:
    """Load → structure → chunk one file; raises LoadError. Runs in a worker process: no store is touched."""
    catalog = catalog_for(settings.corpus_dir)
    t0 = time.perf_counter()
    loaded = load_file(path, settings.parsing.ocr, doc.language, progress)
    blocks = parse_document(loaded, catalog, scrub=settings.privacy.scrub_personal_data)
    chunks = chunk_blocks(doc.id, blocks, settings.chunking, catalog)
    for warning in loaded.warnings:
        warning.file = doc.file
    if not chunks:
        raise LoadError(FileProblem(path.name, "no se encontró texto indexable", "compruebe el contenido del archivo"))
    title = doc.title or loaded.title or path.stem.replace("_", " ")
    pages = len(loaded.pages) if loaded.kind == "pdf" else None
    return PreparedDocument(chunks, title, loaded.kind, pages, loaded.ocr_pages, loaded.warnings,
                            time.perf_counter() - t0)


def _store_document(index: Index, doc: SourceDocument, prepared: PreparedDocument, fingerprint: str,
                    report: IndexReport, progress: bool, timings: dict[str, float]) -> None:
    chunks = prepared.chunks
    report.warnings.extend(prepared.warnings)
    timings["parse"] = timings.get("parse", 0.0) + prepared.parse_s
    report.pages_read += prepared.pages or 0
    report.pages_ocr += len(prepared.ocr_pages)
    t0 = time.perf_counter()
    vectors = embed_chunks(index, chunks, report, progress)
    timings["embed"] = timings.get("embed", 0.0) + time.perf_counter() - t0
    t0 = time.perf_counter()
    unit_vectors = embed_units(index, chunks, report, progress)
    timings["embed_units"] = timings.get("embed_units", 0.0) + time.perf_counter() - t0
    t0 = time.perf_counter()
    latent = embed_latent(index, chunks, report, progress)
    timings["embed_latent"] = timings.get("embed_latent", 0.0) + time.perf_counter() - t0
    t0 = time.perf_counter()
    old_ids = index.docstore.chunk_ids(doc.id)
    index.vectors.upsert(chunks, vectors)
    stored = StoredDocument(
        id=doc.id, file=doc.file, fingerprint=fingerprint, title=prepared.title, kind=doc.kind or prepared.kind,
        language=doc.language, chunk_count=len(chunks), indexed_at=datetime.now(UTC).isoformat(timespec="seconds"),
        meta={"authority": doc.authority, "year": doc.year, "citation": doc.citation, "notes": doc.notes,
              "pages": prepared.pages, "format": prepared.kind, "ocr_pages": prepared.ocr_pages,
              "problems": [w.line() for w in prepared.warnings]},
    )
    index.docstore.replace_document(stored, chunks, vectors, unit_vectors, latent)
    stale = old_ids - {c.id for c in chunks}
    if stale:
        index.vectors.delete(stale)
    timings["store"] = timings.get("store", 0.0) + time.perf_counter() - t0
    report.indexed.append(doc.id)


def parse_workers(settings: IndexSettings) -> int:
    """Worker processes for reading: as set, or the cores the embedder's threads leave free (on 2 cores with a
    2-thread embedder a worker would only compete with it: measured slower, see benchmarks/RESULTS.md)."""
    if settings.parsing.workers is not None:
        return max(0, settings.parsing.workers)
    return max(0, min(4, (os.cpu_count() or 1) - settings.embeddings.threads))


def _prepare_inline(doc: SourceDocument, path: Path, settings: IndexSettings,
                    progress: bool) -> PreparedDocument | Exception:
    try:
        return prepare_document(doc, path, settings, progress)
    except Exception as exc:  # reported by the caller, like a worker's failure
        return exc


def _prepared_in_order(todo: list[tuple[SourceDocument, Path]], settings: IndexSettings,
                       progress: bool) -> Iterator[tuple[SourceDocument, PreparedDocument | Exception]]:
    """(document, its PreparedDocument or the error that stopped it), in listing order. Worker processes read
    a few documents ahead of the embedder when there is more than one document and not all are plain text;
    if the pool breaks (a worker killed, a script without a `__main__` guard), reading goes on inline."""
    heavy = sum(1 for _, path in todo if path.suffix.lower() not in TEXT_SUFFIXES)
    workers = parse_workers(settings)
    done = 0
    if workers > 0 and len(todo) > 1 and heavy:
        # spawn, not fork: the parent holds Chroma's and the embedder's threads, which a fork would copy mid-state
        pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"))
        try:
            futures: list[Future] = []
            for doc, path in todo:
                futures.append(pool.submit(prepare_document, doc, path, settings, False))
            for (doc, _), future in zip(todo, futures, strict=True):
                try:
                    outcome: PreparedDocument | Exception = future.result()
                except BrokenProcessPool:
                    break
                except Exception as exc:  # the document's own error, raised in the worker
                    outcome = exc
                done += 1
                yield doc, outcome
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
    for doc, path in todo[done:]:
        yield doc, _prepare_inline(doc, path, settings, progress)


def refresh_lexical(index: Index, force: bool = False) -> bool:
    """Rebuild the BM25 index when it does not match the docstore's chunk set."""
    ids = index.docstore.chunk_ids()
    current = LexicalIndex.load(index.lexical_dir) if not force else None
    if current is not None and current.stamp == chunk_set_stamp(ids):
        return False
    chunks = [c for c, _ in index.docstore.iter_chunks()]
    LexicalIndex.build(chunks).save(index.lexical_dir)
    return True


def refresh_lexicon(index: Index, report: IndexReport, progress: bool) -> bool:
    """Rebuild the bilingual word list (indexer.lexicon) when it does not match the docstore's chunk set; only
    words no cache holds are embedded."""
    stamp = lexicon_stamp(index.docstore.chunk_ids())
    current = Lexicon.load(index.data_dir)
    if current is not None and current.stamp == stamp:
        return False
    languages = {d.id: d.language for d in index.docstore.documents().values()}
    chunks = [c for c, _ in index.docstore.iter_chunks()]
    before = report.texts_embedded
    lexicon = build_lexicon(chunks, languages, lambda words: embed_texts(index, words, report, progress, "palabra"),
                            stamp)
    report.words_embedded += report.texts_embedded - before
    lexicon.save(index.data_dir)
    return True


def run_index(settings: IndexSettings, rebuild: bool = False, progress: bool = True,
              log=lambda line: print(line, file=sys.stderr), force: set[str] | None = None) -> IndexReport:
    """Bring the index of settings.data_dir in line with settings.corpus_dir; documents whose id is in
    `force` are read again even when unchanged."""
    report = IndexReport()
    timings: dict[str, float] = {}
    started = time.perf_counter()
    index = Index(settings)
    try:
        if rebuild:
            index.vectors.reset()
            for doc_id in list(index.docstore.documents()):
                index.docstore.delete_document(doc_id)
        t0 = time.perf_counter()
        repair(index, report)
        timings["repair"] = time.perf_counter() - t0
        listing = list_corpus(settings.corpus_dir, settings.uploads_dir)
        report.problems.extend(listing.problems)
        embedder_name = getattr(get_embedder(settings.embeddings), "name", settings.embeddings.backend)
        catalog_digest = _catalog_digest(settings.corpus_dir)
        stored = index.docstore.documents()
        excluded = set(excluded_files(settings.data_dir))
        seen_content: dict[str, str] = {}
        wanted: set[str] = set()
        todo: list[tuple[SourceDocument, Path, str, StoredDocument | None]] = []
        for doc, path in listing.documents:
            if doc.file in excluded:
                continue
            try:
                raw = path.read_bytes()
            except OSError as exc:
                report.problems.append(FileProblem(doc.file, f"no se puede leer ({exc.strerror})",
                                                   "compruebe permisos"))
                continue
            content = hashlib.sha256(raw).hexdigest()
            if raw.strip() and content in seen_content:
                report.problems.append(FileProblem(doc.file, f"mismo contenido que {seen_content[content]}",
                                                   "se indexa una sola vez; elimine la copia"))
                continue
            seen_content[content] = doc.file
            wanted.add(doc.id)
            fingerprint = _fingerprint(raw, settings, embedder_name, catalog_digest)
            previous = stored.get(doc.id)
            if previous and previous.fingerprint == fingerprint and previous.file == doc.file \
                    and doc.id not in (force or set()):
                report.unchanged.append(doc.id)
                continue
            todo.append((doc, path, fingerprint, previous))
        details = {doc.id: (fingerprint, previous) for doc, _, fingerprint, previous in todo}
        bar = tqdm(total=len(todo), desc="documentos", unit="doc", disable=not progress or not todo, file=sys.stderr)
        for doc, outcome in _prepared_in_order([(d, p) for d, p, _, _ in todo], settings, progress):
            bar.set_postfix_str(doc.file[-40:])
            fingerprint, previous = details[doc.id]
            try:
                if isinstance(outcome, Exception):
                    raise outcome
                _store_document(index, doc, outcome, fingerprint, report, progress, timings)
            except LoadError as exc:
                exc.problem.file = doc.file
                report.problems.append(exc.problem)
                if previous:
                    report.warnings.append(FileProblem(doc.file, "se conserva la versión indexada anterior"))
            except Exception as exc:  # one bad file must not stop the others
                report.problems.append(FileProblem(doc.file, f"error inesperado al procesarlo ({type(exc).__name__}: "
                                                             f"{str(exc)[:200]})", "informe del problema"))
            bar.update(1)
        bar.close()
        for doc_id, previous in stored.items():
            if doc_id in wanted:
                continue
            still_there = resolve(previous.file, settings.corpus_dir, settings.uploads_dir).exists()
            if still_there and any(p.file == previous.file for p in report.problems):
                continue  # a file that became unreadable keeps its previous version
            index.vectors.delete(index.docstore.chunk_ids(doc_id))
            index.docstore.delete_document(doc_id)
            report.removed.append(doc_id)
        publish_catalog(settings)
        t0 = time.perf_counter()
        if refresh_lexical(index):
            timings["lexical"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        if refresh_lexicon(index, report, progress):
            timings["lexicon"] = time.perf_counter() - t0
        report.chunks_total = index.docstore.count()
        timings["total"] = time.perf_counter() - started
        report.timings_s = timings
        write_index_manifest(index, embedder_name, report)
    finally:
        index.close()
    for line in report.summary_lines():
        log(line)
    return report


def write_vector_cache(settings: IndexSettings, extra: dict[str, np.ndarray] | None = None) -> Path:
    """Write the shipped corpus's vector cache (indexer.vector_cache) from this index: the vectors of every chunk,
    evidence unit and lexicon word of the corpus folder's documents (uploads are not shipped), and `extra` vectors of other
    texts of the same corpus (the evaluation baseline's chunks). Run after an index run."""
    from indexer.corpus import UPLOADS_PREFIX
    from indexer.vector_cache import write_shipped_cache

    embedder = get_embedder(settings.embeddings)
    embedder_name = getattr(embedder, "name", settings.embeddings.backend)
    index = Index(settings)
    try:
        documents = index.docstore.documents()
        shipped = {d for d, doc in documents.items() if not doc.file.startswith(UPLOADS_PREFIX)}
        texts = []
        shipped_chunks = [chunk for chunk, _ in index.docstore.iter_chunks() if chunk.doc_id in shipped]
        for chunk in shipped_chunks:
            texts.append(chunk.embedding_text())
            texts += [unit_embedding_text(chunk, u) for u in evidence_units(chunk)]
        for words in vocabulary(shipped_chunks, {d: doc.language for d, doc in documents.items()}).values():
            texts += words  # the bilingual word list's vectors (indexer.lexicon)
        latent = latent_terms_of(embedder)
        if latent is not None:  # the chunks' latent terms, in a file of their own
            write_shipped_cache(settings.corpus_dir, latent.name,
                                _cached(index, latent.name, [c.embedding_text() for c in shipped_chunks]))
        return write_shipped_cache(settings.corpus_dir, embedder_name,
                                   {**(extra or {}), **_cached(index, embedder_name, texts)})
    finally:
        index.close()


def _cached(index: Index, embedder_name: str, texts: list[str]) -> dict[str, np.ndarray]:
    """The index's cached vectors of these texts by this embedder, all of them."""
    keys = [embed_key(embedder_name, t) for t in texts]
    vectors = index.docstore.cached_vectors(keys)
    if len(vectors) < len(set(keys)):
        raise RuntimeError("el índice no tiene los vectores de todo el corpus: ejecute antes «policy-assistant index»")
    return vectors


def excluded_files(data_dir: Path) -> list[str]:
    path = data_dir / EXCLUDED_FILE
    return json.loads(path.read_text(encoding="utf-8")).get("files", []) if path.exists() else []


def publish_catalog(settings: IndexSettings) -> None:
    """The assistant reads the catalog from the index folder, never from the corpus."""
    source = settings.corpus_dir / "catalog.json"
    if source.exists():
        tmp = settings.data_dir / "catalog.json.tmp"
        shutil.copyfile(source, tmp)
        tmp.replace(settings.data_dir / "catalog.json")


def write_index_manifest(index: Index, embedder_name: str, report: IndexReport) -> None:
    manifest = {
        "written_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "embedder": embedder_name,
        "store": index.vectors.where,
        "collection": index.vectors.name,
        "chunks": report.chunks_total,
        "documents": sorted(index.docstore.documents()),
        "pipeline_version": PIPELINE_VERSION,
        "problems": [p.line() for p in report.problems],
    }
    tmp = index.data_dir / "index.json.tmp"
    tmp.write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")
    tmp.replace(index.data_dir / "index.json")
