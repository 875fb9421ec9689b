"""The cited page of a PDF: the printed page found through the page labels, the quote's boxes on it (also
when the quote runs across lines), and the page rendered."""

from __future__ import annotations

import io

from assistant.pageview import locate, pdf_page_index, render_page

PAGES = [["Portada del informe"],
         ["Capítulo 1", "La Cancillería reforzó la asistencia humanitaria a los connacionales",
          "que quedaron varados en el extranjero durante el cierre de fronteras."],
         ["Capítulo 2", "Otra página sin la cita."]]


def test_the_printed_page_is_found_through_the_labels(tmp_path, write_pdf):
    path = write_pdf(tmp_path / "informe.pdf", PAGES, first_label=117)
    assert pdf_page_index(path, 118) == 1 and pdf_page_index(path, 117) == 0
    plain = write_pdf(tmp_path / "plano.pdf", PAGES)
    assert pdf_page_index(plain, 2) == 1


def test_a_quote_across_two_lines_gets_one_box_per_line(tmp_path, write_pdf):
    path = write_pdf(tmp_path / "informe.pdf", PAGES, first_label=117)
    quote = "reforzó la asistencia humanitaria a los connacionales que quedaron varados en el extranjero"
    found = locate(path, 118, quote)
    assert found.index == 1 and len(found.boxes) == 2
    (x1, y1, w1, h1), (x2, y2, w2, h2) = found.boxes
    assert 0 < x1 < 0.5 and 0 < y1 < y2 < 0.25 and abs(h1 - h2) < 0.005  # the top of the page, two lines down
    assert w1 > w2 > 0.3  # the first line runs to its end, the second stops at «extranjero»
    assert locate(path, 119, quote).boxes == []  # not on another page


def test_the_page_renders_as_a_png(tmp_path, write_pdf):
    from PIL import Image

    path = write_pdf(tmp_path / "informe.pdf", PAGES)
    image = Image.open(io.BytesIO(render_page(path, 1)))
    assert image.format == "PNG" and abs(image.height / image.width - 842 / 595) < 0.01
    dark = image.convert("L").point(lambda p: 255 if p < 128 else 0).histogram()[255]
    assert dark > 500  # the text is drawn
