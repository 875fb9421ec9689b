"""The evaluation metrics themselves, on hand-built answers, passages and contexts (no index, no model)."""

import numpy as np
import pytest

from evals import metrics as M

PASSAGES = {
    1: M.Passage("Objetivo 14. El Perú brindó servicios consulares mediante 69 misiones consulares y 114 "
                 "consulados honorarios. Además se actualizó el Reglamento Consular."),
    2: M.Passage("La Mesa de Trabajo Intersectorial para la Gestión Migratoria (MTIGM) reúne a 26 instituciones "
                 "del Estado y coordina la Política Nacional Migratoria 2017-2025."),
    3: M.Passage("El cambio climático y los desastres naturales figuran entre los factores adversos que obligan "
                 "a las personas a abandonar su país de origen."),
}
INTRO = "Según las fuentes del corpus:"
ABSTAIN = "El corpus no contiene información suficiente para responder a esta pregunta con fuentes verificables."


@pytest.fixture
def check():
    return M.SupportCheck(embed=None, threshold=0.6)


def test_known_good_answer_scores_full_marks(check):
    answer = (f"{INTRO}\n\n"
              "El Perú brindó servicios consulares mediante 69 misiones consulares y 114 consulados honorarios. [1]\n\n"
              "La Mesa de Trabajo Intersectorial para la Gestión Migratoria (MTIGM) reúne a 26 instituciones "
              "del Estado. [2]")
    claims = M.answer_claims(answer, [INTRO, ABSTAIN])
    assert [c.markers for c in claims] == [[1], [2]], "the intro line is not a claim"
    scores = M.citation_scores(claims, PASSAGES, check)
    assert scores.precision == 1.0 and scores.recall == 1.0 and scores.unsupported == 0
    included = M.key_facts_included(["114", "MTIGM", "reglamento consular"], answer, [PASSAGES[1].text])
    assert included == [True, True, True]


def test_known_bad_answer_scores_low(check):
    answer = (f"{INTRO}\n\n"
              "El Perú abrió 300 nuevos consulados en Asia durante 2021. [1]\n\n"          # fabricated number
              "La MTIGM reúne a 26 instituciones del Estado. [3]\n\n"                      # wrong passage cited
              "El Perú firmó un tratado bilateral con Japón sobre trabajadores temporales.")  # uncited, fabricated
    claims = M.answer_claims(answer, [INTRO])
    assert len(claims) == 3
    scores = M.citation_scores(claims, PASSAGES, check)
    assert scores.recall == 0.0
    assert scores.precision == 0.0
    assert scores.unsupported == 3
    assert M.key_facts_included(["Reglamento Consular", "69"], answer, []) == [False, False]


def test_partly_good_answer_is_in_between(check):
    answer = ("El Perú brindó servicios consulares mediante 69 misiones consulares y 114 consulados honorarios [1]\n"
              "El Perú abrió 300 nuevos consulados en Asia [1]")
    scores = M.citation_scores(M.answer_claims(answer), PASSAGES, check)
    assert scores.recall == 0.5 and scores.precision == 0.5


def test_citation_to_a_missing_passage_is_imprecise(check):
    answer = "La MTIGM reúne a 26 instituciones del Estado. [2] [7]"
    scores = M.citation_scores(M.answer_claims(answer), PASSAGES, check)
    assert scores.recall == 1.0
    assert scores.citations == 2 and scores.precise == 1


def test_alce_joint_support_makes_both_citations_precise(check):
    passages = {1: M.Passage("La MTIGM reúne a 26 instituciones del Estado."),
                2: M.Passage("El cambio climático figura entre los factores adversos de la migración.")}
    sentence = "La MTIGM reúne a 26 instituciones; el cambio climático figura entre los factores adversos. [1][2]"
    claims = M.answer_claims(sentence)
    assert claims[0].markers == [1, 2]
    alone = [check.supports(claims[0].text, p) for p in passages.values()]
    assert alone == [False, False], "neither passage alone covers the sentence"
    scores = M.citation_scores(claims, passages, check)
    assert scores.recall == 1.0 and scores.precision == 1.0


def test_redundant_citation_is_imprecise(check):
    answer = "La MTIGM reúne a 26 instituciones del Estado. [2] [3]"
    scores = M.citation_scores(M.answer_claims(answer), PASSAGES, check)
    assert scores.recall == 1.0 and scores.precision == 0.5


def test_claims_split_inherit_and_drop_boilerplate():
    answer = (f"{INTRO}\n\nPrimera frase sin cita. Segunda frase con cita [1]. Frase final sin cita.\n\n"
              "Otra línea. [2] Y otra con su cita [3]\n" + ABSTAIN)
    claims = M.answer_claims(answer, [INTRO, ABSTAIN])
    assert [(c.text, c.markers) for c in claims] == [
        ("Primera frase sin cita.", [1]), ("Segunda frase con cita.", [1]), ("Frase final sin cita.", []),
        ("Otra línea.", [2]), ("Y otra con su cita", [3])]
    assert claims[0].own_markers is False and claims[1].own_markers is True
    assert M.answer_claims(ABSTAIN, [ABSTAIN]) == []


def test_semantic_support_only_when_lexical_falls_short_and_each_sentence_embedded_once():
    calls = []
    vectors = {"en": np.array([1.0, 0.0]), "es": np.array([0.96, 0.28])}

    def embed(text):
        calls.append(text)
        return vectors["en"]

    passage = M.Passage("Los migrantes retornados reciben asistencia para su reinserción.", vectors["es"])
    check = M.SupportCheck(embed=embed, threshold=0.6)
    english = "Returning migrants receive reintegration assistance."
    assert check.lexical.support(english, passage.text).score < 0.6
    assert check.supports(english, passage), "cosine 0.96 is support across languages"
    check.supports(english, passage)
    assert calls == [english], "a sentence is embedded once"
    spanish = "Los migrantes retornados reciben asistencia para su reinserción."
    assert check.supports(spanish, passage) and calls == [english], "lexical support needs no embedding"


def test_missing_number_is_never_rescued_by_the_embedding():
    check = M.SupportCheck(embed=lambda text: np.array([1.0, 0.0]), threshold=0.6)
    passage = M.Passage("Se atendió a 71 000 personas.", np.array([1.0, 0.0]))
    assert not check.supports("Se atendió a 95 000 personas.", passage)
    assert check.supports("Se atendió a 71,000 personas.", passage)


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


def test_key_fact_found_in_a_cited_quote_counts():
    answer = "Objective 14 is about consular services. [1]"
    quotes = ["Mejorar la protección, asistencia y cooperación consulares a lo largo de todo el ciclo migratorio"]
    assert M.key_facts_included(["14", "cooperación consulares"], answer, quotes) == [True, True]


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


def test_language_and_percentiles():
    assert M.language_correct("en", "en") is True
    assert M.language_correct("en", "es") is False
    assert M.language_correct("en", None) is None
    assert M.language_correct("en", "en", "The compact has 23 objectives. [1]") is True
    assert M.language_correct("en", "en", "El pacto tiene 23 objetivos y los agrupa en áreas. [1]") is False
    assert M.percentile([10, 20, 30, 40, 1000], 50) == 30
    assert M.percentile([], 95) is None


def test_a_list_number_is_not_a_sentence_of_its_own(check):
    answer = "7. Proteger los derechos laborales de los migrantes. [1]"
    claims = M.answer_claims(answer)
    assert [c.text for c in claims] == ["7. Proteger los derechos laborales de los migrantes."]
    claims = M.answer_claims("Los ejes de la política son cinco: [1]\n5. [1]\nOtra frase. 2.")
    assert [c.text for c in claims] == ["Los ejes de la política son cinco:", "Otra frase. 2."]


def test_line_breaks_do_not_break_support(check):
    passage = M.Passage("Objetivos del Pacto Migratorio\nPolíticas Públicas Mundiales\nCuestiones transversales")
    assert check.supports("Objetivos del Pacto Migratorio Políticas Públicas Mundiales", passage)


def test_every_gold_key_fact_counts_as_included_in_its_own_evidence():
    """The metric and the gold set agree: quoting the evidence includes every key fact."""
    import json
    from pathlib import Path

    gold = Path(__file__).parents[1] / "evals" / "gold" / "questions.jsonl"
    for line in gold.read_text(encoding="utf-8").splitlines():
        item = json.loads(line)
        quotes = [e["text"] for e in item["evidence"]]
        assert all(M.key_facts_included(item["key_facts"], "", quotes)), item["id"]
        assert all(M.span_in_context(q, " ".join(quotes)) for q in quotes)
