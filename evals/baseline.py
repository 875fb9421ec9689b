"""The LangChain tutorial pipeline, run beside ours for comparison.

Load the corpus files as plain text → `RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200)`
→ embed with the same embedder as the product → an embedded Chroma collection → top-k dense retrieval.
It has no composer: its "answer" for the grounding metrics is the first three sentences of the top-1
chunk, each citing [1]; it never abstains and does not resolve follow-ups.

The collection is cached under DATA/baseline_chroma and reused while the corpus files, the splitter
settings and the embedder are unchanged (embedding ~800 chunks takes minutes on two cores).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from indexer.chunking import split_sentences

CHUNK_SIZE = 1000
CHUNK_OVERLAP = 200
COLLECTION = "baseline_tutorial"
CACHE_DIR = "baseline_chroma"
STAMP_FILE = "baseline.json"
ANSWER_SENTENCES = 3
EXACT_EF_SEARCH = 1000


def corpus_files(corpus_dir: Path) -> list[tuple[str, Path]]:
    """(doc_id, path) of the corpus's text files: the manifest's .md/.txt entries, else every .md/.txt
    file but the folder's own notes (SOURCES.md, README.md)."""
    manifest = corpus_dir / "manifest.json"
    if manifest.is_file():
        docs = json.loads(manifest.read_text(encoding="utf-8")).get("documents", [])
        out = [(d["id"], corpus_dir / d["file"]) for d in docs
               if Path(d["file"]).suffix.lower() in {".md", ".txt"} and (corpus_dir / d["file"]).is_file()]
        if out:
            return out
    skip = {"sources.md", "readme.md"}
    return [(p.stem, p) for p in sorted([*corpus_dir.glob("*.md"), *corpus_dir.glob("*.txt")])
            if p.name.lower() not in skip]


def corpus_stamp(files: list[tuple[str, Path]], embedder_name: str) -> str:
    digest = hashlib.sha256(f"{CHUNK_SIZE}:{CHUNK_OVERLAP}:{embedder_name}".encode())
    for doc_id, path in files:
        digest.update(doc_id.encode() + b"\x1f" + path.read_bytes() + b"\x1e")
    return digest.hexdigest()


@dataclass
class BaselineHit:
    chunk_id: str
    doc_id: str
    text: str
    score: float


class Baseline:
    """The tutorial pipeline over one corpus, with its Chroma collection cached in `cache_dir`."""

    def __init__(self, corpus_dir: Path, cache_dir: Path, embedder, log: Callable[[str], None] = print):
        from langchain_chroma import Chroma

        self.embedder = embedder
        self.cache_dir = Path(cache_dir)
        files = corpus_files(Path(corpus_dir))
        if not files:
            raise RuntimeError(f"línea base: no hay archivos .md/.txt en {corpus_dir}")
        name = getattr(embedder, "name", type(embedder).__name__)
        stamp = corpus_stamp(files, name)
        stamp_path = self.cache_dir / STAMP_FILE
        cached = stamp_path.is_file() and json.loads(stamp_path.read_text(encoding="utf-8")).get("stamp") == stamp
        self.rebuilt = not cached
        if not cached:
            stamp_path.unlink(missing_ok=True)
        self.store = Chroma(collection_name=COLLECTION, embedding_function=embedder,
                            persist_directory=str(self.cache_dir),
                            collection_configuration={"hnsw": {"ef_search": EXACT_EF_SEARCH}})
        if not cached:  # emptied through Chroma itself: the process's client for this folder stays valid
            self.store.reset_collection()
        self.build_s = 0.0
        if not cached:
            started = time.perf_counter()
            documents = self._split(files)
            log(f"línea base: {len(documents)} fragmentos que incrustar (solo la primera vez)…")
            batch = 32
            for start in range(0, len(documents), batch):
                part = documents[start:start + batch]
                self.store.add_documents(part, ids=[d.metadata["chunk_id"] for d in part])
                log(f"línea base: {min(start + batch, len(documents))}/{len(documents)}")
            self.build_s = time.perf_counter() - started
            stamp_path.write_text(json.dumps({"stamp": stamp, "chunks": len(documents), "embedder": name,
                                              "chunk_size": CHUNK_SIZE, "chunk_overlap": CHUNK_OVERLAP}),
                                  encoding="utf-8")
        self.chunks = self.store._collection.count()
        self._exact_search(log)

    def _exact_search(self, log: Callable[[str], None]) -> None:
        """Chroma's HNSW default (ef_search=100) makes top-k approximate and different from one process to the
        next (the graph is rebuilt with random levels); with ef_search above the collection's size it is exact
        and repeatable. New collections are created so; an older cache is upgraded for the next process (a
        modified setting does not reach the index this process has already loaded)."""
        collection = self.store._collection
        current = ((collection.configuration_json or {}).get("hnsw") or {}).get("ef_search") or 0
        if current < max(EXACT_EF_SEARCH, self.chunks):
            collection.modify(configuration={"hnsw": {"ef_search": max(EXACT_EF_SEARCH, self.chunks)}})
            log("línea base: búsqueda exacta a partir de la próxima ejecución (ef_search actualizado)")

    @staticmethod
    def _split(files: list[tuple[str, Path]]):
        from langchain_core.documents import Document
        from langchain_text_splitters import RecursiveCharacterTextSplitter

        splitter = RecursiveCharacterTextSplitter(chunk_size=CHUNK_SIZE, chunk_overlap=CHUNK_OVERLAP,
                                                  add_start_index=True)
        docs = [Document(page_content=path.read_text(encoding="utf-8"), metadata={"doc_id": doc_id,
                                                                                   "source": path.name})
                for doc_id, path in files]
        pieces = splitter.split_documents(docs)
        counters: dict[str, int] = {}
        for piece in pieces:
            doc_id = piece.metadata["doc_id"]
            counters[doc_id] = counters.get(doc_id, 0) + 1
            piece.metadata["chunk_id"] = f"baseline:{doc_id}:{counters[doc_id]:05d}"
        return pieces

    def retrieve(self, question: str, k: int = 10) -> list[BaselineHit]:
        hits = self.store.similarity_search_with_score(question, k=k)
        # Chroma's default space is squared L2; on unit vectors cosine = 1 - d/2.
        return [BaselineHit(d.metadata["chunk_id"], d.metadata["doc_id"], d.page_content, round(1 - s / 2, 4))
                for d, s in hits]

    def vectors(self, ids: list[str]) -> dict[str, np.ndarray]:
        if not ids:
            return {}
        got = self.store._collection.get(ids=list(ids), include=["embeddings"])
        return {cid: np.asarray(v, dtype=np.float32) for cid, v in zip(got["ids"], got["embeddings"], strict=True)}

    def ask(self, question: str, id: str | None = None, k: int = 10) -> dict:
        """A result shaped like `ask --json` (DESIGN.md), so the same metrics apply."""
        started = time.perf_counter()
        hits = self.retrieve(question, k)
        retrieve_ms = (time.perf_counter() - started) * 1000
        answer, citations = "", []
        if hits:
            top = hits[0]
            sentences = [s.strip() for s in split_sentences(" ".join(top.text.split())) if s.strip()]
            sentences = sentences[:ANSWER_SENTENCES]
            answer = "\n".join(f"{s} [1]" for s in sentences)
            citations = [{"n": 1, "label": top.chunk_id, "doc_id": top.doc_id, "chunk_id": top.chunk_id,
                          "section": "", "page": None, "quote": " ".join(sentences)}]
        total_ms = (time.perf_counter() - started) * 1000
        return {"id": id, "question": question, "language": None, "answer": answer, "abstained": False,
                "citations": citations,
                "contexts": [{"chunk_id": h.chunk_id, "doc_id": h.doc_id, "text": h.text, "score": h.score,
                              "metadata": {}} for h in hits],
                "backend": "langchain-tutorial",
                "timings_ms": {"retrieve": round(retrieve_ms, 1), "compose": round(total_ms - retrieve_ms, 1),
                               "total": round(total_ms, 1)}}


class ShippedCacheEmbeddings:
    """The product's embedder, reading the shipped corpus's vector cache first (indexer.vector_cache): the
    baseline's chunks of the shipped corpus are not embedded again on a fresh machine (CI)."""

    def __init__(self, embedder, corpus_dir: Path):
        self.embedder = embedder
        self.corpus_dir = Path(corpus_dir)
        self.name = getattr(embedder, "name", type(embedder).__name__)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        from indexer.stores import embed_key
        from indexer.vector_cache import shipped_vectors

        keys = [embed_key(self.name, t) for t in texts]
        found = shipped_vectors(self.corpus_dir, self.name, keys)
        missing = [i for i, k in enumerate(keys) if k not in found]
        fresh = self.embedder.embed_documents([texts[i] for i in missing]) if missing else []
        vectors: list = [found[k].tolist() if k in found else None for k in keys]
        for i, v in zip(missing, fresh, strict=True):
            vectors[i] = list(v)
        return vectors

    def embed_query(self, text: str) -> list[float]:
        return self.embedder.embed_query(text)


def baseline_vectors(settings) -> dict[str, np.ndarray]:
    """embed_key → vector of every chunk of the built baseline collection (for the shipped vector cache)."""
    from indexer.stores import embed_key

    if not baseline_cached(settings):
        return {}
    baseline = open_baseline(settings, log=lambda _line: None)
    got = baseline.store._collection.get(include=["documents", "embeddings"])
    name = baseline.embedder.name
    return {embed_key(name, text): np.asarray(v, dtype=np.float32)
            for text, v in zip(got["documents"], got["embeddings"], strict=True)}


def baseline_cached(settings) -> bool:
    """Whether DATA/baseline_chroma holds a complete collection of the current corpus (no embedding needed)."""
    from indexer.embeddings import get_embedder

    stamp_path = settings.data_dir / CACHE_DIR / STAMP_FILE
    if not stamp_path.is_file():
        return False
    files = corpus_files(Path(settings.index.corpus_dir))
    embedder = get_embedder(settings.index.embeddings)
    name = getattr(embedder, "name", type(embedder).__name__)
    return bool(files) and json.loads(stamp_path.read_text(encoding="utf-8")).get("stamp") == corpus_stamp(files, name)


def open_baseline(settings, log: Callable[[str], None] = print) -> Baseline:
    from indexer.embeddings import get_embedder

    return Baseline(settings.index.corpus_dir, settings.data_dir / CACHE_DIR,
                    ShippedCacheEmbeddings(get_embedder(settings.index.embeddings), settings.index.corpus_dir), log=log)
