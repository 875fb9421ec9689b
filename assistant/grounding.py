"""Grounding: how well a passage supports a sentence, and the checks applied to a model's answer.

Support is offline and cheap: the sentence's numbers and names must occur in the passage, and its
content must be covered lexically (stemmed, accent-folded) or, across languages, semantically
(embedding similarity). A model's citation markers are parsed; a marker that names no retrieved
passage is dropped; a sentence whose cited passages do not support it is dropped and counted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from assistant.query import content_stems
from indexer.chunking import NOT_AFTER_ABBREVIATION
from indexer.tagging import fold

_NUMBER = re.compile(r"\d+(?:[.,\s]\d{3})*(?:[.,]\d+)?%?")
_NAME = re.compile(r"(?<![\w])([A-ZÁÉÍÓÚÑ]{2,}[A-ZÁÉÍÓÚÑ0-9-]*|[A-ZÁÉÍÓÚÑ][a-záéíóúñ]+(?:\s+[A-ZÁÉÍÓÚÑ][a-záéíóúñ]+)+)")
_MARKER = re.compile(r"\[(\d{1,2}(?:\s*,\s*\d{1,2})*)\]")
_SENTENCE = re.compile(r"(?<=[.!?])" + NOT_AFTER_ABBREVIATION + r"\s+(?=[«“\"(¿¡]?[A-ZÁÉÍÓÚÑ0-9])")
_GENERIC_NAMES = {"el", "la", "los", "las", "según", "according", "the", "en", "in", "por", "asimismo", "además"}


def normalise_number(token: str) -> str:
    """1,200 / 1 200 / 1.200 / 1200 compare equal; a decimal comma and point too."""
    token = token.rstrip("%")
    token = re.sub(r"(?<=\d)[.,\s](?=\d{3}\b)", "", token)
    return token.replace(",", ".")


def numbers_in(text: str) -> set[str]:
    return {normalise_number(m.group(0).strip()) for m in _NUMBER.finditer(text)}


_MONTHS = ("enero|febrero|marzo|abril|mayo|junio|julio|agosto|setiembre|septiembre|octubre|noviembre|diciembre|january|"
           "february|march|april|may|june|july|august|september|october|november|december")
_YEAR = re.compile(r"(?<![\d.,])(?:19|20)\d{2}(?![\d.,]\d)")
_DAY_OF_MONTH = re.compile(rf"(?i)\b\d{{1,2}}\s+(?:de\s+)?(?:{_MONTHS})\b|\b(?:{_MONTHS})\s+\d{{1,2}}\b")


def dates_in(text: str) -> set[str]:
    """The years and days of the month a text states."""
    return set(_YEAR.findall(text)) | {fold(" ".join(d.split())) for d in _DAY_OF_MONTH.findall(text)}


def states_expected_fact(expects: str | None, question: str, text: str) -> bool:
    """Whether `text` gives the kind of fact the question asks for (`query.expected_answer`) beyond the ones
    the question already gives: a year or a date for «¿cuándo…?» / "when…?"."""
    if expects == "date":
        return bool(dates_in(text) - dates_in(question))
    return True


def names_in(text: str) -> set[str]:
    out = set()
    for m in _NAME.finditer(text):
        name = m.group(1)
        if fold(name.split()[0]) in _GENERIC_NAMES:
            continue
        out.add(fold(name))
    return out


@dataclass
class Support:
    score: float
    lexical: float
    semantic: float
    missing_numbers: set[str] = field(default_factory=set)
    missing_names: set[str] = field(default_factory=set)


class SupportScorer:
    """Scores sentence↔passage support; the embedder is optional (lexical-only when absent)."""

    def __init__(self, embed=None):
        self.embed = embed

    def support(self, sentence: str, passage: str, passage_vector: np.ndarray | None = None) -> Support:
        sentence_stems = content_stems(sentence)
        passage_stems = content_stems(passage)
        lexical = len(sentence_stems & passage_stems) / len(sentence_stems) if sentence_stems else 0.0
        missing_numbers = {n for n in numbers_in(sentence) if n not in numbers_in(passage)}
        folded_passage = fold(passage)
        missing_names = {n for n in names_in(sentence) if n not in folded_passage}
        semantic = 0.0
        if self.embed is not None:
            s_vec = self.embed(sentence)
            p_vec = passage_vector if passage_vector is not None else self.embed(passage)
            cosine = float(np.dot(s_vec, p_vec))
            semantic = min(1.0, max(0.0, (cosine - 0.78) / 0.12))
        score = max(lexical, semantic)
        if missing_numbers:
            score = 0.0
        elif missing_names:
            score *= 0.5
        return Support(score, lexical, semantic, missing_numbers, missing_names)


_INSTRUCTION = re.compile(
    r"(?i)\b(ignor[ae]\w*\s+(all\s+|todas\s+)?(las\s+|the\s+)?(previous|prior|above|anteriores|previas)|"
    r"(disregard|olvid[ae])\w*\s+(\w+\s+){0,3}(instructions|instrucciones)|system prompt|prompt del sistema|"
    r"(responde|answer|reply)\s+(únicamente|solamente|only)\b|you are now|ahora eres|act as)")


def looks_like_instruction(text: str) -> bool:
    """Text addressed to a model rather than to a reader (a prompt-injection attempt planted in a document):
    such a sentence is never used as an answer, whatever it says."""
    return bool(_INSTRUCTION.search(text))


def split_answer_sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE.split(text.strip()) if s.strip()]


def parse_markers(sentence: str) -> list[int]:
    return [int(n) for m in _MARKER.finditer(sentence) for n in m.group(1).split(",")]


def strip_markers(sentence: str) -> str:
    return re.sub(r"\s*" + _MARKER.pattern, "", sentence).strip()
