"""Enumerated lists in passage text (assistant.listing), and the ordinal follow-ups they answer."""

from __future__ import annotations

import pytest

from assistant.listing import item_at, lists_in
from assistant.query import list_position, understand
from assistant.types import Turn
from indexer.catalog import load_catalog
from indexer.settings import PROJECT_ROOT


@pytest.mark.parametrize("text, expected", [
    ("Tiene cuatro funciones: A) Recibir informes. B) Elaborar observaciones. C) Examinar denuncias. D) Examinar "
     "denuncias entre Estados. Otro tema empieza aquí.",
     ["A) Recibir informes.", "B) Elaborar observaciones.", "C) Examinar denuncias.",
      "D) Examinar denuncias entre Estados."]),
    ("Los Estados se comprometen a: (a) crear registros; (b) compartir datos, y (c) capacitar al personal.",
     ["(a) crear registros", "(b) compartir datos", "(c) capacitar al personal."]),
    ("mediante tres dimensiones: (I) alineamiento con la PNM; (II) alineamiento con la política exterior; (III) "
     "balance de los aportes.",
     ["(I) alineamiento con la PNM", "(II) alineamiento con la política exterior", "(III) balance de los aportes."]),
    ("Artículo 5.- Requisitos\n1. Pasaporte vigente con 2.5 años de validez.\n2. Dos fotografías.\n3. Pago de la tasa.\n"
     "Artículo 6.- Plazos",
     ["1. Pasaporte vigente con 2.5 años de validez.", "2. Dos fotografías.", "3. Pago de la tasa."]),
    ("Sectores participantes:\n- MINSA\n• MINEDU\n- MTPE\n\nFin.", ["- MINSA", "• MINEDU", "- MTPE"]),
])
def test_lists_are_found_in_the_shapes_documents_write_them(text, expected):
    found = lists_in(text)
    assert [i.quote for i in found[0]] == expected
    assert all(i.quote in text for i in found[0])  # quoted as written


def test_no_list_without_a_run_from_the_first_marker():
    # a lone «(b)», a letter run that does not start at (a), an action reference and decimals are no list
    assert lists_in("Como dice la acción (b) del objetivo 22, y la c) del 23, la tasa fue 2.5 y 3.4 en 2021.") == []
    text = "Items: a) uno; b) dos; c) tres."
    assert item_at(text, 2).quote == "b) dos" and item_at(text, -1).quote == "c) tres."
    assert item_at(text, -2).quote == "b) dos" and item_at(text, 4) is None


def test_an_ordinal_follow_up_asks_for_an_item_only_when_it_asks_nothing_else():
    previous = "how many main functions does the Human Rights Committee have for monitoring the GCM?"
    assert list_position("What is the third of those functions?", previous) == 3
    assert list_position("And the last one?", previous) == -1
    assert list_position("¿y la penúltima?", previous) == -2
    assert list_position("¿y el primero?", previous) == 1
    # a quarter the previous question never spoke of, a new topic: no item
    assert list_position("¿y en el primer trimestre?", previous) is None
    assert list_position("what was the first country to sign the compact?", previous) is None
    # a number does for an ordinal when the turn asks which one it is of a list the previous question asked for
    listed = "¿cuáles son los lineamientos del eje 4 de la PNM?"
    assert list_position("¿cuál es el 3?", listed) == 3 and list_position("which one is number 2", listed) == 2
    assert list_position("¿cuál es el 3?", "¿qué dice el eje 4?") is None  # no list asked: eje 3, perhaps
    assert list_position("¿y el 3?", listed) is None  # it may step to another reference («¿y el 22?»)
    history = [Turn(question=previous, resolved_question=previous, answer="", cited=["tesis:00100:x"])]
    query = understand("¿y la segunda?", history, load_catalog(PROJECT_ROOT / "corpus" / "catalog.json"))
    assert query.list_item == 2 and query.previous_chunks == ["tesis:00100:x"] and previous in query.resolved
