"""The web chat in a real browser: Debian's Chromium driven by Playwright, against app.py on 127.0.0.1.

A missing browser fails these tests (CI installs it with `make browser`); screenshots go to test-output/.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from benchmarks.common import free_port, stop

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
SHOTS = ROOT / "test-output" / "screenshots"
CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="module")
def app_url(shipped_index, tmp_path_factory):
    port = free_port()
    env = {**os.environ, "PA_INDEX__DATA_DIR": str(shipped_index.data_dir), "GRADIO_SERVER_PORT": str(port),
           "GRADIO_SERVER_NAME": "127.0.0.1", "GRADIO_ANALYTICS_ENABLED": "False", "HF_HUB_OFFLINE": "1"}
    log = tmp_path_factory.mktemp("app") / "app.log"
    with log.open("w") as out:
        proc = subprocess.Popen([sys.executable, str(ROOT / "app.py")], cwd=ROOT, env=env, stdout=out,
                                stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2)
            break
        except OSError:
            if proc.poll() is not None:
                pytest.fail(f"app.py exited: {log.read_text()[-2000:]}")
            time.sleep(1)
    else:
        proc.kill()
        pytest.fail(f"app.py did not answer on {url}: {log.read_text()[-2000:]}")
    yield url
    stop(proc, timeout_s=20)


@pytest.fixture(scope="module")
def browser():
    """One Chromium for the module (Playwright's sync API allows one running instance per thread)."""
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), "Debian chromium is required: run `make browser`"
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--no-first-run", "--disable-sync"])
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def page(app_url, browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.goto(app_url)
    page.wait_for_selector("#question textarea", timeout=60000)
    yield page
    context.close()


def _ask(page, question: str, previous_answers: int) -> tuple[float, float]:
    """Type a question, send it, return (seconds to first streamed text, seconds to the full answer)."""
    page.fill("#question textarea", question)
    start = time.time()
    page.click("#send")
    bot = "#chat .message.bot, #chat [data-testid='bot']"
    page.wait_for_function(
        """([sel, n]) => { const m = document.querySelectorAll(sel);
             return m.length > n && m[m.length-1].innerText.trim().length > 2; }""",
        arg=[bot, previous_answers], timeout=60000)
    first = time.time() - start
    page.wait_for_selector(f"#status [data-turns='{previous_answers + 1}']", state="attached", timeout=60000)
    return first, time.time() - start


def test_chat_answers_with_citations_and_sources(page):
    first, full = _ask(page, "¿Qué hizo el Perú respecto al objetivo 14 del PMM?", 0)
    print(f"\ntime to first streamed text {first:.2f} s, to full answer {full:.2f} s")
    chat_text = page.inner_text("#chat")
    assert "[1]" in chat_text
    sources = page.inner_html("#sources")
    assert "<mark>" in sources and "PMM Objetivo 14" in sources
    page.click("#source-1 summary")
    page.click("#source-1 summary")
    assert page.is_visible("#source-1 blockquote mark")
    page.screenshot(path=str(SHOTS / "01_answer_with_sources.png"), full_page=True)
    with page.context.expect_page() as opened:  # a text document: the passage in its section, its printed page
        page.click("#source-1 a.view-page")
    viewer = opened.value
    viewer.wait_for_selector("#cited mark", timeout=30000)
    quoted = " ".join(page.inner_text("#source-1 blockquote mark").split())
    assert " ".join(viewer.inner_text("#cited mark").split()) == quoted
    assert "p. " in viewer.inner_text("h1") and viewer.inner_text("h2.section").strip()
    viewer.screenshot(path=str(SHOTS / "01b_cited_passage.png"), full_page=True)
    viewer.close()


def test_follow_up_keeps_context(page):
    _ask(page, "¿Y quién lo implementó?", 1)
    chat_text = page.inner_text("#chat")
    assert chat_text.count("[1]") >= 2
    page.screenshot(path=str(SHOTS / "02_follow_up.png"), full_page=True)


def test_out_of_corpus_question_shows_notice_and_html_is_escaped(page):
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    _ask(page, "¿Cuál es el presupuesto de la PNM para 2024? <img src=x onerror=alert(1)>", 2)
    assert "no contiene" in page.inner_text("#notice")
    assert not dialogs
    assert "<img src=x onerror=alert(1)>" in page.inner_text("#chat")  # shown as typed, not rendered
    assert page.locator("img[src='x']").count() == 0  # nor in the conversation list or the sources
    page.screenshot(path=str(SHOTS / "03_abstention.png"), full_page=True)


def test_feedback_is_stored_locally(page, shipped_index):
    feedback = shipped_index.data_dir / "feedback.jsonl"
    before = feedback.read_text(encoding="utf-8").count("\n") if feedback.exists() else 0
    page.locator("#chat button[aria-label='Like']").last.click()
    deadline = time.time() + 20
    while time.time() < deadline and (not feedback.exists() or feedback.read_text(encoding="utf-8").count("\n") == before):
        time.sleep(0.5)
    entry = json.loads(feedback.read_text(encoding="utf-8").splitlines()[-1])
    assert entry["liked"] is True and entry["question"] and entry["sources"]


def test_english_switch_and_examples(page):
    page.click("#language label:has-text('English')")
    page.wait_for_function("() => document.querySelector('#send').innerText.includes('Ask')", timeout=20000)
    page.locator("#examples button.gallery-item").first.click()
    page.wait_for_function("() => document.querySelector('#question textarea').value.startsWith('What')", timeout=20000)
    first, _ = _ask(page, page.input_value("#question textarea"), 3)
    assert "Quoted in Spanish, as written in the sources" in page.locator("#chat .message.bot, #chat [data-testid='bot']").last.inner_text()
    page.screenshot(path=str(SHOTS / "04_english.png"), full_page=True)


def test_briefing_note_is_previewed_and_downloads_as_docx(page, tmp_path):
    from docx import Document

    page.get_by_role("tab", name="Nota informativa").click()
    page.fill("#brief-topic textarea", "protección consular de los peruanos en el exterior")
    page.click("#brief-go")
    page.wait_for_function("() => document.querySelector('#brief-preview').innerText.includes('Fuentes')",
                           timeout=60000)
    preview = page.inner_text("#brief-preview")
    for heading in ("Antecedentes", "Marco normativo", "Avances del Perú", "Desafíos y limitaciones",
                    "Recomendaciones", "Fuentes"):
        assert heading in preview
    link = page.locator("#brief-files a[download$='.docx']").first
    link.wait_for(timeout=30000)
    with page.expect_download() as info:
        link.click()
    path = tmp_path / "nota.docx"
    info.value.save_as(path)
    doc = Document(str(path))
    headings = [p.text for p in doc.paragraphs if p.style.name.startswith("Heading")]
    assert headings[:1] == ["Antecedentes"] and headings[1].startswith("Marco normativo") and "Fuentes" in headings
    references = [p.text for p in doc.paragraphs if p.style.name == "List Number"]
    bullets = [p.text for p in doc.paragraphs if p.style.name == "List Bullet"]
    assert references and bullets
    cited = {int(n) for b in bullets for n in __import__("re").findall(r"\[(\d+)\]", b)}
    assert cited == set(range(1, len(references) + 1))
    page.screenshot(path=str(SHOTS / "05_briefing.png"), full_page=True)


def test_onboarding_path(page):
    page.get_by_role("tab", name="Inducción").click()
    page.click("#objective-chooser input")
    page.locator("#objective-chooser [role=option]", has_text="14.").first.click()
    page.wait_for_function("() => document.querySelector('#objective-card').innerText.includes('Objetivo 14')",
                           timeout=60000)
    card = page.inner_text("#objective-card")
    assert "Qué hizo el Perú" in card and "Fuentes" in card and "Tesis (Bendezú, 2022)" in card
    page.screenshot(path=str(SHOTS / "06_onboarding_objective.png"), full_page=True)
    page.get_by_text("5. Autoevaluación").click()
    page.click("#quiz-new")
    page.wait_for_function("() => document.querySelector('#quiz-question').innerText.includes('?')", timeout=30000)
    page.locator("#quiz-options label").first.click()
    page.click("#quiz-check")
    page.wait_for_function("() => document.querySelector('#quiz-verdict').innerText.includes('Fuente')", timeout=30000)
    page.screenshot(path=str(SHOTS / "07_quiz.png"), full_page=True)


# --- accounts, saved conversations, the cited page, exports (a small index, two users) ----------------------

FIRST = "¿Qué hizo el Perú en relación con el objetivo 14 del PMM?"
FOLLOW_UP = "¿Y qué dificultades hubo?"
SECOND = "¿Qué recomienda el informe sobre los consulados honorarios?"
EVA_QUESTION = "¿Cómo se vincula a los peruanos en el exterior?"
NOTES = Path("/work/notes")
PASSWORDS = {"ana": "clave-de-ana", "eva": "clave-de-eva"}


@pytest.fixture(scope="module")
def workspace_app(small_index, tmp_path_factory, app_server, private_index):
    from assistant.accounts import Accounts

    root = tmp_path_factory.mktemp("workspace_app")
    index = private_index(small_index, root / "data")
    accounts = Accounts(index.data_dir / "accounts.sqlite")
    accounts.add("ana", "reader", PASSWORDS["ana"])
    accounts.add("eva", "editor", PASSWORDS["eva"])
    app = app_server(index, root / "app.log").start()
    yield app
    app.stop()


@pytest.fixture(scope="module")
def users(workspace_app, browser):
    """One logged-in browser context per user."""
    pages = {}
    for name in ("ana", "eva"):
        context = browser.new_context(viewport={"width": 1500, "height": 1000}, accept_downloads=True)
        page = context.new_page()
        page.goto(workspace_app.url + "/")
        assert page.url.endswith("/login")
        page.fill("#username", name)
        page.fill("#password", PASSWORDS[name])
        page.click("#login")
        page.wait_for_selector("#question textarea", timeout=60000)
        pages[name] = page
    return pages


def _conversation_titles(page) -> list[str]:
    return [t.strip() for t in page.locator("#conversation-list label").all_inner_texts()]


def test_login_refuses_a_wrong_password(workspace_app, browser):
    context = browser.new_context()
    page = context.new_page()
    page.goto(workspace_app.url + "/")
    page.fill("#username", "ana")
    page.fill("#password", "no-es-la-clave")
    page.click("#login")
    assert "incorrectos" in page.inner_text("#login-error")
    assert page.locator("#question").count() == 0
    context.close()


def test_two_users_see_only_their_own_conversations_after_a_restart(workspace_app, users):
    _ask(users["ana"], SECOND, 0)
    users["ana"].click("#clear")
    users["ana"].wait_for_selector("#status [data-turns='0']", state="attached", timeout=30000)
    _ask(users["ana"], FIRST, 0)
    _ask(users["eva"], EVA_QUESTION, 0)
    workspace_app.stop()
    workspace_app.start()  # same data folder, same port: conversations and sessions were saved
    for name, page in users.items():
        page.reload()
        page.wait_for_selector("#conversation-list label", timeout=60000)
        assert "**" not in page.inner_text("#user-badge") and name in page.inner_text("#user-badge")
    assert _conversation_titles(users["ana"]) == [FIRST, SECOND]  # the most recent first
    assert _conversation_titles(users["eva"]) == [EVA_QUESTION]


def test_a_reopened_conversation_continues_with_its_context(workspace_app, users):
    page = users["ana"]
    assert page.locator("#chat .message.bot, #chat [data-testid='bot']").count() == 0  # reloaded: a fresh chat
    page.locator("#conversation-list label", has_text=FIRST).click()
    page.wait_for_selector("#status [data-turns='1']", state="attached", timeout=30000)
    assert FIRST in page.inner_text("#chat")
    _ask(page, FOLLOW_UP, 1)
    conversation_id = page.get_attribute("#status span", "data-conversation")
    saved = page.request.get(f"{workspace_app.url}/api/conversations/{conversation_id}").json()
    assert [t["question"] for t in saved["turns"]] == [FIRST, FOLLOW_UP]
    assert "objetivo 14" in saved["turns"][1]["resolved_question"]  # the follow-up leaned on the reopened turn
    shown = page.inner_text("body")
    assert "Entendí la pregunta como" in shown and saved["turns"][1]["resolved_question"] in shown
    assert _conversation_titles(page) == [FIRST, SECOND]  # the same conversation, not a new one
    NOTES.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "08_conversation_list.png"), full_page=True)
    page.screenshot(path=str(NOTES / "issue13_conversation_list.png"), full_page=True)
    other = users["eva"].request.get(f"{workspace_app.url}/api/conversations/{conversation_id}")
    assert other.status == 404


def test_a_pdf_citation_opens_its_page_with_the_quote_highlighted(users):
    page = users["ana"]
    link = page.locator("#sources details[data-doc='informe_consular'] a.view-page").first
    with page.context.expect_page() as opened:
        link.click()
    viewer = opened.value
    viewer.wait_for_load_state()
    viewer.wait_for_function("() => { const i = document.querySelector('.page img'); "
                             "return i && i.complete && i.naturalWidth > 0; }", timeout=30000)
    boxes = viewer.locator(".page .hl")
    assert boxes.count() >= 1
    frame = viewer.locator(".page").bounding_box()
    first = boxes.first.bounding_box()
    assert frame["x"] <= first["x"] and first["x"] + first["width"] <= frame["x"] + frame["width"] + 1
    assert frame["y"] <= first["y"] < frame["y"] + frame["height"] / 2  # the quote is in the page's upper half
    shot = viewer.locator(".page").screenshot(path=str(NOTES / "issue13_highlighted_pdf_page.png"))
    viewer.screenshot(path=str(SHOTS / "09_highlighted_pdf_page.png"), full_page=True)
    from PIL import Image

    image = Image.open(__import__("io").BytesIO(shot)).convert("RGB")
    scale = image.width / frame["width"]
    cx, cy = (first["x"] - frame["x"] + 3) * scale, (first["y"] - frame["y"] + first["height"] / 2) * scale
    region = [image.getpixel((int(cx + dx * scale), int(cy))) for dx in range(0, int(first["width"]) - 6, 2)]
    yellow = [p for p in region if p[0] > 200 and p[1] > 170 and p[2] < 170]
    assert len(yellow) > len(region) / 3  # the highlight is drawn over the rendered text
    assert viewer.locator("#download-original").count() == 0  # a reader cannot download the original
    viewer.close()


def test_export_the_conversation_as_docx(users, tmp_path):
    from docx import Document

    page = users["ana"]
    link = page.locator("#export-docx")
    link.wait_for(timeout=30000)
    with page.expect_download() as info:
        link.click()
    path = tmp_path / "conversacion.docx"
    info.value.save_as(path)
    doc = Document(str(path))
    headings = [p.text for p in doc.paragraphs if p.style.name.startswith("Heading")]
    assert headings == [f"Pregunta 1: {FIRST}", f"Pregunta 2: {FOLLOW_UP}", "Fuentes"]
    references = [p.text for p in doc.paragraphs if p.style.name == "List Number"]
    cited = {int(n) for p in doc.paragraphs if p.style.name == "List Bullet" for n in re.findall(r"\[(\d+)\]", p.text)}
    assert references and cited == set(range(1, len(references) + 1))


def test_rename_and_delete_a_conversation(users):
    page = users["eva"]
    page.locator("#conversation-list label", has_text=EVA_QUESTION).click()
    page.wait_for_selector("#status [data-turns='1']", state="attached", timeout=30000)
    page.fill("#conversation-title textarea, #conversation-title input", "Vinculación")
    page.click("#rename")
    page.wait_for_function("() => document.querySelector('#conversation-list').innerText.includes('Vinculación')",
                           timeout=30000)
    assert _conversation_titles(page) == ["Vinculación"]
    page.click("#delete")
    page.wait_for_function("() => document.querySelectorAll('#conversation-list label').length === 0", timeout=30000)
    page.reload()
    page.wait_for_selector("#question textarea", timeout=60000)
    page.wait_for_timeout(1500)
    assert _conversation_titles(page) == []
    assert _conversation_titles(users["ana"]) == [FIRST, SECOND]


def test_only_editors_may_add_documents(users):
    for name, allowed in (("ana", False), ("eva", True)):
        page = users[name]
        page.get_by_role("tab", name="Corpus").click()
        page.wait_for_selector("#upload-go", timeout=30000)
        assert page.locator("#upload-go").is_enabled() is allowed, name
        assert ("no permite" in page.inner_text("#upload-rights")) is not allowed
        page.get_by_role("tab", name="Chat").click()
