"""Passage reranking: the order of the fused candidates, learned.

Reciprocal-rank fusion (assistant.retrieval) sums ranks with fixed weights; it finds the evidence (in 98% of
dev questions it is among the fused candidates) but ranks it below the fifth passage in one question of five.
The reranker reorders the best `RetrievalSettings.rerank_pool` fused candidates by the probability that a
passage holds the evidence, from what retrieval already measured about it: its cosine to the question, its
BM25 score, its best evidence unit, its rank in each list, its reference match, kind and language, how
much of the question's idf-weighted terms it holds, and how well its latent terms (indexer.embeddings) match the
question's. The features interact (a table's rank means something else
than a paragraph's; BM25 counts for less once the dense lists agree), which a linear model could not use and
fusion weights cannot express: the model is a small set of boosted trees (scikit-learn's
HistGradientBoostingClassifier, fitted on the dev split only by evals/calibration.py), stored as JSON in
assistant/models/passages.json and read here with numpy: scikit-learn is not needed to answer.
Nothing here names a gold question's words; every feature is a score or a property of the passage.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from assistant.evidence import MODELS_DIR

PASSAGE_FEATURES = (
    "fused",          # the reciprocal-rank fusion sum (before priors and boosts)
    "dense",          # cosine of the question to the chunk's vector
    "lexical",        # BM25 score over the best BM25 score of the question (0: not in the lexical list)
    "unit_best",      # cosine of the question to the chunk's closest evidence unit
    "unit_gap",       # how far that unit is from the closest unit of the whole index
    "reference",      # the chunk carries a reference the question names (objective, lineamiento, table…)
    "prior",          # the kind prior of retrieval (references, notes and glossaries rank lower)
    "same_language",  # a question not in Spanish, a chunk in the question's language
    "coverage",       # share of the question's idf-weighted terms the chunk (and its section) holds
    "length",         # log(1 + words) of the chunk
    "dense_rank",     # 1 / (1 + rank) in the dense list (0.01 when absent), and likewise:
    "lexical_rank",
    "unit_rank",
    "reference_rank",
    "fused_rank",     # 1 / (1 + rank) by the boosted fused score (retrieval's order before this)
    "fused_relative",  # the boosted fused score over the best one
    "table",          # the chunk is a table
    "finding",        # the chunk is a finding of the thesis (conclusion, recommendation)
    "latent",         # the match of the chunk's latent terms with the question's (indexer.embeddings) over the best
    "latent_rank",    # 1 / (1 + rank) by that match in the whole index
)


@dataclass
class TreeModel:
    """Boosted regression trees over named features (log-odds summed over trees), read from JSON."""

    features: tuple[str, ...]
    baseline: float
    # per tree, parallel lists: feature index, threshold, left child, right child (-1: a leaf), value
    trees: list[dict[str, list]]
    meta: dict = field(default_factory=dict)

    def __post_init__(self):
        # the trees as padded matrices (tree × node): every tree is walked at once, one level per step
        width = max((len(t["feature"]) for t in self.trees), default=1)

        def padded(key: str, fill, dtype) -> np.ndarray:
            return np.array([list(t[key]) + [fill] * (width - len(t[key])) for t in self.trees] or [[fill]],
                            dtype=dtype)

        self._feature = np.maximum(padded("feature", 0, np.int64), 0)
        self._threshold = padded("threshold", 0.0, np.float64)
        self._left, self._right = padded("left", -1, np.int64), padded("right", -1, np.int64)
        self._value = padded("value", 0.0, np.float64)
        self._trees = np.arange(len(self.trees))[:, None]

    def log_odds(self, rows: list[dict[str, float]]) -> np.ndarray:
        """The model's log-odds for each row of feature values (a missing feature reads as 0)."""
        if not rows:
            return np.zeros(0)
        x = np.array([[row.get(f, 0.0) for f in self.features] for row in rows], dtype=np.float64)
        if not self.trees:
            return np.full(len(rows), self.baseline)
        t, cols = self._trees, np.arange(len(rows))[None, :]
        node = np.zeros((len(self.trees), len(rows)), dtype=np.int64)  # every tree, every row: at its root
        while True:
            inner = self._left[t, node] >= 0
            if not inner.any():
                break
            go_left = x[cols, self._feature[t, node]] <= self._threshold[t, node]
            node = np.where(inner, np.where(go_left, self._left[t, node], self._right[t, node]), node)
        return self.baseline + self._value[t, node].sum(axis=0)

    def probabilities(self, rows: list[dict[str, float]]) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-np.clip(self.log_odds(rows), -30.0, 30.0)))

    @classmethod
    def load(cls, name: str, folder: Path = MODELS_DIR) -> TreeModel:
        return cls.from_dict(json.loads((folder / f"{name}.json").read_text(encoding="utf-8")))

    @classmethod
    def from_dict(cls, data: dict) -> TreeModel:
        return cls(features=tuple(data["features"]), baseline=data["baseline"], trees=data["trees"],
                   meta=data.get("meta", {}))

    def to_json(self) -> str:
        body = json.dumps({"features": list(self.features), "baseline": self.baseline, "meta": self.meta},
                          ensure_ascii=False, indent=1)
        trees = ",\n  ".join(json.dumps(t, separators=(",", ":")) for t in self.trees)
        return body[:-2] + f',\n "trees": [\n  {trees}\n ]\n}}'  # one tree a line: a diff stays readable

    @classmethod
    def from_sklearn(cls, fitted, features: tuple[str, ...], meta: dict | None = None) -> TreeModel:
        """The trees of a fitted binary HistGradientBoostingClassifier (numeric features, no categories)."""
        trees = []
        for (predictor,) in fitted._predictors:
            tree: dict[str, list] = {"feature": [], "threshold": [], "left": [], "right": [], "value": []}
            for node in predictor.nodes:
                leaf = bool(node["is_leaf"])
                tree["feature"].append(-1 if leaf else int(node["feature_idx"]))
                tree["threshold"].append(0.0 if leaf else float(node["num_threshold"]))
                tree["left"].append(-1 if leaf else int(node["left"]))
                tree["right"].append(-1 if leaf else int(node["right"]))
                tree["value"].append(round(float(node["value"]), 7) if leaf else 0.0)
            trees.append(tree)
        baseline = float(np.ravel(fitted._baseline_prediction)[0])
        return cls(features=features, baseline=baseline, trees=trees, meta=meta or {})


@lru_cache(maxsize=2)
def model(name: str = "passages") -> TreeModel | None:
    """The shipped passage reranker; None when its file is absent (retrieval keeps the fused order)."""
    if not (MODELS_DIR / f"{name}.json").exists():
        return None
    return TreeModel.load(name)


def rank_feature(rank: int | None) -> float:
    """1 / (1 + rank) for a 0-based rank in a list; 0.01 when the list does not hold the candidate."""
    return 1.0 / (1 + rank) if rank is not None else 0.01


def log_length(text: str) -> float:
    return math.log(1 + len(text.split()))
