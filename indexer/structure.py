"""Structure: turn a loaded file into blocks with their section path, printed pages and references.

Three layouts are understood:
- a thesis-like text (headings as bare lines, an ÍNDICE with printed pages, tables with TAB-separated
  cells, numbered conclusions and recommendations, a reference list);
- the Global Compact's «Objective N: / Actions: / (a) …» layout;
- documents whose reader gives elements (PDF page by page with real page numbers, Word, HTML):
  indexer.normative works out their sections.

What is never indexed: the table of contents (it only feeds page ranges) and any
authorization form carrying personal data.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from indexer.catalog import Catalog
from indexer.chunking import TERMINAL, continues_paragraph
from indexer.loaders import LoadedFile
from indexer.normative import parse_elements
from indexer.privacy import scrub_personal_data
from indexer.tagging import fold, tag_section_path, tag_text
from indexer.types import Block, References

_TOC_ENTRY = re.compile(r"^(?P<title>.*?\S)\s*(?:\.{2,}\s*|\t+\s*|\s{2,})(?P<page>\d{1,3})\s*$")
_TABLE_CAPTION = re.compile(r"^Tabla\s+(\d{1,3})\s*\.?\s*(.*)$")
_NUMBERED_ITEM = re.compile(r"^(\d{1,2})\.\s+(.*)$")
_CHAPTER = re.compile(r"^CAP[IÍ]TULO\s+[IVXLC]+\b", re.I)
_TOP_HEADINGS = {
    "introduccion", "conclusiones", "recomendaciones", "referencias", "anexos", "resumen", "abstract",
    "siglas y acronimos", "agradecimientos", "bibliografia", "presentacion",
}
_FORM_START = re.compile(r"FORMULARIO DE AUTORIZACI[OÓ]N", re.I)
_FORM_END = re.compile(r"^(Firma del (tesista|autor)|Lima,\s+\d{1,2}\s+de\s+\w+\s+de\s+\d{4})", re.I)
_GCM_OBJECTIVE = re.compile(r"^Objective\s+(\d{1,2}):\s*(.+)$")
_GCM_ACTION = re.compile(r"^\(([a-z])\)\s+(.+)$")
_MARKUP = [
    (re.compile(r"</?(?:u|i|b|em|strong)>"), ""),
    (re.compile(r"\*\*(.+?)\*\*"), r"\1"),
    (re.compile(r"(?<![\w*])\*(\S(?:[^*]*\S)?)\*(?![\w*])"), r"\1"),
    (re.compile(r"\\([$*_#])"), r"\1"),
]


def clean_markup(line: str) -> str:
    for pattern, repl in _MARKUP:
        line = pattern.sub(repl, line)
    return line.replace("**", "")


def _key(title: str) -> str:
    """Comparison key of a heading: folded, no dotted leaders, no trailing punctuation."""
    title = re.sub(r"\.{2,}.*$", "", title)
    return re.sub(r"[\s.:]+", " ", fold(title)).strip()


@dataclass
class TocEntry:
    title: str
    page: int
    used: bool = False


@dataclass
class Toc:
    headings: list[TocEntry] = field(default_factory=list)
    tables: dict[int, tuple[str, int]] = field(default_factory=dict)
    end_line: int = 0


def _find_toc(lines: list[str]) -> Toc | None:
    """Locate the ÍNDICE (and ÍNDICE DE TABLAS); return their entries and where the body starts."""
    start = next((i for i, ln in enumerate(lines) if fold(ln.strip()) in {"indice", "indice general", "contenido"}), None)
    if start is None:
        return None
    toc = Toc()
    in_tables = False
    last_entry = start
    for i in range(start + 1, len(lines)):
        line = lines[i].strip()
        if not line:
            continue
        folded = fold(line)
        if folded.startswith("indice de tablas") or folded.startswith("indice de figuras"):
            in_tables = folded.startswith("indice de tablas")
            last_entry = i
            continue
        m = _TOC_ENTRY.match(line)
        if not m:
            if i - last_entry > 3:
                break
            continue
        last_entry = i
        title = m.group("title").strip().rstrip(".").strip()
        if not title:
            continue
        page = int(m.group("page"))
        caption = _TABLE_CAPTION.match(title)
        if in_tables and caption:
            toc.tables[int(caption.group(1))] = (caption.group(2).strip().rstrip("."), page)
        elif not in_tables:
            title = re.sub(r"\.{2,}\d*$", "", title).strip()
            toc.headings.append(TocEntry(title, page))
    toc.end_line = last_entry + 1
    return toc if toc.headings else None


def _heading_level(title: str) -> int:
    folded = _key(title)
    if _CHAPTER.match(title) or folded in _TOP_HEADINGS:
        return 1
    if re.match(r"^(area tematica|eje tematico)\s+\d", folded):
        return 3
    if re.match(r"^(objetivo|lineamiento)\s+\d", folded):
        return 4
    return 2


@dataclass
class _Section:
    path: tuple[str, ...] = ()
    page: int | None = None
    page_end: int | None = None


class ThesisParser:
    """Parser of thesis-like text: one paragraph per line, bare-line headings, an ÍNDICE with pages."""

    def __init__(self, text: str, catalog: Catalog):
        self.lines = [clean_markup(ln.rstrip()) for ln in text.split("\n")]
        self.catalog = catalog
        self.toc = _find_toc(self.lines)
        self.blocks: list[Block] = []
        self.levels: list[tuple[int, str, int | None]] = []  # (level, title, page)
        self.section = _Section()

    # --- headings -------------------------------------------------------------------------
    def _match_heading(self, i: int) -> tuple[str, int | None, int] | None:
        """(title, page, lines consumed) when line i opens a section."""
        line = self.lines[i].strip()
        if not line or len(line) > 220 or "\t" in line:
            return None
        key = _key(line)
        if self.toc:
            for entry in self.toc.headings:
                if entry.used:
                    continue
                ekey = _key(entry.title)
                if key == ekey:
                    entry.used = True
                    return entry.title, entry.page, 1
                nxt = self._next_nonblank(i)
                if nxt is not None and ekey.startswith(key) and len(key) > 12:
                    joined = _key(line + " " + self.lines[nxt].strip())
                    if joined == ekey:
                        entry.used = True
                        return entry.title, entry.page, nxt - i + 1
        if _CHAPTER.match(line) and len(line) < 40 or key in _TOP_HEADINGS:
            page = self._toc_page(key)
            return line, page, 1
        if not self.toc and self._looks_like_heading(i):
            return line.rstrip(":"), None, 1
        return None

    def _looks_like_heading(self, i: int) -> bool:
        line = self.lines[i].strip()
        if len(line) > 90 or line.endswith(tuple(".;,")) or not line[:1].isupper():
            return False
        if re.match(r"^(Art[ií]culo|Objetivo|Lineamiento|Eje|T[ÍI]TULO|Secci[oó]n|Anexo)\s", line, re.I):
            return True
        prev_blank = i == 0 or not self.lines[i - 1].strip()
        nxt = i + 1 >= len(self.lines) or not self.lines[i + 1].strip()
        return prev_blank and nxt and len(line.split()) <= 10 and not line.endswith(":")

    def _toc_page(self, key: str) -> int | None:
        if not self.toc:
            return None
        for entry in self.toc.headings:
            if _key(entry.title) == key:
                entry.used = True
                return entry.page
        return None

    def _next_nonblank(self, i: int) -> int | None:
        for j in range(i + 1, min(i + 4, len(self.lines))):
            if self.lines[j].strip():
                return j
        return None

    def _canonical_eje(self, title: str) -> str:
        """An «Eje temático N» heading whose name contradicts the catalog gets the catalog's name.

        (Chapter III of the thesis swaps the names of Ejes 1 and 2; its lineamientos follow the numbers.)
        """
        m = re.match(r"^Eje tem[aá]tico (\d)\s*:\s*(.+)$", title)
        eje = self.catalog.ejes.get(int(m.group(1))) if m else None
        if eje is None or _key(eje.title_es)[:20] in _key(m.group(2)):
            return title
        return f"Eje temático {eje.number}: {eje.title_es} (el original rotula «{m.group(2).strip()}»)"

    def _open_section(self, title: str, page: int | None) -> None:
        title = self._canonical_eje(title)
        level = _heading_level(title)
        self.levels = [lv for lv in self.levels if lv[0] < level] + [(level, title, page)]
        path = tuple(t for _, t, _ in self.levels)
        start = page if page is not None else self.section.page
        self.section = _Section(path=path, page=start, page_end=start)

    # --- parsing -----------------------------------------------------------------------------
    def parse(self) -> list[Block]:
        i = self._skip_front_matter()
        body_start = self.toc.end_line if self.toc else 0
        self._front_blocks(i, body_start)
        i = max(i, body_start)
        self.section = _Section()
        self.levels = []
        while i < len(self.lines):
            line = self.lines[i].strip()
            if not line:
                i += 1
                continue
            heading = self._match_heading(i)
            if heading:
                title, page, used = heading
                if _CHAPTER.match(title):
                    nxt = self._next_nonblank(i + used - 1)
                    if nxt is not None and self.lines[nxt].strip().isupper() and len(self.lines[nxt]) < 80:
                        title = f"{title.strip()} — {self.lines[nxt].strip()}"
                        used = nxt - i + 1
                self._open_section(title, page)
                i += used
                continue
            if m := _TABLE_CAPTION.match(line):
                i = self._parse_table(i, int(m.group(1)), m.group(2).strip())
                continue
            i = self._parse_text_line(i, line)
        self._fill_page_ends()
        return self.blocks

    def _skip_front_matter(self) -> int:
        """Index of the first line after any authorization form; the form itself is never read."""
        for i, line in enumerate(self.lines[:400]):
            if _FORM_START.search(line):
                for j in range(i, min(i + 120, len(self.lines))):
                    if _FORM_END.match(self.lines[j].strip()):
                        end = j + 1
                        if self.lines[j].strip().lower().startswith("firma"):
                            nxt = self._next_nonblank(j)
                            if nxt is not None and _FORM_END.match(self.lines[nxt].strip()):
                                end = nxt + 1
                        self._form_span = (i, end)
                        return end
                self._form_span = (i, min(i + 120, len(self.lines)))
                return self._form_span[1]
        self._form_span = None
        return 0

    def _front_blocks(self, after_form: int, body_start: int) -> None:
        """Cover, abstract and acronyms before the ÍNDICE: indexed with their own headings."""
        if not self.toc:
            return
        toc_start = next(i for i, ln in enumerate(self.lines) if fold(ln.strip()) in {"indice", "indice general",
                                                                                         "contenido"})
        cover_end = self._form_span[0] if self._form_span else 0
        cover = [ln.strip() for ln in self.lines[:cover_end] if ln.strip()]
        if cover:
            self.blocks.append(Block("summary", "\n".join(cover), ("Portada",), page=1, page_end=1))
        i = after_form
        self.section = _Section(path=("Preliminares",))
        while i < toc_start:
            line = self.lines[i].strip()
            if not line:
                i += 1
                continue
            if _key(line) in _TOP_HEADINGS:
                self.section = _Section(path=(line,))
                i += 1
                continue
            if _key(self.section.path[0]) == "siglas y acronimos" and "\t" in line:
                acronym, _, expansion = line.partition("\t")
                self.blocks.append(Block("glossary", f"{acronym.strip()}: {expansion.strip()}", self.section.path))
                i += 1
                continue
            if _key(self.section.path[0]) == "siglas y acronimos":
                nxt = self._next_nonblank(i)
                if nxt is not None and nxt < toc_start and len(line.split()) == 1 and line.isupper():
                    self.blocks.append(Block("glossary", f"{line}: {self.lines[nxt].strip()}", self.section.path))
                    i = nxt + 1
                    continue
            kind = "summary" if _key(self.section.path[0]) in {"resumen", "abstract"} else "body"
            self.blocks.append(Block(kind, line, self.section.path, attrs={"front_matter": True}))
            i += 1

    def _current_kind(self) -> str:
        top = _key(self.section.path[0]) if self.section.path else ""
        if top == "referencias" or top == "bibliografia":
            return "reference"
        if top in {"conclusiones", "recomendaciones"}:
            return "finding"
        return "body"

    def _parse_text_line(self, i: int, line: str) -> int:
        kind = self._current_kind()
        prev = self.blocks[-1] if self.blocks else None
        same_section = prev is not None and prev.section_path == self.section.path
        if kind == "reference":
            if line.startswith("- ") or not same_section or prev.kind != "reference":
                self._add("reference", line.removeprefix("- ").strip())
            else:
                prev.text += ("" if prev.text.endswith(("/", "-")) else " ") + line
            return i + 1
        if kind == "finding":
            m = _NUMBERED_ITEM.match(line)
            if m:
                top = _key(self.section.path[0])
                name = "conclusion" if top == "conclusiones" else "recomendacion"
                label = ("Conclusión " if name == "conclusion" else "Recomendación ") + m.group(1)
                block = self._add("finding", line)
                block.attrs.update({"finding": f"{name}-{m.group(1)}", "finding_label": label})
                block.refs.findings.append(f"{name}-{m.group(1)}")
                return i + 1
        if same_section and prev.kind in {"body", "finding", "summary"} and continues_paragraph(prev.text, line):
            prev.text += " " + line
            return i + 1
        self._add("body", line)
        return i + 1

    def _add(self, kind: str, text: str, **attrs) -> Block:
        block = Block(kind, text, self.section.path, page=self.section.page, page_end=self.section.page_end,
                      attrs=dict(attrs))
        self.blocks.append(block)
        return block

    def _fill_page_ends(self) -> None:
        """A section runs from its printed page to the page where the next section starts."""
        starts = [(b.section_path, b.page) for b in self.blocks if b.page is not None and b.kind != "table"]
        next_page: dict[tuple[str, ...], int] = {}
        for (path, page), (_, following) in zip(starts, starts[1:], strict=False):
            if following is not None and following >= page:
                next_page[path] = max(next_page.get(path, page), following)
        for b in self.blocks:
            if b.kind != "table" and b.page is not None:
                b.page_end = next_page.get(b.section_path, b.page)

    # --- tables ------------------------------------------------------------------------------
    def _parse_table(self, i: int, number: int, inline_title: str) -> int:
        title = inline_title
        j = i + 1
        if not title:
            nxt = self._next_nonblank(i)
            if nxt is not None and "\t" not in self.lines[nxt]:
                title = self.lines[nxt].strip()
                j = nxt + 1
        rows: list[list[str]] = []
        note = ""
        single_column = False
        while j < len(self.lines):
            raw = self.lines[j]
            line = raw.strip()
            if not line:
                j += 1
                continue
            if line.startswith("Nota"):
                note = line
                j += 1
                break
            if "\t" in raw:
                rows.append(self._row(raw, rows))
                j += 1
                continue
            if not rows and self._one_column_table_ahead(j):
                single_column = True
            if single_column:  # one cell per line; a lowercase line continues a cell cut by a page break
                if rows and line[:1].islower():
                    rows[-1][-1] = f"{rows[-1][-1]} {line}"
                else:
                    rows.append([line])
                j += 1
                continue
            if rows and (line[:1].islower() or not rows[-1][-1].rstrip().endswith(TERMINAL)) \
                    and not _TABLE_CAPTION.match(line) and self._match_heading_peek(j) is None:
                rows[-1][-1] = (rows[-1][-1] + " " + line).strip()
                j += 1
                continue
            break
        rows = [r for r in rows if any(c.strip() for c in r)]
        header, body = (rows[0], rows[1:]) if rows else ([], [])
        body = self._reconcile_area_labels(body)
        toc_title, toc_page = (self.toc.tables.get(number) if self.toc else None) or (title, None)
        caption = f"Tabla {number}. {title or toc_title}".strip()
        block = Block("table", caption, self.section.path, page=toc_page or self.section.page,
                      page_end=toc_page or self.section.page,
                      attrs={"table_number": number, "table_title": title or toc_title, "header": header,
                             "rows": body, "note": note})
        block.refs.tables.append(number)
        self.blocks.append(block)
        return j

    def _one_column_table_ahead(self, j: int) -> bool:
        """Lines with no TAB that run straight into a «Nota» line: a table of one column."""
        for k in range(j, min(j + 200, len(self.lines))):
            line = self.lines[k].strip()
            if not line:
                continue
            if line.startswith("Nota"):
                return True
            if "\t" in line or _TABLE_CAPTION.match(line) or self._match_heading_peek(k) is not None:
                return False
        return False

    def _match_heading_peek(self, j: int):
        line = self.lines[j].strip()
        key = _key(line)
        if _CHAPTER.match(line) or key in _TOP_HEADINGS:
            return line
        if self.toc and any(not e.used and _key(e.title) == key for e in self.toc.headings):
            return line
        return None

    @staticmethod
    def _row(raw: str, rows: list[list[str]]) -> list[str]:
        """Split a TAB row; leading blank cells inherit the value of the row above."""
        cells = [c.strip() for c in raw.split("\t")]
        while len(cells) > 1 and not cells[-1]:
            cells.pop()
        if rows:
            above = rows[-1]
            for k, cell in enumerate(cells):
                if cell or k >= len(above):
                    break
                cells[k] = above[k]
        return cells

    def _reconcile_area_labels(self, rows: list[list[str]]) -> list[list[str]]:
        """Where a row labels an objective with an área temática the catalog contradicts, trust the catalog.

        (Tabla 8 prints each área's label on the line of its second objective.)
        """
        if not self.catalog.objectives:
            return rows
        labels: dict[int, str] = {}
        for row in rows:
            m = re.match(r"^[AÁ]rea tem[aá]tica (\d)", row[0]) if row else None
            if m:
                labels.setdefault(int(m.group(1)), row[0])
        fixed = []
        for row in rows:
            m = re.match(r"^[AÁ]rea tem[aá]tica (\d)", row[0]) if row else None
            number = next((int(c) for c in row[1:3] if c.isdigit()), None)
            obj = self.catalog.objectives.get(number) if number else None
            if m and obj and int(m.group(1)) not in obj.areas and len(obj.areas) == 1:
                area = obj.areas[0]
                row = [labels.get(area, f"Área temática {area}: {self.catalog.areas.get(area, '')}")] + row[1:]
            fixed.append(row)
        return fixed


def parse_gcm(text: str) -> list[Block]:
    """The Global Compact's «Objective N: title / Actions: / (a) …» layout: one block per action."""
    blocks: list[Block] = []
    preamble: list[str] = []
    objective: tuple[int, str] | None = None
    for raw in text.split("\n"):
        line = raw.strip()
        if not line or line == "Actions:":
            continue
        if m := _GCM_OBJECTIVE.match(line):
            objective = (int(m.group(1)), m.group(2).strip())
            heading = f"Objective {objective[0]}: {objective[1]}"
            blocks.append(Block("summary", heading, (heading,), refs=References(pmm=[objective[0]]),
                                attrs={"gcm_objective": objective[0]}))
            continue
        if objective is None:
            preamble.append(line)
            continue
        heading = f"Objective {objective[0]}: {objective[1]}"
        if m := _GCM_ACTION.match(line):
            letter = m.group(1)
            blocks.append(Block("gcm_action", line, (heading,),
                                refs=References(pmm=[objective[0]], gcm_actions=[f"{objective[0]}{letter}"]),
                                attrs={"gcm_objective": objective[0], "gcm_action": letter}))
        elif blocks and blocks[-1].kind == "gcm_action":
            blocks[-1].text += " " + line
    if preamble:
        # the transcriber's note on what the file holds: about the text, not part of it
        blocks.insert(0, Block("note", "\n".join(preamble), ("Nota sobre el texto",)))
    for block in blocks:
        if block.kind == "summary" and "gcm_objective" in block.attrs:
            has_actions = any(b.attrs.get("gcm_objective") == block.attrs["gcm_objective"] and b.kind == "gcm_action"
                              for b in blocks)
            if not has_actions:
                block.attrs["no_actions"] = True
    return blocks


def is_gcm_layout(text: str) -> bool:
    return len(re.findall(r"^Objective\s+\d{1,2}:", text, re.M)) >= 3


def parse_document(loaded: LoadedFile, catalog: Catalog, scrub: bool = True) -> list[Block]:
    """Blocks of one loaded file, tagged with the references of their place and their text."""
    if loaded.elements:
        blocks = parse_elements(loaded.elements, loaded.title)
    elif is_gcm_layout(loaded.text):
        blocks = parse_gcm(loaded.text)
    else:
        blocks = ThesisParser(loaded.text, catalog).parse()
    for block in blocks:
        if scrub:
            block.text = scrub_personal_data(block.text)
        mention_text = block.text
        if block.kind == "table":
            mention_text = " ".join([block.text, *(" ".join(r) for r in block.attrs.get("rows", []))])
        block.refs = block.refs.merge(tag_section_path(block.section_path, catalog)).merge(tag_text(mention_text, catalog))
    return [b for b in blocks if b.text.strip()]
