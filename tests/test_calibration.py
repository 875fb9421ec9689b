"""The calibration's inputs depend on the gold set and the pipeline, not on the models installed when it runs."""

from __future__ import annotations

import json
from dataclasses import replace

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


def test_each_question_is_retrieved_with_the_reranker_given_for_it(assistant, tmp_path):
    """The answer models are fitted on retrieval by a reranker that never saw the question (`fit_passages`'s
    fold models): `collect` uses the one given for each gold id, and leaves the installed one in place."""
    from assistant.rerank import PASSAGE_FEATURES, TreeModel
    from evals.calibration import fit_passages

    questions = [{"id": f"q90{n}", "split": "dev", "question": q, "answerable": True,
                  "evidence": [{"text": "Mesa de Trabajo Intersectorial para la Gestión Migratoria"}]}
                 for n, q in enumerate(["¿Qué es la Mesa de Trabajo Intersectorial para la Gestión Migratoria?",
                                        "¿Qué instituciones integran la MTIGM?"])]
    (tmp_path / "questions.jsonl").write_text("".join(json.dumps(q, ensure_ascii=False) + "\n" for q in questions),
                                              encoding="utf-8")
    tables_first = TreeModel(features=PASSAGE_FEATURES, baseline=0.0, trees=[
        {"feature": [PASSAGE_FEATURES.index("table"), -1, -1], "threshold": [0.5, 0.0, 0.0],
         "left": [1, -1, -1], "right": [2, -1, -1], "value": [0.0, -2.0, 2.0]}])
    installed = assistant.retriever.reranker
    items = {i.id.split("#")[0]: i for i in collect(assistant, tmp_path, rerankers={"q901": tables_first})}
    assert assistant.retriever.reranker is installed
    tables = [p.chunk.kind == "table" for p in items["q901"].pool]
    assert 0 < sum(tables) < len(tables) and tables == sorted(tables, reverse=True)  # tables first
    shipped = installed.probabilities([p.features for p in items["q900"].pool])  # the installed reranker's order
    assert list(shipped) == sorted(shipped, reverse=True)

    # the fold models: one per dev question that has a pool, none of them the model fitted on every question
    assistant.retriever.reranker = None
    pools = collect(assistant, tmp_path)
    assistant.retriever.reranker = installed
    copies = [replace(item, id=f"q8{n:02d}#1.1") for n, item in enumerate(pools * 5)]  # ten questions: 5 folds
    full, left_out = fit_passages(copies)
    assert set(left_out) == {i.id.split("#")[0] for i in copies}
    assert len({id(m) for m in left_out.values()}) == 5 and all(m is not full for m in left_out.values())


def test_the_eval_answers_each_dev_question_with_models_fitted_without_it(assistant):
    """evals/folds.json (written with the shipped models) holds, for the shipped gold set, one fold model set per
    fold: every dev question or conversation in exactly one fold, no held-out one in any; `installed` puts a
    fold's models in place of the shipped ones and gives them back; another gold set gets none."""
    from assistant import rerank
    from evals import folds
    from evals.calibration import gold_items
    from evals.cases import DEFAULT_GOLD, conversations_path, gold_digest

    by_gold = folds.load(gold_digest(DEFAULT_GOLD, conversations_path(DEFAULT_GOLD)))
    splits = {gold: split for gold, split, _ in gold_items()}
    assert set(by_gold) == {g for g, s in splits.items() if s == "dev"}
    unique = {id(f): f for f in by_gold.values()}.values()
    assert len(unique) == 5 and sum(len(f.gold_ids) for f in unique) == len(by_gold)
    shipped = {"passages": rerank.model(), "evidence": evidence.model("evidence"),
               "answerability": evidence.model("answerability")}
    for fold in unique:  # fitted apart: none is the model fitted on every dev question
        assert fold.passages.trees != shipped["passages"].trees
        assert fold.answerability.weights != shipped["answerability"].weights
        assert fold.evidence.threshold == shipped["evidence"].threshold  # the hand-set floor, not fitted

    fold = next(iter(unique))
    installed = assistant.retriever.reranker
    with folds.installed(assistant, fold):
        assert assistant.retriever.reranker is fold.passages
        assert evidence.model("answerability") is fold.answerability and evidence.model("evidence") is fold.evidence
        answer = assistant.ask("¿Cuántos miembros tiene la MTIGM?")
    assert assistant.retriever.reranker is installed and evidence.model("answerability") is shipped["answerability"]
    assert answer.citations
    assert folds.load("another gold set") == {}


def test_each_question_is_asked_with_the_models_of_the_fold_that_left_it_out(assistant, tmp_path):
    """`--only-answerability` refits the score on the gold set asked as the eval asks it: a gold id with its
    fold's three models installed (here a fold whose score refuses everything: its follow-up has no answer to
    lean on), the others with the shipped ones, which are in place again afterwards."""
    from evals.folds import Fold

    other = {**CONVERSATION, "id": "c901"}
    (tmp_path / "conversations.jsonl").write_text(
        "".join(json.dumps(c, ensure_ascii=False) + "\n" for c in (CONVERSATION, other)), encoding="utf-8")
    refuse_all = LinearModel(features=("top_dense",), weights={"top_dense": 0.0}, bias=-30.0, threshold=0.5)
    fold = Fold(["c900"], assistant.retriever.reranker, evidence.model("evidence"), refuse_all)
    shipped = evidence.model("answerability")
    last = {i.id.split("#")[0]: i for i in collect(assistant, tmp_path, answered=True, left_out={"c900": fold})}
    assert not last["c900"].query.previous_chunks  # its first turn was refused: nothing cited
    assert last["c901"].query.previous_chunks  # answered with the shipped models
    assert evidence.model("answerability") is shipped
