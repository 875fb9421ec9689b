"""Fitting the three learned parts of the answer pipeline on the dev split of the gold set, and only there:

- the passage reranker (assistant/models/passages.json): boosted trees over the features of the best fused
  candidates of every question (assistant.rerank), labelled by whether the passage holds a gold evidence span;
  fitted first, then installed, and the gold set asked again, so that the two models below are fitted on the
  passages the reranker chose: each dev question with the reranker of the fold that left it out (five folds by
  question), as a question the reranker never saw is retrieved;
- the evidence ranker (assistant/models/evidence.json): a logistic regression over the features of every
  candidate unit (assistant.evidence), labelled by whether the unit is a gold evidence span;
- the answerability score (assistant/models/answerability.json): a logistic regression over question-level
  features (assistant.answerability), labelled by whether the question (or part) is answerable; its operating
  point is the highest threshold whose false-refusal rate, on out-of-fold dev predictions, is at most 3%.

The held-out test split is only measured: its figures (and the calibration curve, false refusals against
missed abstentions, on dev out-of-fold and on test) are written into the models' `meta` and printed.

    .venv/bin/python -m evals.calibration [--data DIR] [--write] [--only-answerability]
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from assistant import evidence
from assistant.answerability import ANSWERABILITY_FEATURES
from assistant.answerability import features as question_features
from assistant.evidence import EVIDENCE_FEATURES, LinearModel
from assistant.query import part_queries, remembered_turn, understand
from assistant.rerank import PASSAGE_FEATURES, TreeModel
from evals import folds
from evals.cases import DEFAULT_GOLD, conversations_path, gold_digest
from evals.folds import gold_id_of
from evals.metrics import evidence_ranks, is_evidence

GOLD_DIR = Path(__file__).parent / "gold"
MAX_FALSE_REFUSALS = 0.03
# The out-of-fold curve the operating point is read from is the mean over this many 5-fold splits: one split's
# threshold swings with which few questions share a fold (0.16-0.24 over ten splits of the dev set)
CURVE_REPEATS = 10
# Strong regularisation: several features measure nearly the same thing (dense and sentence similarity), and
# a weak penalty let them take large weights of opposite sign that do not carry over to other corpora.
ANSWERABILITY_C = 0.05
# The passage reranker's trees, chosen on dev out-of-fold recall@5 (depth 2–4, 100–400 trees, leaves of 40–80
# candidates): shallow trees, a slow rate and large leaves, so that it learns interactions, not questions.
PASSAGE_TREES = {"max_depth": 3, "max_iter": 200, "learning_rate": 0.05, "min_samples_leaf": 80}


@dataclass
class Item:
    """One question (or part) asked of the pipeline, with what the fit needs."""

    id: str
    split: str
    answerable: bool
    spans: list[str]
    query: object
    passages: list
    ranked: list
    max_dense: float
    idf: dict
    pool: list = field(default_factory=list)  # the reranked fused candidates (assistant.retrieval), before MMR
    unseen: frozenset = frozenset()  # the question's terms no chunk of the index holds


def gold_items(gold_dir: Path = GOLD_DIR) -> list[tuple[str, str, list[dict]]]:
    """(id, split, turns) for every single question and every conversation; a single question is one turn."""
    out = []
    for path in sorted(gold_dir.glob("questions*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                record = json.loads(line)
                if record.get("follow_up_of"):
                    continue  # asked with its history inside the runner; here single questions only
                out.append((record["id"], record.get("split", "dev"), [record]))
    conversations = gold_dir / "conversations.jsonl"
    if conversations.exists():
        for line in conversations.read_text(encoding="utf-8").splitlines():
            if line.strip():
                record = json.loads(line)
                out.append((record["id"], record.get("split", "dev"), record["turns"]))
    return out


def gold_turn(turn: dict, query, chunks: list, catalog):
    """A conversation's turn as the gold set says it went, for the next turn to lean on: its resolved question,
    and, when answerable, the chunks that hold its gold evidence as what it cited."""
    spans = [e["text"] for e in turn.get("evidence", [])] if turn["answerable"] else []
    cited = [c for c in chunks if spans and any(r is not None for r in evidence_ranks(spans, [c.text], 1, [c.section]))]
    return remembered_turn(turn["question"], query.resolved, turn.get("reference_answer", ""), query.language, catalog,
                           cited[0] if cited else None, [c.id for c in cited])


def collect(assistant, gold_dir: Path = GOLD_DIR, answered: bool = False,
            rerankers: dict[str, TreeModel] | None = None, left_out: dict[str, folds.Fold] | None = None
            ) -> list[Item]:
    """Ask every gold question (conversations turn by turn) and keep, per part, the ranked candidates and
    retrieval figures. A turn comes after the gold turns before it (`gold_turn`), or, `answered`, after the
    assistant's own answers to them, as the eval and users ask. `rerankers`: the passage reranker each gold id
    is retrieved with (one not fitted on it, `fit_passages`); the installed one for the others. `left_out`: the
    models of the fold that left each gold id out (evals/folds.json), all three installed while it is asked."""
    items: list[Item] = []
    chunks = [chunk for chunk, _ in assistant.retriever.docstore.iter_chunks()]
    installed = assistant.retriever.reranker
    for gold_id, split, turns in gold_items(gold_dir):
        assistant.retriever.reranker = (rerankers or {}).get(gold_id, installed)
        with folds.installed(assistant, (left_out or {}).get(gold_id)):
            items += _collect_turns(assistant, gold_id, split, turns, chunks, answered)
    assistant.retriever.reranker = installed
    return items


def _collect_turns(assistant, gold_id: str, split: str, turns: list[dict], chunks, answered: bool) -> list[Item]:
    """`collect` for one gold question or conversation."""
    items: list[Item] = []
    history = []
    for t, turn in enumerate(turns):
        query = understand(turn["question"], history, assistant.catalog, assistant.settings.app.language,
                           similar=assistant.retriever.word_similarity)
        queries = part_queries(query, assistant.catalog)
        labels = [p.get("answerable", turn["answerable"]) for p in turn.get("parts", [])]
        if len(labels) != len(queries):
            labels = [turn["answerable"]] * len(queries)
        spans = [e["text"] for e in turn.get("evidence", [])]
        for i, (q, answerable) in enumerate(zip(queries, labels, strict=True)):
            if q.auxiliary:  # a follow-up's search on its own words: the turn's labels do not describe it
                continue
            part = assistant._part(q, None)
            if part.catalog:  # answered from the catalog: no score decides it, nothing to fit on
                continue
            items.append(Item(f"{gold_id}#{t + 1}.{i + 1}", split, bool(answerable), spans, part.query,
                              part.result.passages, part.ranked, part.result.max_dense, part.result.term_idf,
                              part.result.pool, part.result.unseen_terms))
        if t + 1 < len(turns):
            history.append(assistant.turn_of(assistant.ask(turn["question"], history=history)) if answered
                           else gold_turn(turn, query, chunks, assistant.catalog))
    return items


def _fit(x: np.ndarray, y: np.ndarray, names: tuple[str, ...], c: float, balanced: bool) -> LinearModel:
    from sklearn.linear_model import LogisticRegression

    # Features are standardised for the fit (so that regularisation treats them alike), then the scaling is
    # folded back into the weights: the stored model reads raw feature values.
    mean, std = x.mean(axis=0), x.std(axis=0)
    std[std == 0] = 1.0
    clf = LogisticRegression(C=c, class_weight="balanced" if balanced else None, max_iter=5000)
    clf.fit((x - mean) / std, y)
    weights = clf.coef_[0] / std
    bias = float(clf.intercept_[0] - np.sum(clf.coef_[0] * mean / std))
    return LinearModel(features=names, weights={n: round(float(w), 5) for n, w in zip(names, weights, strict=True)},
                       bias=round(bias, 5))


def holds_evidence(passages: list, spans: list[str]) -> list[bool]:
    """For each passage, whether it holds a gold evidence span (found as the eval's recall@k finds spans)."""
    return [any(r is not None for r in evidence_ranks(spans, [p.chunk.text], 1, [p.chunk.section]))
            for p in passages]


def _pool_rows(items: list[Item], split: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Feature rows, labels, item numbers and gold ids of the pools of a split's answerable items with evidence."""
    rows, labels, groups, gold = [], [], [], []
    chosen = [i for i in items if i.split == split and i.answerable and i.spans and i.pool]
    for number, item in enumerate(chosen):
        for passage, label in zip(item.pool, holds_evidence(item.pool, item.spans), strict=True):
            rows.append([passage.features.get(f, 0.0) for f in PASSAGE_FEATURES])
            labels.append(int(label))
            groups.append(number)
            gold.append(gold_id_of(item.id))
    return np.array(rows), np.array(labels), np.array(groups), np.array(gold)


def _trees(x: np.ndarray, y: np.ndarray):
    from sklearn.ensemble import HistGradientBoostingClassifier

    return HistGradientBoostingClassifier(**PASSAGE_TREES, early_stopping=False, random_state=0).fit(x, y)


def _recall_at_5(y: np.ndarray, groups: np.ndarray, order_by: np.ndarray) -> float:
    """Share of items with a gold-holding passage among the 5 best by `order_by` (the pool order, no MMR)."""
    hits = []
    for g in np.unique(groups):
        mine = np.where(groups == g)[0]
        top = mine[np.argsort(-order_by[mine], kind="stable")[:5]]
        hits.append(bool(y[top].any()))
    return round(float(np.mean(hits)), 3) if hits else 0.0


def fit_passages(items: list[Item], dev_ids: list[str] | None = None) -> tuple[TreeModel, dict[str, TreeModel]]:
    """The passage reranker, fitted on the dev pools; its meta holds its recall@5 over the pool (without MMR) on
    dev out of fold and on test, against the fused order. Also, per dev question or conversation, the reranker of
    the fold that left it out: retrieval as it goes for a question the reranker never saw, which is what the
    answer models are then fitted on (`collect(rerankers=…)`), not the better retrieval of the questions the
    reranker learnt. The dev questions it has no pool of (unanswerable ones, those the catalog answers; all of
    `dev_ids`, by default those of `items`) are dealt round the folds, so that each has a fold too: the answer
    models of its fold (`fit_folds`) are fitted without it."""
    from sklearn.model_selection import GroupKFold

    x, y, groups, gold = _pool_rows(items, "dev")
    fused_order = -np.arange(len(y), dtype=float)  # the pool comes in fused order
    out_of_fold = np.zeros(len(y))
    left_out: dict[str, TreeModel] = {}
    for train, held in GroupKFold(n_splits=5).split(x, y, gold):  # all parts and turns of a question in one fold
        fold = _trees(x[train], y[train])
        out_of_fold[held] = fold.predict_proba(x[held])[:, 1]
        exported = TreeModel.from_sklearn(fold, PASSAGE_FEATURES)
        left_out.update(dict.fromkeys(set(gold[held]), exported))
    distinct = list({id(m): m for m in left_out.values()}.values())
    others = sorted(set(dev_ids if dev_ids is not None else [gold_id_of(i.id) for i in items if i.split == "dev"])
                    - set(left_out))
    left_out.update({gold: distinct[n % len(distinct)] for n, gold in enumerate(others)})
    fitted = _trees(x, y)
    model = TreeModel.from_sklearn(fitted, PASSAGE_FEATURES)
    meta = {"fit": {"candidates": len(y), "positives": int(y.sum()), "trees": PASSAGE_TREES},
            "dev": {"fused_recall@5": _recall_at_5(y, groups, fused_order),
                    "reranked_recall@5_out_of_fold": _recall_at_5(y, groups, out_of_fold)}}
    tx, ty, tgroups, _ = _pool_rows(items, "test")
    if len(ty):
        meta["test"] = {"fused_recall@5": _recall_at_5(ty, tgroups, -np.arange(len(ty), dtype=float)),
                        "reranked_recall@5": _recall_at_5(ty, tgroups, model.log_odds(
                            [dict(zip(PASSAGE_FEATURES, row, strict=True)) for row in tx]))}
    model.meta = meta
    return model, left_out


def fit_evidence(items: list[Item]) -> tuple[LinearModel, dict]:
    rows, labels = [], []
    for item in items:
        if item.split != "dev" or not item.answerable or not item.spans:
            continue
        for c in item.ranked:
            rows.append([c.features[f] for f in EVIDENCE_FEATURES])
            labels.append(int(is_evidence(c.text, item.spans)))
    x, y = np.array(rows), np.array(labels)
    ranker = _fit(x, y, EVIDENCE_FEATURES, c=1.0, balanced=True)
    return ranker, {"candidates": len(y), "positives": int(y.sum())}


def rerank(items: list[Item], ranker: LinearModel) -> None:
    for item in items:
        for c in item.ranked:
            c.probability = ranker.probability(c.features)
        item.ranked.sort(key=lambda c: (-c.probability, c.passage_rank, c.chunk.ordinal, c.position))


def lead_accuracy(items: list[Item], split: str) -> dict:
    """Share of answerable items whose first-ranked unit is gold evidence (the sentence the answer leads with)."""
    chosen = [i for i in items if i.split == split and i.answerable and i.spans]
    right = sum(1 for i in chosen if i.ranked and is_evidence(i.ranked[0].text, i.spans))
    in_three = sum(1 for i in chosen if any(is_evidence(c.text, i.spans) for c in i.ranked[:3]))
    return {"items": len(chosen), "lead_is_evidence": round(right / max(1, len(chosen)), 3),
            "evidence_in_top3_units": round(in_three / max(1, len(chosen)), 3)}


def _matrix(items: list[Item]) -> tuple[np.ndarray, np.ndarray]:
    rows = [[question_features(i.query, i.passages, i.ranked, i.max_dense, i.idf, i.unseen)[f]
             for f in ANSWERABILITY_FEATURES] for i in items]
    return np.array(rows), np.array([int(i.answerable) for i in items])


def curve(probabilities: np.ndarray, y: np.ndarray) -> list[dict]:
    """False refusals (answerable refused) and missed abstentions (unanswerable answered) by threshold."""
    out = []
    for t in np.round(np.arange(0.0, 1.0001, 0.02), 2):
        answered = probabilities >= t
        fr = float(np.mean(~answered[y == 1])) if (y == 1).any() else 0.0
        missed = float(np.mean(answered[y == 0])) if (y == 0).any() else 0.0
        out.append({"threshold": float(t), "false_refusals": round(fr, 3), "missed_abstentions": round(missed, 3)})
    return out


def fit_answerability(items: list[Item]) -> tuple[LinearModel, dict]:
    from sklearn.model_selection import StratifiedKFold

    dev = [i for i in items if i.split == "dev"]
    x, y = _matrix(dev)
    curves = []
    for repeat in range(CURVE_REPEATS):
        out_of_fold = np.zeros(len(y))
        folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=repeat)
        for train, held in folds.split(x, y):
            fold_model = _fit(x[train], y[train], ANSWERABILITY_FEATURES, c=ANSWERABILITY_C, balanced=True)
            out_of_fold[held] = [fold_model.probability(dict(zip(ANSWERABILITY_FEATURES, row, strict=True)))
                                 for row in x[held]]
        curves.append(curve(out_of_fold, y))
    dev_curve = [{"threshold": points[0]["threshold"],
                  **{k: round(float(np.mean([p[k] for p in points])), 3) for k in ("false_refusals", "missed_abstentions")}}
                 for points in zip(*curves, strict=True)]
    allowed = [p for p in dev_curve if p["false_refusals"] <= MAX_FALSE_REFUSALS]
    threshold = max(p["threshold"] for p in allowed) if allowed else 0.0
    final = _fit(x, y, ANSWERABILITY_FEATURES, c=ANSWERABILITY_C, balanced=True)
    final.threshold = threshold
    return final, {"dev_items": len(y), "dev_unanswerable": int((y == 0).sum()), "dev_curve_out_of_fold": dev_curve}


def measure(items: list[Item], calibrated: LinearModel, split: str) -> dict:
    chosen = [i for i in items if i.split == split]
    if not chosen:
        return {}
    x, y = _matrix(chosen)
    p = np.array([calibrated.probability(dict(zip(ANSWERABILITY_FEATURES, row, strict=True))) for row in x])
    answered = p >= calibrated.threshold
    return {"items": len(y), "unanswerable": int((y == 0).sum()),
            "false_refusals": round(float(np.mean(~answered[y == 1])), 3) if (y == 1).any() else None,
            "unanswerable_refused": round(float(np.mean(~answered[y == 0])), 3) if (y == 0).any() else None,
            "curve": curve(p, y)}


def fit_answer_models(items: list[Item], floor: float) -> tuple[LinearModel, LinearModel]:
    """The evidence ranker (its floor given), then the answerability score over the evidence it ranks."""
    ranker, ranker_fit = fit_evidence(items)
    ranker.threshold = floor
    rerank(items, ranker)
    ranker.meta = {"fit": ranker_fit, "dev": lead_accuracy(items, "dev"), "test": lead_accuracy(items, "test")}
    calibrated, fit = fit_answerability(items)
    calibrated.meta = {"fit": fit, "threshold": calibrated.threshold, "dev": measure(items, calibrated, "dev"),
                       "test": measure(items, calibrated, "test")}
    return ranker, calibrated


def fit_folds(items: list[Item], left_out: dict[str, TreeModel], floor: float) -> list[folds.Fold]:
    """Per fold of `fit_passages` (its rerankers, `left_out`, by gold id), the answer models fitted as the shipped
    ones are but without the fold's questions: what the eval answers each dev question with (evals.folds)."""
    import copy

    members: dict[int, tuple[TreeModel, set[str]]] = {}
    for gold, reranker in left_out.items():
        members.setdefault(id(reranker), (reranker, set()))[1].add(gold)
    out = []
    for reranker, golds in members.values():
        train = copy.deepcopy([i for i in items if i.split == "dev" and gold_id_of(i.id) not in golds])
        ranker, calibrated = fit_answer_models(train, floor)
        out.append(folds.Fold(sorted(golds), reranker, ranker, calibrated))
    return out


def refit_answerability(assistant, write: bool) -> int:
    """The answerability score alone fitted again, the shipped and the folds' (evals/folds.json), on the gold set
    asked as the eval asks it: each dev question with the three models of the fold that left it out, the others with
    the shipped ones. For a change of the features or of what retrieval finds, without moving the reranker and the
    evidence ranker (a full refit moves all three, and its figures with them)."""
    digest = gold_digest(DEFAULT_GOLD, conversations_path(DEFAULT_GOLD))
    left_out = folds.load(digest)
    if not left_out:
        print("evals/folds.json no corresponde al conjunto gold: ejecute la calibración completa", file=sys.stderr)
        return 1
    items = collect(assistant, answered=True, left_out=left_out)
    fold_models = list({id(fold): fold for fold in left_out.values()}.values())
    for fold in fold_models:
        golds = set(fold.gold_ids)
        fold.answerability, _ = fit_answerability([i for i in items if i.split == "dev" and
                                                   gold_id_of(i.id) not in golds])
    calibrated, fit = fit_answerability(items)
    calibrated.meta = {"fit": fit, "threshold": calibrated.threshold, "dev": measure(items, calibrated, "dev"),
                       "test": measure(items, calibrated, "test")}
    print(json.dumps({"threshold": calibrated.threshold, "weights": calibrated.weights,
                      "folds": [f.answerability.threshold for f in fold_models],
                      **{split: {k: v for k, v in calibrated.meta[split].items() if k != "curve"}
                         for split in ("dev", "test")}}, ensure_ascii=False, indent=1))
    if write:
        evidence.MODELS_DIR.joinpath("answerability.json").write_text(calibrated.to_json() + "\n", encoding="utf-8")
        folds.save(fold_models, digest)
        plot_curve(calibrated.meta, assistant.settings.data_dir / "evals" / "calibration.png")
    assistant.close()
    return 0


def plot_curve(meta: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 4))
    for label, points in (("dev (out-of-fold)", meta["fit"]["dev_curve_out_of_fold"]),
                          ("test (held out)", meta["test"].get("curve", []))):
        if points:
            ax.plot([p["missed_abstentions"] for p in points], [p["false_refusals"] for p in points], marker=".",
                    label=label)
    ax.axhline(MAX_FALSE_REFUSALS, ls="--", c="grey", lw=0.8)
    ax.set_xlabel("missed abstentions (unanswerable answered)")
    ax.set_ylabel("false refusals (answerable refused)")
    ax.set_title(f"Answerability, operating point t={meta['threshold']}")
    ax.legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    from assistant.api import Assistant
    from assistant.settings import load_settings

    parser = argparse.ArgumentParser(prog="evals.calibration", description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=None)
    parser.add_argument("--write", action="store_true", help="write assistant/models/*.json")
    parser.add_argument("--only-answerability", action="store_true",
                        help="refit only the answerability score, over the shipped reranker and evidence ranker")
    args = parser.parse_args(argv)
    settings = load_settings(data_dir=args.data)
    assistant = Assistant(settings)
    if args.only_answerability:
        return refit_answerability(assistant, args.write)
    floor = evidence.model("evidence").threshold  # the evidence ranker's floor is set by hand, not fitted
    assistant.retriever.reranker = None  # the pools in fused order: what the reranker is fitted to reorder
    reranker, left_out = fit_passages(collect(assistant), [gold for gold, split, _ in gold_items() if split == "dev"])
    assistant.retriever.reranker = reranker
    # Conversations' later turns are fitted where users ask them, after the assistant's own answers; those answers
    # come from models fitted first after the gold turns, so that nothing depends on the models installed now.
    # Each dev question is retrieved with the reranker of the fold that left it out.
    ranker, calibrated = fit_answer_models(collect(assistant, rerankers=left_out), floor)
    evidence.FITTING.update(evidence=ranker, answerability=calibrated)
    answered = collect(assistant, answered=True, rerankers=left_out)
    fold_models = fit_folds(answered, left_out, floor)
    ranker, calibrated = fit_answer_models(answered, floor)
    evidence.FITTING.clear()
    summary = {"passages": reranker.meta, "evidence": {k: v for k, v in ranker.meta.items()},
               "answerability": {"threshold": calibrated.threshold,
                                 "dev": {k: v for k, v in calibrated.meta["dev"].items() if k != "curve"},
                                 "test": {k: v for k, v in calibrated.meta["test"].items() if k != "curve"}},
               "weights": {"evidence": ranker.weights, "answerability": calibrated.weights}}
    print(json.dumps(summary, ensure_ascii=False, indent=1))
    if args.write:
        evidence.MODELS_DIR.joinpath("passages.json").write_text(reranker.to_json() + "\n", encoding="utf-8")
        evidence.MODELS_DIR.joinpath("evidence.json").write_text(ranker.to_json() + "\n", encoding="utf-8")
        evidence.MODELS_DIR.joinpath("answerability.json").write_text(calibrated.to_json() + "\n", encoding="utf-8")
        folds.save(fold_models, gold_digest(DEFAULT_GOLD, conversations_path(DEFAULT_GOLD)))
        plot_curve(calibrated.meta, settings.data_dir / "evals" / "calibration.png")
        print(f"Modelos escritos en {evidence.MODELS_DIR}; curva en {settings.data_dir / 'evals' / 'calibration.png'}",
              file=sys.stderr)
    assistant.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
