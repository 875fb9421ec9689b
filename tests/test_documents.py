"""Word and HTML documents, and documents managed (list, remove, re-index) with the index kept consistent."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from assistant.api import Assistant
from assistant.settings import load_settings
from benchmarks.sample_documents import DOCX_TITLE, write_docx
from indexer.documents import UnknownDocument, reindex_document, remove_document
from indexer.loaders import LoadError, load_file
from indexer.pipeline import run_index
from indexer.settings import IndexSettings, ParseSettings

DOCX = "informe_dpc_2025.docx"
HTML = "comunicado_012.html"




@pytest.fixture
def index_copy(received_index, tmp_path):
    """A copy of the received index (corpus and data) that a test may change."""
    settings, _, _ = received_index
    shutil.copytree(settings.corpus_dir, tmp_path / "corpus")
    shutil.copytree(settings.data_dir, tmp_path / "data")
    return IndexSettings(data_dir=tmp_path / "data", corpus_dir=tmp_path / "corpus")


# --- Word and HTML ----------------------------------------------------------------------------------------

def test_word_file_gives_headings_lists_and_a_table(received):
    folder, _ = received
    loaded = load_file(folder / DOCX)
    assert loaded.kind == "docx" and loaded.title == DOCX_TITLE
    kinds = [(e.kind, e.level) for e in loaded.elements if e.kind == "heading"]
    assert kinds == [("heading", 1), ("heading", 2), ("heading", 1)]
    assert len([e for e in loaded.elements if e.kind == "list_item"]) == 3
    (table,) = [e for e in loaded.elements if e.kind == "table"]
    assert table.rows[0] == ["Región", "Casos 2024", "Casos 2025"] and table.rows[2] == ["Europa", "960", "1 115"]


def test_word_table_row_answers_with_its_caption(received_assistant, index_state, received_index):
    settings, _, _ = received_index
    chunks = [c for c in index_state(settings.data_dir).chunks.values() if c.doc_id == "informe_dpc_2025"]
    lists = [c for c in chunks if c.attrs.get("list_item")]
    assert lists and lists[0].section_path == ["Resumen ejecutivo", "Acciones prioritarias"]
    answer = received_assistant.ask("¿Cuántos casos atendió la región Europa en 2025?")
    assert not answer.abstained
    (row,) = [c for c in answer.citations if "Europa" in c.quote]
    assert "Casos 2025: 1 115" in row.quote
    assert row.label == f"{DOCX_TITLE}, Tabla 1" and row.document_title == DOCX_TITLE


def test_saved_web_page_keeps_content_and_drops_navigation(received, index_state, received_index):
    folder, facts = received
    loaded = load_file(folder / HTML)
    assert loaded.title == facts[HTML]["title"]
    settings, _, _ = received_index
    text = " ".join(c.text for c in index_state(settings.data_dir).chunks.values() if c.doc_id == "comunicado_012")
    for boilerplate in ("Sala de prensa", "window.tracker", "font-family", "Jr. Lampa"):
        assert boilerplate not in text
    assert "Emisión y renovación de pasaportes biométricos." in text
    assert "Consulado: Milán | Plazo de cita: 7 días" in text


def test_web_page_question_is_answered_from_its_table(received_assistant):
    answer = received_assistant.ask("¿Cuál es el plazo de cita previa del consulado de Madrid?")
    assert not answer.abstained
    first = answer.citations[0]
    assert first.doc_id == "comunicado_012" and "Madrid" in first.quote and "10 días" in first.quote
    assert first.label.startswith("Comunicado 012-2026: nuevo horario de atención consular, Tabla 2")


def test_a_broken_word_file_is_refused_with_a_clear_reason(tmp_path):
    path = tmp_path / "roto.docx"
    path.write_bytes(b"PK\x03\x04 esto no es un docx")
    with pytest.raises(LoadError) as info:
        load_file(path)
    assert "Word está dañado" in info.value.problem.line() and "guárdelo de nuevo como .docx" in info.value.problem.hint


def test_uploads_accept_word_and_html(received_index, tmp_path):
    settings, _, _ = received_index
    data = tmp_path / "data"
    shutil.copytree(settings.data_dir, data)
    a = Assistant(load_settings(data_dir=data, corpus_dir=settings.corpus_dir))
    docx_file, html_file = tmp_path / "Informe nuevo.docx", tmp_path / "pagina guardada.html"
    write_docx(docx_file)
    html_file.write_text("<html><body><h1>Nota de prensa</h1><p>La Cancillería abrió un consulado en Busan "
                         "para atender a la comunidad peruana en Corea.</p></body></html>", encoding="utf-8")
    report = a.add_documents([docx_file, html_file])
    assert sorted(report.indexed) == ["informe_nuevo", "pagina_guardada"] and not report.problems
    assert a.documents["pagina_guardada"].title == "Nota de prensa"
    answer = a.ask("¿Dónde abrió la Cancillería un nuevo consulado en Corea?")
    a.close()
    assert not answer.abstained and answer.citations[0].doc_id == "pagina_guardada"


# --- documents managed ------------------------------------------------------------------------------------

def test_list_gives_title_pages_chunks_ocr_pages_and_date(received_index):
    settings, _, _ = received_index
    run = subprocess.run([sys.executable, "-m", "cli", "documents", "list", "--json", "--data", str(settings.data_dir)],
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    listed = {d["id"]: d for d in json.loads(run.stdout)["documents"]}
    assert set(listed) == {"ds_031_2026_re", "plan_atencion_consular", "oficio_245_escaneado", "informe_frontera_sur",
                           "informe_dpc_2025", "comunicado_012"}
    decree = listed["ds_031_2026_re"]
    assert decree["title"] == "Decreto Supremo N° 031-2026-RE" and decree["pages"] == 2 and decree["chunks"] > 3
    assert listed["informe_frontera_sur"]["ocr_pages"] == [2] and listed["oficio_245_escaneado"]["ocr_pages"] == [1]
    assert listed["informe_dpc_2025"]["format"] == "docx" and listed["informe_dpc_2025"]["pages"] is None
    assert all(d["indexed_at"] for d in listed.values())


def test_remove_takes_a_document_out_for_good(index_copy, index_state):
    before = index_state(index_copy.data_dir)
    removed = remove_document(index_copy, "ds_031_2026_re")
    assert removed.title == "Decreto Supremo N° 031-2026-RE"
    after = index_state(index_copy.data_dir)
    after.assert_consistent()
    assert "ds_031_2026_re" not in after.documents and not after.ids_of("ds_031_2026_re")
    assert after.chunk_ids == before.chunk_ids - before.ids_of("ds_031_2026_re")
    report = run_index(index_copy, progress=False, log=lambda _line: None)  # the file is still in the corpus folder
    assert "ds_031_2026_re" not in report.indexed and not report.problems
    assert "ds_031_2026_re" not in index_state(index_copy.data_dir).documents
    with pytest.raises(UnknownDocument):
        remove_document(index_copy, "ds_031_2026_re")


def test_removing_an_upload_deletes_its_file(index_copy, index_state, tmp_path):
    index_copy.uploads_dir.mkdir(parents=True)
    (index_copy.uploads_dir / "comunicado_subido.html").write_text(
        "<html><body><h1>Comunicado 013-2026</h1><p>El consulado en Toronto amplía su horario.</p></body></html>",
        encoding="utf-8")
    assert "comunicado_subido" in run_index(index_copy, progress=False, log=lambda _line: None).indexed
    remove_document(index_copy, "comunicado_subido")
    assert not (index_copy.uploads_dir / "comunicado_subido.html").exists()
    index_state(index_copy.data_dir).assert_consistent()


def test_reindex_reads_one_document_again(index_copy, index_state):
    before = index_state(index_copy.data_dir)
    report = reindex_document(index_copy, "informe_dpc_2025", log=lambda _line: None)
    assert report.indexed == ["informe_dpc_2025"] and len(report.unchanged) == 5
    after = index_state(index_copy.data_dir)
    after.assert_consistent()
    assert after.chunk_ids == before.chunk_ids
    assert after.documents["informe_dpc_2025"].indexed_at >= before.documents["informe_dpc_2025"].indexed_at


def test_cli_remove_and_reindex(index_copy, index_state):
    base = [sys.executable, "-m", "cli", "documents"]
    where = ["--data", str(index_copy.data_dir), "--corpus", str(index_copy.corpus_dir)]
    gone = subprocess.run(base + ["remove", "nada_de_esto"] + where, capture_output=True, text=True)
    assert gone.returncode == 1 and "nada_de_esto" in gone.stderr
    done = subprocess.run(base + ["remove", "comunicado_012"] + where, capture_output=True, text=True)
    assert done.returncode == 0 and "comunicado_012" in done.stdout
    again = subprocess.run(base + ["reindex", "plan_atencion_consular", "--quiet"] + where, capture_output=True,
                           text=True)
    assert again.returncode == 0, again.stderr
    state = index_state(index_copy.data_dir)
    state.assert_consistent()
    assert "comunicado_012" not in state.documents and "plan_atencion_consular" in state.documents


def test_worker_processes_give_the_same_chunks_as_reading_inline(received_index, index_state, tmp_path):
    settings, _, _ = received_index
    runs = {}
    for workers in (0, 1):
        one = IndexSettings(data_dir=tmp_path / f"data{workers}", corpus_dir=settings.corpus_dir,
                            parsing=ParseSettings(workers=workers))
        report = run_index(one, progress=False, log=lambda _line: None)
        assert len(report.indexed) == 6 and report.pages_ocr == 2
        runs[workers] = index_state(one.data_dir)
    assert runs[0].chunk_ids == runs[1].chunk_ids == index_state(settings.data_dir).chunk_ids
    assert {c.id: c.attrs for c in runs[0].chunks.values()} == {c.id: c.attrs for c in runs[1].chunks.values()}


def test_corpus_page_rows_show_pages_ocr_and_warnings(received_index):
    import app

    settings, _, _ = received_index
    a = Assistant(load_settings(data_dir=settings.data_dir, corpus_dir=settings.corpus_dir))
    rows = {row[0]: dict(zip(app.CORPUS_HEADERS, row, strict=True)) for row in app.corpus_rows(a)}
    a.close()
    assert rows["informe_frontera_sur"]["Págs. OCR"] == "2" and rows["informe_frontera_sur"]["Págs."] == 3
    assert rows["ds_031_2026_re"]["Título"] == "Decreto Supremo N° 031-2026-RE"
    assert all(row["Indexado"] for row in rows.values())
