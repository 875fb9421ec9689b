"""The catalog route (assistant.catalog_answers): structural questions answered from the catalog, the table row or
sentence that states the fact cited; questions that ask more than the fact, and facts the index does not state
the way the catalog does, left to the ordinary route.

Every expectation is derived from corpus/catalog.json and the index's own chunks, for every objective and
lineamiento, so no answer is written into the test."""

import re

import pytest

from assistant.catalog_answers import CatalogAnswers
from evals.judge import SupportJudge
from evals.metrics import answer_claims
from indexer.language import detect_language
from indexer.tagging import fold, tag_question, tag_text
from indexer.types import Chunk, References


def _facts(assistant, question):
    return assistant.catalog_answers.answer(question, tag_text(question, assistant.catalog),
                                            detect_language(question, "es"))


def _structural_questions(catalog):
    for n in catalog.objectives:
        yield f"¿Qué establece el objetivo {n} del PMM?", ("wording", n)
        yield f"What does GCM objective {n} say?", ("wording", n)
        yield f"¿Cuál es el título completo del objetivo {n}?", ("wording", n)  # its title is what it says
        yield f"What is the title of objective {n}?", ("wording", n)
        yield f"¿En qué área temática está el objetivo {n}?", ("area", n)
        yield f"which thematic area is objective {n} in", ("area", n)
    for e, eje in catalog.ejes.items():
        for lin in eje.lineamientos:
            yield f"¿Con qué objetivos del PMM se alinea el lineamiento {lin.number} del eje {e}?", ("alignment", lin)
            yield f"Which GCM objectives is guideline {lin.number} of axis {e} aligned with?", ("alignment", lin)


def test_every_structural_question_is_answered_with_a_verbatim_supporting_quote(assistant):
    """Each objective's wording and área, each lineamiento's alignment, in both languages: a quote found verbatim
    in its chunk, stating the catalog's fact, and a sentence the evaluation's judge finds supported by that chunk."""
    judge = SupportJudge(assistant.retriever.embed_query)
    catalog = assistant.catalog
    for question, (kind, what) in _structural_questions(catalog):
        facts = _facts(assistant, question)
        assert facts, question
        for fact in facts:
            assert fact.quote in fact.chunk.text, question
            assert judge.supports(fact.text, fact.chunk.text), (question, fact.text)
        quotes = " ".join(f.quote for f in facts)
        if kind == "wording":
            obj = catalog.objectives[what]
            title = obj.title_en if question.startswith("What") else obj.title_es.rstrip(".")
            assert title[:40] in quotes, question
        elif kind == "area":
            assert {int(a) for a in re.findall(r"(?i)[aá]rea tem[aá]tica (\d)", quotes)} == set(
                catalog.objectives[what].areas), question
        else:
            code = f"L{what.eje}.{what.number}"
            assert {int(n) for n in re.findall(rf"{re.escape(code)} con O(\d+)", quotes)} == set(what.pmm_objectives)


def test_every_action_of_the_compact_is_quoted_from_its_own_paragraph(assistant):
    """«¿Qué dice la acción (c) del objetivo 14?», "what does action (b) of GCM objective 12 ask States to do?": for
    every action the index holds, in both languages, the quote is the first sentence of that action's own
    paragraph; a question that asks what Peru did about an action is no catalog question."""
    actions = {code: chunk for chunk, _ in assistant.retriever.docstore.iter_chunks() if chunk.kind == "gcm_action"
               for code in chunk.refs.gcm_actions}
    assert len(actions) > 150  # the Compact lists nine or more actions under most of its 23 objectives
    for code, chunk in sorted(actions.items()):
        number, letter = int(code[:-1]), code[-1]
        for question in (f"¿Qué dice la acción ({letter}) del objetivo {number} del Pacto?",
                         f"What does action ({letter}) of GCM objective {number} ask States to do?"):
            facts = _facts(assistant, question)
            assert [f.chunk.id for f in facts] == [chunk.id], question
            assert facts[0].quote.startswith(f"({letter})") and facts[0].quote in chunk.text
    assert _facts(assistant, "¿Qué hizo el Perú respecto a la acción (c) del objetivo 14?") == []
    # by its place in the list: «la primera acción» is action (a), "the third action" action (c)
    for question, code in (("q pide la primera accion del objetivo 23 del pacto", "23a"),
                           ("What does the third action of GCM objective 6 say?", "6c")):
        refs = tag_question(question, assistant.catalog)
        facts = assistant.catalog_answers.answer(question, refs, "es")
        assert [f.chunk.id for f in facts] == [actions[code].id], question


@pytest.mark.parametrize("question", [
    "¿Qué hizo el Perú para cumplir el objetivo 13?",
    "¿Cuántos objetivos del PMM implementó el Perú?",
    "¿Qué entidades implementaron el lineamiento 2 del eje 1?",
    "What results did Peru report under GCM objective 14?",
    "¿Qué objetivo del PMM tuvo mayor ejecución en 2021?",
    "¿Qué hizo el Perú en los ejes de la PNM?",
    "What results were reported under the axes of the PNM?",
])
def test_a_question_that_asks_more_than_the_structural_fact_is_not_a_catalog_question(assistant, question):
    assert _facts(assistant, question) == []


def test_counts_are_quoted_from_a_sentence_that_states_the_catalogs_figure(assistant):
    catalog = assistant.catalog
    for question, figure in [("¿Cuántos objetivos tiene el PMM?", len(catalog.objectives)),
                             ("how many thematic areas does the thesis group them in", len(catalog.areas)),
                             ("¿Cuántos ejes tiene la PNM 2017-2025?", len(catalog.ejes))]:
        facts = _facts(assistant, question)
        assert len(facts) == 1 and facts[0].text == facts[0].quote, question
        spelled = {4: "cuatro", 5: "cinco", 23: "23"}[figure]
        assert re.search(rf"\b({figure}|{spelled})\b", facts[0].quote), (question, facts[0].quote)


def test_which_the_ejes_are_is_quoted_from_a_sentence_that_names_each(assistant):
    """«¿Cuáles son los ejes de la PNM?»: the sentence that gives the catalog's count of ejes and marks each one.
    The áreas temáticas, which no sentence of the corpus enumerates, are quoted each from the first table cell
    that labels it («Área temática 2: Protección de los derechos humanos…»)."""
    n = len(assistant.catalog.ejes)
    for question in ("cuales son los ejes de la pnm", "What are the 4 axes of the PNM?", "list the axes of the PNM"):
        facts = _facts(assistant, question)
        assert len(facts) == 1 and facts[0].text == facts[0].quote, question
        quote = facts[0].quote
        assert "cuatro ejes" in quote and all(f"({m})" in quote for m in ("i", "ii", "iii", "iv")[:n])
    answer = assistant.ask("¿cuáles son los ejes de la política nacional migratoria?")
    assert answer.answer.startswith(facts[0].quote) and "answered_from_catalog" in answer.notes
    areas = assistant.catalog.areas
    for question in ("¿Cuáles son las áreas temáticas del PMM?", "lista las areas tematicas",
                     "What are the five thematic areas of the Compact?"):
        facts = _facts(assistant, question)
        assert [fold(f.quote).split(":")[0] for f in facts] == [f"area tematica {n}" for n in sorted(areas)], question
        assert all(f.quote in f.chunk.text and " | " not in f.quote and f.text == f.quote for f in facts)
        # each cell gives the area's title as the catalog has it, in the thesis's own wording
        assert all(fold(areas[n]).split()[0] in fold(f.quote) for n, f in zip(sorted(areas), facts, strict=True))
    english = assistant.ask("What are the five thematic areas of the Compact?")
    assert english.answer.startswith("Área temática 1:") and len(english.citations) == len(areas)


def test_who_wrote_the_thesis_and_what_it_is_about_are_quoted_from_its_cover_and_summary(assistant):
    thesis = next(d for d in assistant.documents.values() if d.kind == "thesis")
    for question in ("¿Quién escribió la tesis?", "who wrote the thesis?", "quien es la autora de la tesis"):
        (fact,) = _facts(assistant, question)
        assert fact.chunk.doc_id == thesis.id and fact.chunk.ordinal == 0 and fact.text == fact.quote
        assert fold(fact.quote) in fold(thesis.title)  # the manifest's title names its author too
    for question, section in (("¿De qué trata la tesis?", "RESUMEN"), ("what is the thesis about?", "ABSTRACT")):
        facts = _facts(assistant, question)
        assert facts and all(f.chunk.section_path[0] == section and f.quote in f.chunk.text for f in facts)
    assert "objetivo analizar" in _facts(assistant, "dame un resumen de la tesis")[0].quote
    for question in ("¿Qué dice la tesis sobre el objetivo 14?", "quién es el autor que la tesis cita sobre el "
                     "estructuralismo", "¿Quién escribió el Pacto?"):
        assert _facts(assistant, question) == [], question
    chunks = [chunk for chunk, _ in assistant.retriever.docstore.iter_chunks()]
    assert CatalogAnswers(assistant.catalog, chunks).answer("¿Quién escribió la tesis?", References(), "es") == []


def test_which_objective_a_topic_belongs_to_is_found_from_the_titles(assistant):
    catalog = assistant.catalog
    facts = _facts(assistant, "which gcm objective is about trafficking in persons")
    assert len(facts) == 1 and facts[0].quote.startswith("Objective 10:")
    assert catalog.objectives[10].title_en[:30] in facts[0].quote
    # a topic several titles share names no objective
    assert _facts(assistant, "¿Qué objetivo trata de la migración?") == []


def test_ask_leads_with_the_row_and_cites_it_first(assistant):
    answer = assistant.ask("¿Qué establece el objetivo 12 del Pacto?")
    assert not answer.abstained and "answered_from_catalog" in answer.notes
    title = assistant.catalog.objectives[12].title_es.rstrip(".")
    assert answer.answer.startswith("Objetivo 12 del PMM: ") and title in answer.answer.split("[1]")[0]
    assert answer.citations[0].chunk_id == answer.passages[0].chunk.id
    assert title in answer.citations[0].quote and "Objetivo 12" in answer.citations[0].label


def test_english_answers_quote_spanish_rows_and_say_so(assistant):
    answer = assistant.ask("Which GCM objectives is guideline 3 of axis 2 aligned with?")
    assert not answer.abstained and "answered_from_catalog" in answer.notes
    assert answer.answer.split(" [1]")[0] == answer.citations[0].quote  # the row itself, not a paraphrase
    assert "Quoted in Spanish" in answer.answer


def test_a_follow_up_that_renumbers_the_objective_gets_the_new_objectives_row(assistant):
    first = assistant.ask("What is GCM objective 14 about?")
    follow = assistant.ask("what about objective 7?", history=[assistant.turn_of(first)])
    assert follow.answer.startswith("Objective 7:"), follow.answer
    assert assistant.catalog.objectives[7].title_en in follow.answer


def test_a_multi_part_question_gets_the_catalog_row_first_and_the_other_part_from_retrieval(assistant):
    answer = assistant.ask("¿Qué establece el objetivo 14 del PMM y qué hizo el Perú para cumplirlo?")
    assert "answered_from_catalog" in answer.notes and "parts_answered:2/2" in answer.notes
    assert answer.answer.startswith("Objetivo 14 del PMM: ")
    assert len(answer.citations) >= 2  # the row, then what the thesis reports


def _chunk(text, kind="table", ordinal=0):
    return Chunk(id=Chunk.make_id("decreto", ordinal, text), doc_id="decreto", ordinal=ordinal, kind=kind, text=text)


def test_the_area_answer_points_to_where_the_thesis_analyses_the_objective(assistant):
    """After the table row, the caption of the section that analyses objective N under its área («Implementación
    del objetivo N del área temática A»), quoted from the chunk that holds it, for every objective the index has one
    for; none where it has none."""
    catalog = assistant.catalog
    chunks = [chunk for chunk, _ in assistant.retriever.docstore.iter_chunks()]
    pointed = 0
    for n, obj in catalog.objectives.items():
        facts = _facts(assistant, f"¿En qué área temática está el objetivo {n}?")
        for area in obj.areas:
            caption = re.compile(rf"\bobjetivo {n} del area tematica {area}\b")
            holders = {c.id for c in chunks if caption.search(fold(c.text))}
            pointers = [f for f in facts if f.text.startswith("La tesis lo analiza") and caption.search(fold(f.quote))]
            if holders and facts and facts[0].chunk.id not in holders:  # the row answered, the caption points
                assert pointers and pointers[0].chunk.id in holders and pointers[0].quote in pointers[0].chunk.text, n
                # one sentence, as the eval's judge reads it: the caption's «Tabla 30.» cuts no sentence in two
                assert len(answer_claims(f"{pointers[0].text} [1]")) == 1, pointers[0].text
                pointed += 1
            else:
                assert not pointers, n
    assert pointed >= len(catalog.objectives) - 3, pointed


def test_a_row_that_disagrees_with_the_catalog_is_never_quoted(assistant):
    """A shifted cell (objective 4 filed under área 2) and a wrong alignment: the route declines, and answers
    once a unit states the catalog's fact."""
    catalog = assistant.catalog
    area = catalog.objectives[4].areas[0]
    wrong = 2 if area != 2 else 3
    shifted = _chunk(f"Tabla 8. Objetivos del PMM de acuerdo con el área temática\nÁrea temática | N° | Objetivos\n"
                     f"Área temática {wrong}: {catalog.areas[wrong]} | 4 | Identidad jurídica")
    lin = catalog.lineamiento("2.3")
    misaligned = _chunk("Tabla 22. Alineación\nEje | Código | Lineamientos | Alcances\n"
                        f"Peruanos en el exterior | L2.3 | 3. {lin.title_es} | L2.3 con O{max(lin.pmm_objectives) + 1}",
                        ordinal=1)
    route = CatalogAnswers(catalog, [shifted, misaligned])
    area_q, align_q = "¿En qué área temática está el objetivo 4?", "¿Con qué objetivos se alinea el lineamiento 3 del eje 2?"
    assert route.answer(area_q, tag_text(area_q, catalog), "es") == []
    assert route.answer(align_q, tag_text(align_q, catalog), "es") == []
    right = _chunk(f"Tabla 8. Objetivos del PMM de acuerdo con el área temática\nÁrea temática | N° | Objetivos\n"
                   f"Área temática {area}: {catalog.areas[area]} | 4 | Identidad jurídica", ordinal=2)
    facts = CatalogAnswers(catalog, [shifted, right]).answer(area_q, tag_text(area_q, catalog), "es")
    assert [f.chunk.id for f in facts] == [right.id]


def test_without_the_document_that_states_it_the_question_goes_the_ordinary_way(assistant):
    route = CatalogAnswers(assistant.catalog, [_chunk("Un decreto sin tablas del Pacto.", kind="body")])
    question = "¿Qué establece el objetivo 12 del Pacto?"
    assert route.answer(question, tag_text(question, assistant.catalog), "es") == []


@pytest.mark.parametrize("question", ["¿Qué dice el objetivo 17 de los ODS?", "¿Cuál es el objetivo 24 del PESEM?"])
def test_another_instruments_numbering_is_never_read_as_the_pmms(assistant, question):
    answer = assistant.ask(question)
    assert "answered_from_catalog" not in answer.notes and "reference_out_of_range" not in answer.notes


def test_a_reference_beyond_the_catalog_is_refused_with_the_sentence_that_gives_the_count(assistant):
    catalog = assistant.catalog
    beyond = len(catalog.objectives) + 2
    answer = assistant.ask(f"¿Qué establece el objetivo {beyond} del PMM?")
    assert answer.abstained and "reference_out_of_range" in answer.notes
    assert f"objetivo {beyond}" in answer.answer and str(len(catalog.objectives)) in answer.citations[0].quote
    english = assistant.ask(f"What did Peru do under axis {len(catalog.ejes) + 1} of the PNM?")
    assert english.abstained and "reference_out_of_range" in english.notes
    assert "Quoted in Spanish" in english.answer
    # inside the range, the ordinary route answers
    assert "reference_out_of_range" not in assistant.ask(f"¿Qué hizo el Perú en el eje {len(catalog.ejes)}?").notes


def test_what_a_table_shows_is_its_caption_and_its_note(assistant):
    """«¿Qué muestra la tabla N?», "What does table N show?", for every table of the shipped index: its caption as
    its first chunk writes it, then its note on the source when its last chunk ends with one, both quoted verbatim;
    a question that asks something of the table beyond what it shows goes the ordinary way."""
    first: dict[int, Chunk] = {}
    last: dict[int, Chunk] = {}
    for chunk, _ in sorted(assistant.retriever.docstore.iter_chunks(), key=lambda c: c[0].ordinal):
        found = re.match(r"Tabla (\d+)\. ", chunk.text) if chunk.doc_id.startswith("tesis") else None
        if chunk.kind == "table" and found:
            first.setdefault(int(found.group(1)), chunk)
            last[int(found.group(1))] = chunk
    assert len(first) > 60  # the thesis numbers some seventy tables
    for number, chunk in sorted(first.items()):
        caption = chunk.text.split("\n")[0].strip()
        note = last[number].text.strip().split("\n")[-1].strip()
        for question in (f"¿Qué muestra la tabla {number}?", f"What does table {number} show?",
                         f"de que trata la tabla {number}"):
            facts = _facts(assistant, question)
            assert facts and facts[0].quote == caption and facts[0].chunk.id == chunk.id, question
            if note.startswith("Nota:"):
                assert [f.quote for f in facts[1:]] == [note] and note in facts[1].chunk.text, question
    assert _facts(assistant, "¿Qué dice la tabla 23 sobre la asistencia consular?") == []
    answer = assistant.ask("¿Qué muestra la tabla 23?")
    assert "answered_from_catalog" in answer.notes and answer.answer.startswith(first[23].text.split("\n")[0].strip())
    assert "Tabla 23" in answer.citations[0].label


def test_each_document_with_a_table_of_that_number_is_named(assistant):
    """Two decrees with a «Tabla 2» each: both captions, each cited from its own document; a sentence that speaks
    of a table («Tabla 5 muestra que…») is no caption."""
    one = Chunk(id=Chunk.make_id("decreto_a", 0, "a"), doc_id="decreto_a", ordinal=0, kind="table",
                text="Tabla 2. Plazos de regularización\nTrámite | Plazo\nPTP | 60 días\nFuente: Migraciones (2021)")
    two = Chunk(id=Chunk.make_id("decreto_b", 0, "b"), doc_id="decreto_b", ordinal=0, kind="table",
                text="Table 2: Consular offices by region\nRegion | Offices\nEurope | 12")
    prose = _chunk("Tabla 5 muestra que el plazo se amplió.", kind="body")
    route = CatalogAnswers(assistant.catalog, [prose, two, one])
    question = "¿Qué muestra la tabla 2?"
    facts = route.answer(question, tag_text(question, assistant.catalog), "es")
    assert [(f.chunk.doc_id, f.quote) for f in facts] == [
        ("decreto_a", "Tabla 2. Plazos de regularización"), ("decreto_a", "Fuente: Migraciones (2021)"),
        ("decreto_b", "Table 2: Consular offices by region")]
    question = "¿Qué muestra la tabla 5?"
    assert route.answer(question, tag_text(question, assistant.catalog), "es") == []


def test_the_actions_of_an_objective_are_listed_from_the_compact_or_said_to_be_missing(assistant):
    """«¿Qué acciones propone el Pacto para el objetivo N?": the first sentence of each of its actions' paragraphs,
    in the Compact's order, for every objective whose actions the index holds; for one whose actions the corpus's
    text of the Compact does not list (the shipped transcription lacks one objective's), a refusal that says so
    instead of an answer from passages about something else. What Peru did is no catalog question."""
    by_objective: dict[int, dict[str, Chunk]] = {}
    for chunk, _ in assistant.retriever.docstore.iter_chunks():
        if chunk.kind == "gcm_action":
            for code in chunk.refs.gcm_actions:
                by_objective.setdefault(int(code[:-1]), {}).setdefault(code[-1], chunk)
    for number, actions in sorted(by_objective.items()):
        for question in (f"¿Qué acciones propone el Pacto para el objetivo {number}?",
                         f"what actions does the GCM list under objective {number}?"):
            facts = _facts(assistant, question)
            assert [f.quote[:3] for f in facts] == [f"({letter})" for letter in sorted(actions)], question
            assert all(f.chunk.id == actions[f.quote[1]].id and f.quote in f.chunk.text for f in facts), question
        assert _facts(assistant, f"¿Qué acciones realizó el Perú para el objetivo {number}?") == []
    unlisted = sorted(set(assistant.catalog.objectives) - set(by_objective))
    assert unlisted  # the shipped text of the Compact misses one objective's actions (corpus/SOURCES.md)
    answer = assistant.ask(f"¿Qué acciones enumera el Pacto para el objetivo {unlisted[0]}?")
    assert answer.abstained and "actions_unlisted" in answer.notes
    assert f"acciones del objetivo {unlisted[0]}" in answer.answer
    listed = assistant.ask(f"What actions does the Compact list under objective {min(by_objective)}?")
    assert not listed.abstained and "answered_from_catalog" in listed.notes
    # beside a part the corpus answers, the uncovered part is named, and why
    both = assistant.ask(f"What does objective {min(by_objective)} say, and what actions does the Compact list "
                         f"under objective {unlisted[0]}?")
    assert not both.abstained and "parts_answered:1/2" in both.notes and "actions_unlisted" in both.notes
    assert both.answer.endswith(f"does not list the actions of objective {unlisted[0]}.")


def test_an_index_without_the_compacts_actions_leaves_the_question_to_the_ordinary_way(assistant):
    """Only an index that holds the Compact's actions for some objectives can say another's are not there."""
    question = "¿Qué acciones propone el Pacto para el objetivo 5?"
    refs = tag_text(question, assistant.catalog)
    alone = CatalogAnswers(assistant.catalog, [_chunk("Un decreto sin el texto del Pacto.", kind="body")])
    assert alone.unlisted_actions(question, refs) is None and alone.answer(question, refs, "es") == []
    text = "(a) Develop national policies on safe pathways.\n(b) Review visa requirements."
    action = Chunk(id=Chunk.make_id("gcm", 0, text), doc_id="gcm", ordinal=0, kind="gcm_action", text=text,
                   refs=tag_text("Objective 3, action (a)", assistant.catalog))
    action.refs.gcm_actions = ["3a"]
    other = CatalogAnswers(assistant.catalog, [action])
    assert other.unlisted_actions(question, refs) == 5
    third = "What actions does the Compact list under objective 3?"
    assert [f.quote for f in other.answer(third, tag_text(third, assistant.catalog), "en")] == [
        "(a) Develop national policies on safe pathways."]


def test_the_lineamientos_of_an_eje_and_the_objectives_of_an_area_are_listed_from_the_catalog(assistant):
    """«¿Qué lineamientos tiene el eje 3?», "how many objectives are in thematic area 5?": every member the catalog
    gives, each quoted from the first table cell that labels it, the count first when it is asked."""
    eje = assistant.catalog.ejes[3]
    facts = _facts(assistant, "¿Qué lineamientos tiene el eje 3 de la PNM?")
    assert [f.quote.split(" | ")[0] for f in facts] == [lin.code for lin in eje.lineamientos]
    assert all(f.quote in f.chunk.text and fold(lin.title_es)[:20] in fold(f.text)
               for f, lin in zip(facts, eje.lineamientos, strict=True))
    counted = _facts(assistant, "cuantos lineamientos tiene el eje 2")
    assert counted[0].text.startswith(f"El eje 2 de la PNM tiene {len(assistant.catalog.ejes[2].lineamientos)} "
                                      "lineamientos: L2.1:")
    members = sorted(n for n, o in assistant.catalog.objectives.items() if 5 in o.areas)
    english = _facts(assistant, "how many objectives are in thematic area 5?")
    assert english[0].text.startswith(f"Thematic area 5 of the GCM has {len(members)} objectives: ")
    assert [int(f.quote.split(" | ")[0]) for f in english] == members and all(f.quote in f.chunk.text for f in english)
    spanish = _facts(assistant, "que objetivos tiene el area tematica 2")
    assert [f.text.split(":")[0] for f in spanish] == [f"Objetivo {n}" for n in sorted(
        n for n, o in assistant.catalog.objectives.items() if 2 in o.areas)]
    # what was done under them is no catalog question
    assert _facts(assistant, "¿Qué hizo el MRE en los lineamientos del eje 1?") == []
    answer = assistant.ask("which guidelines does axis 3 have")
    assert "answered_from_catalog" in answer.notes and len(answer.citations) == len(eje.lineamientos)
