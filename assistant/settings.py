"""The one settings object of the product.

Precedence, highest first: explicit overrides (`--set group.key=value`, `--data`), environment variables
prefixed `PA_` (nested groups with `__`, e.g. `PA_ANSWER__BACKEND=llama`,
`PA_INDEX__STORE__CHROMA_HOST=127.0.0.1`), a `.env` file, a named preset from
`assistant/presets/<name>.json` (`--preset fast` or `PA_PRESET=fast`), the defaults below.
Nothing else in the code reads the environment (app.py passes Gradio's own variables to Gradio).
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
    unit_k: int = 60
    # weights of the ranked lists in reciprocal-rank fusion (fitted on the dev split: benchmarks/RESULTS.md)
    dense_weight: float = 1.0
    lexical_weight: float = 1.0
    unit_weight: float = 1.0
    reference_weight: float = 1.0
    same_language_boost: float = 1.1
    # the prior of a chunk whose document never mentions a place the question names (assistant.places `silent_on`)
    placeless_prior: float = 0.5
    # the question's words searched in the index's other languages (indexer.lexicon), fitted on the dev split:
    # at most this many per word, at least this similar, and within the margin of the nearest one; 0 turns it off
    translate_per_word: int = 2
    translate_min_similarity: float = 0.9
    translate_margin: float = 0.04
    # the index's words at least this similar to what a figure question counts stand for it beside a figure
    # (`Retriever.similar_words`; dev, out of fold, on 0.94-0.97: unanswerable parts refused at <= 3% false
    # refusals 0.43 -> 0.51-0.53); above 1 turns it off
    counted_min_similarity: float = 0.95
    # a question in the index's main language embedded as its documents spell it: chat shorthand written out, accents
    # restored from the index's words (assistant.spelling; dev, out of fold: key facts 0.797 -> 0.806)
    respell: bool = True
    # a question has its typos corrected from the index's words, then, in English, the dictionary's (assistant.spelling)
    correct_typos: bool = True
    # a question not in the index's main language also searched densely as rendered word for word in it
    dense_rendering: bool = True
    # a question whose search text adds expansions (catalog titles, acronyms) also searched densely on its own
    # words: the titles' vector outweighs a short question's facet (dev, fused pool recall@5 0.822 -> 0.844)
    dense_question_alone: bool = True
    # a follow-up also searches the chunks around those the previous answer cited (this many before and after,
    # in the same document; 0 turns it off), closest to the question first, as one more list of the fusion
    follow_up_window: int = 2
    follow_up_weight: float = 1.0
    rrf_k: int = 60
    top_k: int = 8
    mmr_lambda: float = 0.75
    reference_boost: float = 0.5
    neighbour_min_tokens: int = 80
    # the best fused candidates the passage reranker (assistant.rerank) reorders; at least the MMR window
    # (4 × top_k, 20 at least); 0 keeps the fused order
    rerank_pool: int = 40


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
    constrain: Literal["none", "passage_sentences"] = Field(
        "none", description="llama backend: 'passage_sentences' lets the model write only a sentence of a passage "
                            "plus its [n] marker (a llama.cpp grammar), for models too small to paraphrase faithfully")
    support_threshold: float = 0.5
    abstain_threshold: float = 0.5
    timeout_s: float = 120.0


class AppSettings(BaseModel):
    language: Literal["es", "en"] = "es"
    max_upload_mb: int = 50
    feedback_file: str = "feedback.jsonl"
    accounts_file: str = Field("accounts.sqlite", description="users, roles, hashed passwords and tokens")
    conversations_file: str = Field("conversations.sqlite", description="every user's saved conversations")
    session_hours: float = Field(12.0, description="how long a web login lasts")
    download_roles: list[Literal["reader", "editor", "admin"]] = Field(
        default_factory=lambda: ["editor", "admin"], description="roles that may download a cited original")
    concurrency: int = Field(8, description="chat answers computed at once by the web app")


class Settings(BaseSettings):
    """Everything configurable, in one place."""

    model_config = SettingsConfigDict(env_prefix="PA_", env_nested_delimiter="__", env_file=".env", extra="ignore")

    index: IndexSettings = IndexSettings()
    retrieval: RetrievalSettings = RetrievalSettings()
    answer: AnswerSettings = AnswerSettings()
    app: AppSettings = AppSettings()
    prompts_dir: Path = PROJECT_ROOT / "prompts"

    @classmethod
    def settings_customise_sources(cls, settings_cls, init_settings, env_settings, dotenv_settings,
                                   file_secret_settings):
        # The preset arrives as init values: the environment must still win over it.
        return env_settings, dotenv_settings, init_settings, file_secret_settings

    @property
    def data_dir(self) -> Path:
        return self.index.data_dir


PRESETS_DIR = Path(__file__).parent / "presets"


def _override(model: BaseModel, path: list[str], value) -> BaseModel:
    """A copy of a (nested) settings model with one field replaced and validated."""
    head, *rest = path
    if head not in type(model).model_fields:
        raise ValueError(f"ajuste desconocido: {head!r} (en {type(model).__name__})")
    if rest:
        return model.model_copy(update={head: _override(getattr(model, head), rest, value)})
    if isinstance(model, BaseSettings):  # re-validating would re-read the environment over the override
        return model.model_copy(update={head: value})
    return type(model).model_validate({**model.model_dump(), head: value})


def load_settings(preset: str | None = None, data_dir: Path | None = None, corpus_dir: Path | None = None,
                  **overrides) -> Settings:
    """Settings from the defaults, a preset, the environment, then explicit overrides (highest)."""
    preset = preset or os.environ.get("PA_PRESET")
    base: dict = json.loads((PRESETS_DIR / f"{preset}.json").read_text(encoding="utf-8")) if preset else {}
    settings: BaseModel = Settings(**base)
    if data_dir is not None:
        overrides["index.data_dir"] = Path(data_dir)
    if corpus_dir is not None:
        overrides["index.corpus_dir"] = Path(corpus_dir)
    for dotted, value in overrides.items():
        settings = _override(settings, dotted.split("."), value)
    return settings
