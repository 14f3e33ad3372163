"""Frozen records passed between pipeline stages: Chunk → Passage → Answer."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

SECTION_SEP = " › "


@dataclass(frozen=True)
class Chunk:
    """A contiguous span of one source file: ``source_text[start:end] == text``."""

    id: str
    doc: str
    section: tuple[str, ...]
    text: str
    start: int
    end: int
    period: int | None = None  # the (last) year the chunk's section speaks of (from its heading)
    duplicates: int = 0  # further copies of this text in the same document, skipped by dedupe
    phase: str = ""  # "review" (results of past years) | "plan" (targets) | "" (unknown)
    period_from: int | None = None  # first year of a multi-year section (过去五年, “十一五”), else None
    page: int | None = None  # PDF page the chunk starts on

    def covers(self, year: int) -> bool:
        """Does the chunk's section speak of ``year``?

        >>> Chunk("c", "d", (), "", 0, 0, period=2012, period_from=2008).covers(2010)
        True
        """
        if self.period is None:
            return False
        return (self.period_from or self.period) <= year <= self.period

    @property
    def section_path(self) -> str:
        return SECTION_SEP.join(self.section)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "doc": self.doc,
            "section": list(self.section),
            "text": self.text,
            "start": self.start,
            "end": self.end,
            "period": self.period,
            "duplicates": self.duplicates,
            "phase": self.phase,
            "period_from": self.period_from,
            "page": self.page,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Chunk:
        return cls(
            id=data["id"],
            doc=data["doc"],
            section=tuple(data["section"]),
            text=data["text"],
            start=int(data["start"]),
            end=int(data["end"]),
            period=data.get("period"),
            duplicates=int(data.get("duplicates", 0)),
            phase=data.get("phase", ""),
            period_from=data.get("period_from"),
            page=data.get("page"),
        )


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk with its final ranking score."""

    chunk: Chunk
    score: float

    def to_dict(self) -> dict[str, Any]:
        c = self.chunk
        return {
            "id": c.id,
            "doc": c.doc,
            "section": c.section_path,
            "text": c.text,
            "start": c.start,
            "end": c.end,
            "page": c.page,
            "score": round(float(self.score), 4),
        }


@dataclass(frozen=True)
class Citation:
    """Where the answer span stands: ``source_text(doc)[start:end] == answer``."""

    doc: str = ""
    section: str = ""
    start: int = 0
    end: int = 0
    page: int | None = None  # for PDFs: the page the answer stands on

    def to_dict(self) -> dict[str, Any]:
        return {"doc": self.doc, "section": self.section, "start": self.start, "end": self.end, "page": self.page}


@dataclass(frozen=True)
class Answer:
    question: str
    found: bool
    answer: str
    confidence: float
    citation: Citation = field(default_factory=Citation)
    passages: tuple[Passage, ...] = ()
    passage_index: int = -1  # which passage holds the answer span (-1 when not found)
    resolved_question: str = ""  # the question as understood: a follow-up restated whole, else as asked
    reason: str = ""  # why the reports do not answer (when not found)
    comparison: Any = None  # a qa.compare.Comparison when the question compares reports

    @property
    def mode(self) -> str:
        return "compare" if self.comparison is not None else "answer"

    def to_dict(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "found": self.found,
            "answer": self.answer,
            "confidence": round(float(self.confidence), 4),
            "citation": self.citation.to_dict(),
            "passages": [p.to_dict() for p in self.passages],
            "reason": self.reason,
            "mode": self.mode,
        } | ({"rows": self.comparison.to_dict()["rows"]} if self.comparison is not None else {})
