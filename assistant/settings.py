"""The one settings object of the product.

Values come from, in order: keyword arguments, environment variables prefixed `PA_` (nested groups
with `__`, e.g. `PA_ANSWER__BACKEND=llama`, `PA_INDEX__STORE__CHROMA_HOST=127.0.0.1`), a `.env` file,
and a named preset from `assistant/presets/<name>.json` (`PA_PRESET=fast`). Nothing else in the code
reads the environment.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from indexer.settings import PROJECT_ROOT, IndexSettings


class RetrievalSettings(BaseModel):
    dense_k: int = 40
    lexical_k: int = 40
    rrf_k: int = 60
    top_k: int = 8
    mmr_lambda: float = 0.75
    reference_boost: float = 0.5
    neighbour_min_tokens: int = 80


class AnswerSettings(BaseModel):
    backend: Literal["extractive", "llama", "openai"] = "extractive"
    model_path: str = Field("", description="GGUF file for the llama backend")
    base_url: str = Field("", description="OpenAI-compatible chat endpoint, e.g. http://127.0.0.1:8080/v1")
    model: str = "local"
    api_key: str = "not-needed"
    temperature: float = 0.1
    max_tokens: int = 400
    n_ctx: int = 4096
    max_sentences: int = 5
    support_threshold: float = 0.5
    abstain_threshold: float = 0.5
    timeout_s: float = 120.0


class AppSettings(BaseModel):
    language: Literal["es", "en"] = "es"
    username: str = ""
    password: str = ""
    admin_password: str = ""
    max_upload_mb: int = 50
    feedback_file: str = "feedback.jsonl"


class Settings(BaseSettings):
    """Everything configurable, in one place."""

    model_config = SettingsConfigDict(env_prefix="PA_", env_nested_delimiter="__", env_file=".env", extra="ignore")

    index: IndexSettings = IndexSettings()
    retrieval: RetrievalSettings = RetrievalSettings()
    answer: AnswerSettings = AnswerSettings()
    app: AppSettings = AppSettings()
    prompts_dir: Path = PROJECT_ROOT / "prompts"

    @property
    def data_dir(self) -> Path:
        return self.index.data_dir


PRESETS_DIR = Path(__file__).parent / "presets"


def load_settings(preset: str | None = None, data_dir: Path | None = None, corpus_dir: Path | None = None,
                  **overrides) -> Settings:
    """Settings from a preset file, the environment and explicit overrides (highest priority)."""
    preset = preset or os.environ.get("PA_PRESET")
    base: dict = json.loads((PRESETS_DIR / f"{preset}.json").read_text(encoding="utf-8")) if preset else {}
    settings = Settings(**base)
    merged = settings.model_dump()
    for dotted, value in overrides.items():
        target = merged
        *parents, leaf = dotted.split(".")
        for part in parents:
            target = target[part]
        target[leaf] = value
    if data_dir is not None:
        merged["index"]["data_dir"] = Path(data_dir)
    if corpus_dir is not None:
        merged["index"]["corpus_dir"] = Path(corpus_dir)
    return Settings.model_validate(merged)
