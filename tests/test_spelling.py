"""Questions typed as in a chat, embedded as the documents spell them (assistant.spelling): shorthand written out,
accents restored from the index's own words, names and numbers kept; and, on the shipped index, a typed sentence's
vector closer to the chunk it comes from once respelled. Typos corrected from the index's words, and what they
cost an answer."""

from __future__ import annotations

import re

import numpy as np

from assistant.query import understand
from assistant.retrieval import Retriever
from assistant.spelling import Respeller, Typos, dictionary_words
from indexer.tagging import fold


def test_shorthand_is_written_out_and_accents_come_from_the_index_words():
    respell = Respeller(["política", "migración", "esta", "está", "inclusión", "cohesión"], "es")
    assert respell("q hizo la politica x la inclusion y cohesion, pa eso") == \
        "qué hizo la política por la inclusión y cohesión, para eso"
    # the more frequent form of the same letters wins: «esta» (first) stays as typed
    assert respell("esta politica") == "esta política"
    # names, acronyms, numbers and words the index does not hold are kept as typed
    assert respell("la PNM 2017-2025, Politica Q xyzzy obj 16") == "la PNM 2017-2025, Politica Q xyzzy obj 16"
    # but the first word of a sentence, capitalised as a phone does, is respelled with its capital
    assert respell("Q hizo la politica? Politica x la inclusion") == "Qué hizo la política? Política por la inclusión"
    assert Respeller([], "es")("la q politica") == "la que politica"
    # an interrogative that opens a question or a clause, after a preposition or not, takes its accent; inside a
    # clause «q» is the relative «que»
    assert respell("cuantos hay, y q politica? en q regiones, por q y pa q; la gente q tiene q irse") == \
        "cuántos hay, y qué política? en qué regiones, por qué y para qué; la gente que tiene que irse"
    # a lettered item is a label: the Compact's action (d) or (k), «el objetivo d)»
    assert respell("q dice la accion (d) y la (k) del obj 2, y el d) x q (q se hizo)") == \
        "qué dice la accion (d) y la (k) del obj 2, y el d) por que (qué se hizo)"


def _typed(sentence: str) -> str:
    """A sentence as a hurried user types it: lower case, no accents, «que» → «q», «por» → «x»."""
    text = fold(sentence.lower())
    return re.sub(r"\bpor\b", "x", re.sub(r"\bque\b", "q", text))


def test_typed_sentences_land_closer_to_their_chunk_once_respelled(assistant):
    retriever = assistant.retriever
    assert retriever.respeller is not None and retriever.respeller.language == "es"
    respell = retriever.respeller
    samples = []
    for chunk, vector in retriever.docstore.iter_chunks(with_vectors=True):
        sentence = next((s for s in re.split(r"(?<=\.)\s+", chunk.text)
                         if 60 < len(s) < 220 and re.search(r"[áéíóú]", s) and re.search(r"\bque\b", s)), None)
        if sentence and vector is not None and retriever.doc_language.get(chunk.doc_id) == "es":
            samples.append((sentence, np.asarray(vector, dtype=np.float32)))
        if len(samples) == 30:
            break
    assert len(samples) == 30
    restored = closer = 0
    for sentence, vector in samples:
        typed = _typed(sentence)
        words = re.findall(r"[^\W\d_]+", respell(typed))
        originals = re.findall(r"[^\W\d_]+", sentence.lower())
        restored += sum(w == o for w, o in zip(words, originals, strict=True)) / len(originals)
        unit = vector / np.linalg.norm(vector)
        closer += float(retriever.embed_query(respell(typed)) @ unit) > float(retriever.embed_query(typed) @ unit)
    assert restored / len(samples) > 0.95  # the words as the document wrote them, nearly all
    assert closer >= 24  # and, embedded so, nearer the chunk they come from for most of them


def test_only_the_main_language_is_respelled_and_the_setting_turns_it_off(assistant):
    retriever = assistant.retriever
    spanish = understand("q hizo la politica migratoria x los retornados", [], assistant.catalog, "es")
    english = understand("what did the politica do for q returnees", [], assistant.catalog, "es")
    assert english.language == "en"
    assert retriever._spelled(spanish.search_text, spanish).startswith("qué hizo la política migratoria por")
    assert retriever._spelled(english.search_text, english) == english.search_text
    settings = assistant.settings
    off = settings.model_copy(update={"retrieval": settings.retrieval.model_copy(update={"respell": False})})
    plain = Retriever(off)
    try:
        assert plain.respeller is None and plain._spelled(spanish.search_text, spanish) == spanish.search_text
    finally:
        plain.close()


def test_a_typo_becomes_the_index_word_one_edit_away_and_known_words_names_and_verbs_stay():
    words = ["venezolanos", "miembros", "migratoria", "personas", "objetivos", "presidió", "pudieron"]
    known = {fold(w) for w in words} | {"cuantos", "viven", "tiene", "los"}
    typos = Typos(words, known, {"provinci", "qued"}, lambda w: w[:-2] if len(w) > 6 else w, "es")
    assert typos("cuantos venesolanos viven, la mtigm cuantos mienbros tiene") == \
        "cuantos venezolanos viven, la mtigm cuantos miembros tiene"
    assert typos("la politica migratorea y los objetibos sobre perzonas") == \
        "la politica migratoria y los objetivos sobre personas"  # two edits in a long word; «politica» is short
    # a word the language's dictionary knows through its stem, a verb form, a name or acronym, a short word: kept
    assert typos("provincias pusieron Venesuela MIENBROS mienb") == "provincias pusieron Venesuela MIENBROS mienb"
    assert typos("copresidió reunio") == "copresidió reunio"  # «-ió» typed «-io»: a verb, not «reunión»
    assert typos("xyzzyplugh") == "xyzzyplugh"  # nothing close
    assert dictionary_words("es") and "provincia" in dictionary_words("es") and dictionary_words("xx") == []


def test_typed_questions_with_typos_are_answered_as_if_spelt_right(assistant):
    for typed, spelt in (("la mtigm cuantos mienbros tiene", "la mtigm cuantos miembros tiene"),
                         ("cuantos venesolanos tienen el ptp", "cuantos venezolanos tienen el ptp")):
        assert assistant.retriever.corrected(typed) == spelt
        answer = assistant.ask(typed)
        assert not answer.abstained and answer.answer == assistant.ask(spelt).answer
    # English is corrected from the index's English words and the glossary's, then from the dictionary; a doubled
    # letter typed once is the likelier slip ("trafiking" is "trafficking", not "training")
    assert assistant.retriever.corrected("how many venesuelans live in peru acording to r4v") == \
        "how many venezuelans live in peru according to r4v"
    assert assistant.retriever.corrected("what did peru do about human trafiking") == \
        "what did peru do about human trafficking"
    assert assistant.retriever.corrected("what are its pillars") == "what are its pillars"
    # a British spelling, a compound, a contraction without its apostrophe are no typos
    kept = "which workplans were organised with the neighbours, theyre signed"
    assert assistant.retriever.corrected(kept) == kept


def test_the_gold_questions_typed_carelessly_keep_their_names_and_get_typos_in_long_words():
    import random

    from evals.typos import misspelt, typo

    rng = random.Random(1)
    slips = {typo("migrantes", rng) for _ in range(40)}
    assert "migrantes" not in slips or len(slips) > 1
    assert all(s[0] == "m" and abs(len(s) - len("migrantes")) <= 1 for s in slips)
    question = "¿Cuántos migrantes venezolanos registró la MTIGM en el Perú en 2022?"
    typed = misspelt(question, random.Random(7))
    assert typed != question and "MTIGM" in typed and "Perú" in typed and "2022" in typed
    changed = [(a, b) for a, b in zip(question.split(), typed.split(), strict=True) if a != b]
    assert 1 <= len(changed) <= 2 and all(len(a) >= 6 for a, _ in changed)


def test_warming_up_builds_the_typo_correctors_and_the_places_before_the_first_question(shipped_index):
    from assistant.api import Assistant
    from assistant.settings import load_settings

    fresh = Assistant(load_settings(data_dir=shipped_index.data_dir, **{"answer.backend": "extractive"}))
    try:
        assert not fresh.retriever._typos and fresh._places is None
        fresh.warm()
        assert set(fresh.retriever._typos) == {"es", "en"} and fresh._places is not None
    finally:
        fresh.close()
