"""Catalog answers: questions about the structure of the PMM and the PNM, answered from the catalog with the
table row (or the sentence) that states the fact cited.

What objective N says, what one of its actions says, the área temática of an objective, which PMM objectives a
PNM lineamiento aligns with, how many objectives, áreas temáticas or ejes there are, which actions the Compact lists
under objective N (or that the corpus's text of the Compact gives none), what table N shows (its caption, and
its note on the source when it has one, as the document writes them), which the ejes are (the sentence that
counts and enumerates them), and who wrote the thesis and what it is about (its cover, its summary): the catalog
(`indexer.catalog`) knows the fact, and the index holds the row or sentence that states it. A catalog answer is given only when both agree: the quoted unit
is found verbatim in an indexed chunk and states the catalog's figure (a shifted table cell or a removed document
leaves the question to the ordinary route). A question that asks anything beyond the structural fact («¿qué hizo
el Perú por el objetivo 13?») is no catalog question: once its reference, the Compact's or the policy's name, the
words that gloss the objective's own title and the frame of the question («¿qué establece…?», "how many… does…
have?") are set aside, nothing may remain.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from assistant.text import content_stems, person_names
from indexer.catalog import Catalog
from indexer.lexicon import content_words
from indexer.sentences import evidence_units
from indexer.tagging import ACTION_MENTION, TABLE_MENTION, fold, ordinals_as_numbers
from indexer.types import Chunk, References

# The names of the instruments a structural question may use, in either language, with or without accents.
_INSTRUMENT = re.compile(
    r"(?i)\b(pacto mundial( para la migraci[oó]n)?( segura, ordenada y regular)?|pacto|"
    r"global compact( for( safe, orderly and regular)? migration)?|compact|pmm|gcm|"
    r"pol[ií]tica nacional migratoria( 2017-2025)?|pol[ií]tica migratoria|pnm( 2017-2025)?|2017-2025)\b")
_REFERENCE = re.compile(
    r"(?i)\b(objetivos?|objectives?|obj\.?|lineamientos?|guidelines?|ejes?( tem[aá]ticos?)?|ax[ie]s|"
    r"[aá]reas?( tem[aá]ticas?)?|thematic areas?)\s*(n[°º.]?\s*)?\d{1,2}\b|(?<![\w.])[LO]\d{1,2}(\.\d)?\b")

# The frame of each kind of structural question: words that ask, not words that restrict.
_FRAME_WORDS = {
    "wording": "cuál cual qué que q dice dicen establece establecen plantea persigue busca propone señala estipula "
               "trata aborda consiste enunciado enunciada texto redacción formula formulado contenido sobre título "
               "titulo nombre llama completo what which does say says state states wording worded word text about "
               "read reads title name named called full",
    "area": "cuál cual qué que q en área areas área temática temáticas tematica tematicas agrupa agrupan ubica "
            "ubican pertenece pertenecen corresponde corresponden clasifica incluye incluyen encuentra encuentran "
            "está están sitúa tesis the thesis which what in area areas thematic belong belongs fall falls group "
            "grouped placed sit sits",
    "alignment": "cuál cual cuáles cuales qué que q objetivo objetivos alinea alinean alineado alineados alineación "
                 "relaciona relacionan relacionado relacionados vincula vinculan vinculado corresponde corresponden "
                 "contribuye contribuyen tesis which what objective objectives align aligns aligned alignment relate "
                 "relates related link links linked correspond corresponds contribute contributes guideline guidelines "
                 "lineamiento",
    "count": "cuántos cuantos cuántas cuantas número numero total tiene tienen hay comprende comprenden contiene "
             "contienen agrupa agrupan organiza organizan divide dividen estructura consta cuenta incluye incluyen "
             "establece tesis análisis analiza analizar analizarlos analizarlas estudia estudiar many number total "
             "does have has are there comprise comprises contain contains include includes group groups grouped "
             "organise organize organised organized divide divided thesis objetivos objectives ejes temáticos axes áreas "
             "temáticas thematic areas",
    "list": "cuál cual cuáles cuales qué que q son es eran nombre nombres nombra enumera lista menciona tiene tienen "
            "comprende establece poblacionales población temáticos cuatro cinco which what are were list name names "
            "enumerate does have has comprise population four five ejes axes áreas temáticas thematic areas",
    "members": "cuál cual cuáles cuales qué que q son es cuántos cuantos cuántas cuantas número numero tiene tienen "
               "hay comprende comprenden contiene contienen agrupa agrupan incluye incluyen forman conforman integran "
               "nombre nombres nombra enumera lista menciona dime lineamientos objetivos which what are how many number "
               "list name names tell does have has comprise contain contains include includes group groups guidelines "
               "objectives",
    "document": "tesis thesis quién quien escribió escribio escrita redactó redacto elaboró elaboro presentó presento "
                "hizo autor autora autores who wrote written authored author authors made qué que q trata tratan "
                "tema temas sobre resumen resume resúmeme resumeme resumir resumida breve brevemente dame explica "
                "explícame explicame what about summary summarise summarize abstract main topic subject give brief "
                "briefly tell",
    "which": "objetivo objective trata tratan ocupa refiere dedica dedicado deals deal concerns concern covers cover "
             "addresses address refers",
    "table": "cuál cual qué que q muestra muestran presenta presentan contiene contienen recoge recogen resume "
             "resumen sintetiza trata tratan describe describen dice dicen sobre acerca contenido información tesis "
             "documento what which does do show shows present presents contain contains summarise summarises "
             "summarize summarizes describe describes say says about content contents thesis document",
    "actions": "cuál cual cuáles cuales qué que q acciones lista listan enumera enumeran propone proponen contempla "
               "contemplan incluye incluyen establece establecen pide piden menciona mencionan recoge recogen tiene "
               "tienen comprende comprenden prevé prevén plantea plantean son hay which what actions list lists listed "
               "does do propose proposes include includes contain contains set sets out under has have are there "
               "comprise comprises call calls ask asks",
    "action": "pide piden solicita insta propone recomienda compromete acción accion ask asks call calls propose "
              "proposes commit commits action",
}
_FRAME = {kind: content_stems(words) for kind, words in _FRAME_WORDS.items()}
_FRAME["action"] |= _FRAME["wording"]

_ASKS_WHICH_OBJECTIVE = re.compile(r"(?i)\b(qu[eé]|q|cu[aá]l(\s+es\s+el)?|which|what(\s+is\s+the)?)\s+"
                                   r"((gcm|pmm|compact)\s+)?(objetivo|objective)\b(?!s)")
_TOPIC_MIN = 0.5  # the topic's words weigh at least one word shared by two objectives' titles
_ASKS_AREA = re.compile(r"(?i)\b([aá]reas?\s+tem[aá]ticas?|thematic\s+areas?)\b(?!\s+\d)")
_ASKS_ALIGNMENT = re.compile(r"(?i)\b(alinea\w*|align\w*|relaciona\w*|relat\w*|vincula\w*|link\w*|correspond\w*|"
                             r"contribu\w*)\b")
_ASKS_ACTIONS = re.compile(r"(?i)\b(acciones|actions)\b")
_ASKS_COUNT = re.compile(r"(?i)\b(cu[aá]nt[oa]s|how many|n[uú]mero de|number of)\b")
# the words that ask which things are, or for their list
_WHICH = r"cu[aá]les|qu[eé]|q|which|what|list|enumera\w*|name|lista\w*|nombra\w*|menciona\w*|dime|tell me"
_ASKS_WHICH = re.compile(rf"(?i)\b({_WHICH})\b")
# «¿Cuáles son los ejes de la PNM?», "what are the 4 axes…?", "list the axes": the items themselves
_ASKS_LIST = re.compile(rf"(?i)\b({_WHICH})\b(?:\s+\S+){{0,3}}?\s+"
                        r"(?:(?:\d{1,2}|cuatro|cinco|four|five)\s+)?(?P<noun>ejes|ax[ie]s|[aá]reas\s+tem[aá]ticas|thematic\s+areas)")
# «¿Qué lineamientos tiene el eje 3?», «¿cuántos objetivos agrupa el área temática 2?»: the members of one item
_ASKS_MEMBERS = re.compile(r"(?i)\b(?P<noun>lineamientos|guidelines|objetivos|objectives)\b")
# the first cell of a table row (`CatalogAnswers._labels`)
_FIRST_CELL = re.compile(r"^(.*?) \| ", re.S)
# A question about a thesis as a whole: who wrote it, what it is about
_NAMES_THESIS = re.compile(r"(?i)\b(la|esta|esa|the|this|that)\s+(tesis|thesis)\b")
_ASKS_AUTHOR = re.compile(r"(?i)\b(qui[eé]n(es)?\s+(la\s+|lo\s+)?(escribi[oó]|redact[oó]|elabor[oó]|present[oó]|hizo)|"
                          r"autor(a|es)?|who\s+(wrote|authored|made)|authors?|written\s+by)\b")
_ASKS_ABOUT = re.compile(r"(?i)\b(de\s+qu[eé]\s+(se\s+)?trata|sobre\s+qu[eé]|tema|resumen|res[uú]me(me|la)?|resumir|"
                         r"about\s+what|what\W+s\s+(it|the\s+thesis)\s+about|what\s+is\s+(it|the\s+thesis|this\s+thesis)\s+"
                         r"about|summary|summari[sz]e|abstract|main\s+(topic|subject))\b")
# the sections that sum a document up, by the language they are written in
_SUMMARY_SECTIONS = {"resumen": "es", "resumen ejecutivo": "es", "abstract": "en", "summary": "en",
                     "executive summary": "en"}
# a summary's sentences that say what the work sets out to do and what it finds
_PURPOSE = re.compile(r"(?i)\b(tiene por objetivo|el objetivo|se propone|busca|los resultados|concluye|se sugiere\w*|"
                      r"purpose|aims?\b|objective|the results|concludes|suggest\w*)")
# the marks of an enumeration's items: «(i)», «ii)», «a)», «1)», "(c)"
_ITEM_MARK = re.compile(r"(?:^|[\s:;,])\(?(?:[ivx]{1,4}|[a-h]|\d{1,2})\)\s")
_COUNT_NOUN = (("objectives", re.compile(r"(?i)\b(objetivos|objectives)\b")),
               ("areas", re.compile(r"(?i)\b([aá]reas\s+tem[aá]ticas|thematic\s+areas|[aá]reas)\b")),
               ("ejes", re.compile(r"(?i)\b(ejes(\s+tem[aá]ticos)?|ax[ie]s)\b")))
# «objetivo 25», "objective 30", «eje 6», «área temática 7»: a number the catalog's count rules out
_OUT_OF_RANGE = (("objectives", re.compile(r"(?i)\b(objetivo|objective)\s+(?:n[°º.]?\s*)?(\d{1,2})\b")),
                 ("ejes", re.compile(r"(?i)\b(eje|axis)(?:\s+tem[aá]tico)?\s+(\d{1,2})\b")),
                 ("areas", re.compile(r"(?i)\b([aá]rea\s+tem[aá]tica|thematic\s+area)\s+(\d{1,2})\b")))
# A table's caption, a line of its own: «Tabla 23. Porcentaje de ejecución…», "Table 2: Timeline…" (its label, its
# number, its title); and its note
_CAPTION = re.compile(r"(?i)^(?P<label>(?:tabla|table|cuadro)\s+(?:n[°º.]?\s*)?(?P<number>\d{1,3}))\s*[.:—–-]\s*"
                      r"(?P<title>\S.*)", re.S)
_TABLE_NOTE = re.compile(r"(?i)^(?:notas?|fuentes?|notes?|sources?)\s*:")
# Other instruments that number their own objectives and ejes (the SDGs, strategic plans, the government's policy)
_OTHER_INSTRUMENT = re.compile(r"(?i)\b(ods|sdgs?|agenda 2030|desarrollo sostenible|sustainable development|pesem|"
                               r"pei|poi|oei|aei|estrat[eé]gic\w*|strategic|pgg|pol[ií]tica general|plan(es)?)\b")
_NUMBER_WORDS = {2: "dos", 3: "tres", 4: "cuatro", 5: "cinco", 6: "seis", 7: "siete", 8: "ocho", 9: "nueve",
                 10: "diez", 23: "veintitr[eé]s"}
_ENGLISH_NUMBERS = {4: "four", 5: "five", 23: "twenty-three"}


@dataclass(frozen=True)
class CatalogFact:
    """One sentence of a catalog answer and the verbatim unit (a table row, a caption, a sentence) that states it."""

    text: str
    chunk: Chunk
    quote: str
    about: References | None = None  # the objective or lineamiento it states, for the citation's label


def _residue(question: str, kind: str, glosses: str = "") -> set[str]:
    """The question's content words once its references, the instruments' names, the frame of `kind` and the
    words of `glosses` (the titles of what it names) are set aside: what it asks beyond the structural fact."""
    bare = _REFERENCE.sub(" ", _INSTRUMENT.sub(" ", question))
    words = set(content_words(bare, "es")) & set(content_words(bare, "en"))  # a stop word of neither language
    return content_stems(" ".join(words)) - _FRAME[kind] - content_stems(glosses)


class CatalogAnswers:
    """Finds the catalog questions and the units that state their answers, over one index's chunks."""

    def __init__(self, catalog: Catalog, chunks: list[Chunk], kinds: dict[str, str] | None = None):
        """`kinds`: each document's kind (its manifest's: "thesis", "normative"…)."""
        self.catalog = catalog
        # the one thesis of the index, if one: its cover's units, then its summary's (`_document`)
        theses = sorted({c.doc_id for c in chunks if (kinds or {}).get(c.doc_id) == "thesis"})
        own = sorted((c for c in chunks if len(theses) == 1 and c.doc_id == theses[0]), key=lambda c: c.ordinal)
        self._cover = [(c, u.text) for c in own[:1] for u in evidence_units(c)]
        self._summary = [(_SUMMARY_SECTIONS[fold(c.section_path[0]).lower()], c, u.text) for c in own
                         if c.section_path and fold(c.section_path[0]).lower() in _SUMMARY_SECTIONS
                         for u in evidence_units(c)]
        # every quotable line of the index, once: (chunk, verbatim text, folded text)
        self._units: list[tuple[Chunk, str, str]] = []
        for chunk in chunks:
            lines = [ln for ln in chunk.text.split("\n") if ln.strip()]
            texts = [u.text for u in evidence_units(chunk)]
            if chunk.kind == "table" and lines:
                texts = [lines[0], *texts]  # a caption states what the table is about
            self._units += [(chunk, t, fold(t)) for t in texts]
        # the first sentence of each action of the Compact, by objective and letter: the unit that opens with «(x)»
        self._action_first: dict[int, dict[str, tuple[str, Chunk]]] = {}
        for chunk, text, folded in self._units:
            for code in chunk.refs.gcm_actions if chunk.kind == "gcm_action" else ():
                if folded.startswith(f"({code[-1]})"):
                    self._action_first.setdefault(int(code[:-1]), {}).setdefault(code[-1], (text, chunk))
        self._holds_actions = any(chunk.kind == "gcm_action" for chunk, _, _ in self._units)
        # per table number, each document's caption and note: (chunk, line) of its first and of its last chunk
        self._captions: dict[int, dict[str, tuple[Chunk, str]]] = {}
        self._notes: dict[tuple[int, str], tuple[Chunk, str]] = {}
        for chunk in sorted(chunks, key=lambda c: (c.doc_id, c.ordinal)):
            lines = [ln.strip() for ln in chunk.text.split("\n") if ln.strip()]
            for line in lines:
                if len(line) <= 300 and (caption := _CAPTION.match(line)):
                    number = int(caption.group("number"))
                    self._captions.setdefault(number, {}).setdefault(chunk.doc_id, (chunk, line))
                    if _TABLE_NOTE.match(lines[-1]):
                        self._notes[(number, chunk.doc_id)] = (chunk, lines[-1])
        # each objective's title words (Spanish and English titles, short names): what a topic is matched against
        self._title_stems = {n: content_stems(self._titles(n)) for n in catalog.objectives}

    def answer(self, question: str, refs: References, language: str) -> list[CatalogFact]:
        """The facts that answer a structural question, each with its quote; empty when it is no catalog question
        or the index holds no unit that states the catalog's answer."""
        if _OTHER_INSTRUMENT.search(question):  # «el objetivo 17 de los ODS» is no objective of the PMM
            return []
        question = ordinals_as_numbers(question, self.catalog)  # «la primera acción del objetivo 23» as refs read it
        for route in (self._area, self._alignment, self._count, self._listing, self._members, self._action, self._actions,
                      self._wording, self._which_objective, self._table, self._document):
            facts = route(question, refs, language)
            if facts:
                return facts
        return []

    def out_of_range(self, question: str, language: str) -> tuple[str, int, CatalogFact] | None:
        """A reference the catalog cannot have («el objetivo 25», "axis 6", «el área temática 7»): what the
        question wrote, the catalog's count and the sentence of the index that states it; None when every
        reference fits, or when no indexed sentence states the count (then the ordinary route refuses)."""
        if _OTHER_INSTRUMENT.search(question):
            return None
        counts = self._counts()
        for noun, pattern in _OUT_OF_RANGE:
            for match in pattern.finditer(question):
                if counts[noun] and int(match.group(2)) > counts[noun]:
                    stated = self._stated_count(noun, counts[noun])
                    return (match.group(0), counts[noun], stated) if stated else None
        return None

    # -- routes ------------------------------------------------------------------------------
    def _titles(self, number: int) -> str:
        obj = self.catalog.objectives.get(number)
        return " ".join([obj.title_es, obj.short_es, obj.title_en, *obj.short_variants]) if obj else ""

    def _wording(self, question: str, refs: References, language: str, check: bool = True) -> list[CatalogFact]:
        """What objective N says: its row of the objectives table (Spanish) or its line of the GCM (English)."""
        if len(refs.pmm) != 1 or refs.pnm_lineamientos or refs.pnm_ejes or refs.findings:
            return []
        number = refs.pmm[0]
        obj = self.catalog.objectives.get(number)
        if obj is None or (check and _residue(question, "wording", self._titles(number))):
            return []
        line, title_en, title_es = f"objective {number}:", fold(obj.title_en)[:40], fold(obj.title_es.rstrip("."))[:40]
        numbered = re.compile(rf"{number}\s*\|")  # the row of the objectives table: «13 | Utilizar…»
        english = self._find(lambda f: f.startswith(line) and title_en in f)
        spanish = self._find(lambda f: numbered.match(f) is not None and title_es in f)
        facts = []
        about = References(pmm=[number])
        if english:
            facts.append(CatalogFact(english[1], *english, about=about))
        if spanish:
            row = spanish[1].split("|", 1)[1].strip()
            facts.append(CatalogFact(f"Objetivo {number} del PMM: {row}", *spanish, about=about))
        return (facts if language == "en" else facts[::-1])[:1]  # the question's language first

    def _action(self, question: str, refs: References, language: str) -> list[CatalogFact]:
        """What action (x) of objective N says: the action's paragraph in the Compact, quoted as written (the
        Compact is in English; a Spanish question gets the quote marked as such)."""
        if len(refs.gcm_actions) != 1 or refs.pnm_lineamientos or refs.pnm_ejes or refs.findings:
            return []
        code = refs.gcm_actions[0]
        number, letter = int(code[:-1]), code[-1]
        if _residue(ACTION_MENTION.sub(" ", question), "action", self._titles(number)):
            return []
        if (first := self._action_first.get(number, {}).get(letter)) is None:
            return []
        text, chunk = first
        return [CatalogFact(text, chunk, text, about=References(pmm=[number], gcm_actions=[code]))]

    def _actions(self, question: str, refs: References, language: str) -> list[CatalogFact]:
        """The actions the Compact lists under objective N («¿Qué acciones propone el Pacto para el objetivo 7?",
        "what actions does the GCM list under objective 12?"): the first sentence of each action's paragraph, quoted
        in the Compact's order. What Peru did for them («¿qué acciones realizó el Perú…?») is no catalog question."""
        if not self._asks_actions(question, refs):
            return []
        number = refs.pmm[0]
        about = References(pmm=[number])
        return [CatalogFact(text, chunk, text, about=about) for text, chunk in self._action_units(number)]

    def unlisted_actions(self, question: str, refs: References) -> int | None:
        """The objective whose actions the question asks for when the corpus's text of the Compact lists actions
        under other objectives but none under this one (the shipped transcription lacks objective 20's): the
        corpus cannot say what they are. None otherwise."""
        if not self._asks_actions(question, refs) or self._action_units(refs.pmm[0]):
            return None
        return refs.pmm[0] if self._holds_actions else None

    def _asks_actions(self, question: str, refs: References) -> bool:
        return len(refs.pmm) == 1 and refs == References(pmm=refs.pmm) and bool(_ASKS_ACTIONS.search(question)) \
            and not _residue(question, "actions", self._titles(refs.pmm[0]))

    def _action_units(self, number: int) -> list[tuple[str, Chunk]]:
        """The first sentence of each of objective `number`'s actions, by letter."""
        return [unit for _, unit in sorted(self._action_first.get(number, {}).items())]

    def _which_objective(self, question: str, refs: References, language: str) -> list[CatalogFact]:
        """Which objective deals with a topic («¿qué objetivo del Pacto trata de las remesas?", "which GCM objective
        deals with consular protection?"): the one objective whose titles hold the question's topic words, where
        those words are rare among the titles; then what it says. None when the topic fits several or none."""
        if not refs.is_empty() or not _ASKS_WHICH_OBJECTIVE.search(question):
            return []
        asked = _residue(question, "wording") - _FRAME["which"]
        if not asked:
            return []
        titles = self._title_stems
        spread = {stem: sum(stem in t for t in titles.values()) for stem in asked}
        score = {n: sum(1 / spread[s] for s in asked & t) for n, t in titles.items()}
        ranked = sorted(score, key=score.get, reverse=True)
        if len(ranked) < 2 or score[ranked[0]] < _TOPIC_MIN or score[ranked[0]] == score[ranked[1]]:
            return []
        number = ranked[0]
        if asked - titles[number]:  # it asks about something the objective's titles do not name
            return []
        return self._wording(question, References(pmm=[number]), language, check=False)

    def _area(self, question: str, refs: References, language: str) -> list[CatalogFact]:
        """The área temática of objective N: the row of the objectives-by-área table that pairs them (its cells
        name the área and the objective), or else a caption that does («Implementación del objetivo N del área
        temática A»); after the row, that caption as where the thesis analyses the objective. Only rows that agree
        with the catalog count: a cell shifted in the source is never quoted."""
        if len(refs.pmm) != 1 or refs.pmm_areas or not _ASKS_AREA.search(question):
            return []
        number = refs.pmm[0]
        obj = self.catalog.objectives.get(number)
        if obj is None or not obj.areas or _residue(question, "area", self._titles(number)):
            return []
        facts = []
        for area in obj.areas:
            row = re.compile(rf"^area tematica {area}: .* \| {number} \| ")
            caption = re.compile(rf"\bobjetivo {number} del area tematica {area}\b")
            if found := self._find(lambda f, row=row: f.startswith("area tematica") and row.match(f) is not None):
                cells = [c.strip() for c in found[1].split("|")]
                label, short = cells[0].split(":", 1)[1].strip(), cells[-1]
                # an English answer quotes the (Spanish) row itself: a translation of it would say more than it does
                text = found[1] if language == "en" else \
                    f"El objetivo {number} del PMM ({short}) está en el área temática {area}: {label}."
            elif found := self._find(lambda f, c=caption: f"objetivo {number} del" in f and c.search(f) is not None):
                text = found[1] if language == "en" else f"El objetivo {number} del PMM está en el área temática {area}."
            else:
                return []  # the index does not state one of its áreas: the ordinary route answers
            about = References(pmm=[number], pmm_areas=[area])
            facts.append(CatalogFact(text, *found, about=about))
            if (section := self._find(lambda f, c=caption: c.search(f) is not None)) and section[0].id != found[0].id:
                # where the thesis analyses the objective under that área: the reader's next step
                text = _analysed_in(section[1], language)
                facts.append(CatalogFact(text, *section, about=about))
        return facts

    def _alignment(self, question: str, refs: References, language: str) -> list[CatalogFact]:
        """The PMM objectives a PNM lineamiento aligns with: its row of the alignment table."""
        if len(refs.pnm_lineamientos) != 1 or refs.pmm or not _ASKS_ALIGNMENT.search(question):
            return []
        code = refs.pnm_lineamientos[0]
        lin = self.catalog.lineamiento(code)
        if lin is None or not lin.pmm_objectives or _residue(question, "alignment", lin.title_es + " " + lin.short_es):
            return []
        label = f"L{code}"
        wanted = set(lin.pmm_objectives)
        cell = re.compile(rf"\b{re.escape(label.lower())} con o(\d+)")

        def states(folded: str) -> bool:
            return f"{label.lower()} con o" in folded and {int(n) for n in cell.findall(folded)} == wanted

        found = self._find(states)
        if not found:
            return []
        chunk, line = found
        start = line.find(label)
        quote = line[start:] if start >= 0 else line
        end = quote.rfind(f"{label} con O")
        if end >= 0:  # the row as far as its own alignment cell: the cells after it belong to another list
            tail = re.match(rf"{re.escape(label)} con O\d+", quote[end:])
            quote = quote[: end + (tail.end() if tail else 0)]
        numbers = _enumerate([str(n) for n in lin.pmm_objectives], language)
        several = len(lin.pmm_objectives) > 1
        if language == "en":
            text = quote  # the (Spanish) row itself: an English paraphrase would say more than the row does
        else:  # named by its code, as the row does: the row never writes «eje 2», only «L2.4»
            text = (f"El lineamiento {label} de la PNM 2017-2025 ({lin.title_es}) se alinea con "
                    + (f"los objetivos {numbers} del PMM." if several else f"el objetivo {numbers} del PMM."))
        return [CatalogFact(text, chunk, quote, about=References(pnm_ejes=[lin.eje], pnm_lineamientos=[code]))]

    def _count(self, question: str, refs: References, language: str) -> list[CatalogFact]:
        """How many objectives, áreas temáticas or ejes: a sentence that states the catalog's figure."""
        asked = _ASKS_COUNT.search(question)
        if not refs.is_empty() or not asked:
            return []
        counts = self._counts()
        counted = question[asked.end():].strip()  # the noun right after «cuántos», "how many"
        noun = next((name for name, pattern in _COUNT_NOUN if pattern.match(counted)), None)
        if noun is None or not counts[noun] or _residue(question, "count"):
            return []
        stated = self._stated_count(noun, counts[noun])
        return [stated] if stated else []

    def _listing(self, question: str, refs: References, language: str) -> list[CatalogFact]:
        """Which the ejes (or áreas temáticas) are: the sentence that gives the catalog's count of them and names
        each, one mark per item («los cuatro ejes poblacionales objetivo: (i) peruanos y peruanas con voluntad de
        migrar; (ii) …; y, (iv) …»), quoted as written; where no sentence enumerates them all, each one's label
        as the first table row that gives it writes it («Área temática 1: Promoción de discurso…»); none when
        some item has neither."""
        asked = _ASKS_LIST.search(question)
        if not refs.is_empty() or not asked or _residue(question, "list"):
            return []
        noun = next((name for name, pattern in _COUNT_NOUN if pattern.match(asked.group("noun"))), None)
        n = self._counts().get(noun or "", 0)
        if not noun or not 1 < n <= 10:
            return []
        if stated := self._stated_count(noun, n, enumerated=True):
            return [stated]
        return self._labels(noun, n)

    def _members(self, question: str, refs: References, language: str) -> list[CatalogFact]:
        """The lineamientos of one eje, or the objectives of one área temática («¿Qué lineamientos tiene el eje 3?»,
        "how many objectives does thematic area 2 group?"), as the catalog has them: each quoted from the first
        table cell that labels it («L2.1 | 1. Suscribir y ratificar…», «2 | Minimizar factores adversos»); a count
        question is answered with the count first. None unless every member is found."""
        asked = _ASKS_MEMBERS.search(question)
        counting = _ASKS_COUNT.search(question) is not None
        if not asked or not (counting or _ASKS_WHICH.search(question)) or _residue(question, "members"):
            return []
        lineamientos = fold(asked.group("noun")).lower() in ("lineamientos", "guidelines")
        if lineamientos and refs == References(pnm_ejes=refs.pnm_ejes) and len(refs.pnm_ejes) == 1:
            eje = self.catalog.ejes.get(refs.pnm_ejes[0])
            if eje is None or not eje.lineamientos:
                return []
            # «… | L2.1 | 1. Suscribir y ratificar los instrumentos… | …»: the code's cell and the title's
            wanted = [(lin.code.lower(), re.compile(rf"(?:^| \| )({re.escape(lin.code)} \| [^|]+?)(?: \||$)"))
                      for lin in eje.lineamientos]
            owner = ("el eje", eje.number, "de la PNM", "tiene", "lineamientos") if language == "es" else \
                ("axis", eje.number, "of the PNM", "has", "guidelines")
        elif not lineamientos and refs == References(pmm_areas=refs.pmm_areas) and len(refs.pmm_areas) == 1:
            area = refs.pmm_areas[0]
            numbers = sorted(n for n, obj in self.catalog.objectives.items() if area in obj.areas)
            if not numbers:
                return []
            # the objectives-by-área table: «Área temática 2: … | 7 | Reducir vulnerabilidades»
            wanted = [(f"area tematica {area}:", re.compile(rf"^Área temática {area}:[^|]* \| ({n} \| [^|]+?)$"))
                      for n in numbers]
            owner = ("el área temática", area, "del PMM", "tiene", "objetivos") if language == "es" else \
                ("thematic area", area, "of the GCM", "has", "objectives")
        else:
            return []
        facts = []
        for key, cell in wanted:
            if (found := self._first_cell(lambda folded, key=key: key in folded, cell)) is None:
                return []
            chunk, quote = found
            # «L3.1: Gestión migratoria…», «Objetivo 2: Minimizar factores adversos»; an English answer quotes the
            # (Spanish) cell itself
            label, title = (c.strip() for c in quote.split("|", 1))
            title = re.sub(r"^\d{1,2}\.\s*", "", title)
            text = quote if language == "en" else f"{label}: {title}" if lineamientos else f"Objetivo {label}: {title}"
            facts.append(CatalogFact(text, chunk, quote))
        if counting:
            kind, number, of, has, nouns = owner
            lead = f"{kind.capitalize()} {number} {of} {has} {len(facts)} {nouns}: "
            facts[0] = CatalogFact(lead + facts[0].text, facts[0].chunk, facts[0].quote)
        return facts

    def _labels(self, noun: str, n: int) -> list[CatalogFact]:
        """Items 1…n of the áreas temáticas or ejes, each quoted from the first cell that labels it with its number
        and title («Área temática 2: Protección de los derechos humanos…»); empty unless every one is found."""
        label = {"areas": "area tematica", "ejes": "eje tematico"}.get(noun)
        if label is None:
            return []
        facts = []
        for number in range(1, n + 1):
            start = f"{label} {number}:"
            if (found := self._first_cell(lambda folded, start=start: folded.startswith(start), _FIRST_CELL)) is None:
                return []
            facts.append(CatalogFact(found[1], *found))
        return facts

    def _first_cell(self, holds: Callable[[str], bool], cell: re.Pattern) -> tuple[Chunk, str] | None:
        """What `cell` captures in the first unit, in reading order, whose folded text `holds` (a table's own row
        before a later table that repeats it; the shorter capture on a tie)."""
        hits = [(chunk, m.group(1)) for chunk, text, folded in self._units if holds(folded) and (m := cell.search(text))]
        return min(hits, key=lambda h: (h[0].ordinal, len(h[1])), default=None)

    def _document(self, question: str, refs: References, language: str) -> list[CatalogFact]:
        """Who wrote the thesis (the first line of its cover that names a person: its author comes before its
        advisers) and what it is about (the first sentences of its summary, «Resumen»/"Abstract"), quoted as
        written; for a question that names the thesis and asks nothing more."""
        if not refs.is_empty() or not _NAMES_THESIS.search(question) or _residue(question, "document"):
            return []
        if _ASKS_AUTHOR.search(question):
            named = next(((c, t) for c, t in self._cover if person_names(t)), None)
            return [CatalogFact(named[1], *named)] if named else []
        if _ASKS_ABOUT.search(question):  # its summary in the question's language, what it sets out to do first
            summary = [(c, t) for lang, c, t in self._summary if lang == language] or \
                [(c, t) for _, c, t in self._summary]
            chosen = [(c, t) for c, t in summary if _PURPOSE.search(t)][:3] or summary[:2]
            return [CatalogFact(text, chunk, text) for chunk, text in chosen]
        return []

    def _counts(self) -> dict[str, int]:
        return {"objectives": len(self.catalog.objectives), "areas": len(self.catalog.areas),
                "ejes": len(self.catalog.ejes)}

    def _stated_count(self, noun: str, n: int, enumerated: bool = False) -> CatalogFact | None:
        """The shortest indexed sentence that gives `n` as the number of objectives (of the PMM), áreas temáticas
        or ejes (of the PNM), quoted as written; `enumerated`: one that also marks each of the `n` items."""
        spelled = "|".join(filter(None, (str(n), _NUMBER_WORDS.get(n), _ENGLISH_NUMBERS.get(n))))
        stem = {"objectives": r"(objetivos|objectives)", "areas": r"(areas tematicas|thematic areas)",
                "ejes": r"(ejes|axes)"}[noun]
        figure = re.compile(rf"\b({spelled}) {stem}\b")
        owner = {"objectives": re.compile(r"\b(pmm|pacto|compact|gcm)\b"),
                 "ejes": re.compile(r"\b(politica|pnm)\b")}.get(noun)  # whose objectives, whose ejes
        nouns = {"objectives": ("objetivos", "objectives"), "areas": ("tematicas", "thematic"), "ejes": ("ejes", "axes")}
        found = self._find(lambda f: any(w in f for w in nouns[noun]) and figure.search(f) is not None and
                           (owner is None or owner.search(f) is not None) and
                           (not enumerated or len(_ITEM_MARK.findall(f)) == n))
        return CatalogFact(found[1], *found) if found else None

    def _table(self, question: str, refs: References, language: str) -> list[CatalogFact]:
        """What table N shows («¿Qué muestra la tabla 23?», "what's in table 7?"): its caption and its note, as each
        document that has a table N writes them (at most three documents), when the question asks nothing more."""
        if len(refs.tables) != 1 or refs != References(tables=refs.tables) or \
                _residue(TABLE_MENTION.sub(" ", question), "table"):
            return []
        number = refs.tables[0]
        facts = []
        about = References(tables=[number])
        for doc_id, (chunk, caption) in sorted(self._captions.get(number, {}).items())[:3]:
            facts.append(CatalogFact(caption, chunk, caption, about=about))
            if note := self._notes.get((number, doc_id)):
                facts.append(CatalogFact(note[1], *note, about=about))
        return facts

    def _find(self, test) -> tuple[Chunk, str] | None:
        """The shortest unit whose folded text passes `test` (a row or caption before a paragraph that cites it)."""
        hits = [(chunk, text) for chunk, text, folded in self._units if test(folded)]
        return min(hits, key=lambda h: len(h[1])) if hits else None


def _analysed_in(caption: str, language: str) -> str:
    """The sentence that points to the section analysing an objective, its caption quoted without a full stop
    inside («Tabla 30. Implementación…» → «…en la Tabla 30, «Implementación…».»)."""
    caption = caption.strip().rstrip(".")
    if labelled := _CAPTION.match(caption):
        label, title = labelled.group("label", "title")
        return f"The thesis analyses it in {label}, «{title}»." if language == "en" else \
            f"La tesis lo analiza en la {label}, «{title}»."
    return f"The thesis analyses it in «{caption}»." if language == "en" else f"La tesis lo analiza en «{caption}»."


def _enumerate(items: list[str], language: str) -> str:
    if len(items) <= 1:
        return "".join(items)
    joiner = " and " if language == "en" else " y "
    return ", ".join(items[:-1]) + joiner + items[-1]
