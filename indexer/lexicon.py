"""The index's bilingual word list: the words a question in one language is searched with in the other.

BM25 cannot match an English question («sheepherders», «budget») to Spanish text («pastores ovejeros»,
«presupuesto»), and the dense search alone ranks Spanish passages poorly for English questions (dev split:
recall@5 0.70 in English against 0.83 in Spanish). The lexicon holds every content word of the indexed text (four
letters or more, not a stop word), filed under the language of the chunk it occurs in, with its embedding from the
index's own multilingual embedder; at query time each word of the question is embedded the same way and its
nearest words of the other languages are added to the lexical search (cross-lingual lexicon induction from
embeddings). Nothing is downloaded and no word list is written by hand: the lexicon is whatever the corpus says.

Built at index time from the docstore's chunks (`refresh_lexicon`: only new words are embedded, through the same
vector caches as chunks, so the shipped corpus's words come from its vector cache) and saved beside the BM25 index
with the stamp of the chunk set it was built from; a lexicon that does not match is rebuilt.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from indexer.language import detect_language
from indexer.stores import chunk_set_stamp
from indexer.tagging import fold
from indexer.types import Chunk

LEXICON_FILE = "lexicon.npz"
LEXICON_VERSION = "2"  # bump when the word list's rules change: an index built under other rules rebuilds it
MIN_LETTERS = 4
MAX_WORDS_PER_LANGUAGE = 60_000  # the most frequent; a very large corpus keeps its lexicon in memory bounds
_WORD = re.compile(rf"[^\W\d_]{{{MIN_LETTERS},}}")


def lexicon_stamp(chunk_ids: Iterable[str]) -> str:
    """What a lexicon was built from: these rules and this set of chunks."""
    return f"{LEXICON_VERSION}:{chunk_set_stamp(chunk_ids)}"


@lru_cache(maxsize=4)
def stop_words(language: str) -> frozenset[str]:
    """The folded stop words of a language (Spanish, English; none for another)."""
    from bm25s.stopwords import STOPWORDS_EN_PLUS, STOPWORDS_SPANISH

    return frozenset(fold(w) for w in {"es": STOPWORDS_SPANISH, "en": STOPWORDS_EN_PLUS}.get(language, ()))


def content_words(text: str, language: str) -> list[str]:
    """The text's words of four letters or more that are not stop words of `language`, lower case, once each."""
    stop = stop_words(language)
    return [w for w in dict.fromkeys(m.lower() for m in _WORD.findall(text)) if fold(w) not in stop]


def vocabulary(chunks: Iterable[Chunk], document_language: dict[str, str]) -> dict[str, list[str]]:
    """Language → its words, most frequent first, at most MAX_WORDS_PER_LANGUAGE; a chunk's words are filed under
    the language it is written in (`document_language`: doc id → the document's language, when the words do not
    tell); reference lists are left out."""
    counts: dict[str, Counter] = {}
    for chunk in chunks:
        if chunk.kind == "reference":
            continue  # a bibliography's titles are in any language, whatever its document's
        # its own words decide (a thesis's English abstract is English), its document's language when they do not
        language = detect_language(chunk.text, document_language.get(chunk.doc_id, "es"))
        counts.setdefault(language, Counter()).update(content_words(chunk.text, language))
    return {lang: [w for w, _ in c.most_common(MAX_WORDS_PER_LANGUAGE)] for lang, c in sorted(counts.items())}


@dataclass
class Lexicon:
    words: dict[str, list[str]]  # language → words, row order of `vectors[language]`
    vectors: dict[str, np.ndarray]  # language → unit-norm float32 matrix
    stamp: str
    # derived from `words` on first use: per (language, question language), which words the other text also uses;
    # per language, each word's row
    _borrowed: dict[tuple[str, str], np.ndarray] = field(default_factory=dict, repr=False, compare=False)
    _rows: dict[str, dict[str, int]] = field(default_factory=dict, repr=False, compare=False)

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        arrays = {"stamp": np.array(self.stamp), "languages": np.array(sorted(self.words))}
        for lang in self.words:
            arrays[f"words_{lang}"] = np.array(self.words[lang])
            arrays[f"vectors_{lang}"] = self.vectors[lang].astype(np.float16)
        tmp = folder / (LEXICON_FILE + ".tmp.npz")
        np.savez(tmp, **arrays)
        tmp.replace(folder / LEXICON_FILE)

    @classmethod
    def load(cls, folder: Path) -> Lexicon | None:
        path = folder / LEXICON_FILE
        if not path.is_file():
            return None
        with np.load(path, allow_pickle=False) as data:
            languages = [str(x) for x in data["languages"]]
            words = {lang: [str(w) for w in data[f"words_{lang}"]] for lang in languages}
            vectors = {lang: data[f"vectors_{lang}"].astype(np.float32) for lang in languages}
            return cls(words, vectors, str(data["stamp"]))

    def can_translate(self, language: str) -> bool:
        """Whether the lexicon holds words with vectors in a language other than `language`."""
        return any(len(m) for lang, m in self.vectors.items() if lang != language)

    @property
    def main_language(self) -> str | None:
        """The language the index holds most words of: the one a question in another language is rendered in."""
        return max(self.words, key=lambda lang: len(self.words[lang]), default=None)

    def similarities(self, words: list[str], word_vectors: np.ndarray, language: str) -> dict[str, np.ndarray]:
        """Each other language with vectors → the similarity of every word (`words`, of a question in `language`,
        with their `word_vectors`) to each of its words: what `translations` and `rendering` read. A word of the
        other language's text that `language`'s text also uses is no translation of another word: the Spanish
        text quotes English titles («United Nations», «States»), and "countries" came out as «nations» and
        «states» instead of «países». It stays the translation of itself (a name, an acronym, a cognate)."""
        out = {}
        for lang, matrix in self.vectors.items():
            if lang == language or not len(matrix):
                continue
            sims = word_vectors @ matrix.T
            borrowed = self._borrowed_words(lang, language)
            if borrowed.any():
                mask = np.broadcast_to(borrowed, sims.shape).copy()
                if lang not in self._rows:
                    self._rows[lang] = {w: j for j, w in enumerate(self.words[lang])}
                rows = self._rows[lang]
                for i, word in enumerate(words):
                    if (j := rows.get(word)) is not None:
                        mask[i, j] = False
                sims = np.where(mask, -1.0, sims)
            out[lang] = sims
        return out

    def _borrowed_words(self, lang: str, language: str) -> np.ndarray:
        """Which words of `lang`'s text `language`'s text also uses (computed once per pair)."""
        if (lang, language) not in self._borrowed:
            theirs = set(self.words.get(language, []))
            self._borrowed[lang, language] = np.array([w in theirs for w in self.words[lang]], dtype=bool)
        return self._borrowed[lang, language]

    def translations(self, similarities: dict[str, np.ndarray], min_similarity: float, margin: float,
                     per_word: int) -> list[str]:
        """For each word of a question, its nearest words in each other language of the lexicon (`similarities`):
        at most `per_word`, at least `min_similarity`, and within `margin` of the nearest one. A word the other
        language also uses (a name, an acronym, a cognate) is its own nearest word and brings in nothing else."""
        out: list[str] = []
        for lang, sims in similarities.items():
            for row in sims:
                top = np.argpartition(-row, min(per_word, len(row) - 1))[:per_word]
                top = top[np.argsort(-row[top], kind="stable")]
                best = float(row[top[0]])
                out += [self.words[lang][j] for j in top if row[j] >= min_similarity and row[j] >= best - margin]
        return list(dict.fromkeys(out))

    def rendering(self, words: list[str], similarities: np.ndarray, language: str, min_similarity: float
                  ) -> dict[str, str]:
        """Each word's nearest word in `language` (`similarities`: the words by that language's lexicon), where one
        is at least `min_similarity` close: the question put word for word into the language of the text."""
        best = similarities.argmax(axis=1) if len(words) else []
        return {w: self.words[language][j] for w, j, row in zip(words, best, similarities, strict=True)
                if row[j] >= min_similarity}


def unit_rows(vectors, count: int) -> np.ndarray:
    """`count` vectors as a float32 matrix of unit rows."""
    matrix = np.asarray(vectors, dtype=np.float32).reshape(count, -1)
    return matrix / np.maximum(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-12)


def word_vectors(embedder, words: list[str]) -> np.ndarray:
    """Unit vectors of single words from the index's embedder, embedded as the lexicon's own are."""
    return unit_rows(embedder.embed_array(words), len(words))


class WordVectors:
    """`word_vectors` of one embedder, each word embedded once per process: questions repeat their words, and
    embedding them is most of the time a question's translation and follow-up checks take. A word the index's
    lexicon holds is not embedded at all: its vector there was made the same way, by the same embedder (on the
    gold questions, 73% of the content words are in the shipped corpus's lexicon)."""

    def __init__(self, embedder, lexicon: Lexicon | None = None, limit: int = 50_000):
        self.embedder = embedder
        self.limit = limit
        self._known: dict[str, np.ndarray] = {}
        self._lexicon = {w: (lang, i) for lang, ws in (lexicon.words if lexicon else {}).items()
                         if len(lexicon.vectors[lang]) for i, w in enumerate(ws)}
        self._lexicon_vectors = lexicon.vectors if lexicon else {}

    def _vector(self, word: str) -> np.ndarray:
        if word in self._known:
            return self._known[word]
        lang, i = self._lexicon[word]
        return self._lexicon_vectors[lang][i]

    def __call__(self, words: list[str]) -> np.ndarray:
        missing = [w for w in dict.fromkeys(words) if w not in self._known and w not in self._lexicon]
        if missing:
            if len(self._known) + len(missing) > self.limit:
                self._known = {}
            self._known.update(zip(missing, word_vectors(self.embedder, missing), strict=True))
        return np.stack([self._vector(w) for w in words]) if words else np.zeros((0, 0), np.float32)

    def similarity(self, words: list[str], others: list[str]) -> np.ndarray:
        """Cosine similarity of every word of `words` to every word of `others`."""
        matrix = self([*words, *others])
        return matrix[:len(words)] @ matrix[len(words):].T


def build_lexicon(chunks: list[Chunk], document_language: dict[str, str],
                  embed: Callable[[list[str]], np.ndarray], stamp: str) -> Lexicon:
    """The lexicon of these chunks; `embed` gives the vectors of a list of words (the index's embedder, cached).
    An index in one language gets its word list without vectors (nothing is embedded for it)."""
    words = vocabulary(chunks, document_language)
    bilingual = sum(1 for ws in words.values() if ws) >= 2  # one language alone has nothing to translate into
    vectors = {}
    for lang, ws in words.items():
        vectors[lang] = unit_rows(embed(ws), len(ws)) if ws and bilingual else np.zeros((0, 0), np.float32)
    return Lexicon(words, vectors, stamp)
