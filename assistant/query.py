"""Question understanding: language, named references, follow-up resolution, search text.

A follow-up («¿y quién lo implementó?», "what about objective 7?") is resolved against the previous
turn before retrieval: with a language model when one is configured (see composers), otherwise by
carrying over the previous turn's references and wording.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path

from assistant.language import detect_language
from assistant.types import Turn
from indexer.catalog import Catalog
from indexer.tagging import tag_text
from indexer.types import References

_FOLLOW_UP_START = re.compile(
    r"^\s*(¿\s*)?(y|e|and|what about|how about|y qu[eé] (hay|pasa) (de|con)|qu[eé] (hay|pasa) (de|con)|"
    r"tambi[eé]n|also|and what|entonces|then)\b", re.I)
_PRONOUNS = re.compile(r"\b(lo|la|los|las|eso|esto|ello|este|esta|ese|esa|it|that|this|they|them|those|these|"
                       r"dicho|dicha|mismo|misma)\b", re.I)
_DEFINITION = re.compile(r"(?i)\b(qu[eé] (es|son|era)|what (is|are|was)|define|definici[oó]n)\b")
_GLOSSARY = re.compile(r"\b(sigla|siglas|acr[oó]nimo|qu[eé] significa|significado de|stand for|acronym|"
                       r"what does \w+ mean)\b", re.I)


@lru_cache(maxsize=1)
def _lexicon() -> dict[str, str]:
    return json.loads((Path(__file__).parent / "lexicon_en_es.json").read_text(encoding="utf-8"))


@dataclass
class Query:
    question: str
    resolved: str
    language: str
    refs: References
    search_text: str
    is_follow_up: bool = False
    wants_glossary: bool = False
    expansions: list[str] = field(default_factory=list)
    rewritten: bool = False  # the follow-up was resolved by the language model (validated)
    expects: str | None = None  # "date" when the question asks for one (see `expected_answer`)


_EXPECTS_DATE = re.compile(r"(?i)(?<!\w)(cu[aá]ndo|en qu[eé] (fecha|año|mes)|when|what (date|year)|"
                           r"(in )?(which|what) year)\b")


def expected_answer(question: str) -> str | None:
    """What kind of fact the question asks for: "date" (¿cuándo…?, when…?) or None. An answer that gives no
    date beyond those of the question itself does not answer it. (Counts were tried the same way and
    left out: extractive answers to answerable «¿cuántos…?» questions often quote the right passage without
    its number, and the rule refused more of those than it caught unanswerable ones.)"""
    return "date" if _EXPECTS_DATE.search(question) else None


def _is_follow_up(question: str, refs: References) -> bool:
    words = re.findall(r"\w+", question)
    if _FOLLOW_UP_START.match(question):
        return True
    return len(words) <= 7 and bool(_PRONOUNS.search(question)) and refs.is_empty()


def _substitute_refs(previous: str, question_refs: References, previous_refs: References) -> str | None:
    """«what about objective 7?» after a question on objective 14: the previous question, renumbered."""
    if question_refs.pmm and previous_refs.pmm:
        new = str(question_refs.pmm[0])
        return re.sub(r"(?i)\b(objetivo|objective|O)\s*\d{1,2}\b", lambda m: f"{m.group(1)} {new}", previous, count=1)
    if question_refs.pnm_lineamientos and previous_refs.pnm_lineamientos:
        eje, lin = question_refs.pnm_lineamientos[0].split(".")
        return re.sub(r"(?i)lineamiento\s+\d\s+del\s+eje\s+\d", f"lineamiento {lin} del eje {eje}", previous, count=1)
    if question_refs.tables and previous_refs.tables:
        return re.sub(r"(?i)\b(tabla|table)\s+\d+", lambda m: f"{m.group(1)} {question_refs.tables[0]}", previous,
                      count=1)
    if question_refs.findings and previous_refs.findings:
        number = question_refs.findings[0].rsplit("-", 1)[1]
        return re.sub(r"(?i)\b(conclusi[oó]n|recomendaci[oó]n|conclusion|recommendation)\s+\d",
                      lambda m: f"{m.group(1)} {number}", previous, count=1)
    return None


def expansions_for(refs: References, catalog: Catalog, language: str) -> list[str]:
    """Catalog titles of the references a question names: they find passages that only use the title."""
    out: list[str] = []
    for n in refs.pmm[:3]:
        obj = catalog.objectives.get(n)
        if obj:
            out.append(f"Objetivo {n}: {obj.short_es}. {obj.title_es}")
            if language == "en":
                out.append(obj.title_en)
    for code in refs.pnm_lineamientos[:3]:
        lin = catalog.lineamiento(code)
        if lin:
            out.append(f"Lineamiento {lin.number} del Eje temático {lin.eje}: {lin.title_es}")
    for n in refs.pnm_ejes[:2]:
        eje = catalog.ejes.get(n)
        if eje and not refs.pnm_lineamientos:
            out.append(f"Eje temático {n}: {eje.title_es}")
    for n in refs.pmm_areas[:2]:
        if n in catalog.areas:
            out.append(f"Área temática {n}: {catalog.areas[n]}")
    return out


def translate_terms(question: str) -> list[str]:
    """Spanish equivalents of the English content words of a question (for the lexical index)."""
    text = question.lower()
    lexicon = _lexicon()
    found = [es for en, es in lexicon.items() if re.search(rf"\b{re.escape(en)}\b", text)]
    return found


MAX_REWRITE_CHARS = 300
_REWRITE_PREFIX = re.compile(r"(?i)^\W*(pregunta|rewritten question|question|standalone question)[^:?¿]{0,25}:\s*")


def valid_rewrite(rewritten: str | None, question: str, previous: str, catalog: Catalog) -> str | None:
    """A model's standalone version of a follow-up, or None when it cannot be trusted: empty, too long, an
    instruction, about something else, losing the follow-up's own words or a reference it names (or, when it
    names none, all those of the previous question), keeping one the follow-up replaces, or bringing in a
    number the conversation never mentioned."""
    from assistant.grounding import looks_like_instruction, numbers_in

    lines = [ln.strip() for ln in (rewritten or "").strip().split("\n") if ln.strip()]
    if not lines:
        return None
    text = _REWRITE_PREFIX.sub("", lines[0]).strip().strip("«»\"'“”` ").strip()
    if not 8 <= len(text) <= MAX_REWRITE_CHARS or looks_like_instruction(text) or not re.search(r"[^\W\d_]{3,}", text):
        return None
    own, earlier, new = (asdict(tag_text(t, catalog)) for t in (question, previous, text))
    if any(not set(values) <= set(new[key]) for key, values in own.items()):
        return None
    # «what about objective 7?» after objective 14: the new reference replaces the old one of its kind
    if any(values and set(new[key]) & (set(earlier[key]) - set(values)) for key, values in own.items()):
        return None
    if not any(own.values()) and any(earlier.values()) and not any(set(v) & set(new[k]) for k, v in earlier.items()):
        return None
    if numbers_in(text) - numbers_in(f"{question} {previous}"):
        return None
    stems, own_stems = content_stems(text), content_stems(question)
    if own_stems and len(own_stems & stems) < len(own_stems) / 2:  # «¿y quién lo coordina?» must keep «coordina»
        return None
    if not stems & (own_stems | content_stems(previous)):
        return None
    return text


def understand(question: str, history: list[Turn], catalog: Catalog, default_language: str = "es",
               rewrite: Callable[[str, str, str], str] | None = None) -> Query:
    """`rewrite(question, previous_question, language)`, when given (a model-backed composer), resolves a
    follow-up; its output is validated and the rule-based resolution is used whenever it fails."""
    question = question.strip()
    language = detect_language(question, default_language)
    refs = tag_text(question, catalog)
    resolved = question
    follow_up = bool(history) and _is_follow_up(question, refs)
    rewritten = None
    if follow_up and rewrite is not None:
        try:
            rewritten = valid_rewrite(rewrite(question, history[-1].resolved_question, language), question,
                                      history[-1].resolved_question, catalog)
        except RuntimeError:  # the model is unavailable: the rules still resolve the follow-up
            rewritten = None
    if follow_up:
        previous = history[-1]
        previous_refs = References(**previous.refs) if previous.refs else References()
    if rewritten:
        resolved = rewritten
        if refs.is_empty():  # «¿y quién lo implementó?»: still about what the previous turn was about
            refs = previous_refs
        refs = refs.merge(tag_text(rewritten, catalog))
    elif follow_up:
        renumbered = _substitute_refs(previous.resolved_question, refs, previous_refs)
        if renumbered:
            resolved = renumbered
        else:
            resolved = f"{question} ({previous.resolved_question})"
            refs = refs.merge(previous_refs)
        refs = refs.merge(tag_text(resolved, catalog))
    expansions = expansions_for(refs, catalog, language)
    acronyms = [w for w in re.findall(r"\b[A-Z][A-Z0-9]{1,9}\b", resolved) if w in catalog.acronyms]
    expansions += [f"{a}: {catalog.acronyms[a]}" for a in acronyms[:3]]
    if language == "en":
        expansions += translate_terms(resolved)
    search_text = " ".join([resolved, *expansions])
    return Query(question=question, resolved=resolved, language=language, refs=refs, search_text=search_text,
                 is_follow_up=follow_up, expansions=expansions, rewritten=bool(rewritten),
                 expects=expected_answer(resolved),
                 wants_glossary=bool(_GLOSSARY.search(question)) or (bool(acronyms) and bool(_DEFINITION.search(question))))


def content_stems(text: str) -> set[str]:
    """Stemmed, accent-folded content words: the currency of lexical support checks."""
    from indexer.stores import lexical_tokens

    tokens = lexical_tokens([text])
    inverse = {v: k for k, v in tokens.vocab.items()}
    return {inverse[i] for i in tokens.ids[0]} if tokens.ids else set()

