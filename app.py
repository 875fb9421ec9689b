"""The web chat (Gradio): a thin shell over `assistant.Assistant`. Spanish by default, English one click away.

Listens on 127.0.0.1:7860 unless GRADIO_SERVER_NAME / GRADIO_SERVER_PORT say otherwise.
"""

from __future__ import annotations

import html
import json
import os
import threading
from datetime import UTC, datetime

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import gradio as gr  # noqa: E402

from assistant.api import Assistant  # noqa: E402
from assistant.prompts import message  # noqa: E402
from assistant.settings import Settings, load_settings  # noqa: E402
from assistant.types import Answer, Filters  # noqa: E402

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
    documents = [(d.title[:80], d.id) for d in assistant.documents.values()]
    objectives = [(f"{n}. {o.short_es}", n) for n, o in sorted(assistant.catalog.objectives.items())]
    ejes = [(f"Eje {n}: {e.title_es}", n) for n, e in sorted(assistant.catalog.ejes.items())]
    lock = threading.Lock()

    with gr.Blocks(title="Asistente de política migratoria") as app:
        lang = gr.State(settings.app.language)
        turns = gr.State([])
        last = gr.State({})
        title = gr.Markdown(message("ui_title", settings.app.language))
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
                examples = gr.Examples(EXAMPLES[settings.app.language], inputs=box, label="Ejemplos")
            with gr.Column(scale=2):
                language = gr.Radio([("Español", "es"), ("English", "en")], value=settings.app.language,
                                    label="Idioma / Language", elem_id="language")
                with gr.Accordion(message("ui_filters", settings.app.language), open=False):
                    doc_filter = gr.Dropdown(documents, multiselect=True, label="Documento")
                    pmm_filter = gr.Dropdown(objectives, multiselect=True, label="Objetivo del PMM")
                    eje_filter = gr.Dropdown(ejes, multiselect=True, label="Eje de la PNM")
                gr.Markdown("### " + message("ui_sources", settings.app.language))
                sources = gr.HTML("", elem_id="sources")
                clear = gr.Button(message("ui_clear", settings.app.language), elem_id="clear")

        def respond(question, history, turn_list, docs, pmm, eje, ui_lang):
            history = list(history or [])
            question = (question or "").strip()
            if not question:
                yield history, turn_list, gr.update(), message("empty_question", ui_lang), "", {}, gr.update()
                return
            history.append({"role": "user", "content": question})
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
                    history[-1] = {"role": "assistant", "content": "\n\n".join(streamed)}
                    yield history, turn_list, "", "", "", {}, gr.update()
            history[-1] = {"role": "assistant", "content": answer.answer}
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
                    gr.update(value=message("ui_send", choice)))

        inputs = [box, chat, turns, doc_filter, pmm_filter, eje_filter, lang]
        outputs = [chat, turns, box, notice, sources, last, status]
        box.submit(respond, inputs, outputs)
        send.click(respond, inputs, outputs)
        chat.like(on_like, [last], None)
        language.change(switch_language, [language], [lang, title, box, send])
        clear.click(lambda: ([], [], "", "", {}, "<span data-turns='0'></span>"), None,
                    [chat, turns, notice, sources, last, status])
        del examples
    return app


def main() -> None:
    settings = load_settings()
    assistant = Assistant(settings)
    app = build_app(assistant)
    auth = (settings.app.username, settings.app.password) if settings.app.username else None
    app.queue(default_concurrency_limit=4).launch(
        server_name=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"),
        server_port=int(os.environ.get("GRADIO_SERVER_PORT", "7860")),
        share=False, auth=auth, show_error=True,
    )


if __name__ == "__main__":
    main()
