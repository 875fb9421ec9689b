"""The bilingual word list (indexer.lexicon): built from the index's own text, it carries an English question's
words into Spanish for the lexical search, follows the chunk set (a removed document's words go), and costs
nothing in an index of one language."""

from __future__ import annotations

import numpy as np

from assistant.query import understand
from indexer.embeddings import get_embedder
from indexer.lexicon import Lexicon, WordVectors, content_words, vocabulary, word_vectors
from indexer.pipeline import run_index
from indexer.settings import EmbeddingSettings, IndexSettings
from indexer.types import Chunk, References

_SPANISH = """# Informe de gestión consular

## Presupuesto

El presupuesto del programa de asistencia consular creció durante el año. Los consulados atendieron a los
connacionales detenidos y a las víctimas de trata de personas con abogados y traductores.

## Retorno

Los peruanos retornados recibieron orientación laboral y apoyo para su reinserción en el mercado de trabajo.
"""

_ENGLISH = """# Consular report

## Funding

The embassy funded scholarships for refugee children and organised language courses for seasonal farm workers.
"""


def test_content_words_drop_stop_words_and_short_words():
    assert content_words("What is the budget of the consulates in 2022?", "en") == ["budget", "consulates"]
    assert content_words("¿Cuál es el presupuesto de los consulados?", "es") == ["presupuesto", "consulados"]


def test_words_are_filed_under_the_language_their_chunk_is_written_in():
    chunks = [Chunk(id=f"d:{i}", doc_id="d", ordinal=i, text=text, section_path=["s"], kind=kind,
                    refs=References())
              for i, (text, kind) in enumerate([
                  ("Los consulados atendieron a los migrantes detenidos en la frontera.", "body"),
                  ("The consulates assisted the migrants detained at the border.", "summary"),
                  ("Smith, J. (2019). Border governance and the migrants of the Andes.", "reference")])]
    words = vocabulary(chunks, {"d": "es"})
    assert "consulados" in words["es"] and "consulates" in words["en"]
    assert "consulates" not in words["es"] and "consulados" not in words["en"]
    assert "governance" not in words.get("en", []) + words["es"]  # a bibliography entry is no vocabulary


def test_an_english_question_is_searched_with_the_spanish_words_of_the_corpus(assistant):
    retriever = assistant.retriever
    query = understand("What was the budget of the consulates?", [], retriever.catalog)
    assert query.language == "en"
    translated, rendered = retriever.across_languages(query)
    assert {"presupuesto", "consulados"} <= set(translated)
    # rendered word for word in Spanish, the corpus's main language, and searched densely too
    assert len(rendered) == 1 and rendered[0].split()[0] == "presupuesto" and rendered[0].split()[1].startswith("consul")
    assert "what" not in rendered[0].lower().split()
    spanish = understand("¿Cuál fue el presupuesto de los consulados?", [], retriever.catalog)
    assert retriever.across_languages(spanish)[1] == []  # a question in the main language is searched as asked
    result = retriever.retrieve(query)
    assert result.translated_words == translated
    # Spanish passages holding those words come up among the first five for the English question
    spanish_hits = [p for p in result.passages[:5] if "presupuest" in p.chunk.text.lower() or
                    "consulado" in p.chunk.text.lower()]
    assert spanish_hits


def test_an_english_word_the_spanish_text_quotes_is_no_translation():
    """The Spanish text quotes English titles («United Nations»): "countries" is closest to «nations» among the
    Spanish text's words, but «nations» is a word of the English text too, so the translation is «países». A word
    both texts use stays the translation of itself."""
    unit = np.eye(3, dtype=np.float32)
    countries = np.array([[0.1, 0.95, 0.3]], dtype=np.float32)  # closest to «nations», then «países»

    def lexicon(english: list[str]) -> Lexicon:
        return Lexicon(words={"es": ["países", "nations", "consular"], "en": english},
                       vectors={"es": unit, "en": unit[:len(english)]}, stamp="t")

    quoted = lexicon(["countries", "nations", "consular"])
    assert quoted.translations(quoted.similarities(["countries"], countries, "en"), 0.05, 0.9, 1) == ["países"]
    assert quoted.translations(quoted.similarities(["consular"], unit[2:], "en"), 0.5, 0.04, 2) == ["consular"]
    unquoted = lexicon(["countries"])  # the English text never uses «nations»: then it is the nearest word
    assert unquoted.translations(unquoted.similarities(["countries"], countries, "en"), 0.05, 0.9, 1) == ["nations"]


def test_count_nouns_of_an_english_question_reach_the_spanish_words(assistant):
    assert "países" in assistant.retriever.translate_words(["countries"], "en")
    assert "personas" in assistant.retriever.translate_words(["people"], "en")


def test_what_a_count_question_counts_reaches_the_words_the_index_writes_for_it(assistant):
    close = assistant.retriever.similar_words(["pedidos"])
    assert "solicitudes" in close
    assert "migrantes" not in close and "peruanos" not in close  # close in meaning, not any word of the corpus
    assert "centros" in assistant.retriever.similar_words(["centres"])  # across languages
    assert assistant.retriever.similar_words([]) == frozenset()


def test_translation_can_be_switched_off(shipped_index):
    from assistant.api import Assistant
    from assistant.settings import load_settings

    a = Assistant(load_settings(data_dir=shipped_index.data_dir, **{"retrieval.translate_per_word": 0,
                                                                    "retrieval.dense_rendering": False}))
    try:
        query = understand("What was the budget of the consulates?", [], a.retriever.catalog)
        assert a.retriever.across_languages(query) == ([], [])
    finally:
        a.close()


def test_the_lexicon_follows_the_documents_and_embeds_nothing_for_one_language(tmp_path, make_corpus):
    corpus = make_corpus(tmp_path / "corpus", {"informe.md": _SPANISH})
    settings = IndexSettings(data_dir=tmp_path / "data", corpus_dir=corpus)
    report = run_index(settings, progress=False, log=lambda _line: None)
    assert report.words_embedded == 0  # Spanish only: nothing to translate into
    lexicon = Lexicon.load(settings.data_dir)
    assert "presupuesto" in lexicon.words["es"] and not lexicon.can_translate("en")

    (corpus / "report_en.md").write_text(_ENGLISH, encoding="utf-8")
    report = run_index(settings, progress=False, log=lambda _line: None)
    lexicon = Lexicon.load(settings.data_dir)
    assert "scholarships" in lexicon.words["en"]
    assert report.words_embedded == len(set(lexicon.words["en"]) | set(lexicon.words["es"]))  # each word once
    assert lexicon.can_translate("en") and lexicon.can_translate("es")
    words = content_words("What was the budget?", "en")
    embedded = word_vectors(get_embedder(settings.embeddings), words)
    assert "presupuesto" in lexicon.translations(lexicon.similarities(words, embedded, "en"), 0.88, 0.04, 2)

    (corpus / "report_en.md").unlink()
    report = run_index(settings, progress=False, log=lambda _line: None)
    lexicon = Lexicon.load(settings.data_dir)
    assert "en" not in lexicon.words and report.words_embedded == 0
    assert not lexicon.can_translate("es")


class _Counting:
    """The real embedder, counting the texts it is asked to embed."""

    def __init__(self):
        self.embedder = get_embedder(EmbeddingSettings())
        self.texts: list[str] = []

    def embed_array(self, texts):
        self.texts += list(texts)
        return self.embedder.embed_array(texts)


def test_a_question_s_words_are_embedded_once_per_process():
    counting = _Counting()
    words = WordVectors(counting, limit=5)
    first = words(["presupuesto", "consular", "presupuesto"])
    assert counting.texts == ["presupuesto", "consular"]
    assert np.allclose(first, word_vectors(counting.embedder, ["presupuesto", "consular", "presupuesto"]))
    similarity = words.similarity(["consular", "trata"], ["presupuesto"])
    assert counting.texts == ["presupuesto", "consular", "trata"] and similarity.shape == (2, 1)
    assert np.allclose(similarity[:, 0], word_vectors(counting.embedder, ["consular", "trata"]) @ first[0])
    words(["uno", "dos", "tres"])  # past the limit: the remembered words are dropped, not grown without end
    assert counting.texts[-3:] == ["uno", "dos", "tres"] and len(words._known) == 3


def test_a_word_the_lexicon_holds_is_read_from_it_not_embedded(shipped_index):
    lexicon = Lexicon.load(shipped_index.data_dir)
    counting = _Counting()
    words = WordVectors(counting, lexicon)
    known = [lexicon.words["es"][0], lexicon.words["en"][0]]
    unknown = "zzyzxquorb"
    assert unknown not in lexicon.words["es"] + lexicon.words["en"]
    vectors = words([*known, unknown])
    assert counting.texts == [unknown]  # only the word the corpus never uses is embedded
    # the lexicon's vectors are those the embedder gives the word (stored in half precision)
    assert np.allclose(vectors, word_vectors(counting.embedder, [*known, unknown]), atol=2e-3)
