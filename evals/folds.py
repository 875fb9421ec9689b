"""Out-of-fold models for the eval's dev column: which dev question belongs to which fold, and the three learned
models (passage reranker, evidence ranker, answerability score) fitted without that fold.

The shipped models are fitted on every dev question, so dev answered with them is in-sample: it says how well the
models learnt their own questions, not how they do on new ones. evals/calibration.py (`--write`) also fits, per
fold of its five (by question or conversation, as the reranker's cross-fitting), the models without it, and writes
them here with the digest of the gold set they belong to; the eval asks each dev question with its fold's models
(`installed`), so that both columns of the report measure questions the models never saw. The held-out split is
always asked with the shipped models.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from assistant import evidence
from assistant.evidence import LinearModel
from assistant.rerank import TreeModel

FOLDS = Path(__file__).parent / "folds.json"


def gold_id_of(item_id: str) -> str:
    """The question or conversation an item or case («c012#2.1»: turn 2, part 1) comes from."""
    return item_id.split("#")[0]


@dataclass
class Fold:
    gold_ids: list[str]
    passages: TreeModel
    evidence: LinearModel
    answerability: LinearModel

    def to_dict(self) -> dict:
        return {"gold_ids": sorted(self.gold_ids),
                **{name: json.loads(model.to_json()) | {"meta": {}}
                   for name, model in (("passages", self.passages), ("evidence", self.evidence),
                                       ("answerability", self.answerability))}}

    @classmethod
    def from_dict(cls, data: dict) -> Fold:
        return cls(list(data["gold_ids"]), TreeModel.from_dict(data["passages"]),
                   LinearModel.from_dict(data["evidence"]), LinearModel.from_dict(data["answerability"]))


def save(folds: list[Fold], gold_sha256: str, path: Path = FOLDS) -> None:
    body = {"_comment": "written by `python -m evals.calibration --write`; read by the eval for its dev column",
            "gold_sha256": gold_sha256, "folds": [f.to_dict() for f in folds]}
    path.write_text(json.dumps(body, ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8")


def load(gold_sha256: str, path: Path = FOLDS) -> dict[str, Fold]:
    """Gold id → the fold that left it out; empty when there is no file or it was fitted on another gold set
    (the dev column is then in-sample, and the report says so)."""
    if not path.is_file():
        return {}
    data = json.loads(path.read_text(encoding="utf-8"))
    if data.get("gold_sha256") != gold_sha256:
        return {}
    return {gold: fold for fold in map(Fold.from_dict, data["folds"]) for gold in fold.gold_ids}


@contextmanager
def installed(assistant, fold: Fold | None) -> Iterator[None]:
    """The fold's models answer in place of the shipped ones while inside (nothing changes for None)."""
    if fold is None:
        yield
        return
    reranker, fitting = assistant.retriever.reranker, dict(evidence.FITTING)
    assistant.retriever.reranker = fold.passages
    evidence.FITTING.update(evidence=fold.evidence, answerability=fold.answerability)
    try:
        yield
    finally:
        assistant.retriever.reranker = reranker
        evidence.FITTING.clear()
        evidence.FITTING.update(fitting)
