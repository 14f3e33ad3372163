"""Compare across reports: one question, one cited answer from every report it covers.

"各省2025年生产总值增长目标分别是多少？", "北京和上海的城镇新增就业目标相比", "2009年到2013年每年的
国内生产总值增长目标": the question is stripped of its comparison words to the metric it asks
about, embedded once, and read from each report alone with the same retrieval, reader and
refusal rules as ``Engine.ask`` — a report that does not state the figure gets ``found: false``,
never another report's figure. A target for year Y is read from Y's report; a result for Y
from the report that reviews Y (the next year's).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from qa.metadata import place_aliases
from qa.scope import Scope
from qa.text import normalize
from qa.types import Citation

if TYPE_CHECKING:
    from qa.engine import Engine
    from qa.index import DocInfo

# Words that ask for the same figure across several reports.
ACROSS = re.compile(
    r"各(?:个)?(?:省|市|地|区|报告|年)[份区市级]*|全部省份|所有(?:省份?|地区|报告|年份)|\d+个省(?:区市|份|市区)?"
    r"|哪些(?:省份?|地区|城市|地方|年份?)|哪个(?:省份?|地区|城市)(?:最|的.{0,6}最)|历年|每年|逐年|每一年|历次|近\d+年|这几年"
    r"|\b(?:each|every|all) (?:province|provinces|region|regions|year|years|report|reports)\b|\bover the years\b"
)
AGGREGATE = re.compile(r"平均|年均|累计|总共|一共|合计|\baverage\b|\bin total\b|\bcumulative")
CONTRAST = re.compile(r"相比|对比|比较|\bcompare|\bversus\b|\bvs\.?")
YEAR_RANGE = re.compile(r"((?:19|20)\d{2})\s*年?\s*(?:到|至|—+|－|-|~|～|through|to)\s*((?:19|20)\d{2})\s*年?")
FILLER = re.compile(r"分别|各自|分别是|都|相比(?:较)?|对比|比较|之间|情况")
NUMBER = re.compile(r"\d+(?:\.\d+)?")
RANGE = re.compile(r"(\d+(?:\.\d+)?)\s*%?\s*(?:—+|－|-|~|～|至|到)\s*(\d+(?:\.\d+)?)")


NOT_FOUND = "未找到"
CSV_FIELDS = (
    "place",
    "year",
    "report_year",
    "found",
    "answer",
    "value",
    "confidence",
    "doc",
    "title",
    "section",
    "start",
    "end",
    "page",
    "reason",
)


def comparison_csv(comparison: Comparison) -> str:
    """The comparison's rows as CSV (one line per report; citation fields flattened)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_FIELDS)
    for row in comparison.rows:
        c = row.citation
        values = {
            "place": row.place,
            "year": row.year or "",
            "report_year": row.report_year or "",
            "found": "true" if row.found else "false",
            "answer": row.answer if row.found else NOT_FOUND,
            "value": "" if row.value is None else f"{row.value:g}",
            "confidence": f"{row.confidence:.4f}",
            "doc": row.doc,
            "title": row.title,
            "section": c.section,
            "start": c.start if row.found else "",
            "end": c.end if row.found else "",
            "page": c.page or "",
            "reason": row.reason,
        }
        writer.writerow([_csv_safe(values[name]) for name in CSV_FIELDS])
    return out.getvalue()


def _csv_safe(value: object) -> object:
    """A cell that spreadsheets will not run as a formula (=, +, -, @ at the start of text)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value
    return value


def parse_value(answer: str) -> float | None:
    """The number an answer states, for sorting and plotting; a range gives its midpoint.

    >>> parse_value("5.5%以上"), parse_value("5.0%—5.5%"), parse_value("４.２７万亿元"), parse_value("王伟中")
    (5.5, 5.25, 4.27, None)
    """
    text = normalize(answer)
    match = RANGE.search(text)
    if match:
        return (float(match.group(1)) + float(match.group(2))) / 2
    match = NUMBER.search(text)
    return float(match.group()) if match else None


@dataclass(frozen=True)
class Row:
    """One report's answer to the compared question."""

    doc: str
    title: str
    place: str
    year: int | None  # the year the figure speaks of (a target's own year, a result's year)
    report_year: int | None
    found: bool
    answer: str
    value: float | None
    confidence: float
    citation: Citation = field(default_factory=Citation)
    reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "doc": self.doc,
            "title": self.title,
            "place": self.place,
            "year": self.year,
            "report_year": self.report_year,
            "found": self.found,
            "answer": self.answer,
            "value": self.value,
            "confidence": round(float(self.confidence), 4),
            "citation": self.citation.to_dict(),
            "reason": self.reason,
        }


@dataclass(frozen=True)
class Comparison:
    question: str
    metric: str  # the question as asked of each report
    rows: tuple[Row, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "mode": "compare",
            "metric": self.metric,
            "rows": [r.to_dict() for r in self.rows],
        }


def is_comparison(norm: str, places: Sequence[str]) -> bool:
    """Does a (normalised) question ask for the same figure across reports?

    >>> is_comparison("各省2025年生产总值增长目标分别是多少", ())
    True
    >>> is_comparison("北京和上海的就业目标相比", ("北京", "上海"))
    True
    >>> is_comparison("2009年到2013年每年的国内生产总值增长目标", ()), is_comparison("2016年生产总值增长多少", ())
    (True, False)
    >>> is_comparison("2008到2012这五年，国内生产总值平均每年增长多少", ())
    False
    """
    if AGGREGATE.search(norm):  # 这五年平均每年增长多少: one figure for the period, not one per report
        return False
    if ACROSS.search(norm) or YEAR_RANGE.search(norm):
        return True
    return len(places) >= 2 and bool(CONTRAST.search(norm) or re.search(r"和|与|、|跟|同|\band\b", norm))


def metric_question(norm: str, place_words: Sequence[str]) -> str:
    """The question to ask of each report: comparison words, year ranges and the places taken out.

    >>> metric_question("各省2025年生产总值增长目标分别是多少？", ())
    '2025年生产总值增长目标是多少？'
    >>> metric_question("历年国内生产总值增长目标", ())
    '国内生产总值增长目标是多少？'
    """
    text = YEAR_RANGE.sub("", norm)
    text = ACROSS.sub("", text)
    for word in sorted(place_words, key=len, reverse=True):
        text = text.replace(word, "")
    text = FILLER.sub("", text)
    text = re.sub(r"^[的和与、，,\s]+|(?<=[年])的", "", text)
    text = re.sub(r"[和与、跟同]+(?=[的]|$)", "", text).strip(" ，,的")
    if not re.search(r"多少|几|什么|哪|谁|how|what|which|who|when", text):
        text = text.rstrip("？?。") + "是多少？"
    return text


def compare(
    engine: Engine,
    question: str,
    history: Sequence[Any] | None = None,
    reports: Sequence[str] | None = None,
    place: str | None = None,
    year: int | None = None,
) -> Comparison:
    """One row per report the question covers, each answered from that report alone."""
    from qa.engine import clean_question
    from qa.query import analyse, localise, named_places, time_scope

    text = clean_question(question)
    allowed = engine.reports(reports, place, year)
    norm = normalize(text)
    places, place_words = named_places(norm)
    metric = metric_question(norm, place_words)
    report_year = max((engine.index.documents[d].meta.year or 0 for d in allowed), default=0) or None
    if history:
        q = engine.analyse(metric, history, allowed)  # English terms localised there
    else:
        q = localise(analyse(metric, report_year, home=engine.home), engine._known, engine.home)
    _, tense = time_scope(normalize(metric), report_year)
    docs = [engine.index.documents[d] for d in allowed]
    named = [d for d in docs if d.meta.place in places]
    if named:
        docs = named
    targets = _targets(engine, docs, q.years, YEAR_RANGE.search(norm), tense)
    vector = engine.embedder.embed_queries([q.search_text])[0]  # one query embedding for every report
    rows = []
    for doc, subject_year, row_tense in targets:
        q_row = replace(
            q,
            years=(subject_year,) if subject_year else (),
            tense=row_tense,
            tense_inferred=False,
            places=(),
            place_words=(),
        )
        home = place_aliases(doc.meta.place) if doc.meta.place else ()
        scope = Scope((doc.path,), engine.index.positions([doc.path]), row_tense, doc.meta.year, home)
        answer = engine._answer(metric, q_row, scope, 3, query_vector=vector)
        rows.append(
            Row(
                doc.path,
                doc.meta.title,
                doc.meta.place,
                subject_year,
                doc.meta.year,
                answer.found,
                answer.answer,
                parse_value(answer.answer) if answer.found else None,
                answer.confidence,
                answer.citation,
                answer.reason,
            )
        )
    return Comparison(text, metric, tuple(rows))


def _targets(
    engine: Engine, docs: list[DocInfo], years: Sequence[int], year_range: re.Match[str] | None, tense: str
) -> list[tuple[DocInfo, int | None, str]]:
    """(report, year the figure speaks of, tense) for every row: a target for Y from Y's report,
    a result for Y from the report that reviews it."""
    if year_range:
        first, last = sorted((int(year_range.group(1)), int(year_range.group(2))))
        wanted: list[int] | None = list(range(first, last + 1))
    elif years:
        wanted = list(years)
    else:
        wanted = None
    out = []
    if wanted is None:  # 历年 / 各省: each report's own target, or the result it reviews
        for doc in sorted(docs, key=lambda d: (d.meta.year or 0, d.path)):
            subject = doc.meta.year if doc.meta.year else None
            if tense == "past" and subject:
                subject -= 1
            out.append((doc, subject, tense or "future"))
        return out
    for subject in wanted:
        phase = {"past": "review", "future": "plan"}.get(tense, "")
        holding = [d for d in docs if subject in engine.spans.get(d.path, {})]
        if phase:  # a result asked: only a report that reviews the year; a target: only its own report
            holding = [d for d in holding if phase in engine.spans[d.path][subject]]
        if not tense and holding:  # no cue: the result where a report reviews the year, else the target
            reviewed = [d for d in holding if "review" in engine.spans[d.path][subject]]
            holding = reviewed or holding
        row_tense = tense or ("past" if any("review" in engine.spans[d.path][subject] for d in holding) else "future")
        # one row per place: its report that speaks of the year most directly (Y+1 for results, Y for targets)
        by_place: dict[str, DocInfo] = {}
        natural = subject + 1 if row_tense == "past" else subject
        for doc in sorted(holding, key=lambda d: abs((d.meta.year or 0) - natural)):
            by_place.setdefault(doc.meta.place or doc.path, doc)
        out.extend((doc, subject, row_tense) for doc in by_place.values())
    return out
