"""The evaluation metrics themselves, on hand-built answers, chunks and contexts: each metric must tell a
known-good answer from a known-bad one (no index; the support judge's embedding test uses the real embedder)."""

import numpy as np
import pytest

from evals import metrics as M
from evals.cases import Case
from evals.judge import SupportJudge
from evals.scoring import score_result

CONSULAR = ("Objetivo 14. El Perú brindó servicios consulares mediante 69 misiones consulares y 114 consulados "
            "honorarios. Además se actualizó el Reglamento Consular en 2019.")
MESA = ("La Mesa de Trabajo Intersectorial para la Gestión Migratoria (MTIGM) reúne a 26 instituciones del Estado "
        "y coordina la Política Nacional Migratoria 2017-2025.")
CLIMA = ("El cambio climático y los desastres naturales figuran entre los factores adversos que obligan a las "
         "personas a abandonar su país de origen.")
CHUNKS = {1: CONSULAR, 2: MESA, 3: CLIMA}
INTRO = "Según las fuentes del corpus:"
INTRO_EN = "According to the corpus (passages are quoted in their original language):"
ABSTAIN = "El corpus no contiene información suficiente para responder a esta pregunta con fuentes verificables."


@pytest.fixture
def judge():
    return SupportJudge(embed=None)


@pytest.fixture(scope="module")
def embedder():
    from indexer.embeddings import get_embedder
    from indexer.settings import EmbeddingSettings

    return get_embedder(EmbeddingSettings())


# --- support, against the whole cited chunk ----------------------------------------------------------

def test_known_good_answer_is_fully_supported(judge):
    answer = (f"{INTRO}\n\n"
              "El Perú brindó servicios consulares mediante 69 misiones consulares y 114 consulados honorarios. [1]\n\n"
              "La MTIGM reúne a 26 instituciones del Estado y coordina la Política Nacional Migratoria. [2]")
    claims = M.answer_claims(answer, [INTRO, ABSTAIN])
    assert [c.markers for c in claims] == [[1], [2]], "the intro line is not a claim"
    labelled = answer.replace("\n\nLa MTIGM", "\n\nEje temático 2, lineamiento 9:\nLa MTIGM")
    assert [c.text for c in M.answer_claims(labelled, [INTRO])] == [c.text for c in claims], \
        "a label line over a cited one is not a claim"
    assert len(M.answer_claims(labelled + "\n\nAdemás:", [INTRO])) == 3, "a line ending with a colon, alone, is"
    scores = M.citation_scores(claims, CHUNKS, judge)
    assert scores.precision == 1.0 and scores.recall == 1.0 and scores.unsupported == 0


def test_known_bad_answer_is_unsupported(judge):
    answer = (f"{INTRO}\n\n"
              "El Perú abrió 300 nuevos consulados en Asia durante 2021. [1]\n\n"            # fabricated numbers
              "La MTIGM reúne a 26 instituciones del Estado. [3]\n\n"                        # the wrong chunk cited
              "El Perú no actualizó el Reglamento Consular. [1]\n\n"                         # negated
              "El Perú firmó un tratado bilateral con Japón sobre trabajadores temporales.")  # uncited
    claims = M.answer_claims(answer, [INTRO])
    assert len(claims) == 4
    scores = M.citation_scores(claims, CHUNKS, judge)
    assert scores.recall == 0.0 and scores.precision == 0.0 and scores.unsupported == 4
    verdicts = [judge.judge(c.text, CONSULAR).how for c in claims[:3:2]]
    assert verdicts == ["missing_number", "negation"]


def test_support_comes_from_the_whole_chunk_not_only_the_quote(judge):
    # The citation's quote is the first sentence; the answer states the chunk's last one: supported.
    assert judge.supports("Se actualizó el Reglamento Consular en 2019.", CONSULAR)
    assert not judge.supports("Se actualizó el Reglamento Consular en 2019.", MESA)
    table = "Tabla 5\nObjetivo | Acción | Año\nO14 | Reglamento Consular actualizado | 2019"
    assert judge.judge("O14 — Reglamento Consular actualizado — 2019", table).how == "verbatim"


def test_a_name_missing_from_the_chunk_is_not_lexical_support(judge):
    assert judge.supports("La MTIGM coordina la Política Nacional Migratoria 2017-2025.", MESA)
    assert not judge.supports("La OIM coordina la Política Nacional Migratoria 2017-2025.", MESA)


def test_translation_is_supported_by_meaning_a_same_topic_fabrication_is_not(embedder):
    judge = SupportJudge(embed=embedder.query_array)
    chunk = ("El Perú cuenta con 118 oficinas consulares en el exterior que brindan protección y asistencia "
             "consular a los connacionales. Otra frase sobre remesas.")
    english = "Peru has 118 consular offices abroad that provide consular protection and assistance to its nationals."
    assert judge.lexical(english, chunk) < judge.lexical_threshold
    assert judge.judge(english, chunk).how == "semantic"
    assert not judge.supports("Peru offers consular protection mainly through honorary consuls in Asia.", chunk)
    embedded = judge.embedded
    judge.supports(english, chunk)
    assert judge.embedded == embedded, "each text is embedded once"


def test_joint_support_makes_both_citations_precise(judge):
    chunks = {1: "La MTIGM reúne a 26 instituciones del Estado.",
              2: "El cambio climático figura entre los factores adversos de la migración."}
    claims = M.answer_claims("La MTIGM reúne a 26 instituciones y el cambio climático figura entre los factores "
                             "adversos de la migración. [1][2]")
    assert [judge.supports(claims[0].text, c) for c in chunks.values()] == [False, False]
    scores = M.citation_scores(claims, chunks, judge)
    assert scores.recall == 1.0 and scores.precision == 1.0


def test_redundant_or_dangling_citations_are_imprecise(judge):
    redundant = M.citation_scores(M.answer_claims("La MTIGM reúne a 26 instituciones del Estado. [2] [3]"),
                                  CHUNKS, judge)
    assert redundant.recall == 1.0 and redundant.precision == 0.5
    dangling = M.citation_scores(M.answer_claims("La MTIGM reúne a 26 instituciones del Estado. [2] [7]"),
                                 CHUNKS, judge)
    assert dangling.recall == 1.0 and dangling.citations == 2 and dangling.precise == 1


# --- key facts in the answer as rendered; the bad extractive answer ----------------------------------

def _case(**extra) -> Case:
    fields = {"id": "x", "question": "¿Cuántos consulados honorarios tiene el Perú?", "language": "es",
              "category": "number", "answerable": True, "key_facts": ["114"],
              "evidence": ["El Perú brindó servicios consulares mediante 69 misiones consulares y 114 consulados "
                           "honorarios"], **extra}
    return Case(**fields)


def _result(answer: str, quote: str, language: str = "es", backend: str = "extractive", notes=()) -> dict:
    return {"language": language, "abstained": False, "answer": answer, "backend": backend, "notes": list(notes),
            "citations": [{"n": 1, "chunk_id": "c1", "quote": quote}],
            "contexts": [{"chunk_id": "c1", "doc_id": "d", "text": CONSULAR, "metadata": {}}], "timings_ms": {}}


def _row(case: Case, result: dict, judge) -> dict:
    return score_result(case, result, {1: CONSULAR}, {"c1": CONSULAR}, judge, [INTRO, INTRO_EN, ABSTAIN])


def test_key_facts_count_in_the_answer_text_not_in_the_quote_behind_it():
    assert M.key_facts_included(["114", "reglamento consular"], "Hay 114 consulados y un Reglamento Consular.") \
        == [True, True]
    # A model's answer that leaves the fact out, citing a quote that holds it: the user does not read it.
    assert M.key_facts_included(["114"], "El Perú tiene consulados honorarios. [1]") == [False]


def test_right_quote_wrong_sentence_is_a_wrong_answer(judge):
    good = f"{INTRO}\n\nEl Perú brindó servicios consulares mediante 69 misiones consulares y 114 consulados honorarios. [1]"
    bad = f"{INTRO}\n\nAdemás se actualizó el Reglamento Consular en 2019. [1]"  # verbatim, from the right chunk
    good_row = _row(_case(), _result(good, "El Perú brindó servicios consulares mediante 69 misiones consulares y "
                                           "114 consulados honorarios."), judge)
    bad_row = _row(_case(), _result(bad, "Además se actualizó el Reglamento Consular en 2019."), judge)
    assert good_row["citation_recall"] == bad_row["citation_recall"] == 1.0, "both quotes are real and supported"
    assert good_row["right"] and good_row["key_facts_all"]
    assert not bad_row["right"] and bad_row["key_facts"] == {"114": False}


def test_the_lead_counts_only_when_the_first_quote_is_gold_evidence(judge):
    """The answer's first citation holds the gold span (or most of it, with its accents or punctuation changed):
    it leads with the evidence; a supported but other first quote, even with the evidence second, does not."""
    gold = "El Perú brindó servicios consulares mediante 69 misiones consulares y 114 consulados honorarios."
    other = "Además se actualizó el Reglamento Consular en 2019."
    leads = _result(f"{gold} [1]", gold)
    second = _result(f"{other} [1] {gold} [2]", other)
    second["citations"].append({"n": 2, "chunk_id": "c1", "quote": gold})
    assert _row(_case(), leads, judge)["lead_is_evidence"] is True
    assert _row(_case(), second, judge)["lead_is_evidence"] is False
    assert _row(_case(), {**leads, "abstained": True, "citations": []}, judge)["lead_is_evidence"] is None
    assert M.is_evidence("el peru brindo servicios consulares mediante 69 misiones consulares", [gold])
    assert not M.is_evidence("69 misiones", [gold])


@pytest.mark.parametrize("fact,text", [
    ("1,200", "se registraron 1 200 casos"), ("1 200", "se registraron 1200 casos"),
    ("1200", "se registraron 1.200 casos"), ("3,36%", "una tasa del 3,36 %"),
    ("94,000", "alrededor de 94 000 personas"), ("área temática 2", "el AREA TEMATICA 2 del PMM"),
    ("Consular Protection", "enhance consular  protection, assistance"),
    ("23", "L2.3 con O23 L2.3 con O19"), ("96", "96,5% recibieron alguna vacuna"), ("coheren", "coherence and effectiveness"),
])
def test_number_and_case_formats_compare_equal(fact, text):
    assert M.fact_in(fact, text)


@pytest.mark.parametrize("fact,text", [("14", "en 2014"), ("14", "objetivo 4"), ("1,200", "12 000"),
                                       ("26", "respuesta [26]"), ("36", "el 3,36 %"), ("3", "el 33,6 %"),
                                       ("12", "L2.3 con O123")])
def test_facts_match_whole_numbers_only(fact, text):
    assert not M.fact_in(fact, text)


# --- language of the answer's own prose ----------------------------------------------------------------

def test_english_framing_with_spanish_quotes_is_right_and_the_quotes_are_counted_apart(judge):
    case = _case(language="en", question="How many honorary consulates does Peru have?")
    quote = "El Perú brindó servicios consulares mediante 69 misiones consulares y 114 consulados honorarios."
    row = _row(case, _result(f"{INTRO_EN}\n\n{quote} [1]", quote, language="en"), judge)
    assert row["language_ok"] is True
    assert row["quotes"] == 1 and row["quotes_other_language"] == 1


def test_spanish_framing_or_prose_for_an_english_question_is_wrong(judge):
    case = _case(language="en", question="How many honorary consulates does Peru have?")
    quote = "El Perú brindó servicios consulares mediante 69 misiones consulares y 114 consulados honorarios."
    framing = _row(case, _result(f"{INTRO}\n\n{quote} [1]", quote, language="en"), judge)
    assert framing["language_ok"] is False and framing["prose_wrong_language"] == [INTRO]
    prose = "El Perú tiene 114 consulados honorarios y 69 misiones en el exterior. [1]"  # a model's, not a quote
    model = _row(case, _result(f"{INTRO_EN}\n\n{prose}", quote, language="en", backend="llama"), judge)
    assert model["language_ok"] is False and model["answer_kind"] == "model"
    english = "Peru has 114 honorary consulates and 69 consular missions. [1]"
    fine = _row(case, _result(f"{INTRO_EN}\n\n{english}", quote, language="en", backend="llama"), judge)
    assert fine["language_ok"] is True and fine["quotes"] == 0


def test_abstention_message_is_judged_in_the_question_language(judge):
    row = score_result(_case(language="en"), {"abstained": True, "answer": ABSTAIN, "citations": [], "contexts": [],
                                              "backend": "extractive", "timings_ms": {}}, {}, {}, judge, [ABSTAIN])
    assert row["language_ok"] is False and not row["right"]


# --- multi-part questions ---------------------------------------------------------------------------------

PARTS = [{"question": "¿Cuántos consulados honorarios tiene el Perú?", "answerable": True, "key_facts": ["114"]},
         {"question": "¿Cuántos cónsules honorarios son mujeres?", "answerable": False, "key_facts": []}]


def test_a_multi_part_answer_must_answer_one_part_and_name_the_other():
    good = ("El Perú tiene 114 consulados honorarios [1]. El corpus no indica cuántos cónsules honorarios son "
            "mujeres.")
    assert [p["right"] for p in M.parts_scores(PARTS, good, abstained=False)] == [True, True]
    silent = "El Perú tiene 114 consulados honorarios [1]."
    assert [p["right"] for p in M.parts_scores(PARTS, silent, abstained=False)] == [True, False]
    unrelated = "El Perú tiene 114 consulados honorarios [1]. El corpus no indica el presupuesto del Reglamento."
    assert [p["right"] for p in M.parts_scores(PARTS, unrelated, abstained=False)] == [True, False]
    assert [p["right"] for p in M.parts_scores(PARTS, ABSTAIN, abstained=True)] == [False, False]


def test_the_products_own_wording_names_a_part_and_a_quoted_no_senala_does_not():
    # the composer's sentence for an uncovered part, in either language, is what the metric must recognise
    named = ("El Perú tiene 114 consulados honorarios. [1]\n\nEl corpus no responde a esta parte de la pregunta: "
             "«cuántos cónsules honorarios son mujeres».")
    assert [p["right"] for p in M.parts_scores(PARTS, named, abstained=False)] == [True, True]
    english = [{"question": "How many honorary consuls are women?", "answerable": False, "key_facts": []}]
    said = 'Peru has 114 honorary consulates. [1]\n\nThe corpus does not answer this part of the question: "how ' \
           'many honorary consuls are women".'
    assert M.parts_scores(english, said, abstained=False)[0]["right"]
    # and its sentence for a part whose nearest source it quotes anyway
    pointed = ("El Perú tiene 114 consulados honorarios. [1]\n\nEl corpus no responde directamente a esta parte de la "
               "pregunta: «cuántos cónsules honorarios son mujeres»; lo más cercano es la fuente 1, citada arriba.")
    assert [p["right"] for p in M.parts_scores(PARTS, pointed, abstained=False)] == [True, True]
    # a table row quoted from a source, whose cell says «No señala», is the source speaking, not the answer
    quoted = "Cónsules honorarios | Mujeres | No señala [1]"
    assert [p["right"] for p in M.parts_scores(PARTS, quoted, abstained=False)] == [False, False]


# --- quotes verbatim ------------------------------------------------------------------------------------------

def test_quotes_verbatim_in_the_chunk_they_name():
    texts = {"c1": CONSULAR, "c2": MESA}
    good = [{"chunk_id": "c1", "quote": "Además se actualizó el Reglamento Consular en 2019."},
            {"chunk_id": "c2", "quote": "reúne a 26   instituciones\ndel Estado"}]
    assert M.quotes_verbatim(good, texts) == [True, True]
    bad = [{"chunk_id": "c1", "quote": "Además se actualizó el reglamento consular."},  # altered
           {"chunk_id": "c2", "quote": "Además se actualizó el Reglamento Consular en 2019."},  # another chunk's
           {"chunk_id": "c9", "quote": "Texto."}, {"chunk_id": "c1", "quote": ""}]
    assert M.quotes_verbatim(bad, texts) == [False, False, False, False]


# --- claims, retrieval, abstention, percentiles ---------------------------------------------------------

def test_claims_split_inherit_and_drop_boilerplate():
    answer = (f"{INTRO}\n\nPrimera frase sin cita. Segunda frase con cita [1]. Frase final sin cita.\n\n"
              "Otra línea. [2] Y otra con su cita [3]\n" + ABSTAIN)
    claims = M.answer_claims(answer, [INTRO, ABSTAIN])
    assert [(c.text, c.markers) for c in claims] == [
        ("Primera frase sin cita.", [1]), ("Segunda frase con cita.", [1]), ("Frase final sin cita.", []),
        ("Otra línea.", [2]), ("Y otra con su cita", [3])]
    assert claims[0].own_markers is False and claims[1].own_markers is True
    assert M.answer_claims(ABSTAIN, [ABSTAIN]) == []


def test_what_the_corpus_lacks_is_the_answers_framing_not_a_claim():
    """«No passage of the corpus is about…», "…does not list the actions of objective 20": the answer says what the
    corpus lacks; no passage could support that, and the eval does not count it as an unsupported claim."""
    from assistant.prompts import message
    from evals.runner import _boilerplate

    quoted = "(b) Conclude reciprocal social security agreements on the portability of earned benefits. [1]"
    for lang, lacks in (("en", message("actions_unlisted", "en").format(objective=20)),
                        ("es", message("reference_absent", "es").format(references="la acción (e) del objetivo 22"))):
        claims = M.answer_claims(f"{quoted}\n\n{lacks}", _boilerplate())
        assert [c.text for c in claims] == [quoted.removesuffix(" [1]")], lang
        assert len(M.answer_claims(f"{quoted}\n\n{lacks}")) == 2  # without the framing list it would be a claim


def test_a_list_number_is_not_a_sentence_of_its_own():
    claims = M.answer_claims("7. Proteger los derechos laborales de los migrantes. [1]")
    assert [c.text for c in claims] == ["7. Proteger los derechos laborales de los migrantes."]
    claims = M.answer_claims("Los ejes de la política son cinco: [1]\n5. [1]\nOtra frase. 2.")
    assert [c.text for c in claims] == ["Los ejes de la política son cinco:", "Otra frase. 2."]


CONTEXTS = [
    "El PMM tiene 23 objetivos. Texto de relleno sin la evidencia.",
    "Marco general. Se presentan los hallazgos encontrados de los 23 objetivos del PMM agrupados en "
    "cinco   áreas temáticas para facilitar su análisis.",
    "Utilizar la detención de migrantes solo",  # the first 6 of 13 words of a span cut by a chunk boundary
    "Otra cosa distinta.",
]
SPAN_A = "se presentan los hallazgos encontrados de los 23 objetivos del PMM agrupados en cinco areas tematicas"
SPAN_B = "Utilizar la detención de migrantes solo como último recurso y buscar otras alternativas"
SPAN_C = "Un texto que ninguna pieza recuperada contiene en absoluto"


def test_span_matching_is_normalised_and_robust_to_boundaries():
    assert M.span_in_context(SPAN_A, CONTEXTS[1]), "case, accents and whitespace are folded"
    assert not M.span_in_context(SPAN_A, CONTEXTS[0])
    assert not M.span_in_context(SPAN_B, CONTEXTS[2]), "6 of 13 words: less than half the span"
    assert M.span_in_context(SPAN_B, CONTEXTS[2] + " como"), "7 of 13 words at the context's end"
    assert M.span_in_context(SPAN_B, "Objetivo 13. Utilizar la detención de migrantes solo como último")
    assert M.span_in_context(SPAN_B, "como último recurso y buscar otras alternativas. Siguiente frase.")
    changed_middle = "Utilizar la detención de migrantes solo, como último recurso y buscar otras alternativas"
    assert M.span_in_context(SPAN_B, changed_middle), "first and last six words in the same context"


def test_recall_at_k_and_mrr_on_hand_built_contexts():
    ranks = M.evidence_ranks([SPAN_A, SPAN_C], CONTEXTS)
    assert ranks == [2, None]
    assert M.recall_at_k(ranks, 1) == 0.0
    assert M.recall_at_k(ranks, 3) == 0.5
    assert M.reciprocal_rank(ranks) == 0.5
    assert M.reciprocal_rank([None, None]) == 0.0
    ranks = M.evidence_ranks([SPAN_A], ["x"] * 9 + [CONTEXTS[1]])
    assert ranks == [10] and M.recall_at_k(ranks, 5) == 0.0 and M.recall_at_k(ranks, 10) == 1.0
    assert M.evidence_ranks([SPAN_A], ["x"] * 10 + [CONTEXTS[1]]) == [None], "only the top 10 count"


def test_a_heading_span_is_found_in_a_context_filed_under_it():
    span = "Estados que no son participantes del PMM"
    ranks = M.evidence_ranks([span], ["El PMM no ha sido aceptado por todos.", "Otra."],
                             headings=["Capítulo III › Otra sección", "Capítulo III › Estados que no son "
                                                                       "participantes del PMM"])
    assert ranks == [2]


def test_abstention_precision_recall_and_false_refusals():
    items = [(False, True), (False, True), (False, False),              # unanswerable: 2 declined, 1 answered
             (True, False), (True, False), (True, False), (True, True)]  # answerable: 1 refused
    s = M.abstention_scores(items)
    assert s["abstention_precision"] == pytest.approx(2 / 3)
    assert s["abstention_recall"] == pytest.approx(2 / 3)
    assert s["false_refusal_rate"] == pytest.approx(1 / 4)
    assert M.abstention_scores([(True, False)])["abstention_precision"] is None


def test_percentiles():
    assert M.percentile([10, 20, 30, 40, 1000], 50) == 30
    assert M.percentile([], 95) is None
    assert np.isclose(M.percentile([1.0, 2.0], 50), 1.5)


def test_every_gold_key_fact_counts_as_included_in_its_own_evidence():
    """The metric and the gold set agree: an answer quoting the evidence holds every key fact."""
    from evals.cases import DEFAULT_GOLD, conversations_path, load_conversations, load_questions

    cases = load_questions(DEFAULT_GOLD)
    conversations = conversations_path(DEFAULT_GOLD)
    cases += [c for turns in (load_conversations(conversations) if conversations else []) for c in turns]
    for case in cases:
        assert all(M.key_facts_included(case.key_facts, "\n".join(case.evidence))), case.id
        assert all(M.span_in_context(e, " ".join(case.evidence)) for e in case.evidence)
