"""Question understanding without an index: parts of a multi-part question, the kind of fact asked for,
follow-up detection and reference substitution, acronyms typed in lower case, sources that disagree, and the
terms a unit is measured against."""

from __future__ import annotations

from dataclasses import replace

import pytest

from assistant.evidence import query_terms, states_count, states_figure, states_share, term_coverage, term_sides
from assistant.query import (
    _is_follow_up,
    _substitute_refs,
    acronyms_in,
    asked_figure,
    expected_answer,
    part_queries,
    split_parts,
    understand,
)
from assistant.text import content_stems, differing_figures
from assistant.types import Turn
from indexer.catalog import load_catalog
from indexer.language import detect_language
from indexer.settings import PROJECT_ROOT
from indexer.tagging import tag_question, tag_text


@pytest.fixture(scope="module")
def catalog():
    return load_catalog(PROJECT_ROOT / "corpus" / "catalog.json")


@pytest.mark.parametrize("question, parts", [
    ("¿Cuántas oficinas consulares abrió el Perú en 2019 y cuántas cerró en 2021?",
     ["Cuántas oficinas consulares abrió el Perú en 2019", "cuántas cerró en 2021"]),
    ("¿Qué institución emite el carné y desde cuándo lo hace?",
     ["Qué institución emite el carné", "desde cuándo lo hace"]),
    ("who signed the agreement and when did it enter into force?",
     ["who signed the agreement", "when did it enter into force"]),
    ("¿Qué es la regularización migratoria? ¿Quién la aprueba?",
     ["Qué es la regularización migratoria", "Quién la aprueba"]),
    # the second question's interrogative after a preposition
    ("¿Qué talleres organizó la OIM y a cuántas personas llegaron?",
     ["Qué talleres organizó la OIM", "a cuántas personas llegaron"]),
    ("when was the permit created and for how long is it valid",
     ["when was the permit created", "for how long is it valid"]),
    # an English yes/no question after "and": its auxiliary and a subject
    ("what is objective 7 and did peru implement it", ["what is objective 7", "did peru implement it"]),
    ("what does objective 23 say, and is it binding?", ["what does objective 23 say", "is it binding"]),
])
def test_multi_part_questions_are_split_at_each_new_question(question, parts):
    assert split_parts(question) == parts


@pytest.mark.parametrize("question", [
    "¿Qué relación hay entre la gobernanza y la cooperación internacional?",  # «y» inside one question
    "cuales son los ejes de la politica",
    "What did the ministry and the police agree on?",
    "Which reports and studies did the MRE publish?",  # no auxiliary after "and"
    "¿Cuál es la meta del objetivo 3? <b>texto pegado</b> y algo más",  # what follows the «?» asks nothing
])
def test_single_questions_stay_whole(question):
    assert split_parts(question) == [question]


@pytest.mark.parametrize("question, kind", [
    ("¿Cuántos refugiados reconoció el país?", "number"),
    ("cuantas personas pidieron asilo", "number"),
    ("What percentage of the budget went to health?", "number"),
    ("¿En qué año se creó la comisión?", "date"),
    ("since when does the office exist?", "date"),
    ("¿Qué entidad supervisa los albergues?", "who"),
    ("Which agency runs the registry?", "who"),
    ("¿Qué opina la autora de la gobernanza?", None),
    # the first interrogative asks; a later «cuando», "when" or "who" only qualifies what it asks about
    ("¿Qué hizo el consulado cuando cerraron las fronteras?", None),
    ("which forms should applicants file when they renew a permit?", None),
    ("What did the office do for workers who lost their jobs?", None),
    ("cuantos peruanos volvieron cuando empezo la pandemia", "number"),
    ("y hasta cuando duro el programa", "date"),
    ("segun el informe quien coordina la mesa", "who"),
    # an unaccented «que», «q» inside a clause is a relative pronoun, not the question's interrogative
    ("los peruanos q viven en chile cuantos son", "number"),
    ("los venezolanos que recibieron apoyo, cuantos fueron", "number"),
])
def test_the_kind_of_fact_a_question_asks_for(question, kind):
    assert expected_answer(question) == kind


def test_reference_of_the_same_kind_is_swapped_into_the_previous_question():
    assert _substitute_refs("¿Qué retos identifica la conclusión 2?", "¿y la recomendación 1?") == \
        "¿Qué retos identifica la recomendación 1?"
    assert _substitute_refs("¿Cuántos lineamientos tiene el eje 1?", "and axis 3?") == \
        "¿Cuántos lineamientos tiene el axis 3?"
    assert _substitute_refs("¿Qué dice la tabla 12?", "¿y quién la elaboró?") is None
    # only a number: the previous question's reference is renumbered, and the gloss of the old one dropped
    assert _substitute_refs("¿qué logros tuvo el objetivo 5 (vías de migración regular) en 2020?", "y en el 9?") == \
        "¿qué logros tuvo el objetivo 9 en 2020?"
    # a gloss after a comma, a colon or «sobre» names the old reference too; a clause that asks something stays
    assert _substitute_refs("¿Qué medida se destaca para el objetivo 13, alternativas a la detención?",
                            "¿y el objetivo 7?") == "¿Qué medida se destaca para el objetivo 7?"
    assert _substitute_refs("¿qué dice la tesis del objetivo 11 sobre fronteras, y quién lo coordina?", "y el 12") == \
        "¿qué dice la tesis del objetivo 12, y quién lo coordina?"
    assert _substitute_refs("¿Qué se hizo en el objetivo 11, y qué dificultades hubo?", "¿y el objetivo 7?") == \
        "¿Qué se hizo en el objetivo 7, y qué dificultades hubo?"
    assert _substitute_refs("¿Qué hizo el Perú en el objetivo 11 para gestionar fronteras?", "¿y en el 12?") == \
        "¿Qué hizo el Perú en el objetivo 12 para gestionar fronteras?"


def test_a_guideline_named_without_its_axis_replaces_the_guideline_not_the_axis():
    previous = "Under axis 2 of Peru's PNM 2017-2025, what was done for guideline 7 on migrants' contribution?"
    assert _substitute_refs(previous, "What about guideline 8?") == \
        "Under axis 2 of Peru's PNM 2017-2025, what was done for guideline 8?"  # the gloss of guideline 7 goes
    assert _substitute_refs("¿Qué se hizo en el lineamiento 3 del eje 2?", "¿y en el lineamiento 5?") == \
        "¿Qué se hizo en el lineamiento 5 del eje 2?"


def test_a_bare_letter_asks_the_previous_question_of_that_action():
    """«¿y la (d)?», "and (e)?" after a question on an action of the Compact: the same question, of that action."""
    assert _substitute_refs("what does action (b) of gcm objective 12 say?", "and (c)?") == \
        "what does action (c) of gcm objective 12 say?"
    assert _substitute_refs("¿Qué dice la acción (a) del objetivo 6 del pacto?", "¿y la d)?") == \
        "¿Qué dice la acción (d) del objetivo 6 del pacto?"
    assert _substitute_refs("What does GCM Objective 17 action (c) ask regarding the media?", "and what about (e)?") \
        == "What does GCM Objective 17 action (e) ask regarding the media?"
    # no action in the previous question, or a letter inside a longer question of its own: nothing to swap
    assert _substitute_refs("¿Qué dice el objetivo 6?", "¿y la (d)?") is None
    assert _substitute_refs("what does action (b) of gcm objective 12 say?",
                            "and which institutions in peru carried out point (c) of that list?") is None


@pytest.fixture(scope="module")
def similar():
    """Words' similarity in meaning from the index's own embedder (what the assistant passes to `understand`)."""
    from indexer.embeddings import get_embedder
    from indexer.lexicon import WordVectors
    from indexer.settings import EmbeddingSettings

    return WordVectors(get_embedder(EmbeddingSettings())).similarity


def test_a_facet_follow_up_swaps_the_word_it_replaces(catalog, similar):
    first = "¿Qué limitaciones coyunturales identifica la tesis para la implementación del PMM?"
    history = [Turn(question=first, resolved_question=first, answer="", refs={})]
    follow = understand("¿Y las estructurales?", history, catalog, similar=similar)
    assert follow.is_follow_up
    assert follow.resolved == "¿Qué limitaciones estructurales identifica la tesis para la implementación del PMM?"
    # without word similarity the previous question is only borrowed as context
    assert understand("¿Y las estructurales?", history, catalog).resolved == f"¿Y las estructurales? ({first})"


def test_a_facet_never_replaces_a_reference_a_framing_word_or_one_word_twice(catalog, similar):
    """«¿y en el primer trimestre?» after a question on objective 14 swapped «Perú» for «primer», dropped
    «trimestre» (both were closest to «Perú») and could swap «objetivo» of «objetivo 14» or «respecto»: none of
    these is a facet, and the turn borrows the previous question as context."""
    first = "¿Qué hizo el Perú respecto al objetivo 14 del PMM?"
    history = [Turn(question=first, resolved_question=first, answer="", refs={"pmm": [14]})]
    follow = understand("¿y en el primer trimestre?", history, catalog, similar=similar)
    assert follow.resolved == f"¿y en el primer trimestre? ({first})" and follow.refs.pmm == [14]


def test_a_turn_naming_only_another_reference_also_searches_that_reference_on_its_own(catalog):
    """«¿y en el 22?» after «¿cuántos convenios se firmaron en el objetivo 4?»: the previous question asked of 22,
    and what the corpus says of objective 22 itself (22 may have no convenios); a turn that asks something of its own
    about the new reference is that question only."""
    first = "¿Cuántos convenios se firmaron en el objetivo 4 del PMM?"
    history = [Turn(question=first, resolved_question=first, answer="", refs={"pmm": [4]})]
    follow = understand("¿y en el 22?", history, catalog)
    assert follow.reference_only and follow.resolved == "¿Cuántos convenios se firmaron en el objetivo 22 del PMM?"
    asked, itself = part_queries(follow, catalog)
    assert asked.resolved == follow.resolved and not asked.auxiliary
    assert itself.auxiliary and itself.refs.pmm == [22] and "objetivo 22" in itself.resolved.lower()
    assert "convenios" not in itself.resolved and "portabilidad" in " ".join(itself.expansions).lower()
    own = understand("¿y qué resultados hubo en el objetivo 22?", history, catalog)
    assert not own.reference_only and len(part_queries(own, catalog)) == 1


@pytest.mark.parametrize("follow_up", ["¿Y quién definió esa agrupación?", "y q criterios establecio",
                                       "¿y para la gestión de la migración en las fronteras del sur?"])
def test_a_follow_up_that_asks_its_own_question_is_not_a_facet(catalog, similar, follow_up):
    first = "¿Cuántos objetivos tiene el PMM y en cuántas áreas temáticas los agrupa la tesis?"
    history = [Turn(question=first, resolved_question=first, answer="", refs={})]
    follow = understand(follow_up, history, catalog, similar=similar)
    assert follow.resolved == f"{follow_up} ({first})"


def test_bare_and_pronoun_turns_are_follow_ups_but_full_questions_are_not(catalog):
    def is_follow(q):
        return _is_follow_up(q, tag_text(q, catalog))

    assert is_follow("¿cuántos eran?")
    assert is_follow("y en 2021")
    assert is_follow("what about objective 9?")
    assert not is_follow("¿Qué dice el objetivo 9 del PMM sobre las remesas?")
    assert not is_follow("¿Cuántos peruanos residen en Chile según el censo de población?")
    # «lo», «la», «los», «las» before a verb stand for what was said; before a noun they are articles, and a short
    # question that names its own subject is a new question («cuales son los ejes de la pnm» after objective 14)
    assert is_follow("¿quién la preside?") and is_follow("¿cuándo lo firmaron?") and is_follow("¿en qué año la adoptaron?")
    assert is_follow("¿por qué no lo hacían?")
    assert not is_follow("cuales son los ejes de la pnm") and not is_follow("¿qué hizo la cancillería en 2022?")
    assert not is_follow("¿Cuándo se creó la MTIGM y con qué norma?")
    # a short question that names its own subject stands alone; pointing back, it leans on the previous turn
    history = [Turn(question="¿Qué es el PTP?", resolved_question="¿Qué es el PTP?", answer="", refs={})]
    for own in ("¿Qué es la MTIGM?", "q es la mtigm", "What is UNHCR?"):
        assert not understand(own, history, catalog).is_follow_up
    for leaning in ("¿y la MTIGM?", "¿quién lo otorga?", "¿qué hizo la OIM ahí?"):
        assert understand(leaning, history, catalog).is_follow_up


def test_follow_up_on_another_axis_asks_the_previous_question_of_that_axis(catalog):
    first = "¿Qué lineamientos tiene el eje 3 de la PNM?"
    history = [Turn(question=first, resolved_question=first, answer="", refs={"pnm_ejes": [3]})]
    follow = understand("¿y el eje 1?", history, catalog)
    assert follow.is_follow_up and follow.resolved == "¿Qué lineamientos tiene el eje 1 de la PNM?"
    assert follow.refs.pnm_ejes == [1]


def test_a_follow_up_naming_another_reference_of_the_kind_leaves_the_previous_one(catalog):
    """The previous turn was about objective 21 without naming it (its answer's passage did), so the question
    cannot be renumbered: it is borrowed as context, but the follow-up's objective replaces the previous one in
    the search's references (filters, boosts) and the passages around the previous answer are not searched."""
    first = "what does the gcm ask states to do about readmission under the return objective"
    history = [Turn(question=first, resolved_question=first, answer="", refs={"pmm": [21], "gcm_actions": ["21a"]},
                    cited=["gcm_2018_en:00183:x"])]
    follow = understand("and under objective 22?", history, catalog)
    assert follow.is_follow_up and follow.context and first in follow.resolved
    assert follow.refs.pmm == [22] and not follow.refs.gcm_actions and not follow.previous_chunks
    # a reference of another family is carried on, and so are the previous answer's passages
    tabled = [Turn(question="q", resolved_question="¿qué muestra la tabla 8?", answer="", refs={"tables": [8]},
                   cited=["tesis:00010:x"])]
    kept = understand("¿y qué dice del objetivo 7?", tabled, catalog)
    assert kept.refs.tables == [8] and kept.refs.pmm == [7] and kept.previous_chunks == ["tesis:00010:x"]
    # a follow-up naming no reference still borrows them all
    bare = understand("¿y quién lo coordina?", history, catalog)
    assert bare.refs.pmm == [21] and bare.refs.gcm_actions == ["21a"] and bare.previous_chunks


def test_a_follow_up_pointing_at_that_objective_is_asked_in_full_about_the_objective(catalog):
    """«ese objetivo», "that objective" name the one reference of that kind the previous turn named: the turn is
    resolved as the full question about it, and not about the action the previous turn also named."""
    first = "¿Qué pide la acción (b) del objetivo 22?"
    history = [Turn(question=first, resolved_question=first, answer="", refs={"pmm": [22], "gcm_actions": ["22b"]})]
    follow = understand("¿y en qué área temática está ese objetivo?", history, catalog)
    assert follow.is_follow_up and follow.resolved == "¿en qué área temática está el objetivo 22?"
    assert follow.refs.pmm == [22] and not follow.refs.gcm_actions and not follow.context
    english = "What does action (c) of objective 14 ask?"
    history = [Turn(question=english, resolved_question=english, answer="", refs={"gcm_actions": ["14c"]})]
    assert understand("and what is the title of that objective?", history, catalog).resolved == \
        "what is the title of objective 14?"
    # other kinds, and the article that follows a preposition
    tabled = [Turn(question="¿Qué muestra la tabla 8?", resolved_question="¿Qué muestra la tabla 8?", answer="",
                   refs={"tables": [8]})]
    assert understand("¿y de qué fuente es esa tabla?", tabled, catalog).resolved == "¿de qué fuente es la tabla 8?"
    guided = [Turn(question="q", resolved_question="q", answer="", refs={"pnm_lineamientos": ["2.4"]})]
    assert understand("¿qué resultados tuvo dicho lineamiento?", guided, catalog).resolved == \
        "¿qué resultados tuvo el lineamiento 4 del eje 2?"
    # a previous turn that named several objectives leaves the pointer to the ordinary resolution
    several = [Turn(question="¿Qué dicen los objetivos 5 y 7?", resolved_question="¿Qué dicen los objetivos 5 y 7?",
                    answer="", refs={"pmm": [5, 7]})]
    assert understand("¿y ese objetivo qué área tiene?", several, catalog).context


def test_a_follow_up_stepping_to_the_next_or_previous_reference_names_it(catalog):
    """«el siguiente», "the next action", «la tabla anterior» step from the previous turn's one reference of the
    kind: a bare step asks the previous question about it, a step that asks something itself is asked in full;
    neither searches around the previous answer. «anterior a la pandemia» is no step."""
    def turn(question: str, **refs) -> list[Turn]:
        return [Turn(question=question, resolved_question=question, answer="", refs=refs, cited=["tesis:00001:x"])]

    seven = turn("¿Qué dice el objetivo 7 del PMM?", pmm=[7])
    step = understand("¿y el siguiente?", seven, catalog)
    assert step.resolved == "¿Qué dice el objetivo 8 del PMM?" and step.refs.pmm == [8] and not step.previous_chunks
    assert understand("¿y el anterior?", seven, catalog).resolved == "¿Qué dice el objetivo 6 del PMM?"
    assert understand("what about the next objective?", seven, catalog).resolved == "¿Qué dice el objetivo 8 del PMM?"
    action = turn("what does action (c) of objective 21 say about readmission", pmm=[21], gcm_actions=["21c"])
    assert understand("and the next one?", action, catalog).refs.gcm_actions == ["21d"]
    asked = understand("what does the next action of that objective add about children?", action, catalog)
    assert asked.resolved == "what does action (d) of objective 21 add about children?"
    guided = turn("¿Qué acciones se reportan bajo el lineamiento 3 del eje 1?", pnm_ejes=[1], pnm_lineamientos=["1.3"])
    assert understand("¿qué entidades participaron en el lineamiento anterior?", guided, catalog).resolved == \
        "¿qué entidades participaron en el lineamiento 2 del eje 1?"
    # no lineamiento 4 in eje 1: no step, the ordinary follow-up
    assert understand("¿y el lineamiento siguiente?", guided, catalog).refs.pnm_lineamientos == ["1.3"]
    tabled = turn("¿Qué muestra la Tabla 23?", tables=[23])
    assert understand("¿y la tabla anterior?", tabled, catalog).resolved == "¿Qué muestra la tabla 22?"
    timed = understand("¿y la situación anterior a la pandemia?", seven, catalog)
    assert timed.context and timed.refs.pmm == [7]
    # nothing to step from: the first objective has none before it, and a turn that named several
    assert understand("¿y el anterior?", turn("¿Qué dice el objetivo 1?", pmm=[1]), catalog).context
    assert understand("¿y el siguiente?", turn("q", pmm=[5, 7]), catalog).context


def test_acronyms_are_found_in_lower_case_but_not_ordinary_words(catalog):
    assert acronyms_in("que hace la oim con la sunat", catalog) == ["OIM", "SUNAT"]
    assert "CAN" not in acronyms_in("can you tell me", catalog)


def test_sources_that_give_different_figures_for_the_same_thing_are_found():
    quotes = [(1, "La tasa de informalidad laboral de los migrantes llegó al 88% en 2021."),
              (2, "Según la encuesta, la tasa de informalidad laboral de los migrantes fue de 91% en 2021."),
              (3, "El número de consulados pasó de 100 a 110.")]
    assert differing_figures(quotes) == (1, 2)
    same = [(1, quotes[0][1]), (2, "La tasa de informalidad laboral de los migrantes llegó al 88% (2021).")]
    assert differing_figures(same) is None
    # a percentage and a count, or a reference's number, are not two figures of one thing
    other_kinds = [(1, "Se atendió el 100% de requerimientos de la Ley de Reinserción del Migrante Retornado."),
                   (2, "Para el lineamiento 1 se modificó la Ley de Reinserción del Migrante Retornado."),
                   (3, "Se prorrogó 3 años la Ley de Reinserción del Migrante Retornado, Ley N°30001.")]
    assert differing_figures(other_kinds) is None
    counts = [(1, "Se expidieron 93 Tarjetas del Migrante Retornado en 2021."),
              (2, "En 2021 se expidieron 95 Tarjetas del Migrante Retornado.")]
    assert differing_figures(counts) == (1, 2)
    objectives = [(1, "11 | Gestionar las fronteras de manera integrada, segura y coordinada"),
                  (2, "Mediante los objetivos 11 y 12 se permite gestionar las fronteras de manera integrada.")]
    assert differing_figures(objectives) is None  # a row's number and an enumeration of references


def test_a_later_part_that_points_back_borrows_the_first_parts_wording(catalog):
    """"…, and how is it worded?" asks about what the first part names: alone, it would search for nothing."""
    query = understand("Which objective deals with consular protection, and how is it worded?", [], catalog)
    first, second = part_queries(query, catalog)
    assert second.question == "how is it worded"
    assert "consular protection" in second.resolved and "consular protection" not in second.question
    # a later part with its own subject stands alone
    query = understand("¿Quién firmó el convenio con Chile y cuántos migrantes regularizó Migraciones en 2021?", [], catalog)
    assert [q.resolved for q in part_queries(query, catalog)][1] == "cuántos migrantes regularizó Migraciones en 2021"


def test_a_later_part_borrows_the_figure_asked_for_only_when_it_asks_nothing_else(catalog):
    """«¿Cuántos migrantes retornaron en 2020? ¿Y en 2022?»: the second part asks for the same count; "…, and when did
    that phase run?" asks for a date, and a unit with a count of meetings does not answer it."""
    same = part_queries(understand("¿Cuántos migrantes retornaron en 2020? ¿Y en 2022?", [], catalog), catalog)
    assert [(q.figure, q.counted) for q in same] == [("count", ["migrantes"])] * 2
    other = part_queries(understand("how many thematic meetings were held in phase 1, and when did that phase run?",
                                    [], catalog), catalog)
    assert [(q.expects, q.figure) for q in other] == [("number", "count"), ("date", None)]
    # «…y por qué no lo hacían los demás?» points back at the first part («lo»), and asks why, not how many
    why = part_queries(understand("¿Qué porcentaje de los egresados había convalidado su título y por qué no lo "
                                  "hacían los demás?", [], catalog), catalog)
    assert why[1].question == "por qué no lo hacían los demás" and "convalidado su título" in why[1].resolved
    assert [q.figure for q in why] == ["share", None]
    alone = part_queries(understand("¿Cuántos migrantes retornaron en 2020 y qué es lo más urgente en salud pública?", [], catalog),
                         catalog)
    assert alone[1].resolved == "qué es lo más urgente en salud pública"  # «lo más» points at nothing


def test_a_follow_up_that_points_back_with_a_pronoun_is_answered_first_in_context(catalog):
    """«¿y qué hizo el Perú para cumplirlo?»: its own words do not hold what «lo» stands for, so the search in context
    leads the answer; «¿y la discriminación?» brings the new thing itself, so its own search leads."""
    first = "¿Qué dice el objetivo 7 del PMM?"
    history = [Turn(question=first, resolved_question=first, answer="", refs={"pmm": [7]})]
    for question in ("y que hizo el peru para cumplirlo", "which guidelines does it have?", "¿y quién lo aprobó?",
                     "y q es lo q mas les preocupa", "¿qué se logró aplicándolo?", "did peru do anything on that",
                     "¿y qué opina la tesis de eso?", "¿hubo resultados con esos?"):
        lead, second = part_queries(understand(question, history, catalog), catalog)
        assert not lead.auxiliary and second.auxiliary and lead.context, question
    lead, second = part_queries(understand("¿y la discriminación?", history, catalog), catalog)
    assert lead.auxiliary and not second.auxiliary
    lead, second = part_queries(understand("¿y qué dice lo que sigue sobre la discriminación?", history, catalog),
                                catalog)
    assert lead.auxiliary  # «lo que» is no pronoun
    # a demonstrative with its noun names what it points at: its own words lead
    lead, second = part_queries(understand("¿y ese reglamento quién lo aprobó?", history, catalog), catalog)
    assert not lead.auxiliary  # «lo» still stands for the regulation, in context
    lead, second = part_queries(understand("what did that regulation change", history, catalog), catalog)
    assert lead.auxiliary


def test_a_follow_up_is_searched_on_its_own_words_and_in_context_never_split_on_what_it_borrowed(catalog):
    first = "¿Qué norma derogó el Decreto Legislativo N°1350? ¿Y cuándo se publicó?"  # a two-part previous turn
    history = [Turn(question=first, resolved_question=first, answer="", refs={})]
    follow = understand("y q registro implementa", history, catalog)
    assert follow.context and follow.resolved == f"y q registro implementa ({follow.context})"
    own, in_context = part_queries(follow, catalog)  # the «?» inside the borrowed words splits nothing
    assert own.question == in_context.question == "y q registro implementa"
    assert own.resolved == "y q registro implementa" and in_context.resolved == follow.resolved
    assert own.auxiliary and not in_context.auxiliary  # no model is fitted on the search on its own words
    # a follow-up of two parts: each part keeps what the turn borrowed
    two = understand("¿y quién la aprobó y cuándo entró en vigor?", history, catalog)
    parts = part_queries(two, catalog)
    assert [p.question for p in parts] == ["y quién la aprobó", "cuándo entró en vigor"]
    assert all(p.resolved.endswith(f"({two.context})") for p in parts)
    # a standalone question, and a follow-up resolved by swapping its reference, borrow nothing
    assert not understand(first, [], catalog).context
    axis = "¿Qué lineamientos tiene el eje 3 de la PNM?"
    swapped = understand("¿y el eje 1?", [Turn(question=axis, resolved_question=axis, answer="", refs={})], catalog)
    assert not swapped.context and part_queries(swapped, catalog)[0] == replace(swapped, reference_only=False)


def test_an_english_questions_terms_are_counted_per_language(catalog):
    """A Spanish unit that holds the Spanish equivalents of an English question's words covers it, as an English
    unit that holds its own words does; counted against both languages at once, neither would."""
    english = understand("What was the budget of the consulates?", [], catalog)
    english = replace(english, expansions=["presupuesto", "consulados"])
    spanish_unit = content_stems("El presupuesto de los consulados fue de diez millones.")
    english_unit = content_stems("The budget of the consulates was ten million.")
    sides = term_sides(english)
    assert term_coverage(sides, spanish_unit) == 1.0 and term_coverage(sides, english_unit) == 1.0
    assert term_coverage([query_terms(english)], spanish_unit) <= 0.5
    spanish = understand("¿Cuál fue el presupuesto de los consulados?", [], catalog)
    assert term_sides(spanish) == [query_terms(spanish)]


@pytest.mark.parametrize("question, language", [
    ("gcm obj 4 travel documents should follow whose specs?", "en"),  # no article, no auxiliary verb
    ("And which budget programme should the POI be harmonised with, according to Lázaro?", "en"),  # a Spanish name
    ("cuantos peruanos retornaron al peru", "es"),  # typed without accents
    ("q paises firmaron", "es"),
    ("¿Global Compact?", "es"),
])
def test_the_language_of_a_question_typed_as_users_type(question, language):
    assert detect_language(question, "es") == language


def test_an_action_written_apart_from_its_objective_is_that_objectives_action(catalog):
    assert tag_question("gcm objective 8 what does action (e) say", catalog).gcm_actions == ["8e"]
    assert tag_question("objetivo 8 del pacto, ¿qué dice la acción (c)?", catalog).gcm_actions == ["8c"]
    assert tag_question("¿qué dicen los objetivos 8 y 9 de la acción (a)?", catalog).gcm_actions == []  # whose?
    # a document's passage may name an objective and an action of another: only a question pairs them
    assert tag_text("El objetivo 8 del PMM se relaciona con la acción (c) del Plan.", catalog).gcm_actions == []


def test_a_lineamiento_written_apart_from_its_eje_is_that_ejes_lineamiento(catalog):
    assert tag_question("eje 4 de la pnm, lineamiento 2: cual fue la mayor dificultad", catalog).pnm_lineamientos \
        == ["4.2"]
    assert tag_question("Under axis 2 of the PNM 2017-2025, what was done for guideline 8?", catalog) \
        .pnm_lineamientos == ["2.8"]
    assert tag_question("¿qué dice el lineamiento 3 en los ejes 1 y 2?", catalog).pnm_lineamientos == []  # whose?
    assert tag_question("eje 3, lineamiento 9", catalog).pnm_lineamientos == []  # the catalog has no 3.9
    assert tag_text("En el eje 1 se cumplió el lineamiento 5 del Plan.", catalog).pnm_lineamientos == []


@pytest.mark.parametrize("question, field, expected", [
    ("q pide la primera accion del objetivo 23 del pacto", "gcm_actions", ["23a"]),
    ("objective 2's seventh action: what does it ask?", "gcm_actions", ["2g"]),
    ("What does the thesis's first recommendation propose?", "findings", ["recomendacion-1"]),
    ("¿qué dice la segunda conclusión de la tesis?", "findings", ["conclusion-2"]),
    ("¿Qué lineamientos tiene el 3er eje de la PNM?", "pnm_ejes", [3]),
    ("what does the 4th objective of the compact say?", "pmm", [4]),
    ("¿Qué acordó la primera reunión del grupo de trabajo?", "pmm", []),  # an ordinal of no reference
    ("¿Qué dice la última recomendación?", "findings", []),  # which is last depends on the document
    # the last of what the catalog counts: 23 objectives, 4 ejes, 5 áreas temáticas
    ("¿Qué dice el último objetivo del PMM?", "pmm", [23]),
    ("and the last axis of the PNM?", "pnm_ejes", [4]),
    ("¿qué objetivos agrupa la última área temática?", "pmm_areas", [5]),
])
def test_an_ordinal_reference_is_tagged_as_its_number(catalog, question, field, expected):
    assert getattr(tag_question(question, catalog), field) == expected



def test_a_question_that_asks_for_a_figure_names_what_it_is_a_figure_of():
    assert asked_figure("¿Cuántos consulados honorarios tiene el Perú en Italia?", "es") == ("count", ["consulados"])
    assert asked_figure("cuantas de las personas migrantes votaron", "es") == ("count", ["personas"])
    assert asked_figure("how many health workers were trained in 2020", "en") == ("count", ["health", "workers"])
    assert asked_figure("What is the number of regional offices?", "en") == ("count", ["regional", "offices"])
    assert asked_figure("¿Qué porcentaje de jóvenes quería emigrar?", "es") == ("share", ["jóvenes"])
    assert asked_figure("¿Cuál es la tasa de pobreza de los hogares?", "es") == ("share", ["pobreza"])
    assert asked_figure("what was the unemployment rate in 2019", "en") == ("share", ["unemployment"])
    assert asked_figure("what % of households have insurance", "en") == ("share", ["households"])
    assert asked_figure("¿Cuánto cuesta el trámite de la visa humanitaria?", "es") == ("amount", [])
    assert asked_figure("¿Qué presupuesto tuvo el programa en 2020?", "es") == ("amount", [])
    assert asked_figure("how much funding did it get", "en") == ("amount", [])
    assert asked_figure("What was the MRE's budget in 2020?", "en") == ("amount", [])  # the money noun further on
    assert asked_figure("¿Cuál fue el costo de la conferencia?", "es") == ("amount", [])
    # what money does: given, paid, raised, invested, worth
    assert asked_figure("how much cash does each family get", "en") == ("amount", [])
    assert asked_figure("¿Cuánto aportó la Unión Europea al plan?", "es") == ("amount", [])
    assert asked_figure("how much did the donors conference raise", "en") == ("amount", [])
    assert asked_figure("how much is the 2019 cooperation agreement with the bank worth", "en") == ("amount", [])
    assert asked_figure("¿cuánto tiempo dura el permiso?", "es") == (None, [])  # a length of time, no sum
    assert asked_figure("Which budget programme funds it?", "en") == (None, [])  # a programme, not a sum
    assert asked_figure("¿Qué cantidad de migrantes retornó?", "es") == ("count", ["migrantes"])
    assert asked_figure("how many times were migrant children seen", "en") == ("count", [])  # occurrences
    assert asked_figure("¿cuántas veces se reunió la mesa?", "es") == ("count", [])
    assert asked_figure("¿Qué porcentaje del presupuesto se ejecutó?", "es") == ("share", ["presupuesto"])  # no sum
    assert asked_figure("¿Qué dice el pacto sobre las remesas?", "es") == (None, [])
    assert asked_figure("¿Qué hizo el MRE en 2021?", "es") == (None, [])


def test_a_unit_counts_what_the_question_counts_only_with_a_figure_before_it():
    assert states_count("Cuenta con 5 acuerdos binacionales en la materia.", ["acuerdos"])
    assert states_count("Se incorporó a más de 120 mil estudiantes venezolanos.", ["venezolanos"])
    assert states_count("Contactó a 40 organizaciones de migrantes.", ["organizations"])  # a cognate
    assert states_count("Respondieron 100 000 llamadas y mensajes.", ["calls", "llamadas"])  # a translation
    assert states_count("Participaron doce Estados miembros.", ["estados"])  # a count in words
    assert not states_count("Modificación del Reglamento de la Ley de los Consejos de Consulta.", ["consejos"])
    assert not states_count("En 2021, los consejos se reunieron.", ["consejos"])  # a year counts nothing
    assert not states_count("Se firmaron 5 acuerdos.", ["consulados"])
    # a count that names nothing it counts («¿cuántas veces…?», «¿cuántos hay?»): any figure but a year
    assert states_count("Entre 2018-2021 se registraron 3975 atenciones a NNA.", [])
    assert not states_count("En 2021 se registraron atenciones a NNA.", [])


def test_a_count_is_also_read_in_words_close_to_what_is_counted_on_either_side_of_the_figure():
    # what the index writes for «pedidos» (`Retriever.similar_words`): «solicitudes», after the figure
    resolved = "Resolvió 69 440 solicitudes de asistencia al migrante."
    assert not states_count(resolved, ["pedidos"])
    assert states_count(resolved, ["pedidos"], frozenset({"solicitudes"}))
    # or a few words before it: «los aportes de 21 entidades»
    contributions = "La consulta incluyó los aportes de 21 entidades públicas."
    assert not states_count(contributions, ["aportes"])
    assert states_count(contributions, ["aportes"], frozenset({"aportes"}))
    assert not states_count("Los aportes fueron valiosos y en total se firmaron 21 entidades.", ["aportes"],
                            frozenset({"aportes"}))  # too far before the figure
    assert states_share("El 16,5% es irregular.", ["peruanos"], frozenset({"irregular"}))
    assert not states_share("El 16,5% es irregular.", ["peruanos"])


def test_a_unit_gives_a_share_or_a_sum_only_next_to_what_is_asked(catalog):
    share = understand("¿Qué porcentaje de jóvenes quería vivir en otro país?", [], catalog)
    assert share.figure == "share" and share.counted == ["jóvenes"]
    assert states_figure(share, "Uno de cada dos jóvenes (50,2%) de Lima quería vivir fuera.")
    assert not states_figure(share, "El 64,8% de los peruanos en el exterior vive en América.")  # a share of others
    assert states_share("La pobreza afectaba al 30 por ciento de los hogares.", ["pobreza"])
    amount = understand("¿Cuánto costó la campaña de vacunación?", [], catalog)
    assert amount.figure == "amount" and not amount.counted
    assert states_figure(amount, "La campaña costó S/ 1 200 000.")
    assert states_figure(amount, "Se invirtieron 1,5 millones de soles.")
    assert not states_figure(amount, "La campaña vacunó a 1 200 migrantes.")
