"""The one Python API of the product: `Assistant.ask` (and its streaming twin), used by the CLI and the app.

Flow: understand the question (language, references, follow-up) → retrieve (hybrid) → compose →
check grounding → decide whether to abstain → cite.
"""

from __future__ import annotations

import queue
import re
import shutil
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path

from assistant.citations import make_citation
from assistant.composers import DraftSentence, get_composer
from assistant.concurrency import share_safely
from assistant.grounding import states_expected_fact
from assistant.prompts import message
from assistant.query import Query, understand
from assistant.retrieval import RetrievalResult, Retriever
from assistant.settings import Settings, load_settings
from assistant.types import Answer, Citation, Filters, Passage, Turn
from indexer.pipeline import IndexReport
from indexer.tagging import tag_text
from indexer.types import References

MAX_QUESTION_CHARS = 2000


class Assistant:
    def __init__(self, settings: Settings | None = None):
        self.settings = settings or load_settings()
        self.retriever = share_safely(Retriever(self.settings))
        self.catalog = self.retriever.catalog
        self.composer = get_composer(self.settings)
        if hasattr(self.composer, "set_embedder"):  # model-backed composers check support across languages
            self.composer.set_embedder(lambda text: self.retriever.embed_query(text))
        self.documents = self.retriever.docstore.documents()

    # -- public API --------------------------------------------------------------------------
    def ask(self, question: str, history: list[Turn] | None = None, filters: Filters | None = None,
            id: str | None = None, on_sentence=None) -> Answer:
        started = time.perf_counter()
        language = self.settings.app.language
        cleaned, problem = self._clean(question)
        if problem:
            from assistant.language import detect_language

            lang = detect_language(cleaned or "", language)
            return Answer(question=question, language=lang, answer=message(problem, lang), abstained=True,
                          citations=[], passages=[], backend=self.composer.name, id=id,
                          timings_ms={"retrieve": 0.0, "compose": 0.0, "total": 0.0}, notes=[problem])
        query = understand(cleaned, history or [], self.catalog, language,
                           rewrite=getattr(self.composer, "rewrite_follow_up", None))
        t0 = time.perf_counter()
        result = self.retriever.retrieve(query, filters)
        retrieve_ms = (time.perf_counter() - t0) * 1000
        t0 = time.perf_counter()
        draft = self.composer.compose(query, result.passages, on_sentence=on_sentence)
        answered = self._answerable(query, result, draft) and bool(draft.sentences)
        if answered:
            text, citations = self._render(query, draft.sentences, draft.intro)
        else:
            text, citations = self._abstain(query, result.passages)
        compose_ms = (time.perf_counter() - t0) * 1000
        return Answer(
            question=question, language=query.language, answer=text, abstained=not answered,
            citations=citations, passages=result.passages, backend=self.composer.name, id=id,
            timings_ms={"retrieve": retrieve_ms, "compose": compose_ms,
                        "total": (time.perf_counter() - started) * 1000},
            resolved_question=query.resolved, dropped_sentences=draft.dropped_sentences,
            dropped_citations=draft.dropped_citations,
            notes=[*draft.notes, *(["follow_up_rewritten"] if query.rewritten else [])],
        )

    def supported_sentences(self, question: str, filters: Filters | None = None, max_sentences: int | None = None,
                            require_answerable: bool = True) -> list[tuple[str, Citation]]:
        """Cited sentences answering a question, each with its citation (numbered 0: callers renumber);
        empty when the corpus does not answer it (unless the caller checks relevance itself).
        Used by briefing notes and onboarding."""
        cleaned, problem = self._clean(question)
        if problem:
            return []
        query = understand(cleaned, [], self.catalog, self.settings.app.language)
        result = self.retriever.retrieve(query, filters)
        draft = self.composer.compose(query, result.passages)
        if not draft.sentences or (require_answerable and not self._answerable(query, result, draft)):
            return []
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
        """What a follow-up may lean on: the references the question named, or else those of the passage
        that answered it, when that passage is about one or two specific things."""
        resolved = answer.resolved_question or answer.question
        refs = tag_text(resolved, self.catalog)
        if refs.is_empty() and answer.passages and not answer.abstained:
            top = answer.passages[0].chunk.refs
            if 0 < len(top.pmm) <= 2 or 0 < len(top.pnm_lineamientos) <= 2:
                refs = References(pmm=top.pmm if len(top.pmm) <= 2 else [],
                                  pnm_lineamientos=top.pnm_lineamientos if len(top.pnm_lineamientos) <= 2 else [])
        return Turn(question=answer.question, resolved_question=resolved, answer=answer.answer, refs=asdict(refs),
                    language=answer.language)

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

    def _answerable(self, query: Query, result: RetrievalResult, draft) -> bool:
        """Calibrated on the gold set (evals/): retrieval strength and coverage of the question's terms."""
        cfg = self.settings.answer
        if not result.passages or not draft.sentences:
            return False
        if not states_expected_fact(query.expects, query.resolved, " ".join(s.text for s in draft.sentences)):
            return False
        if result.reference_hits and any(p.reference_match for p in result.passages[:3]):
            return True
        if self._missing_specifics(query, result.passages):
            return False
        coverage = draft.best_support
        strength = result.max_dense
        if query.language == "en":
            return coverage >= cfg.abstain_threshold and strength >= 0.80
        return coverage >= cfg.abstain_threshold and strength >= 0.78

    @staticmethod
    def _missing_specifics(query: Query, passages: list[Passage]) -> bool:
        """A year, a number or a proper name of the question that no retrieved passage mentions."""
        from assistant.grounding import names_in, numbers_in
        from indexer.tagging import fold

        text = " ".join(p.chunk.text for p in passages[:8])
        text_numbers = numbers_in(text)
        folded = fold(text)
        question = re.sub(r"(?i)\b(objetivo|objective|tabla|table|lineamiento|eje|conclusi[oó]n|recomendaci[oó]n|"
                          r"área temática|area)\s+\d+", "", query.resolved)
        if any(n not in text_numbers for n in numbers_in(question) if len(n) >= 2):
            return True
        return any(name not in folded for name in names_in(question))

    def _render(self, query: Query, sentences: list[DraftSentence], intro: str) -> tuple[str, list[Citation]]:
        numbers: dict[tuple[str, str], int] = {}
        citations: list[Citation] = []
        parts: list[str] = []
        for sentence in sentences:
            key = (sentence.chunk.id, sentence.quote)
            if key not in numbers:
                numbers[key] = len(citations) + 1
                citations.append(make_citation(numbers[key], sentence.chunk, sentence.quote, self.catalog,
                                               self.documents.get(sentence.chunk.doc_id), query.language))
            parts.append(f"{sentence.text} [{numbers[key]}]")
        header = intro or message("answer_intro", query.language)
        return header + "\n\n" + "\n\n".join(parts), citations

    def _abstain(self, query: Query, passages: list[Passage]) -> tuple[str, list[Citation]]:
        citations = []
        for passage in passages[:3]:
            chunk = passage.chunk
            first = next((ln for ln in chunk.text.split("\n") if ln.strip()), chunk.text)
            quote = first[:300]
            citations.append(make_citation(len(citations) + 1, chunk, quote, self.catalog,
                                           self.documents.get(chunk.doc_id), query.language))
        text = message("abstain", query.language)
        if citations:
            text += "\n\n" + message("nearest_sources", query.language) + " " + ", ".join(
                f"[{c.n}] {c.label}" for c in citations)
        return text, citations

    def add_documents(self, files: list[Path], progress=None) -> IndexReport:
        """Copy uploaded files into the corpus (safe names, allowed types only), index them, reload."""
        from indexer.corpus import slugify
        from indexer.loaders import SUPPORTED_SUFFIXES
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
                                           "use PDF, .txt o .md"))
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

    def close(self) -> None:
        self.retriever.close()
