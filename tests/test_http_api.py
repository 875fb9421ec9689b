"""The HTTP API of app.py over real HTTP: the `openai` client and LangChain's ChatOpenAI against /v1, /api with
conversations and exports, 401s, one user's token against another's conversation, the citation viewer."""

from __future__ import annotations

import html as html_lib
import io
import json
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest

from assistant.accounts import Accounts

pytestmark = pytest.mark.slow

FIRST = "¿Qué hizo el Perú en relación con el objetivo 14 del PMM?"
FOLLOW_UP = "¿Y qué dificultades hubo?"


@pytest.fixture(scope="module")
def server(small_index, tmp_path_factory, app_server, private_index):
    root = tmp_path_factory.mktemp("http_api")
    index = private_index(small_index, root / "data")
    accounts = Accounts(index.data_dir / "accounts.sqlite")
    accounts.add("ana", "reader", "clave-de-ana")
    accounts.add("eva", "editor", "clave-de-eva")
    tokens = {name: accounts.new_token(name) for name in ("ana", "eva")}
    app = app_server(index, root / "app.log").start()
    yield app, tokens, accounts
    app.stop()


def call(url: str, token: str | None = None, body: dict | None = None, method: str | None = None):
    """(status, parsed JSON or raw bytes, content type) of one request."""
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            raw, status, kind = response.read(), response.status, response.headers.get("content-type", "")
    except urllib.error.HTTPError as err:
        raw, status, kind = err.read(), err.code, err.headers.get("content-type", "")
    return status, (json.loads(raw) if kind.startswith("application/json") else raw), kind


def test_every_route_answers_401_json_without_a_valid_token(server):
    app, tokens, accounts = server
    routes = [("POST", "/api/ask", {"question": FIRST}), ("GET", "/api/conversations", None),
              ("GET", "/api/conversations/abc", None), ("GET", "/api/conversations/abc/export?format=md", None),
              ("GET", "/v1/models", None), ("POST", "/v1/chat/completions",
                                            {"model": "policy-assistant", "messages": [{"role": "user", "content": FIRST}]}),
              ("GET", "/view/informe_consular:00000:x", None), ("GET", "/source/informe_consular", None),
              ("GET", "/api/users", None)]
    for method, path, body in routes:
        for token in (None, "pa_not-a-real-token", tokens["ana"][:-2]):
            status, reply, kind = call(app.url + path, token, body, method)
            assert status == 401, (path, token, status)
            assert kind.startswith("application/json") and reply["error"]["type"] == "authentication_error"
            assert ("Bearer" in reply["error"]["message"]) if token is None else ("no es válido" in reply["error"]["message"])
    revoked = accounts.new_token("ana")
    assert call(app.url + "/v1/models", revoked)[0] == 200
    accounts.revoke("ana")
    assert call(app.url + "/v1/models", revoked)[0] == 401
    tokens["ana"] = accounts.new_token("ana")


def test_ask_saves_conversations_and_a_token_cannot_read_anothers(server):
    app, tokens, _ = server
    status, first, _ = call(app.url + "/api/ask", tokens["ana"], {"question": FIRST, "id": "q1"})
    assert status == 200 and first["id"] == "q1" and not first["abstained"] and "[1]" in first["answer"]
    assert first["citations"] and first["contexts"] and first["turn"] == 1
    conversation_id = first["conversation_id"]
    status, follow, _ = call(app.url + "/api/ask", tokens["ana"], {"question": FOLLOW_UP, "conversation_id": conversation_id})
    assert status == 200 and follow["conversation_id"] == conversation_id and follow["turn"] == 2
    assert "objetivo 14" in follow["resolved_question"]  # the follow-up leaned on the saved first turn

    listed = call(app.url + "/api/conversations", tokens["ana"])[1]
    assert [(c["id"], c["title"], c["turns"]) for c in listed] == [(conversation_id, FIRST, 2)]
    assert call(app.url + "/api/conversations", tokens["eva"])[1] == []
    for method, path, body in [("GET", f"/api/conversations/{conversation_id}", None),
                               ("GET", f"/api/conversations/{conversation_id}/export?format=docx", None),
                               ("PATCH", f"/api/conversations/{conversation_id}", {"title": "de eva"}),
                               ("DELETE", f"/api/conversations/{conversation_id}", None),
                               ("POST", "/api/ask", {"question": FOLLOW_UP, "conversation_id": conversation_id})]:
        status, reply, _ = call(app.url + path, tokens["eva"], body, method)
        assert status == 404 and conversation_id in reply["error"]["message"], path
    assert call(app.url + f"/api/conversations/{conversation_id}", tokens["ana"])[1]["title"] == FIRST
    assert len(call(app.url + "/api/conversations", tokens["ana"])[1]) == 1  # eva's attempt made nothing


def test_export_over_http_is_a_docx_with_numbered_references(server):
    from docx import Document

    app, tokens, _ = server
    conversation_id = call(app.url + "/api/ask", tokens["eva"], {"question": FIRST})[1]["conversation_id"]
    status, raw, kind = call(app.url + f"/api/conversations/{conversation_id}/export?format=docx", tokens["eva"])
    assert status == 200 and kind.startswith("application/vnd.openxmlformats-officedocument.wordprocessingml")
    doc = Document(io.BytesIO(raw))
    assert [p.text for p in doc.paragraphs if p.style.name.startswith("Heading")] == [f"Pregunta 1: {FIRST}", "Fuentes"]
    assert any(p.style.name == "List Number" and p.text.startswith("[1] ") for p in doc.paragraphs)
    status, markdown, _ = call(app.url + f"/api/conversations/{conversation_id}/export?format=md&turn=1", tokens["eva"])
    assert status == 200 and markdown.decode().startswith("# Conversación: ")
    status, reply, _ = call(app.url + f"/api/conversations/{conversation_id}/export?format=pdf", tokens["eva"])
    assert status == 400 and "docx" in reply["error"]["message"]
    status, reply, _ = call(app.url + f"/api/conversations/{conversation_id}/export?format=md&turn=9", tokens["eva"])
    assert status == 404


def test_only_admins_manage_users(server):
    app, tokens, accounts = server
    for name in ("ana", "eva"):  # a reader and an editor
        status, reply, _ = call(app.url + "/api/users", tokens[name])
        assert status == 403 and "admin" in reply["error"]["message"]
    accounts.add("jefa", "admin", "clave-de-jefa")
    boss = accounts.new_token("jefa")
    assert {u["name"] for u in call(app.url + "/api/users", boss)[1]} == {"ana", "eva", "jefa"}
    status, reply, _ = call(app.url + "/api/users", boss, {"name": "luis", "role": "reader", "password": "corta"})
    assert status == 400 and "8 caracteres" in reply["error"]["message"]
    assert call(app.url + "/api/users", boss, {"name": "luis", "role": "reader", "password": "clave-de-luis"})[0] == 200
    assert accounts.verify("luis", "clave-de-luis").role == "reader"
    assert call(app.url + "/api/users/luis", tokens["eva"], method="DELETE")[0] == 403
    assert call(app.url + "/api/users/luis", boss, method="DELETE")[0] == 200
    assert accounts.user("luis") is None
    assert call(app.url + "/api/users/jefa", boss, method="DELETE")[0] == 400


def test_bad_requests_are_json_errors_with_a_message(server):
    app, tokens, _ = server
    status, reply, _ = call(app.url + "/api/ask", tokens["ana"], {"pregunta": FIRST})
    assert status == 400 and "question" in reply["error"]["message"] and "pregunta" in reply["error"]["message"]
    status, reply, _ = call(app.url + "/api/ask", tokens["ana"], {"question": "   "})
    assert status == 400 and "vacía" in reply["error"]["message"]
    status, reply, _ = call(app.url + "/v1/chat/completions", tokens["ana"],
                            {"model": "policy-assistant", "messages": [{"role": "assistant", "content": "hola"}]})
    assert status == 400 and "último mensaje" in reply["error"]["message"]


def test_openai_client_with_and_without_streaming(server):
    import openai

    app, tokens, _ = server
    client = openai.OpenAI(base_url=app.url + "/v1", api_key=tokens["ana"], max_retries=0)
    assert [m.id for m in client.models.list()] == ["policy-assistant"]
    reference = call(app.url + "/api/ask", tokens["ana"], {"question": FIRST})[1]

    completion = client.chat.completions.create(model="policy-assistant", messages=[{"role": "user", "content": FIRST}])
    content = completion.choices[0].message.content
    assert content == reference["answer"] and "[1]" in content
    assert completion.model_extra["citations"] == reference["citations"]

    stream = client.chat.completions.create(model="policy-assistant", stream=True,
                                            messages=[{"role": "user", "content": FIRST}])
    chunks = list(stream)
    assert len(chunks) >= 3
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == content
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert chunks[-1].model_extra["citations"] == reference["citations"]

    with pytest.raises(openai.AuthenticationError, match="no es válido"):
        openai.OpenAI(base_url=app.url + "/v1", api_key="pa_wrong", max_retries=0).models.list()


def test_earlier_messages_are_the_follow_up_history(server):
    import openai

    app, tokens, _ = server
    client = openai.OpenAI(base_url=app.url + "/v1", api_key=tokens["ana"], max_retries=0)
    saved = call(app.url + "/api/ask", tokens["ana"], {"question": FIRST})[1]
    follow = call(app.url + "/api/ask", tokens["ana"], {"question": FOLLOW_UP,
                                                        "conversation_id": saved["conversation_id"]})[1]
    messages = [{"role": "system", "content": "Responda con fuentes."}, {"role": "user", "content": FIRST},
                {"role": "assistant", "content": saved["answer"]}, {"role": "user", "content": FOLLOW_UP}]
    completion = client.chat.completions.create(model="policy-assistant", messages=messages)
    assert completion.choices[0].message.content == follow["answer"]
    alone = client.chat.completions.create(model="policy-assistant", messages=[{"role": "user", "content": FOLLOW_UP}])
    assert alone.model_extra["citations"] != follow["citations"]  # without the history it is another question


def test_langchain_chat_openai(server):
    from langchain_openai import ChatOpenAI

    app, tokens, _ = server
    reference = call(app.url + "/api/ask", tokens["ana"], {"question": FIRST})[1]
    chat = ChatOpenAI(base_url=app.url + "/v1", api_key=tokens["ana"], model="policy-assistant", max_retries=0)
    assert chat.invoke(FIRST).content == reference["answer"]
    assert "".join(part.content for part in chat.stream(FIRST)) == reference["answer"]


def test_pdf_citation_view_highlights_the_quote_on_the_rendered_page(server):
    from PIL import Image

    app, tokens, _ = server
    answer = call(app.url + "/api/ask", tokens["ana"], {"question": FIRST})[1]
    citation = next(c for c in answer["citations"] if c["doc_id"] == "informe_consular")
    quote = urllib.parse.quote(citation["quote"])
    status, page, kind = call(app.url + f"/view/{urllib.parse.quote(citation['chunk_id'])}?quote={quote}", tokens["ana"])
    html = page.decode()
    assert status == 200 and kind.startswith("text/html")
    assert "class='hl'" in html and "data-boxes='0'" not in html
    assert f"p. {citation['page']}" in html and "download-original" not in html  # a reader: no original
    status, png, kind = call(app.url + f"/view/{urllib.parse.quote(citation['chunk_id'])}/page.png", tokens["ana"])
    image = Image.open(io.BytesIO(png))
    assert status == 200 and kind == "image/png" and abs(image.height / image.width - 842 / 595) < 0.01

    status, html_editor, _ = call(app.url + f"/view/{urllib.parse.quote(citation['chunk_id'])}?quote={quote}",
                                  tokens["eva"])
    assert "download-original" in html_editor.decode()
    status, original, _ = call(app.url + "/source/informe_consular", tokens["eva"])
    assert status == 200 and original.startswith(b"%PDF")
    status, reply, _ = call(app.url + "/source/informe_consular", tokens["ana"])
    assert status == 403 and "reader" in reply["error"]["message"]


def test_text_citation_view_shows_the_passage_in_its_section(server):
    app, tokens, _ = server
    answer = call(app.url + "/api/ask", tokens["ana"], {"question": "¿Cómo se vincula a los peruanos en el exterior?"})[1]
    citation = next(c for c in answer["citations"] if c["doc_id"] == "vinculacion")
    url = f"/view/{urllib.parse.quote(citation['chunk_id'])}?quote={urllib.parse.quote(citation['quote'])}"
    status, page, _ = call(app.url + url, tokens["ana"])
    html = page.decode()
    assert status == 200 and f"<mark>{html_lib.escape(citation['quote'])}</mark>" in html
    assert "class='section'" in html and "id='cited'" in html
    status, reply, _ = call(app.url + "/view/no-such-chunk", tokens["ana"])
    assert status == 404 and "no-such-chunk" in reply["error"]["message"]


def test_twenty_concurrent_requests_get_the_answers_of_one_at_a_time(server):
    app, tokens, _ = server
    questions = [FIRST, "¿Qué dificultades limitaron la asistencia consular?",
                 "¿Qué recomienda el informe sobre los consulados honorarios?",
                 "¿Qué hacen las oficinas de retorno de la Cancillería?"]
    sequential = {q: call(app.url + "/v1/chat/completions", tokens["ana"],
                          {"model": "policy-assistant", "messages": [{"role": "user", "content": q}]})[1]
                  for q in questions}
    with ThreadPoolExecutor(max_workers=20) as pool:
        replies = list(pool.map(lambda q: (q, call(app.url + "/v1/chat/completions", tokens["ana"],
                                                   {"model": "policy-assistant",
                                                    "messages": [{"role": "user", "content": q}]})), questions * 5))
    for question, (status, reply, _) in replies:
        assert status == 200
        assert reply["choices"][0]["message"]["content"] == sequential[question]["choices"][0]["message"]["content"]
        assert reply["citations"] == sequential[question]["citations"]
