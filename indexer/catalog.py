"""The catalog: PMM objectives and áreas temáticas, PNM 2017-2025 ejes and lineamientos, acronyms.

Read from `corpus/catalog.json`; it gives every reference a canonical id and a label,
whatever document the passage comes from.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path


@dataclass(frozen=True)
class PmmObjective:
    number: int
    title_es: str
    short_es: str
    title_en: str
    areas: tuple[int, ...]
    short_variants: tuple[str, ...] = ()


@dataclass(frozen=True)
class Lineamiento:
    eje: int
    number: int
    code: str
    title_es: str
    short_es: str
    pmm_objectives: tuple[int, ...]


@dataclass(frozen=True)
class Eje:
    number: int
    title_es: str
    lineamientos: tuple[Lineamiento, ...]
    aliases_es: tuple[str, ...] = ()


@dataclass
class Catalog:
    areas: dict[int, str]
    objectives: dict[int, PmmObjective]
    ejes: dict[int, Eje]
    acronyms: dict[str, str] = field(default_factory=dict)

    def objective_label(self, number: int, language: str = "es") -> str:
        obj = self.objectives.get(number)
        if obj is None:
            return f"PMM Objetivo {number}" if language == "es" else f"GCM Objective {number}"
        if language == "en":
            return f"GCM Objective {number} — {obj.title_en}"
        return f"PMM Objetivo {number} — {obj.title_es.rstrip('.')}"

    def lineamiento(self, code: str) -> Lineamiento | None:
        eje_s, _, num_s = code.partition(".")
        eje = self.ejes.get(int(eje_s)) if eje_s.isdigit() else None
        if eje is None or not num_s.isdigit():
            return None
        return next((lin for lin in eje.lineamientos if lin.number == int(num_s)), None)

    def lineamiento_label(self, code: str) -> str:
        lin = self.lineamiento(code)
        eje_s, _, num_s = code.partition(".")
        base = f"PNM 2017-2025, Eje {eje_s}, Lineamiento {num_s}"
        return f"{base} — {lin.title_es}" if lin else base

    def eje_label(self, number: int) -> str:
        eje = self.ejes.get(number)
        return f"PNM 2017-2025, Eje {number}" + (f" — {eje.title_es}" if eje else "")

    def objectives_of_area(self, area: int) -> list[int]:
        return sorted(n for n, o in self.objectives.items() if area in o.areas)


def load_catalog(path: Path) -> Catalog:
    raw = json.loads(path.read_text(encoding="utf-8"))
    objectives = {
        o["number"]: PmmObjective(o["number"], o["title_es"], o.get("short_es", ""), o.get("title_en", ""),
                                  tuple(o.get("areas", ())), tuple(o.get("short_variants_es", ())))
        for o in raw.get("pmm_objectives", [])
    }
    ejes = {}
    for e in raw.get("pnm_ejes", []):
        lins = tuple(
            Lineamiento(e["number"], lin["number"], lin.get("code", f"L{e['number']}.{lin['number']}"),
                        lin["title_es"], lin.get("short_es", ""), tuple(lin.get("pmm_objectives", ())))
            for lin in e.get("lineamientos", [])
        )
        ejes[e["number"]] = Eje(e["number"], e["title_es"], lins, tuple(e.get("aliases_es", ())))
    return Catalog(
        areas={a["number"]: a["title_es"] for a in raw.get("pmm_areas", [])},
        objectives=objectives,
        ejes=ejes,
        acronyms={a["acronym"]: a["expansion_es"] for a in raw.get("acronyms", [])},
    )


@lru_cache(maxsize=8)
def catalog_for(corpus_dir: Path) -> Catalog:
    path = corpus_dir / "catalog.json"
    if not path.exists():
        return Catalog(areas={}, objectives={}, ejes={})
    return load_catalog(path)
