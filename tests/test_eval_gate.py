"""The CI gate: the real evaluation on the shipped-corpus index passes evals/thresholds.json; and the parts
around it (the gate check, the report writer that keeps runs, the LangChain baseline and its cache)."""

import json
from pathlib import Path

import pytest

from assistant.settings import load_settings
from cli import main
from evals.baseline import Baseline, baseline_cached
from evals.gate import check, load_thresholds
from evals.metrics import SupportCheck
from evals.runner import HEADLINE, aggregate, by_category, load_gold, score_result, worst_failures, write_report

ROOT = Path(__file__).resolve().parents[1]
GOLD = ROOT / "evals" / "gold" / "questions.jsonl"


# --- the gate and the report, on hand-built results -------------------------------------------------

def test_thresholds_cover_the_headline_and_check_reports_failures():
    thresholds = load_thresholds()
    gated = set(thresholds["min"]) | set(thresholds["max"])
    for metric in ("recall@5", "mrr", "citation_precision", "citation_recall", "key_fact_inclusion",
                   "abstention_recall", "false_refusal_rate", "unsupported_share"):
        assert metric in gated, f"{metric} is not gated"
    assert gated <= {k for k, _, _ in HEADLINE}, "a threshold names no headline metric"

    good = {**{m: 1.0 for m in thresholds["min"]}, **{m: 0.0 for m in thresholds["max"]}}
    assert check({"headline": {"ours": good}}, thresholds) == []
    bad = {**good, "recall@5": thresholds["min"]["recall@5"] - 0.01, "false_refusal_rate": 1.0}
    failures = check(bad, thresholds)
    assert len(failures) == 2 and any("recall@5" in f for f in failures) and any("false_refusal" in f for f in failures)
    missing = {k: v for k, v in good.items() if k != "mrr"}
    assert check(missing, thresholds) == ["mrr: not measured (threshold min " + str(thresholds["min"]["mrr"]) + ")"]


def _hand_report(recall_hit: bool) -> dict:
    gold = [
        {"id": "q1", "question": "¿Cuántos objetivos tiene el PMM?", "language": "es", "category": "pmm_objective",
         "answerable": True, "key_facts": ["23"], "evidence": [{"doc_id": "d", "text": "El PMM tiene 23 objetivos "
                                                                                        "agrupados en cinco áreas"}]},
        {"id": "q2", "question": "¿Quién ganó el mundial?", "language": "es", "category": "unanswerable",
         "answerable": False, "key_facts": [], "evidence": []},
    ]
    text = "Introducción. El PMM tiene 23 objetivos agrupados en cinco áreas temáticas." if recall_hit else "Otra cosa."
    results = [
        {"language": "es", "abstained": False, "answer": "Según las fuentes del corpus:\n\nEl PMM tiene 23 objetivos. [1]",
         "citations": [{"n": 1, "chunk_id": "c1", "quote": "El PMM tiene 23 objetivos"}],
         "contexts": [{"chunk_id": "c1", "doc_id": "d", "text": text, "metadata": {}}],
         "timings_ms": {"retrieve": 40.0, "total": 55.0}},
        {"language": "es", "abstained": True, "answer": "El corpus no contiene información suficiente.",
         "citations": [], "contexts": [], "timings_ms": {"retrieve": 30.0, "total": 35.0}},
    ]
    from evals.metrics import Passage

    rows = [score_result(g, r, {1: Passage("El PMM tiene 23 objetivos agrupados en cinco áreas temáticas.")},
                         SupportCheck(None), ["Según las fuentes del corpus:"], prose=False)
            for g, r in zip(gold, results, strict=True)]
    return {"created": "now", "gold_set": "hand", "gold_sha256": "x", "data_dir": "-", "backend": "extractive",
            "notes": [], "seconds": {"ours": 1.0, "total": 1.0}, "headline": {"ours": aggregate(rows), "baseline": None},
            "by_category": {"ours": by_category(rows), "baseline": None},
            "worst_failures": {c: [{"id": r["id"], "question": r["question"], "expected_evidence": r["evidence"],
                                    "key_facts": r["key_facts"], "abstained": r["abstained"],
                                    "evidence_ranks": r.get("evidence_ranks"), "answer": r["answer"],
                                    "top_contexts": r["contexts"]} for r in items]
                               for c, items in worst_failures(rows).items()},
            "baseline": {"enabled": False}, "rows": {"ours": rows, "baseline": []}}


def test_report_writer_keeps_runs_and_reports_changes(tmp_path):
    first = _hand_report(recall_hit=False)
    assert first["headline"]["ours"]["recall@1"] == 0.0
    assert first["headline"]["ours"]["key_fact_inclusion"] == 1.0
    assert first["headline"]["ours"]["abstention_recall"] == 1.0
    assert first["headline"]["ours"]["citation_precision"] == 1.0
    run1 = write_report(first, tmp_path)
    second = _hand_report(recall_hit=True)
    run2 = write_report(second, tmp_path)
    assert run1 != run2 and run1.is_dir() and run2.is_dir()
    for name in ("report.md", "report.json", "recall_by_category.png", "latency.png"):
        assert (run2 / name).is_file() and (tmp_path / name).is_file()
    latest = json.loads((tmp_path / "latest.json").read_text(encoding="utf-8"))
    assert latest["run"] == str(run2.relative_to(tmp_path)) and latest["headline"]["recall@1"] == 1.0
    assert second["previous"]["delta"]["recall@1"] == "+1.000"
    assert second["previous"]["delta"]["key_fact_inclusion"] == "="
    md = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert "| Evidence recall@1 | 1.000 | — | +1.000 |" in md
    assert "q1" in (run1 / "report.md").read_text(encoding="utf-8"), "a failure is listed with its question"


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


def test_eval_cli_exits_4_when_a_threshold_is_missed(shipped_index, tmp_path, capsys):
    gold = tmp_path / "two.jsonl"
    gold.write_text("\n".join(GOLD.read_text(encoding="utf-8").splitlines()[:2]) + "\n", encoding="utf-8")
    strict = tmp_path / "strict.json"
    strict.write_text(json.dumps({"min": {"recall@5": 1.01}, "max": {}}), encoding="utf-8")
    code = main(["eval", "--data", str(shipped_index.data_dir), "--set", str(gold), "--no-baseline",
                 "--output", str(tmp_path / "out"), "--gate", "--thresholds", str(strict)])
    assert code == 4
    assert "Evidence recall@5" in capsys.readouterr().out


# --- the real evaluation ------------------------------------------------------------------------------

@pytest.mark.slow
def test_gate_passes_on_the_shipped_index(shipped_index, tmp_path, capsys):
    """The full gold set against a full index of corpus/, extractive composer; the LangChain baseline runs too
    when its collection is already cached in the data folder (embedding it takes minutes)."""
    settings = load_settings(data_dir=shipped_index.data_dir)
    argv = ["eval", "--data", str(shipped_index.data_dir), "--output", str(tmp_path / "evals"), "--gate"]
    if not baseline_cached(settings):
        argv.append("--no-baseline")
    code = main(argv)
    out = capsys.readouterr()
    report = json.loads((tmp_path / "evals" / "report.json").read_text(encoding="utf-8"))
    failures = check(report, load_thresholds())
    assert failures == [], "\n".join(failures) + "\n" + out.out
    assert code == 0, out.err
    ours = report["headline"]["ours"]
    assert ours["questions"] == len(load_gold(GOLD))
    assert len(report["rows"]["ours"]) == ours["questions"]
    assert (tmp_path / "evals" / "latest.json").is_file() and (tmp_path / "evals" / "recall_by_category.png").is_file()


def test_answer_language_is_judged_on_prose_not_on_quotations():
    gold = {"id": "q", "question": "What did Peru do on consular protection?", "language": "en",
            "category": "implementation", "answerable": True, "key_facts": [],
            "evidence": [{"doc_id": "d", "text": "El Perú amplió la red consular."}]}
    result = {"language": "en", "abstained": False,
              "answer": "According to the corpus (passages are quoted in their original language):\n\n"
                        "El Perú amplió la red consular en el exterior para proteger a los connacionales. [1]",
              "citations": [{"n": 1, "chunk_id": "c1", "quote": "El Perú amplió la red consular."}],
              "contexts": [{"chunk_id": "c1", "doc_id": "d", "text": "El Perú amplió la red consular.", "metadata": {}}],
              "timings_ms": {}}
    from evals.metrics import Passage

    def language_ok(notes, prose):
        row = score_result(gold, {**result, "notes": notes}, {1: Passage("El Perú amplió la red consular.")},
                           SupportCheck(None), [], prose=prose)
        return row["language_ok"]

    assert language_ok([], prose=False)  # extractive: quotations keep the passage's language
    assert not language_ok([], prose=True)  # a model that answers an English question in Spanish
    assert language_ok(["fallback_extractive"], prose=True)  # the model's answer fell back to quotations
