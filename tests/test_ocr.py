"""OCR with the real Tesseract: a scanned oficio (image-only PDF, slightly rotated and blurred), a text PDF with
one scanned page, a scan too blurred to trust, and a machine without Tesseract."""

from __future__ import annotations

import subprocess
import sys

import pytest

from benchmarks.sample_documents import SCAN_LINES, character_accuracy, write_scan_pdf
from indexer.loaders import LoadError, load_file
from indexer.pipeline import run_index
from indexer.settings import IndexSettings, OcrSettings, ParseSettings

SCAN = "oficio_245_escaneado.pdf"
MIXED = "informe_frontera_sur.pdf"




def test_scanned_page_is_recognised_accurately(received):
    folder, _ = received
    loaded = load_file(folder / SCAN)
    assert loaded.ocr_pages == [1] and all(e.ocr for e in loaded.elements)
    recognised = " ".join(e.text for e in loaded.elements)
    accuracy = character_accuracy(recognised, " ".join(SCAN_LINES))
    print(f"OCR character accuracy on the generated scan: {accuracy:.4f}")
    assert accuracy >= 0.95
    assert "treinta y ocho" in recognised and "Estambul" in recognised
    assert not loaded.warnings


def test_scanned_oficio_is_answered_and_the_citation_says_ocr(received_assistant):
    answer = received_assistant.ask("¿Cuántos connacionales varados atendió el Consulado General en Estambul?")
    assert not answer.abstained
    first = answer.citations[0]
    assert first.doc_id == "oficio_245_escaneado" and first.page == 1
    assert first.label.endswith("(texto reconocido por OCR)") and "treinta y ocho" in first.quote


def test_only_the_scanned_page_of_a_text_pdf_is_ocrd(received, received_index, index_state):
    folder, _ = received
    loaded = load_file(folder / MIXED)
    assert [p.number for p in loaded.pages] == [1, 2, 3] and loaded.ocr_pages == [2]
    settings, _, _ = received_index
    chunks = [c for c in index_state(settings.data_dir).chunks.values() if c.doc_id == "informe_frontera_sur"]
    assert {c.page for c in chunks if c.attrs.get("ocr")} == {2}
    assert {c.page for c in chunks if not c.attrs.get("ocr")} == {1, 3}
    assert index_state(settings.data_dir).documents["informe_frontera_sur"].meta["ocr_pages"] == [2]


def test_a_question_about_the_scanned_page_cites_that_page(received_assistant):
    answer = received_assistant.ask("¿Cuántos kits de higiene entregó el Consulado en Santiago a las familias migrantes?")
    assert not answer.abstained
    (cited,) = [c for c in answer.citations if "ciento veinte kits" in c.quote]
    assert cited.doc_id == "informe_frontera_sur" and cited.page == 2 and "OCR" in cited.label
    assert "refugio municipal de Arica" in cited.quote  # the paragraph Tesseract cut at a line end is whole


def test_a_blurred_scan_gets_a_low_confidence_warning_naming_its_page(tmp_path):
    path = tmp_path / "borroso.pdf"
    write_scan_pdf(path, blur=3.5)
    loaded = load_file(path)
    assert loaded.ocr_pages == [1]
    low = [w for w in loaded.warnings if "confianza baja" in w.problem]
    assert len(low) == 1 and low[0].page == 1 and "p. 1" in low[0].line()


def test_without_tesseract_index_says_what_to_install(tmp_path, received, make_corpus, index_state):
    folder, _ = received
    corpus = make_corpus(tmp_path / "corpus", {name: (folder / name).read_bytes() for name in (SCAN, MIXED)})
    settings = IndexSettings(data_dir=tmp_path / "data", corpus_dir=corpus,
                             parsing=ParseSettings(ocr=OcrSettings(tesseract_cmd=str(tmp_path / "no-tesseract"))))
    report = run_index(settings, progress=False, log=lambda _line: None)
    assert report.indexed == ["informe_frontera_sur"]  # its text pages are indexed
    (problem,) = report.problems
    assert problem.file == SCAN and "capa de texto" in problem.problem
    assert "apt-get install tesseract-ocr tesseract-ocr-spa" in problem.hint
    (warning,) = [w for w in report.warnings if w.file == MIXED]
    assert "págs. 2" in warning.problem and "apt-get install tesseract-ocr" in warning.hint
    index_state(settings.data_dir).assert_consistent()
    run = subprocess.run([sys.executable, "-m", "cli", "index", "--quiet", "--data", str(settings.data_dir),
                          "--corpus", str(corpus), "--set", f"index.parsing.ocr.tesseract_cmd={tmp_path / 'none'}"],
                         capture_output=True, text=True)
    assert run.returncode == 3 and "apt-get install tesseract-ocr tesseract-ocr-spa" in run.stderr


def test_a_vector_page_without_text_or_image_is_still_refused(tmp_path, write_pdf):
    with pytest.raises(LoadError) as info:
        load_file(write_pdf(tmp_path / "rect.pdf", [], rectangle_only=True))
    assert "capa de texto" in info.value.problem.line() and "OCR" in info.value.problem.line()
