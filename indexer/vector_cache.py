"""The shipped corpus's own vectors: a cache keyed by embedder and text, so that a fresh `make run` does not
embed the shipped documents again (a few thousand chunks and sentences: minutes on 2 cores).

`corpus/.vectors/<embedder>.npz` holds the `embed_key(embedder name, text)` of every chunk, evidence unit and lexicon word of
the shipped corpus and their float32 vectors; `<embedder>_latent-terms-256.npz`, the chunks' latent terms
(indexer.embeddings, packed as float32 rows). The embedder name carries its package version, so a new model or
engine never reuses old vectors; a text that changed has another key and is embedded as usual. Added documents
are embedded as always. `write_shipped_cache` regenerates the file from an index of the shipped corpus
(`policy-assistant index --write-vector-cache`).
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import numpy as np

CACHE_FOLDER = ".vectors"


def cache_path(corpus_dir: Path, embedder_name: str) -> Path:
    return corpus_dir / CACHE_FOLDER / (re.sub(r"[^\w.-]+", "_", embedder_name) + ".npz")


@lru_cache(maxsize=4)
def _load(path: Path, mtime: float) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as data:
        keys, matrix = data["keys"], data["vectors"]
    return {str(k): matrix[i] for i, k in enumerate(keys)}


def shipped_vectors(corpus_dir: Path, embedder_name: str, keys: list[str]) -> dict[str, np.ndarray]:
    """The vectors the shipped cache holds for these keys (none when there is no cache for this embedder)."""
    path = cache_path(corpus_dir, embedder_name)
    if not keys or not path.is_file():
        return {}
    table = _load(path, path.stat().st_mtime)
    return {k: table[k] for k in keys if k in table}


def write_shipped_cache(corpus_dir: Path, embedder_name: str, vectors: dict[str, np.ndarray]) -> Path:
    """Write the cache file for this embedder: exactly the given keys, sorted (deterministic bytes)."""
    path = cache_path(corpus_dir, embedder_name)
    path.parent.mkdir(parents=True, exist_ok=True)
    keys = sorted(vectors)
    matrix = np.stack([vectors[k] for k in keys]).astype(np.float32) if keys else np.zeros((0, 0), np.float32)
    tmp = path.with_name(path.name + ".tmp.npz")
    np.savez_compressed(tmp, keys=np.array(keys), vectors=matrix)
    tmp.replace(path)
    return path
