"""Reading speed of documents as received: pages/s of text PDFs (layout analysis: columns, running lines,
tables) and of scanned pages (render + Tesseract), OCR character accuracy, and an index run of the generated
documents with parsing in a worker process beside the embedder against parsing inline."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from benchmarks import sample_documents
from indexer.loaders import load_file
from indexer.pipeline import run_index
from indexer.settings import IndexSettings, ParseSettings

ROOT = Path(__file__).resolve().parents[1]


def _text_pdf(folder: Path, pages: int) -> Path:
    """A text PDF of `pages` pages: the two-column decree, repeated."""
    from pypdf import PdfWriter

    one = folder / "decreto.pdf"
    sample_documents.write_decree_pdf(one)
    writer = PdfWriter()
    for _ in range(max(1, pages // 2)):
        writer.append(str(one))
    path = folder / f"decreto_x{pages}.pdf"
    with path.open("wb") as fh:
        writer.write(fh)
    return path


def _scan_pdf(folder: Path, pages: int) -> Path:
    images = [sample_documents.scan_image(sample_documents.SCAN_LINES).convert("RGB") for _ in range(pages)]
    path = folder / f"escaneo_x{pages}.pdf"
    images[0].save(str(path), "PDF", resolution=200, save_all=True, append_images=images[1:])
    return path


def _pages_per_s(path: Path) -> tuple[float, int, object]:
    t0 = time.perf_counter()
    loaded = load_file(path)
    return len(loaded.pages) / (time.perf_counter() - t0), len(loaded.pages), loaded


def reading_speed(work: Path, text_pages: int = 40, ocr_pages: int = 3, log=print) -> dict:
    folder = work / "documents"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    text_rate, text_count, _ = _pages_per_s(_text_pdf(folder, text_pages))
    log(f"  text PDF: {text_count} pages, {text_rate:.1f} pages/s")
    ocr_rate, ocr_count, loaded = _pages_per_s(_scan_pdf(folder, ocr_pages))
    first_page = " ".join(e.text for e in loaded.elements if e.page == 1)
    accuracy = sample_documents.character_accuracy(first_page, " ".join(sample_documents.SCAN_LINES))
    log(f"  scanned PDF: {ocr_count} pages, {ocr_rate:.2f} pages/s, character accuracy {accuracy:.4f}")
    corpus = folder / "corpus"
    corpus.mkdir()
    shutil.copyfile(ROOT / "corpus" / "catalog.json", corpus / "catalog.json")
    for name, writer in (("decreto.pdf", "write_decree_pdf"), ("anexo.pdf", "write_table_pdf"),
                         ("oficio.pdf", "write_scan_pdf"), ("mixto.pdf", "write_mixed_pdf"),
                         ("informe.docx", "write_docx"), ("comunicado.html", "write_html")):
        getattr(sample_documents, writer)(corpus / name)
    runs = {}
    for label, workers in (("inline", 0), ("workers_1", 1)):  # inline first: it pays the embedder's load
        settings = IndexSettings(data_dir=folder / f"data_{label}", corpus_dir=corpus,
                                 parsing=ParseSettings(workers=workers))
        t0 = time.perf_counter()
        report = run_index(settings, progress=False, log=lambda _line: None)
        runs[label] = {"wall_s": time.perf_counter() - t0, "timings_s": report.timings_s,
                       "documents": len(report.indexed), "pages": report.pages_read, "ocr_pages": report.pages_ocr}
        log(f"  index of the {len(report.indexed)} received documents, {label}: {runs[label]['wall_s']:.1f} s")
    return {"text_pages": text_count, "text_pages_per_s": text_rate, "ocr_pages": ocr_count,
            "ocr_pages_per_s": ocr_rate, "ocr_character_accuracy": accuracy, "index_runs": runs}
