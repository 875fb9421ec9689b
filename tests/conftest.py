"""Shared fixtures: the full index of the shipped corpus (built once per session) and small-corpus builders.

`shipped_index` indexes `corpus/` into a temporary data folder once per session: the shipped corpus carries
its own vectors (corpus/.vectors/, indexer.vector_cache), so this takes seconds, not the ~8 minutes of embedding
every chunk and sentence on 2 cores. A developer can point `PA_TEST_SHIPPED_INDEX` at an existing data folder to reuse it: the
folder is copied (never modified) and brought up to date by an index run, which embeds nothing when
the copy is current.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from indexer.pipeline import IndexReport, run_index
from indexer.settings import IndexSettings, StoreSettings

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "corpus"


@pytest.fixture(scope="session")
def shipped_index_run(tmp_path_factory) -> tuple[IndexSettings, IndexReport]:
    """The shipped corpus indexed once per session, and the report of that run."""
    data_dir = tmp_path_factory.mktemp("shipped") / "data"
    reuse = os.environ.get("PA_TEST_SHIPPED_INDEX", "")
    if reuse and (Path(reuse) / "docstore.sqlite").is_file():
        shutil.copytree(reuse, data_dir, ignore=shutil.ignore_patterns("uploads", "exports"))
    settings = IndexSettings(data_dir=data_dir, corpus_dir=CORPUS)
    report = run_index(settings, progress=False, log=lambda _line: None)
    assert not report.problems, [p.line() for p in report.problems]
    return settings, report


@pytest.fixture(scope="session")
def shipped_index(shipped_index_run) -> IndexSettings:
    return shipped_index_run[0]


@pytest.fixture(scope="module")
def assistant(shipped_index):
    """The assistant over the shipped index, extractive composer (a module may define its own `assistant`)."""
    from assistant.api import Assistant
    from assistant.settings import load_settings

    a = Assistant(load_settings(data_dir=shipped_index.data_dir, **{"answer.backend": "extractive"}))
    yield a
    a.close()


# --- small corpora -------------------------------------------------------------------------------

def _make_corpus(folder: Path, files: dict[str, str | bytes], catalog: bool = True) -> Path:
    """A corpus folder holding the shipped catalog.json and the given files (str → UTF-8 text)."""
    folder.mkdir(parents=True, exist_ok=True)
    if catalog:
        shutil.copyfile(CORPUS / "catalog.json", folder / "catalog.json")
    for name, content in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return folder


@pytest.fixture(scope="session")
def make_corpus() -> Callable[..., Path]:
    return _make_corpus


def _write_pdf(path: Path, pages: list[list[str]], encrypt: str | None = None, first_label: int | None = None,
               rectangle_only: bool = False) -> Path:
    """A real PDF (reportlab): one list of text lines per page, Vera/Helvetica text layer, deterministic bytes."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    path.parent.mkdir(parents=True, exist_ok=True)
    c = canvas.Canvas(str(path), pagesize=A4, encrypt=encrypt, invariant=1)
    if first_label is not None:
        c.addPageLabel(0, style="D", start=first_label)
    if rectangle_only:
        c.rect(100, 100, 300, 200, fill=1)
        c.showPage()
    for lines in pages:
        c.setFont("Helvetica", 11)
        y = 800
        for line in lines:
            c.drawString(60, y, line)
            y -= 16
        c.showPage()
    c.save()
    return path


@pytest.fixture(scope="session")
def write_pdf() -> Callable[..., Path]:
    return _write_pdf


# --- looking at an index ---------------------------------------------------------------------------

class IndexState:
    """What the three stores of a data folder hold, read with the indexer's own store classes."""

    def __init__(self, data_dir: Path, store: StoreSettings | None = None):
        from indexer.stores import DocStore, LexicalIndex, VectorStore

        docstore = DocStore(data_dir / "docstore.sqlite")
        try:
            self.documents = docstore.documents()
            self.chunks = {c.id: c for c, _ in docstore.iter_chunks()}
            rows = docstore.db.execute("SELECT id FROM chunks").fetchall()
            self.docstore_id_list = [r[0] for r in rows]
            self.latent_ids = set(docstore.latent_terms())
        finally:
            docstore.close()
        vectors = VectorStore(data_dir, store or StoreSettings())
        self.chroma_ids = vectors.ids()
        self.chroma_count = vectors.count()
        self.lexical = LexicalIndex.load(data_dir / "lexical")

    @property
    def chunk_ids(self) -> set[str]:
        return set(self.chunks)

    def ids_of(self, doc_id: str) -> set[str]:
        return {cid for cid, c in self.chunks.items() if c.doc_id == doc_id}

    def assert_consistent(self) -> None:
        """Chroma holds exactly the docstore's chunks, once each, BM25 was built from that same set, and every
        chunk has its latent terms (indexer.embeddings), none left from a chunk that is gone."""
        from indexer.stores import chunk_set_stamp

        assert len(self.docstore_id_list) == len(set(self.docstore_id_list))
        assert self.chroma_ids == self.chunk_ids
        assert self.chroma_count == len(self.chunk_ids)
        assert self.lexical is not None, "no lexical index"
        assert self.lexical.stamp == chunk_set_stamp(self.chunk_ids)
        assert sorted(self.lexical.ids) == sorted(self.chunk_ids)
        assert self.latent_ids == self.chunk_ids
        counts: dict[str, int] = {}
        for chunk in self.chunks.values():
            counts[chunk.doc_id] = counts.get(chunk.doc_id, 0) + 1
        assert counts == {d.id: d.chunk_count for d in self.documents.values()}


@pytest.fixture(scope="session")
def index_state() -> Callable[..., IndexState]:
    return IndexState


def documents_committed(data_dir: Path) -> int:
    """Documents committed in a docstore another process may be writing (0 while it is not there yet)."""
    path = data_dir / "docstore.sqlite"
    if not path.exists():
        return 0
    try:
        db = sqlite3.connect(str(path), timeout=1)
        try:
            return db.execute("SELECT COUNT(*) FROM documents").fetchone()[0]
        finally:
            db.close()
    except sqlite3.Error:
        return 0


@pytest.fixture(scope="session")
def committed_documents() -> Callable[[Path], int]:
    return documents_committed


# --- documents as a ministry receives them (benchmarks/sample_documents.py writes them) -------------------

RECEIVED_FILES = {
    "ds_031_2026_re.pdf": "write_decree_pdf",
    "plan_atencion_consular.pdf": "write_table_pdf",
    "oficio_245_escaneado.pdf": "write_scan_pdf",
    "informe_frontera_sur.pdf": "write_mixed_pdf",
    "informe_dpc_2025.docx": "write_docx",
    "comunicado_012.html": "write_html",
}


def write_received(folder: Path) -> dict[str, dict]:
    """The six generated documents in `folder`; returns, per file name, the facts each generator reports."""
    from benchmarks import sample_documents

    folder.mkdir(parents=True, exist_ok=True)
    return {name: getattr(sample_documents, writer)(folder / name) for name, writer in RECEIVED_FILES.items()}


@pytest.fixture(scope="session")
def received(tmp_path_factory) -> tuple[Path, dict[str, dict]]:
    """(folder, facts) of the generated documents, written once per session."""
    folder = tmp_path_factory.mktemp("received")
    return folder, write_received(folder)


@pytest.fixture(scope="module")
def received_assistant(received_index):
    """The assistant over the received documents' index."""
    from assistant.api import Assistant
    from assistant.settings import load_settings

    settings, _, _ = received_index
    a = Assistant(load_settings(data_dir=settings.data_dir, corpus_dir=settings.corpus_dir))
    yield a
    a.close()


@pytest.fixture(scope="session")
def received_index(tmp_path_factory, received):
    """A small index of the shipped catalog and the six received documents (real OCR, real embeddings)."""
    folder, facts = received
    root = tmp_path_factory.mktemp("received_index")
    corpus = _make_corpus(root / "corpus", {name: (folder / name).read_bytes() for name in facts})
    settings = IndexSettings(data_dir=root / "data", corpus_dir=corpus)
    report = run_index(settings, progress=False, log=lambda _line: None)
    return settings, report, facts

# --- a small workspace for the app, the API and exports ------------------------------------------------

SMALL_PDF_PAGES = [
    ["Informe sobre la protección consular 2019-2021",
     "",
     "El Perú fortaleció la protección consular de sus connacionales en el exterior,",
     "en línea con el objetivo 14 del PMM sobre protección y asistencia consulares.",
     "Durante la pandemia los consulados peruanos atendieron a 12 500 connacionales",
     "varados y organizaron vuelos humanitarios de retorno con la Cancillería."],
    ["Dificultades de la asistencia consular",
     "",
     "La falta de personal consular y de presupuesto limitó la asistencia a los peruanos",
     "en situación de vulnerabilidad durante 2020, según la Dirección de Protección.",
     "El informe recomienda ampliar la red de consulados honorarios en América del Sur."],
]

SMALL_TEXT = """# Vinculación de los peruanos en el exterior

## Eje 4: Peruanos en el exterior

La Política Nacional Migratoria promueve la vinculación de los peruanos en el exterior con el país mediante
los consejos de consulta y el registro consular, de acuerdo con el eje 4 de la PNM.

## Retorno

Los peruanos que retornan al país reciben orientación sobre la reinserción laboral y el reconocimiento de
sus estudios a través de las oficinas de retorno de la Cancillería.
"""


@pytest.fixture(scope="session")
def small_index(tmp_path_factory) -> IndexSettings:
    """A two-document index — a real PDF (reportlab) and a Markdown text — for the app and API tests (~15 s)."""
    root = tmp_path_factory.mktemp("small")
    corpus = _make_corpus(root / "corpus", {"vinculacion.md": SMALL_TEXT})
    _write_pdf(corpus / "informe_consular.pdf", SMALL_PDF_PAGES)
    settings = IndexSettings(data_dir=root / "data", corpus_dir=corpus)
    report = run_index(settings, progress=False, log=lambda _line: None)
    assert not report.problems, [p.line() for p in report.problems]
    return settings


def copy_index(source: IndexSettings, target: Path) -> IndexSettings:
    """A private copy of a data folder (accounts and conversations written there stay in the test)."""
    shutil.copytree(source.data_dir, target)
    return IndexSettings(data_dir=target, corpus_dir=source.corpus_dir)


class AppServer:
    """`python app.py` on a free loopback port over a data folder; restartable on the same port."""

    def __init__(self, index: IndexSettings, log_path: Path, **env: str):
        from benchmarks.common import free_port

        self.index = index
        self.log_path = log_path
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("PA_APP__", "GRADIO_SERVER"))}
        self.env.update({"PA_INDEX__DATA_DIR": str(index.data_dir), "PA_INDEX__CORPUS_DIR": str(index.corpus_dir),
                         "GRADIO_SERVER_NAME": "127.0.0.1", "GRADIO_SERVER_PORT": str(self.port),
                         "GRADIO_ANALYTICS_ENABLED": "False", "HF_HUB_OFFLINE": "1", **env})
        self.proc = None

    def start(self) -> AppServer:
        import subprocess
        import sys

        from benchmarks.common import wait_http

        with self.log_path.open("a") as out:
            self.proc = subprocess.Popen([sys.executable, str(ROOT / "app.py")], cwd=ROOT, env=self.env, stdout=out,
                                         stderr=subprocess.STDOUT)
        if not wait_http(self.url + "/login", 120, self.proc):
            self.stop()
            pytest.fail(f"app.py did not answer on {self.url}: {self.log_path.read_text()[-3000:]}")
        return self

    def stop(self) -> None:
        from benchmarks.common import stop

        if self.proc is not None:
            stop(self.proc, timeout_s=20)


@pytest.fixture(scope="session")
def app_server() -> type[AppServer]:
    return AppServer


@pytest.fixture(scope="session")
def private_index() -> Callable[[IndexSettings, Path], IndexSettings]:
    return copy_index
