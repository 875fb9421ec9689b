"""Figures about an index: documents, chunks per document and per kind, chunks carrying each reference."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from indexer.stores import DocStore


def index_stats(data_dir: Path) -> dict:
    path = data_dir / "docstore.sqlite"
    if not path.exists():
        return {"documents": [], "chunks": 0, "chunks_by_kind": {}, "chunks_with_reference": {}}
    store = DocStore(path)
    try:
        by_kind: Counter = Counter()
        with_ref: Counter = Counter()
        pmm: Counter = Counter()
        for chunk, _ in store.iter_chunks():
            by_kind[chunk.kind] += 1
            for name, values in vars(chunk.refs).items():
                if values:
                    with_ref[name] += 1
            pmm.update(chunk.refs.pmm)
        documents = [
            {"id": d.id, "title": d.title, "file": d.file, "kind": d.kind, "language": d.language,
             "chunks": d.chunk_count, "indexed_at": d.indexed_at, "pages": d.meta.get("pages")}
            for d in store.documents().values()
        ]
        return {
            "documents": documents,
            "chunks": store.count(),
            "chunks_by_kind": dict(sorted(by_kind.items())),
            "chunks_with_reference": dict(sorted(with_ref.items())),
            "chunks_by_pmm_objective": {str(k): v for k, v in sorted(pmm.items())},
        }
    finally:
        store.close()
