"""PDF loading on real PDFs written with reportlab: pages, printed page labels, and files that cannot be read."""

from __future__ import annotations

import random

import pytest

from indexer.loaders import LoadError, load_file
from indexer.pipeline import run_index
from indexer.settings import IndexSettings

SPANISH_PAGES = [
    ["Página uno: introducción a la política migratoria.", "¿Qué es la migración segura? ¡Una prioridad!"],
    ["Página dos: protección consular", "«Acción» de los consulados para el niño migrante y la señora Núñez."],
    ["Página tres: conclusión sobre la gestión de fronteras.", "Última línea: ú é í ó á ñ Ñ ¿ ¡ « »."],
]


@pytest.fixture(scope="module")
def pdfs(tmp_path_factory, write_pdf):
    folder = tmp_path_factory.mktemp("pdfs")
    good = write_pdf(folder / "informe.pdf", SPANISH_PAGES)
    raw = good.read_bytes()
    truncated = folder / "cortado.pdf"
    truncated.write_bytes(raw[: len(raw) // 2])
    junk = folder / "basura.pdf"
    junk.write_bytes(random.Random(7).randbytes(4096))
    empty = folder / "vacio.pdf"
    empty.write_bytes(b"")
    return {
        "good": good,
        "labelled": write_pdf(folder / "etiquetado.pdf", SPANISH_PAGES, first_label=5),
        "encrypted": write_pdf(folder / "cifrado.pdf", SPANISH_PAGES, encrypt="secreto"),
        "scan": write_pdf(folder / "escaneo.pdf", [], rectangle_only=True),
        "truncated": truncated,
        "junk": junk,
        "empty": empty,
    }


def _problem(path) -> str:
    with pytest.raises(LoadError) as info:
        load_file(path)
    assert info.value.problem.file == path.name
    return info.value.problem.line()


def test_pages_are_numbered_and_accents_survive(pdfs):
    loaded = load_file(pdfs["good"])
    assert loaded.kind == "pdf"
    assert [p.number for p in loaded.pages] == [1, 2, 3]
    assert "Página dos: protección consular" in loaded.pages[1].text
    assert "protección consular" not in loaded.pages[0].text + loaded.pages[2].text
    assert "¿Qué es la migración segura? ¡Una prioridad!" in loaded.pages[0].text
    assert "«Acción»" in loaded.pages[1].text and "Núñez" in loaded.pages[1].text
    for ch in "úéíóáñÑ¿¡«»":
        assert ch in loaded.pages[2].text
    assert not loaded.warnings


def test_page_labels_give_printed_page_numbers(pdfs):
    loaded = load_file(pdfs["labelled"])
    assert [p.number for p in loaded.pages] == [5, 6, 7]
    assert "protección consular" in loaded.pages[1].text


def test_encrypted_pdf_is_refused(pdfs):
    assert "cifrado" in _problem(pdfs["encrypted"])


@pytest.mark.parametrize("name", ["truncated", "junk"])
def test_broken_pdf_is_refused(pdfs, name):
    assert "dañado" in _problem(pdfs[name])


def test_pdf_without_text_layer_is_refused(pdfs):
    line = _problem(pdfs["scan"])
    assert "capa de texto" in line
    assert "OCR" in line


def test_empty_pdf_is_refused(pdfs):
    assert "vacío" in _problem(pdfs["empty"])


# --- through the pipeline ---------------------------------------------------------------------------------

GOOD_MD = """Informe de prueba sobre protección consular

Antecedentes

El Ministerio de Relaciones Exteriores amplió la red consular en 2021 para atender a los peruanos en el exterior.

Resultados

Se atendió a 21,522 connacionales mediante asistencia humanitaria y orientación legal.
"""


@pytest.fixture(scope="module")
def mixed_index(tmp_path_factory, make_corpus, pdfs):
    root = tmp_path_factory.mktemp("mixed")
    corpus = make_corpus(root / "corpus", {
        "informe_consular.md": GOOD_MD,
        "informe.pdf": pdfs["good"].read_bytes(),
        "cifrado.pdf": pdfs["encrypted"].read_bytes(),
        "cortado.pdf": pdfs["truncated"].read_bytes(),
    })
    settings = IndexSettings(data_dir=root / "data", corpus_dir=corpus)
    report = run_index(settings, progress=False, log=lambda _line: None)
    return settings, report


def test_good_documents_indexed_bad_ones_reported(mixed_index):
    _, report = mixed_index
    assert sorted(report.indexed) == ["informe", "informe_consular"]
    assert report.partial is True
    assert len(report.problems) == 2
    by_file = {p.file: p.line() for p in report.problems}
    assert set(by_file) == {"cifrado.pdf", "cortado.pdf"}
    assert "cifrado" in by_file["cifrado.pdf"]
    assert "dañado" in by_file["cortado.pdf"]
    errors = [line for line in report.summary_lines() if line.startswith("ERROR")]
    assert len(errors) == 2
    assert any("cifrado.pdf" in e for e in errors) and any("cortado.pdf" in e for e in errors)


def test_stores_hold_exactly_the_good_documents(mixed_index, index_state):
    settings, _ = mixed_index
    state = index_state(settings.data_dir)
    state.assert_consistent()
    assert sorted(state.documents) == ["informe", "informe_consular"]
    assert state.ids_of("informe") and state.ids_of("informe_consular")
    assert state.documents["informe"].meta["pages"] == 3
    assert state.documents["informe"].meta["format"] == "pdf"


def test_pdf_chunks_carry_their_page(mixed_index, index_state):
    settings, _ = mixed_index
    chunks = [c for c in index_state(settings.data_dir).chunks.values() if c.doc_id == "informe"]
    consular = [c for c in chunks if "protección consular" in c.text]
    assert consular and all(c.page == 2 for c in consular)
    assert {c.page for c in chunks if "Página uno" in c.text} == {1}
    assert {c.page for c in chunks if "Página tres" in c.text} == {3}
