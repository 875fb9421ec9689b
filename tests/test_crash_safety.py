"""kill -9 in the middle of writes, ten times in a row, with the corpus changing in between: the next run
completes and the index equals a clean index of the same corpus — no duplicate, no orphan.

Every kill lands where it hurts, and that is checked, not assumed: the run is killed as soon as, and only
once, one of its writes for a changed document is on disk — its vectors in the embedding cache, its chunks
in Chroma (before the docstore knows of them), or its document committed to the docstore — the three kinds
in turn, and the test verifies afterwards that the write is there and the run did not finish.
"""

from __future__ import annotations

import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from indexer.pipeline import run_index
from indexer.settings import IndexSettings
from indexer.stores import DocStore, LexicalIndex, VectorStore, chunk_set_stamp

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
TOPICS = ["protección consular", "trata de personas", "remesas", "retorno", "integración fronteriza",
          "documentación", "inclusión social", "datos migratorios"]
KILL_POINTS = ["vectors_cached", "chroma_written", "document_committed"]


def _write_doc(folder: Path, n: int, version: int) -> None:
    topic = TOPICS[n % len(TOPICS)]
    paragraphs = [f"Documento {n}, versión {version}, sobre {topic}."]
    paragraphs += [f"El párrafo {k} del documento {n} (versión {version}) describe acciones del Perú en materia de "
                   f"{topic} durante el año {2018 + k % 5}, con la participación de la MTIGM." for k in range(6)]
    (folder / f"doc_{n:02d}.md").write_text(f"# Informe {n}\n\n" + "\n\n".join(paragraphs) + "\n", encoding="utf-8")


def _query(path: Path, sql: str) -> list[tuple]:
    """Rows from a SQLite file another process may be writing (none while it is not there or is locked)."""
    if not path.exists():
        return []
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=0.5)
        try:
            return db.execute(sql).fetchall()
        finally:
            db.close()
    except sqlite3.Error:
        return []


class Writes:
    """What the stores of a data folder hold on disk, read from outside the process writing them."""

    def __init__(self, data: Path):
        self.docstore = data / "docstore.sqlite"
        self.chroma = data / "chroma" / "chroma.sqlite3"

    def cached_vectors(self) -> int:
        return (_query(self.docstore, "SELECT COUNT(*) FROM embed_cache") or [(0,)])[0][0]

    def chroma_seq(self) -> int:
        return (_query(self.chroma, "SELECT MAX(seq_id) FROM embeddings_queue") or [(None,)])[0][0] or 0

    def fingerprints(self) -> dict[str, str]:
        return dict(_query(self.docstore, "SELECT id, fingerprint FROM documents"))

    def began(self, point: str, before: dict) -> Callable[[], bool]:
        """The condition of a kill point: a write for this run is on disk."""
        if point == "vectors_cached":
            return lambda: self.cached_vectors() > before["cached"]
        if point == "chroma_written":
            return lambda: self.chroma_seq() > before["seq"]
        return lambda: any(before["prints"].get(k) != v for k, v in self.fingerprints().items())

    def snapshot(self) -> dict:
        return {"cached": self.cached_vectors(), "seq": self.chroma_seq(), "prints": self.fingerprints()}


def _kill_when(command: list[str], ready: Callable[[], bool], timeout: float = 180) -> bool:
    """Start the run and SIGKILL it the moment `ready()` holds. False when it finished first (no kill)."""
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + timeout
    try:
        while not ready():
            if proc.poll() is not None:
                return False
            assert time.monotonic() < deadline, "kill point never reached"
            time.sleep(0.005)
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(timeout=30) == -signal.SIGKILL, "the run ended before the kill landed"
        return True
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def _state(settings: IndexSettings) -> tuple[set[str], set[str], str | None]:
    store = DocStore(settings.data_dir / "docstore.sqlite")
    ids = store.chunk_ids()
    ordinals = store.db.execute("SELECT COUNT(*), COUNT(DISTINCT doc_id || ':' || ordinal) FROM chunks").fetchone()
    store.close()
    assert ordinals[0] == ordinals[1], "two chunks claim the same place in a document"
    lexical = LexicalIndex.load(settings.data_dir / "lexical")
    return ids, VectorStore(settings.data_dir, settings.store).ids(), lexical.stamp if lexical else None


def test_ten_kills_during_writes_then_a_clean_index(tmp_path):
    rng = random.Random(1350)
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copyfile(ROOT / "corpus" / "catalog.json", corpus / "catalog.json")
    for n in range(8):
        _write_doc(corpus, n, 0)
    data = tmp_path / "data"
    writes = Writes(data)
    command = [sys.executable, "-m", "cli", "index", "--quiet", "--data", str(data), "--corpus", str(corpus)]
    kills: list[str] = []
    round_number = 0
    while len(kills) < 10 and round_number < 25:
        round_number += 1
        for n in rng.sample(range(8), 3):
            _write_doc(corpus, n, round_number)
        if round_number % 4 == 0:
            (corpus / f"doc_{rng.randrange(8):02d}.md").unlink(missing_ok=True)
        point = KILL_POINTS[len(kills) % len(KILL_POINTS)]
        before = writes.snapshot()
        if _kill_when(command, writes.began(point, before)):
            after = writes.snapshot()
            assert writes.began(point, before)(), f"round {round_number}: the {point} write is not on disk"
            assert after != before
            kills.append(point)
    assert len(kills) >= 10, f"only {len(kills)} runs were killed during their writes: {kills}"
    assert set(kills) == set(KILL_POINTS)

    settings = IndexSettings(data_dir=data, corpus_dir=corpus)
    report = run_index(settings, progress=False)
    assert not report.problems
    ids, chroma_ids, stamp = _state(settings)
    assert ids == chroma_ids
    assert stamp == chunk_set_stamp(ids)

    clean = IndexSettings(data_dir=tmp_path / "clean", corpus_dir=corpus)
    run_index(clean, progress=False)
    clean_ids, clean_chroma, _ = _state(clean)
    assert ids == clean_ids == clean_chroma
    assert run_index(settings, progress=False).chunks_embedded == 0
