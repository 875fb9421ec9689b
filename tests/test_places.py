"""Places a text names (by name or nationality, in Spanish or English) and the places an index takes for granted:
what the answerability check of a place asked about reads. No index needed."""

from __future__ import annotations

from dataclasses import replace

import pytest

from assistant.answerability import place_not_mentioned
from assistant.evidence import Candidate
from assistant.places import COMMON_SHARE, IndexPlaces, mentioned, named
from assistant.query import Query
from indexer.types import Chunk, References


def test_a_place_is_named_by_its_name_or_its_nationality_in_either_language():
    assert named("q porcentaje de los peruanos q viven afuera esta en australia") == {"PE", "AU"}
    assert named("What share of returnees came back from Italy?") == named("¿Cuántos vinieron de Italia?") == {"IT"}
    assert named("cuantos alumnos colombianos incorporó el MINEDU") == {"CO"}
    assert named("How many Haitian migrants received visas?") == {"HT"}
    assert named("españoles y japoneses en Estados Unidos") == {"ES", "JP", "US"}
    # a plural name by its doubled initials, as a word of its own
    assert named("y cuantos estan en eeuu") == named("¿Cuántos viven en EE. UU.?") == named("en EEUU") == {"US"}
    assert not named("la seeuuu") and not named("creemos que sí")
    # words that only begin like a place name are no nationality
    assert not named("los indicadores generales del informe") and not named("la reunión de la Mesa de Trabajo",
                                                                            frozenset({"reunion"}))
    assert named("la isla de Reunión", frozenset({"reunion"})) == {"RE"}  # capitalised, it is the place


def test_evidence_mentions_a_place_in_any_form():
    assert "VE" in mentioned("1,29 millones de migrantes venezolanos") and "VE" not in named("migrantes venezolanos")
    assert "US" in mentioned("trabajadores que viajan a EE. UU. con visado H-2B")
    assert "IT" in mentioned("Canje de licencias de conducir con Italia")
    assert "IT" not in mentioned("37,5% llegaron desde Chile; 12,1% desde España; 8,6% desde Estados Unidos")


def test_the_places_an_index_names_everywhere_go_without_saying():
    texts = ["La política migratoria del Perú.", "Los peruanos en el exterior.", "Acuerdo con Italia.",
             *[f"Tabla {n}: atención a peruanos retornados." for n in range(9)], "La reunión de la Mesa."]
    index = IndexPlaces.of(("informe", text) for text in texts)
    assert index.common == {"PE"} and 1 / len(texts) < COMMON_SHARE  # Italy, in one chunk of 13, is no given
    assert index.common_words == {"reunion"}  # the index writes it as a word
    assert index.asked("¿Cuántos peruanos viven en Italia?") == {"IT"}
    assert not index.asked("¿Qué se acordó en la reunión?")


def test_the_documents_that_never_mention_a_place_asked_about_are_known():
    texts = [("informe", "La política migratoria del Perú."), ("informe", "Acuerdo con Italia."),
             ("pacto", "States should enhance consular protection."), ("pacto", "Objective 14."),
             ("ley", "Los peruanos retornados de Italia.")]
    index = IndexPlaces.of(texts)
    # Peru goes without saying in the index, yet a document that never mentions it cannot say what Peru did
    assert index.silent_on("¿Qué hizo el Perú en protección consular?") == {"pacto"}
    assert index.silent_on("what did Italy and Peru agree") == {"pacto"}
    assert index.silent_on("¿Y en Colombia?") == {"informe", "pacto", "ley"}
    assert not index.silent_on("what does objective 14 ask States to do")  # no place: every document may answer


def _candidate(text: str) -> Candidate:
    chunk = Chunk(id=Chunk.make_id("informe", 0, text), doc_id="informe", ordinal=0, kind="body", text=text,
                  section_path=["Destinos"])
    return Candidate(text=text, chunk=chunk, position=0, is_row=False, passage_rank=0, features={})


def test_a_place_its_best_evidence_never_mentions_is_refused():
    question = "what share of peruvians abroad live in portugal"
    query = Query(question=question, resolved=question, language="en", refs=References(), search_text=question)
    destinations = [_candidate("Al 2021, 10,0% en Buenos Aires; 7,2% en Madrid; 3,6% en Milán."),
                    _candidate("El 30,5% vive en Europa."), _candidate("El 4,1% vive en Asia.")]
    assert not place_not_mentioned(query, destinations)  # no place asked (`Query.places` unset): nothing to check
    asked = replace(query, places=frozenset({"PT"}))
    assert place_not_mentioned(asked, destinations)
    assert not place_not_mentioned(asked, [*destinations[:2], _candidate("Un 1,2% reside en Portugal.")])
    # only the best units count: a fourth that mentions it does not
    assert place_not_mentioned(asked, [*destinations, _candidate("Un 1,2% reside en Portugal.")])


@pytest.mark.parametrize("question, place, asked, giving, elsewhere, there", [
    # Japan is mentioned, but not where a count of consulates is given
    ("¿Cuántos consulados tiene el Perú en Japón?", "JP", {"figure": "count"},
     "El MRE cuenta con 69 misiones consulares y 114 consulados honorarios.",
     "Al 2021: Estados Unidos 30,2%, España 15,4%, Japón 3,7%.", "En Japón el Perú tiene 3 consulados."),
    # Germany is mentioned, but not where a date is given: the date is another agreement's
    ("when did the working holiday agreement between peru and germany enter into force", "DE", {"expects": "date"},
     "Plan de trabajo entre Perú y Chile, periodo 2022-2023.",
     "Negociación de acuerdos de vacaciones y trabajo con Alemania y Estonia.",
     "El acuerdo de vacaciones y trabajo con Alemania entró en vigor en 2021."),
])
def test_for_a_figure_or_a_date_the_units_that_give_one_must_mention_the_place(question, place, asked, giving,
                                                                               elsewhere, there):
    query = replace(Query(question=question, resolved=question, language="es", refs=References(),
                          search_text=question), places=frozenset({place}), **asked)
    gives, mentions, gives_there = _candidate(giving), _candidate(elsewhere), _candidate(there)
    # what the evidence features say of each: it gives what is asked (a figure of it, a date), or not
    for c, stated in ((gives, 1.0), (mentions, 0.0), (gives_there, 1.0)):
        c.features = {"states_figure": stated, "fulfils": stated}
    assert place_not_mentioned(query, [gives, mentions])
    assert not place_not_mentioned(query, [gives, gives_there])
    # a question that asks for neither reads all its best units
    assert not place_not_mentioned(replace(query, figure=None, expects=None), [gives, mentions])
