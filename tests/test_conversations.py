"""Saved conversations: per user, every turn kept, follow-up context rebuilt after a restart; exports to .docx
and .md with numbered references; the assistant shared by concurrent threads."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor

import pytest

from assistant.api import Assistant
from assistant.conversations import ConversationNotFound, ConversationStore, _now
from assistant.exports import conversation_document, export_conversation
from assistant.settings import load_settings
from assistant.workspace import Workspace

FIRST = "¿Qué hizo el Perú en relación con el objetivo 14 del PMM?"
FOLLOW_UP = "¿Y qué dificultades hubo?"


@pytest.fixture(scope="module")
def assistant(small_index):
    assistant = Assistant(load_settings(data_dir=small_index.data_dir, corpus_dir=small_index.corpus_dir))
    yield assistant
    assistant.close()


@pytest.fixture()
def store(tmp_path) -> ConversationStore:
    return ConversationStore(tmp_path / "conversations.sqlite")


def test_every_turn_is_saved_with_its_citations_and_feedback(assistant, store):
    conversation = store.create("ana")
    answer = assistant.ask(FIRST)
    n = store.add_turn("ana", conversation.id, answer, assistant.turn_of(answer))
    store.set_feedback("ana", conversation.id, n, liked=False)
    saved = ConversationStore(store.path).get("ana", conversation.id)  # a new store: read from disk
    assert saved.title == FIRST  # the first question names the conversation
    (turn,) = saved.turns
    assert (turn.n, turn.question, turn.answer, turn.abstained) == (1, FIRST, answer.answer, False)
    assert turn.resolved_question == answer.resolved_question
    assert [c.to_dict() for c in turn.citations] == [c.to_dict() for c in answer.citations]
    assert turn.feedback is False
    assert turn.turn == assistant.turn_of(answer)


def test_a_user_never_sees_another_users_conversation(assistant, store):
    mine = store.create("ana", "mía")
    theirs = store.create("eva", "de eva")
    answer = assistant.ask(FIRST)
    assert [c["id"] for c in store.list("ana")] == [mine.id]
    assert [c["id"] for c in store.list("eva")] == [theirs.id]
    for attempt in (lambda: store.get("eva", mine.id), lambda: store.rename("eva", mine.id, "robada"),
                    lambda: store.delete("eva", mine.id), lambda: store.history("eva", mine.id),
                    lambda: store.add_turn("eva", mine.id, answer, assistant.turn_of(answer))):
        with pytest.raises(ConversationNotFound):
            attempt()
    assert store.get("ana", mine.id).title == "mía" and not store.get("ana", mine.id).turns


def test_stamps_keep_order_within_a_millisecond():
    stamps = [_now() for _ in range(200)]  # far more than a millisecond holds
    assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps)


def test_list_rename_delete(store):
    first = store.create("ana", "primera")
    second = store.create("ana", "segunda")
    store.rename("ana", first.id, "  protección   consular ")
    listed = store.list("ana")
    assert [c["id"] for c in listed] == [first.id, second.id]  # renamed: the most recently used first
    assert listed[0]["title"] == "protección consular"
    with pytest.raises(ValueError, match="vacío"):
        store.rename("ana", first.id, "   ")
    store.delete("ana", first.id)
    assert [c["id"] for c in store.list("ana")] == [second.id]


def test_a_reopened_conversation_continues_with_its_follow_up_context(assistant, store):
    workspace = Workspace(assistant)
    workspace.conversations = store
    user = workspace.user_named(None)  # no account in this data folder: the local user
    first, conversation_id, _ = workspace.ask(user, FIRST)
    in_memory = assistant.ask(FOLLOW_UP, [assistant.turn_of(first)])
    workspace.conversations = ConversationStore(store.path)  # as after a restart of the app
    reopened, same_id, n = workspace.ask(user, FOLLOW_UP, conversation_id)
    assert (same_id, n) == (conversation_id, 2)
    assert reopened.resolved_question == in_memory.resolved_question != FOLLOW_UP
    assert "objetivo 14" in reopened.resolved_question
    assert reopened.answer == in_memory.answer
    without_context = assistant.ask(FOLLOW_UP)
    assert without_context.resolved_question == FOLLOW_UP


def test_conversation_exports_number_references_across_answers(assistant, store, tmp_path):
    from docx import Document

    conversation = store.create("ana")
    answers = []
    for question in (FIRST, "¿Y qué dificultades la limitaron?"):
        answer = assistant.ask(question, store.history("ana", conversation.id))
        store.add_turn("ana", conversation.id, answer, assistant.turn_of(answer))
        answers.append(answer)
    saved = store.get("ana", conversation.id)
    document = conversation_document(saved)
    distinct = {(c.chunk_id, c.quote) for a in answers for c in a.citations}
    assert len(document.sources) == len(distinct) < sum(len(a.citations) for a in answers)  # one shared source
    assert [s.n for s in document.sources] == list(range(1, len(distinct) + 1))

    path = export_conversation(saved, "docx", tmp_path)
    doc = Document(str(path))
    headings = [p.text for p in doc.paragraphs if p.style.name.startswith("Heading")]
    assert headings == [f"Pregunta 1: {FIRST}", "Pregunta 2: ¿Y qué dificultades la limitaron?",
                        "Fuentes"]
    references = [p.text for p in doc.paragraphs if p.style.name == "List Number"]
    assert len(references) == len(distinct)
    for source, line in zip(document.sources, references, strict=True):
        assert line.startswith(f"[{source.n}] {source.label}") and source.quote in line
    cited = {int(n) for p in doc.paragraphs if p.style.name == "List Bullet" for n in re.findall(r"\[(\d+)\]", p.text)}
    assert cited == set(range(1, len(distinct) + 1))

    markdown = export_conversation(saved, "md", tmp_path).read_text(encoding="utf-8")
    assert markdown.startswith("# Conversación: ") and "\n## Fuentes\n" in markdown
    assert markdown.count("\n## Pregunta ") == 2

    only_second = export_conversation(saved, "md", tmp_path, only_turn=2).read_text(encoding="utf-8")
    assert "## Pregunta 2:" in only_second and "## Pregunta 1:" not in only_second
    assert only_second.count("«") == len(answers[1].citations)  # renumbered from 1 for this answer alone
    with pytest.raises(ValueError, match="formato"):
        export_conversation(saved, "pdf", tmp_path)


QUESTIONS = [FIRST, "¿Y qué dificultades la limitaron?", "¿Cómo se vincula a los peruanos en el "
             "exterior?", "¿Qué recomienda el informe sobre los consulados honorarios?", "¿Qué hacen las oficinas de "
             "retorno de la Cancillería?", "¿Cuántos connacionales atendieron los consulados durante la pandemia?"]


def test_concurrent_answers_equal_sequential_ones(assistant):
    """Eighteen questions answered by twelve threads at once through one Assistant give the answers one thread
    gives (per-thread docstore connections, the embedder and stemmer behind their own locks)."""
    sequential = {q: assistant.ask(q).to_dict() for q in QUESTIONS}
    with ThreadPoolExecutor(max_workers=12) as pool:
        results = list(pool.map(lambda q: (q, assistant.ask(q).to_dict()), QUESTIONS * 3))
    for question, result in results:
        expected = sequential[question]
        assert result["answer"] == expected["answer"]
        assert result["citations"] == expected["citations"]
        assert [c["chunk_id"] for c in result["contexts"]] == [c["chunk_id"] for c in expected["contexts"]]
    assert assistant.retriever.docstore.opened > 1  # the threads did get connections of their own


def test_connections_of_finished_threads_are_freed(assistant):
    import gc
    import threading

    docstore = assistant.retriever.docstore
    before = docstore.opened
    for _ in range(3):  # the web chat answers each question in a new thread (Assistant.stream)
        threads = [threading.Thread(target=assistant.ask, args=(q,)) for q in QUESTIONS]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    gc.collect()
    assert docstore.opened - before == 3 * len(QUESTIONS)
    assert docstore.live() <= 2  # this thread's, and none of the 18 finished ones
