"""Per-stage timings of Engine.ask, measured by wrapping the engine's parts (no change to qa/).

Stages, in pipeline order:

- ``analyse``: question clean-up and analysis — NFKC + Traditional→Simplified, jieba segmentation
  and POS tags, topic terms, answer type, time scope, follow-up resolution (``Engine.analyse``)
- ``tokenise``: BM25 query tokens (``qa.retrieve.query_tokens``)
- ``embed``: query embedding (``embedder.embed_queries``)
- ``dense``: FAISS search (``Index.search_dense``)
- ``bm25``: BM25 scoring of every chunk (``BM25.scores``)
- ``fusion``: BM25 top-k selection, reciprocal-rank fusion and the feature rerank (the rest of
  ``qa.retrieve.retrieve``)
- ``read``: span extraction over the top passages (``Engine._read``)
- ``other``: confidence, abstention and building the Answer (the rest of ``Engine.ask``)

The wrappers cost about a microsecond per call. A stage whose hook is missing (the engine was
refactored) is reported as not measured rather than guessed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import contextmanager
from typing import Any

STAGES = ("analyse", "tokenise", "embed", "dense", "bm25", "fusion", "read", "other")


class StageClock:
    """Accumulates seconds per stage for the current ask."""

    def __init__(self) -> None:
        self.current: dict[str, float] = {}
        self.missing: list[str] = []

    def reset(self) -> None:
        self.current = {}

    def add(self, stage: str, seconds: float) -> None:
        self.current[stage] = self.current.get(stage, 0.0) + seconds

    def timed(self, stage: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.add(stage, time.perf_counter() - start)

        wrapper.__wrapped__ = fn  # type: ignore[attr-defined]
        return wrapper


@contextmanager
def instrument(engine: Any):  # type: ignore[no-untyped-def]
    """Wrap an engine's stages; yields a function ``ask(question, history, k) -> (answer, {stage: s})``."""
    import qa.engine
    import qa.retrieve

    clock = StageClock()
    undo: list[Callable[[], None]] = []

    def patch(owner: Any, name: str, stage: str) -> None:
        original = getattr(owner, name, None)
        if original is None:
            clock.missing.append(f"{type(owner).__name__}.{name}")
            return
        had_own = name in vars(owner)  # a module global or an instance attribute; else a class method
        setattr(owner, name, clock.timed(stage, original))
        undo.append((lambda: setattr(owner, name, original)) if had_own else (lambda: delattr(owner, name)))

    patch(engine, "analyse", "analyse")
    patch(engine, "_read", "read")
    patch(engine.embedder, "embed_queries", "embed")
    patch(engine.index, "search_dense", "dense")
    patch(engine.index.bm25, "scores", "bm25")
    patch(qa.retrieve, "query_tokens", "tokenise")
    patch(qa.engine, "retrieve", "retrieve")

    def ask(question: str, history: Any = None, k: int = 5) -> tuple[Any, dict[str, float]]:
        clock.reset()
        start = time.perf_counter()
        answer = engine.ask(question, history, k)
        total = time.perf_counter() - start
        got = dict(clock.current)
        retrieve_s = got.pop("retrieve", 0.0)
        inner = sum(got.get(s, 0.0) for s in ("tokenise", "embed", "dense", "bm25"))
        got["fusion"] = max(0.0, retrieve_s - inner)
        known = sum(got.get(s, 0.0) for s in STAGES if s != "other")
        got["other"] = max(0.0, total - known)
        got["total"] = total
        return answer, got

    try:
        yield ask
    finally:
        for step in reversed(undo):
            step()
