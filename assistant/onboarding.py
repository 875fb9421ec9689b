"""Onboarding for a new diplomat: the 23 PMM objectives by área temática, each with its text and what Peru
did (cited); the PNM ↔ PMM alignment matrix; the thesis's key findings; the glossary; a self-check quiz
whose answers cite their source. Built from the catalog and the index only.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from functools import cached_property

from assistant.api import Assistant
from assistant.citations import make_citation
from assistant.types import Citation, Filters
from indexer.types import Chunk


@dataclass
class ObjectiveCard:
    number: int
    title_es: str
    title_en: str
    areas: list[int]
    compact_text: list[tuple[str, Citation]]
    peru_actions: list[tuple[str, Citation]]
    lineamientos: list[str]


@dataclass
class QuizItem:
    question: str
    options: list[str]
    answer: str
    citation: Citation
    explanation: str = ""


@dataclass
class Finding:
    key: str
    label: str
    text: str
    citations: list[Citation] = field(default_factory=list)


class Onboarding:
    def __init__(self, assistant: Assistant):
        self.assistant = assistant
        self.catalog = assistant.catalog

    @cached_property
    def _chunks(self) -> list[Chunk]:
        return [c for c, _ in self.assistant.retriever.docstore.iter_chunks()]

    def _cite(self, chunk: Chunk, quote: str) -> Citation:
        return make_citation(0, chunk, quote, self.catalog, self.assistant.documents.get(chunk.doc_id), "es")

    def _find_line(self, pattern: str, kinds: set[str] | None = None) -> tuple[Chunk, str] | None:
        """The first chunk line matching a pattern: (chunk, the verbatim line)."""
        regex = re.compile(pattern)
        for chunk in self._chunks:
            if kinds and chunk.kind not in kinds:
                continue
            for line in chunk.text.split("\n"):
                if regex.search(line):
                    return chunk, line
        return None

    def areas(self) -> list[tuple[int, str, list[tuple[int, str]]]]:
        """(area number, title, [(objective number, short name)])"""
        return [(n, title, [(o, self.catalog.objectives[o].short_es) for o in self.catalog.objectives_of_area(n)])
                for n, title in sorted(self.catalog.areas.items())]

    def objective(self, number: int) -> ObjectiveCard:
        obj = self.catalog.objectives[number]
        compact = self.assistant.supported_sentences(
            f"Objective {number}: {obj.title_en}", Filters(doc_ids=["gcm_2018_en"], pmm_objectives=[number]),
            max_sentences=3, require_answerable=False)
        thesis_docs = [d for d in self.assistant.documents if d != "gcm_2018_en"]
        peru = self.assistant.supported_sentences(
            f"¿Qué hizo el Perú respecto al objetivo {number} del PMM ({obj.short_es})?",
            Filters(doc_ids=thesis_docs, pmm_objectives=[number]), max_sentences=4, require_answerable=False)
        lineamientos = [f"{lin.code} — {lin.title_es}" for e in self.catalog.ejes.values() for lin in e.lineamientos
                        if number in lin.pmm_objectives]
        return ObjectiveCard(number, obj.title_es, obj.title_en, list(obj.areas), compact, peru, lineamientos)

    def alignment_matrix(self) -> tuple[list[str], list[list[str]], Citation | None]:
        """Rows: PNM lineamiento × the PMM objectives it aligns with (Tabla 22 of the thesis)."""
        header = ["Eje", "Código", "Lineamiento de la PNM", "Objetivos del PMM alineados"]
        rows = []
        for eje in sorted(self.catalog.ejes.values(), key=lambda e: e.number):
            for lin in eje.lineamientos:
                objectives = ", ".join(f"O{n} {self.catalog.objectives[n].short_es}" for n in lin.pmm_objectives
                                       if n in self.catalog.objectives)
                rows.append([f"{eje.number}. {eje.title_es}", lin.code, lin.title_es, objectives])
        found = self._find_line(r"^Tabla 22\.", {"table"})
        citation = self._cite(found[0], found[1]) if found else None
        return header, rows, citation

    def findings(self) -> list[Finding]:
        out: dict[str, Finding] = {}
        for chunk in self._chunks:
            key = chunk.attrs.get("finding")
            if chunk.kind != "finding" or not key:
                continue
            finding = out.setdefault(key, Finding(key, chunk.attrs.get("finding_label", key), ""))
            finding.text = (finding.text + " " + chunk.text).strip()
            finding.citations.append(self._cite(chunk, chunk.text))
        return list(out.values())

    def glossary(self) -> list[tuple[str, str]]:
        return sorted(self.catalog.acronyms.items(), key=lambda kv: kv[0].lower())

    def quiz(self, size: int = 5, seed: int | None = None) -> list[QuizItem]:
        rng = random.Random(seed)
        makers = [self._acronym_item, self._alignment_item, self._area_item]
        items: list[QuizItem] = []
        attempts = 0
        while len(items) < size and attempts < size * 10:
            attempts += 1
            item = makers[len(items) % len(makers)](rng)
            if item and item.question not in {i.question for i in items}:
                items.append(item)
        return items

    def _acronym_item(self, rng: random.Random) -> QuizItem | None:
        acronyms = list(self.catalog.acronyms.items())
        acronym, expansion = rng.choice(acronyms)
        found = self._find_line(rf"^{re.escape(acronym)}: ", {"glossary"})
        if not found:
            return None
        distractors = rng.sample([e for a, e in acronyms if e != expansion], 3)
        options = [expansion, *distractors]
        rng.shuffle(options)
        return QuizItem(f"¿Qué significa la sigla {acronym}?", options, expansion, self._cite(*found))

    def _alignment_item(self, rng: random.Random) -> QuizItem | None:
        lineamientos = [lin for e in self.catalog.ejes.values() for lin in e.lineamientos if len(lin.pmm_objectives) == 1]
        lin = rng.choice(lineamientos)
        target = lin.pmm_objectives[0]
        found = self._find_line(rf"\b{re.escape(lin.code)} con O{target}\b", {"table"})
        if not found:
            return None
        label = lambda n: f"Objetivo {n}: {self.catalog.objectives[n].short_es}"  # noqa: E731
        others = rng.sample([n for n in self.catalog.objectives if n != target], 3)
        options = [label(target), *(label(n) for n in others)]
        rng.shuffle(options)
        return QuizItem(f"¿Con qué objetivo del PMM se alinea el lineamiento {lin.code} de la PNM ({lin.title_es})?",
                        options, label(target), self._cite(*found))

    def _area_item(self, rng: random.Random) -> QuizItem | None:
        single = [o for o in self.catalog.objectives.values() if len(o.areas) == 1]
        obj = rng.choice(single)
        area = obj.areas[0]
        heading = f"Objetivo {obj.number}:"
        chunk = next((c for c in self._chunks if c.kind == "body" and any(h.startswith(heading) for h in c.section_path)
                      and any(h.startswith(f"Área temática {area}") for h in c.section_path)), None)
        if chunk is None:
            return None
        quote = chunk.text.split("\n")[0][:300]
        options = [f"Área temática {n}: {self.catalog.areas[n]}" for n in sorted(self.catalog.areas)]
        return QuizItem(f"¿En qué área temática se agrupa el objetivo {obj.number} del PMM ({obj.short_es})?",
                        options, options[area - 1], self._cite(chunk, quote),
                        explanation="La tesis lo analiza en esa área (Cap. III); la Tabla 8 la rotula de forma desplazada.")
