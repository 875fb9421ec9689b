"""The three stores of an index, kept in step by the pipeline:

- `DocStore` (SQLite): the source of truth — documents with their fingerprints, chunks with their
  metadata and vectors, the vectors of each chunk's evidence units (indexer.sentences), and the embedding
  cache. Written in one transaction per document.
- `VectorStore`: the Chroma collection (embedded `PersistentClient`, or `HttpClient` against a server).
- `LexicalIndex`: BM25 (bm25s) over accent-folded, Snowball-stemmed Spanish tokens, saved on disk and
  stamped with the chunk set it was built from.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from indexer.settings import StoreSettings
from indexer.tagging import fold
from indexer.types import Chunk

_SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (
    id TEXT PRIMARY KEY, file TEXT NOT NULL, fingerprint TEXT NOT NULL, title TEXT, kind TEXT,
    language TEXT, chunk_count INTEGER, indexed_at TEXT, meta TEXT
);
CREATE TABLE IF NOT EXISTS chunks (
    id TEXT PRIMARY KEY, doc_id TEXT NOT NULL, ordinal INTEGER NOT NULL, kind TEXT NOT NULL,
    body TEXT NOT NULL, vector BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS chunks_doc ON chunks(doc_id, ordinal);
CREATE TABLE IF NOT EXISTS embed_cache (key TEXT PRIMARY KEY, vector BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS units (
    chunk_id TEXT NOT NULL, doc_id TEXT NOT NULL, position INTEGER NOT NULL, vector BLOB NOT NULL,
    PRIMARY KEY (chunk_id, position)
);
CREATE INDEX IF NOT EXISTS units_doc ON units(doc_id);
CREATE TABLE IF NOT EXISTS latent_terms (chunk_id TEXT PRIMARY KEY, doc_id TEXT NOT NULL, vector BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS latent_terms_doc ON latent_terms(doc_id);
"""


def embed_key(model: str, text: str) -> str:
    return hashlib.sha1(f"{model}\x1f{text}".encode()).hexdigest()


@dataclass
class StoredDocument:
    id: str
    file: str
    fingerprint: str
    title: str
    kind: str
    language: str
    chunk_count: int
    indexed_at: str
    meta: dict


class DocStore:
    """SQLite docstore; WAL journal so that a killed writer leaves the last committed state."""

    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.db = sqlite3.connect(str(path), check_same_thread=False, timeout=30)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(_SCHEMA)

    def close(self) -> None:
        self.db.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        with self.db:
            yield self.db

    # documents
    def documents(self) -> dict[str, StoredDocument]:
        rows = self.db.execute("SELECT id, file, fingerprint, title, kind, language, chunk_count, indexed_at, meta "
                               "FROM documents ORDER BY id").fetchall()
        return {r[0]: StoredDocument(*r[:8], meta=json.loads(r[8] or "{}")) for r in rows}

    def replace_document(self, doc: StoredDocument, chunks: list[Chunk], vectors: np.ndarray,
                         unit_vectors: list[np.ndarray] | None = None, latent: np.ndarray | None = None) -> None:
        """One transaction: the document's row, its chunks and vectors, (`unit_vectors[i]` for chunk i, one row
        per evidence unit) the vectors of its units, and (`latent[i]`, packed) its chunks' latent terms."""
        with self.transaction() as db:
            db.execute("DELETE FROM chunks WHERE doc_id = ?", (doc.id,))
            db.execute("DELETE FROM units WHERE doc_id = ?", (doc.id,))
            db.execute("DELETE FROM latent_terms WHERE doc_id = ?", (doc.id,))
            if latent is not None:
                db.executemany("INSERT INTO latent_terms (chunk_id, doc_id, vector) VALUES (?, ?, ?)",
                               [(c.id, c.doc_id, v.astype(np.float32).tobytes())
                                for c, v in zip(chunks, latent, strict=True)])
            if unit_vectors is not None:
                db.executemany(
                    "INSERT INTO units (chunk_id, doc_id, position, vector) VALUES (?, ?, ?, ?)",
                    [(c.id, c.doc_id, pos, v.astype(np.float32).tobytes())
                     for c, matrix in zip(chunks, unit_vectors, strict=True) for pos, v in enumerate(matrix)],
                )
            db.executemany(
                "INSERT INTO chunks (id, doc_id, ordinal, kind, body, vector) VALUES (?, ?, ?, ?, ?, ?)",
                [(c.id, c.doc_id, c.ordinal, c.kind, c.to_json(), v.astype(np.float32).tobytes())
                 for c, v in zip(chunks, vectors, strict=True)],
            )
            db.execute(
                "INSERT OR REPLACE INTO documents VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (doc.id, doc.file, doc.fingerprint, doc.title, doc.kind, doc.language, len(chunks), doc.indexed_at,
                 json.dumps(doc.meta, ensure_ascii=False)),
            )

    def delete_document(self, doc_id: str) -> None:
        with self.transaction() as db:
            db.execute("DELETE FROM units WHERE doc_id = ?", (doc_id,))
            db.execute("DELETE FROM latent_terms WHERE doc_id = ?", (doc_id,))
            db.execute("DELETE FROM chunks WHERE doc_id = ?", (doc_id,))
            db.execute("DELETE FROM documents WHERE id = ?", (doc_id,))

    # chunks
    def chunk_ids(self, doc_id: str | None = None) -> set[str]:
        if doc_id is None:
            return {r[0] for r in self.db.execute("SELECT id FROM chunks")}
        return {r[0] for r in self.db.execute("SELECT id FROM chunks WHERE doc_id = ?", (doc_id,))}

    def get(self, ids: Iterable[str]) -> dict[str, Chunk]:
        ids = list(ids)
        found: dict[str, Chunk] = {}
        for start in range(0, len(ids), 500):
            part = ids[start:start + 500]
            marks = ",".join("?" * len(part))
            for cid, body in self.db.execute(f"SELECT id, body FROM chunks WHERE id IN ({marks})", part):
                found[cid] = Chunk.from_json(body)
        return found

    def neighbours(self, doc_id: str, ordinal: int, span: int = 1) -> list[Chunk]:
        rows = self.db.execute("SELECT body FROM chunks WHERE doc_id = ? AND ordinal BETWEEN ? AND ? ORDER BY ordinal",
                               (doc_id, ordinal - span, ordinal + span))
        return [Chunk.from_json(r[0]) for r in rows]

    def iter_chunks(self, with_vectors: bool = False) -> Iterator[tuple[Chunk, np.ndarray | None]]:
        columns = "body, vector" if with_vectors else "body"
        for row in self.db.execute(f"SELECT {columns} FROM chunks ORDER BY doc_id, ordinal"):
            vector = np.frombuffer(row[1], dtype=np.float32) if with_vectors else None
            yield Chunk.from_json(row[0]), vector

    def _float_rows(self, select: str, keys: list[str]) -> dict[str, np.ndarray]:
        """`select` (key, blob … WHERE key IN) for these keys, 500 at a time: the blobs as float32 arrays."""
        out: dict[str, np.ndarray] = {}
        for start in range(0, len(keys), 500):
            part = keys[start:start + 500]
            for key, blob in self.db.execute(f"{select} ({','.join('?' * len(part))})", part):
                out[key] = np.frombuffer(blob, dtype=np.float32)
        return out

    def vectors(self, ids: list[str]) -> dict[str, np.ndarray]:
        return self._float_rows("SELECT id, vector FROM chunks WHERE id IN", ids)

    def count(self) -> int:
        return self.db.execute("SELECT COUNT(*) FROM chunks").fetchone()[0]

    def unit_vectors(self) -> tuple[list[str], np.ndarray, np.ndarray]:
        """Every evidence unit's (chunk id, position, vector), as a chunk-id list, a position array and a matrix."""
        rows = self.db.execute("SELECT chunk_id, position, vector FROM units ORDER BY chunk_id, position").fetchall()
        if not rows:
            return [], np.zeros(0, dtype=np.int32), np.zeros((0, 0), dtype=np.float32)
        matrix = np.frombuffer(b"".join(r[2] for r in rows), dtype=np.float32).reshape(len(rows), -1)
        return [r[0] for r in rows], np.array([r[1] for r in rows], dtype=np.int32), matrix

    def latent_terms(self, ids: list[str] | None = None) -> dict[str, np.ndarray]:
        """The packed latent terms (indexer.embeddings) of these chunks, or of every chunk; a chunk indexed without
        them (another embedder) has none."""
        if ids is None:
            return {cid: np.frombuffer(blob, dtype=np.float32)
                    for cid, blob in self.db.execute("SELECT chunk_id, vector FROM latent_terms")}
        return self._float_rows("SELECT chunk_id, vector FROM latent_terms WHERE chunk_id IN", ids)

    # embedding cache
    def cached_vectors(self, keys: list[str]) -> dict[str, np.ndarray]:
        return self._float_rows("SELECT key, vector FROM embed_cache WHERE key IN", keys)

    def cache_vectors(self, items: dict[str, np.ndarray]) -> None:
        with self.transaction() as db:
            db.executemany("INSERT OR REPLACE INTO embed_cache VALUES (?, ?)",
                           [(k, v.astype(np.float32).tobytes()) for k, v in items.items()])


# Chroma's HNSW default (ef_search=100) misses some true neighbours and returns a slightly different top-k
# from one process to the next. This breadth makes misses rarer, not absent (on the shipped index, 2 to 7 of
# 1,613 searches still lost a true neighbour), so the retriever searches an index of up to
# `Retriever.EXACT_LIMIT` chunks exactly itself and asks Chroma beyond that.
EF_SEARCH = 500


class VectorStore:
    """The Chroma collection. Vectors are always given by us: Chroma never embeds (nor downloads) anything."""

    def __init__(self, data_dir: Path, settings: StoreSettings):
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        chroma_settings = ChromaSettings(anonymized_telemetry=False)
        if settings.chroma_host:
            self.client = chromadb.HttpClient(host=settings.chroma_host, port=settings.chroma_port,
                                              settings=chroma_settings)
            self.where = f"http://{settings.chroma_host}:{settings.chroma_port}"
        else:
            path = data_dir / "chroma"
            path.mkdir(parents=True, exist_ok=True)
            self.client = chromadb.PersistentClient(path=str(path), settings=chroma_settings)
            self.where = str(path)
        self.name = settings.collection
        self.collection = self._open()

    def _open(self):
        """The collection, created cosine; an older one has its search breadth raised to `EF_SEARCH`."""
        collection = self.client.get_or_create_collection(
            self.name, embedding_function=None, configuration={"hnsw": {"space": "cosine", "ef_search": EF_SEARCH}})
        hnsw = (collection.configuration or {}).get("hnsw") or {}
        if hnsw.get("ef_search", EF_SEARCH) < EF_SEARCH:
            collection.modify(configuration={"hnsw": {"ef_search": EF_SEARCH}})
        return collection

    def ids(self) -> set[str]:
        ids: set[str] = set()
        offset = 0
        while True:
            page = self.collection.get(include=[], limit=5000, offset=offset)["ids"]
            ids.update(page)
            if len(page) < 5000:
                return ids
            offset += len(page)

    def upsert(self, chunks: list[Chunk], vectors: np.ndarray, batch: int = 1000) -> None:
        for start in range(0, len(chunks), batch):
            part = chunks[start:start + batch]
            self.collection.upsert(
                ids=[c.id for c in part], embeddings=vectors[start:start + batch],
                documents=[c.text for c in part], metadatas=[c.chroma_metadata() for c in part])

    def delete(self, ids: Iterable[str], batch: int = 1000) -> None:
        ids = list(ids)
        for start in range(0, len(ids), batch):
            self.collection.delete(ids=ids[start:start + batch])

    def count(self) -> int:
        return self.collection.count()

    def query(self, vector: np.ndarray, k: int, where: dict | None = None) -> list[tuple[str, float]]:
        """(chunk id, cosine similarity) best first."""
        if self.collection.count() == 0:
            return []
        result = self.collection.query(query_embeddings=[vector], n_results=k, where=where or None,
                                       include=["distances"])
        return [(cid, 1.0 - float(dist)) for cid, dist in zip(result["ids"][0], result["distances"][0], strict=True)]

    def reset(self) -> None:
        self.client.delete_collection(self.name)
        self.collection = self._open()


@lru_cache(maxsize=1)
def spanish_stemmer():
    """The Snowball Spanish stemmer of the lexical index (its stems are the words BM25 counts)."""
    import Stemmer

    return Stemmer.Stemmer("spanish")


def lexical_tokens(texts: list[str], stopwords: str | list[str] = "es"):
    import bm25s

    return bm25s.tokenize([fold(t) for t in texts], stopwords=stopwords, stemmer=spanish_stemmer(), show_progress=False)


def chunk_set_stamp(ids: Iterable[str]) -> str:
    return hashlib.sha1("\n".join(sorted(ids)).encode()).hexdigest()


class LexicalIndex:
    """BM25 over the docstore's chunks; built at index time, loaded once by the assistant."""

    def __init__(self, retriever, ids: list[str], stamp: str):
        self.retriever = retriever
        self.ids = ids
        self.stamp = stamp

    @classmethod
    def build(cls, chunks: list[Chunk]) -> LexicalIndex:
        import bm25s

        ids = [c.id for c in chunks]
        retriever = bm25s.BM25()
        if chunks:
            retriever.index(lexical_tokens([f"{c.section}\n{c.text}" for c in chunks]), show_progress=False)
        return cls(retriever, ids, chunk_set_stamp(ids))

    def save(self, folder: Path) -> None:
        """Write beside the old index, then swap: a kill leaves either the old or the new one."""
        tmp = folder.with_name(folder.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        if self.ids:
            self.retriever.save(str(tmp))
        (tmp / "ids.json").write_text(json.dumps({"stamp": self.stamp, "ids": self.ids}), encoding="utf-8")
        old = folder.with_name(folder.name + ".old")
        shutil.rmtree(old, ignore_errors=True)
        if folder.exists():
            folder.rename(old)
        tmp.rename(folder)
        shutil.rmtree(old, ignore_errors=True)

    @classmethod
    def load(cls, folder: Path) -> LexicalIndex | None:
        import bm25s

        meta_path = folder / "ids.json"
        if not meta_path.exists():
            return None
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        retriever = bm25s.BM25.load(str(folder)) if meta["ids"] else bm25s.BM25()
        return cls(retriever, meta["ids"], meta["stamp"])

    def document_frequency(self, stems: Iterable[str]) -> dict[str, int]:
        """How many indexed chunks hold each stem (0: none does)."""
        vocab = getattr(self.retriever, "vocab_dict", None) or {}
        indptr = self.retriever.scores["indptr"] if vocab else None
        out = {}
        for stem in stems:
            i = vocab.get(stem)
            out[stem] = int(indptr[i + 1] - indptr[i]) if i is not None and i + 1 < len(indptr) else 0
        return out

    def inverse_document_frequency(self, stems: Iterable[str]) -> dict[str, float]:
        """idf = ln((N + 1) / (df + 1)) of each stem over the indexed chunks; a stem no chunk holds gets the
        highest value, ln(N + 1)."""
        return self.idf(self.document_frequency(stems))

    def idf(self, frequencies: dict[str, int]) -> dict[str, float]:
        """The idf of each stem from its document frequency (`document_frequency`), as above."""
        import math

        n = len(self.ids)
        return {stem: math.log((n + 1) / (df + 1)) for stem, df in frequencies.items()}

    def search(self, query: str, k: int) -> list[tuple[str, float]]:
        if not self.ids:
            return []
        tokens = lexical_tokens([query])
        if not tokens.vocab or not any(len(ids) for ids in tokens.ids):
            return []
        import bm25s

        query_tokens = bm25s.tokenization.convert_tokenized_to_string_list(tokens)
        if not query_tokens[0]:
            return []
        docs, scores = self.retriever.retrieve(query_tokens, k=min(k, len(self.ids)), show_progress=False,
                                               n_threads=1)
        return [(self.ids[int(d)], float(s)) for d, s in zip(docs[0], scores[0], strict=True) if s > 0]
