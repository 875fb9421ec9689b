"""How the workspace's SQLite files (accounts, conversations) are opened: one place for the pragmas."""

from __future__ import annotations

import sqlite3
from pathlib import Path


def open_db(path: Path, schema: str) -> sqlite3.Connection:
    """A connection to a workspace file, created with its schema when new: foreign keys enforced, WAL journal
    (a killed writer leaves the last committed state), 30 s for a lock held by another session."""
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(str(path), timeout=30)
    db.execute("PRAGMA foreign_keys=ON")
    db.execute("PRAGMA journal_mode=WAL")
    db.executescript(schema)
    return db
