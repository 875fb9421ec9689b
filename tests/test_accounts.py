"""Accounts: argon2 password hashes, roles, hashed API and session tokens, and the `users` command."""

from __future__ import annotations

import hashlib
import json
import sqlite3

import pytest

from assistant.accounts import LOCAL_USER, ROLES, AccountError, Accounts, User
from cli import main


@pytest.fixture()
def accounts(tmp_path) -> Accounts:
    return Accounts(tmp_path / "accounts.sqlite")


def test_passwords_are_salted_argon2_hashes_and_verify(accounts):
    accounts.add("ana", "reader", "clave-de-ana")
    accounts.add("eva", "editor", "clave-de-ana")  # the same password: a different salt, a different hash
    rows = dict(sqlite3.connect(accounts.path).execute("SELECT name, password_hash FROM users").fetchall())
    assert all(h.startswith("$argon2id$") for h in rows.values())
    assert rows["ana"] != rows["eva"]
    assert b"clave-de-ana" not in accounts.path.read_bytes()
    assert accounts.verify("ana", "clave-de-ana") == User("ana", "reader")
    assert accounts.verify("ana", "clave-de-eva") is None
    assert accounts.verify("nadie", "clave-de-ana") is None


def test_roles_are_ordered(accounts):
    reader, editor, admin = (User(n, r) for n, r in zip(("r", "e", "a"), ROLES, strict=True))
    assert reader.can("ask") and reader.can("export") and not reader.can("documents") and not reader.can("users")
    assert editor.can("documents") and not editor.can("users")
    assert admin.can("users") and admin.can("documents")
    assert LOCAL_USER.can("users")


@pytest.mark.parametrize(("name", "role", "password", "says"), [
    ("ana maría", "reader", "suficiente", "nombre de usuario no válido"),
    ("ana", "jefe", "suficiente", "rol desconocido"),
    ("ana", "reader", "corta", "al menos 8"),
])
def test_bad_accounts_are_refused_with_a_reason(accounts, name, role, password, says):
    with pytest.raises(AccountError, match=says):
        accounts.add(name, role, password)
    assert not accounts.exists()


def test_a_name_is_taken_once(accounts):
    accounts.add("ana", "reader", "clave-de-ana")
    with pytest.raises(AccountError, match="ya existe"):
        accounts.add("ana", "admin", "otra-clave-1")
    assert accounts.user("ana").role == "reader"


def test_tokens_are_stored_only_as_hashes_and_can_be_revoked(accounts):
    accounts.add("ana", "reader", "clave-de-ana")
    token = accounts.new_token("ana")
    stored = sqlite3.connect(accounts.path).execute("SELECT hash, kind FROM tokens").fetchall()
    assert stored == [(hashlib.sha256(token.encode()).hexdigest(), "api")]
    assert token.encode() not in accounts.path.read_bytes()
    assert accounts.user_for_token(token, "api") == User("ana", "reader")
    assert accounts.user_for_token(token, "session") is None  # an API token is no web session
    assert accounts.user_for_token(token[:-1] + ("A" if token[-1] != "A" else "B"), "api") is None
    assert accounts.revoke("ana") == 1
    assert accounts.user_for_token(token, "api") is None


def test_sessions_expire_and_end(accounts):
    accounts.add("ana", "reader", "clave-de-ana")
    expired = accounts.new_token("ana", "session", hours=-1)
    assert accounts.user_for_token(expired, "session") is None
    live = accounts.new_token("ana", "session", hours=1)
    assert accounts.user_for_token(live, "session") == User("ana", "reader")
    accounts.end_session(live)
    assert accounts.user_for_token(live, "session") is None


def test_removing_a_user_removes_their_tokens(accounts):
    accounts.add("ana", "reader", "clave-de-ana")
    token = accounts.new_token("ana")
    accounts.remove("ana")
    assert accounts.user_for_token(token, "api") is None
    assert sqlite3.connect(accounts.path).execute("SELECT COUNT(*) FROM tokens").fetchone() == (0,)
    with pytest.raises(AccountError, match="no existe"):
        accounts.remove("ana")


def test_users_command(tmp_path, capsys):
    data = str(tmp_path)
    assert main(["users", "list", "--data", data]) == 0
    assert "Sin cuentas" in capsys.readouterr().out
    assert main(["users", "add", "ana", "--role", "editor", "--password", "clave-de-ana", "--data", data]) == 0
    assert main(["users", "add", "ana", "--role", "reader", "--password", "clave-de-ana", "--data", data]) == 1
    assert "ya existe" in capsys.readouterr().err
    assert main(["users", "token", "ana", "--data", data]) == 0
    token = capsys.readouterr().out.strip()
    accounts = Accounts(tmp_path / "accounts.sqlite")
    assert accounts.user_for_token(token, "api") == User("ana", "editor")
    assert main(["users", "list", "--json", "--data", data]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(u["name"], u["role"], u["api_tokens"]) for u in listed] == [("ana", "editor", 1)]
    assert main(["users", "token", "ana", "--revoke", "--data", data]) == 0
    assert accounts.user_for_token(token, "api") is None
    assert main(["users", "remove", "ana", "--data", data]) == 0
    assert main(["users", "remove", "ana", "--data", data]) == 1
    assert not accounts.exists()
