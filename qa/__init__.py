"""qa: retrieval question answering over Chinese government reports.

Usage::

    from qa import Engine

    Engine.load("index").ask("2017年天津生产总值预期增长多少？").answer  # '8%'
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["Answer", "Chunk", "Citation", "Engine", "Passage", "__version__"]

if TYPE_CHECKING:
    from qa.engine import Engine
    from qa.types import Answer, Chunk, Citation, Passage


def __getattr__(name: str) -> Any:
    # Heavy modules (faiss, jieba, the model) load only when first used.
    if name == "Engine":
        from qa.engine import Engine

        return Engine
    if name in ("Answer", "Chunk", "Citation", "Passage"):
        from qa import types

        return getattr(types, name)
    raise AttributeError(name)
