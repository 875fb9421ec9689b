"""Answer composers behind one interface (`Composer`): extractive (default, no model), llama.cpp
in-process, and any OpenAI-compatible chat endpoint. `get_composer` picks one from settings.
"""

from __future__ import annotations

from assistant.composers.base import Composer, Draft, DraftSentence
from assistant.settings import Settings


def get_composer(settings: Settings) -> Composer:
    backend = settings.answer.backend
    if backend == "extractive":
        from assistant.composers.extractive import ExtractiveComposer

        return ExtractiveComposer(settings)
    from assistant.composers.llm import LLMComposer

    return LLMComposer(settings)


__all__ = ["Composer", "Draft", "DraftSentence", "get_composer"]
