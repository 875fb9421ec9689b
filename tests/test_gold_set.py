"""Checks the gold question set (evals/gold/questions.jsonl) and the probe (evals/probe/questions.jsonl) against
their schema and the corpus.

Every evidence span must be a verbatim copy of text on one line of the named corpus file, and every
key fact must be findable (case-insensitively) in the evidence of its own question. Each record belongs
to a split (dev: tuned on; test: held out) and a style (exam: well-formed; typed: as users type), and a
multi-part question lists its parts, naming the ones the corpus does not cover. The size targets of
issue 11 are counted together with the conversations file (evals/gold/conversations.jsonl) when it exists.
The probe, written after the last change to the pipeline to be measured once as it stood, is all held out and
asks for no fact the gold set asks for.
"""

import json
import re
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
GOLD_FILE = ROOT / "evals" / "gold" / "questions.jsonl"
CONVERSATIONS_FILE = ROOT / "evals" / "gold" / "conversations.jsonl"
PROBE_FILE = ROOT / "evals" / "probe" / "questions.jsonl"
PROBE_CONVERSATIONS = ROOT / "evals" / "probe" / "conversations.jsonl"
CORPUS = ROOT / "corpus"
DOC_FILES = {
    "tesis_bendezu_2022": "tesis_bendezu_2022_pmm_peru.md",
    "gcm_2018_en": "gcm_objectives_actions_en.txt",
}
CATEGORIES = {
    "pmm_objective",
    "implementation",
    "pnm",
    "finding",
    "table_fact",
    "number",
    "cross_reference",
    "gcm_action",
    "glossary",
    "follow_up",
    "unanswerable",
}
LANGUAGES = {"es", "en"}
SPLITS = {"dev", "test"}
STYLES = {"exam", "typed"}
# q001-q160 were written and tuned on by the team before the split existed: they can only be dev.
LAST_TUNED_ID = 160
PART_KEYS = {"question", "answerable", "key_facts"}
REQUIRED = {
    "id": str,
    "question": str,
    "language": str,
    "category": str,
    "answerable": bool,
    "reference_answer": str,
    "key_facts": list,
    "evidence": list,
    "split": str,
    "style": str,
}
OPTIONAL = {"follow_up_of": str, "parts": list}
MARKUP = ("*", "<u>", "</u>", "<i>", "</i>", "\\$")


def _read(path: Path) -> list[dict]:
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines, f"{path} is empty"
    out = []
    for n, line in enumerate(lines, 1):
        assert line.strip(), f"blank line {n} in {path}"
        out.append(json.loads(line))
    return out


@pytest.fixture(scope="module")
def gold():
    return _read(GOLD_FILE)


@pytest.fixture(scope="module", params=[GOLD_FILE, PROBE_FILE], ids=["gold", "probe"])
def records(request):
    """The single questions of the gold set, then of the probe: both must hold to the schema and the corpus."""
    return _read(request.param)


@pytest.fixture(scope="module")
def conversations():
    """The conversation turns' records, or None when the conversations file has not been written yet."""
    if not CONVERSATIONS_FILE.exists():
        return None
    return [json.loads(line) for line in CONVERSATIONS_FILE.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.fixture(scope="module")
def toc_range(corpus_lines):
    """Line range of the thesis's ÍNDICE / ÍNDICE DE TABLAS (from "ÍNDICE" to the body's "INTRODUCCIÓN")."""
    thesis = [line.strip() for line in corpus_lines["tesis_bendezu_2022"]]
    start = thesis.index("ÍNDICE")
    end = thesis.index("INTRODUCCIÓN", start)
    return range(start, end)


@pytest.fixture(scope="module")
def corpus_lines():
    return {
        doc_id: (CORPUS / name).read_text(encoding="utf-8").split("\n") for doc_id, name in DOC_FILES.items()
    }


@pytest.mark.parametrize("path", [GOLD_FILE, CONVERSATIONS_FILE, PROBE_FILE, PROBE_CONVERSATIONS])
def test_file_is_utf8_without_ascii_escapes(path):
    raw = path.read_bytes().decode("utf-8")
    assert "\\u00" not in raw, "write the file with ensure_ascii=False"


def test_schema(records):
    for r in records:
        rid = r.get("id")
        missing = set(REQUIRED) - set(r)
        assert not missing, f"{rid}: missing fields {missing}"
        extra = set(r) - set(REQUIRED) - set(OPTIONAL)
        assert not extra, f"{rid}: unexpected fields {extra}"
        for field, typ in {**REQUIRED, **OPTIONAL}.items():
            if field in r:
                assert isinstance(r[field], typ), f"{rid}: {field} should be {typ.__name__}"
        assert re.fullmatch(r"[qp]\d{3}", rid), f"bad id {rid!r}"
        assert r["language"] in LANGUAGES, f"{rid}: language {r['language']!r}"
        assert r["category"] in CATEGORIES, f"{rid}: category {r['category']!r}"
        assert r["split"] in SPLITS, f"{rid}: split {r['split']!r}"
        assert r["style"] in STYLES, f"{rid}: style {r['style']!r}"
        assert r["question"].strip() and r["reference_answer"].strip(), f"{rid}: empty question or answer"
        assert all(isinstance(k, str) and k.strip() for k in r["key_facts"]), f"{rid}: bad key fact"
        for ev in r["evidence"]:
            assert set(ev) == {"doc_id", "text"}, f"{rid}: evidence keys {set(ev)}"
            assert ev["doc_id"] in DOC_FILES, f"{rid}: unknown doc_id {ev['doc_id']!r}"


def test_ids_unique(records):
    ids = [r["id"] for r in records]
    dupes = [i for i, c in Counter(ids).items() if c > 1]
    assert not dupes, f"duplicate ids: {dupes}"


def test_questions_unique(records):
    texts = [r["question"].strip().lower() for r in records]
    dupes = [t for t, c in Counter(texts).items() if c > 1 and len(t) > 25]
    assert not dupes, f"duplicate questions: {dupes}"


def test_answerable_vs_unanswerable(records):
    for r in records:
        rid = r["id"]
        if r["category"] == "unanswerable":
            assert r["answerable"] is False, f"{rid}: unanswerable must have answerable=false"
            assert r["key_facts"] == [], f"{rid}: unanswerable items have no key facts"
            assert r["evidence"] == [], f"{rid}: unanswerable items have no evidence"
        else:
            assert r["answerable"] is True, f"{rid}: only unanswerable items may be answerable=false"
            assert 1 <= len(r["evidence"]) <= 3, f"{rid}: needs 1-3 evidence spans"
            assert 1 <= len(r["key_facts"]) <= 3, f"{rid}: needs 1-3 key facts"


def test_follow_ups_point_to_earlier_items(records):
    seen = set()
    for r in records:
        rid = r["id"]
        if r["category"] == "follow_up":
            assert "follow_up_of" in r, f"{rid}: follow-up without follow_up_of"
            assert r["follow_up_of"] in seen, f"{rid}: follow_up_of {r['follow_up_of']} is not an earlier id"
        else:
            assert "follow_up_of" not in r, f"{rid}: follow_up_of only belongs on follow-up questions"
        seen.add(rid)


def test_counts(gold):
    records = gold
    cats = Counter(r["category"] for r in records)
    langs = Counter(r["language"] for r in records)
    assert len(records) >= 270, f"only {len(records)} single questions; issue 11 asks for at least 270"
    assert sum(1 for r in records if r["category"] == "follow_up" and r.get("follow_up_of")) >= 6
    assert langs["en"] >= 20
    assert langs["es"] > langs["en"], "the set should be mostly Spanish"
    for cat in CATEGORIES:
        assert cats[cat] >= 1, f"no question in category {cat}"
    typed_en = sum(1 for r in records if r["style"] == "typed" and r["language"] == "en")
    assert typed_en >= 20, f"only {typed_en} typed questions in English"
    with_uncovered_part = sum(1 for r in records if any(not p["answerable"] for p in r.get("parts", [])))
    assert with_uncovered_part >= 3, "too few multi-part questions with a part the corpus does not cover"


def test_counts_with_conversations(gold, conversations):
    """Issue 11: >= 300 questions (single ones plus conversation turns), >= 40 unanswerable, >= 1/3 typed."""
    records = gold
    turns = [(conv.get("style"), turn) for conv in conversations or [] for turn in conv["turns"]]
    total = len(records) + len(turns)
    unanswerable = sum(1 for r in records if r["category"] == "unanswerable")
    unanswerable += sum(1 for _, turn in turns if turn.get("category") == "unanswerable")
    typed = sum(1 for r in records if r["style"] == "typed") + sum(1 for style, _ in turns if style == "typed")
    assert unanswerable >= 40, f"only {unanswerable} unanswerable questions"
    assert 3 * typed >= total, f"only {typed} of {total} questions are typed as users type"
    if conversations is not None:
        assert total >= 300, f"only {total} questions counting conversation turns"


def test_splits(gold):
    """The team's questions stay dev; of the new ones, at most 60% are dev and at least 230 are held out: the
    held-out part stays large enough to measure on (dev grew by 88 typed questions in December 2026, written so
    that dev, like the held-out part, is mostly typed as users type; then the held-out part by 88 more, written
    blind to the gold set and the assistant: at 158 questions, a refit alone moved it by several questions)."""
    records = gold
    for r in records:
        if int(r["id"][1:]) <= LAST_TUNED_ID:
            assert r["split"] == "dev", f"{r['id']}: the team tuned on it, so it cannot be held out"
    new = [r for r in records if int(r["id"][1:]) > LAST_TUNED_ID]
    assert new, "no question beyond the team's tuned set"
    dev_share = sum(1 for r in new if r["split"] == "dev") / len(new)
    assert 0.25 <= dev_share <= 0.60, f"{dev_share:.0%} of the new questions are dev; at most 60% expected"
    held_out = [r for r in new if r["split"] == "test"]
    assert len(held_out) >= 230, f"only {len(held_out)} held-out questions"
    for style in STYLES:
        assert any(r["style"] == style for r in held_out), f"no held-out question of style {style}"
    for cat in CATEGORIES - {"follow_up"}:
        assert any(r["category"] == cat for r in held_out), f"no held-out question in category {cat}"


def test_parts(records):
    """A multi-part question names each part; its top-level fields follow from the answerable parts."""
    for r in records:
        if "parts" not in r:
            continue
        rid, parts = r["id"], r["parts"]
        assert len(parts) >= 2, f"{rid}: a multi-part question needs at least two parts"
        for p in parts:
            assert isinstance(p, dict) and set(p) == PART_KEYS, f"{rid}: a part needs exactly {sorted(PART_KEYS)}"
            assert isinstance(p["question"], str) and p["question"].strip(), f"{rid}: empty part question"
            assert isinstance(p["answerable"], bool), f"{rid}: part answerable must be a bool"
            assert isinstance(p["key_facts"], list), f"{rid}: part key_facts must be a list"
            if p["answerable"]:
                assert p["key_facts"], f"{rid}: answerable part without key facts: {p['question']!r}"
            else:
                assert p["key_facts"] == [], f"{rid}: a part the corpus does not cover has no key facts"
        assert r["answerable"] == any(p["answerable"] for p in parts), f"{rid}: answerable must follow its parts"
        covered = [fact for p in parts if p["answerable"] for fact in p["key_facts"]]
        assert r["key_facts"] == covered, f"{rid}: key_facts must be those of the answerable parts"


def test_evidence_is_verbatim_on_one_line(records, corpus_lines, toc_range):
    problems = []
    for r in records:
        for ev in r["evidence"]:
            text = ev["text"]
            hits = [i for i, line in enumerate(corpus_lines[ev["doc_id"]]) if text in line]
            if not hits:
                problems.append(f"{r['id']}: not found on any single line of {ev['doc_id']}: {text[:70]!r}")
            elif ev["doc_id"] == "tesis_bendezu_2022" and all(i in toc_range for i in hits):
                problems.append(f"{r['id']}: span only occurs in the table of contents: {text[:70]!r}")
    assert not problems, "\n".join(problems)


def test_evidence_span_shape(records):
    problems = []
    for r in records:
        for ev in r["evidence"]:
            text = ev["text"]
            words = len(text.split())
            if not 6 <= words <= 35:
                problems.append(f"{r['id']}: span has {words} words: {text[:70]!r}")
            if "\n" in text or "\t" in text:
                problems.append(f"{r['id']}: span crosses a line or a table cell: {text[:70]!r}")
            if any(m in text for m in MARKUP):
                problems.append(f"{r['id']}: span contains markup: {text[:70]!r}")
    assert not problems, "\n".join(problems)


def test_key_facts_occur_in_evidence(records):
    problems = []
    for r in records:
        evidence = " ".join(ev["text"] for ev in r["evidence"]).lower()
        for fact in r["key_facts"]:
            if fact.lower() not in evidence:
                problems.append(f"{r['id']}: key fact {fact!r} not in its evidence")
    assert not problems, "\n".join(problems)


def test_no_personal_data_from_authorization_form(records, corpus_lines):
    """The front matter's authorization form (author's ID number, signature data) is never used."""
    thesis = corpus_lines["tesis_bendezu_2022"]
    start = next(i for i, line in enumerate(thesis) if "FORMULARIO DE AUTORIZACI" in line)
    end = next(i for i, line in enumerate(thesis) if line.strip() == "AGRADECIMIENTOS")
    form_lines = thesis[start:end]
    for r in records:
        blob = " ".join([r["question"], r["reference_answer"], *r["key_facts"]])
        assert not re.search(r"\bDNI\s*N", blob), f"{r['id']}: mentions the form's DNI field"
        assert not re.search(r"\b\d{8}\b", blob), f"{r['id']}: contains an 8-digit ID-like number"
        for ev in r["evidence"]:
            if ev["doc_id"] != "tesis_bendezu_2022":
                continue
            elsewhere = [line for i, line in enumerate(thesis) if ev["text"] in line and not start <= i < end]
            in_form = any(ev["text"] in line for line in form_lines)
            assert elsewhere or not in_form, f"{r['id']}: evidence taken from the authorization form"


def test_probe_is_held_out_and_asks_nothing_the_gold_set_asks(gold):
    """The probe is measured, never tuned on: all held out, and none of its questions or evidence spans (its
    conversations' turns included) is one of the gold set's."""
    probe = _read(PROBE_FILE)
    turns = [turn for conv in _read(PROBE_CONVERSATIONS) for turn in conv["turns"]]
    gold_turns = [turn for conv in _read(CONVERSATIONS_FILE) for turn in conv["turns"]]
    assert all(r["split"] == "test" for r in probe) and all(c["split"] == "test" for c in _read(PROBE_CONVERSATIONS))
    asked = {r["question"].strip().lower() for r in [*gold, *gold_turns]}
    spans = {ev["text"] for r in [*gold, *gold_turns] for ev in r["evidence"]}
    for r in [*probe, *turns]:
        assert r["question"].strip().lower() not in asked, f"the gold set already asks {r['question']!r}"
        assert not {ev["text"] for ev in r["evidence"]} & spans, f"{r['question']!r}: a gold evidence span"
    assert sum(r["category"] == "unanswerable" for r in probe) >= 10 and len(turns) >= 10


@pytest.mark.parametrize("path", [CONVERSATIONS_FILE, PROBE_CONVERSATIONS], ids=["gold", "probe"])
def test_conversation_turns_hold_to_the_corpus(path, corpus_lines):
    """Each turn of a conversation: a later turn resolved in full, its evidence verbatim on one line of its
    document, its key facts in its evidence, none for an unanswerable turn."""
    problems = []
    for conv in _read(path):
        assert conv["split"] in SPLITS and conv["style"] in STYLES and conv["language"] in LANGUAGES, conv["id"]
        assert len(conv["turns"]) >= 2, f"{conv['id']}: a conversation has at least two turns"
        for n, turn in enumerate(conv["turns"], 1):
            where = f"{conv['id']}#{n}"
            if n > 1 and not turn.get("resolved", "").strip():
                problems.append(f"{where}: a follow-up turn needs its resolved question")
            if not turn["answerable"]:
                assert not turn["key_facts"] and not turn["evidence"], where
                continue
            for ev in turn["evidence"]:
                if not any(ev["text"] in line for line in corpus_lines[ev["doc_id"]]):
                    problems.append(f"{where}: not on one line of {ev['doc_id']}: {ev['text'][:70]!r}")
            evidence = " ".join(ev["text"] for ev in turn["evidence"]).lower()
            problems += [f"{where}: key fact {f!r} not in its evidence" for f in turn["key_facts"]
                         if f.lower() not in evidence]
    assert not problems, "\n".join(problems)
