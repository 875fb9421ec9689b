"""The index run on small corpora: incremental re-index, repair, kill -9 recovery, and the index/stats CLI."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from indexer.pipeline import run_index
from indexer.settings import IndexSettings
from indexer.stores import VectorStore

TOPICS = [
    ("Protección consular", "la red consular atendió a connacionales en situación de vulnerabilidad"),
    ("Gestión de fronteras", "los puestos de control fronterizo coordinaron con los países vecinos"),
    ("Trata de personas", "las fiscalías especializadas investigaron casos de trata y tráfico ilícito"),
    ("Remesas", "las remesas de los peruanos en el exterior sostuvieron a miles de hogares"),
    ("Retorno", "la ley del migrante retornado facilitó incentivos tributarios al regreso"),
    ("Inclusión social", "los servicios básicos se abrieron a la población migrante sin discriminación"),
]


def doc_text(n: int, version: int = 1, paragraphs: int = 2) -> str:
    title, topic = TOPICS[n % len(TOPICS)]
    parts = [f"Informe {n}: {title}", ""]
    for p in range(paragraphs):
        parts += [f"Sección {p + 1}", "",
                  f"En la versión {version} del informe {n}, {topic}. Párrafo {p + 1} con datos del año {2018 + p}. "
                  f"El objetivo {n + 1} del PMM guarda relación con estas acciones.", ""]
    return "\n".join(parts)


def settings_for(root: Path, corpus: Path) -> IndexSettings:
    return IndexSettings(data_dir=root / "data", corpus_dir=corpus)


def quiet_run(settings: IndexSettings, **kwargs):
    return run_index(settings, progress=False, log=lambda _line: None, **kwargs)


@pytest.fixture
def small(tmp_path, make_corpus):
    corpus = make_corpus(tmp_path / "corpus", {f"informe_{n}.md": doc_text(n) for n in range(3)})
    return settings_for(tmp_path, corpus)


DOC_IDS = ["informe_0", "informe_1", "informe_2"]


# --- incremental re-index ---------------------------------------------------------------------------------

def test_second_run_without_change_is_a_no_op(small, index_state):
    first = quiet_run(small)
    assert sorted(first.indexed) == DOC_IDS
    assert first.chunks_embedded == first.chunks_total > 0
    before = index_state(small.data_dir)
    before.assert_consistent()

    second = quiet_run(small)
    assert sorted(second.unchanged) == DOC_IDS
    assert second.indexed == [] and second.removed == [] and second.problems == []
    assert second.chunks_embedded == 0
    after = index_state(small.data_dir)
    after.assert_consistent()
    assert after.chunk_ids == before.chunk_ids
    assert {d.id: d.fingerprint for d in after.documents.values()} == \
        {d.id: d.fingerprint for d in before.documents.values()}


def test_modified_file_is_the_only_one_reindexed(small, index_state):
    quiet_run(small)
    before = index_state(small.data_dir)
    old_ids = before.ids_of("informe_1")
    (small.corpus_dir / "informe_1.md").write_text(doc_text(1, version=2, paragraphs=3), encoding="utf-8")

    report = quiet_run(small)
    assert report.indexed == ["informe_1"]
    assert sorted(report.unchanged) == ["informe_0", "informe_2"]
    assert 0 < report.chunks_embedded <= len(index_state(small.data_dir).ids_of("informe_1"))
    after = index_state(small.data_dir)
    after.assert_consistent()
    assert old_ids and not (old_ids & after.chunk_ids)
    assert not (old_ids & after.chroma_ids)
    texts = " ".join(after.chunks[cid].text for cid in after.ids_of("informe_1"))
    assert "versión 2" in texts and "versión 1" not in texts
    for doc_id in ("informe_0", "informe_2"):
        assert after.ids_of(doc_id) == before.ids_of(doc_id)


def test_deleted_file_loses_its_chunks(small, index_state):
    quiet_run(small)
    gone = index_state(small.data_dir).ids_of("informe_2")
    assert gone
    (small.corpus_dir / "informe_2.md").unlink()

    report = quiet_run(small)
    assert report.removed == ["informe_2"]
    after = index_state(small.data_dir)
    after.assert_consistent()
    assert sorted(after.documents) == ["informe_0", "informe_1"]
    assert not (gone & after.chunk_ids) and not (gone & after.chroma_ids)
    assert not (gone & set(after.lexical.ids))


def test_file_that_becomes_unreadable_keeps_its_previous_version(small, index_state):
    quiet_run(small)
    kept = index_state(small.data_dir).ids_of("informe_0")
    (small.corpus_dir / "informe_0.md").write_bytes(b"")

    report = quiet_run(small)
    assert [p.file for p in report.problems] == ["informe_0.md"]
    assert any("anterior" in w.problem for w in report.warnings)
    assert report.removed == []
    after = index_state(small.data_dir)
    after.assert_consistent()
    assert after.ids_of("informe_0") == kept


def test_rebuild_reindexes_everything_with_the_same_ids(small, index_state):
    quiet_run(small)
    before = index_state(small.data_dir).chunk_ids
    report = quiet_run(small, rebuild=True)
    assert sorted(report.indexed) == DOC_IDS
    assert report.chunks_embedded == 0  # the embedding cache survives a rebuild
    after = index_state(small.data_dir)
    after.assert_consistent()
    assert after.chunk_ids == before


def test_run_repairs_chroma_from_the_docstore(small, index_state):
    quiet_run(small)
    state = index_state(small.data_dir)
    lost = sorted(state.ids_of("informe_1"))[:2]
    vectors = VectorStore(small.data_dir, small.store)
    vectors.delete(lost)
    vectors.collection.upsert(ids=["orphan:00000:0000"], embeddings=[[0.1] * 384], documents=["huérfano"],
                              metadatas=[{"doc_id": "orphan"}])
    assert index_state(small.data_dir).chroma_ids != state.chunk_ids

    report = quiet_run(small)
    assert report.repaired_orphans == 1
    assert report.repaired_missing == len(lost)
    assert report.chunks_embedded == 0
    index_state(small.data_dir).assert_consistent()


# --- kill -9 recovery ---------------------------------------------------------------------------------------

def cli_env() -> dict[str, str]:
    """The environment of a CLI run: no PA_* variable of the developer's shell leaks into it."""
    return {k: v for k, v in os.environ.items() if not k.startswith("PA_")}


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "cli", *args]


def fingerprints(data_dir: Path) -> dict[str, str]:
    path = data_dir / "docstore.sqlite"
    if not path.exists():
        return {}
    try:
        db = sqlite3.connect(str(path), timeout=1)
        try:
            return dict(db.execute("SELECT id, fingerprint FROM documents").fetchall())
        finally:
            db.close()
    except sqlite3.Error:
        return {}


def kill_when(cmd: list[str], cwd: Path, ready, timeout: float = 240) -> None:
    """Start cmd, SIGKILL it as soon as ready() holds; fail if it finished first (nothing would be tested)."""
    proc = subprocess.Popen(cmd, cwd=cwd, env=cli_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + timeout
    try:
        while not ready():
            assert proc.poll() is None, "the index run ended before the kill point"
            assert time.monotonic() < deadline, "kill point never reached"
            time.sleep(0.01)
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(timeout=30) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


KILL_CORPUS = {f"informe_{n}.md": doc_text(n, paragraphs=6) for n in range(6)}


@pytest.mark.slow
@pytest.mark.parametrize("kill_point", ["docstore_created", "one_document", "half_the_documents"])
def test_killed_run_then_full_run_leaves_a_consistent_index(tmp_path, make_corpus, committed_documents,
                                                            index_state, kill_point):
    corpus = make_corpus(tmp_path / "corpus", KILL_CORPUS)
    data = tmp_path / "data"
    ready = {
        "docstore_created": lambda: (data / "docstore.sqlite").exists(),
        "one_document": lambda: committed_documents(data) >= 1,
        "half_the_documents": lambda: committed_documents(data) >= 3,
    }[kill_point]
    kill_when(cli("index", "--data", str(data), "--corpus", str(corpus), "--quiet"), tmp_path, ready)
    assert committed_documents(data) < len(KILL_CORPUS)

    done = subprocess.run(cli("index", "--data", str(data), "--corpus", str(corpus), "--quiet", "--json"),
                          cwd=tmp_path, env=cli_env(), capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    summary = json.loads(done.stdout)
    assert summary["problems"] == []
    state = index_state(data)
    state.assert_consistent()
    assert sorted(state.documents) == sorted(Path(f).stem for f in KILL_CORPUS)
    assert summary["chunks"] == len(state.chunk_ids)


@pytest.mark.slow
def test_killed_reindex_of_modified_files_leaves_no_stale_chunk(tmp_path, make_corpus, index_state):
    corpus = make_corpus(tmp_path / "corpus", KILL_CORPUS)
    data = tmp_path / "data"
    first = subprocess.run(cli("index", "--data", str(data), "--corpus", str(corpus), "--quiet"),
                           cwd=tmp_path, env=cli_env(), capture_output=True, timeout=600)
    assert first.returncode == 0
    old = index_state(data)
    old_prints = fingerprints(data)
    for n in range(6):
        (corpus / f"informe_{n}.md").write_text(doc_text(n, version=2, paragraphs=6), encoding="utf-8")

    def one_replaced():
        now = fingerprints(data)
        return sum(now.get(k) != v for k, v in old_prints.items()) >= 1

    kill_when(cli("index", "--data", str(data), "--corpus", str(corpus), "--quiet"), tmp_path, one_replaced)
    done = subprocess.run(cli("index", "--data", str(data), "--corpus", str(corpus), "--quiet"),
                          cwd=tmp_path, env=cli_env(), capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    state = index_state(data)
    state.assert_consistent()
    assert len(state.documents) == 6
    assert not (old.chunk_ids & state.chunk_ids)
    assert not (old.chunk_ids & state.chroma_ids)
    assert all("versión 1" not in c.text for c in state.chunks.values())


# --- the CLI ------------------------------------------------------------------------------------------------

def test_cli_index_exit_status_and_stats(tmp_path, make_corpus, write_pdf, index_state):
    corpus = make_corpus(tmp_path / "corpus", {"informe_0.md": doc_text(0), "informe_1.md": doc_text(1)})
    raw = write_pdf(tmp_path / "ok.pdf", [["Texto de prueba."]]).read_bytes()
    (corpus / "roto.pdf").write_bytes(raw[: len(raw) // 2])
    data = tmp_path / "data"
    index = cli("index", "--data", str(data), "--corpus", str(corpus), "--quiet", "--json")

    partial = subprocess.run(index, cwd=tmp_path, env=cli_env(), capture_output=True, text=True, timeout=600)
    assert partial.returncode == 3, partial.stderr[-2000:]
    summary = json.loads(partial.stdout)
    assert sorted(summary["indexed"]) == ["informe_0", "informe_1"]
    assert len(summary["problems"]) == 1 and summary["problems"][0].startswith("roto.pdf: ")
    assert "ERROR roto.pdf" in partial.stderr

    (corpus / "roto.pdf").unlink()
    clean = subprocess.run(index, cwd=tmp_path, env=cli_env(), capture_output=True, text=True, timeout=600)
    assert clean.returncode == 0, clean.stderr[-2000:]
    assert json.loads(clean.stdout)["chunks_embedded"] == 0

    stats_run = subprocess.run(cli("stats", "--json", "--data", str(data)), cwd=tmp_path, env=cli_env(),
                               capture_output=True, text=True, timeout=120)
    assert stats_run.returncode == 0, stats_run.stderr
    stats = json.loads(stats_run.stdout)
    state = index_state(data)
    assert stats["chunks"] == len(state.chunk_ids)
    assert {d["id"]: d["chunks"] for d in stats["documents"]} == {
        doc_id: len(state.ids_of(doc_id)) for doc_id in state.documents}
    assert {d["id"]: d["title"] for d in stats["documents"]} == {d.id: d.title for d in state.documents.values()}
    assert stats["chunks_by_kind"] == dict(Counter(c.kind for c in state.chunks.values()))
    assert sum(stats["chunks_by_kind"].values()) == stats["chunks"]

    text_run = subprocess.run(cli("stats", "--data", str(data)), cwd=tmp_path, env=cli_env(), capture_output=True,
                              text=True, timeout=120)
    assert text_run.returncode == 0 and "informe_0" in text_run.stdout


def test_cli_stats_of_a_missing_index_is_empty(tmp_path):
    run = subprocess.run(cli("stats", "--json", "--data", str(tmp_path / "nada")), cwd=tmp_path, env=cli_env(),
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0
    stats = json.loads(run.stdout)
    assert stats["documents"] == [] and stats["chunks"] == 0
