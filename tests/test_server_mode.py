"""Indexing into a real Chroma server (`chroma run`) instead of the embedded store."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from benchmarks.common import free_port, stop
from indexer.pipeline import run_index
from indexer.settings import IndexSettings, StoreSettings

pytestmark = pytest.mark.slow

CHROMA = Path(sys.executable).parent / "chroma"


def _client(port: int):
    import chromadb
    from chromadb.config import Settings

    return chromadb.HttpClient(host="127.0.0.1", port=port, settings=Settings(anonymized_telemetry=False))


@pytest.fixture(scope="module")
def chroma_server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("chroma_server")
    port = free_port()
    log = (folder / "server.log").open("wb")
    proc = subprocess.Popen([str(CHROMA), "run", "--path", str(folder / "db"), "--host", "127.0.0.1",
                             "--port", str(port)], stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, (folder / "server.log").read_text(errors="replace")[-2000:]
            try:
                _client(port).heartbeat()
                break
            except Exception:
                assert time.monotonic() < deadline, "the Chroma server did not answer within 30 s"
                time.sleep(0.3)
        yield port
    finally:
        stop(proc)
        log.close()


DOCS = {
    "nota_consular.md": "Nota sobre protección consular\n\nLa red consular del Perú atendió a connacionales "
                        "en 2021 mediante el objetivo 14 del PMM.\n\nAsistencia\n\nSe brindó asistencia "
                        "humanitaria y legal en los consulados.\n",
    "nota_fronteras.md": "Nota sobre fronteras\n\nLos puestos de control fronterizo coordinaron con los "
                         "países vecinos.\n",
}


def _server_ids(port: int, collection: str) -> set[str]:
    return set(_client(port).get_collection(collection).get(include=[])["ids"])


def test_index_into_a_chroma_server(chroma_server, tmp_path, make_corpus, index_state):
    port = chroma_server
    corpus = make_corpus(tmp_path / "corpus", DOCS)
    store = StoreSettings(chroma_host="127.0.0.1", chroma_port=port, collection="server_test")
    settings = IndexSettings(data_dir=tmp_path / "data", corpus_dir=corpus, store=store)

    first = run_index(settings, progress=False, log=lambda _line: None)
    assert sorted(first.indexed) == ["nota_consular", "nota_fronteras"]
    assert first.problems == []
    state = index_state(settings.data_dir, store)
    state.assert_consistent()
    assert state.chunk_ids
    assert _server_ids(port, "server_test") == state.chunk_ids
    assert not (settings.data_dir / "chroma").exists()  # nothing went to an embedded store

    second = run_index(settings, progress=False, log=lambda _line: None)
    assert sorted(second.unchanged) == ["nota_consular", "nota_fronteras"]
    assert second.indexed == [] and second.chunks_embedded == 0
    assert second.repaired_missing == 0 and second.repaired_orphans == 0
    assert _server_ids(port, "server_test") == state.chunk_ids

    (corpus / "nota_fronteras.md").unlink()
    third = run_index(settings, progress=False, log=lambda _line: None)
    assert third.removed == ["nota_fronteras"]
    after = index_state(settings.data_dir, store)
    after.assert_consistent()
    assert _server_ids(port, "server_test") == after.chunk_ids == state.ids_of("nota_consular")
