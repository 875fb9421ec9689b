"""The calibration's inputs depend on the gold set and the pipeline, not on the models installed when it runs."""

from __future__ import annotations

import json

from assistant import evidence
from assistant.evidence import LinearModel
from evals.calibration import collect

CONVERSATION = {"id": "c900", "split": "dev", "turns": [
    {"question": "¿Qué es la Mesa de Trabajo Intersectorial para la Gestión Migratoria?", "answerable": True,
     "evidence": [{"text": "Mesa de Trabajo Intersectorial para la Gestión Migratoria"}]},
    {"question": "¿y quién la preside?", "answerable": True, "evidence": []}]}


def _snapshot(items) -> list:
    return [(i.id, i.query.resolved, i.query.previous_chunks, [p.chunk.id for p in i.passages]) for i in items]


def test_a_conversation_is_fitted_after_its_gold_turns_whatever_models_are_installed(assistant, tmp_path):
    (tmp_path / "conversations.jsonl").write_text(json.dumps(CONVERSATION, ensure_ascii=False) + "\n",
                                                  encoding="utf-8")
    refuse_all = LinearModel(features=("top_dense",), weights={"top_dense": 0.0}, bias=-30.0, threshold=0.5)
    shipped = _snapshot(collect(assistant, tmp_path))
    try:
        evidence.FITTING["answerability"] = refuse_all
        refusing = _snapshot(collect(assistant, tmp_path))
        answered = _snapshot(collect(assistant, tmp_path, answered=True))
    finally:
        evidence.FITTING.clear()
    assert refusing == shipped
    assert shipped[-1][2], "the follow-up searches around the chunks that hold the first turn's gold evidence"
    # after the assistant's own (refused) answer, the follow-up has nothing it cited to search around
    assert not answered[-1][2]
