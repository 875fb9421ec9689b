"""The evaluation run: ask every gold question (follow-ups with the previous turn as history), score
retrieval, citations, key facts, abstention, language and latency, run the LangChain-tutorial baseline
beside ours, and write the report (runs/<timestamp>/ plus the latest copy at the top of the output folder).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from evals import metrics as M

DEFAULT_GOLD = Path(__file__).parent / "gold" / "questions.jsonl"
EVAL_TOP_K = 10
WORST_PER_CATEGORY = 3

HEADLINE: list[tuple[str, str, str]] = [  # key, label, better ("up" / "down")
    ("recall@1", "Evidence recall@1", "up"),
    ("recall@3", "Evidence recall@3", "up"),
    ("recall@5", "Evidence recall@5", "up"),
    ("recall@10", "Evidence recall@10", "up"),
    ("mrr", "MRR", "up"),
    ("citation_precision", "Citation precision", "up"),
    ("citation_recall", "Citation recall", "up"),
    ("unsupported_share", "Unsupported sentences (share)", "down"),
    ("key_fact_inclusion", "Key-fact inclusion", "up"),
    ("abstention_precision", "Abstention precision", "up"),
    ("abstention_recall", "Abstention recall", "up"),
    ("false_refusal_rate", "False refusals (answerable)", "down"),
    ("language_accuracy", "Answer language", "up"),
    ("p50_retrieve_ms", "Retrieve p50 (ms)", "down"),
    ("p95_retrieve_ms", "Retrieve p95 (ms)", "down"),
    ("p50_total_ms", "Total p50 (ms)", "down"),
    ("p95_total_ms", "Total p95 (ms)", "down"),
]


def load_gold(path: Path) -> list[dict]:
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]


def _boilerplate() -> list[str]:
    from assistant.prompts import message

    return [message(key, lang) for key in ("answer_intro", "abstain", "nearest_sources") for lang in ("es", "en")]


# --- scoring one result ----------------------------------------------------------------------------

def score_result(gold: dict, result: dict, passages: dict[int, M.Passage], check: M.SupportCheck,
                 boilerplate: list[str], prose: bool) -> dict:
    """One per-question row: every metric for one gold question and one `ask --json` result."""
    contexts = result.get("contexts", [])
    row = {
        "id": gold["id"], "category": gold["category"], "language": gold["language"],
        "answerable": gold["answerable"], "question": gold["question"],
        "evidence": [e["text"] for e in gold["evidence"]], "key_facts": {},
        "abstained": bool(result.get("abstained")), "answer": result.get("answer", ""),
        "citations": [{"n": c["n"], "chunk_id": c["chunk_id"], "quote": c["quote"]}
                      for c in result.get("citations", [])],
        "contexts": [{"rank": i + 1, "chunk_id": c["chunk_id"], "doc_id": c["doc_id"],
                      "preview": " ".join(c["text"].split())[:160]} for i, c in enumerate(contexts[:5])],
        "timings_ms": result.get("timings_ms", {}), "notes": result.get("notes", []),
    }
    if gold.get("follow_up_of"):
        row["follow_up_of"] = gold["follow_up_of"]
    if gold["answerable"]:
        ranks = M.evidence_ranks(row["evidence"], [c["text"] for c in contexts], max(M.KS),
                                 [str((c.get("metadata") or {}).get("section") or "") for c in contexts])
        row["evidence_ranks"] = ranks
        for k in M.KS:
            row[f"recall@{k}"] = M.recall_at_k(ranks, k)
        row["rr"] = M.reciprocal_rank(ranks)
    claims = [] if row["abstained"] else M.answer_claims(row["answer"], boilerplate)
    cited = M.citation_scores(claims, passages, check)
    row.update({"sentences": cited.sentences, "unsupported_sentences": cited.unsupported,
                "citation_precision": cited.precision, "citation_recall": cited.recall,
                "sentence_support": cited.per_sentence})
    if gold["answerable"]:
        used = {n for claim in claims for n in claim.markers}
        quotes = [c["quote"] for c in result.get("citations", []) if c["n"] in used]
        body = "\n".join(claim.text for claim in claims)
        included = M.key_facts_included(gold["key_facts"], body, quotes) if not row["abstained"] else \
            [False] * len(gold["key_facts"])
        row["key_facts"] = dict(zip(gold["key_facts"], included, strict=True))
        row["key_facts_all"] = all(included)
    # A model's own prose must be in the question's language; quotations (extractive answers, and a model's
    # answer that fell back to them) stay in the passages' language, announced by the intro line.
    prose = prose and "fallback_extractive" not in result.get("notes", [])
    row["language_ok"] = M.language_correct(gold["language"], result.get("language"),
                                            row["answer"] if prose and not row["abstained"] else None)
    return row


def aggregate(rows: list[dict]) -> dict:
    """Headline figures over per-question rows."""
    answerable = [r for r in rows if r["answerable"]]
    answered = [r for r in rows if not r["abstained"] and r["sentences"]]
    out: dict = {"questions": len(rows), "answerable": len(answerable)}
    for k in M.KS:
        out[f"recall@{k}"] = M.mean(r[f"recall@{k}"] for r in answerable)
    out["mrr"] = M.mean(r["rr"] for r in answerable)
    out["citation_precision"] = M.mean(r["citation_precision"] for r in answered)
    out["citation_recall"] = M.mean(r["citation_recall"] for r in answered)
    sentences = sum(r["sentences"] for r in answered)
    out["unsupported_share"] = sum(r["unsupported_sentences"] for r in answered) / sentences if sentences else None
    out["key_fact_inclusion"] = M.mean(float(r["key_facts_all"]) for r in answerable)
    out["key_fact_share"] = M.mean(M.mean(float(v) for v in r["key_facts"].values()) for r in answerable)
    abst = M.abstention_scores((r["answerable"], r["abstained"]) for r in rows)
    out.update({k: abst[k] for k in ("abstention_precision", "abstention_recall", "false_refusal_rate")})
    out["abstention_counts"] = {k: abst[k] for k in ("abstained_unanswerable", "refused_answerable",
                                                     "answered_unanswerable")}
    langs = [r["language_ok"] for r in rows if r["language_ok"] is not None]
    out["language_accuracy"] = sum(langs) / len(langs) if langs else None
    for part in ("retrieve", "total"):
        values = [r["timings_ms"].get(part, 0.0) for r in rows]
        out[f"p50_{part}_ms"] = M.percentile(values, 50)
        out[f"p95_{part}_ms"] = M.percentile(values, 95)
    return out


def by_category(rows: list[dict]) -> dict[str, dict]:
    groups: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        groups[r["category"]].append(r)
    out = {}
    for category, items in sorted(groups.items()):
        figures = aggregate(items)
        out[category] = {"n": len(items), **{k: figures[k] for k in (
            "recall@1", "recall@5", "recall@10", "mrr", "key_fact_inclusion", "citation_recall",
            "abstention_recall", "false_refusal_rate")}}
    return out


def _failure_rank(row: dict) -> tuple:
    if not row["answerable"]:
        return (0 if not row["abstained"] else 1,)
    return (row["recall@5"], row["rr"], float(row["key_facts_all"]), row["citation_recall"] or 0.0)


def _is_failure(row: dict) -> bool:
    if not row["answerable"]:
        return not row["abstained"]
    return row["recall@5"] < 1.0 or not row["key_facts_all"] or row["abstained"]


def worst_failures(rows: list[dict], per_category: int = WORST_PER_CATEGORY) -> dict[str, list[dict]]:
    groups: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        if _is_failure(r):
            groups[r["category"]].append(r)
    return {c: sorted(items, key=_failure_rank)[:per_category] for c, items in sorted(groups.items())}


# --- the run ---------------------------------------------------------------------------------------

def _eval_settings(settings, backend: str | None):
    """The settings of the run: the chosen composer, and at least EVAL_TOP_K contexts per question."""
    answer = settings.answer.model_copy(update={"backend": backend}) if backend else settings.answer
    retrieval = settings.retrieval.model_copy(update={"top_k": max(settings.retrieval.top_k, EVAL_TOP_K)})
    return settings.model_copy(update={"answer": answer, "retrieval": retrieval})


def _our_passages(result: dict, docstore) -> dict[int, M.Passage]:
    """Cited passages of one of our answers: the quote and its chunk's text (from the contexts, else the
    docstore: a quote may come from a neighbouring chunk), with the chunk's stored vector."""
    texts = {c["chunk_id"]: c["text"] for c in result.get("contexts", [])}
    ids = [c["chunk_id"] for c in result.get("citations", [])]
    missing = [cid for cid in ids if cid not in texts]
    if missing:
        texts.update({cid: chunk.text for cid, chunk in docstore.get(missing).items()})
    vectors = docstore.vectors(list(dict.fromkeys(ids))) if ids else {}
    out = {}
    for c in result.get("citations", []):
        chunk_text = texts.get(c["chunk_id"], "")
        text = chunk_text if c["quote"] and c["quote"] in chunk_text else f"{c['quote']}\n{chunk_text}".strip()
        out[c["n"]] = M.Passage(text, vectors.get(c["chunk_id"]) if chunk_text else None)
    return out


def run_eval(settings, gold_path: Path | str = DEFAULT_GOLD, output_dir: Path | str | None = None,
             backend: str | None = "extractive", baseline: bool = True,
             support_threshold: float = M.DEFAULT_SUPPORT_THRESHOLD,
             log: Callable[[str], None] | None = None, write: bool = True) -> dict:
    """Evaluate `backend` on the gold set against the index in `settings.data_dir`; with `baseline`, the
    LangChain tutorial pipeline too. Writes the report under `output_dir` (default DATA/evals) and returns it."""
    from assistant.api import Assistant

    log = log or (lambda line: print(line, file=sys.stderr, flush=True))
    started = time.perf_counter()
    gold_path = Path(gold_path)
    gold = load_gold(gold_path)
    by_id = {g["id"]: g for g in gold}
    settings = _eval_settings(settings, backend)
    assistant = Assistant(settings)
    check = M.SupportCheck(assistant.retriever.embed_query, support_threshold)
    boilerplate = _boilerplate()
    prose = assistant.composer.name != "extractive"
    docstore = assistant.retriever.docstore

    answers: dict = {}
    rows: list[dict] = []
    log(f"evaluación: {len(gold)} preguntas, composer {assistant.composer.name}, índice {settings.data_dir}")

    def answer(item: dict):
        history = []
        previous_id = item.get("follow_up_of")
        if previous_id:
            if previous_id not in answers and previous_id in by_id:
                answer(by_id[previous_id])
            if previous_id in answers:
                history = [assistant.turn_of(answers[previous_id])]
        answers[item["id"]] = assistant.ask(item["question"], history=history, id=item["id"])
        return answers[item["id"]]

    for i, item in enumerate(gold, 1):
        result = answer(item).to_dict()
        rows.append(score_result(item, result, _our_passages(result, docstore), check, boilerplate, prose))
        if i % 20 == 0:
            log(f"  {i}/{len(gold)}")
    ours_s = time.perf_counter() - started

    base_rows: list[dict] = []
    base_info: dict = {"enabled": baseline}
    if baseline:
        from evals.baseline import ANSWER_SENTENCES, CHUNK_OVERLAP, CHUNK_SIZE, open_baseline

        t0 = time.perf_counter()
        pipeline = open_baseline(settings, log=log)
        for item in gold:
            result = pipeline.ask(item["question"], id=item["id"], k=EVAL_TOP_K)
            vectors = pipeline.vectors([c["chunk_id"] for c in result["citations"]])
            texts = {c["chunk_id"]: c["text"] for c in result["contexts"]}
            passages = {c["n"]: M.Passage(texts[c["chunk_id"]], vectors.get(c["chunk_id"]))
                        for c in result["citations"]}
            base_rows.append(score_result(item, result, passages, check, boilerplate, prose=False))
        base_info.update({"pipeline": "LangChain tutorial: RecursiveCharacterTextSplitter"
                                      f"(chunk_size={CHUNK_SIZE}, chunk_overlap={CHUNK_OVERLAP}) → same embedder → "
                                      f"Chroma (embedded) → top-{EVAL_TOP_K} dense",
                          "answer": f"first {ANSWER_SENTENCES} sentences of the top-1 chunk, each citing [1]; "
                                    "never abstains; follow-ups asked as written (no history)",
                          "chunks": pipeline.chunks, "built_now": pipeline.rebuilt,
                          "build_s": round(pipeline.build_s, 1), "seconds": round(time.perf_counter() - t0, 1)})
    assistant.close()

    report = {
        "created": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "gold_set": str(gold_path), "gold_sha256": hashlib.sha256(gold_path.read_bytes()).hexdigest(),
        "data_dir": str(settings.data_dir), "backend": assistant.composer.name,
        "settings": {"retrieval_top_k": settings.retrieval.top_k, "support_threshold": support_threshold,
                     "embedder": settings.index.embeddings.backend},
        "notes": [
            f"retrieval.top_k is raised to {EVAL_TOP_K} for the run so that recall@10 is measurable; the "
            "extractive composer reads the first 6 passages and MMR selects greedily, so its answers are those "
            "of the product's default (8).",
            "Citation precision/recall follow ALCE with grounding.SupportScorer (lexical, then embedding) at "
            f"threshold {support_threshold} instead of an NLI model; macro-averaged over answered questions. "
            "The unsupported share is pooled over all their sentences.",
            "Key facts count as included when the answer or a quote it cites holds them (case, accents and "
            "number formats folded).",
        ],
        "seconds": {"ours": round(ours_s, 1), "total": round(time.perf_counter() - started, 1)},
        "sentence_embeddings": check.embedded,
        "headline": {"ours": aggregate(rows), "baseline": aggregate(base_rows) if base_rows else None},
        "by_category": {"ours": by_category(rows), "baseline": by_category(base_rows) if base_rows else None},
        "worst_failures": {c: [_failure_summary(r) for r in items] for c, items in worst_failures(rows).items()},
        "baseline": base_info,
        "rows": {"ours": rows, "baseline": base_rows},
    }
    if write:
        output_dir = Path(output_dir) if output_dir else settings.data_dir / "evals"
        write_report(report, output_dir)
    log(f"evaluación terminada en {report['seconds']['total']:.0f} s")
    return report


def _failure_summary(row: dict) -> dict:
    return {"id": row["id"], "question": row["question"], "expected_evidence": row["evidence"],
            "key_facts": row["key_facts"], "abstained": row["abstained"],
            "recall@5": row.get("recall@5"), "evidence_ranks": row.get("evidence_ranks"),
            "answer": row["answer"][:700], "top_contexts": row["contexts"][:3]}


# --- the report ------------------------------------------------------------------------------------

def _fmt(key: str, value) -> str:
    if value is None:
        return "n/a"
    if key.endswith("_ms"):
        return f"{value:.0f}"
    return f"{value:.3f}"


def _delta(key: str, now, before) -> str:
    if now is None or before is None:
        return "n/a"
    change = now - before
    if abs(change) < (0.5 if key.endswith("_ms") else 0.0005):
        return "="
    return f"{change:+.0f}" if key.endswith("_ms") else f"{change:+.3f}"


def previous_run(output_dir: Path, exclude: Path | None = None) -> tuple[Path, dict] | None:
    runs = sorted((output_dir / "runs").glob("*/report.json")) if (output_dir / "runs").is_dir() else []
    for path in reversed(runs):
        if exclude is not None and path.parent == exclude:
            continue
        try:
            return path.parent, json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            continue
    return None


def format_headline(report: dict, markdown: bool = False) -> str:
    ours, base = report["headline"]["ours"], report["headline"].get("baseline") or {}
    change = (report.get("previous") or {}).get("delta", {})
    header = ["Metric", "Ours", "Baseline", "Δ since previous run"]
    lines = []
    for key, label, _ in HEADLINE:
        lines.append([label, _fmt(key, ours.get(key)), _fmt(key, base.get(key)) if base else "—",
                      change.get(key, "n/a")])
    if markdown:
        out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        out += ["| " + " | ".join(cells) + " |" for cells in lines]
        return "\n".join(out)
    widths = [max(len(r[i]) for r in [header, *lines]) for i in range(len(header))]

    def fmt(cells: list[str]) -> str:
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths,
                                                                                           strict=True)))

    return "\n".join([fmt(header), fmt(["-" * w for w in widths]), *map(fmt, lines)])


def _charts(report: dict, folder: Path) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = []
    ours, base = report["by_category"]["ours"], report["by_category"].get("baseline") or {}
    categories = [c for c, v in ours.items() if v["recall@5"] is not None]
    fig, ax = plt.subplots(figsize=(9, 4.5))
    x = range(len(categories))
    width = 0.4 if base else 0.6
    ax.bar([i - (width / 2 if base else 0) for i in x], [ours[c]["recall@5"] for c in categories], width,
           label="ours")
    if base:
        ax.bar([i + width / 2 for i in x], [base[c]["recall@5"] or 0 for c in categories], width,
               label="LangChain tutorial baseline")
    ax.set_xticks(list(x), [f"{c}\n(n={ours[c]['n']})" for c in categories], rotation=35, ha="right", fontsize=8)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("evidence recall@5")
    ax.set_title("Evidence recall@5 by category")
    ax.legend()
    fig.tight_layout()
    fig.savefig(folder / "recall_by_category.png", dpi=110)
    plt.close(fig)
    names.append("recall_by_category.png")

    fig, ax = plt.subplots(figsize=(8, 4))
    series = [("ours: total", [r["timings_ms"].get("total", 0) for r in report["rows"]["ours"]]),
              ("ours: retrieve", [r["timings_ms"].get("retrieve", 0) for r in report["rows"]["ours"]])]
    if report["rows"].get("baseline"):
        series.append(("baseline: total", [r["timings_ms"].get("total", 0) for r in report["rows"]["baseline"]]))
    top = max((max(v) for _, v in series if v), default=1.0)
    bins = [top * i / 30 for i in range(31)]
    for label, values in series:
        ax.hist(values, bins=bins, alpha=0.55, label=label)
    ax.set_xlabel("milliseconds per question")
    ax.set_ylabel("questions")
    ax.set_title("Latency distribution")
    ax.legend()
    fig.tight_layout()
    fig.savefig(folder / "latency.png", dpi=110)
    plt.close(fig)
    names.append("latency.png")
    return names


def render_markdown(report: dict) -> str:
    ours_cat, base_cat = report["by_category"]["ours"], report["by_category"].get("baseline") or {}
    prev = report.get("previous")
    lines = [f"# Evaluation report — {report['created']}", "",
             f"Gold set `{report['gold_set']}` ({report['headline']['ours']['questions']} questions, "
             f"{report['headline']['ours']['answerable']} answerable) · composer **{report['backend']}** · "
             f"index `{report['data_dir']}` · {report['seconds']['total']:.0f} s "
             f"(ours {report['seconds']['ours']:.0f} s).", ""]
    if prev:
        lines += [f"Changes are against the previous kept run `{prev['run']}` ({prev['created']}"
                  + ("" if prev["comparable"] else "; **not comparable**: other gold set or composer") + ").", ""]
    else:
        lines += ["No previous run is kept in this folder: no changes to show.", ""]
    lines += ["## Headline", "", format_headline(report, markdown=True), ""]
    if report["baseline"].get("enabled"):
        b = report["baseline"]
        lines += [f"Baseline: {b['pipeline']}; {b['chunks']} chunks. Its answer: {b['answer']}.", ""]
    lines += ["Notes:", *[f"- {n}" for n in report["notes"]], "",
              "## Recall by category", "",
              "| Category | n | R@1 | R@5 | R@10 | MRR | Key facts | Citation recall | Baseline R@5 | Baseline MRR |",
              "|---|---|---|---|---|---|---|---|---|---|"]
    for cat, v in ours_cat.items():
        b = base_cat.get(cat, {})
        if cat == "unanswerable":
            lines.append(f"| {cat} | {v['n']} | abstention recall {_fmt('', v['abstention_recall'])} "
                         "| | | | | | | |")
            continue
        lines.append(f"| {cat} | {v['n']} | {_fmt('', v['recall@1'])} | {_fmt('', v['recall@5'])} | "
                     f"{_fmt('', v['recall@10'])} | {_fmt('', v['mrr'])} | {_fmt('', v['key_fact_inclusion'])} | "
                     f"{_fmt('', v['citation_recall'])} | {_fmt('', b.get('recall@5'))} | {_fmt('', b.get('mrr'))} |")
    lines += ["", "![recall@5 by category](recall_by_category.png)", "", "![latency](latency.png)", "",
              "## Worst failures per category", ""]
    if not report["worst_failures"]:
        lines.append("None.")
    for cat, items in report["worst_failures"].items():
        lines += [f"### {cat}", ""]
        for f in items:
            lines.append(f"- **{f['id']}** — {f['question']}")
            if f["expected_evidence"]:
                ranks = ", ".join("not retrieved" if r is None else f"rank {r}" for r in f["evidence_ranks"] or [])
                lines.append(f"  - expected evidence ({ranks}): " + " / ".join(f"«{e}»" for e in f["expected_evidence"]))
                missing = [k for k, ok in f["key_facts"].items() if not ok]
                if missing:
                    lines.append("  - key facts missing: " + ", ".join(f"«{k}»" for k in missing))
            else:
                lines.append("  - expected: abstention (the corpus does not answer it)")
            returned = "abstained" if f["abstained"] else " ".join(f["answer"].split())[:400]
            lines.append(f"  - returned: {returned}")
            tops = "; ".join(f"{c['rank']}. `{c['chunk_id']}` {c['preview'][:90]}…" for c in f["top_contexts"])
            lines.append(f"  - top contexts: {tops}")
        lines.append("")
    return "\n".join(lines) + "\n"


def _headline_figures(report: dict) -> dict:
    return {k: report["headline"]["ours"].get(k) for k, _, _ in HEADLINE}


def write_report(report: dict, output_dir: Path) -> Path:
    """Write runs/<timestamp>/{report.md, report.json, *.png}, copy them to the top of `output_dir` and
    point latest.json at the run. Returns the run folder."""
    output_dir = Path(output_dir)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    run_dir = output_dir / "runs" / stamp
    n = 1
    while run_dir.exists():
        n += 1
        run_dir = output_dir / "runs" / f"{stamp}-{n}"
    found = previous_run(output_dir)
    run_dir.mkdir(parents=True)
    if found:
        prev_dir, prev = found
        comparable = prev.get("gold_sha256") == report["gold_sha256"] and prev.get("backend") == report["backend"]
        before = prev.get("headline", {}).get("ours", {})
        report["previous"] = {"run": str(prev_dir.relative_to(output_dir)), "created": prev.get("created"),
                              "comparable": comparable,
                              "delta": {k: _delta(k, report["headline"]["ours"].get(k), before.get(k))
                                        for k, _, _ in HEADLINE}}
    report["run_dir"] = str(run_dir)
    report["charts"] = _charts(report, run_dir)
    (run_dir / "report.json").write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
    (run_dir / "report.md").write_text(render_markdown(report), encoding="utf-8")
    for name in ["report.json", "report.md", *report["charts"]]:
        shutil.copyfile(run_dir / name, output_dir / name)
    (output_dir / "latest.json").write_text(json.dumps(
        {"run": str(run_dir.relative_to(output_dir)), "created": report["created"], "backend": report["backend"],
         "headline": _headline_figures(report),
         "baseline": {k: (report["headline"].get("baseline") or {}).get(k) for k, _, _ in HEADLINE}
         if report["headline"].get("baseline") else None}, ensure_ascii=False, indent=1), encoding="utf-8")
    return run_dir
