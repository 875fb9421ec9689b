"""Saved conversations: every turn (question, resolved question, answer, citations, feedback) per user, in SQLite
in the data folder.

Every read and write names its owner: a conversation of another user is «not found», never someone else's.
A reopened conversation continues with its follow-up context: `history()` rebuilds the `Turn`s that
`Assistant.turn_of` made when each answer was given.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import threading
from contextlib import closing
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from assistant.types import Answer, Citation, Turn
from assistant.workspace_db import open_db

HISTORY_TURNS = 6  # the follow-up context the chat has always kept
TITLE_CHARS = 80

_SCHEMA = """
CREATE TABLE IF NOT EXISTS conversations (id TEXT PRIMARY KEY, owner TEXT NOT NULL, title TEXT NOT NULL,
                                          created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS conversations_owner ON conversations(owner, updated_at);
CREATE TABLE IF NOT EXISTS turns (conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
                                  n INTEGER NOT NULL, question TEXT NOT NULL, resolved_question TEXT NOT NULL,
                                  answer TEXT NOT NULL, language TEXT NOT NULL, abstained INTEGER NOT NULL,
                                  citations TEXT NOT NULL, turn TEXT NOT NULL, feedback INTEGER,
                                  created_at TEXT NOT NULL, PRIMARY KEY (conversation_id, n));
"""


class ConversationNotFound(LookupError):
    """No conversation of that id belongs to the caller."""

    def __init__(self, conversation_id: str):
        super().__init__(conversation_id)
        self.conversation_id = conversation_id


@dataclass
class StoredTurn:
    n: int
    question: str
    resolved_question: str
    answer: str
    language: str
    abstained: bool
    citations: list[Citation]
    turn: Turn
    feedback: bool | None
    created_at: str

    def to_dict(self) -> dict:
        return {"n": self.n, "question": self.question, "resolved_question": self.resolved_question,
                "answer": self.answer, "language": self.language, "abstained": self.abstained,
                "citations": [c.to_dict() for c in self.citations], "feedback": self.feedback,
                "created_at": self.created_at}


@dataclass
class Conversation:
    id: str
    owner: str
    title: str
    created_at: str
    updated_at: str
    turns: list[StoredTurn] = field(default_factory=list)

    def summary(self) -> dict:
        return {"id": self.id, "title": self.title, "updated_at": self.updated_at, "turns": len(self.turns)}


_clock = threading.Lock()
_last_stamp = ""


def _now() -> str:
    """Now, in UTC to the millisecond, and later than any stamp this process gave before: a conversation renamed
    or continued in the same millisecond another was created still lists as the most recently used."""
    global _last_stamp
    with _clock:
        stamp = datetime.now(UTC).isoformat(timespec="milliseconds")
        if stamp <= _last_stamp:
            stamp = (datetime.fromisoformat(_last_stamp) + timedelta(milliseconds=1)).isoformat(timespec="milliseconds")
        _last_stamp = stamp
        return stamp


def _title(text: str) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= TITLE_CHARS else text[:TITLE_CHARS - 1].rstrip() + "…"


class ConversationStore:
    """One SQLite file; a connection per call, so that concurrent sessions never share one."""

    def __init__(self, path: Path):
        self.path = path

    def _connect(self) -> sqlite3.Connection:
        return open_db(self.path, _SCHEMA)

    @staticmethod
    def _owned(db: sqlite3.Connection, owner: str, conversation_id: str) -> tuple:
        row = db.execute("SELECT id, owner, title, created_at, updated_at FROM conversations WHERE id = ? AND owner = ?",
                         (conversation_id, owner)).fetchone()
        if row is None:
            raise ConversationNotFound(conversation_id)
        return row

    def create(self, owner: str, title: str = "") -> Conversation:
        now = _now()
        conversation = Conversation(secrets.token_hex(8), owner, _title(title), now, now)
        with closing(self._connect()) as db, db:
            db.execute("INSERT INTO conversations VALUES (?, ?, ?, ?, ?)",
                       (conversation.id, owner, conversation.title, now, now))
        return conversation

    def list(self, owner: str) -> list[dict]:
        """The owner's conversations, the most recently used first."""
        with closing(self._connect()) as db:
            rows = db.execute("SELECT c.id, c.title, c.updated_at, COUNT(t.n) FROM conversations c LEFT JOIN turns t "
                              "ON t.conversation_id = c.id WHERE c.owner = ? GROUP BY c.id "
                              "ORDER BY c.updated_at DESC, c.id", (owner,)).fetchall()
        return [{"id": r[0], "title": r[1], "updated_at": r[2], "turns": r[3]} for r in rows]

    def get(self, owner: str, conversation_id: str) -> Conversation:
        with closing(self._connect()) as db:
            conversation = Conversation(*self._owned(db, owner, conversation_id))
            rows = db.execute("SELECT n, question, resolved_question, answer, language, abstained, citations, turn, "
                              "feedback, created_at FROM turns WHERE conversation_id = ? ORDER BY n",
                              (conversation_id,)).fetchall()
        for r in rows:
            conversation.turns.append(StoredTurn(
                n=r[0], question=r[1], resolved_question=r[2], answer=r[3], language=r[4], abstained=bool(r[5]),
                citations=[Citation(**c) for c in json.loads(r[6])], turn=Turn(**json.loads(r[7])),
                feedback=None if r[8] is None else bool(r[8]), created_at=r[9]))
        return conversation

    def rename(self, owner: str, conversation_id: str, title: str) -> None:
        title = _title(title)
        if not title:
            raise ValueError("el título está vacío")
        with closing(self._connect()) as db, db:
            self._owned(db, owner, conversation_id)
            db.execute("UPDATE conversations SET title = ?, updated_at = ? WHERE id = ?",
                       (title, _now(), conversation_id))

    def delete(self, owner: str, conversation_id: str) -> None:
        with closing(self._connect()) as db, db:
            self._owned(db, owner, conversation_id)
            db.execute("DELETE FROM conversations WHERE id = ?", (conversation_id,))

    def add_turn(self, owner: str, conversation_id: str, answer: Answer, turn: Turn) -> int:
        """Save one answered question; the conversation takes the first question as its title. Returns its number."""
        with closing(self._connect()) as db, db:
            _, _, title, _, _ = self._owned(db, owner, conversation_id)
            n = db.execute("SELECT COALESCE(MAX(n), 0) + 1 FROM turns WHERE conversation_id = ?",
                           (conversation_id,)).fetchone()[0]
            now = _now()
            db.execute("INSERT INTO turns VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                       (conversation_id, n, answer.question, answer.resolved_question or answer.question,
                        answer.answer, answer.language, int(answer.abstained),
                        json.dumps([c.to_dict() for c in answer.citations], ensure_ascii=False),
                        json.dumps(asdict(turn), ensure_ascii=False), None, now))
            db.execute("UPDATE conversations SET title = ?, updated_at = ? WHERE id = ?",
                       (title or _title(answer.question), now, conversation_id))
        return n

    def set_feedback(self, owner: str, conversation_id: str, n: int, liked: bool) -> None:
        with closing(self._connect()) as db, db:
            self._owned(db, owner, conversation_id)
            if db.execute("UPDATE turns SET feedback = ? WHERE conversation_id = ? AND n = ?",
                          (int(liked), conversation_id, n)).rowcount == 0:
                raise ConversationNotFound(f"{conversation_id}#{n}")

    def history(self, owner: str, conversation_id: str) -> list[Turn]:
        """The follow-up context of a conversation: its last turns, as the assistant kept them."""
        return [t.turn for t in self.get(owner, conversation_id).turns[-HISTORY_TURNS:]]
