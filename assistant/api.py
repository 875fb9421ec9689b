"""The one Python API of the product: `Assistant.ask` (and its streaming twin), used by the CLI and the app.

Flow: understand the question (language, references, follow-up, its parts) → for each part: retrieve (hybrid,
sentence-aware) → rank the evidence → decide answerability (one calibrated score) → compose the covered parts
(the sentence that answers first) → check grounding (model answers) → cite, naming the parts not covered.
"""

from __future__ import annotations

import queue
import re
import shutil
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

from assistant import evidence
from assistant.answerability import Decision, decide
from assistant.catalog_answers import CatalogAnswers, CatalogFact
from assistant.citations import make_citation
from assistant.composers import Draft, DraftSentence, get_composer
from assistant.composers.extractive import ExtractiveComposer
from assistant.concurrency import share_safely
from assistant.listing import item_at, nth
from assistant.places import IndexPlaces
from assistant.prompts import message
from assistant.query import (
    Query,
    part_queries,
    reference_names,
    remembered_turn,
    small_talk_language,
    understand,
    without_formulas,
)
from assistant.retrieval import RetrievalResult, Retriever, merge_passages
from assistant.settings import Settings, load_settings
from assistant.text import differing_figures
from assistant.types import Answer, Citation, Filters, Passage, Turn
from indexer.language import detect_language
from indexer.pipeline import IndexReport
from indexer.tagging import tag_question

MAX_QUESTION_CHARS = 2000


@dataclass
class PartResult:
    """One part of a question (the whole question when it has one part), retrieved, ranked and decided."""

    query: Query
    result: RetrievalResult
    ranked: list[evidence.Candidate]
    decision: Decision
    catalog: list[CatalogFact] = field(default_factory=list)  # a structural question answered from the catalog
    listed: bool = False  # `catalog` holds the item of a list an ordinal follow-up asks for (assistant.listing)
    unlisted: int | None = None  # the objective whose actions it asks for, which the corpus's Compact does not list


class Assistant:
    def __init__(self, settings: Settings | None = None):
        self.settings = settings or load_settings()
        self.retriever = share_safely(Retriever(self.settings))
        self.catalog = self.retriever.catalog
        self.composer = get_composer(self.settings)
        if hasattr(self.composer, "set_embedder"):  # model-backed composers check support across languages
            self.composer.set_embedder(lambda text: self.retriever.embed_query(text))
        self.documents = self.retriever.docstore.documents()
        self._catalog_answers: CatalogAnswers | None = None
        self._places: IndexPlaces | None = None

    @property
    def catalog_answers(self) -> CatalogAnswers:
        """The catalog route over this index's chunks, built on the first question that needs it."""
        if self._catalog_answers is None:
            chunks = [chunk for chunk, _ in self.retriever.docstore.iter_chunks()]
            self._catalog_answers = CatalogAnswers(self.catalog, chunks, {d.id: d.kind for d in self.documents.values()})
        return self._catalog_answers

    @property
    def places(self) -> IndexPlaces:
        """The places this index names everywhere, read from its chunks on the first question that needs it."""
        if self._places is None:
            self._places = IndexPlaces.of((chunk.doc_id, f"{chunk.section}\n{chunk.text}")
                                          for chunk, _ in self.retriever.docstore.iter_chunks())
        return self._places

    def warm(self) -> None:
        """Build now what the first questions would otherwise build (the places the index names, the catalog's
        answers, the typo correctors of both languages: about 1.5 s), as a server does once it is up."""
        _ = self.places, self.catalog_answers
        for language in self.retriever.lexicon.words if self.retriever.lexicon else ():
            self.retriever.typos(language)

    # -- public API --------------------------------------------------------------------------
    def ask(self, question: str, history: list[Turn] | None = None, filters: Filters | None = None,
            id: str | None = None, on_sentence=None) -> Answer:
        started = time.perf_counter()
        language = self.settings.app.language
        cleaned, problem = self._clean(question)
        chat = None if problem else small_talk_language(cleaned)
        if problem or chat:
            from indexer.language import detect_language

            lang = chat or detect_language(cleaned or "", language)
            return Answer(question=question, language=lang, answer=message(problem or "small_talk", lang),
                          abstained=True, citations=[], passages=[], backend=self.composer.name, id=id,
                          timings_ms={"retrieve": 0.0, "compose": 0.0, "total": 0.0}, notes=[problem or "small_talk"])
        cleaned = without_formulas(cleaned)
        # a greeting or a thanks is no turn a follow-up goes on from
        history = [turn for turn in history or [] if not small_talk_language(turn.question)]
        cleaned = self.retriever.corrected(cleaned)
        query = understand(cleaned, history, self.catalog, language,
                           rewrite=getattr(self.composer, "rewrite_follow_up", None),
                           similar=self.retriever.word_similarity)
        if beyond := self.catalog_answers.out_of_range(query.resolved, query.language):
            return self._out_of_range(question, query, beyond, id, started)
        t0 = time.perf_counter()
        parts = [self._part(q, filters) for q in part_queries(query, self.catalog)]
        retrieve_ms = (time.perf_counter() - t0) * 1000
        t0 = time.perf_counter()
        passages = list(merge_passages([p.result.passages for p in parts]))
        covered = [p for p in parts if p.decision.answerable]
        if any(p.listed for p in covered):  # the item asked for answers the turn, not its search on its own words
            covered = [p for p in covered if p.listed]
        # a question searched twice (a follow-up, on its own words and in context) is covered when either is
        asked = list(dict.fromkeys(p.query.question for p in parts))
        uncovered = [q for q in asked if not any(p.decision.answerable for p in covered if p.query.question == q)]
        unlisted = sorted({p.unlisted for p in parts if p.unlisted is not None})
        draft = self._draft(query, covered, passages, on_sentence) if covered else Draft()
        if draft.sentences:
            # a sentence may come from a passage's neighbour: its chunk joins the contexts, after the ranked ones
            shown = {p.chunk.id for p in passages}
            for s in draft.sentences:
                if s.chunk.id not in shown:
                    shown.add(s.chunk.id)
                    passages.append(Passage(s.chunk, 0.0))
            # the best evidence of a part judged uncovered may still be quoted for another part: named, not denied
            leads = {q: [p.ranked[0] for p in parts if p.query.question == q and p.ranked] for q in uncovered}
            text, citations = self._render(query, draft.sentences, uncovered, unlisted, leads)
            # the passage the answer leads with comes first among the sources, and is what a follow-up leans on
            # (`turn_of`); the others keep their order (dev: evidence first 0.602 → 0.623, recall@5 unchanged; all
            # the cited passages first put uncited evidence past the fifth: recall@5 0.891 → 0.878)
            if citations:
                passages.sort(key=lambda p: p.chunk.id != citations[0].chunk_id)
        else:
            absent = [n for p in parts for n in reference_names(p.result.absent, query.language, self.catalog)]
            text, citations = self._abstain(query, passages, list(dict.fromkeys(absent)), unlisted)
        compose_ms = (time.perf_counter() - t0) * 1000
        notes = [*draft.notes, *(["follow_up_rewritten"] if query.rewritten else [])]
        if any(p.listed for p in covered):
            notes.append("answered_from_list")
        elif any(p.catalog for p in covered):
            notes.append("answered_from_catalog")
        if unlisted:
            notes.append("actions_unlisted")
        if len(asked) > 1:
            notes.append(f"parts_answered:{len(asked) - len(uncovered)}/{len(asked)}")
        return Answer(
            question=question, language=query.language, answer=text, abstained=not draft.sentences,
            citations=citations, passages=passages, backend=self.composer.name, id=id,
            timings_ms={"retrieve": retrieve_ms, "compose": compose_ms,
                        "total": (time.perf_counter() - started) * 1000},
            resolved_question=query.resolved, dropped_sentences=draft.dropped_sentences,
            dropped_citations=draft.dropped_citations, notes=notes,
            answerability=[round(p.decision.probability, 3) for p in parts],
        )

    def _part(self, query: Query, filters: Filters | None) -> PartResult:
        """Retrieve, rank the evidence and decide answerability for one (part of a) question."""
        if self.settings.retrieval.placeless_prior < 1.0:
            query = replace(query, placeless_documents=self.places.silent_on(query.question))
        result = self.retriever.retrieve(query, filters)
        if result.translated_words:  # an English question's words in Spanish count as its terms in the evidence too
            query = replace(query, expansions=[*query.expansions, *result.translated_words])
        if query.counted:  # what the figure asked for is of, as the index's main language writes it too
            counted = [*query.counted, *self.retriever.translate_words(query.counted, query.language)]
            query = replace(query, counted=counted, counted_like=self.retriever.similar_words(counted))
        if places := self.places.asked(query.question):
            query = replace(query, places=places)
        listed = self._listed(query)
        facts = [listed] if listed else self.catalog_answers.answer(query.resolved, query.refs, query.language)
        if facts:  # the catalog (or the list) answers it: the unit it cites comes first among the passages
            cited = {f.chunk.id for f in facts}
            top = max((p.score for p in result.passages), default=1.0)
            lead = [Passage(f.chunk, top, reference_match=True) for f in {f.chunk.id: f for f in facts}.values()]
            passages = lead + [p for p in result.passages if p.chunk.id not in cited]
            result = replace(result, passages=passages[: max(len(result.passages), len(lead))])
            # no evidence to rank: the row (the item) answers
            return PartResult(query, result, [], Decision(True, 1.0, {}), facts, listed=listed is not None)
        if (unlisted := self.catalog_answers.unlisted_actions(query.resolved, query.refs)) is not None:
            # what the Compact's actions under that objective are, the corpus cannot say: no passage may stand in
            return PartResult(query, result, [], Decision(False, 0.0, {}), unlisted=unlisted)
        ranked = evidence.rank(query, result.passages)
        return PartResult(query, result, ranked, decide(query, result.passages, ranked, result.max_dense, result.term_idf,
                                                        result.unseen_terms, absent=result.absent))

    def _listed(self, query: Query) -> CatalogFact | None:
        """The item an ordinal follow-up asks for («¿y la tercera?», «¿cuál es el 3?»): of the list the catalog
        answered the previous question with, as it was shown; otherwise quoted from the first list of the chunks
        the previous answer cited, in the order it cited them, or of the chunk right after one (a list often follows
        the sentence that announces it); None when the turn asks for no item, or no such list is there."""
        if query.list_item is None:
            return None
        if (shown := nth(self._shown_list(query.context, query.language), query.list_item)) is not None:
            return shown
        if not query.previous_chunks:
            return None
        cited = self.retriever.docstore.get(query.previous_chunks)
        for chunk in (cited[cid] for cid in query.previous_chunks if cid in cited):
            following = [c for c in self.retriever.docstore.neighbours(chunk.doc_id, chunk.ordinal)
                         if c.ordinal == chunk.ordinal + 1 and c.section_path == chunk.section_path]
            for candidate in (chunk, *following):
                if item := item_at(candidate.text, query.list_item):
                    return CatalogFact(item.quote, candidate, item.quote)
        return None

    def _shown_list(self, context: str, language: str) -> list[CatalogFact]:
        """The list the catalog answered the question a follow-up leans on with («L4.1…L4.5»), as it was shown;
        empty when it answered none. `context` holds that question last, after the earlier follow-ups on it
        («¿y el segundo? cuál es el 3 cuáles son los lineamientos del eje 4»): its longest tail the catalog answers
        with a list."""
        words = context.split()
        for start in range(len(words)):
            tail = " ".join(words[start:])
            if len(shown := self.catalog_answers.answer(tail, tag_question(tail, self.catalog), language)) > 1:
                return shown
        return []

    def _draft(self, query: Query, covered: list[PartResult], passages: list[Passage], on_sentence) -> Draft:
        """The answer's sentences: each covered part's evidence (extractive), or the model's answer over the
        passages of the covered parts; `on_sentence` gets each one once it is final."""
        from_catalog = [DraftSentence(text=f.text, chunk=f.chunk, quote=f.quote, about=f.about)
                        for p in covered for f in p.catalog]
        rest = [p for p in covered if not p.catalog]
        if rest and not isinstance(self.composer, ExtractiveComposer):
            # the model answers the parts the catalog does not, after the catalog's sentences; it streams its own
            for sentence in from_catalog:
                if on_sentence:
                    on_sentence(sentence)
            draft = self.composer.compose(query, merge_passages([p.result.passages for p in rest]),
                                          on_sentence=on_sentence)
            draft.sentences[:0] = from_catalog
            return draft
        drafts = [Draft(sentences=from_catalog, best_support=1.0)] if from_catalog else []
        drafts += [self.composer.from_ranked(p.query, p.result.passages, p.ranked) for p in rest]
        draft, seen, sentences = drafts[0], set(), []
        for sentence in (s for d in drafts for s in d.sentences):  # each part's sentences, once each
            if (sentence.chunk.id, sentence.quote) not in seen:
                seen.add((sentence.chunk.id, sentence.quote))
                sentences.append(sentence)
        draft.sentences = sentences
        for sentence in draft.sentences:
            if on_sentence:
                on_sentence(sentence)
        return draft

    def supported_sentences(self, question: str, filters: Filters | None = None, max_sentences: int | None = None,
                            require_answerable: bool = True) -> list[tuple[str, Citation]]:
        """Cited sentences answering a question, each with its citation (numbered 0: callers renumber);
        empty when the corpus does not answer it (unless the caller checks relevance itself).
        Used by briefing notes and onboarding."""
        cleaned, problem = self._clean(question)
        if problem:
            return []
        query = understand(cleaned, [], self.catalog, self.settings.app.language)
        part = self._part(query, filters)
        if require_answerable and not part.decision.answerable:
            return []
        draft = self._draft(query, [part], part.result.passages, None)
        sentences = draft.sentences[: max_sentences or len(draft.sentences)]
        return [(s.text, make_citation(0, s.chunk, s.quote, self.catalog, self.documents.get(s.chunk.doc_id),
                                       query.language)) for s in sentences]

    def stream(self, question: str, history: list[Turn] | None = None,
               filters: Filters | None = None) -> Iterator[str | Answer]:
        """Yield checked sentences as they are ready, then the final `Answer`."""
        events: queue.Queue = queue.Queue()
        outcome: dict = {}

        def work():
            try:
                outcome["answer"] = self.ask(question, history, filters, on_sentence=lambda s: events.put(s.text))
            except Exception as exc:  # surfaced to the caller below
                outcome["error"] = exc
            finally:
                events.put(None)

        threading.Thread(target=work, daemon=True).start()
        while (item := events.get()) is not None:
            yield item
        if "error" in outcome:
            raise outcome["error"]
        yield outcome["answer"]

    def turn_of(self, answer: Answer) -> Turn:
        """What a follow-up may lean on after this answer (assistant.query.remembered_turn)."""
        lead = answer.passages[0].chunk if answer.passages and not answer.abstained else None
        cited = [] if answer.abstained else list(dict.fromkeys(c.chunk_id for c in answer.citations))
        return remembered_turn(answer.question, answer.resolved_question or answer.question, answer.answer,
                               answer.language, self.catalog, lead, cited)

    # -- steps -------------------------------------------------------------------------------
    @staticmethod
    def _clean(question: str) -> tuple[str, str | None]:
        text = (question or "").strip()
        if not text:
            return "", "empty_question"
        text = text[:MAX_QUESTION_CHARS]
        if not re.search(r"[A-Za-zÁÉÍÓÚáéíóúÑñ0-9]{2,}", text):
            return text, "no_words"
        return text, None

    def _render(self, query: Query, sentences: list[DraftSentence], uncovered: list[str],
                unlisted: list[int] | None = None,
                leads: dict[str, list[evidence.Candidate]] | None = None) -> tuple[str, list[Citation]]:
        """The answer as the user reads it: the sentence that answers first, each with its [n]; the parts of the
        question the corpus does not cover, named (and, for the actions of an objective the corpus's Compact does
        not list, why; for a part whose best evidence, `leads`, the answer quotes anyway for another part, which
        source that is: the answer never denies what it quotes); a warning when cited passages give different
        figures."""
        numbers: dict[tuple[str, str], int] = {}
        citations: list[Citation] = []
        parts: list[str] = []
        for sentence in sentences:
            key = (sentence.chunk.id, sentence.quote)
            if key not in numbers:
                numbers[key] = len(citations) + 1
                citations.append(make_citation(numbers[key], sentence.chunk, sentence.quote, self.catalog,
                                               self.documents.get(sentence.chunk.doc_id), query.language,
                                               about=sentence.about))
            parts.append(f"{sentence.text} [{numbers[key]}]")
        differ = differing_figures([(numbers[(s.chunk.id, s.quote)], s.quote) for s in sentences])
        if differ:
            parts.append(message("sources_differ", query.language).format(
                first=differ[0], second=differ[1]))
        for part in uncovered:
            quoted = sorted({numbers[(s.chunk.id, s.quote)] for s in sentences for lead in (leads or {}).get(part, [])
                             if s.chunk.id == lead.chunk.id and (lead.text in s.quote or s.quote in lead.text)})
            if quoted:  # no [n]: a frame line is not a claim
                parts.append(message("part_nearest", query.language).format(
                    part=part.strip(" ¿?"), numbers=", ".join(map(str, quoted))))
            else:
                parts.append(message("part_not_covered", query.language).format(part=part.strip(" ¿?")))
        parts += [message("actions_unlisted", query.language).format(objective=n) for n in unlisted or []]
        other = [c.n for c in citations if self._quotes_other_language(query, c, sentences)]
        if other:  # quotes stay verbatim; the frame says which of them are in the other language
            parts.append(message("quoted_in_other_language", query.language).format(
                numbers=", ".join(str(n) for n in other)))  # no [n]: a frame line is not a claim
        return "\n\n".join(parts), citations

    def _out_of_range(self, question: str, query: Query, beyond: tuple[str, int, CatalogFact], id: str | None,
                      started: float) -> Answer:
        """A refusal that says why: the question names an objective, eje or área beyond the catalog's count; the
        sentence that states the count is cited."""
        reference, count, fact = beyond
        cited, citations = self._render(query, [DraftSentence(text=fact.text, chunk=fact.chunk, quote=fact.quote)], [])
        text = message("reference_out_of_range", query.language).format(reference=reference, count=count)
        text += f"\n\n{cited}"
        total = (time.perf_counter() - started) * 1000
        return Answer(question=question, language=query.language, answer=text, abstained=True, citations=citations,
                      passages=[Passage(fact.chunk, 1.0)], backend=self.composer.name, id=id,
                      timings_ms={"retrieve": 0.0, "compose": 0.0, "total": total}, resolved_question=query.resolved,
                      notes=["reference_out_of_range"])

    def _quotes_other_language(self, query: Query, citation: Citation, sentences: list[DraftSentence]) -> bool:
        """A citation that quotes verbatim a passage in another language than the answer's: a Spanish document in
        an English answer, the (English) Compact in a Spanish one; the quote's own words decide, the document's
        language breaking a tie (the thesis's English abstract is no Spanish quote). Model prose is not a quote."""
        document = self.documents.get(citation.doc_id)
        if not document or document.language not in {"es", "en"}:
            return False
        quotes = [s.quote for s in sentences if s.chunk.id == citation.chunk_id and s.text.endswith(s.quote)]
        return any(detect_language(quote, document.language) != query.language for quote in quotes)

    def _abstain(self, query: Query, passages: list[Passage], absent: list[str] | None = None,
                 unlisted: list[int] | None = None) -> tuple[str, list[Citation]]:
        """The refusal, naming what the question asks about that no passage of the corpus is about (`absent`; the
        objectives whose actions the corpus's text of the Compact does not list, `unlisted`), and the nearest
        passages, in case they help."""
        citations = []
        for passage in passages[:3]:
            chunk = passage.chunk
            first = next((ln for ln in chunk.text.split("\n") if ln.strip()), chunk.text)
            quote = first[:300]
            citations.append(make_citation(len(citations) + 1, chunk, quote, self.catalog,
                                           self.documents.get(chunk.doc_id), query.language))
        text = message("abstain", query.language)
        if absent:
            text += " " + message("reference_absent", query.language).format(references=", ".join(absent))
        for number in unlisted or []:
            text += " " + message("actions_unlisted", query.language).format(objective=number)
        if citations:
            text += "\n\n" + message("nearest_sources", query.language) + " " + ", ".join(
                f"[{c.n}] {c.label}" for c in citations)
        return text, citations

    def add_documents(self, files: list[Path], progress=None) -> IndexReport:
        """Copy uploaded files into the corpus (safe names, allowed types only), index them, reload."""
        from indexer.corpus import slugify
        from indexer.loaders import SUPPORTED_HINT, SUPPORTED_SUFFIXES
        from indexer.pipeline import run_index
        from indexer.types import FileProblem

        uploads = self.settings.index.uploads_dir
        uploads.mkdir(parents=True, exist_ok=True)
        refused: list[FileProblem] = []
        limit = self.settings.app.max_upload_mb * 1024 * 1024
        for source in files:
            source = Path(source)
            suffix = source.suffix.lower()
            if suffix not in SUPPORTED_SUFFIXES:
                refused.append(FileProblem(source.name, f"tipo no admitido ({suffix or 'sin extensión'})",
                                           SUPPORTED_HINT))
                continue
            if source.stat().st_size > limit:
                refused.append(FileProblem(source.name, f"supera el límite de {self.settings.app.max_upload_mb} MB",
                                           "divida el documento"))
                continue
            target = uploads / f"{slugify(source.stem)[:80]}{suffix}"
            shutil.copyfile(source, target)
        report = run_index(self.settings.index, progress=False, log=progress or (lambda line: None))
        report.problems[:0] = refused
        self.reload()
        return report

    def reload(self) -> None:
        """Pick up a re-indexed data folder (documents, lexical index)."""
        self.retriever.close()
        self.retriever = share_safely(Retriever(self.settings))
        self.catalog = self.retriever.catalog
        self.documents = self.retriever.docstore.documents()
        self._catalog_answers = None
        self._places = None

    def close(self) -> None:
        self.retriever.close()
