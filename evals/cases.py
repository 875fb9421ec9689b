"""The gold set as the runner asks it: single questions (evals/gold/questions.jsonl) and conversations
(evals/gold/conversations.jsonl), both in the format of notes GOLD_FORMAT.md.

Every case carries its split ("dev": tuned on; "test": held out) and style ("exam" / "typed"); records
written before the split existed are "dev" and "exam". A conversation becomes one case per turn, id
`c001#2`, asked with the earlier turns of the same conversation as its history.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_GOLD = Path(__file__).parent / "gold" / "questions.jsonl"
CONVERSATIONS_NAME = "conversations.jsonl"
SPLITS = ("dev", "test")


@dataclass
class Case:
    """One question to ask and what a right answer holds."""

    id: str
    question: str
    language: str
    category: str
    answerable: bool
    key_facts: list[str]
    evidence: list[str]
    split: str = "dev"
    style: str = "exam"
    parts: list[dict] = field(default_factory=list)
    follow_up_of: str | None = None  # single-question format: the id of the earlier question
    conversation: str | None = None  # conversations format: the conversation's id and the turn number (1-based)
    turn: int = 0

    @property
    def is_follow_up(self) -> bool:
        return bool(self.follow_up_of) or self.turn >= 2

    @property
    def group(self) -> str:
        """The question or conversation the case goes with: a follow-up question with the one it follows, a turn
        with its conversation (what a fold holds together, and what a resampling draws together)."""
        return self.follow_up_of or self.conversation or self.id


def _read_jsonl(path: Path) -> list[dict]:
    out = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError as exc:
            raise RuntimeError(f"{path}, línea {number}: JSON no válido ({exc.msg}); corrija esa línea") from exc
    return out


def case_from_record(record: dict, **extra) -> Case:
    """A case from one gold record (a question, or a conversation turn with the conversation's fields)."""
    try:
        return Case(id=record["id"], question=record["question"], language=record["language"],
                    category=record["category"], answerable=bool(record["answerable"]),
                    key_facts=list(record.get("key_facts", [])),
                    evidence=[e["text"] for e in record.get("evidence", [])],
                    split=record.get("split", "dev"), style=record.get("style", "exam"),
                    parts=list(record.get("parts", [])), follow_up_of=record.get("follow_up_of"), **extra)
    except KeyError as exc:
        raise RuntimeError(f"pregunta {record.get('id', '?')}: falta el campo {exc.args[0]!r}") from exc


def load_questions(path: Path | str) -> list[Case]:
    cases = [case_from_record(r) for r in _read_jsonl(Path(path))]
    bad = [c.id for c in cases if c.split not in SPLITS]
    if bad:
        raise RuntimeError(f"{path}: split desconocido en {', '.join(bad[:5])} (use «dev» o «test»)")
    return cases


def load_conversations(path: Path | str) -> list[list[Case]]:
    """Each conversation as its list of turn cases (split, style and language from the conversation)."""
    conversations = []
    for record in _read_jsonl(Path(path)):
        turns = []
        for n, turn in enumerate(record.get("turns", []), 1):
            turn = {"language": record.get("language", "es"), **turn, "id": f"{record['id']}#{n}",
                    "split": record.get("split", "dev"), "style": record.get("style", "exam")}
            turns.append(case_from_record(turn, conversation=record["id"], turn=n))
        conversations.append(turns)
    return conversations


def conversations_path(gold_path: Path | str) -> Path | None:
    """The conversations file beside a questions file, when there is one."""
    path = Path(gold_path).parent / CONVERSATIONS_NAME
    return path if path.is_file() else None


def gold_digest(*paths: Path | None) -> str:
    digest = hashlib.sha256()
    for path in paths:
        if path is not None:
            digest.update(path.read_bytes() + b"\x1e")
    return digest.hexdigest()
