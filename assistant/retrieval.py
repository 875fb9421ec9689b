"""Hybrid retrieval: dense (Chroma) + lexical (BM25) + evidence units (sentences searched, their chunk returned:
small-to-big) fused by reciprocal rank, reference-aware, the best fused candidates reordered by the learned
passage reranker (assistant.rerank, from the scores measured here), diversified by MMR, with neighbouring
chunks joined to fragments. Each passage carries the similarity of the question to every unit of it and of its neighbours,
which the composer uses to pick the sentence that answers.

The query is embedded once per turn; the BM25 index is loaded once per process. The lexical search also gets the
question's words in the index's other languages (indexer.lexicon: English «budget» → Spanish «presupuesto»).

Filtered dense searches (the reference lists — «objetivo 14» → the chunks flagged `pmm_14` — and the user's
filters) are scored exactly over their candidate chunks, found in an in-memory map of the same metadata
flags Chroma holds, with the docstore's vectors. Chroma answers a `where` on a boolean flag by scanning
every metadata row (its SQLite metadata table indexes string, int and float values, not booleans): about
150–300 ms per filtered query at 90k chunks against ~10 ms unfiltered (benchmarks/RESULTS.md). Chroma is
still asked when a filter is of a shape the map does not know or matches too many chunks.
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass, field, replace

import numpy as np

from assistant.evidence import query_terms
from assistant.query import Query, english_terms
from assistant.rerank import log_length, rank_feature
from assistant.rerank import model as rerank_model
from assistant.settings import Settings
from assistant.spelling import Respeller, Typos, dictionary_correction, dictionary_words, folded_words
from assistant.text import content_stems
from assistant.types import Filters, Passage
from indexer.catalog import Catalog, catalog_for
from indexer.chunking import count_tokens
from indexer.embeddings import LATENT_TOP_K, get_embedder, latent_terms_of, unpack
from indexer.language import detect_language
from indexer.lexicon import Lexicon, WordVectors, content_words, lexicon_stamp, stop_words, unit_rows
from indexer.stores import DocStore, LexicalIndex, VectorStore, chunk_set_stamp, spanish_stemmer
from indexer.tagging import fold
from indexer.types import Chunk, References

log = logging.getLogger(__name__)

MAX_TRANSLATED_WORDS = 16
# A note about a file (a transcription's header: what it holds and leaves out) answers questions about the text
# itself; it ranks like references, so that it does not crowd out the text on every question in its language.
KIND_PRIOR = {"reference": 0.35, "note": 0.35, "glossary": 0.6, "summary": 0.9}
# The author's thanks and dedication name institutions («Comunidades Peruanas en el Exterior») without saying
# anything about them: ranked like references, found only when nothing else matches.
PERSONAL_SECTIONS = {"agradecimientos", "dedicatoria"}


@dataclass
class RetrievalResult:
    passages: list[Passage]
    max_dense: float
    max_lexical: float
    reference_hits: int
    timings_ms: dict[str, float]
    term_idf: dict[str, float] = field(default_factory=dict)  # the query's stems → their idf in the index
    unseen_terms: frozenset[str] = frozenset()  # the query's stems that no chunk of the index holds
    translated_words: list[str] = field(default_factory=list)  # what the lexical search added (indexer.lexicon)
    pool: list[Passage] = field(default_factory=list)  # the reranked candidates, before MMR (evals.calibration)
    absent: References = field(default_factory=References)  # what the query names that no chunk is about


def merge_passages(rankings: list[list[Passage]]) -> list[Passage]:
    """The passages of several parts of a question, interleaved rank by rank (each part's best first), once each."""
    if len(rankings) == 1:
        return rankings[0]
    merged: list[Passage] = []
    seen: set[str] = set()
    for rank in range(max((len(r) for r in rankings), default=0)):
        for ranking in rankings:
            if rank < len(ranking) and ranking[rank].chunk.id not in seen:
                seen.add(ranking[rank].chunk.id)
                merged.append(ranking[rank])
    return merged


class IndexMissing(RuntimeError):
    """The data folder holds no index yet."""


_MAPPED_VALUES = ("doc_id", "finding", "gcm_action")  # the string-valued metadata filters use; flags are True


class MetadataMap:
    """Which chunks carry each metadata flag/value of `Chunk.chroma_metadata()` — the ones `where` filters use."""

    def __init__(self, chunks):
        self.ids: dict[tuple[str, object], list[str]] = {}
        for chunk in chunks:
            for key, value in chunk.chroma_metadata().items():
                if value is True or key in _MAPPED_VALUES:
                    self.ids.setdefault((key, value), []).append(chunk.id)

    def matching(self, where: dict) -> set[str] | None:
        """The ids a `where` of the shapes the retriever builds matches; None for any other shape."""
        if len(where) != 1:
            return None
        (key, cond), = where.items()
        if key in ("$and", "$or"):
            parts = [self.matching(w) for w in cond]
            if not parts or any(p is None for p in parts):
                return None
            return set.intersection(*parts) if key == "$and" else set().union(*parts)
        if isinstance(cond, dict):
            if set(cond) == {"$in"}:
                return {cid for value in cond["$in"] for cid in self.ids.get((key, value), ())}
            if set(cond) == {"$eq"}:
                cond = cond["$eq"]
            else:
                return None
        if cond is not True and key not in _MAPPED_VALUES:
            return None
        return set(self.ids.get((key, cond), ()))


class Retriever:
    def __init__(self, settings: Settings):
        data = settings.data_dir
        if not (data / "docstore.sqlite").exists():
            raise IndexMissing(f"No hay índice en {data}. Ejecute «policy-assistant index» (o «make index»).")
        self.settings = settings
        self.docstore = DocStore(data / "docstore.sqlite")
        self.vectors = VectorStore(data, settings.index.store)
        self.catalog: Catalog = catalog_for(data)
        self.embedder = get_embedder(settings.index.embeddings)
        self.lexical = self._load_lexical()
        exact = self.docstore.count() <= self.EXACT_LIMIT
        chunks = list(self.docstore.iter_chunks(with_vectors=exact))
        self.metadata = MetadataMap(c for c, _ in chunks)
        self.carried: dict[str, set] = {}  # every reference some chunk is about, by kind (`absent`)
        for chunk, _ in chunks:
            for kind, values in vars(chunk.refs).items():
                self.carried.setdefault(kind, set()).update(values)
        # The chunks' unit vectors, in memory, for an exact dense search (None: a larger index, searched by Chroma
        # and its vectors read from the docstore when needed)
        self.chunk_ids = [c.id for c, _ in chunks]
        self.chunk_rows = {cid: row for row, cid in enumerate(self.chunk_ids)}
        self.chunk_matrix = unit_rows([v for _, v in chunks], len(chunks)) if exact and chunks else None
        self.latent = latent_terms_of(self.embedder)
        # the chunks' latent terms, in memory beside their vectors (feature numbers, weights; rows of chunk_ids)
        self.latent_rows = self._latent_rows() if self.latent is not None and self.chunk_matrix is not None else None
        self.doc_language = {d.id: d.language for d in self.docstore.documents().values()}
        self.lexicon = self._load_lexicon()
        main = self.lexicon.main_language if self.lexicon is not None else None
        # the main language's questions are embedded as its documents spell them (assistant.spelling)
        self.respeller = Respeller(self.lexicon.words[main], main) if main and settings.retrieval.respell else None
        self._typos: dict[str, Typos] = {}
        self._known: set[str] | None = None  # the folded words of the chunks (typo correction)
        self.words = WordVectors(self.embedder, self.lexicon)
        self.reranker = rerank_model()  # evals.calibration sets a freshly fitted one here
        unit_chunks, self.unit_positions, self.unit_matrix = self.docstore.unit_vectors()
        self.unit_chunk_ids = np.array(unit_chunks, dtype=object)
        self.unit_span: dict[str, tuple[int, int]] = {}
        for i, cid in enumerate(unit_chunks):  # rows are sorted by chunk id, then position
            start, _ = self.unit_span.get(cid, (i, i))
            self.unit_span[cid] = (start, i + 1)

    def _load_lexicon(self) -> Lexicon | None:
        lexicon = Lexicon.load(self.settings.data_dir)
        if lexicon is not None and lexicon.stamp != lexicon_stamp(self.docstore.chunk_ids()):
            log.warning("La lista bilingüe de palabras no coincide con el docstore; las preguntas se buscan sin "
                        "traducir sus palabras (ejecute «policy-assistant index» para rehacerla).")
            return None
        return lexicon

    def across_languages(self, query: Query) -> tuple[list[str], list[str]]:
        """The question in the index's other languages (indexer.lexicon), from one comparison of its words with
        the lexicon's: its words' nearest words there, added to its lexical search («budget» finds «presupuesto»),
        and, for a question not in the index's main language, the question rendered word for word in it («what
        budget did the MTIGM have» → «presupuesto MTIGM tener»; names and figures kept, stop words left out),
        searched densely beside the question: the question's own vector ranks text in another language poorly
        (dev split, fused pool recall@5 0.811 → 0.821; English questions typed as users type, 0.78 → 0.85)."""
        cfg = self.settings.retrieval
        if self.lexicon is None or not self.lexicon.can_translate(query.language):
            return [], []
        words = content_words(query.resolved, query.language)[:MAX_TRANSLATED_WORDS]
        if not words:
            return [], []
        similarities = self.lexicon.similarities(words, self.words(words), query.language)
        translated = self.lexicon.translations(similarities, cfg.translate_min_similarity, cfg.translate_margin,
                                               cfg.translate_per_word) if cfg.translate_per_word else []
        main = self.lexicon.main_language
        if not cfg.dense_rendering or main not in similarities:
            return translated, []
        mapping = self.lexicon.rendering(words, similarities[main], main, cfg.translate_min_similarity)
        stop = stop_words(query.language)
        rendered = " ".join(mapping.get(t.lower(), t) for t in re.findall(r"[\w.-]+", query.resolved)
                            if fold(t.lower()) not in stop)
        return translated, [rendered] if rendered and fold(rendered) != fold(query.resolved) else []

    def translate_words(self, words: list[str], language: str) -> list[str]:
        """A question's words in the index's main language, as the lexical search adds them («calls» →
        «llamadas»); empty without a lexicon, and for a question already in the main language: its words' nearest
        English words («países» → "places") made unrelated counts look like the one asked for (dev, out of fold:
        unanswerable parts refused at ≤ 3% false refusals 0.35 → 0.44, no answerable part changed)."""
        cfg = self.settings.retrieval
        if not words or self.lexicon is None or language == self.lexicon.main_language or \
                not self.lexicon.can_translate(language):
            return []
        similarities = self.lexicon.similarities(words, self.words(words), language)
        return self.lexicon.translations(similarities, cfg.translate_min_similarity, cfg.translate_margin,
                                         max(cfg.translate_per_word, 1))

    def similar_words(self, words: list[str]) -> frozenset[str]:
        """The lexicon's words, of every language, at least `counted_min_similarity` close in meaning to one of
        `words` (a word the index uses is its own closest): «pedidos» → «solicitudes», "centres" → «centros». What a
        count question counts is often written in other words than the question's; empty without a lexicon."""
        if not words or self.lexicon is None:
            return frozenset()
        threshold = self.settings.retrieval.counted_min_similarity
        vectors = self.words(words)
        return frozenset(w for lang, matrix in self.lexicon.vectors.items() if len(matrix)
                         for w, close in zip(self.lexicon.words[lang], (matrix @ vectors.T).max(axis=1) >= threshold,
                                             strict=True) if close)

    def corrected(self, question: str) -> str:
        """A question with its typos corrected (`assistant.spelling.Typos`: «la mtigm cuantos mienbros tiene» →
        «…miembros…», "how many venesuelans…" → "…venezuelans…"), from the index's words in the question's language
        and, for another language than the index's main one (whose index words are few), its dictionary's."""
        if self.lexicon is None or not self.settings.retrieval.correct_typos:
            return question
        language = detect_language(question, self.lexicon.main_language)
        typos = self.typos(language)
        return typos(question) if typos else question

    def typos(self, language: str) -> Typos | None:
        """The typo corrector of a language the index has words in (None for another), built at its first use
        (about 0.5 s)."""
        if not self.lexicon or not self.lexicon.words.get(language):
            return None
        if language not in self._typos:
            if self._known is None:
                self._known = folded_words(f"{chunk.section} {chunk.text}" for chunk, _ in self.docstore.iter_chunks())
            # the stems of the Spanish dictionary's lemmas; an English word list holds the inflections themselves
            stem = spanish_stemmer().stemWord if language == "es" else str
            other = language != self.lexicon.main_language
            words = self.lexicon.words[language]
            if other and language == "en":  # the glossary's English words too: the index's own are the Compact's
                words = [*words, *(w for w in english_terms() if " " not in w)]
            self._typos[language] = Typos(
                words, self._known | stop_words(language), {stem(fold(w)) for w in dictionary_words(language)},
                stem, language, fallback=dictionary_correction(language) if other else None)
        return self._typos[language]

    def _spelled(self, text: str, query: Query) -> str:
        """What the dense search embeds: a question in the index's main language as its documents spell its words
        («q», «x», «inclusion» → «que», «por», «inclusión»), any other text as it is."""
        if self.respeller is None or query.language != self.respeller.language:
            return text
        return self.respeller(text)

    def _question_alone(self, query: Query) -> list[str]:
        """The question's own words, when its search text adds expansions to them: searched beside it, so that the
        catalog titles of the objective it names do not outweigh what it asks of that objective."""
        if self.settings.retrieval.dense_question_alone and query.search_text.strip() != query.resolved.strip():
            return [query.resolved]
        return []

    def _around_previous(self, query: Query, qvec: np.ndarray) -> list[str]:
        """For a follow-up, the chunks the previous answer cited and those around them (`follow_up_window` before
        and after, same document), closest to the question first: «¿y qué resultados hubo?» asks about what lies
        next to the passage that answered the previous turn."""
        window = self.settings.retrieval.follow_up_window
        if not query.previous_chunks or window <= 0:
            return []
        ids: list[str] = []
        for chunk in self.docstore.get(query.previous_chunks).values():
            ids += [c.id for c in self.docstore.neighbours(chunk.doc_id, chunk.ordinal, window) if c.id not in ids]
        cosines = self._cosines(self._vectors(ids), qvec)
        return sorted(cosines, key=lambda cid: (-cosines[cid], cid))

    def _latent_rows(self) -> tuple[np.ndarray, np.ndarray]:
        stored = self.docstore.latent_terms()
        empty = np.zeros(2 * LATENT_TOP_K, dtype=np.float32)  # a chunk indexed without them scores 0
        return unpack(np.stack([stored.get(cid, empty) for cid in self.chunk_ids]))

    def latent_scores(self, text: str, ids: list[str]) -> dict[str, tuple[float, int]]:
        """For these chunks, the match of their latent terms with the text's (over the best match of the index) and
        their rank by it in the whole index; beyond EXACT_LIMIT, among these chunks only. Empty without latent
        terms (another embedder)."""
        if self.latent is None or not ids:
            return {}
        question = self.latent.query_array(text)
        if self.latent_rows is not None:
            row, (features, weights) = self.chunk_rows, self.latent_rows
        else:
            stored = self.docstore.latent_terms(ids)
            if not stored:
                return {}
            row = {cid: i for i, cid in enumerate(stored)}
            features, weights = unpack(np.stack(list(stored.values())))
        scores = (question[features] * weights).sum(axis=1)
        best = max(float(scores.max()), 1e-12)
        rank = np.empty(len(scores), dtype=np.int64)
        rank[np.argsort(-scores, kind="stable")] = np.arange(len(scores))
        return {cid: (float(scores[row[cid]]) / best, int(rank[row[cid]])) for cid in ids if cid in row}

    def _vectors(self, ids: list[str]) -> dict[str, np.ndarray]:
        """These chunks' vectors by id: from memory where the index is held there, else from the docstore."""
        if self.chunk_matrix is None:
            return self.docstore.vectors(ids)
        return {cid: self.chunk_matrix[self.chunk_rows[cid]] for cid in ids if cid in self.chunk_rows}

    @staticmethod
    def _cosines(vectors: dict[str, np.ndarray], qvec: np.ndarray) -> dict[str, float]:
        """The cosine of the question's vector to each of these chunk vectors, by chunk id."""
        qnorm = max(float(np.linalg.norm(qvec)), 1e-12)
        return {cid: float(v @ qvec) / (max(float(np.linalg.norm(v)), 1e-12) * qnorm) for cid, v in vectors.items()}

    def word_similarity(self, words: list[str], others: list[str]) -> np.ndarray:
        """Cosine similarity of every word of `words` to every word of `others` (a follow-up's facet, assistant.query)."""
        return self.words.similarity(words, others)

    # Dense search is exact, in memory, up to this many chunks (or, filtered, candidates); beyond, Chroma's graph
    # search answers. Chroma's is approximate, and not repeatable: on the shipped index, searching the gold set's
    # questions twice in two processes, 2 to 7 of 1,613 searches lost a true neighbour, once the nearest one, and
    # not the same ones (the answers, and the calibration's fits, moved from one run to the next). An exact search
    # of 20,000 vectors takes about a millisecond and 30 MB of memory.
    EXACT_LIMIT = 20_000

    def _load_lexical(self) -> LexicalIndex:
        lexical = LexicalIndex.load(self.settings.data_dir / "lexical")
        ids = self.docstore.chunk_ids()
        if lexical is None or lexical.stamp != chunk_set_stamp(ids):
            log.warning("El índice léxico no coincide con el docstore; se reconstruye en memoria "
                        "(ejecute «policy-assistant index» para repararlo en disco).")
            lexical = LexicalIndex.build([c for c, _ in self.docstore.iter_chunks()])
        return lexical

    def _filtered_dense(self, qvec: np.ndarray, k: int, wheres: list[dict]) -> list[list[tuple[str, float]]]:
        """Top-k (chunk id, cosine similarity) per `where`, best first: exact over the candidates the metadata
        map finds (their vectors read once), Chroma for a filter the map cannot take."""
        candidates = [self.metadata.matching(w) for w in wheres]
        exact = [c for c in candidates if c is not None]
        union: set[str] = set().union(*exact) if exact else set()
        if len(union) > self.EXACT_LIMIT:
            candidates = [None] * len(wheres)
            union = set()
        similarity: dict[str, float] = {}
        if union:
            vectors = self._vectors(sorted(union))
            if vectors:
                ids = list(vectors)
                matrix = np.stack([vectors[i] for i in ids])
                norms = np.linalg.norm(matrix, axis=1) * max(float(np.linalg.norm(qvec)), 1e-12)
                sims = (matrix @ qvec.astype(np.float32)) / np.maximum(norms, 1e-12)
                similarity = dict(zip(ids, sims.tolist(), strict=True))
        results: list[list[tuple[str, float]]] = []
        for where, ids in zip(wheres, candidates, strict=True):
            if ids is None:
                results.append(self.vectors.query(qvec, k, where))
                continue
            scored = [(cid, similarity[cid]) for cid in ids if cid in similarity]
            scored.sort(key=lambda item: (-item[1], item[0]))
            results.append(scored[:k])
        return results

    def _dense(self, vector: np.ndarray, k: int, where: dict | None) -> list[tuple[str, float]]:
        """The k chunks closest to `vector` (ties: in document order), within the user's filter when there is one."""
        if where is not None:
            return self._filtered_dense(vector, k, [where])[0]
        if self.chunk_matrix is None:
            return self.vectors.query(vector, k)
        sims = self.chunk_matrix @ (vector / max(float(np.linalg.norm(vector)), 1e-12)).astype(np.float32)
        top = np.argsort(-sims, kind="stable")[:k]
        return [(self.chunk_ids[i], float(sims[i])) for i in top]

    def embed_query(self, text: str) -> np.ndarray:
        if hasattr(self.embedder, "query_array"):
            return self.embedder.query_array(text)
        return np.asarray(self.embedder.embed_query(text), dtype=np.float32)

    @staticmethod
    def _where(filters: Filters | None) -> dict | None:
        if filters is None or filters.is_empty():
            return None
        clauses: list[dict] = []
        if filters.doc_ids:
            clauses.append({"doc_id": {"$in": list(filters.doc_ids)}})
        if filters.pmm_objectives:
            flags = [{f"pmm_{n}": True} for n in filters.pmm_objectives]
            clauses.append(flags[0] if len(flags) == 1 else {"$or": flags})
        if filters.pnm_ejes:
            flags = [{f"pnm_eje_{n}": True} for n in filters.pnm_ejes]
            clauses.append(flags[0] if len(flags) == 1 else {"$or": flags})
        return clauses[0] if len(clauses) == 1 else {"$and": clauses}

    @staticmethod
    def _passes(chunk: Chunk, filters: Filters | None) -> bool:
        if filters is None or filters.is_empty():
            return True
        if filters.doc_ids and chunk.doc_id not in filters.doc_ids:
            return False
        if filters.pmm_objectives and not set(filters.pmm_objectives) & set(chunk.refs.pmm):
            return False
        return not (filters.pnm_ejes and not set(filters.pnm_ejes) & set(chunk.refs.pnm_ejes))

    def _reference_wheres(self, query: Query) -> list[dict]:
        refs = query.refs
        wheres: list[dict] = []
        wheres += [{f"pmm_{n}": True} for n in refs.pmm[:3]]
        wheres += [{f"pnm_l_{c.replace('.', '_')}": True} for c in refs.pnm_lineamientos[:3]]
        wheres += [{f"tabla_{n}": True} for n in refs.tables[:3]]
        wheres += [{"finding": f} for f in refs.findings[:3]]
        wheres += [{"gcm_action": a} for a in refs.gcm_actions[:3]]
        wheres += [{f"articulo_{n}": True} for n in refs.articles[:3]]
        if not refs.pnm_lineamientos:
            wheres += [{f"pnm_eje_{n}": True} for n in refs.pnm_ejes[:2]]
        return wheres

    @staticmethod
    def _matches_refs(chunk: Chunk, query: Query) -> bool:
        r, q = chunk.refs, query.refs
        return bool(set(q.pmm) & set(r.pmm) or set(q.pnm_lineamientos) & set(r.pnm_lineamientos)
                    or set(q.tables) & set(r.tables) or set(q.findings) & set(r.findings)
                    or set(q.gcm_actions) & set(r.gcm_actions) or set(q.articles) & set(r.articles)
                    or (set(q.pnm_ejes) & set(r.pnm_ejes) and not q.pnm_lineamientos))

    def retrieve(self, query: Query, filters: Filters | None = None, top_k: int | None = None,
                 query_vector: np.ndarray | None = None) -> RetrievalResult:
        cfg = self.settings.retrieval
        top_k = top_k or cfg.top_k
        timings: dict[str, float] = {}
        t0 = time.perf_counter()
        qvec = query_vector if query_vector is not None else self.embed_query(self._spelled(query.search_text, query))
        timings["embed"] = (time.perf_counter() - t0) * 1000
        where = self._where(filters)

        t0 = time.perf_counter()
        dense = self._dense(qvec, cfg.dense_k, where)
        ranked_lists: list[tuple[str, float, list[str]]] = [("dense", cfg.dense_weight, [cid for cid, _ in dense])]
        reference_ids: set[str] = set()
        ref_wheres = [{"$and": [w, where]} if where else w for w in self._reference_wheres(query)]
        for hits in self._filtered_dense(qvec, 12, ref_wheres) if ref_wheres else []:
            ranked_lists.append(("reference", cfg.reference_weight, [cid for cid, _ in hits]))
            reference_ids.update(cid for cid, _ in hits)
        timings["dense"] = (time.perf_counter() - t0) * 1000

        t0 = time.perf_counter()
        unit_sims = self.unit_matrix @ qvec.astype(np.float32) if len(self.unit_matrix) else np.zeros(0)
        ranked_lists.append(("unit", cfg.unit_weight, self._best_unit_chunks(unit_sims, cfg.unit_k)))
        timings["units"] = (time.perf_counter() - t0) * 1000

        t0 = time.perf_counter()
        translated, renderings = self.across_languages(query)
        timings["translate"] = (time.perf_counter() - t0) * 1000
        t0 = time.perf_counter()
        # the sentences' closeness to the question as asked (its own words' vector, when the search text adds
        # expansions to them): what the evidence ranker reads (assistant.evidence `semantic`)
        own_unit_sims = unit_sims
        alone = self._question_alone(query)
        for other in [*renderings, *alone]:  # more dense lists for the fusion
            rvec = self.embed_query(self._spelled(other, query))
            ranked_lists.append(("dense", cfg.dense_weight, [cid for cid, _ in self._dense(rvec, cfg.dense_k, where)]))
            if len(self.unit_matrix):
                other_sims = self.unit_matrix @ rvec.astype(np.float32)
                ranked_lists.append(("unit", cfg.unit_weight, self._best_unit_chunks(other_sims, cfg.unit_k)))
                if other in alone:
                    own_unit_sims = other_sims
        timings["more_dense"] = (time.perf_counter() - t0) * 1000

        if around := self._around_previous(query, qvec):
            ranked_lists.append(("previous", cfg.follow_up_weight, around))

        t0 = time.perf_counter()
        lexical = self.lexical.search(" ".join([query.search_text, *translated]), cfg.lexical_k)
        lexical_score = dict(lexical)
        ranked_lists.append(("lexical", cfg.lexical_weight, [cid for cid, _ in lexical]))
        timings["lexical"] = (time.perf_counter() - t0) * 1000

        t0 = time.perf_counter()
        fused: dict[str, float] = {}
        ranks: dict[str, dict[str, int]] = {}  # chunk id → its best rank in each kind of list
        for name, weight, ranking in ranked_lists:
            for rank, cid in enumerate(ranking):
                fused[cid] = fused.get(cid, 0.0) + weight / (cfg.rrf_k + rank + 1)
                seen = ranks.setdefault(cid, {})
                seen[name] = min(rank, seen.get(name, rank))
        chunks = self.docstore.get(fused)
        passages: list[Passage] = []
        for cid, score in fused.items():
            chunk = chunks.get(cid)
            if chunk is None or not self._passes(chunk, filters):
                continue  # an id Chroma still holds but the docstore dropped: never shown
            matched = self._matches_refs(chunk, query)
            prior = KIND_PRIOR.get(chunk.kind, 1.0)
            if chunk.section_path and fold(chunk.section_path[0]).strip() in PERSONAL_SECTIONS:
                prior = KIND_PRIOR["reference"]
            if chunk.kind == "glossary" and query.wants_glossary:
                prior = 1.5
            if chunk.doc_id in query.placeless_documents:
                prior *= cfg.placeless_prior
            same_language = query.language != "es" and self.doc_language.get(chunk.doc_id) == query.language
            if same_language:
                prior *= cfg.same_language_boost  # an English question reads the English text (GCM) first
            passages.append(Passage(chunk, score * prior * (1.0 + cfg.reference_boost * matched),
                                    lexical=lexical_score.get(cid, 0.0), reference_match=matched,
                                    features={"fused": score, "prior": prior, "same_language": float(same_language)}))
        passages.sort(key=lambda p: p.score, reverse=True)
        window = max(top_k * 4, 20)  # the candidates MMR picks from: all of them reranked, when reranking is on
        pool_size = max(cfg.rerank_pool, window) if cfg.rerank_pool else 0
        fetched = passages[: max(pool_size, window)]
        vectors = self._vectors([p.chunk.id for p in fetched])
        cosines = self._cosines(vectors, qvec)
        for p in fetched:
            p.dense = cosines.get(p.chunk.id, p.dense)
        t1 = time.perf_counter()
        latent = self.latent_scores(self._spelled(query.resolved, query), [p.chunk.id for p in passages[:pool_size]])
        timings["latent"] = (time.perf_counter() - t1) * 1000
        pool = self._rerank(query, passages[:pool_size], ranks, unit_sims, lexical, translated, latent)
        passages = self._mmr((pool + passages[len(pool):])[:window], vectors, top_k, cfg.mmr_lambda)
        for p in passages:
            p.neighbours = self._neighbours(p.chunk)
            p.unit_similarity = {c.id: self._unit_scores(own_unit_sims, c.id) for c in [p.chunk, *p.neighbours]}
        timings["fuse"] = (time.perf_counter() - t0) * 1000
        frequencies = self.lexical.document_frequency(content_stems(query.search_text))
        return RetrievalResult(
            passages=passages,
            max_dense=max((s for _, s in dense), default=0.0),
            max_lexical=max((s for _, s in lexical), default=0.0),
            reference_hits=len(reference_ids),
            timings_ms=timings,
            term_idf=self.lexical.idf(frequencies),
            unseen_terms=frozenset(s for s, df in frequencies.items() if not df),
            translated_words=translated,
            pool=pool,
            absent=self.absent(query.refs),
        )

    # the kinds of reference a question can name that the index may lack: objectives, ejes and áreas past the
    # catalog's count are answered by it (assistant.catalog_answers `out_of_range`)
    _SPECIFIC = ("gcm_actions", "tables", "findings", "articles", "pnm_lineamientos")

    def absent(self, refs: References) -> References:
        """The references of `refs` that no chunk of the index is about: an action of the Compact, a table, a
        conclusion or recommendation, an article or a lineamiento the corpus never mentions («la acción (e) del
        objetivo 22», where the corpus's text of the Compact gives it three). What a question asks of one, the corpus
        cannot say."""
        return References(**{kind: [v for v in getattr(refs, kind) if v not in self.carried.get(kind, ())]
                             for kind in self._SPECIFIC})

    def _rerank(self, query: Query, pool: list[Passage], ranks: dict[str, dict[str, int]], unit_sims: np.ndarray,
                lexical: list[tuple[str, float]], translated: list[str],
                latent: dict[str, tuple[float, int]]) -> list[Passage]:
        """The best fused candidates with their reranking features (assistant.rerank), ordered by the shipped
        reranker's probability that they hold the evidence (the fused order when no reranker ships)."""
        if not pool:
            return []
        terms = query_terms(replace(query, expansions=[*query.expansions, *translated]))
        idf = self.lexical.inverse_document_frequency(terms)
        total_idf = sum(idf.values()) or 1.0
        best_lexical = max((s for _, s in lexical), default=0.0) or 1.0
        best_unit = float(unit_sims.max()) if len(unit_sims) else 0.0
        top_score = pool[0].score or 1.0
        for rank, p in enumerate(pool):
            cid, seen = p.chunk.id, ranks.get(p.chunk.id, {})
            unit_best = max(self._unit_scores(unit_sims, cid), default=0.0)
            stems = content_stems(f"{p.chunk.section}\n{p.chunk.text}")
            match, match_rank = latent.get(cid, (0.0, None))
            p.features.update({
                "dense": p.dense, "lexical": p.lexical / best_lexical,
                "unit_best": unit_best, "unit_gap": best_unit - unit_best,
                "reference": float(p.reference_match),
                "coverage": sum(v for t, v in idf.items() if t in stems) / total_idf,
                "length": log_length(p.chunk.text),
                "dense_rank": rank_feature(seen.get("dense")), "lexical_rank": rank_feature(seen.get("lexical")),
                "unit_rank": rank_feature(seen.get("unit")), "reference_rank": rank_feature(seen.get("reference")),
                "fused_rank": rank_feature(rank), "fused_relative": p.score / top_score,
                "table": float(p.chunk.kind == "table"), "finding": float(p.chunk.kind == "finding"),
                "latent": match, "latent_rank": rank_feature(match_rank)})
        if self.reranker is None:
            return pool
        for p, probability in zip(pool, self.reranker.probabilities([p.features for p in pool]), strict=True):
            p.score = float(probability)
        return sorted(pool, key=lambda p: p.score, reverse=True)

    def _best_unit_chunks(self, unit_sims: np.ndarray, k: int) -> list[str]:
        """Chunks ranked by their best-matching evidence unit (the top k units, each chunk once)."""
        if not len(unit_sims):
            return []
        top = np.argpartition(-unit_sims, min(k, len(unit_sims) - 1))[:k]
        ranked: list[str] = []
        for i in top[np.argsort(-unit_sims[top], kind="stable")]:
            cid = self.unit_chunk_ids[i]
            if cid not in ranked:
                ranked.append(cid)
        return ranked

    def _unit_scores(self, unit_sims: np.ndarray, chunk_id: str) -> list[float]:
        start, end = self.unit_span.get(chunk_id, (0, 0))
        return unit_sims[start:end].tolist()

    @staticmethod
    def _mmr(passages: list[Passage], vectors: dict[str, np.ndarray], k: int, lam: float) -> list[Passage]:
        """Maximal marginal relevance on the passages' scores (the reranker's probabilities, or fused scores
        when no reranker ships): near-duplicates do not crowd the top."""
        if len(passages) <= 1:
            return passages[:k]
        matrix = np.stack([vectors[p.chunk.id] for p in passages])
        relevance = np.array([p.score for p in passages])
        relevance = relevance / max(float(relevance.max()), 1e-12)
        chosen: list[int] = [0]
        while len(chosen) < min(k, len(passages)):
            similarity = matrix @ matrix[chosen].T
            redundancy = similarity.max(axis=1)
            mmr = lam * relevance - (1 - lam) * redundancy
            mmr[chosen] = -np.inf
            chosen.append(int(np.argmax(mmr)))
        return [passages[i] for i in chosen]

    def _neighbours(self, chunk: Chunk) -> list[Chunk]:
        """A short or cut passage gets the chunks around it in the same section."""
        fragment = (count_tokens(chunk.text) < self.settings.retrieval.neighbour_min_tokens
                    or chunk.text[:1].islower() or not re.search(r"[.!?:)»”\"]\s*$", chunk.text))
        if not fragment or chunk.kind in {"gcm_action", "finding", "table", "glossary"}:
            return []
        return [c for c in self.docstore.neighbours(chunk.doc_id, chunk.ordinal)
                if c.id != chunk.id and c.section_path == chunk.section_path]

    def close(self) -> None:
        self.docstore.close()
