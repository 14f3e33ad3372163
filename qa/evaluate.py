"""Score a question file (dev_questions.jsonl format): hit@k, MRR, EM, F1, refusals, latency."""

from __future__ import annotations

import json
import re
import statistics
import time
import unicodedata
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qa.engine import Engine

KEEP = {".", "%"}


def normalize_answer(text: str) -> str:
    """CMRC-2018 style: lower case, no whitespace, no punctuation except '.' and '%'.

    >>> normalize_answer("“多证合一”和 “证照分离”")
    '多证合一和证照分离'
    """
    out = []
    for ch in text.lower():
        if ch.isspace():
            continue
        if ch not in KEEP and unicodedata.category(ch).startswith(("P", "S")) and ch != "+":
            continue
        out.append(ch)
    return "".join(out)


def longest_common_substring(a: str, b: str) -> int:
    best = 0
    previous = [0] * (len(b) + 1)
    for ch_a in a:
        current = [0] * (len(b) + 1)
        for j, ch_b in enumerate(b, start=1):
            if ch_a == ch_b:
                current[j] = previous[j - 1] + 1
                best = max(best, current[j])
        previous = current
    return best


def f1(prediction: str, gold: str) -> float:
    """Character F1 over the longest common substring (CMRC 2018).

    >>> round(f1("3.1%", "超过3.1%"), 3)
    0.8
    """
    p, g = normalize_answer(prediction), normalize_answer(gold)
    overlap = longest_common_substring(p, g)
    if overlap == 0:
        return 0.0
    precision, recall = overlap / len(p), overlap / len(g)
    return 2 * precision * recall / (precision + recall)


def em(prediction: str, gold: str) -> float:
    return float(normalize_answer(prediction) == normalize_answer(gold))


def strip_ws(text: str) -> str:
    return re.sub(r"\s+", "", text)


@dataclass
class Row:
    item: dict[str, Any]
    found: bool
    answer: str
    confidence: float
    rank: int | None  # 1-based rank of the first passage holding the evidence (from the gold report)
    em: float
    f1: float
    seconds: float
    doc_hit: bool | None = None  # the first passage comes from the gold report (None: no gold report given)


@dataclass
class Report:
    rows: list[Row] = field(default_factory=list)

    def summary(self, rows: list[Row] | None = None) -> dict[str, float]:
        rows = self.rows if rows is None else rows
        answerable = [r for r in rows if r.item["answers"]]
        unanswerable = [r for r in rows if not r.item["answers"]]
        out: dict[str, float] = {"n": len(rows)}
        if answerable:
            out["hit@1"] = _mean(r.rank == 1 for r in answerable)
            out["hit@3"] = _mean(r.rank is not None and r.rank <= 3 for r in answerable)
            out["hit@5"] = _mean(r.rank is not None and r.rank <= 5 for r in answerable)
            out["mrr"] = _mean(1 / r.rank if r.rank else 0.0 for r in answerable)
            with_doc = [r for r in answerable if r.doc_hit is not None]
            if with_doc:
                out["doc@1"] = _mean(bool(r.doc_hit) for r in with_doc)
            out["false_refusals"] = _mean(not r.found for r in answerable)
        if rows:
            out["em"] = _mean(r.em for r in rows)
            out["f1"] = _mean(r.f1 for r in rows)
        if unanswerable:
            out["refusals_unanswerable"] = _mean(not r.found for r in unanswerable)
        latencies = sorted(r.seconds * 1000 for r in rows)
        if latencies:
            out["p50_ms"] = statistics.median(latencies)
            out["p95_ms"] = latencies[min(len(latencies) - 1, round(0.95 * (len(latencies) - 1)))]
        return out

    def breakdown(self, key: str) -> dict[str, dict[str, float]]:
        groups: dict[str, list[Row]] = defaultdict(list)
        for row in self.rows:
            groups[str(row.item.get(key, "?"))].append(row)
        return {name: self.summary(rows) for name, rows in sorted(groups.items())}

    def calibration(self, bins: Iterable[float] = (0.5, 0.7, 0.85, 0.95, 1.01)) -> list[tuple[str, int, float]]:
        """Accuracy (EM) of the answers given, by confidence bin (refusals are below 0.5)."""
        edges = list(bins)
        out = []
        for low, high in zip(edges, edges[1:], strict=False):
            rows = [r for r in self.rows if r.found and low <= r.confidence < high]
            out.append((f"[{low:.2f},{min(high, 1):.2f})", len(rows), _mean(r.em for r in rows) if rows else 0.0))
        return out


def _mean(values: Iterable[float | bool]) -> float:
    values = [float(v) for v in values]
    return sum(values) / len(values) if values else 0.0


def load_questions(path: str | Path) -> list[dict[str, Any]]:
    items = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            item = json.loads(line)
            if not isinstance(item, dict):
                raise ValueError(f"line {number} is not a JSON object")
            missing = [k for k in ("id", "question", "answers") if k not in item]
            if missing:
                raise ValueError(f"line {number} lacks {', '.join(missing)}")
            if not isinstance(item["question"], str) or not isinstance(item["answers"], list):
                raise ValueError(f"line {number}: question must be text and answers a list")
            items.append(item)
    return items


def same_doc(path: str, gold: str) -> bool:
    """Does an index path name the gold report (given by file name or by path)?

    >>> same_doc("provinces-2025/2025年浙江省政府工作报告.docx", "2025年浙江省政府工作报告.docx")
    True
    """
    return path == gold or path.rsplit("/", 1)[-1] == gold.rsplit("/", 1)[-1]


def evaluate(engine: Engine, items: list[dict[str, Any]], k: int = 5) -> Report:
    """Ask every question (follow-ups with the previous turn as history) and score it.

    With a ``doc`` field (the gold report), a passage is a hit only when it comes from that
    report, and an answer scores only when its citation does.
    """
    report = Report()
    by_id: dict[str, tuple[str, str]] = {}
    for item in items:
        history = []
        if item.get("prev") and item["prev"] in by_id:
            history = [by_id[item["prev"]]]
        started = time.perf_counter()
        result = engine.ask(item["question"], history=history, k=k)
        seconds = time.perf_counter() - started
        by_id[item["id"]] = (item["question"], result.answer)
        golds = item["answers"]
        gold_doc = item.get("doc") or ""
        rank = None
        if item.get("evidence"):
            evidence = strip_ws(item["evidence"])
            for i, passage in enumerate(result.passages, start=1):
                if evidence in strip_ws(passage.chunk.text) and (not gold_doc or same_doc(passage.chunk.doc, gold_doc)):
                    rank = i
                    break
        answered = result.found and (not gold_doc or same_doc(result.citation.doc, gold_doc))
        if golds:
            score_em = max(em(result.answer, g) for g in golds) if answered else 0.0
            score_f1 = max(f1(result.answer, g) for g in golds) if answered else 0.0
        else:
            score_em = score_f1 = float(not result.found)
        doc_hit = None
        if gold_doc and golds:
            doc_hit = bool(result.passages) and same_doc(result.passages[0].chunk.doc, gold_doc)
        report.rows.append(
            Row(item, result.found, result.answer, result.confidence, rank, score_em, score_f1, seconds, doc_hit)
        )
    return report


def format_report(report: Report) -> str:
    lines = []
    s = report.summary()
    keys = [
        "n",
        "doc@1",
        "hit@1",
        "hit@3",
        "mrr",
        "em",
        "f1",
        "refusals_unanswerable",
        "false_refusals",
        "p50_ms",
        "p95_ms",
    ]
    lines.append("  ".join(f"{key}={s[key]:.3f}" if key != "n" else f"n={int(s[key])}" for key in keys if key in s))
    for key in ("lang", "style", "type"):
        lines.append(f"by {key}:")
        for name, sub in report.breakdown(key).items():
            parts = [f"n={int(sub['n'])}"] + [f"{m}={sub[m]:.2f}" for m in ("hit@3", "em", "f1") if m in sub]
            lines.append(f"  {name:16s} " + "  ".join(parts))
    lines.append(
        "answers' accuracy by confidence: "
        + "  ".join(f"{name} n={n} em={acc:.2f}" for name, n, acc in report.calibration())
    )
    return "\n".join(lines)
