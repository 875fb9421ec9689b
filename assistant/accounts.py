"""Accounts: named users with a role, their argon2 password hashes and their tokens, in SQLite in the data folder.

Roles are ordered: a *reader* asks and exports; an *editor* also adds and manages documents (and downloads the
cited originals, by default: `app.download_roles`); an *admin* also manages users. Tokens — API tokens (`users token NAME`) and web
sessions (a login) — are random strings given to the user once and stored only as their SHA-256 hash, so a copy
of the data folder lets nobody in. With no account at all, the app runs in the local open mode: one implicit
`local` admin, on 127.0.0.1 only (app.py refuses any other address).
"""

from __future__ import annotations

import hashlib
import re
import secrets
import sqlite3
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from assistant.workspace_db import open_db

ROLES = ("reader", "editor", "admin")
# The least role each action needs.
# (Downloading a cited original is granted by role in `app.download_roles`: editors and admins by default.)
PERMISSIONS = {"ask": "reader", "export": "reader", "documents": "editor", "users": "admin"}
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{1,63}$")
MIN_PASSWORD = 8
TOKEN_PREFIX = "pa_"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS users (name TEXT PRIMARY KEY, role TEXT NOT NULL, password_hash TEXT NOT NULL,
                                  created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tokens (hash TEXT PRIMARY KEY, user TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
                                   kind TEXT NOT NULL, created_at TEXT NOT NULL, expires_at TEXT);
CREATE INDEX IF NOT EXISTS tokens_user ON tokens(user, kind);
"""


class AccountError(ValueError):
    """A user-management request that cannot be done (unknown user, bad role, weak password…)."""


@dataclass(frozen=True)
class User:
    name: str
    role: str

    def can(self, action: str) -> bool:
        return ROLES.index(self.role) >= ROLES.index(PERMISSIONS[action])


LOCAL_USER = User("local", "admin")


def _now() -> datetime:
    return datetime.now(UTC)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Accounts:
    """The accounts file. A connection per call: the app's request threads share nothing but the file."""

    def __init__(self, path: Path):
        self.path = path
        self.hasher = PasswordHasher()
        # Verifying against this when the user does not exist keeps a wrong name as slow as a wrong password.
        self._dummy_hash = self.hasher.hash(secrets.token_hex(8))

    def _connect(self) -> sqlite3.Connection:
        return open_db(self.path, _SCHEMA)

    def exists(self) -> bool:
        """Whether any account is configured (the file is not created just to ask)."""
        if not self.path.exists():
            return False
        with closing(self._connect()) as db:
            return db.execute("SELECT 1 FROM users LIMIT 1").fetchone() is not None

    def add(self, name: str, role: str, password: str) -> User:
        if not NAME_PATTERN.match(name or ""):
            raise AccountError(f"nombre de usuario no válido: {name!r} (2-64 letras, cifras, «._@-», sin espacios)")
        if role not in ROLES:
            raise AccountError(f"rol desconocido: {role!r} (use {', '.join(ROLES)})")
        if len(password or "") < MIN_PASSWORD:
            raise AccountError(f"la contraseña debe tener al menos {MIN_PASSWORD} caracteres")
        with closing(self._connect()) as db, db:
            if db.execute("SELECT 1 FROM users WHERE name = ?", (name,)).fetchone():
                raise AccountError(f"el usuario {name!r} ya existe (elimínelo antes con «users remove {name}»)")
            db.execute("INSERT INTO users VALUES (?, ?, ?, ?)",
                       (name, role, self.hasher.hash(password), _now().isoformat(timespec="seconds")))
        return User(name, role)

    def remove(self, name: str) -> None:
        with closing(self._connect()) as db, db:
            if db.execute("DELETE FROM users WHERE name = ?", (name,)).rowcount == 0:
                raise AccountError(f"no existe el usuario {name!r}")

    def users(self) -> list[dict]:
        """Users with their role, creation date and number of live API tokens."""
        with closing(self._connect()) as db:
            rows = db.execute("SELECT u.name, u.role, u.created_at, COUNT(t.hash) FROM users u LEFT JOIN tokens t "
                              "ON t.user = u.name AND t.kind = 'api' GROUP BY u.name ORDER BY u.name").fetchall()
        return [{"name": r[0], "role": r[1], "created_at": r[2], "api_tokens": r[3]} for r in rows]

    def user(self, name: str) -> User | None:
        with closing(self._connect()) as db:
            row = db.execute("SELECT name, role FROM users WHERE name = ?", (name,)).fetchone()
        return User(*row) if row else None

    def verify(self, name: str, password: str) -> User | None:
        """The user, when the password is theirs."""
        with closing(self._connect()) as db:
            row = db.execute("SELECT name, role, password_hash FROM users WHERE name = ?", (name or "",)).fetchone()
        try:
            self.hasher.verify(row[2] if row else self._dummy_hash, password or "")
        except (VerificationError, InvalidHashError):
            return None
        if row is None:
            return None
        if self.hasher.check_needs_rehash(row[2]):
            with closing(self._connect()) as db, db:
                db.execute("UPDATE users SET password_hash = ? WHERE name = ?", (self.hasher.hash(password), name))
        return User(row[0], row[1])

    def new_token(self, name: str, kind: str = "api", hours: float | None = None) -> str:
        """A fresh token for the user (shown once; only its hash is kept). `hours`: when it expires."""
        if self.user(name) is None:
            raise AccountError(f"no existe el usuario {name!r}")
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        expires = (_now() + timedelta(hours=hours)).isoformat(timespec="seconds") if hours else None
        with closing(self._connect()) as db, db:
            db.execute("INSERT INTO tokens VALUES (?, ?, ?, ?, ?)",
                       (_digest(token), name, kind, _now().isoformat(timespec="seconds"), expires))
        return token

    def revoke(self, name: str, kind: str = "api") -> int:
        """Revoke every token of a kind of the user; returns how many there were."""
        if self.user(name) is None:
            raise AccountError(f"no existe el usuario {name!r}")
        with closing(self._connect()) as db, db:
            return db.execute("DELETE FROM tokens WHERE user = ? AND kind = ?", (name, kind)).rowcount

    def end_session(self, token: str) -> None:
        with closing(self._connect()) as db, db:
            db.execute("DELETE FROM tokens WHERE hash = ? AND kind = 'session'", (_digest(token),))

    def user_for_token(self, token: str, kind: str) -> User | None:
        if not token or not token.startswith(TOKEN_PREFIX) or not self.path.exists():
            return None
        with closing(self._connect()) as db:
            row = db.execute("SELECT u.name, u.role, t.expires_at FROM tokens t JOIN users u ON u.name = t.user "
                             "WHERE t.hash = ? AND t.kind = ?", (_digest(token), kind)).fetchone()
        if row is None or (row[2] and datetime.fromisoformat(row[2]) < _now()):
            return None
        return User(row[0], row[1])
