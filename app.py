"""The web chat (Gradio): a thin shell over `assistant.Assistant`. Spanish by default, English one click away.

Listens on 127.0.0.1:7860 unless GRADIO_SERVER_NAME / GRADIO_SERVER_PORT say otherwise.
"""

from __future__ import annotations

import hmac
import html
import json
import os
import threading
from datetime import UTC, datetime
from pathlib import Path

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import gradio as gr  # noqa: E402

from assistant.api import Assistant  # noqa: E402
from assistant.briefing import build_note, export, to_markdown  # noqa: E402
from assistant.onboarding import Onboarding  # noqa: E402
from assistant.prompts import message  # noqa: E402
from assistant.settings import Settings, load_settings  # noqa: E402
from assistant.types import Answer, Filters  # noqa: E402
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


def sources_html(answer: Answer, language: str) -> str:
    """The sources panel: one card per citation, the quoted words highlighted, everything escaped."""
    if not answer.citations:
        return f"<p>{html.escape(message('ui_no_sources', language))}</p>"
    cards = []
    for c in answer.citations:
        passage = next((p.chunk.text for p in answer.passages if p.chunk.id == c.chunk_id), c.quote)
        start = passage.find(c.quote)
        if start >= 0:
            shown = (html.escape(passage[max(0, start - 200):start]) + "<mark>" + html.escape(c.quote) + "</mark>"
                     + html.escape(passage[start + len(c.quote):start + len(c.quote) + 200]))
        else:
            shown = "<mark>" + html.escape(c.quote) + "</mark>"
        page = f" · p. {c.page}" if c.page else ""
        cards.append(
            f"<details class='source' id='source-{c.n}' open><summary><b>[{c.n}]</b> {html.escape(c.label)}</summary>"
            f"<div class='doc'>{html.escape(c.document_title)}{page}</div>"
            f"<blockquote>{shown}</blockquote></details>")
    return "\n".join(cards)


def record_feedback(settings: Settings, entry: dict) -> None:
    path = settings.data_dir / settings.app.feedback_file
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(entry, ensure_ascii=False) + "\n")


def build_app(assistant: Assistant) -> gr.Blocks:
    settings = assistant.settings
    lock = threading.Lock()
    with gr.Blocks(title="Asistente de política migratoria") as app:
        lang = gr.State(settings.app.language)
        title = gr.Markdown(message("ui_title", settings.app.language))
        with gr.Tabs():
            with gr.Tab("Chat", id="chat-tab"):
                chat_tab(assistant, lock, lang, title)
            with gr.Tab("Nota informativa", id="brief-tab", elem_id="brief-tab"):
                briefing_tab(assistant, lock)
            with gr.Tab("Inducción", id="onboarding-tab", elem_id="onboarding-tab"):
                onboarding_tab(assistant, lock)
            with gr.Tab("Corpus", id="corpus-tab", elem_id="corpus-tab"):
                corpus_tab(assistant, lock)
    return app


def chat_tab(assistant: Assistant, lock: threading.Lock, lang: gr.State, title: gr.Markdown) -> None:
    settings = assistant.settings
    documents = [(d.title[:80], d.id) for d in assistant.documents.values()]
    objectives = [(f"{n}. {o.short_es}", n) for n, o in sorted(assistant.catalog.objectives.items())]
    ejes = [(f"Eje {n}: {e.title_es}", n) for n, e in sorted(assistant.catalog.ejes.items())]
    turns = gr.State([])
    last = gr.State({})
    with gr.Row():
        with gr.Column(scale=3):
            chat = gr.Chatbot(label="Chat", height=520, elem_id="chat", feedback_options=("Like", "Dislike"))
            notice = gr.Markdown("", elem_id="notice")
            status = gr.HTML("<span data-turns='0'></span>", elem_id="status")
            with gr.Row():
                box = gr.Textbox(placeholder=message("ui_placeholder", settings.app.language), show_label=False,
                                 scale=5, elem_id="question", max_lines=6)
                send = gr.Button(message("ui_send", settings.app.language), variant="primary", scale=1,
                                 elem_id="send")
            examples = gr.Dataset(components=[gr.Textbox(visible=False)], label=message("ui_examples", settings.app.language),
                                  samples=[[q] for q in EXAMPLES[settings.app.language]], elem_id="examples")
        with gr.Column(scale=2):
            language = gr.Radio([("Español", "es"), ("English", "en")], value=settings.app.language,
                                label="Idioma / Language", elem_id="language")
            with gr.Accordion(message("ui_filters", settings.app.language), open=False) as filters_box:
                doc_filter = gr.Dropdown(documents, multiselect=True, label="Documento")
                pmm_filter = gr.Dropdown(objectives, multiselect=True, label="Objetivo del PMM")
                eje_filter = gr.Dropdown(ejes, multiselect=True, label="Eje de la PNM")
            sources_title = gr.Markdown("### " + message("ui_sources", settings.app.language))
            sources = gr.HTML("", elem_id="sources")
            clear = gr.Button(message("ui_clear", settings.app.language), elem_id="clear")

    def respond(question, history, turn_list, docs, pmm, eje, ui_lang):
        history = list(history or [])
        question = (question or "").strip()
        if not question:
            yield history, turn_list, gr.update(), message("empty_question", ui_lang), "", {}, gr.update()
            return
        history.append({"role": "user", "content": as_text(question)})
        history.append({"role": "assistant", "content": "…"})
        yield history, turn_list, "", "", "", {}, gr.update()
        filters = Filters(doc_ids=list(docs or []), pmm_objectives=[int(x) for x in pmm or []],
                          pnm_ejes=[int(x) for x in eje or []])
        streamed: list[str] = []
        with lock:  # one answer at a time per process keeps the embedder's threads uncontended
            for item in assistant.stream(question, turn_list, filters):
                if isinstance(item, Answer):
                    answer = item
                    break
                streamed.append(item)
                history[-1] = {"role": "assistant", "content": as_text("\n\n".join(streamed))}
                yield history, turn_list, "", "", "", {}, gr.update()
        history[-1] = {"role": "assistant", "content": as_text(answer.answer)}
        turn_list = [*turn_list, assistant.turn_of(answer)][-6:]
        warning = f"**⚠️ {message('abstain', answer.language)}**" if answer.abstained else ""
        record = {"question": question, "answer": answer.answer,
                  "sources": [c.to_dict() for c in answer.citations]}
        yield (history, turn_list, "", warning, sources_html(answer, answer.language), record,
               f"<span data-turns='{len(history) // 2}'></span>")

    def on_like(data: gr.LikeData, record):
        if record:
            record_feedback(settings, {**record, "liked": bool(data.liked),
                                       "at": datetime.now(UTC).isoformat(timespec="seconds")})

    def switch_language(choice):
        return (choice, gr.update(value=message("ui_title", choice)),
                gr.update(placeholder=message("ui_placeholder", choice)),
                gr.update(value=message("ui_send", choice)),
                gr.update(samples=[[q] for q in EXAMPLES[choice]], label=message("ui_examples", choice)),
                gr.update(label=message("ui_filters", choice)),
                gr.update(value="### " + message("ui_sources", choice)),
                gr.update(value=message("ui_clear", choice)))

    inputs = [box, chat, turns, doc_filter, pmm_filter, eje_filter, lang]
    outputs = [chat, turns, box, notice, sources, last, status]
    box.submit(respond, inputs, outputs)
    send.click(respond, inputs, outputs)
    chat.like(on_like, [last], None)
    language.change(switch_language, [language], [lang, title, box, send, examples, filters_box, sources_title, clear])
    examples.click(lambda sample: sample[0], [examples], [box])
    clear.click(lambda: ([], [], "", "", {}, "<span data-turns='0'></span>"), None,
                [chat, turns, notice, sources, last, status])


def briefing_tab(assistant: Assistant, lock: threading.Lock) -> None:
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
        with lock:
            note = build_note(assistant, topic_text, [int(x) for x in pmm_values or []],
                              [int(x) for x in eje_values or []], audience_text or "", length_value, kind_value)
        stem = f"{kind_value}_{slugify(topic_text)[:50]}"
        folder = assistant.settings.data_dir / "exports"
        paths = [export(note, folder / f"{stem}.docx"), export(note, folder / f"{stem}.md")]
        return as_text(to_markdown(note)), [str(p) for p in paths]

    go.click(generate, [topic, kind, pmm, ejes, audience, length], [preview, files])


def onboarding_tab(assistant: Assistant, lock: threading.Lock) -> None:
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
            with lock:
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


def corpus_rows(assistant: Assistant) -> list[list]:
    """One row per indexed document: what an administrator needs to judge it."""
    from indexer.documents import list_documents

    return [[d.id, d.title, d.format, d.pages or "", d.chunks, ", ".join(map(str, d.ocr_pages)),
             " · ".join(d.problems), d.indexed_at, d.file] for d in list_documents(assistant.settings.index)]


def corpus_tab(assistant: Assistant, lock: threading.Lock) -> None:
    from indexer.documents import UnknownDocument, reindex_document, remove_document
    from indexer.loaders import SUPPORTED_SUFFIXES

    documents = gr.Dataframe(value=corpus_rows(assistant), headers=CORPUS_HEADERS, interactive=False, wrap=True,
                             elem_id="corpus-table")
    enabled = bool(assistant.settings.app.admin_password)
    gr.Markdown("Añadir documentos (PDF —también escaneados—, Word, HTML, .txt, .md). " + (
        "Requiere la contraseña de administración." if enabled
        else "**Desactivado:** configure `PA_APP__ADMIN_PASSWORD` para permitir cargas."))
    with gr.Row():
        upload = gr.File(file_count="multiple", file_types=sorted(SUPPORTED_SUFFIXES), label="Archivos",
                         interactive=enabled, elem_id="upload")
        password = gr.Textbox(type="password", label="Contraseña de administración", interactive=enabled)
    add = gr.Button("Indexar", variant="primary", interactive=enabled, elem_id="upload-go")
    with gr.Row():
        doc_id = gr.Dropdown(sorted(assistant.documents), label="Documento", interactive=enabled,
                             elem_id="corpus-doc")
        remove = gr.Button("Eliminar del índice", variant="stop", interactive=enabled, elem_id="corpus-remove")
        reindex = gr.Button("Reindexar", interactive=enabled, elem_id="corpus-reindex")
    log = gr.Markdown(elem_id="upload-log")

    def allowed(secret: str) -> bool:
        return enabled and hmac.compare_digest(secret or "", assistant.settings.app.admin_password)

    def refreshed(lines: list[str]):
        return (corpus_rows(assistant), gr.update(choices=sorted(assistant.documents), value=None),
                "\n".join(f"- {html.escape(line)}" for line in lines))

    def index_files(files, secret, progress=gr.Progress()):  # noqa: B008 (Gradio injects the tracker)
        if not allowed(secret):
            return corpus_rows(assistant), gr.update(), "**Contraseña incorrecta.**"
        if not files:
            return corpus_rows(assistant), gr.update(), "Seleccione al menos un archivo."
        progress(0.1, desc="Indexando…")
        with lock:
            report = assistant.add_documents([Path(getattr(f, "name", f)) for f in files])
        progress(1.0)
        return refreshed(report.summary_lines())

    def manage(action: str):
        def run(chosen, secret):
            if not allowed(secret):
                return corpus_rows(assistant), gr.update(), "**Contraseña incorrecta.**"
            if not chosen:
                return corpus_rows(assistant), gr.update(), "Elija un documento."
            with lock:
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

    add.click(index_files, [upload, password], [documents, doc_id, log])
    remove.click(manage("remove"), [doc_id, password], [documents, doc_id, log])
    reindex.click(manage("reindex"), [doc_id, password], [documents, doc_id, log])


def main() -> None:
    settings = load_settings()
    assistant = Assistant(settings)
    app = build_app(assistant)
    auth = (settings.app.username, settings.app.password) if settings.app.username else None
    app.queue(default_concurrency_limit=4).launch(
        server_name=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"),
        server_port=int(os.environ.get("GRADIO_SERVER_PORT", "7860")),
        share=False, auth=auth, show_error=True, allowed_paths=[str(settings.data_dir / "exports")],
        max_file_size=f"{settings.app.max_upload_mb}mb",
    )


if __name__ == "__main__":
    main()
