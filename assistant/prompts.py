"""Prompts and user-facing messages, loaded by name from the `prompts/` folder (Spanish and English)."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from indexer.settings import PROJECT_ROOT

PROMPTS_DIR = PROJECT_ROOT / "prompts"


@lru_cache(maxsize=1)
def _messages() -> dict[str, dict[str, str]]:
    return json.loads((PROMPTS_DIR / "messages.json").read_text(encoding="utf-8"))


def message(key: str, language: str = "es") -> str:
    entry = _messages()[key]
    return entry.get(language) or entry["es"]


@lru_cache(maxsize=32)
def prompt(name: str, language: str = "es", folder: Path = PROMPTS_DIR) -> str:
    """The text of `prompts/<name>_<language>.md` (Spanish when the language has no version)."""
    path = folder / f"{name}_{language}.md"
    if not path.exists():
        path = folder / f"{name}_es.md"
    return path.read_text(encoding="utf-8")
