"""The evaluation run: ask every gold case — single questions (a `follow_up_of` question with the earlier
one as history) and conversations turn by turn (`assistant.ask(q, history=turns)`, then
`turns.append(assistant.turn_of(answer))`) — score each answer as the user sees it (evals.scoring), run the
LangChain-tutorial baseline on the same cases, and write the report (evals.report), split by split.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from evals import folds
from evals.cases import DEFAULT_GOLD, SPLITS, Case, conversations_path, gold_digest, load_conversations, load_questions
from evals.judge import LEXICAL_THRESHOLD, SEMANTIC_THRESHOLD, LLMJudge, SupportJudge
from evals.report import write_report
from evals.scoring import aggregate, by_group, by_split, intervals, score_result, worst_failures

EVAL_TOP_K = 10


def _boilerplate() -> list[str]:
    from assistant.prompts import message

    # The answer's own framing lines (a template is matched by its text up to the first placeholder): not claims.
    # Those that say what the corpus lacks (a part it does not cover, a reference no chunk is about, an objective
    # whose actions its text of the Compact does not list) state nothing a passage could support.
    keys = ("answer_intro", "abstain", "nearest_sources", "quoted_in_other_language", "sources_differ", "part_not_covered",
            "part_nearest", "reference_absent", "actions_unlisted")
    return [message(key, lang).split("{", 1)[0] for key in keys for lang in ("es", "en")]


def _eval_settings(settings, backend: str | None):
    """The settings of the run: the chosen composer, and at least EVAL_TOP_K contexts per question."""
    answer = settings.answer.model_copy(update={"backend": backend}) if backend else settings.answer
    retrieval = settings.retrieval.model_copy(update={"top_k": max(settings.retrieval.top_k, EVAL_TOP_K)})
    return settings.model_copy(update={"answer": answer, "retrieval": retrieval})


def cited_chunks(result: dict, lookup: Callable[[list[str]], dict[str, str]]) -> tuple[dict[int, str], dict[str, str]]:
    """(citation number → whole text of the cited chunk, chunk id → text). A citation may name a chunk outside
    the contexts (a neighbour): `lookup` fetches those."""
    texts = {c["chunk_id"]: c["text"] for c in result.get("contexts", [])}
    missing = [c["chunk_id"] for c in result.get("citations", []) if c["chunk_id"] not in texts]
    if missing:
        texts.update(lookup(list(dict.fromkeys(missing))))
    return {c["n"]: texts[c["chunk_id"]] for c in result.get("citations", []) if c["chunk_id"] in texts}, texts


def _fold_of(case: Case, out_of_fold: dict[str, folds.Fold]) -> folds.Fold | None:
    """The models a case is answered with instead of the shipped ones: for a dev case, those of the fold that left
    out its question or conversation (a follow-up question goes with the one it follows)."""
    return out_of_fold.get(case.group) if case.split == "dev" else None


def _fold_coverage(cases: list[Case], out_of_fold: dict[str, folds.Fold]) -> dict:
    """How many dev cases were answered with models that never saw them."""
    dev = [c for c in cases if c.split == "dev"]
    covered = sum(1 for c in dev if _fold_of(c, out_of_fold))
    return {"dev_cases": len(dev), "out_of_fold": covered, "in_sample": len(dev) - covered}


def _ask_all(assistant, questions: list[Case], conversations: list[list[Case]], log,
             out_of_fold: dict[str, folds.Fold]) -> list[tuple[Case, dict]]:
    """Every case with its `ask --json` result, in gold order (conversations after the questions); a dev case
    with the models of the fold that left it out (`out_of_fold`, by gold id; a follow-up question goes with the
    one it follows), the others with the shipped ones."""
    by_id = {c.id: c for c in questions}
    answers: dict = {}

    def ask(case: Case):
        history = []
        if case.follow_up_of and case.follow_up_of in by_id:
            if case.follow_up_of not in answers:
                ask(by_id[case.follow_up_of])
            history = [assistant.turn_of(answers[case.follow_up_of])]
        with folds.installed(assistant, _fold_of(case, out_of_fold)):
            answers[case.id] = assistant.ask(case.question, history=history, id=case.id)
        return answers[case.id]

    out = []
    total = len(questions) + sum(len(c) for c in conversations)
    for case in questions:
        out.append((case, (answers.get(case.id) or ask(case)).to_dict()))
        if len(out) % 20 == 0:
            log(f"  {len(out)}/{total}")
    for turns in conversations:
        history = []
        for case in turns:
            with folds.installed(assistant, _fold_of(case, out_of_fold)):
                answer = assistant.ask(case.question, history=history, id=case.id)
            history.append(assistant.turn_of(answer))
            out.append((case, answer.to_dict()))
    return out


def _run_baseline(settings, cases: list[Case], judge: SupportJudge, boilerplate: list[str], log) -> tuple[list, dict]:
    from evals.baseline import ANSWER_SENTENCES, CHUNK_OVERLAP, CHUNK_SIZE, open_baseline

    t0 = time.perf_counter()
    pipeline = open_baseline(settings, log=log)
    rows = []
    for case in cases:
        result = pipeline.ask(case.question, id=case.id, k=EVAL_TOP_K)
        chunks, texts = cited_chunks(result, lambda ids: {})
        rows.append(score_result(case, result, chunks, texts, judge, boilerplate))
    info = {"enabled": True,
            "pipeline": f"LangChain tutorial: RecursiveCharacterTextSplitter(chunk_size={CHUNK_SIZE}, "
                        f"chunk_overlap={CHUNK_OVERLAP}) → same embedder → Chroma (embedded) → top-{EVAL_TOP_K} dense",
            "answer": f"first {ANSWER_SENTENCES} sentences of the top-1 chunk, each citing [1]; never abstains; "
                      "follow-ups and conversation turns asked as written (no history)",
            "chunks": pipeline.chunks, "built_now": pipeline.rebuilt, "build_s": round(pipeline.build_s, 1),
            "seconds": round(time.perf_counter() - t0, 1)}
    return rows, info


def run_eval(settings, gold_path: Path | str = DEFAULT_GOLD, output_dir: Path | str | None = None,
             backend: str | None = "extractive", baseline: bool = True, conversations: Path | str | None = None,
             limit: int | None = None, judge_url: str = "", judge_model: str = "local",
             log: Callable[[str], None] | None = None, write: bool = True) -> dict:
    """Evaluate `backend` on the gold set against the index in `settings.data_dir`; with `baseline`, the
    LangChain tutorial pipeline too. `conversations`: the conversations file (default: the one beside the
    questions file, when there is one); `limit`: only the first N questions and N conversations (a quick run,
    e.g. with a slow model). Writes the report under `output_dir` (default DATA/evals) and returns it."""
    from assistant.api import Assistant
    from assistant.prompts import prompt

    log = log or (lambda line: print(line, file=sys.stderr, flush=True))
    started = time.perf_counter()
    gold_path = Path(gold_path)
    conv_path = Path(conversations) if conversations else conversations_path(gold_path)
    questions = load_questions(gold_path)[:limit]
    convs = (load_conversations(conv_path) if conv_path else [])[:limit]
    settings = _eval_settings(settings, backend)
    assistant = Assistant(settings)
    llm = LLMJudge(judge_url, prompt("judge", "en", settings.prompts_dir), judge_model) if judge_url else None
    judge = SupportJudge(assistant.retriever.embed_query, llm)
    boilerplate = _boilerplate()
    docstore = assistant.retriever.docstore

    def lookup(ids: list[str]) -> dict[str, str]:
        return {cid: chunk.text for cid, chunk in docstore.get(ids).items()}

    log(f"evaluación: {len(questions)} preguntas y {len(convs)} conversaciones, composer {assistant.composer.name}, "
        f"índice {settings.data_dir}")
    digest = gold_digest(gold_path, conv_path)
    out_of_fold = folds.load(digest)
    rows = []
    for case, result in _ask_all(assistant, questions, convs, log, out_of_fold):
        chunks, texts = cited_chunks(result, lookup)
        rows.append(score_result(case, result, chunks, texts, judge, boilerplate))
    ours_s = time.perf_counter() - started
    cases = questions + [c for turns in convs for c in turns]
    base_rows, base_info = _run_baseline(settings, cases, judge, boilerplate, log) if baseline else ([], {})
    base_info["enabled"] = baseline
    assistant.close()

    splits = [s for s in SPLITS if any(r["split"] == s for r in rows)]
    report = {
        "created": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "gold_set": str(gold_path), "conversations": str(conv_path) if conv_path else None,
        "gold_sha256": digest, "limit": limit,
        "data_dir": str(settings.data_dir), "backend": assistant.composer.name, "splits": splits,
        "settings": {"retrieval_top_k": settings.retrieval.top_k, "embedder": settings.index.embeddings.backend,
                     "judge": f"lexical ≥ {LEXICAL_THRESHOLD}, embedding ≥ {SEMANTIC_THRESHOLD}"
                              + (f", LLM judge {judge_model} at {judge_url}" if judge_url else "")},
        "dev_out_of_fold": _fold_coverage(cases, out_of_fold),
        "notes": [
            f"retrieval.top_k is raised to {EVAL_TOP_K} for the run so that recall@10 is measurable; the "
            "extractive composer reads the first 6 passages, so its answers are those of the product's default.",
            "Support: each answer sentence against the whole text of each chunk it cites, by evals.judge "
            "(verbatim, or numbers and negations present and content words covered / close in meaning to one "
            "sentence of the chunk), independent of the composers' guard; ALCE-style precision and recall, "
            "macro-averaged over answered questions; unsupported shares pooled over sentences, apart for "
            "extractive and model answers.",
            "Key facts: counted in the answer text as rendered (case, accents and number formats folded), never "
            "in the quotes behind a citation. Right: every key fact, not refused; unanswerable: refused.",
            "Language: the framing and every sentence that is not a verbatim quote must be in the question's "
            "language; quotes in the other language are allowed and counted apart.",
        ],
        "seconds": {"ours": round(ours_s, 1), "total": round(time.perf_counter() - started, 1)},
        "sentence_embeddings": judge.embedded, "llm_judge_calls": llm.calls if llm else 0,
        "headline": {"ours": by_split(rows, splits), "baseline": by_split(base_rows, splits) if base_rows else None},
        "intervals": {split: intervals([r for r in rows if r["split"] == split]) for split in splits},
        "overall": {"ours": aggregate(rows), "baseline": aggregate(base_rows) if base_rows else None},
        "by_style": {"ours": by_group(rows, "style", splits),
                     "baseline": by_group(base_rows, "style", splits) if base_rows else None},
        "by_category": {"ours": by_group(rows, "category", splits),
                        "baseline": by_group(base_rows, "category", splits) if base_rows else None},
        "worst_failures": worst_failures(rows),
        "baseline": base_info,
        "rows": {"ours": rows, "baseline": base_rows},
    }
    if write:
        write_report(report, Path(output_dir) if output_dir else settings.data_dir / "evals")
    log(f"evaluación terminada en {report['seconds']['total']:.0f} s")
    return report
