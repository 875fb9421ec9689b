"""The workspace the web chat and the HTTP API share: who is asking (accounts, sessions, API tokens) and
their saved conversations, around one `Assistant`.

One authentication mechanism for both: a request carries `Authorization: Bearer TOKEN` (an API token) or the
`pa_session` cookie of a web login; with no account configured at all, everyone is the local admin (the app
then listens on 127.0.0.1 only).
"""

from __future__ import annotations

import ipaddress

from assistant.accounts import LOCAL_USER, Accounts, User
from assistant.api import Assistant
from assistant.conversations import ConversationStore
from assistant.settings import Settings
from assistant.types import Answer, Filters, Turn

SESSION_COOKIE = "pa_session"


def accounts_for(settings: Settings) -> Accounts:
    return Accounts(settings.data_dir / settings.app.accounts_file)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class Workspace:
    def __init__(self, assistant: Assistant):
        self.assistant = assistant
        self.settings = assistant.settings
        self.accounts = accounts_for(self.settings)
        self.conversations = ConversationStore(self.settings.data_dir / self.settings.app.conversations_file)

    @property
    def open_mode(self) -> bool:
        """No account configured: the local open mode. Asked each time, so that `users add` takes effect live."""
        return not self.accounts.exists()

    def user_of(self, headers, cookies) -> User | None:
        """The caller of an HTTP request (Starlette headers and cookies), or None."""
        if self.open_mode:
            return LOCAL_USER
        scheme, _, token = (headers.get("authorization") or "").partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            return self.accounts.user_for_token(token.strip(), "api")
        session = cookies.get(SESSION_COOKIE)
        return self.accounts.user_for_token(session, "session") if session else None

    def user_named(self, name: str | None) -> User | None:
        """The user a Gradio request was authenticated as (its `username`)."""
        if self.open_mode:
            return LOCAL_USER
        return self.accounts.user(name) if name else None

    def login(self, name: str, password: str) -> str | None:
        """A new web-session token, when the password is right."""
        user = self.accounts.verify(name, password)
        if user is None:
            return None
        return self.accounts.new_token(user.name, "session", hours=self.settings.app.session_hours)

    def history(self, user: User, conversation_id: str | None) -> list[Turn]:
        return self.conversations.history(user.name, conversation_id) if conversation_id else []

    def record(self, user: User, conversation_id: str | None, answer: Answer) -> tuple[str, int]:
        """Save an answer as the next turn of the conversation (a new one when there is none yet)."""
        if not conversation_id:
            conversation_id = self.conversations.create(user.name, answer.question).id
        n = self.conversations.add_turn(user.name, conversation_id, answer, self.assistant.turn_of(answer))
        return conversation_id, n

    def ask(self, user: User, question: str, conversation_id: str | None = None, filters: Filters | None = None,
            id: str | None = None) -> tuple[Answer, str, int]:
        """Answer within a conversation (its earlier turns are the follow-up context) and save the turn."""
        history = self.history(user, conversation_id)  # raises ConversationNotFound for another's conversation
        answer = self.assistant.ask(question, history, filters, id=id)
        conversation_id, n = self.record(user, conversation_id, answer)
        return answer, conversation_id, n
