"""Evaluation metrics: pure functions over `ask --json` results (DESIGN.md) and gold questions.

- Evidence recall@k and MRR: a gold evidence span is found in a context when its normalised text
  (accent-folded, case-folded, whitespace-collapsed, typographic quotes unified) is a substring of the
  context's; or when its first and last six words both occur in that context; or when the span straddles
  the context's edge (at least half of its words, and at least six, end or begin the context).
- Citation precision and recall in the manner of ALCE (Gao et al., 2023): each answer sentence with its
  [n] markers → the WHOLE text of each cited chunk; a sentence is supported when one of its citations
  supports it, or all of them together do; a citation is precise when it supports the sentence alone, or
  when the sentence is supported jointly and no longer is without it. Support is `evals.judge.SupportJudge`,
  independent of the composers' own guard.
- Key facts: counted in the answer text as the user reads it (not in the quotes behind its citations).
- Lead: whether the sentence an answer leads with (its first citation's quote) is gold evidence — holds a gold
  span or is most of one (`is_evidence`, also the label the evidence ranker is fitted to).
- Language: judged on the answer's own prose — its framing and any sentence that is not a verbatim quote of
  the chunk it cites; quotes in the other language are allowed and counted apart.
- Multi-part questions: each answerable part must carry its key facts; each part the corpus does not cover
  should be named as not covered (a sentence saying the corpus does not give it, about that part).
- Quotes verbatim, abstention precision/recall, false refusals, latency percentiles.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from assistant.grounding import parse_markers, split_answer_sentences, strip_markers
from assistant.text import _NUMBER, normalise_number
from evals.judge import SupportJudge, content_words
from indexer.tagging import fold

KS = (1, 3, 5, 10)
EDGE_WORDS = 6

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


def is_evidence(unit: str, spans: Sequence[str]) -> bool:
    """Whether a unit (a sentence, a table row, a quote) is gold evidence: it holds a gold span, or is most of one
    (a span may run over two sentences)."""
    def words_of(text: str) -> str:
        return " ".join(re.findall(r"\w+", fold(text)))

    u = words_of(unit)
    words = set(u.split())
    for span in spans:
        s = words_of(span)
        if not s:
            continue
        if s in u or (len(u) > 40 and u in s):
            return True
        span_words = set(s.split())
        if span_words and len(words & span_words) / len(span_words | words) >= 0.6:
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
    of `boilerplate`), a label line (no marker, ends with a colon, a cited line after it), sentences that are
    boilerplate (the abstention message), lines of a "nearest sources" list, a line with no word at all
    ("5. [1]"). A piece with no word ("7.", "a)") joins its neighbour. A
    sentence without markers takes those of the next cited sentence in its paragraph (a composer that cites
    once per quoted unit); one after the last marker of its paragraph stays uncited."""
    skip = {normalise_text(b) for b in boilerplate if b.strip()}
    lines = [ln.strip() for ln in answer.split("\n") if ln.strip()]
    if lines and not parse_markers(lines[0]) and (lines[0].rstrip().endswith(":")
                                                  or normalise_text(lines[0]) in skip):
        lines = lines[1:]
    # a label line before a cited one («Objetivo 2:» over «En este objetivo destaca… [1]»): it says what the quote
    # below is about, as its citation's section does, and states nothing of its own
    lines = [ln for n, ln in enumerate(lines) if not (ln.endswith(":") and not parse_markers(ln)
                                                      and n + 1 < len(lines) and parse_markers(lines[n + 1]))]
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


def citation_scores(claims: Sequence[Claim], chunks: dict[int, str], judge: SupportJudge) -> CitationScores:
    """ALCE-style citation recall (sentences backed by what they cite) and precision (citations that help),
    each citation standing for the whole text of the chunk it names (`chunks`: marker → chunk text)."""
    out = CitationScores()
    for claim in claims:
        cited = list(dict.fromkeys(claim.markers))
        valid = [n for n in cited if n in chunks]
        alone = {n: judge.supports(claim.text, chunks[n]) for n in valid}
        joint_ok = any(alone.values()) or (len(valid) > 1 and judge.joint(claim.text, [chunks[n] for n in valid]))
        precise = 0
        for n in valid:
            if alone[n]:
                precise += 1
            elif joint_ok and len(valid) > 1 and not any(alone.values()):
                precise += int(not judge.joint(claim.text, [chunks[m] for m in valid if m != n]))
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


def key_facts_included(facts: Sequence[str], answer: str) -> list[bool]:
    """For each key fact, whether the answer text, as rendered for the user, states it."""
    return [fact_in(fact, answer) for fact in facts]


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


_ES_WORDS = set("el la los las de del que y en un una por para con no se su sus al lo como más es son fue "
                "está hay sobre según entre también este esta estos estas fuentes contiene pregunta".split())
_EN_WORDS = set("the of and to in is are was were what which who how where when does did do for with on by "
                "about from an its their has have this that these according passages question contain".split())


def prose_language(text: str) -> str | None:
    """"es" or "en" from function words (None: too few to tell, e.g. a name or a number alone)."""
    words = re.findall(r"[a-záéíóúñü]+", text.lower())
    es, en = sum(w in _ES_WORDS for w in words), sum(w in _EN_WORDS for w in words)
    if max(es, en) < 2 or es == en:
        return None
    return "es" if es > en else "en"


@dataclass
class LanguageVerdict:
    ok: bool | None  # None: no prose to judge
    prose: list[str]
    prose_wrong: list[str]
    quotes: int
    quotes_other_language: int


_SOURCE_LIST = re.compile(r"\[\d{1,2}\][^\[\n]*")


def answer_language(expected: str, answer: str, claims: Sequence[Claim], chunks: dict[int, str]) -> LanguageVerdict:
    """The answer's own prose must be in `expected` (the question's language): its framing (the lines that
    are not claims: intro, abstention message) and the claims that are not verbatim quotes of a chunk they
    cite. Verbatim quotes may be in the passage's language: counted apart."""
    from evals.judge import comparable

    quoted = [c for c in claims if any(n in chunks and comparable(c.text).rstrip(" .;:") in comparable(chunks[n])
                                       for n in c.markers)]
    framing = []
    for line in (ln.strip() for ln in answer.split("\n") if ln.strip()):
        if claims and parse_markers(line):
            continue  # a cited line: its sentences are the claims
        # What is left of a list of sources ("[1] label, [2] label") is framing.
        framing += [s for s in split_answer_sentences(strip_markers(_SOURCE_LIST.sub(" ", line))) if s]
    prose = framing + [c.text for c in claims if c not in quoted]
    judged = [(p, prose_language(p)) for p in prose]
    wrong = [p for p, lang in judged if lang is not None and lang != expected]
    decided = [lang for _, lang in judged if lang is not None]
    return LanguageVerdict(ok=(not wrong) if decided else None, prose=prose, prose_wrong=wrong, quotes=len(quoted),
                           quotes_other_language=sum(prose_language(c.text) not in {None, expected} for c in quoted))


# --- multi-part questions, quotes ------------------------------------------------------------------

_NOT_COVERED = re.compile(
    r"(?i)\b(no (se )?(indica|precisa|consta|dice|menciona|contiene|especifica|señala|informa|recoge|da|aporta|"
    r"detalla|incluye|registra|responde|cubre|trata)|no hay (datos|información)|sin (datos|información)|"
    r"(does|do) not (say|state|mention|contain|give|specify|indicate|include|report|answer|cover)|"
    r"not (stated|covered|given|specified|mentioned|answered)|no (data|information))")


def part_named_as_not_covered(part_question: str, answer: str) -> bool:
    """Whether the answer has a sentence of its own (not a cited quote: a table cell «No señala» is the source
    speaking) saying the corpus does not give something, about this part (sharing a content word with the part's
    question)."""
    words = content_words(part_question)
    sentences = [s for line in answer.split("\n") for s in split_answer_sentences(line)]
    return any(not parse_markers(s) and _NOT_COVERED.search(s) and words & content_words(s) for s in sentences)


def parts_scores(parts: Sequence[dict], answer: str, abstained: bool) -> list[dict]:
    """One verdict per part: an answerable part is `right` when the answer states all its key facts; a part the
    corpus does not cover is `right` when the answer names it as not covered."""
    out = []
    for part in parts:
        if part.get("answerable", True):
            right = not abstained and all(key_facts_included(part.get("key_facts", []), answer))
        else:
            right = part_named_as_not_covered(part["question"], answer)
        out.append({"question": part["question"], "answerable": part.get("answerable", True), "right": right})
    return out


def quotes_verbatim(citations: Sequence[dict], chunk_texts: dict[str, str]) -> list[bool]:
    """For each citation, whether its quote occurs word for word in the text of the chunk it names (line breaks
    count as spaces: a reader cannot see them)."""
    out = []
    for citation in citations:
        text = chunk_texts.get(citation["chunk_id"])
        quote = " ".join((citation.get("quote") or "").split())
        out.append(bool(quote) and text is not None and quote in " ".join(text.split()))
    return out


def percentile(values: Sequence[float], q: float) -> float | None:
    return float(np.percentile(np.asarray(values, dtype=float), q)) if len(values) else None


def mean(values: Iterable[float | None]) -> float | None:
    kept = [v for v in values if v is not None]
    return sum(kept) / len(kept) if kept else None
