"""The full index of the shipped corpus (built once per session by the `shipped_index` fixture)."""

from __future__ import annotations

import json
import shutil
import sqlite3

import pytest

from indexer.embeddings import get_embedder
from indexer.pipeline import PIPELINE_VERSION, run_index
from indexer.stats import index_stats
from indexer.stores import VectorStore

pytestmark = pytest.mark.slow

DOCS = {"tesis_bendezu_2022", "gcm_2018_en"}
OBJ14 = "Objetivo 14: Protección y asistencia consular"


@pytest.fixture(scope="module")
def state(shipped_index, index_state):
    return index_state(shipped_index.data_dir, shipped_index.store)


def test_stats_cover_both_documents_and_every_kind(shipped_index, state):
    stats = index_stats(shipped_index.data_dir)
    assert {d["id"] for d in stats["documents"]} == DOCS
    assert all(d["chunks"] > 0 for d in stats["documents"])
    assert stats["chunks"] == len(state.chunk_ids) == sum(d["chunks"] for d in stats["documents"])
    for kind in ("body", "table", "finding", "reference", "glossary", "gcm_action", "summary", "note"):
        assert stats["chunks_by_kind"].get(kind, 0) > 0, kind
    assert sum(stats["chunks_by_kind"].values()) == stats["chunks"]
    assert stats["chunks_by_pmm_objective"].get("14", 0) > 0


def test_chroma_docstore_and_bm25_hold_the_same_chunks(state):
    state.assert_consistent()


def test_the_author_id_number_is_nowhere(shipped_index, state):
    db = sqlite3.connect(str(shipped_index.data_dir / "docstore.sqlite"))
    try:
        hits = db.execute("SELECT COUNT(*) FROM chunks WHERE body LIKE '%71457028%'").fetchone()[0]
        form = db.execute("SELECT COUNT(*) FROM chunks WHERE body LIKE '%Firma del tesista%'").fetchone()[0]
    finally:
        db.close()
    assert hits == 0 and form == 0
    assert not any("71457028" in c.text or "71457028" in c.section for c in state.chunks.values())
    vectors = VectorStore(shipped_index.data_dir, shipped_index.store)
    assert vectors.collection.get(where_document={"$contains": "71457028"}, include=[])["ids"] == []
    assert vectors.collection.get(where_document={"$contains": "consular"}, include=[], limit=1)["ids"]


def test_objective_14_section_is_tagged_pmm_14(state):
    under = [c for c in state.chunks.values() if c.doc_id == "tesis_bendezu_2022" and OBJ14 in c.section_path]
    assert under
    assert all(14 in c.refs.pmm for c in under)
    assert any(c.kind == "body" and c.page == 118 for c in under)


def test_metadata_filter_and_dense_query_agree_with_the_docstore(shipped_index, state):
    embedder = get_embedder(shipped_index.embeddings)
    vectors = VectorStore(shipped_index.data_dir, shipped_index.store)
    hits = vectors.query(embedder.query_array("protección y asistencia consular a los peruanos en el exterior"), k=8,
                         where={"pmm_14": True})
    assert hits
    for chunk_id, score in hits:
        assert 14 in state.chunks[chunk_id].refs.pmm
        assert -1.0 <= score <= 1.0
    gcm = vectors.collection.get(where={"gcm_action": "14c"}, include=["documents"])
    assert len(gcm["ids"]) == 1
    assert gcm["documents"][0].startswith("(c) ")
    assert state.chunks[gcm["ids"][0]].doc_id == "gcm_2018_en"


def test_lexical_index_finds_a_table_row(shipped_index, state):
    from indexer.stores import LexicalIndex

    lexical = LexicalIndex.load(shipped_index.data_dir / "lexical")
    hits = lexical.search("DNI electrónico aplicación facial duplicados", k=5)
    assert hits
    assert any(state.chunks[cid].kind == "table" and 55 in state.chunks[cid].refs.tables for cid, _ in hits)


def test_index_manifest_and_published_catalog(shipped_index):
    manifest = json.loads((shipped_index.data_dir / "index.json").read_text(encoding="utf-8"))
    assert set(manifest["documents"]) == DOCS
    assert manifest["pipeline_version"] == PIPELINE_VERSION
    assert manifest["problems"] == []
    assert (shipped_index.data_dir / "catalog.json").read_bytes() == \
        (shipped_index.corpus_dir / "catalog.json").read_bytes()


def test_reindexing_the_unchanged_corpus_embeds_nothing(shipped_index, tmp_path, index_state):
    copy = tmp_path / "data"
    shutil.copytree(shipped_index.data_dir, copy)
    settings = shipped_index.model_copy(update={"data_dir": copy})
    before = index_state(copy).chunk_ids
    report = run_index(settings, progress=False, log=lambda _line: None)
    assert sorted(report.unchanged) == sorted(DOCS)
    assert report.indexed == [] and report.removed == [] and report.chunks_embedded == 0
    assert index_state(copy).chunk_ids == before
