"""A smoke run of the benchmark suite (benchmarks/): a tiny corpus, scales ×1 and a synthetic ×2, a Chroma
server, the app with 2 sessions × 5 s. It checks that every section runs and the report carries numbers —
not the figures themselves (those depend on the machine; see benchmarks/RESULTS.md)."""

from __future__ import annotations

import json
import math
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "corpus"


def _tiny_corpus(folder: Path) -> Path:
    """The shipped catalog and the first ~6,000 characters of the GCM text, under its manifest entry."""
    folder.mkdir(parents=True)
    shutil.copyfile(CORPUS / "catalog.json", folder / "catalog.json")
    manifest = json.loads((CORPUS / "manifest.json").read_text(encoding="utf-8"))
    entry = next(e for e in manifest["documents"] if e["id"] == "gcm_2018_en")
    text = (CORPUS / entry["file"]).read_text(encoding="utf-8")
    (folder / entry["file"]).write_text(text[: text.rfind("\n", 0, 6000)] + "\n", encoding="utf-8")
    (folder / "manifest.json").write_text(json.dumps({"documents": [entry]}), encoding="utf-8")
    return folder


def _number(cell: str) -> bool:
    return bool(re.search(r"\d", cell)) and "—" not in cell


def test_benchmark_smoke_run(tmp_path):
    corpus = _tiny_corpus(tmp_path / "corpus")
    out = tmp_path / "report" / "RESULTS.md"
    command = [sys.executable, "-m", "benchmarks.run", "--quick", "--scales", "1,2", "--server-scales", "1",
               "--sessions", "2", "--duration", "5", "--questions", "12", "--corpus", str(corpus), "--base", "none",
               "--work", str(tmp_path / "work"), "--out", str(out)]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=175)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]

    report = out.read_text(encoding="utf-8")
    results = json.loads(out.with_name("results.json").read_text(encoding="utf-8"))
    assert results["errors"] == {}
    assert (out.with_name("latency_vs_size.png")).stat().st_size > 1000
    assert "| Measure | Result | Target | Status |" in report and "| Measure | Result |" in done.stdout
    rows = {line.split("|")[1].strip(): [c.strip() for c in line.split("|")[2:-1]]
            for line in report.splitlines() if line.startswith("| ") and not line.startswith("| Measure")}
    expected = ["Index throughput, pipeline", "Index throughput, embedder alone", "Pipeline overhead",
                "No-change re-index, fresh", "Retrieval p50 / p95, ×1,", "Retrieval p50 / p95, ×2 (synthetic)",
                "Extractive answer p50 / p95, ×1", "embedded Chroma vs `chroma run` server", "App peak RSS",
                "Concurrent chat: 2 sessions", "Concurrent API (`POST /api/ask`): 2 sessions"]
    for prefix in expected:
        matches = [cells for name, cells in rows.items() if name.startswith(prefix) or prefix in name]
        assert matches, f"no row for {prefix!r} in\n{report}"
        assert _number(matches[0][0]), f"{prefix!r}: {matches[0][0]!r}"
    assert any(name.startswith("Generative answer") for name in rows)

    sections = results["sections"]
    assert sections["retrieval"]["2"]["chunks"] == 2 * sections["retrieval"]["1"]["chunks"]
    assert sections["throughput"]["same_vectors"] is True
    assert sections["throughput"]["chunks_embedded"] > 0
    for scale in ("1", "2"):
        for key in ("p50", "p95"):
            assert math.isfinite(sections["retrieval"][scale]["retrieve_ms"][key])
    for load in (sections["app"]["load"], sections["app"]["api_load"]):
        assert load["errors"] == 0 and load["completed"] >= 2
    assert sections["app"]["memory_after_load"]["hwm_mib"] > 50
    assert "perturbed copy" in report


def test_a_scaled_index_carries_units_and_latent_terms_for_every_variant(small_index, tmp_path):
    """The synthetic ×N index is searched as a real one is: every variant has its evidence units' vectors and its
    latent terms, so that the unit search and the latent scoring are in the latency it measures."""
    from benchmarks.synth import build_scaled_index
    from indexer.stores import DocStore

    real = DocStore(small_index.data_dir / "docstore.sqlite")
    real_units, real_latent, real_chunks = real.unit_vectors()[0], real.latent_terms(), real.count()
    real.close()
    assert len(real_units) > real_chunks > 0 and len(real_latent) == real_chunks
    build_scaled_index(small_index.data_dir, tmp_path / "x3", 3, log=lambda _line: None)
    scaled = DocStore(tmp_path / "x3" / "docstore.sqlite")
    try:
        unit_chunks, _, matrix = scaled.unit_vectors()
        latent = scaled.latent_terms()
        sources = {c.id: c.attrs.get("synthetic_of", c.id) for c, _ in scaled.iter_chunks()}
    finally:
        scaled.close()
    assert len(sources) == 3 * real_chunks and len(latent) == 3 * real_chunks
    assert len(unit_chunks) == 3 * len(real_units)
    for cid, source in sources.items():  # each variant: its source's unit count and latent terms
        assert unit_chunks.count(cid) == real_units.count(source)
        assert np.array_equal(latent[cid], real_latent[source])
    assert np.allclose(np.linalg.norm(matrix, axis=1), 1.0, atol=1e-3)
