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

from assistant.text import content_stems, names_in, numbers_in
from indexer.chunking import NOT_AFTER_ABBREVIATION
from indexer.tagging import fold

_MARKER = re.compile(r"\[(\d{1,2}(?:\s*,\s*\d{1,2})*)\]")
_SENTENCE = re.compile(r"(?<=[.!?])" + NOT_AFTER_ABBREVIATION + r"\s+(?=[«“\"(¿¡]?[A-ZÁÉÍÓÚÑ0-9])")

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


def split_answer_sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE.split(text.strip()) if s.strip()]


def parse_markers(sentence: str) -> list[int]:
    return [int(n) for m in _MARKER.finditer(sentence) for n in m.group(1).split(",")]


def strip_markers(sentence: str) -> str:
    return re.sub(r"\s*" + _MARKER.pattern, "", sentence).strip()
