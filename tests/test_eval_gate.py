"""The CI gate and the evaluation run: the gate's rules on hand-built reports (splits, floors, the baseline
margin, the model block, the questions that changed); the report writer; the LangChain baseline's cache; the
whole `eval` command on a small corpus with the tests' own gold set (tests/eval_small: dev and test splits,
a multi-part question, conversations), with the extractive composer and with SmolLM2; and the real gate on
the shipped corpus."""

import json
import shutil
from pathlib import Path

import pytest

from cli import main
from evals.baseline import Baseline
from evals.cases import Case, case_from_record, load_conversations, load_questions
from evals.gate import GATED_MAX, GATED_MIN, cases_behind, check, load_thresholds, propose_thresholds
from evals.judge import SupportJudge
from evals.report import write_report
from evals.scoring import HEADLINE, aggregate, by_group, by_split, intervals, score_result, worst_failures

ROOT = Path(__file__).resolve().parents[1]
SMALL = ROOT / "tests" / "eval_small"


# --- thresholds.json ----------------------------------------------------------------------------------

def test_missed_targets_are_named_but_do_not_fail_the_gate():
    from evals.gate import missed_targets

    rules = {"held_out": "test", "targets": {"abstention_precision": 0.8}, "splits": {}}
    report = {"headline": {"ours": {"test": {"abstention_precision": 0.4}}}}
    assert missed_targets(report, rules) == ["abstention_precision [test] = 0.4, objetivo 0.8"]
    report["headline"]["ours"]["test"]["abstention_precision"] = 0.85
    assert missed_targets(report, rules) == []


def test_thresholds_file_has_floors_margins_and_a_model_block():
    thresholds = load_thresholds()
    headline = {k for k, _, _ in HEADLINE}
    assert thresholds["held_out"] == "test"
    assert thresholds["targets"]["abstention_precision"] >= 0.80  # not met yet: printed on every gated run
    assert thresholds["floors"]["quotes_verbatim"] == 1.0
    assert thresholds["baseline_margin"]["recall@5"] > 0 and thresholds["baseline_margin"]["key_fact_inclusion"] > 0
    assert thresholds["model"]["max"]["unsupported_share_model"] == 0.0
    assert thresholds["model"]["min"]["model_sentences"] >= 1
    assert 0 < thresholds["margin"] <= 0.05
    for split in thresholds["splits"].values():
        assert set(split["min"]) <= set(GATED_MIN) and set(split["max"]) <= set(GATED_MAX)
    assert set(GATED_MIN) | set(GATED_MAX) <= headline, "a gated metric is not in the headline"


# --- the gate on hand-built reports --------------------------------------------------------------------

def _row(qid: str, split: str, right: bool, recall: float) -> dict:
    return {"id": qid, "split": split, "right": right, "recall@5": recall, "answerable": True, "abstained": False,
            "follow_up": False, "language": "es", "answer_kind": "extractive"}


def _report(dev: dict, test: dict | None, base: dict | None, rows: list[dict], backend: str = "extractive") -> dict:
    ours = {"dev": dev, **({"test": test} if test else {})}
    return {"backend": backend, "headline": {"ours": ours, "baseline": base}, "rows": {"ours": rows}}


RULES = {"held_out": "test", "margin": 0.03, "floors": {"abstention_precision": 0.80},
         "baseline_margin": {"recall@5": 0.05},
         "model": {"min": {"model_sentences": 1}, "max": {"unsupported_share_model": 0.0}},
         "splits": {"dev": {"min": {"recall@5": 0.70}, "max": {}},
                    "test": {"min": {"recall@5": 0.80, "abstention_precision": 0.5}, "max": {}}}}


def test_a_failing_gate_names_the_metric_the_split_and_the_questions_that_changed():
    good = {"recall@5": 0.9, "abstention_precision": 0.9}
    base = {"dev": {"recall@5": 0.6}, "test": {"recall@5": 0.6}}
    previous = [_row("q1", "test", True, 1.0), _row("q2", "test", True, 1.0), _row("q3", "dev", True, 1.0)]
    assert check(_report(good, good, base, previous), RULES, previous) == []
    now = [_row("q1", "test", True, 1.0), _row("q2", "test", False, 0.0), _row("q3", "dev", True, 1.0)]
    failures = check(_report(good, {"recall@5": 0.75, "abstention_precision": 0.9}, base, now), RULES, previous)
    assert len(failures) == 1
    assert failures[0].startswith("recall@5 [test] = 0.750, below the minimum 0.8")
    assert "q2 (1.0 → 0.0)" in failures[0] and "q1" not in failures[0] and "q3" not in failures[0]
    no_history = check(_report(good, {"recall@5": 0.75, "abstention_precision": 0.9}, base, now), RULES, [])
    assert "no previous run to compare" in no_history[0]


def test_floors_hold_on_the_held_out_split_whatever_its_own_bound():
    base = {"dev": {"recall@5": 0.6}, "test": {"recall@5": 0.6}}
    weak = {"recall@5": 0.9, "abstention_precision": 0.6}  # above its own 0.5, below the 0.80 floor
    failures = check(_report(weak, weak, base, []), RULES, [])
    assert failures == ["abstention_precision [test] = 0.600, below the minimum 0.8 — no previous run to compare"]


def test_ours_must_beat_the_baseline_by_the_margin_and_the_baseline_must_run():
    good = {"recall@5": 0.9, "abstention_precision": 0.9}
    close = check(_report(good, good, {"dev": {"recall@5": 0.6}, "test": {"recall@5": 0.87}}, []), RULES, [])
    assert close == ["recall@5 [test] = 0.900, the baseline's 0.870: ours must lead by 0.05 or more"]
    assert "not run" in check(_report(good, good, None, []), RULES, [])[0]


def test_a_held_out_split_without_bounds_or_a_gated_split_without_questions_fails():
    base = {"dev": {"recall@5": 0.6}, "test": {"recall@5": 0.6}}
    good = {"recall@5": 0.9, "abstention_precision": 0.9}
    dev_only = {**RULES, "splits": {"dev": RULES["splits"]["dev"]}}
    assert "--write-thresholds" in check(_report(good, good, base, []), dev_only, [])[0]
    assert "no question in it" in check(_report(good, None, base, []), RULES, [])[0]


def test_a_model_run_is_gated_on_its_surviving_sentences():
    alive = {"model_sentences": 7, "unsupported_share_model": 0.0}
    assert check(_report(alive, alive, None, [], backend="llama"), RULES, []) == []
    dead = {"model_sentences": 0, "unsupported_share_model": None}
    failures = check(_report(alive, dead, None, [], backend="llama"), RULES, [])
    assert {f.split(" ")[0] for f in failures} == {"model_sentences", "unsupported_share_model"}
    assert all("[test]" in f for f in failures)
    lying = {"model_sentences": 7, "unsupported_share_model": 0.1}
    assert len(check(_report(lying, alive, None, [], backend="llama"), RULES, [])) == 1


def test_proposed_thresholds_are_measured_minus_margin_and_refused_below_the_floors():
    figures = {"recall@5": 0.9, "abstention_precision": 0.95, "false_refusal_rate": 0.02, "mrr": None}
    proposed, refusals = propose_thresholds(_report(figures, figures, None, []), RULES)
    assert refusals == []
    assert proposed["splits"]["test"]["min"] == {"recall@5": 0.87, "abstention_precision": 0.92}
    assert proposed["splits"]["test"]["max"] == {"false_refusal_rate": 0.05}
    assert proposed["floors"] == RULES["floors"] and proposed["baseline_margin"] == RULES["baseline_margin"]
    near = {**figures, "abstention_precision": 0.81}  # minus the margin it would be 0.78: the floor holds
    assert propose_thresholds(_report(figures, near, None, []), RULES)[0]["splits"]["test"]["min"][
        "abstention_precision"] == 0.80
    weak = {**figures, "abstention_precision": 0.6}
    _, refusals = propose_thresholds(_report(weak, weak, None, []), RULES)
    assert refusals == ["abstention_precision [test]: measured 0.6, the floor is 0.8"], "dev is not held to floors"


# --- the report on hand-scored rows ----------------------------------------------------------------------

def _hand_report(recall_hit: bool) -> dict:
    cases = [Case("h1", "¿Cuántos objetivos tiene el PMM?", "es", "pmm_objective", True, ["23"],
                  ["El PMM tiene 23 objetivos agrupados en cinco áreas"], split="dev"),
             Case("h2", "¿Quién ganó el mundial de fútbol?", "es", "unanswerable", False, [], [], split="test")]
    text = "Introducción. El PMM tiene 23 objetivos agrupados en cinco áreas temáticas." if recall_hit else "Otra cosa."
    chunk = "El PMM tiene 23 objetivos agrupados en cinco áreas temáticas."
    results = [
        {"language": "es", "abstained": False, "answer": "Según las fuentes del corpus:\n\nEl PMM tiene 23 objetivos. [1]",
         "citations": [{"n": 1, "chunk_id": "c1", "quote": "El PMM tiene 23 objetivos"}], "backend": "extractive",
         "contexts": [{"chunk_id": "c1", "doc_id": "d", "text": text, "metadata": {}}],
         "timings_ms": {"retrieve": 40.0, "total": 55.0}},
        {"language": "es", "abstained": True, "answer": "El corpus no contiene información suficiente.",
         "citations": [], "contexts": [], "backend": "extractive", "timings_ms": {"retrieve": 30.0, "total": 35.0}},
    ]
    rows = [score_result(c, r, {1: chunk}, {"c1": chunk}, SupportJudge(), ["Según las fuentes del corpus:"])
            for c, r in zip(cases, results, strict=True)]
    splits = ["dev", "test"]
    return {"created": "now", "gold_set": "hand", "gold_sha256": "x", "data_dir": "-", "backend": "extractive",
            "notes": [], "seconds": {"ours": 1.0, "total": 1.0},
            "headline": {"ours": by_split(rows, splits), "baseline": None}, "overall": {"ours": aggregate(rows)},
            "by_style": {"ours": by_group(rows, "style", splits), "baseline": None},
            "by_category": {"ours": by_group(rows, "category", splits), "baseline": None},
            "worst_failures": worst_failures(rows), "baseline": {"enabled": False},
            "rows": {"ours": rows, "baseline": []}}


def test_report_writer_keeps_runs_and_reports_changes_per_split(tmp_path):
    first = _hand_report(recall_hit=False)
    assert first["headline"]["ours"]["dev"]["recall@1"] == 0.0
    assert first["headline"]["ours"]["dev"]["key_fact_inclusion"] == 1.0
    assert first["headline"]["ours"]["test"]["abstention_recall"] == 1.0
    run1 = write_report(first, tmp_path)
    second = _hand_report(recall_hit=True)
    run2 = write_report(second, tmp_path)
    assert run1 != run2 and run1.is_dir() and run2.is_dir()
    for name in ("report.md", "report.json", "recall_by_category.png", "latency.png"):
        assert (run2 / name).is_file() and (tmp_path / name).is_file()
    latest = json.loads((tmp_path / "latest.json").read_text(encoding="utf-8"))
    assert latest["run"] == str(run2.relative_to(tmp_path)) and latest["headline"]["dev"]["recall@1"] == 1.0
    assert second["previous"]["delta"]["dev"]["recall@1"] == "+1.000"
    assert second["previous"]["delta"]["dev"]["key_fact_inclusion"] == "="
    assert second["previous"]["report"] == str(run1 / "report.json")
    md = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert "| Metric | dev | test | test 95% | baseline dev | baseline test | Δ dev | Δ test |" in md
    assert "| Evidence recall@1 | 1.000 | n/a |  | — | — | +1.000 | n/a |" in md
    assert "h1" in (run1 / "report.md").read_text(encoding="utf-8"), "a failure is listed with its question"


def test_intervals_resample_questions_and_keep_a_conversation_together():
    def row(i: int, hit: float, group: str | None = None) -> dict:
        return {"id": f"q{i}", "group": group or f"q{i}", "answerable": True, "recall@5": hit, "rr": hit,
                "key_facts_all": bool(hit), "lead_is_evidence": None, "right": bool(hit), "abstained": False,
                "follow_up": group is not None, "language": "es"}

    half = [row(i, float(i % 2)) for i in range(200)]
    low, high = intervals(half)["recall@5"]
    assert 0.38 < low < 0.5 < high < 0.62, "200 questions, half found: about ±0.07"
    assert intervals([row(i, 1.0) for i in range(50)])["recall@5"] == [1.0, 1.0]
    assert "abstention_recall" not in intervals(half) and "lead_is_evidence" not in intervals(half)
    # the same 200 turns in 20 conversations of 10 that each succeed or fail together: 20 draws, not 200
    grouped = [row(i, float((i // 10) % 2), group=f"c{i // 10}") for i in range(200)]
    g_low, g_high = intervals(grouped)["recall@5"]
    assert g_high - g_low > 2 * (high - low)
    assert intervals(grouped)["follow_up_right"] == [g_low, g_high]


# --- the tests' own gold set ----------------------------------------------------------------------------

def test_the_tests_gold_set_reads_in_the_new_format():
    questions = load_questions(SMALL / "questions.jsonl")
    assert {q.split for q in questions} == {"dev", "test"} and {q.style for q in questions} == {"exam", "typed"}
    assert any(q.parts for q in questions)
    conversations = load_conversations(SMALL / "conversations.jsonl")
    assert [[t.id for t in c] for c in conversations] == [["k1#1", "k1#2"], ["k2#1", "k2#2"]]
    assert [t.is_follow_up for t in conversations[0]] == [False, True]
    assert conversations[1][1].split == "test" and conversations[1][1].language == "es"
    record = json.loads((SMALL / "questions.jsonl").read_text(encoding="utf-8").splitlines()[1])
    legacy = case_from_record({k: v for k, v in record.items() if k not in {"split", "style"}})
    assert (legacy.split, legacy.style) == ("dev", "exam"), "records written before the split are dev, exam"


@pytest.fixture(scope="module")
def small_eval(tmp_path_factory):
    """An index of tests/eval_small's corpus, and the arguments that point `eval` at it and at its gold set."""
    from indexer.pipeline import run_index
    from indexer.settings import IndexSettings

    root = tmp_path_factory.mktemp("eval_small")
    corpus = root / "corpus"
    corpus.mkdir()
    shutil.copyfile(ROOT / "corpus" / "catalog.json", corpus / "catalog.json")
    shutil.copyfile(SMALL / "informe_consular.md", corpus / "informe_consular.md")
    report = run_index(IndexSettings(data_dir=root / "data", corpus_dir=corpus), progress=False, log=lambda _: None)
    assert not report.problems
    return root, ["--data", str(root / "data"), "--gold", str(SMALL / "questions.jsonl"),
                  "--set", f"index.corpus_dir={corpus}"]


def test_eval_reports_dev_and_test_beside_the_baseline_and_asks_conversations_with_history(small_eval, capsys):
    root, args = small_eval
    out = root / "out-extractive"
    assert main(["eval", *args, "--output", str(out)]) == 0
    table = capsys.readouterr().out
    assert table.splitlines()[0].split()[1:] == ["dev", "test", "test", "95%", "baseline", "dev", "baseline", "test",
                                                 "Δ", "dev", "Δ", "test"]
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert report["splits"] == ["dev", "test"] and set(report["headline"]["baseline"]) == {"dev", "test"}
    assert set(report["by_style"]["ours"]["test"]) == {"exam", "typed"}
    rows = {r["id"]: r for r in report["rows"]["ours"]}
    assert {"k1#1", "k1#2", "k2#1", "k2#2"} <= set(rows)
    assert rows["k2#2"]["follow_up"] and rows["k2#2"]["resolved_question"] != "¿y en el objetivo 23?", \
        "the turn was asked with the conversation so far"
    base_rows = {r["id"]: r for r in report["rows"]["baseline"]}
    assert base_rows["k2#2"]["resolved_question"] == "¿y en el objetivo 23?", "the baseline has no history"
    test = report["headline"]["ours"]["test"]
    follow_ups = [r for r in rows.values() if r["follow_up"] and r["split"] == "test"]
    assert test["follow_up_right"] == sum(r["right"] for r in follow_ups) / len(follow_ups)
    assert [p["answerable"] for p in rows["t06"]["parts"]] == [True, False]
    assert test["uncovered_parts_named"] in {0.0, 1.0} and test["parts_right"] in {0.0, 1.0}
    assert test["english_right"] == float(rows["t04"]["right"])
    low, high = report["intervals"]["test"]["answers_right"]
    assert 0.0 <= low <= test["answers_right"] <= high <= 1.0 and "recall@1" not in report["intervals"]["test"]
    assert rows["k2#2"]["group"] == rows["k2#1"]["group"] == "k2", "a conversation is resampled whole"
    assert test["quotes_verbatim"] == 1.0 and test["unsupported_share_extractive"] == 0.0
    assert test["model_sentences"] == 0 and test["unsupported_share_model"] is None
    dev_cases = sum(1 for r in rows.values() if r["split"] == "dev")
    assert report["dev_out_of_fold"] == {"dev_cases": dev_cases, "out_of_fold": 0, "in_sample": dev_cases}, \
        "the shipped fold models belong to the shipped gold set, not to this one"
    assert "in-sample" in (out / "report.md").read_text(encoding="utf-8")


def test_gate_fails_names_the_split_then_written_thresholds_pass(small_eval, tmp_path, capsys):
    root, args = small_eval
    out = root / "out-gate"
    strict = tmp_path / "strict.json"
    strict.write_text(json.dumps({**RULES, "baseline_margin": {}, "splits": {"test": {"min": {"recall@5": 1.01},
                                                                                        "max": {}}}}),
                      encoding="utf-8")
    args = [*args, "--no-baseline"]  # the baseline's part of the gate is tested above, on hand-built reports
    assert main(["eval", *args, "--output", str(out), "--gate", "--thresholds", str(strict)]) == 4
    err = capsys.readouterr().err
    assert "recall@5 [test] = 1.000, below the minimum 1.01 — no previous run to compare" in err
    assert main(["eval", *args, "--output", str(out), "--gate", "--thresholds", str(strict)]) == 4
    assert "no question changed since the previous run" in capsys.readouterr().err

    impossible = tmp_path / "impossible.json"
    impossible.write_text(json.dumps({**RULES, "floors": {"recall@5": 1.01}}), encoding="utf-8")
    before = impossible.read_text(encoding="utf-8")
    assert main(["eval", *args, "--output", str(out), "--write-thresholds", "--thresholds", str(impossible)]) == 4
    assert "recall@5 [test]: measured 1.0, the floor is 1.01" in capsys.readouterr().err
    assert impossible.read_text(encoding="utf-8") == before, "nothing is written below a floor"

    written = tmp_path / "written.json"
    written.write_text(json.dumps({**RULES, "floors": {}, "baseline_margin": {}}), encoding="utf-8")
    assert main(["eval", *args, "--output", str(out), "--write-thresholds", "--thresholds", str(written)]) == 0
    bounds = json.loads(written.read_text(encoding="utf-8"))["splits"]
    rows = json.loads((out / "report.json").read_text(encoding="utf-8"))["rows"]["ours"]
    n = len([r for r in rows if r["split"] == "test" and r["answerable"]])
    # measured 1.0, minus the margin or, on this handful of questions, one question's worth
    assert set(bounds) == {"dev", "test"} and bounds["test"]["min"]["recall@5"] == round(1.0 - max(0.03, 1 / n + 1e-3), 3)
    assert cases_behind("recall@5", [r for r in rows if r["split"] == "test"]) == n
    assert main(["eval", *args, "--output", str(out), "--gate", "--thresholds", str(written)]) == 0


def test_eval_with_smollm2_keeps_model_sentences_and_none_is_unsupported(small_eval, capsys):
    """`eval --backend llama` with the tiny model, held to the passages' sentences: the model path's answers
    reach the report as model answers, and the gate's model block (≥ 1 surviving sentence, 0 unsupported)
    holds."""
    root, args = small_eval
    out = root / "out-llama"
    code = main(["eval", *args, "--backend", "llama", "--limit", "3", "--no-baseline", "--output", str(out), "--gate",
                 "--set", "answer.constrain=passage_sentences", "--set", "answer.n_ctx=2048",
                 "--set", "answer.max_tokens=120", "--set", "answer.temperature=0.0"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert report["backend"] == "llama"
    overall = report["overall"]["ours"]
    assert overall["model_sentences"] >= 1 and overall["model_answers"] >= 1
    assert overall["unsupported_share_model"] == 0.0
    model_rows = [r for r in report["rows"]["ours"] if r["answer_kind"] == "model"]
    assert model_rows and all("fallback_extractive" not in r["notes"] for r in model_rows)


def test_baseline_builds_once_then_reuses_its_cache(tmp_path):
    from indexer.embeddings import get_embedder
    from indexer.settings import EmbeddingSettings

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.md").write_text("# Consulados\n\nEl Perú cuenta con 69 misiones consulares en el exterior. "
                                 "Se actualizó el Reglamento Consular.\n", encoding="utf-8")
    (corpus / "b.txt").write_text("Objective 14: Enhance consular protection, assistance and cooperation "
                                  "throughout the migration cycle.\n", encoding="utf-8")
    (corpus / "SOURCES.md").write_text("not a document\n", encoding="utf-8")
    embedder = get_embedder(EmbeddingSettings())
    lines: list[str] = []
    first = Baseline(corpus, tmp_path / "cache", embedder, log=lines.append)
    assert first.rebuilt and first.chunks == 2 and lines
    assert first.store._collection.configuration_json["hnsw"]["ef_search"] >= 1000, "exact, repeatable top-k"
    result = first.ask("¿Cuántas misiones consulares tiene el Perú?", id="x", k=10)
    assert [c["doc_id"] for c in result["contexts"]][0] == "a"
    assert result["answer"].endswith("[1]") and not result["abstained"]
    assert result["citations"][0]["quote"] in " ".join(result["contexts"][0]["text"].split())
    again = Baseline(corpus, tmp_path / "cache", embedder, log=lines.append)
    assert not again.rebuilt and again.chunks == 2
    (corpus / "b.txt").write_text("Objective 15: Provide access to basic services for migrants.\n", encoding="utf-8")
    assert Baseline(corpus, tmp_path / "cache", embedder, log=lines.append).rebuilt, "a changed corpus re-embeds"


# --- the real evaluation ------------------------------------------------------------------------------

@pytest.mark.slow
def test_gate_passes_on_the_shipped_index(shipped_index, tmp_path, capsys):
    """The full gold set against a full index of corpus/, extractive composer, beside the LangChain baseline
    (built in the data folder the first time: minutes of embedding)."""
    from evals.cases import DEFAULT_GOLD

    code = main(["eval", "--data", str(shipped_index.data_dir), "--output", str(tmp_path / "evals"), "--gate"])
    out = capsys.readouterr()
    report = json.loads((tmp_path / "evals" / "report.json").read_text(encoding="utf-8"))
    failures = check(report, load_thresholds())
    assert failures == [], "\n".join(failures) + "\n" + out.out
    assert code == 0, out.err
    assert sum(v["questions"] for v in report["headline"]["ours"].values()) == len(report["rows"]["ours"])
    assert len(report["rows"]["ours"]) >= len(load_questions(DEFAULT_GOLD))
    assert (tmp_path / "evals" / "latest.json").is_file() and (tmp_path / "evals" / "recall_by_category.png").is_file()
    dev = report["dev_out_of_fold"]
    assert dev["in_sample"] == 0 and dev["out_of_fold"] == report["headline"]["ours"]["dev"]["questions"], \
        "every dev question is answered by models fitted without it"
