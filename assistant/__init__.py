"""The assistant: one Python API over the index — retrieval, grounded answers with citations,
follow-ups, briefing notes and onboarding material. The CLI and the web app are thin shells over it.

It reads the index (docstore, Chroma, BM25) and the catalog; it never reads the raw corpus files.
"""

from assistant.api import Assistant  # noqa: E402

__all__ = ["Assistant"]
