"""Types that travel from the indexer to the assistant: documents, blocks, chunks and their references.

Defined once here; the assistant imports them, never redefines them.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field

CHUNK_KINDS = ("body", "table", "finding", "reference", "glossary", "gcm_action", "summary", "note")


@dataclass(frozen=True)
class SourceDocument:
    """One entry of the corpus manifest (or a file a user dropped in the corpus folder)."""

    id: str
    title: str
    kind: str
    language: str
    file: str
    authority: str = ""
    year: int | None = None
    notes: str = ""
    citation: str = ""

    @property
    def short_name(self) -> str:
        return self.citation or self.title


@dataclass
class References:
    """What a chunk is about, normalised to catalog ids."""

    pmm: list[int] = field(default_factory=list)
    pmm_areas: list[int] = field(default_factory=list)
    pnm_ejes: list[int] = field(default_factory=list)
    pnm_lineamientos: list[str] = field(default_factory=list)  # "2.4" = Eje 2, Lineamiento 4
    tables: list[int] = field(default_factory=list)
    findings: list[str] = field(default_factory=list)  # "conclusion-3", "recomendacion-1"
    gcm_actions: list[str] = field(default_factory=list)  # "14c" = Objective 14, action (c)
    articles: list[int] = field(default_factory=list)  # «Artículo 3» of a decree, a law, a reglamento

    def merge(self, other: References) -> References:
        def union(a: list, b: list) -> list:
            return sorted(set(a) | set(b), key=lambda x: (str(type(x)), x))

        return References(
            pmm=union(self.pmm, other.pmm),
            pmm_areas=union(self.pmm_areas, other.pmm_areas),
            pnm_ejes=union(self.pnm_ejes, other.pnm_ejes),
            pnm_lineamientos=union(self.pnm_lineamientos, other.pnm_lineamientos),
            tables=union(self.tables, other.tables),
            findings=union(self.findings, other.findings),
            gcm_actions=union(self.gcm_actions, other.gcm_actions),
            articles=union(self.articles, other.articles),
        )

    def is_empty(self) -> bool:
        return not any(asdict(self).values())


@dataclass
class Element:
    """One piece of a document as its reader found it, before sections are worked out: a heading, a
    paragraph, a list item, a footnote or a table (caption in `text`, header row first in `rows`)."""

    kind: str  # "heading" | "paragraph" | "list_item" | "footnote" | "table"
    text: str
    page: int | None = None
    level: int = 0  # heading depth from the reader (Word styles, <h2>); 0 when the reader cannot tell
    rows: list[list[str]] = field(default_factory=list)
    ocr: bool = False  # the text was recognised from an image of the page


@dataclass
class Block:
    """A structural unit found in a document before chunking: a paragraph, a table, a finding…"""

    kind: str
    text: str
    section_path: tuple[str, ...] = ()
    page: int | None = None
    page_end: int | None = None
    refs: References = field(default_factory=References)
    attrs: dict = field(default_factory=dict)


@dataclass
class Chunk:
    """The unit of retrieval and citation."""

    id: str
    doc_id: str
    ordinal: int
    kind: str
    text: str
    section_path: list[str] = field(default_factory=list)
    page: int | None = None
    page_end: int | None = None
    refs: References = field(default_factory=References)
    attrs: dict = field(default_factory=dict)

    @staticmethod
    def make_id(doc_id: str, ordinal: int, text: str) -> str:
        """Stable id from the document, the position and the content: same input, same id."""
        digest = hashlib.sha1(f"{doc_id}\x1f{ordinal}\x1f{text}".encode()).hexdigest()[:16]
        return f"{doc_id}:{ordinal:05d}:{digest}"

    @property
    def section(self) -> str:
        return " › ".join(self.section_path)

    def embedding_text(self) -> str:
        """What the embedder sees: the section path gives a fragment its context."""
        head = self.section
        return f"{head}\n{self.text}" if head else self.text

    def chroma_metadata(self) -> dict:
        """Flat metadata for Chroma: scalars only, one boolean flag per reference for `where` filters."""
        meta: dict = {"doc_id": self.doc_id, "ordinal": self.ordinal, "kind": self.kind, "section": self.section}
        if self.page is not None:
            meta["page"] = self.page
        for n in self.refs.pmm:
            meta[f"pmm_{n}"] = True
        for n in self.refs.pnm_ejes:
            meta[f"pnm_eje_{n}"] = True
        for code in self.refs.pnm_lineamientos:
            meta[f"pnm_l_{code.replace('.', '_')}"] = True
        for n in self.refs.tables:
            meta[f"tabla_{n}"] = True
        if self.attrs.get("finding"):
            meta["finding"] = self.attrs["finding"]
        for n in self.refs.articles:
            meta[f"articulo_{n}"] = True
        if self.refs.gcm_actions and self.kind == "gcm_action":
            meta["gcm_action"] = self.refs.gcm_actions[0]
        return meta

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)

    @classmethod
    def from_json(cls, raw: str) -> Chunk:
        data = json.loads(raw)
        data["refs"] = References(**data["refs"])
        return cls(**data)


@dataclass
class FileProblem:
    """A file that could not be (fully) indexed, said so that a person can act on it."""

    file: str
    problem: str
    hint: str = ""
    page: int | None = None

    def line(self) -> str:
        where = f"{self.file}" + (f", p. {self.page}" if self.page else "")
        return f"{where}: {self.problem}" + (f" — {self.hint}" if self.hint else "")
