"""kill -9 at random points of indexing, ten times in a row, with the corpus changing in between:
the next run completes and the index equals a clean index of the same corpus — no duplicate, no orphan."""

from __future__ import annotations

import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from indexer.pipeline import run_index
from indexer.settings import IndexSettings
from indexer.stores import DocStore, LexicalIndex, VectorStore, chunk_set_stamp

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
TOPICS = ["protección consular", "trata de personas", "remesas", "retorno", "integración fronteriza",
          "documentación", "inclusión social", "datos migratorios"]


def _write_doc(folder: Path, n: int, version: int) -> None:
    topic = TOPICS[n % len(TOPICS)]
    paragraphs = [f"Documento {n}, versión {version}, sobre {topic}."]
    paragraphs += [f"El párrafo {k} del documento {n} describe acciones del Perú en materia de {topic} "
                   f"durante el año {2018 + k % 5}, con la participación de la MTIGM." for k in range(6)]
    (folder / f"doc_{n:02d}.md").write_text(f"# Informe {n}\n\n" + "\n\n".join(paragraphs) + "\n", encoding="utf-8")


def _state(settings: IndexSettings) -> tuple[set[str], set[str], str | None]:
    store = DocStore(settings.data_dir / "docstore.sqlite")
    ids = store.chunk_ids()
    ordinals = store.db.execute("SELECT COUNT(*), COUNT(DISTINCT doc_id || ':' || ordinal) FROM chunks").fetchone()
    store.close()
    assert ordinals[0] == ordinals[1], "two chunks claim the same place in a document"
    lexical = LexicalIndex.load(settings.data_dir / "lexical")
    return ids, VectorStore(settings.data_dir, settings.store).ids(), lexical.stamp if lexical else None


def test_ten_kills_then_a_clean_index(tmp_path):
    rng = random.Random(1350)
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copyfile(ROOT / "corpus" / "catalog.json", corpus / "catalog.json")
    for n in range(8):
        _write_doc(corpus, n, 0)
    data = tmp_path / "data"
    command = [sys.executable, "-m", "cli", "index", "--quiet", "--data", str(data), "--corpus", str(corpus)]
    kills = 0
    round_number = 0
    while kills < 10 and round_number < 25:
        round_number += 1
        for n in rng.sample(range(8), 3):
            _write_doc(corpus, n, round_number)
        if round_number % 4 == 0:
            (corpus / f"doc_{rng.randrange(8):02d}.md").unlink(missing_ok=True)
        proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(2.0, 7.0))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            kills += 1
        proc.wait()
    assert kills >= 10, f"only {kills} runs were still going when killed"

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
