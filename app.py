"""The web app: the Gradio chat (saved conversations, cited pages, exports), mounted in the FastAPI app of
assistant/http_api.py (login, `/api`, OpenAI-compatible `/v1`, citation viewer), all on one port. A thin shell
over `assistant.Assistant` and `assistant.workspace.Workspace`. Spanish by default, English one click away.

Listens on 127.0.0.1:7860 unless GRADIO_SERVER_NAME / GRADIO_SERVER_PORT say otherwise. With no account
configured it is open, on a loopback address only: any other address is refused until an account exists
(`policy-assistant users add NAME --role admin`).
"""

from __future__ import annotations

import html
import json
import os
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import gradio as gr  # noqa: E402

from assistant.accounts import User  # noqa: E402
from assistant.api import Assistant  # noqa: E402
from assistant.briefing import build_note, export, to_markdown  # noqa: E402
from assistant.conversations import ConversationNotFound  # noqa: E402
from assistant.http_api import build_api  # noqa: E402
from assistant.onboarding import Onboarding  # noqa: E402
from assistant.pageview import view_url  # noqa: E402
from assistant.prompts import message  # noqa: E402
from assistant.settings import Settings, load_settings  # noqa: E402
from assistant.types import Answer, Citation, Filters  # noqa: E402
from assistant.workspace import Workspace, accounts_for, is_loopback  # noqa: E402
from indexer.corpus import slugify  # noqa: E402

EXAMPLES = {
    "es": [
        "¿Qué hizo el Perú respecto al objetivo 14 del PMM?",
        "¿Qué dice la conclusión 3 de la tesis?",
        "¿Con qué objetivos del PMM se alinea el lineamiento 3 del eje 2 de la PNM?",
        "¿Qué limitaciones estructurales identifica la tesis?",
    ],
    "en": [
        "What did Peru do about consular protection?",
        "What does action (c) of GCM Objective 14 ask States to do?",
        "Which limitations of the GCM implementation does the thesis identify?",
    ],
}


def as_text(text: str) -> str:
    """Questions, answers and notes shown as Markdown, with any HTML in them (a user's, or a document's)
    shown as text, never rendered: «<img src=x>» appears as typed."""
    return html.escape(text, quote=False)


def sources_html(citations: list[Citation], language: str, passages: dict[str, str] | None = None) -> str:
    """The sources panel: one card per citation, the quoted words highlighted in their passage, a link to the
    cited page (assistant/pageview.py), everything escaped."""
    if not citations:
        return f"<p>{html.escape(message('ui_no_sources', language))}</p>"
    cards = []
    for c in citations:
        passage = (passages or {}).get(c.chunk_id, c.quote)
        start = passage.find(c.quote)
        if start >= 0:
            shown = (html.escape(passage[max(0, start - 200):start]) + "<mark>" + html.escape(c.quote) + "</mark>"
                     + html.escape(passage[start + len(c.quote):start + len(c.quote) + 200]))
        else:
            shown = "<mark>" + html.escape(c.quote) + "</mark>"
        page = f" · p. {c.page}" if c.page else ""
        link = (f"<a class='view-page' href='{html.escape(view_url(c.chunk_id, c.quote, c.label))}' target='_blank' "
                f"rel='noopener'>{html.escape(message('ui_view_page', language))}</a>")
        cards.append(
            f"<details class='source' id='source-{c.n}' data-doc='{html.escape(c.doc_id)}' open><summary><b>[{c.n}]</b> "
            f"{html.escape(c.label)}</summary><div class='doc'>{html.escape(c.document_title)}{page} · {link}</div>"
            f"<blockquote>{shown}</blockquote></details>")
    return "\n".join(cards)


def exports_html(conversation_id: str, last_turn: int, language: str) -> str:
    """Download links for the conversation and its last answer (the API's export route, same session)."""
    if not conversation_id:
        return "<span id='no-export'></span>"
    base = f"/api/conversations/{conversation_id}/export"
    links = [(f"{base}?format=docx", "export-docx", message("ui_export_conversation", language) + " (.docx)"),
             (f"{base}?format=md", "export-md", message("ui_export_conversation", language) + " (.md)")]
    if last_turn:
        links += [(f"{base}?format=docx&turn={last_turn}", "export-answer-docx",
                   message("ui_export_answer", language) + " (.docx)"),
                  (f"{base}?format=md&turn={last_turn}", "export-answer-md",
                   message("ui_export_answer", language) + " (.md)")]
    return "<div class='exports'>" + " · ".join(
        f"<a id='{key}' href='{html.escape(url)}' download>{html.escape(text)}</a>" for url, key, text in links) + "</div>"


def record_feedback(settings: Settings, entry: dict) -> None:
    path = settings.data_dir / settings.app.feedback_file
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(entry, ensure_ascii=False) + "\n")


def build_app(workspace: Workspace) -> gr.Blocks:
    assistant = workspace.assistant
    settings = assistant.settings
    with gr.Blocks(title="Asistente de política migratoria") as app:
        lang = gr.State(settings.app.language)
        with gr.Row():
            title = gr.Markdown(message("ui_title", settings.app.language))
            badge = gr.Markdown("", elem_id="user-badge")
        with gr.Tabs():
            with gr.Tab("Chat", id="chat-tab"):
                chat_tab(workspace, lang, title, app)
            with gr.Tab("Nota informativa", id="brief-tab", elem_id="brief-tab"):
                briefing_tab(assistant)
            with gr.Tab("Inducción", id="onboarding-tab", elem_id="onboarding-tab"):
                onboarding_tab(assistant)
            with gr.Tab("Corpus", id="corpus-tab", elem_id="corpus-tab"):
                corpus_tab(workspace, app)

        def show_user(request: gr.Request):
            user = workspace.user_named(request.username)
            if user is None or workspace.open_mode:
                return ""
            return (message("ui_signed_in", settings.app.language).format(name=user.name, role=user.role)
                    + f" · [{message('logout', settings.app.language)}](/logout)")

        app.load(show_user, None, [badge])
    return app


def _conversation_choices(workspace: Workspace, user: User) -> list[tuple[str, str]]:
    untitled = message("ui_untitled", workspace.settings.app.language)
    return [(c["title"] or untitled, c["id"]) for c in workspace.conversations.list(user.name)]


def chat_tab(workspace: Workspace, lang: gr.State, title: gr.Markdown, app: gr.Blocks) -> None:
    assistant = workspace.assistant
    settings = assistant.settings
    documents = [(d.title[:80], d.id) for d in assistant.documents.values()]
    objectives = [(f"{n}. {o.short_es}", n) for n, o in sorted(assistant.catalog.objectives.items())]
    ejes = [(f"Eje {n}: {e.title_es}", n) for n, e in sorted(assistant.catalog.ejes.items())]
    turns = gr.State([])
    conversation_id = gr.State("")
    language_now = settings.app.language
    with gr.Row():
        with gr.Column(scale=1, min_width=220):
            new = gr.Button(message("ui_clear", language_now), elem_id="clear")
            conversations = gr.Radio([], label=message("ui_conversations", language_now), elem_id="conversation-list")
            rename_box = gr.Textbox(show_label=False, max_lines=1, elem_id="conversation-title",
                                    placeholder=message("ui_rename", language_now))
            with gr.Row():
                rename = gr.Button(message("ui_rename", language_now), size="sm", elem_id="rename")
                delete = gr.Button(message("ui_delete", language_now), size="sm", variant="stop", elem_id="delete")
            exports = gr.HTML(exports_html("", 0, language_now), elem_id="exports")
        with gr.Column(scale=3):
            chat = gr.Chatbot(label="Chat", height=520, elem_id="chat", feedback_options=("Like", "Dislike"))
            notice = gr.Markdown("", elem_id="notice")
            status = gr.HTML("<span data-turns='0'></span>", elem_id="status")
            with gr.Row():
                box = gr.Textbox(placeholder=message("ui_placeholder", language_now), show_label=False,
                                 scale=5, elem_id="question", max_lines=6)
                send = gr.Button(message("ui_send", language_now), variant="primary", scale=1, elem_id="send")
            examples = gr.Dataset(components=[gr.Textbox(visible=False)], label=message("ui_examples", language_now),
                                  samples=[[q] for q in EXAMPLES[language_now]], elem_id="examples")
        with gr.Column(scale=2):
            language = gr.Radio([("Español", "es"), ("English", "en")], value=language_now,
                                label="Idioma / Language", elem_id="language")
            with gr.Accordion(message("ui_filters", language_now), open=False) as filters_box:
                doc_filter = gr.Dropdown(documents, multiselect=True, label="Documento")
                pmm_filter = gr.Dropdown(objectives, multiselect=True, label="Objetivo del PMM")
                eje_filter = gr.Dropdown(ejes, multiselect=True, label="Eje de la PNM")
            sources_title = gr.Markdown("### " + message("ui_sources", language_now))
            sources = gr.HTML("", elem_id="sources")

    def user_of(request: gr.Request) -> User:
        user = workspace.user_named(request.username)
        if user is None:  # Gradio's auth_dependency lets no such request through; a removed account ends here
            raise gr.Error(message("auth_invalid", settings.app.language))
        return user

    def respond(question, history, turn_list, docs, pmm, eje, ui_lang, conv_id, request: gr.Request):
        user = user_of(request)
        history = list(history or [])
        question = (question or "").strip()
        if not question:
            yield (history, turn_list, gr.update(), message("empty_question", ui_lang), "", gr.update(), conv_id,
                   gr.update(), gr.update())
            return
        history.append({"role": "user", "content": as_text(question)})
        history.append({"role": "assistant", "content": "…"})
        yield history, turn_list, "", "", "", gr.update(), conv_id, gr.update(), gr.update()
        filters = Filters(doc_ids=list(docs or []), pmm_objectives=[int(x) for x in pmm or []],
                          pnm_ejes=[int(x) for x in eje or []])
        streamed: list[str] = []
        for item in assistant.stream(question, turn_list, filters):
            if isinstance(item, Answer):
                answer = item
                break
            streamed.append(item)
            history[-1] = {"role": "assistant", "content": as_text("\n\n".join(streamed))}
            yield history, turn_list, "", "", "", gr.update(), conv_id, gr.update(), gr.update()
        history[-1] = {"role": "assistant", "content": as_text(answer.answer)}
        conv_id, n = workspace.record(user, conv_id, answer)
        turn_list = workspace.history(user, conv_id)
        warning = f"**⚠️ {message('abstain', answer.language)}**" if answer.abstained else ""
        if answer.resolved_question and answer.resolved_question != answer.question:
            resolved = message("resolved_as", answer.language).format(question=as_text(answer.resolved_question))
            warning = resolved + (f"\n\n{warning}" if warning else "")
        passages = {p.chunk.id: p.chunk.text for p in answer.passages}
        yield (history, turn_list, "", warning, sources_html(answer.citations, answer.language, passages),
               f"<span data-turns='{len(history) // 2}' data-conversation='{conv_id}'></span>", conv_id,
               gr.update(choices=_conversation_choices(workspace, user), value=conv_id),
               exports_html(conv_id, n, ui_lang))

    def open_conversation(chosen, ui_lang, request: gr.Request):
        user = user_of(request)
        if not chosen:
            return gr.update(), gr.update(), gr.update(), gr.update(), gr.update(), gr.update(), gr.update()
        try:
            found = workspace.conversations.get(user.name, chosen)
        except ConversationNotFound:
            raise gr.Error(message("conversation_not_found", ui_lang).format(id=chosen)) from None
        history = []
        for t in found.turns:
            history += [{"role": "user", "content": as_text(t.question)},
                        {"role": "assistant", "content": as_text(t.answer)}]
        last = found.turns[-1] if found.turns else None
        panel = sources_html(last.citations, last.language) if last else ""
        return (history, [t.turn for t in found.turns][-6:], found.id, found.title, panel,
                f"<span data-turns='{len(found.turns)}' data-conversation='{found.id}'></span>",
                exports_html(found.id, last.n if last else 0, ui_lang))

    def new_conversation():
        return [], [], "", "", "", "<span data-turns='0'></span>", gr.update(value=None), "", \
            exports_html("", 0, settings.app.language)

    def rename_conversation(conv_id, new_title, request: gr.Request):
        user = user_of(request)
        if conv_id and (new_title or "").strip():
            workspace.conversations.rename(user.name, conv_id, new_title)
        return gr.update(choices=_conversation_choices(workspace, user), value=conv_id or None)

    def delete_conversation(conv_id, request: gr.Request):
        user = user_of(request)
        if conv_id:
            workspace.conversations.delete(user.name, conv_id)
        return (*new_conversation()[:6], gr.update(choices=_conversation_choices(workspace, user), value=None), "",
                exports_html("", 0, settings.app.language))

    def list_conversations(request: gr.Request):
        return gr.update(choices=_conversation_choices(workspace, user_of(request)), value=None)

    def on_like(data: gr.LikeData, conv_id, request: gr.Request):
        user = user_of(request)
        if not conv_id or not isinstance(data.index, int):
            return
        n = data.index // 2 + 1  # messages alternate question, answer
        workspace.conversations.set_feedback(user.name, conv_id, n, bool(data.liked))
        turn = next(t for t in workspace.conversations.get(user.name, conv_id).turns if t.n == n)
        record_feedback(settings, {"question": turn.question, "answer": turn.answer,
                                   "sources": [c.to_dict() for c in turn.citations], "liked": bool(data.liked),
                                   "user": user.name, "conversation_id": conv_id, "turn": n,
                                   "at": datetime.now(UTC).isoformat(timespec="seconds")})

    def switch_language(choice):
        return (choice, gr.update(value=message("ui_title", choice)),
                gr.update(placeholder=message("ui_placeholder", choice)),
                gr.update(value=message("ui_send", choice)),
                gr.update(samples=[[q] for q in EXAMPLES[choice]], label=message("ui_examples", choice)),
                gr.update(label=message("ui_filters", choice)),
                gr.update(value="### " + message("ui_sources", choice)),
                gr.update(value=message("ui_clear", choice)),
                gr.update(label=message("ui_conversations", choice)))

    inputs = [box, chat, turns, doc_filter, pmm_filter, eje_filter, lang, conversation_id]
    outputs = [chat, turns, box, notice, sources, status, conversation_id, conversations, exports]
    box.submit(respond, inputs, outputs)
    send.click(respond, inputs, outputs)
    chat.like(on_like, [conversation_id], None)
    conversations.input(open_conversation, [conversations, lang],
                        [chat, turns, conversation_id, rename_box, sources, status, exports])
    new.click(new_conversation, None,
              [chat, turns, conversation_id, notice, sources, status, conversations, rename_box, exports])
    rename.click(rename_conversation, [conversation_id, rename_box], [conversations])
    delete.click(delete_conversation, [conversation_id],
                 [chat, turns, conversation_id, notice, sources, status, conversations, rename_box, exports])
    language.change(switch_language, [language],
                    [lang, title, box, send, examples, filters_box, sources_title, new, conversations])
    examples.click(lambda sample: sample[0], [examples], [box])
    app.load(list_conversations, None, [conversations])


def briefing_tab(assistant: Assistant) -> None:
    catalog = assistant.catalog
    gr.Markdown("Redacte una *ayuda memoria* o una *nota informativa*: cada afirmación lleva su fuente.")
    with gr.Row():
        with gr.Column(scale=2):
            topic = gr.Textbox(label="Tema", placeholder="p. ej. protección consular de los peruanos en el exterior",
                               elem_id="brief-topic")
            kind = gr.Radio([("Ayuda memoria", "ayuda_memoria"), ("Nota informativa", "nota_informativa")],
                            value="ayuda_memoria", label="Formato")
            pmm = gr.Dropdown([(f"{n}. {o.short_es}", n) for n, o in sorted(catalog.objectives.items())],
                              multiselect=True, label="Objetivos del PMM en foco")
            ejes = gr.Dropdown([(f"Eje {n}: {e.title_es}", n) for n, e in sorted(catalog.ejes.items())],
                               multiselect=True, label="Ejes de la PNM en foco")
            audience = gr.Textbox(label="Destinatario", placeholder="p. ej. Despacho Viceministerial")
            length = gr.Radio([("Breve", "breve"), ("Media", "media"), ("Extensa", "extensa")], value="media",
                              label="Extensión")
            go = gr.Button("Generar nota", variant="primary", elem_id="brief-go")
        with gr.Column(scale=3):
            preview = gr.Markdown(elem_id="brief-preview")
            files = gr.File(label="Descargar", file_count="multiple", elem_id="brief-files")

    def generate(topic_text, kind_value, pmm_values, eje_values, audience_text, length_value):
        if not (topic_text or "").strip():
            return "**Escriba un tema para la nota.**", None
        note = build_note(assistant, topic_text, [int(x) for x in pmm_values or []],
                          [int(x) for x in eje_values or []], audience_text or "", length_value, kind_value)
        stem = f"{kind_value}_{slugify(topic_text)[:50]}"
        folder = assistant.settings.data_dir / "exports"
        paths = [export(note, folder / f"{stem}.docx"), export(note, folder / f"{stem}.md")]
        return as_text(to_markdown(note)), [str(p) for p in paths]

    go.click(generate, [topic, kind, pmm, ejes, audience, length], [preview, files])


def onboarding_tab(assistant: Assistant) -> None:
    guide = Onboarding(assistant)
    gr.Markdown("Ruta de inducción: los 23 objetivos del PMM por área temática, la PNM 2017-2025 y su alineación, "
                "los hallazgos de la tesis, un glosario y una autoevaluación.")
    with gr.Accordion("1. Objetivos del PMM por área temática", open=True):
        lines = []
        for number, area_title, objectives in guide.areas():
            items = ", ".join(f"{n}. {short}" for n, short in objectives)
            lines.append(f"**Área temática {number}: {html.escape(area_title)}** — {html.escape(items)}")
        gr.Markdown("\n\n".join(lines))
        chooser = gr.Dropdown([(f"{n}. {o.short_es}", n) for n, o in sorted(assistant.catalog.objectives.items())],
                              label="Abrir un objetivo", elem_id="objective-chooser")
        card = gr.Markdown(elem_id="objective-card")

        def open_objective(number):
            if number is None:
                return ""
            c = guide.objective(int(number))
            parts = [f"### Objetivo {c.number}: {html.escape(c.title_es)}", "", f"*{html.escape(c.title_en)}*", "",
                     f"Área(s) temática(s): {', '.join(str(a) for a in c.areas)}", "", "**Texto del Pacto**"]
            refs, n = [], 0
            for heading, sentences in (("", c.compact_text), ("**Qué hizo el Perú (tesis)**", c.peru_actions)):
                if heading:
                    parts += ["", heading]
                if not sentences:
                    parts.append("_El corpus no contiene información sobre esto._")
                for text, citation in sentences:
                    n += 1
                    parts.append(f"- {html.escape(text)} [{n}]")
                    refs.append(f"{n}. {html.escape(citation.label)} — «{html.escape(citation.quote)}»")
            if c.lineamientos:
                parts += ["", "**Lineamientos de la PNM alineados (Tabla 22)**",
                          *[f"- {html.escape(x)}" for x in c.lineamientos]]
            parts += ["", "**Fuentes**", *refs]
            return "\n".join(parts)

        chooser.change(open_objective, [chooser], [card])
    with gr.Accordion("2. PNM 2017-2025: ejes, lineamientos y alineación con el PMM", open=False):
        header, rows, citation = guide.alignment_matrix()
        gr.Dataframe(value=rows, headers=header, wrap=True, interactive=False, elem_id="alignment-matrix")
        if citation:
            gr.Markdown(f"Fuente: {html.escape(citation.label)}")
    with gr.Accordion("3. Hallazgos clave de la tesis", open=False):
        gr.Markdown("\n\n".join(f"**{f.label}.** {html.escape(f.text)}\n\n<small>Fuente: "
                                 f"{html.escape(f.citations[0].label)}</small>" for f in guide.findings()))
    with gr.Accordion("4. Glosario de siglas", open=False):
        gr.Dataframe(value=[list(x) for x in guide.glossary()], headers=["Sigla", "Significado"],
                     interactive=False, wrap=True)
    with gr.Accordion("5. Autoevaluación", open=False, elem_id="quiz"):
        state = gr.State([])
        question = gr.Markdown(elem_id="quiz-question")
        options = gr.Radio([], label="Su respuesta", elem_id="quiz-options")
        with gr.Row():
            new = gr.Button("Nueva pregunta", elem_id="quiz-new")
            check = gr.Button("Comprobar", elem_id="quiz-check")
        verdict = gr.Markdown(elem_id="quiz-verdict")

        def next_question():
            item = guide.quiz(1, seed=None)[0]
            return [item], f"**{html.escape(item.question)}**", gr.update(choices=item.options, value=None), ""

        def check_answer(items, choice):
            if not items:
                return "Pulse «Nueva pregunta»."
            item = items[0]
            head = "✅ Correcto." if choice == item.answer else f"❌ La respuesta es: {html.escape(item.answer)}."
            return (f"{head} {html.escape(item.explanation)}\n\nFuente: {html.escape(item.citation.label)} — "
                    f"«{html.escape(item.citation.quote)}»")

        new.click(next_question, None, [state, question, options, verdict])
        check.click(check_answer, [state, options], [verdict])


CORPUS_HEADERS = ["id", "Título", "Formato", "Págs.", "Fragmentos", "Págs. OCR", "Avisos", "Indexado", "Archivo"]
# Adding, removing and re-indexing documents write the index: one at a time (answers go on meanwhile).
CORPUS_WRITES = threading.Lock()


def corpus_rows(assistant: Assistant) -> list[list]:
    """One row per indexed document: what an editor needs to judge it."""
    from indexer.documents import list_documents

    return [[d.id, d.title, d.format, d.pages or "", d.chunks, ", ".join(map(str, d.ocr_pages)),
             " · ".join(d.problems), d.indexed_at, d.file] for d in list_documents(assistant.settings.index)]


def corpus_tab(workspace: Workspace, app: gr.Blocks) -> None:
    from indexer.documents import UnknownDocument, reindex_document, remove_document
    from indexer.loaders import SUPPORTED_SUFFIXES

    assistant = workspace.assistant
    language = workspace.settings.app.language
    documents = gr.Dataframe(value=corpus_rows(assistant), headers=CORPUS_HEADERS, interactive=False, wrap=True,
                             elem_id="corpus-table")
    rights = gr.Markdown(message("ui_upload_rights", language), elem_id="upload-rights")
    upload = gr.File(file_count="multiple", file_types=sorted(SUPPORTED_SUFFIXES), label="Archivos",
                     interactive=False, elem_id="upload")
    add = gr.Button("Indexar", variant="primary", interactive=False, elem_id="upload-go")
    with gr.Row():
        doc_id = gr.Dropdown(sorted(assistant.documents), label="Documento", interactive=False, elem_id="corpus-doc")
        remove = gr.Button("Eliminar del índice", variant="stop", interactive=False, elem_id="corpus-remove")
        reindex = gr.Button("Reindexar", interactive=False, elem_id="corpus-reindex")
    log = gr.Markdown(elem_id="upload-log")

    def allowed(request: gr.Request) -> bool:
        user = workspace.user_named(request.username)
        return bool(user and user.can("documents"))

    def refreshed(lines: list[str]):
        return (corpus_rows(assistant), gr.update(choices=sorted(assistant.documents), value=None),
                "\n".join(f"- {html.escape(line)}" for line in lines))

    def index_files(files, request: gr.Request, progress=gr.Progress()):  # noqa: B008 (Gradio injects the tracker)
        if not allowed(request):
            return corpus_rows(assistant), gr.update(), message("upload_forbidden", language)
        if not files:
            return corpus_rows(assistant), gr.update(), "Seleccione al menos un archivo."
        progress(0.1, desc="Indexando…")
        with CORPUS_WRITES:
            report = assistant.add_documents([Path(getattr(f, "name", f)) for f in files])
        progress(1.0)
        return refreshed(report.summary_lines())

    def manage(action: str):
        def run(chosen, request: gr.Request):
            if not allowed(request):
                return corpus_rows(assistant), gr.update(), message("upload_forbidden", language)
            if not chosen:
                return corpus_rows(assistant), gr.update(), "Elija un documento."
            with CORPUS_WRITES:
                try:
                    if action == "remove":
                        removed = remove_document(assistant.settings.index, chosen)
                        lines = [f"Eliminado del índice: {removed.title} ({removed.chunks} fragmentos)"]
                    else:
                        lines = reindex_document(assistant.settings.index, chosen, log=lambda _line: None) \
                            .summary_lines()
                except UnknownDocument as exc:
                    lines = [str(exc)]
                assistant.reload()
            return refreshed(lines)
        return run

    def role_controls(request: gr.Request):
        ok = allowed(request)
        editable = gr.update(interactive=ok)
        return (editable, editable, editable, editable, editable,
                gr.update(value=message("ui_upload_rights", language) + ("" if ok else "\n\n" + message(
                    "upload_forbidden", language))))

    add.click(index_files, [upload], [documents, doc_id, log])
    remove.click(manage("remove"), [doc_id], [documents, doc_id, log])
    reindex.click(manage("reindex"), [doc_id], [documents, doc_id, log])
    app.load(role_controls, None, [upload, add, doc_id, remove, reindex, rights])


def serve(workspace: Workspace, host: str, port: int) -> None:
    """The FastAPI app (API, login, citation viewer) with the chat mounted at `/`, on one port."""
    import uvicorn

    settings = workspace.settings
    blocks = build_app(workspace)
    blocks.queue(default_concurrency_limit=settings.app.concurrency)
    api = build_api(workspace)

    def gradio_user(request) -> str | None:
        user = workspace.user_of(request.headers, request.cookies)
        return user.name if user else None

    gr.mount_gradio_app(api, blocks, path="/", auth_dependency=gradio_user, show_error=True,
                        allowed_paths=[str(settings.data_dir / "exports")],
                        max_file_size=f"{settings.app.max_upload_mb}mb", server_name=host, server_port=port)
    print(f"* Asistente en http://{host}:{port}/", flush=True)
    # what the first questions would build, built while the server starts (the first answer is not 1.5 s slower)
    threading.Thread(target=workspace.assistant.warm, daemon=True).start()
    # Open chat streams (Gradio heartbeats) would hold a graceful shutdown for ever: give them 3 s.
    uvicorn.run(api, host=host, port=port, log_level="warning", timeout_graceful_shutdown=3)


def main() -> None:
    settings = load_settings()
    host = os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1")
    port = int(os.environ.get("GRADIO_SERVER_PORT", "7860"))
    if not is_loopback(host) and not accounts_for(settings).exists():
        print(message("open_mode_refused", settings.app.language), file=sys.stderr)
        sys.exit(2)
    serve(Workspace(Assistant(settings)), host, port)


if __name__ == "__main__":
    main()
