"""PDF layout on generated PDFs: a two-column decree under a running header and footer, with hyphenated line
ends and a footnote, and an annex with a ruled table — read, indexed and asked about through the Assistant."""

from __future__ import annotations

from benchmarks.sample_documents import DECREE_ARTICLES, FOOTER, FOOTNOTE, HEADER, TABLE_ROWS
from indexer.catalog import catalog_for
from indexer.loaders import load_file
from indexer.tagging import tag_text

DECREE = "ds_031_2026_re.pdf"
TABLE = "plan_atencion_consular.pdf"




def _chunks(index_state, received_index, doc_id):
    settings, _, _ = received_index
    return [c for c in index_state(settings.data_dir).chunks.values() if c.doc_id == doc_id]


def test_columns_are_read_one_after_the_other_and_hyphens_joined(received):
    folder, _ = received
    loaded = load_file(folder / DECREE)
    paragraphs = [e.text for e in loaded.elements if e.kind == "paragraph"]
    for _, body in DECREE_ARTICLES:
        if body:  # each article's text comes back whole: no line of the other column in between, no «consu- lares»
            assert body in paragraphs, body[:40]
    text = "\n".join(e.text for e in loaded.elements)
    assert "lineamien-" not in text and "- " not in text.replace(".- ", "")
    headings = [e.text for e in loaded.elements if e.kind == "heading"]
    assert headings.index("Artículo 1.- Objeto") < headings.index("Artículo 2.- Ámbito de aplicación") \
        < headings.index("Artículo 3.- Plazo de respuesta")


def test_running_header_footer_and_page_numbers_are_dropped_but_pages_kept(received):
    folder, _ = received
    loaded = load_file(folder / DECREE)
    assert [p.number for p in loaded.pages] == [1, 2]
    for page in loaded.pages:
        assert HEADER not in page.text and FOOTER not in page.text
        assert "Página" not in page.text
        assert all(line.strip() != str(page.number) for line in page.text.split("\n"))


def test_footnote_is_kept_apart_from_the_body(received):
    folder, _ = received
    loaded = load_file(folder / DECREE)
    notes = [e for e in loaded.elements if e.kind == "footnote"]
    assert [n.text for n in notes] == [FOOTNOTE] and notes[0].page == 1
    assert not any(FOOTNOTE[2:30] in e.text for e in loaded.elements if e.kind != "footnote")


def test_no_chunk_holds_a_running_line_and_articles_are_sections(index_state, received_index):
    chunks = _chunks(index_state, received_index, "ds_031_2026_re")
    assert chunks
    for chunk in chunks:
        assert "NORMAS LEGALES" not in chunk.text and "Boletín Oficial" not in chunk.text
    by_article = {c.attrs.get("normative_label"): c for c in chunks if c.attrs.get("normative_label")}
    assert by_article["Artículo 3"].page == 1 and by_article["Artículo 4"].page == 2
    assert by_article["Artículo 3"].refs.articles == [3]
    assert by_article["Primera disposición complementaria final"].page == 2
    footnote = next(c for c in chunks if c.attrs.get("footnote"))
    assert footnote.section_path == ["Notas al pie"] and "normative_label" not in footnote.attrs


def test_decree_is_titled_from_its_metadata_and_cited_by_article_and_page(received_assistant):
    assert received_assistant.documents["ds_031_2026_re"].title == "Decreto Supremo N° 031-2026-RE"
    answer = received_assistant.ask("¿En qué plazo deben responder las oficinas consulares las solicitudes de asistencia "
                           "humanitaria?")
    assert not answer.abstained
    first = answer.citations[0]
    assert first.label == "Decreto Supremo N° 031-2026-RE, Artículo 3, p. 1"
    assert first.page == 1 and "quince días hábiles" in first.quote
    assert all("NORMAS LEGALES" not in c.quote for c in answer.citations)


def test_article_reference_is_tagged_in_questions(received_index):
    catalog = catalog_for(received_index[0].corpus_dir)
    assert tag_text("¿qué establece el artículo 3 del decreto?", catalog).articles == [3]
    assert tag_text("los artículos 4 y 5", catalog).articles == [4, 5]
    assert tag_text("el objetivo 3 del PMM", catalog).articles == []


def test_ruled_table_comes_back_as_header_and_rows(received):
    folder, _ = received
    loaded = load_file(folder / TABLE)
    tables = [e for e in loaded.elements if e.kind == "table"]
    assert len(tables) == 1
    assert tables[0].rows == TABLE_ROWS and tables[0].page == 2
    assert tables[0].text.startswith("Anexo 1.")
    assert loaded.title == "Plan de atención consular 2026-2030"  # no PDF title: the first heading


def test_a_question_about_one_row_gets_that_row_with_its_page(received_assistant, index_state, received_index):
    table_chunks = [c for c in _chunks(index_state, received_index, "plan_atencion_consular") if c.kind == "table"]
    assert table_chunks and all(c.page == 2 for c in table_chunks)
    assert all(c.text.split("\n")[1] == " | ".join(TABLE_ROWS[0]) for c in table_chunks)  # header in each chunk
    answer = received_assistant.ask("¿Cuál es la meta 2030 del tiempo de respuesta a las solicitudes de asistencia?")
    assert not answer.abstained
    first = answer.citations[0]
    assert "Tiempo de respuesta a solicitudes de asistencia" in first.quote and "Meta 2030: 15 días" in first.quote
    assert first.page == 2 and first.label.endswith("Anexo 1, p. 2")


def test_a_line_repeated_on_every_page_is_kept_when_it_is_all_the_page_holds(tmp_path, write_pdf):
    path = write_pdf(tmp_path / "repetido.pdf", [["Anexo estadístico: página de prueba."]] * 3)
    loaded = load_file(path)
    assert [p.text for p in loaded.pages] == ["Anexo estadístico: página de prueba."] * 3


def test_a_paragraph_cut_by_a_page_break_is_one_block_over_both_pages(tmp_path, write_pdf):
    """A sentence that runs onto the next page is quoted whole, cited p. 1–2; a page that opens a paragraph of its
    own starts a block of its own."""
    from indexer.structure import parse_document

    path = write_pdf(tmp_path / "oficio.pdf", [
        ["La Oficina de Atención al Migrante recibió 412 solicitudes durante el primer semestre y las derivó a la"],
        ["Superintendencia Nacional de Migraciones. Cada solicitud se respondió en un plazo de diez días hábiles."],
        ["El informe final se publicará en el portal institucional."],
    ])
    blocks = [b for b in parse_document(load_file(path), catalog_for(tmp_path)) if b.kind == "body"]
    whole = "las derivó a la Superintendencia Nacional de Migraciones. Cada solicitud"
    joined = [b for b in blocks if whole in b.text]
    assert len(joined) == 1 and (joined[0].page, joined[0].page_end) == (1, 2)
    last = [b for b in blocks if b.text.startswith("El informe final")]
    assert len(last) == 1 and last[0].page == 3
