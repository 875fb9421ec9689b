"""The passage reranker (assistant.rerank): trees exported from scikit-learn score as scikit-learn does, the
shipped model reads the features retrieval computes, and retrieval's order is the reranker's."""

from __future__ import annotations

import numpy as np
import pytest

from assistant.query import understand
from assistant.rerank import PASSAGE_FEATURES, TreeModel, model


def test_trees_exported_from_scikit_learn_score_as_scikit_learn_does(tmp_path):
    from sklearn.ensemble import HistGradientBoostingClassifier

    rng = np.random.default_rng(7)
    x = rng.normal(size=(600, 4))
    x[:, 3] = rng.integers(0, 2, size=600)  # a 0/1 flag: values sit on the split thresholds
    y = ((x[:, 0] + x[:, 1] * x[:, 3] + rng.normal(scale=0.5, size=600)) > 0.3).astype(int)
    fitted = HistGradientBoostingClassifier(max_depth=3, max_iter=30, early_stopping=False, random_state=0).fit(x, y)
    names = ("a", "b", "c", "flag")
    exported = TreeModel.from_sklearn(fitted, names, meta={"note": "test"})
    (tmp_path / "trees.json").write_text(exported.to_json(), encoding="utf-8")
    loaded = TreeModel.load("trees", tmp_path)
    probe = np.vstack([x[:50], rng.normal(size=(50, 4)).round(1)])
    rows = [dict(zip(names, row, strict=True)) for row in probe]
    assert np.allclose(loaded.log_odds(rows), fitted.decision_function(probe), atol=1e-5)
    assert np.allclose(loaded.probabilities(rows), fitted.predict_proba(probe)[:, 1], atol=1e-5)
    assert loaded.meta == {"note": "test"} and len(loaded.trees) == 30


def test_the_shipped_reranker_reads_the_features_retrieval_computes():
    reranker = model()
    assert reranker is not None and reranker.features == PASSAGE_FEATURES
    meta = reranker.meta
    assert meta["fit"]["positives"] > 100  # fitted on the dev pools
    # measured out of fold on dev and on the held-out split, against the fused order it replaces
    assert meta["dev"]["reranked_recall@5_out_of_fold"] > meta["dev"]["fused_recall@5"]
    assert "reranked_recall@5" in meta["test"]


@pytest.mark.slow
def test_retrieval_orders_its_candidates_by_the_reranker(assistant):
    retriever = assistant.retriever
    query = understand("¿Qué dificultades encontró el Perú para regularizar a los migrantes venezolanos?", [],
                       assistant.catalog, "es")
    shipped = retriever.retrieve(query)
    pool = shipped.pool
    assert len(pool) >= 40 and all(set(PASSAGE_FEATURES) <= set(p.features) for p in pool)
    assert np.allclose([p.score for p in pool], retriever.reranker.probabilities([p.features for p in pool]))
    assert [p.score for p in pool] == sorted((p.score for p in pool), reverse=True)
    assert shipped.passages[0].chunk.id == pool[0].chunk.id  # MMR keeps the most probable passage first

    # a reranker that only wants tables puts the pool's tables first, whatever their fused rank
    tables_first = TreeModel(features=PASSAGE_FEATURES, baseline=0.0, trees=[
        {"feature": [PASSAGE_FEATURES.index("table"), -1, -1], "threshold": [0.5, 0.0, 0.0],
         "left": [1, -1, -1], "right": [2, -1, -1], "value": [0.0, -2.0, 2.0]}])
    tables = sum(1 for p in pool if p.chunk.kind == "table")
    assert 0 < tables < len(pool)
    try:
        retriever.reranker = tables_first
        reordered = retriever.retrieve(query).pool
        assert all(p.chunk.kind == "table" for p in reordered[:tables])
        retriever.reranker = None  # no reranker: the fused order, which is not the shipped reranker's
        fused = retriever.retrieve(query).pool
        assert [p.score for p in fused] == sorted((p.score for p in fused), reverse=True)
        assert [p.chunk.id for p in fused] != [p.chunk.id for p in pool]
    finally:
        retriever.reranker = model()


def test_a_question_that_brings_catalog_titles_is_also_searched_on_its_own_words(assistant):
    """«¿Qué desafíos reporta el Perú en el objetivo 14?» is searched with the objective's titles and, beside
    that, on its own words: one more embedding, whose dense and sentence lists join the fusion."""
    retriever = assistant.retriever
    named = understand("¿Qué desafíos reporta el Perú en el objetivo 14?", [], retriever.catalog)
    plain = understand("¿Qué desafíos reporta el Perú en materia consular?", [], retriever.catalog)
    assert named.search_text != named.resolved and plain.search_text == plain.resolved
    assert retriever._question_alone(named) == [named.resolved] and retriever._question_alone(plain) == []
    embedded: list[str] = []
    original = retriever.embed_query

    def counting(text):
        embedded.append(text)
        return original(text)

    retriever.embed_query = counting
    try:
        retriever.retrieve(named)
        assert embedded == [named.search_text, named.resolved]
        embedded.clear()
        retriever.retrieve(plain)
        assert embedded == [plain.search_text]
        retriever.settings.retrieval.dense_question_alone = False
        assert retriever._question_alone(named) == []
    finally:
        retriever.embed_query = original
        retriever.settings.retrieval.dense_question_alone = True


def test_sentences_are_scored_against_the_question_as_asked_not_its_expansions(assistant):
    """The objective's titles help find passages, but the sentence that answers «¿Qué desafíos reporta el Perú en
    el objetivo 14?» is the one closest to what it asks: the evidence ranker's closeness of each sentence
    (`Passage.unit_similarity`) comes from the question's own vector, not from that of its search text."""
    retriever = assistant.retriever
    named = understand("¿Qué desafíos reporta el Perú en el objetivo 14?", [], retriever.catalog)
    assert named.search_text != named.resolved
    result = retriever.retrieve(named)
    own, searched = (retriever.unit_matrix @ retriever.embed_query(t).astype(np.float32)
                     for t in (named.resolved, named.search_text))
    for passage in result.passages[:3]:
        start, end = retriever.unit_span[passage.chunk.id]
        scores = passage.unit_similarity[passage.chunk.id]
        assert np.allclose(scores, own[start:end], atol=1e-5)
        assert not np.allclose(scores, searched[start:end], atol=1e-3)


def test_dense_search_is_exact_and_the_same_every_time(assistant, monkeypatch):
    """The nearest chunks are the true nearest (Chroma's graph search, which it replaces up to `EXACT_LIMIT`
    chunks, lost some, and not the same ones from one process to the next); a larger index is searched by Chroma."""
    from assistant.retrieval import Retriever

    retriever = assistant.retriever
    ids, vectors = zip(*((c.id, v) for c, v in retriever.docstore.iter_chunks(with_vectors=True)), strict=True)
    matrix = np.stack(vectors) / np.linalg.norm(np.stack(vectors), axis=1, keepdims=True)
    rng = np.random.default_rng(3)
    for row in rng.choice(len(ids), 20, replace=False):
        q = matrix[row] + 0.08 * rng.standard_normal(matrix.shape[1]).astype(np.float32)
        truth = [ids[i] for i in np.argsort(-(matrix @ (q / np.linalg.norm(q))), kind="stable")[:40]]
        found = retriever._dense(q, 40, None)
        assert [cid for cid, _ in found] == truth
        assert [cid for cid, _ in retriever._dense(q, 40, None)] == truth
        assert all(a[1] >= b[1] for a, b in zip(found, found[1:], strict=False))
    monkeypatch.setattr(Retriever, "EXACT_LIMIT", 0)
    large = Retriever(assistant.settings)
    try:
        assert large.chunk_matrix is None
        assert large._dense(matrix[5], 5, None)[0][0] == ids[5]  # Chroma answers, and finds the chunk itself
        # the vectors read from the docstore are those held in memory
        some = list(ids[:30])
        held, read = retriever._vectors(some), large._vectors(some)
        assert list(held) == some and set(read) == set(some)
        assert all(np.allclose(held[c], read[c] / np.linalg.norm(read[c]), atol=1e-6) for c in some)
    finally:
        large.close()


def test_latent_terms_find_the_passage_a_question_paraphrases(assistant, monkeypatch):
    """A chunk's latent terms match those of its own text best of the whole index, and a few of its words put it
    above the other candidates; beyond `EXACT_LIMIT` the docstore's rows give the same scores among candidates."""
    from assistant.retrieval import Retriever

    retriever = assistant.retriever
    chunks = [c for c, _ in retriever.docstore.iter_chunks() if len(c.text.split()) > 60]
    rng = np.random.default_rng(5)
    picked = [chunks[i] for i in rng.choice(len(chunks), 4, replace=False)]
    others = [c.id for c in chunks[:30]]
    for chunk in picked:
        scores = retriever.latent_scores(chunk.embedding_text(), [chunk.id, *others])
        assert scores[chunk.id] == (1.0, 0)
        assert all(scores[cid][0] < 1.0 for cid in others if cid != chunk.id)
    monkeypatch.setattr(Retriever, "EXACT_LIMIT", 0)
    large = Retriever(assistant.settings)
    try:
        assert large.latent_rows is None
        text = picked[0].embedding_text()
        held, read = retriever.latent_scores(text, others), large.latent_scores(text, others)
        assert sorted(held, key=lambda c: held[c][1]) == sorted(read, key=lambda c: read[c][1])
        best = max(held.values())[0]
        assert all(abs(read[c][0] * best - held[c][0]) < 1e-5 for c in others)
    finally:
        large.close()
