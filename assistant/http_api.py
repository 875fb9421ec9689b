"""The HTTP side of app.py, on the web chat's port (Gradio is mounted at `/` of this FastAPI app):

- `GET/POST /login`, `GET /logout`: the web login (a session cookie; the chat itself checks it through
  Gradio's `auth_dependency`);
- `POST /api/ask`, `GET /api/conversations`, `GET|PATCH|DELETE /api/conversations/{id}`,
  `GET /api/conversations/{id}/export?format=docx|md[&turn=N]`; `GET|POST /api/users`, `DELETE /api/users/{name}`
  (admins);
- `POST /v1/chat/completions` (OpenAI-compatible, model `policy-assistant`, `"stream": true` as server-sent
  events, a top-level `citations` list as in `ask --json`), `GET /v1/models`;
- `GET /view/{chunk_id}?quote=…` (the cited page or passage), `/view/{chunk_id}/page.png`,
  `GET /source/{doc_id}` (the original file, for the roles in `app.download_roles`).

Every route takes `Authorization: Bearer TOKEN` or the session cookie and, when accounts exist, answers 401
without one. Errors are JSON: `{"error": {"message", "type", "code"}}` (the OpenAI shape, so that its clients
raise them with the message).
"""

from __future__ import annotations

import html
import json
import secrets
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from fastapi import FastAPI, Form, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from assistant import pageview
from assistant.accounts import AccountError, User
from assistant.conversations import ConversationNotFound
from assistant.exports import FORMATS, MEDIA_TYPES, export_conversation
from assistant.prompts import message
from assistant.query import understand
from assistant.types import Answer, Filters, Turn
from assistant.workspace import SESSION_COOKIE, Workspace

MODEL_ID = "policy-assistant"


class ApiError(Exception):
    def __init__(self, status: int, kind: str, text: str):
        super().__init__(text)
        self.status, self.kind, self.text = status, kind, text


class FiltersIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    doc_ids: list[str] = Field(default_factory=list)
    pmm_objectives: list[int] = Field(default_factory=list)
    pnm_ejes: list[int] = Field(default_factory=list)


class AskIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    question: str
    conversation_id: str | None = None
    filters: FiltersIn | None = None
    id: str | None = None


class RenameIn(BaseModel):
    title: str


class UserIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    role: str
    password: str


class ChatMessageIn(BaseModel):
    role: str
    content: str | list[dict] | None = None

    def text(self) -> str:
        if isinstance(self.content, list):  # content parts: only the text ones carry the question
            return "\n".join(str(p.get("text", "")) for p in self.content if p.get("type") == "text")
        return self.content or ""


class ChatIn(BaseModel):
    model_config = ConfigDict(extra="allow")  # temperature, max_tokens… are accepted and ignored
    model: str = MODEL_ID
    messages: list[ChatMessageIn]
    stream: bool = False


def _error(status: int, kind: str, text: str) -> JSONResponse:
    return JSONResponse({"error": {"message": text, "type": kind, "code": status}}, status_code=status)


def build_api(workspace: Workspace) -> FastAPI:
    settings = workspace.settings
    assistant = workspace.assistant
    language = settings.app.language
    api = FastAPI(title="Asistente de política migratoria", docs_url=None, redoc_url=None, openapi_url=None)

    @api.exception_handler(ApiError)
    async def _api_error(_request: Request, exc: ApiError):
        return _error(exc.status, exc.kind, exc.text)

    @api.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError):
        detail = "; ".join(f"{'.'.join(str(p) for p in e['loc'][1:]) or 'body'}: {e['msg']}" for e in exc.errors())
        return _error(400, "invalid_request_error", message("bad_request", language).format(detail=detail))

    @api.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException):
        return _error(exc.status_code, "http_error", str(exc.detail))

    def caller(request: Request) -> User:
        user = workspace.user_of(request.headers, request.cookies)
        if user is not None:
            return user
        has_credentials = "authorization" in request.headers or SESSION_COOKIE in request.cookies
        raise ApiError(401, "authentication_error", message("auth_invalid" if has_credentials else "auth_required",
                                                            language))

    def conversation(user: User, conversation_id: str):
        try:
            return workspace.conversations.get(user.name, conversation_id)
        except ConversationNotFound:
            raise ApiError(404, "not_found", message("conversation_not_found", language).format(
                id=conversation_id)) from None

    @api.middleware("http")
    async def login_first(request: Request, call_next):
        """A browser opening the chat without a session goes to the login page (Gradio alone would say 401)."""
        if (request.method == "GET" and request.url.path == "/" and not workspace.open_mode
                and workspace.user_of(request.headers, request.cookies) is None):
            return RedirectResponse("/login", status_code=303)
        return await call_next(request)

    # -- login -----------------------------------------------------------------------------
    def login_page(lang: str, failed: bool = False) -> str:
        notice = f"<p id='login-error' role='alert'>{html.escape(message('login_failed', lang))}</p>" if failed else ""
        return (f"<!doctype html><html lang='{lang}'><head><meta charset='utf-8'><title>"
                f"{html.escape(message('login_title', lang))}</title><style>body{{font-family:system-ui,sans-serif;"
                "max-width:24rem;margin:4rem auto}label,input,button{display:block;width:100%;margin:.4rem 0}"
                "input,button{padding:.5rem;font-size:1rem}#login-error{color:#b00}</style></head><body>"
                f"<h1>{html.escape(message('login_title', lang))}</h1>{notice}<form method='post' action='/login'>"
                f"<label for='username'>{html.escape(message('login_user', lang))}</label>"
                "<input id='username' name='username' autocomplete='username' required>"
                f"<label for='password'>{html.escape(message('login_password', lang))}</label>"
                "<input id='password' name='password' type='password' autocomplete='current-password' required>"
                f"<button id='login' type='submit'>{html.escape(message('login_button', lang))}</button></form>"
                "</body></html>")

    @api.get("/login", response_class=HTMLResponse)
    def login_form(lang: str = Query(language, pattern="^(es|en)$")):
        return HTMLResponse(login_page(lang))

    @api.post("/login")
    def login(username: str = Form(""), password: str = Form("")):
        token = workspace.login(username.strip(), password)
        if token is None:
            return HTMLResponse(login_page(language, failed=True), status_code=401)
        response = RedirectResponse("/", status_code=303)
        response.set_cookie(SESSION_COOKIE, token, max_age=int(settings.app.session_hours * 3600), httponly=True,
                            samesite="lax")
        return response

    @api.get("/logout")
    def logout(request: Request):
        if session := request.cookies.get(SESSION_COOKIE):
            workspace.accounts.end_session(session)
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE)
        return response

    # -- conversations -----------------------------------------------------------------------
    @api.post("/api/ask")
    def api_ask(body: AskIn, request: Request):
        user = caller(request)
        if not body.question.strip():
            raise ApiError(400, "invalid_request_error", message("empty_question", language))
        filters = Filters(**body.filters.model_dump()) if body.filters else None
        if body.conversation_id:
            conversation(user, body.conversation_id)
        answer, conversation_id, n = workspace.ask(user, body.question, body.conversation_id, filters, id=body.id)
        return {**answer.to_dict(), "conversation_id": conversation_id, "turn": n}

    @api.get("/api/conversations")
    def api_conversations(request: Request):
        return workspace.conversations.list(caller(request).name)

    @api.get("/api/conversations/{conversation_id}")
    def api_conversation(conversation_id: str, request: Request):
        found = conversation(caller(request), conversation_id)
        return {**found.summary(), "turns": [t.to_dict() for t in found.turns]}

    @api.patch("/api/conversations/{conversation_id}")
    def api_rename(conversation_id: str, body: RenameIn, request: Request):
        user = caller(request)
        conversation(user, conversation_id)
        try:
            workspace.conversations.rename(user.name, conversation_id, body.title)
        except ValueError as exc:
            raise ApiError(400, "invalid_request_error", message("bad_request", language).format(detail=exc)) from None
        return conversation(user, conversation_id).summary()

    @api.delete("/api/conversations/{conversation_id}")
    def api_delete(conversation_id: str, request: Request):
        user = caller(request)
        conversation(user, conversation_id)
        workspace.conversations.delete(user.name, conversation_id)
        return {"deleted": conversation_id}

    @api.get("/api/conversations/{conversation_id}/export")
    def api_export(conversation_id: str, request: Request, format: str = Query("docx"), turn: int | None = None):
        user = caller(request)
        found = conversation(user, conversation_id)
        if format not in FORMATS:
            raise ApiError(400, "invalid_request_error", message("bad_request", language).format(
                detail=message("bad_export_format", language).format(format=format)))
        if turn is not None and not any(t.n == turn for t in found.turns):
            raise ApiError(404, "not_found", message("conversation_not_found", language).format(
                id=f"{conversation_id}#{turn}"))
        # Written to a private temporary folder and sent: nothing of a user's conversation stays in a folder the
        # chat serves files from (data/exports holds the briefing notes).
        with tempfile.TemporaryDirectory() as folder:
            path = export_conversation(found, format, Path(folder), turn, language)
            content = path.read_bytes()
        return Response(content, media_type=MEDIA_TYPES[format],
                        headers={"Content-Disposition": f'attachment; filename="{path.name}"'})

    # -- users (admins) ------------------------------------------------------------------------
    def admin(request: Request) -> User:
        user = caller(request)
        if not user.can("users"):
            raise ApiError(403, "permission_error", message("role_forbidden", language).format(
                role=user.role, needed="admin"))
        return user

    @api.get("/api/users")
    def api_users(request: Request):
        admin(request)
        return workspace.accounts.users()

    @api.post("/api/users")
    def api_add_user(body: UserIn, request: Request):
        admin(request)
        try:
            user = workspace.accounts.add(body.name, body.role, body.password)
        except AccountError as exc:
            raise ApiError(400, "invalid_request_error", str(exc)) from None
        return {"name": user.name, "role": user.role}

    @api.delete("/api/users/{name}")
    def api_remove_user(name: str, request: Request):
        if admin(request).name == name:
            raise ApiError(400, "invalid_request_error", message("bad_request", language).format(
                detail=message("cannot_remove_self", language)))
        try:
            workspace.accounts.remove(name)
        except AccountError as exc:
            raise ApiError(404, "not_found", str(exc)) from None
        return {"deleted": name}

    # -- OpenAI-compatible -------------------------------------------------------------------
    @api.get("/v1/models")
    def models(request: Request):
        caller(request)
        return {"object": "list", "data": [{"id": MODEL_ID, "object": "model", "created": 0,
                                            "owned_by": "policy-assistant"}]}

    def history_of(messages: list[ChatMessageIn]) -> list[Turn]:
        """Earlier user messages and the assistant replies after them, as the follow-up context."""
        turns: list[Turn] = []
        pending: str | None = None
        for m in messages:
            if m.role == "user":
                pending = m.text()
            elif m.role == "assistant" and pending is not None:
                query = understand(pending, turns, assistant.catalog, language, similar=assistant.retriever.word_similarity)
                answer = Answer(question=pending, language=query.language, answer=m.text(), abstained=False,
                                citations=[], passages=[], backend="", timings_ms={}, resolved_question=query.resolved)
                turns = [*turns, assistant.turn_of(answer)][-6:]
                pending = None
        return turns

    @api.post("/v1/chat/completions")
    def chat_completions(body: ChatIn, request: Request):
        caller(request)
        if body.model != MODEL_ID:
            raise ApiError(404, "model_not_found", message("bad_request", language).format(
                detail=message("unknown_model", language).format(model=body.model, expected=MODEL_ID)))
        if not body.messages or body.messages[-1].role != "user":
            raise ApiError(400, "invalid_request_error", message("bad_request", language).format(
                detail=message("last_message_not_user", language)))
        history = history_of(body.messages[:-1])
        question = body.messages[-1].text()
        completion_id = f"chatcmpl-{secrets.token_hex(12)}"
        created = int(time.time())
        if body.stream:
            return StreamingResponse(_sse(assistant, question, history, completion_id, created),
                                     media_type="text/event-stream", headers={"Cache-Control": "no-cache"})
        answer = assistant.ask(question, history)
        return {"id": completion_id, "object": "chat.completion", "created": created, "model": MODEL_ID,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": answer.answer},
                             "finish_reason": "stop"}],
                "citations": [c.to_dict() for c in answer.citations], "abstained": answer.abstained,
                "language": answer.language}

    # -- the cited source ----------------------------------------------------------------------
    def cited_chunk(chunk_id: str):
        chunk = assistant.retriever.docstore.get([chunk_id]).get(chunk_id)
        document = assistant.documents.get(chunk.doc_id) if chunk else None
        if chunk is None or document is None:
            raise ApiError(404, "not_found", message("citation_not_found", language).format(id=chunk_id))
        return chunk, document

    @api.get("/view/{chunk_id}", response_class=HTMLResponse)
    def view(chunk_id: str, request: Request, quote: str = "", label: str = ""):
        user = caller(request)
        chunk, document = cited_chunk(chunk_id)
        download = f"/source/{document.id}" if user.role in settings.app.download_roles else ""
        if pageview.is_pdf(document):
            highlight = pageview.locate(pageview.source_path(settings.index, document), chunk.page, quote)
            image = f"/view/{chunk_id}/page.png"
            return pageview.pdf_page_html(document, chunk, quote, highlight, image, label or document.title, download,
                                          language)
        neighbours = [c for c in assistant.retriever.docstore.neighbours(chunk.doc_id, chunk.ordinal, span=3)
                      if c.section_path == chunk.section_path]
        return pageview.text_passage_html(document, chunk, neighbours, quote, label or document.title, download,
                                          language)

    @api.get("/view/{chunk_id}/page.png")
    def view_page_image(chunk_id: str, request: Request):
        caller(request)
        chunk, document = cited_chunk(chunk_id)
        if not pageview.is_pdf(document):
            raise ApiError(404, "not_found", message("citation_not_found", language).format(id=chunk_id))
        path = pageview.source_path(settings.index, document)
        png = pageview.render_page(path, pageview.pdf_page_index(path, chunk.page))
        return Response(png, media_type="image/png", headers={"Cache-Control": "private, max-age=3600"})

    @api.get("/source/{doc_id}")
    def source(doc_id: str, request: Request):
        user = caller(request)
        if user.role not in settings.app.download_roles:
            raise ApiError(403, "permission_error", message("role_forbidden", language).format(
                role=user.role, needed=", ".join(settings.app.download_roles)))
        document = assistant.documents.get(doc_id)
        path = pageview.source_path(settings.index, document) if document else None
        if path is None or not path.is_file():
            raise ApiError(404, "not_found", message("citation_not_found", language).format(id=doc_id))
        return FileResponse(path, filename=path.name)

    return api


def _chunk(completion_id: str, created: int, delta: dict, finish: str | None = None, **extra) -> str:
    payload = {"id": completion_id, "object": "chat.completion.chunk", "created": created, "model": MODEL_ID,
               "choices": [{"index": 0, "delta": delta, "finish_reason": finish}], **extra}
    return f"data: {json.dumps(payload, ensure_ascii=False)}\n\n"


def _sse(assistant, question: str, history: list[Turn], completion_id: str, created: int) -> Iterator[str]:
    """The role at once, then the checked answer paragraph by paragraph, the citations on the last chunk.
    The content is the final answer (with its [n] markers and intro): sentences are checked against their
    passages before any is sent, so what streams is exactly what the non-streaming call returns."""
    yield _chunk(completion_id, created, {"role": "assistant", "content": ""})
    answer = assistant.ask(question, history)
    paragraphs = answer.answer.split("\n\n")
    for i, paragraph in enumerate(paragraphs):
        yield _chunk(completion_id, created, {"content": paragraph + ("\n\n" if i < len(paragraphs) - 1 else "")})
    yield _chunk(completion_id, created, {}, "stop", citations=[c.to_dict() for c in answer.citations],
                 abstained=answer.abstained)
    yield "data: [DONE]\n\n"
