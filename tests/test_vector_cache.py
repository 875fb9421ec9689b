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


def test_cached_latent_terms_match_the_embedder_on_a_sample(shipped_index):
    """The chunks' latent terms are cached in a file of their own, and are the ones the model gives now. The 4-bit
    engine's sums differ slightly from one processor to another (an AMD EPYC with AVX-512 against the Intel machine
    that wrote the cache: weights within 2.7% of the largest on 20 chunks, 2 to 12 of the 256 kept terms swapped at
    the cut-off), so «the same» is: nearly all the same terms, with nearly the same weights. Another text's terms
    share far fewer."""
    from indexer.embeddings import unpack

    latent = get_embedder(EmbeddingSettings()).latent_terms
    assert latent is not None and cache_path(CORPUS, latent.name).is_file()
    docstore = DocStore(shipped_index.data_dir / "docstore.sqlite")
    try:
        chunks = [c for c, _ in docstore.iter_chunks()]
        stored = docstore.latent_terms([c.id for c in chunks])
    finally:
        docstore.close()
    assert set(stored) == {c.id for c in chunks}
    sample = random.Random(11).sample(chunks, 3)
    texts = [c.embedding_text() for c in sample]
    cached = shipped_vectors(CORPUS, latent.name, [embed_key(latent.name, t) for t in texts])
    assert len(cached) == len(texts)
    terms = []
    for chunk, text, fresh in zip(sample, texts, latent.embed_array(texts), strict=True):
        (features, weights), (now_features, now_weights) = unpack(cached[embed_key(latent.name, text)]), unpack(fresh)
        features, weights, now_features, now_weights = (a.ravel() for a in (features, weights, now_features,
                                                                              now_weights))
        assert (weights > 0).sum() > 100  # a real passage lights many features
        kept, now_kept = set(features[weights > 0]), set(now_features[now_weights > 0])
        assert len(kept & now_kept) >= 0.95 * len(kept)
        cached_weight, now_weight = dict(zip(features, weights, strict=True)), dict(zip(now_features, now_weights,
                                                                                         strict=True))
        assert max(abs(cached_weight[f] - now_weight[f]) for f in kept & now_kept) <= 0.05 * weights.max()
        assert np.array_equal(stored[chunk.id], cached[embed_key(latent.name, text)])
        terms.append(kept)
    assert len(terms[0] & terms[1]) < 0.8 * len(terms[0])  # two texts' terms are told apart by this measure


def test_a_changed_text_is_not_found_in_the_cache():
    name = get_embedder(EmbeddingSettings()).name
    assert shipped_vectors(CORPUS, name, [embed_key(name, "un texto que el corpus no tiene, escrito para la prueba")]) == {}
    assert shipped_vectors(CORPUS, "otro-modelo/v1", [embed_key("otro-modelo/v1", "Objetivo 14")]) == {}
