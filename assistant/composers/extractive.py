"""Extractive composer: the answer is made of the passages' own sentences and table rows, each cited.

No model, deterministic, always available. Sentences are scored by how much of the question they
cover (stemmed, accent-folded; English questions through a bilingual lexicon), by the rank of their
passage and by whether their passage carries the reference the question names.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from assistant.composers.base import Draft, DraftSentence
from assistant.grounding import looks_like_instruction
from assistant.query import Query, content_stems
from assistant.settings import Settings
from assistant.types import Passage
from indexer.chunking import split_sentences
from indexer.types import Chunk

_GENERIC = content_stems(
    "qué cuál cuáles cómo quién quiénes dónde cuándo perú peruano pmm pnm pacto mundial política nacional "
    "migratoria migración segura ordenada regular objetivo lineamiento eje tabla tesis según dice hizo "
    "sigla siglas significa significado acrónimo mean stand "
    "what which how who where when does did peru compact objective table thesis say says according")


def units_of(chunk: Chunk) -> list[tuple[str, bool]]:
    """(verbatim unit, is_table_row) candidates of a chunk: sentences, or the rows of a table chunk."""
    if chunk.kind == "table":
        lines = chunk.text.split("\n")
        rows = [ln for ln in lines[2:] if ln.strip() and not ln.startswith("Nota")]
        return [(row, True) for row in rows] or [(lines[0], False)]
    if chunk.kind in {"glossary", "reference"}:
        return [(ln, False) for ln in chunk.text.split("\n") if ln.strip()]
    units = []
    for paragraph in chunk.text.split("\n"):
        units += [(s, False) for s in split_sentences(paragraph) if len(s) > 25]
    return units


def query_terms(query: Query) -> set[str]:
    """Stems a supporting sentence should contain; for English questions, their Spanish equivalents plus
    the numbers and names, since the corpus is mostly Spanish."""
    if query.language == "en":
        from assistant.grounding import names_in, numbers_in

        specifics = " ".join([*numbers_in(query.resolved), *names_in(query.resolved)])
        stems = content_stems(" ".join([*query.expansions, specifics])) - _GENERIC
    else:
        stems = content_stems(" ".join([query.resolved, *query.expansions])) - _GENERIC
    return stems or content_stems(query.resolved)


class ExtractiveComposer:
    name = "extractive"

    def __init__(self, settings: Settings):
        self.settings = settings

    def _score(self, unit: str, terms: set[str], rank: int, passage: Passage) -> float:
        stems = content_stems(unit)
        coverage = len(terms & stems) / len(terms) if terms else 0.0
        return 0.6 * coverage + 0.25 / (rank + 1) + 0.15 * passage.reference_match

    def _whole_findings(self, passages: list[Passage], on_sentence) -> Draft:
        """A question that names a conclusion or recommendation gets it whole, in its own order."""
        draft = Draft(best_support=1.0)
        chunks = sorted({p.chunk.id: p.chunk for p in passages}.values(), key=lambda c: c.ordinal)
        for chunk in chunks:
            for unit, _ in units_of(chunk)[: self.settings.answer.max_sentences + 3]:
                sentence = DraftSentence(text=unit, chunk=chunk, quote=unit)
                draft.sentences.append(sentence)
                if on_sentence:
                    on_sentence(sentence)
        return draft

    def compose(self, query: Query, passages: list[Passage],
                on_sentence: Callable[[DraftSentence], None] | None = None) -> Draft:
        terms = query_terms(query)
        named = [p for p in passages[:6] if p.reference_match and p.chunk.kind == "finding" and query.refs.findings]
        if named:
            return self._whole_findings(named, on_sentence)
        candidates: list[tuple[float, float, int, int, str, Chunk, bool]] = []
        for rank, passage in enumerate(passages[:6]):
            for chunk in [passage.chunk, *passage.neighbours]:
                for position, (unit, is_row) in enumerate(units_of(chunk)):
                    if looks_like_instruction(unit):
                        continue
                    stems = content_stems(unit)
                    coverage = len(terms & stems) / len(terms) if terms else 0.0
                    score = self._score(unit, terms, rank, passage)
                    if chunk is not passage.chunk:
                        score *= 0.8
                    candidates.append((score, coverage, rank, position + 1000 * (chunk.ordinal), unit, chunk, is_row))
        draft = Draft(intro="")
        if not candidates:
            return draft
        candidates.sort(key=lambda c: c[0], reverse=True)
        best = candidates[0][0]
        draft.best_support = max(c[1] for c in candidates[:3])
        chosen: list[tuple[float, float, int, int, str, Chunk, bool]] = []
        seen: set[str] = set()
        limit = self.settings.answer.max_sentences
        for cand in candidates:
            score, coverage, _, _, unit, chunk, is_row = cand
            key = re.sub(r"\W+", "", unit.lower())[:120]
            if key in seen or score < 0.45 * best or (coverage == 0 and chosen):
                continue
            seen.add(key)
            chosen.append(cand)
            if len(chosen) >= (limit + 3 if is_row else limit):
                break
        chosen.sort(key=lambda c: (c[2], c[5].ordinal, c[3]))
        for _, _, _, _, unit, chunk, is_row in chosen:
            text = unit.replace(" | ", " — ") if is_row else unit
            sentence = DraftSentence(text=text, chunk=chunk, quote=unit, support=1.0)
            draft.sentences.append(sentence)
            if on_sentence:
                on_sentence(sentence)
        return draft
