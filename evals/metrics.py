"""Evaluation metrics: pure functions over `ask --json` results (DESIGN.md) and gold questions.

- Evidence recall@k and MRR: a gold evidence span is found in a context when its normalised text
  (accent-folded, case-folded, whitespace-collapsed, typographic quotes unified) is a substring of the
  context's; or when its first and last six words both occur in that context; or when the span straddles
  the context's edge (at least half of its words, and at least six, end or begin the context).
- Citation precision and recall in the manner of ALCE (Gao et al., 2023): each answer sentence with its
  [n] markers → the cited passages (quote + chunk text); a sentence is supported when one of its citations
  supports it, or all of them together do; a citation is precise when it supports the sentence alone, or
  when the sentence is supported jointly and no longer is without it. Support is `grounding.SupportScorer`:
  lexical first, the embedding only when the lexical score falls short.
- Key-fact inclusion, abstention precision/recall, false refusals, language, latency percentiles.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from assistant.grounding import (
    _NUMBER,
    SupportScorer,
    normalise_number,
    parse_markers,
    split_answer_sentences,
    strip_markers,
)
from indexer.tagging import fold

KS = (1, 3, 5, 10)
EDGE_WORDS = 6
DEFAULT_SUPPORT_THRESHOLD = 0.6

_QUOTES = str.maketrans({"“": '"', "”": '"', "«": '"', "»": '"', "‘": "'", "’": "'", "´": "'", "–": "-", "—": "-"})
_WORD = re.compile(r"[^\W\d_]{2,}")
_AFTER_MARKER = re.compile(r"(?<=\])\s+(?=[«“\"(¿¡]?[A-ZÁÉÍÓÚÑ0-9])")


# --- retrieval -------------------------------------------------------------------------------------

def normalise_text(text: str) -> str:
    """Comparison form: accents and case folded, quotes and dashes unified, whitespace collapsed."""
    return " ".join(fold(text.translate(_QUOTES)).split())


def span_in_context(span: str, context: str, normalised: bool = False) -> bool:
    """Whether a gold evidence span is in a retrieved context (see the module docstring)."""
    if not normalised:
        span, context = normalise_text(span), normalise_text(context)
    if not span:
        return False
    if span in context:
        return True
    words = span.split()
    if len(words) < EDGE_WORDS:
        return False
    head, tail = " ".join(words[:EDGE_WORDS]), " ".join(words[-EDGE_WORDS:])
    if head in context and tail in context:
        return True
    least = max(EDGE_WORDS, math.ceil(len(words) / 2))
    for j in range(len(words) - 1, least - 1, -1):
        if context.endswith(" ".join(words[:j])) or context.startswith(" ".join(words[-j:])):
            return True
    return False


def evidence_ranks(spans: Sequence[str], contexts: Sequence[str], max_k: int = max(KS),
                   headings: Sequence[str] | None = None) -> list[int | None]:
    """For each span, the 1-based rank of the first of the top `max_k` contexts holding it (None: not found).
    `headings` (parallel to `contexts`): a context's section path; a span that is a heading of the corpus
    (the chunker keeps headings as metadata, not text) is found in a context filed under it."""
    norm_contexts = [normalise_text(c) for c in contexts[:max_k]]
    norm_headings = [normalise_text(h) for h in (headings or [])[:max_k]]
    norm_headings += [""] * (len(norm_contexts) - len(norm_headings))
    ranks: list[int | None] = []
    for span in spans:
        norm = normalise_text(span)
        ranks.append(next((i + 1 for i, (c, h) in enumerate(zip(norm_contexts, norm_headings, strict=True))
                           if span_in_context(norm, c, True) or (norm and norm in h)), None))
    return ranks


def recall_at_k(ranks: Sequence[int | None], k: int) -> float:
    """Share of a question's evidence spans found in its top-k contexts."""
    if not ranks:
        return 0.0
    return sum(1 for r in ranks if r is not None and r <= k) / len(ranks)


def reciprocal_rank(ranks: Sequence[int | None]) -> float:
    """1 / rank of the first context holding any evidence span (0 when none does)."""
    found = [r for r in ranks if r is not None]
    return 1.0 / min(found) if found else 0.0


# --- answer sentences and citations ----------------------------------------------------------------

@dataclass
class Claim:
    """One answer sentence (markers stripped) and the citation numbers that back it."""

    text: str
    markers: list[int]
    own_markers: bool = True


def answer_claims(answer: str, boilerplate: Iterable[str] = ()) -> list[Claim]:
    """The answer's sentences with their markers. Dropped: an intro line (no marker, ends with a colon, or one
    of `boilerplate`), sentences that are boilerplate (the abstention message), lines of a "nearest sources"
    list, a line with no word at all ("5. [1]"). A piece with no word ("7.", "a)") joins its neighbour. A
    sentence without markers takes those of the next cited sentence in its paragraph (a composer that cites
    once per quoted unit); one after the last marker of its paragraph stays uncited."""
    skip = {normalise_text(b) for b in boilerplate if b.strip()}
    lines = [ln.strip() for ln in answer.split("\n") if ln.strip()]
    if lines and not parse_markers(lines[0]) and (lines[0].rstrip().endswith(":")
                                                  or normalise_text(lines[0]) in skip):
        lines = lines[1:]
    claims: list[Claim] = []
    for line in lines:
        sentences: list[str] = []
        for piece in (s for part in _AFTER_MARKER.split(line) for s in split_answer_sentences(part)):
            if sentences and not _WORD.search(strip_markers(sentences[-1])):
                sentences[-1] = f"{sentences[-1]} {piece}"  # "7." or "a)" opening a list item: not a sentence
            else:
                sentences.append(piece)
        if sentences and not _WORD.search(strip_markers(sentences[-1])):  # a trailing "5." states nothing
            tail = sentences.pop()
            if sentences:
                sentences[-1] = f"{sentences[-1]} {tail}"
        paragraph: list[Claim] = []
        for sentence in sentences:
            markers = parse_markers(sentence)
            text = strip_markers(sentence)
            if not re.search(r"\w", text):  # a marker alone: it belongs to the sentence before
                if paragraph:
                    paragraph[-1].markers += [m for m in markers if m not in paragraph[-1].markers]
                continue
            norm = normalise_text(text)
            if any(norm == b or (len(b) > 30 and norm.startswith(b)) for b in skip):
                continue
            paragraph.append(Claim(text, markers))
        pending: list[Claim] = []
        for claim in paragraph:
            if claim.markers:
                for earlier in pending:
                    earlier.markers, earlier.own_markers = list(claim.markers), False
                pending = []
            else:
                pending.append(claim)
        claims += paragraph
    return claims


@dataclass
class Passage:
    """What a citation points to: its text (quote + chunk) and, when known, the chunk's vector."""

    text: str
    vector: np.ndarray | None = None


class SupportCheck:
    """`grounding.SupportScorer` with a threshold: lexical first; the embedding only when lexical support is
    short of the threshold and no number is missing. Sentence vectors are memoised (each embedded once)."""

    def __init__(self, embed: Callable[[str], np.ndarray] | None = None,
                 threshold: float = DEFAULT_SUPPORT_THRESHOLD):
        self.threshold = threshold
        self.lexical = SupportScorer(None)
        self._vectors: dict[str, np.ndarray] = {}
        self._embed = embed
        self.semantic = SupportScorer(self._cached_embed) if embed is not None else None
        self.embedded = 0

    def _cached_embed(self, text: str) -> np.ndarray:
        vector = self._vectors.get(text)
        if vector is None:
            vector = self._vectors[text] = np.asarray(self._embed(text), dtype=np.float32)
            self.embedded += 1
        return vector

    def score(self, sentence: str, passage: Passage) -> float:
        # Line breaks carry no meaning for support (a name wrapped over two lines is still the name).
        sentence, text = " ".join(sentence.split()), " ".join(passage.text.split())
        lexical = self.lexical.support(sentence, text)
        if lexical.score >= self.threshold or self.semantic is None or lexical.missing_numbers:
            return lexical.score
        return max(lexical.score, self.semantic.support(sentence, text, passage.vector).score)

    def joint(self, sentence: str, passages: Sequence[Passage]) -> float:
        """Support by several passages together (lexical over their concatenation)."""
        if not passages:
            return 0.0
        return self.lexical.support(" ".join(sentence.split()), " ".join(" ".join(p.text.split()) for p in passages)).score

    def supports(self, sentence: str, passage: Passage) -> bool:
        return self.score(sentence, passage) >= self.threshold


@dataclass
class CitationScores:
    sentences: int = 0
    supported: int = 0
    citations: int = 0
    precise: int = 0
    per_sentence: list[dict] = field(default_factory=list)

    @property
    def precision(self) -> float | None:
        return self.precise / self.citations if self.citations else (0.0 if self.sentences else None)

    @property
    def recall(self) -> float | None:
        return self.supported / self.sentences if self.sentences else None

    @property
    def unsupported(self) -> int:
        return self.sentences - self.supported


def citation_scores(claims: Sequence[Claim], passages: dict[int, Passage], check: SupportCheck) -> CitationScores:
    """ALCE-style citation recall (sentences backed by their citations) and precision (citations that help)."""
    out = CitationScores()
    for claim in claims:
        cited = list(dict.fromkeys(claim.markers))
        alone = {n: (n in passages and check.supports(claim.text, passages[n])) for n in cited}
        valid = [n for n in cited if n in passages]
        joint_ok = any(alone.values()) or (
            len(valid) > 1 and check.joint(claim.text, [passages[n] for n in valid]) >= check.threshold)
        precise = 0
        for n in cited:
            if alone[n]:
                precise += 1
            elif joint_ok and n in passages and len(valid) > 1:
                rest = [passages[m] for m in valid if m != n]
                if not any(alone[m] for m in valid if m != n) and check.joint(claim.text, rest) < check.threshold:
                    precise += 1
        out.sentences += 1
        out.supported += int(joint_ok)
        out.citations += len(cited)
        out.precise += precise
        out.per_sentence.append({"sentence": claim.text, "markers": cited, "supported": joint_ok,
                                 "precise_citations": precise})
    return out


# --- key facts, abstention, language, latency ------------------------------------------------------

def normalise_for_facts(text: str) -> str:
    """Facts comparison form: `normalise_text` with every number in `grounding.normalise_number` form
    (1,200 / 1 200 / 1.200 / 1200 compare equal)."""
    text = _NUMBER.sub(lambda m: normalise_number(m.group(0).strip()), strip_markers(text))
    return normalise_text(text)


def fact_in(fact: str, text: str) -> bool:
    """A key fact occurs in a text: a substring (the gold set's facts may be stems, "coheren"), except that a
    number must be a whole number ("14" is found in "O14" but not in "2014" nor in "3,14"; "96" is in "96,5")."""
    needle = normalise_for_facts(fact)
    if not needle:
        return False
    pattern = re.escape(needle)
    if needle[0].isdigit():
        pattern = r"(?<!\d)(?<!\d\.)" + pattern
    if needle[-1].isdigit():
        pattern += r"(?!\d)"  # a decimal's integer part counts: "96" is in "96,5 %"
    return re.search(pattern, normalise_for_facts(text)) is not None


def key_facts_included(facts: Sequence[str], answer: str, quotes: Sequence[str] = ()) -> list[bool]:
    """For each key fact, whether the answer states it, or one of the quotes the answer cites holds it
    (extractive answers quote Spanish passages, also for English questions)."""
    haystacks = [answer, *quotes]
    return [any(fact_in(fact, h) for h in haystacks) for fact in facts]


def abstention_scores(items: Iterable[tuple[bool, bool]]) -> dict:
    """From (answerable, abstained) pairs: abstention precision (abstentions that were right), recall
    (unanswerable questions declined) and the false-refusal rate on answerable questions."""
    tp = fp = fn = answerable = 0
    for is_answerable, abstained in items:
        answerable += is_answerable
        if abstained and not is_answerable:
            tp += 1
        elif abstained:
            fp += 1
        elif not is_answerable:
            fn += 1
    return {
        "abstention_precision": tp / (tp + fp) if tp + fp else None,
        "abstention_recall": tp / (tp + fn) if tp + fn else None,
        "false_refusal_rate": fp / answerable if answerable else None,
        "abstained_unanswerable": tp, "refused_answerable": fp, "answered_unanswerable": fn,
    }


def language_correct(expected: str, declared: str | None, answer_text: str | None = None) -> bool | None:
    """The answer's declared language is the question's; when `answer_text` is given (a composer that writes
    its own prose), the text's detected language must match too. None: the system declares no language."""
    if declared is None:
        return None
    if declared != expected:
        return False
    if answer_text is None:
        return True
    from assistant.language import detect_language

    return detect_language(strip_markers(answer_text), expected) == expected


def percentile(values: Sequence[float], q: float) -> float | None:
    return float(np.percentile(np.asarray(values, dtype=float), q)) if len(values) else None


def mean(values: Iterable[float | None]) -> float | None:
    kept = [v for v in values if v is not None]
    return sum(kept) / len(kept) if kept else None
