"""Scoring: one row per asked case (every metric of one answer), and the figures over a set of rows —
the headline per split, and the same by style and by category.

A row is "right" when an answerable case is answered (not refused) with every key fact in the answer text,
or an unanswerable one is refused. Answers are "model" answers when a model-backed composer's sentences
survived its guard, "extractive" otherwise (the default composer, or a model answer that fell back to it):
their support figures are reported apart.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable

import numpy as np

from evals import metrics as M
from evals.cases import Case
from evals.judge import SupportJudge

WORST_PER_CATEGORY = 3

HEADLINE: list[tuple[str, str, str]] = [  # key, label, better ("up" / "down")
    ("recall@1", "Evidence recall@1", "up"),
    ("recall@5", "Evidence recall@5", "up"),
    ("recall@10", "Evidence recall@10", "up"),
    ("mrr", "MRR", "up"),
    ("key_fact_inclusion", "Answers holding every key fact", "up"),
    ("lead_is_evidence", "Answers leading with gold evidence", "up"),
    ("answers_right", "Answers right (facts, or refused when unanswerable)", "up"),
    ("false_refusal_rate", "False refusals (answerable refused)", "down"),
    ("abstention_recall", "Unanswerable refused", "up"),
    ("abstention_precision", "Abstention precision", "up"),
    ("follow_up_right", "Follow-up turns right", "up"),
    ("english_right", "English questions right", "up"),
    ("parts_right", "Answerable parts holding their facts", "up"),
    ("uncovered_parts_named", "Uncovered parts named as not covered", "up"),
    ("citation_recall", "Citation recall (sentences supported)", "up"),
    ("citation_precision", "Citation precision", "up"),
    ("unsupported_share_extractive", "Unsupported sentences: extractive answers", "down"),
    ("unsupported_share_model", "Unsupported sentences: model answers", "down"),
    ("model_sentences", "Model sentences surviving the guard", "up"),
    ("quotes_verbatim", "Quotes verbatim", "up"),
    ("language_accuracy", "Answer prose in the question's language", "up"),
    ("quotes_other_language", "Quotes in the other language (share)", "none"),
    ("p50_total_ms", "Answer p50 (ms)", "down"),
    ("p95_total_ms", "Answer p95 (ms)", "down"),
    ("p50_retrieve_ms", "Retrieve p50 (ms)", "down"),
]
COUNTS = {"model_sentences"}


def score_result(case: Case, result: dict, chunks: dict[int, str], chunk_texts: dict[str, str],
                 judge: SupportJudge, boilerplate: list[str]) -> dict:
    """Every metric for one case and one `ask --json` result. `chunks`: citation number → the cited chunk's
    whole text; `chunk_texts`: chunk id → text, for the verbatim check."""
    contexts = result.get("contexts", [])
    abstained = bool(result.get("abstained"))
    answer = result.get("answer", "")
    model_answer = result.get("backend") not in {"extractive", "langchain-tutorial", None} \
        and "fallback_extractive" not in result.get("notes", [])
    row = {
        "id": case.id, "split": case.split, "style": case.style, "category": case.category,
        "language": case.language, "answerable": case.answerable, "question": case.question,
        "follow_up": case.is_follow_up, "group": case.group,
        "evidence": case.evidence, "key_facts": {}, "abstained": abstained,
        "answer": answer, "resolved_question": result.get("resolved_question", case.question),
        "citations": [{"n": c["n"], "chunk_id": c["chunk_id"], "quote": c["quote"]} for c in result.get("citations", [])],
        "contexts": [{"rank": i + 1, "chunk_id": c["chunk_id"], "doc_id": c["doc_id"],
                      "preview": " ".join(c["text"].split())[:160]} for i, c in enumerate(contexts[:5])],
        "timings_ms": result.get("timings_ms", {}), "notes": result.get("notes", []),
        "answer_kind": "none" if abstained else ("model" if model_answer else "extractive"),
    }
    if case.answerable:
        ranks = M.evidence_ranks(case.evidence, [c["text"] for c in contexts], max(M.KS),
                                 [str((c.get("metadata") or {}).get("section") or "") for c in contexts])
        row["evidence_ranks"] = ranks
        for k in M.KS:
            row[f"recall@{k}"] = M.recall_at_k(ranks, k)
        row["rr"] = M.reciprocal_rank(ranks)
        included = [False] * len(case.key_facts) if abstained else M.key_facts_included(case.key_facts, answer)
        row["key_facts"] = dict(zip(case.key_facts, included, strict=True))
        row["key_facts_all"] = all(included)
        # the sentence the answer leads with (its first citation's quote) is gold evidence; None when refused
        first = (result.get("citations") or [{}])[0].get("quote")
        row["lead_is_evidence"] = None if abstained or not first or not case.evidence else \
            M.is_evidence(first, case.evidence)
        row["right"] = not abstained and row["key_facts_all"]
    else:
        row["right"] = abstained
    claims = [] if abstained else M.answer_claims(answer, boilerplate)
    cited = M.citation_scores(claims, chunks, judge)
    row.update({"sentences": cited.sentences, "unsupported_sentences": cited.unsupported,
                "citation_precision": cited.precision, "citation_recall": cited.recall,
                "sentence_support": cited.per_sentence})
    language = M.answer_language(case.language, answer, claims, chunks)
    row.update({"language_ok": language.ok, "prose_wrong_language": language.prose_wrong,
                "quotes": language.quotes, "quotes_other_language": language.quotes_other_language})
    verbatim = M.quotes_verbatim(result.get("citations", []), chunk_texts)
    row["quotes_verbatim"] = verbatim
    if case.parts:
        row["parts"] = M.parts_scores(case.parts, answer, abstained)
    return row


def _share(flags: Iterable[bool]) -> float | None:
    flags = list(flags)
    return sum(flags) / len(flags) if flags else None


def _answerable(row: dict) -> bool:
    return row["answerable"]


# The headline figures that are a mean of one value per row over the rows it applies to: {key: (applies, value)}.
# `aggregate` computes them so, and `intervals` resamples the same definitions.
MEANS: dict[str, tuple[Callable[[dict], bool], Callable[[dict], float]]] = {
    **{f"recall@{k}": (_answerable, lambda r, k=k: r[f"recall@{k}"]) for k in M.KS},
    "mrr": (_answerable, lambda r: r["rr"]),
    "key_fact_inclusion": (_answerable, lambda r: r["key_facts_all"]),
    "lead_is_evidence": (lambda r: r["answerable"] and r.get("lead_is_evidence") is not None,
                         lambda r: r["lead_is_evidence"]),
    "answers_right": (lambda r: True, lambda r: r["right"]),
    "follow_up_right": (lambda r: r["follow_up"], lambda r: r["right"]),
    "english_right": (lambda r: r["language"] == "en", lambda r: r["right"]),
    "false_refusal_rate": (_answerable, lambda r: r["abstained"]),
    "abstention_recall": (lambda r: not r["answerable"], lambda r: r["abstained"]),
}
# Those given a 95% interval on the held-out split.
INTERVAL_FIGURES = ("recall@5", "mrr", "key_fact_inclusion", "lead_is_evidence", "answers_right",
                    "false_refusal_rate", "abstention_recall", "follow_up_right", "english_right")


def aggregate(rows: list[dict]) -> dict:
    """The headline figures over a set of rows."""
    answerable = [r for r in rows if r["answerable"]]
    answered = [r for r in rows if not r["abstained"] and r["sentences"]]
    out: dict = {"questions": len(rows), "answerable": len(answerable)}
    out.update({key: M.mean(float(value(r)) for r in rows if applies(r)) for key, (applies, value) in MEANS.items()})
    out["key_fact_share"] = M.mean(M.mean(float(v) for v in r["key_facts"].values()) for r in answerable)
    parts = [p for r in rows for p in r.get("parts", [])]
    out["parts_right"] = _share(p["right"] for p in parts if p["answerable"])
    out["uncovered_parts_named"] = _share(p["right"] for p in parts if not p["answerable"])
    out["citation_precision"] = M.mean(r["citation_precision"] for r in answered)
    out["citation_recall"] = M.mean(r["citation_recall"] for r in answered)
    for kind in ("extractive", "model"):
        mine = [r for r in answered if r["answer_kind"] == kind]
        sentences = sum(r["sentences"] for r in mine)
        out[f"unsupported_share_{kind}"] = sum(r["unsupported_sentences"] for r in mine) / sentences \
            if sentences else None
        out[f"{kind}_answers"] = len(mine)
    out["model_sentences"] = sum(r["sentences"] for r in answered if r["answer_kind"] == "model")
    abst = M.abstention_scores((r["answerable"], r["abstained"]) for r in rows)
    out["abstention_precision"] = abst["abstention_precision"]  # its recall and false refusals: in MEANS
    out["abstention_counts"] = {k: abst[k] for k in ("abstained_unanswerable", "refused_answerable",
                                                     "answered_unanswerable")}
    out["language_accuracy"] = _share(r["language_ok"] for r in rows if r["language_ok"] is not None)
    quotes = sum(r["quotes"] for r in rows)
    out["quotes_other_language"] = sum(r["quotes_other_language"] for r in rows) / quotes if quotes else None
    out["quotes_verbatim"] = _share(ok for r in rows for ok in r["quotes_verbatim"])
    for part in ("retrieve", "total"):
        values = [r["timings_ms"].get(part, 0.0) for r in rows]
        out[f"p50_{part}_ms"] = M.percentile(values, 50)
        out[f"p95_{part}_ms"] = M.percentile(values, 95)
    return out


def by_split(rows: list[dict], splits: Iterable[str]) -> dict[str, dict]:
    return {split: aggregate([r for r in rows if r["split"] == split]) for split in splits
            if any(r["split"] == split for r in rows)}


INTERVAL_RESAMPLES = 2000


def intervals(rows: list[dict], resamples: int = INTERVAL_RESAMPLES, seed: int = 0) -> dict[str, list[float]]:
    """95% percentile-bootstrap intervals of the INTERVAL_FIGURES over a set of rows: the questions resampled with
    replacement, a conversation's turns (and a follow-up with the question it follows) together. They say how far
    a figure could move with another draw of questions like these, not what a refit or a change moves it by."""
    if not rows:
        return {}
    groups = {g: n for n, g in enumerate(sorted({r.get("group", r["id"]) for r in rows}))}
    group_of = np.array([groups[r.get("group", r["id"])] for r in rows])
    counts = np.random.default_rng(seed).multinomial(len(groups), [1 / len(groups)] * len(groups), size=resamples)
    weights = counts[:, group_of].astype(float)  # resamples × rows: how often each row is drawn
    out: dict[str, list[float]] = {}
    for key in INTERVAL_FIGURES:
        applies, value = MEANS[key]
        mask = np.array([bool(applies(r)) for r in rows])
        if not mask.any():
            continue
        mine = weights[:, mask]
        drawn = mine.sum(axis=1)
        values = np.array([float(value(r)) for r, m in zip(rows, mask, strict=True) if m])
        means = (mine @ values)[drawn > 0] / drawn[drawn > 0]
        out[key] = [round(float(np.percentile(means, 2.5)), 3), round(float(np.percentile(means, 97.5)), 3)]
    return out


GROUP_FIGURES = ("recall@5", "mrr", "key_fact_inclusion", "answers_right", "false_refusal_rate",
                 "abstention_recall", "citation_recall")


def by_group(rows: list[dict], key: str, splits: Iterable[str]) -> dict[str, dict[str, dict]]:
    """{split: {group: figures}} for `key` = "style" or "category"."""
    out: dict[str, dict[str, dict]] = {}
    for split in splits:
        groups: dict[str, list[dict]] = defaultdict(list)
        for r in rows:
            if r["split"] == split:
                groups[r[key]].append(r)
        if groups:
            out[split] = {g: {"n": len(items), **{k: aggregate(items)[k] for k in GROUP_FIGURES}}
                          for g, items in sorted(groups.items())}
    return out


def _failure_rank(row: dict) -> tuple:
    if not row["answerable"]:
        return (0 if not row["abstained"] else 1,)
    return (row["recall@5"], row["rr"], float(row["key_facts_all"]), row["citation_recall"] or 0.0)


def is_failure(row: dict) -> bool:
    if not row["answerable"]:
        return not row["abstained"]
    return row["recall@5"] < 1.0 or not row["right"]


def worst_failures(rows: list[dict], per_category: int = WORST_PER_CATEGORY) -> dict[str, list[dict]]:
    groups: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        if is_failure(r):
            groups[f"{r['split']} · {r['category']}"].append(r)
    return {c: [failure_summary(r) for r in sorted(items, key=_failure_rank)[:per_category]]
            for c, items in sorted(groups.items())}


def failure_summary(row: dict) -> dict:
    return {"id": row["id"], "question": row["question"], "resolved_question": row.get("resolved_question"),
            "expected_evidence": row["evidence"], "key_facts": row["key_facts"], "abstained": row["abstained"],
            "recall@5": row.get("recall@5"), "evidence_ranks": row.get("evidence_ranks"),
            "answer": row["answer"][:700], "top_contexts": row["contexts"][:3]}
