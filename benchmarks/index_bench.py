"""Index throughput (pipeline beside the embedder alone on the same texts) and the no-change re-index."""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import time
from pathlib import Path

import numpy as np

from benchmarks.common import VENV_BIN
from indexer.chunking import count_tokens
from indexer.corpus import read_manifest
from indexer.embeddings import get_embedder, latent_terms_of
from indexer.pipeline import run_index
from indexer.sentences import evidence_units, unit_embedding_text
from indexer.settings import IndexSettings
from indexer.stores import DocStore

THROUGHPUT_DOC = "gcm_2018_en"
BASE_IGNORE = shutil.ignore_patterns("uploads", "exports", "feedback.jsonl", "baseline_chroma", "*.tmp")


def _quiet(_line: str) -> None:
    pass


def prepare_base(base_src: Path | None, corpus: Path, target: Path, log=print) -> dict:
    """A current index of `corpus` in `target`: a copy of an existing index brought up to date (the source is
    never touched), or a from-scratch build when there is none."""
    if target.exists():
        shutil.rmtree(target)
    copied = bool(base_src and (base_src / "docstore.sqlite").is_file())
    if copied:
        shutil.copytree(base_src, target, ignore=BASE_IGNORE)
    settings = IndexSettings(data_dir=target, corpus_dir=corpus)
    t0 = time.perf_counter()
    report = run_index(settings, progress=False, log=_quiet)
    seconds = time.perf_counter() - t0
    if report.problems:
        raise RuntimeError("the base index has problems: " + "; ".join(p.line() for p in report.problems))
    log(f"  base index: {'copy of ' + str(base_src) if copied else 'built from scratch'}, {report.chunks_total} "
        f"chunks, {report.chunks_embedded} embedded to bring it up to date ({seconds:.1f} s)")
    return {"source": str(base_src) if copied else "built from scratch", "chunks": report.chunks_total,
            "documents": len(report.indexed) + len(report.unchanged), "catch_up_s": seconds,
            "catch_up_embedded": report.chunks_embedded}


def _throughput_corpus(corpus: Path, target: Path, full: bool, max_chars: int) -> tuple[Path, str]:
    """The corpus the throughput run indexes: the whole corpus (--full) or just the GCM document
    (optionally cut to its first `max_chars` characters, at a line end)."""
    if full:
        return corpus, "whole corpus"
    manifest = read_manifest(corpus)
    entry = next((e for e in manifest.values() if e.id == THROUGHPUT_DOC), None)
    if entry is None:  # another corpus: its smallest document
        files = sorted((p for p in corpus.rglob("*") if p.suffix.lower() in {".txt", ".md", ".pdf"}),
                       key=lambda p: p.stat().st_size)
        if not files:
            raise RuntimeError(f"no document to index in {corpus}")
        rel = files[0].relative_to(corpus).as_posix()
        entry = manifest.get(rel)
        source, doc_id = files[0], entry.id if entry else files[0].stem
    else:
        source, doc_id = corpus / entry.file, entry.id
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    if (corpus / "catalog.json").exists():
        shutil.copyfile(corpus / "catalog.json", target / "catalog.json")
    rel = source.relative_to(corpus)
    (target / rel).parent.mkdir(parents=True, exist_ok=True)
    if max_chars and source.suffix.lower() in {".txt", ".md"}:
        text = source.read_text(encoding="utf-8")
        if len(text) > max_chars:
            cut = text.rfind("\n", 0, max_chars)
            text = text[: cut if cut > 0 else max_chars] + "\n"
        (target / rel).write_text(text, encoding="utf-8")
        label = f"{doc_id} (first {len(text):,} characters)"
    else:
        shutil.copyfile(source, target / rel)
        label = doc_id
    if entry is not None and (corpus / "manifest.json").exists():
        (target / "manifest.json").write_text(json.dumps({"documents": [
            {k: v for k, v in entry.__dict__.items()}]}, ensure_ascii=False), encoding="utf-8")
    return target, label


def _unique_texts(data_dir: Path) -> tuple[list[str], list[str], dict[str, np.ndarray], list[str]]:
    """The chunk texts the pipeline embedded, in its order, once each; the first chunk of each; the stored
    vectors; and its evidence units' texts, once each (what it embedded besides)."""
    store = DocStore(data_dir / "docstore.sqlite")
    try:
        pairs = list(store.iter_chunks(with_vectors=True))
    finally:
        store.close()
    texts: list[str] = []
    first_chunk: list[str] = []
    seen: set[str] = set()
    for chunk, _ in pairs:
        text = chunk.embedding_text()
        if text not in seen:
            seen.add(text)
            texts.append(text)
            first_chunk.append(chunk.id)
    units = list(dict.fromkeys(unit_embedding_text(c, u) for c, _ in pairs for u in evidence_units(c)))
    return texts, first_chunk, {c.id: v for c, v in pairs}, units


def index_throughput(corpus: Path, work: Path, full: bool = False, max_chars: int = 0, trials: int = 2,
                     log=print) -> dict:
    """Pipeline (`run_index` into an empty data folder: empty embedding cache) and the embedder alone on the same
    texts, in the order pipeline, embedder, embedder, pipeline, … (A-B-B-A: a drift in the machine's load hits both
    alike), wall and CPU time of this process."""
    corpus_dir, label = _throughput_corpus(corpus, work / "throughput_corpus", full, max_chars)
    settings = IndexSettings(data_dir=work / "throughput_data", corpus_dir=corpus_dir)

    # The model is loaded (and warmed) before any measurement, so no figure pays for it.
    t0 = time.perf_counter()
    embedder = get_embedder(settings.embeddings)
    embedder.embed_array(["calentamiento del modelo"])
    load_s = time.perf_counter() - t0
    batch = max(1, settings.embeddings.batch_size)

    pipeline_runs: list[dict] = []
    alone_runs: list[dict] = []
    texts: list[str] = []
    unit_texts: list[str] = []
    latent = latent_terms_of(embedder)
    report = None

    def pipeline_once(n: int) -> None:
        nonlocal report, texts
        data_dir = work / f"throughput_data_{n}"
        if data_dir.exists():
            shutil.rmtree(data_dir)
        run_settings = settings.model_copy(update={"data_dir": data_dir})
        w0, c0 = time.perf_counter(), time.process_time()
        report = run_index(run_settings, progress=False, log=_quiet)
        wall, cpu = time.perf_counter() - w0, time.process_time() - c0
        if report.problems:
            raise RuntimeError("throughput index failed: " + "; ".join(p.line() for p in report.problems))
        pipeline_runs.append({"wall_s": wall, "cpu_s": cpu, "timings_s": report.timings_s,
                              "chunks_embedded": report.chunks_embedded, "tokens": report.tokens_embedded})
        if not texts:
            texts[:], first, stored, unit_texts[:] = _unique_texts(data_dir)
            pipeline_runs[-1]["check"] = (first, stored)

    def alone_once() -> np.ndarray:
        """What the pipeline embeds, embedded alone: the chunks' vectors, their units' vectors and, where the
        embedder has them, the chunks' latent terms."""
        w0, c0 = time.perf_counter(), time.process_time()
        vectors = [embedder.embed_array(texts[i:i + batch]) for i in range(0, len(texts), batch)]
        for i in range(0, len(unit_texts), batch):
            embedder.embed_array(unit_texts[i:i + batch])
        if latent is not None:
            for i in range(0, len(texts), batch):
                latent.embed_array(texts[i:i + batch])
        alone_runs.append({"wall_s": time.perf_counter() - w0, "cpu_s": time.process_time() - c0})
        return np.concatenate(vectors) if vectors else np.zeros((0, 384), dtype=np.float32)

    order = ["pipeline", "alone", "alone", "pipeline"] * ((trials + 1) // 2)
    order = order[: 2 * trials]
    alone_vectors = None
    for step in order:
        if step == "pipeline":
            pipeline_once(len(pipeline_runs))
        else:
            vectors = alone_once()
            alone_vectors = vectors if alone_vectors is None else alone_vectors
    first, stored = pipeline_runs[0].pop("check")
    same = bool(len(alone_vectors)) and all(
        float(np.dot(alone_vectors[i], stored[cid])) > 0.9999 for i, cid in enumerate(first))
    tokens = sum(count_tokens(t) for t in [*texts, *unit_texts, *(texts if latent is not None else [])])
    chunks_embedded = pipeline_runs[0]["chunks_embedded"]
    tokens_embedded = pipeline_runs[0]["tokens"]
    pipeline_s = sum(r["wall_s"] for r in pipeline_runs) / len(pipeline_runs)
    embed_alone = sum(r["wall_s"] for r in alone_runs) / len(alone_runs)
    pipeline_cpu = sum(r["cpu_s"] for r in pipeline_runs) / len(pipeline_runs)
    alone_cpu = sum(r["cpu_s"] for r in alone_runs) / len(alone_runs)
    out = {
        "what": label, "chunks": report.chunks_total, "chunks_embedded": chunks_embedded,
        "unique_texts": len(texts), "unit_texts": len(unit_texts), "latent_terms": latent is not None,
        "tokens": tokens_embedded, "tokens_alone": tokens,
        "batch_size": batch, "model_load_s": load_s, "trials": trials, "order": order,
        "pipeline_runs": pipeline_runs, "embedder_runs": alone_runs,
        "pipeline_s": pipeline_s, "pipeline_timings_s": pipeline_runs[0]["timings_s"],
        "pipeline_chunks_per_s": chunks_embedded / pipeline_s if pipeline_s else float("nan"),
        "pipeline_tokens_per_s": tokens_embedded / pipeline_s if pipeline_s else float("nan"),
        "embedder_s": embed_alone,
        "embedder_chunks_per_s": len(texts) / embed_alone if embed_alone else float("nan"),
        "embedder_tokens_per_s": tokens / embed_alone if embed_alone else float("nan"),
        "overhead_pct": 100.0 * (pipeline_s - embed_alone) / embed_alone if embed_alone else float("nan"),
        "pipeline_cpu_s": pipeline_cpu, "embedder_cpu_s": alone_cpu,
        "overhead_cpu_pct": 100.0 * (pipeline_cpu - alone_cpu) / alone_cpu if alone_cpu else float("nan"),
        "same_vectors": same,
    }
    log(f"  pipeline {pipeline_s:.1f} s for {chunks_embedded} chunks; embedder alone {embed_alone:.1f} s "
        f"→ overhead {out['overhead_pct']:+.1f} % wall, {out['overhead_cpu_pct']:+.1f} % CPU "
        f"(runs: {', '.join(f'{r:.1f}' for r in [x['wall_s'] for x in pipeline_runs])} s vs "
        f"{', '.join(f'{r:.1f}' for r in [x['wall_s'] for x in alone_runs])} s)")
    return out


def no_change_reindex(base: Path, corpus: Path, work: Path, repeats: int = 3, log=print) -> dict:
    """Re-index an up-to-date copy: in this process (model loaded) and as a fresh `policy-assistant index`."""
    data_dir = work / "nochange_data"
    if data_dir.exists():
        shutil.rmtree(data_dir)
    shutil.copytree(base, data_dir, ignore=BASE_IGNORE)
    settings = IndexSettings(data_dir=data_dir, corpus_dir=corpus)
    in_process: list[float] = []
    redone = embedded = 0
    for _ in range(repeats):
        t0 = time.perf_counter()
        report = run_index(settings, progress=False, log=_quiet)
        in_process.append(time.perf_counter() - t0)
        redone += len(report.indexed) + len(report.removed)
        embedded += report.chunks_embedded
    cli: list[float] = []
    cli_reported: list[float] = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        done = subprocess.run([str(VENV_BIN / "policy-assistant"), "index", "--data", str(data_dir), "--corpus",
                               str(corpus), "--quiet", "--json"], capture_output=True, text=True, timeout=300)
        cli.append(time.perf_counter() - t0)
        if done.returncode != 0:
            raise RuntimeError(f"policy-assistant index failed ({done.returncode}): {done.stderr[-500:]}")
        try:
            cli_reported.append(float(json.loads(done.stdout).get("timings_s", {}).get("total", float("nan"))))
        except (json.JSONDecodeError, AttributeError, TypeError, ValueError):
            pass
    out = {"chunks": report.chunks_total, "documents_reindexed": redone, "chunks_embedded": embedded,
           "in_process_s": statistics.median(in_process),
           "cli_wall_s": statistics.median(cli),
           "cli_run_index_s": statistics.median(cli_reported) if cli_reported else float("nan")}
    log(f"  no-change re-index: {out['in_process_s']:.2f} s in process, {out['cli_wall_s']:.2f} s as a fresh "
        f"`policy-assistant index` ({out['documents_reindexed']} documents re-done)")
    return out
