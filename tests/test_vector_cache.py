"""The shipped corpus's vector cache (corpus/.vectors/): it covers the whole shipped corpus, so a fresh index
embeds nothing, and its vectors are the embedder's own (a sample recomputed now matches)."""

from __future__ import annotations

import random

import numpy as np

from indexer.embeddings import get_embedder
from indexer.sentences import evidence_units, unit_embedding_text
from indexer.settings import PROJECT_ROOT, EmbeddingSettings
from indexer.stores import DocStore, embed_key
from indexer.vector_cache import cache_path, shipped_vectors

CORPUS = PROJECT_ROOT / "corpus"


def test_a_fresh_index_of_the_shipped_corpus_embeds_nothing(shipped_index_run):
    _, report = shipped_index_run
    assert report.texts_embedded == 0, f"{report.texts_embedded} textos sin vector en corpus/.vectors/"
    assert report.chunks_total > 500


def test_cached_vectors_match_the_embedder_on_a_sample(shipped_index):
    embedder = get_embedder(EmbeddingSettings())
    assert cache_path(CORPUS, embedder.name).is_file()
    docstore = DocStore(shipped_index.data_dir / "docstore.sqlite")
    try:
        chunks = [c for c, _ in docstore.iter_chunks()]
    finally:
        docstore.close()
    rng = random.Random(7)
    sample = rng.sample(chunks, 4)
    texts = [c.embedding_text() for c in sample]
    texts += [unit_embedding_text(c, units[0]) for c in rng.sample(chunks, 8) if (units := evidence_units(c))][:4]
    cached = shipped_vectors(CORPUS, embedder.name, [embed_key(embedder.name, t) for t in texts])
    assert len(cached) == len(texts)
    fresh = embedder.embed_array(texts)
    for text, vector in zip(texts, fresh, strict=True):
        stored = cached[embed_key(embedder.name, text)]
        assert float(np.dot(stored, vector) / (np.linalg.norm(stored) * np.linalg.norm(vector))) > 0.999


def test_a_changed_text_is_not_found_in_the_cache():
    name = get_embedder(EmbeddingSettings()).name
    assert shipped_vectors(CORPUS, name, [embed_key(name, "un texto que el corpus no tiene, escrito para la prueba")]) == {}
    assert shipped_vectors(CORPUS, "otro-modelo/v1", [embed_key("otro-modelo/v1", "Objetivo 14")]) == {}
