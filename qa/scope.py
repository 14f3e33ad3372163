"""Which reports a question is asked of: explicit filters, the places and years it names, its tense.

A report for year Y reviews Y−1 (results) and plans Y (targets). A question about year X's
result is read from the report that reviews X; about X's target, from X's own report; with
no tense cue, a result when some report reviews X, else the target. A question about a
place or year that no report covers gets a refusal that says which reports the index holds.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from qa.index import DocInfo, Index
from qa.metadata import place_aliases
from qa.types import Chunk


class FilterError(ValueError):
    """Explicit report filters (doc, place, year) that match no report; the message lists what there is."""


@dataclass(frozen=True)
class Scope:
    """The reports a question is read from, and how its years are to be read."""

    docs: tuple[str, ...]  # the reports the question is asked of
    positions: np.ndarray | None  # their chunk positions; None: the whole index
    tense: str = ""  # "past" (a result) | "future" (a target) | "" (no year asked about)
    report_year: int | None = None  # the latest report year among ``docs``
    home: tuple[str, ...] = ()  # every name of the places of ``docs`` (天津, 天津市, 津 …)
    reason: str = ""  # when set, no report can answer: the refusal's explanation
    inferred: bool = False  # the tense was not asked but read from the reports (a soft preference)


def coverage(chunks: Sequence[Chunk]) -> dict[str, dict[int, set[str]]]:
    """For each document, the single years its sections speak of and in which phase (review / plan).

    A review of several years (过去五年) stands for its last year, the one its report follows;
    a five-year plan's targets are not any one year's.

    >>> c = Chunk("a", "r.txt", (), "", 0, 0, period=2012, phase="review", period_from=2008)
    >>> coverage([c])
    {'r.txt': {2012: {'review'}}}
    """
    out: dict[str, dict[int, set[str]]] = {}
    for chunk in chunks:
        if chunk.period is None or (chunk.period_from is not None and chunk.phase != "review"):
            continue
        out.setdefault(chunk.doc, {}).setdefault(chunk.period, set()).add(chunk.phase or "")
    return out


def range_coverage(chunks: Sequence[Chunk]) -> dict[str, set[tuple[int, int]]]:
    """For each document, the multi-year periods (first, last) its sections speak of."""
    out: dict[str, set[tuple[int, int]]] = {}
    for chunk in chunks:
        if chunk.period is not None and chunk.period_from is not None:
            out.setdefault(chunk.doc, set()).add((chunk.period_from, chunk.period))
    return out


def describe(documents: Iterable[DocInfo], limit: int = 12) -> str:
    """The reports an index holds, briefly: 全国 2006–2013, or 上海 2025、云南 2025 …

    >>> from qa.metadata import ReportMeta
    >>> docs = [DocInfo(f"{y}.txt", "", "txt", ReportMeta("", "全国", "national", y, "", "", "")) for y in (2006, 2007)]
    >>> describe(docs)
    '全国 2006–2007'
    >>> describe([DocInfo(f"{p}.txt", "", "txt", ReportMeta("", p, "province", 2025, "", "", "")) for p in "甲乙丙丁"])
    '2025年 甲、乙、丙、丁'
    """
    documents = list(documents)
    years = {doc.meta.year for doc in documents}
    if len(documents) > 3 and len(years) == 1 and None not in years:  # one year's reports of many places
        places = [doc.meta.place or doc.path for doc in documents]
        more = f" …（共{len(places)}份）" if len(places) > limit else ""
        return f"{years.pop()}年 " + "、".join(places[:limit]) + more
    by_place: dict[str, list[int]] = {}
    for doc in documents:
        by_place.setdefault(doc.meta.place or doc.path, []).append(doc.meta.year or 0)
    parts = []
    for place, held in by_place.items():
        known = sorted(y for y in held if y)
        if not known:
            parts.append(place)
        elif len(known) >= 2 and known == list(range(known[0], known[-1] + 1)):
            parts.append(f"{place} {known[0]}–{known[-1]}")
        else:
            parts.append(f"{place} " + "/".join(map(str, known)))
    more = f" …（共{len(parts)}个地区）" if len(parts) > limit else ""
    return "、".join(parts[:limit]) + more


def filter_reports(
    index: Index, reports: Sequence[str] | None = None, place: str | None = None, year: int | None = None
) -> tuple[str, ...]:
    """The documents explicit filters select (all when none is given); FilterError when none matches.

    ``reports`` holds document paths, file names or stems; ``place`` any name of a place (浙江省, 浙).
    """
    docs = list(index.documents.values())
    if reports:
        wanted = {r.strip() for r in reports if r and r.strip()}
        docs = [d for d in docs if wanted & {d.path, d.path.rsplit("/", 1)[-1], d.path.rsplit(".", 1)[0], d.label}]
    if place:
        names = set(place_aliases(place.strip())) | {place.strip()}
        docs = [d for d in docs if d.meta.place and names & set(place_aliases(d.meta.place))]
    if year:
        docs = [d for d in docs if d.meta.year == int(year)]
    if not docs:
        asked = ", ".join(
            f"{name}={value}" for name, value in (("doc", reports), ("place", place), ("year", year)) if value
        )
        raise FilterError(
            f"没有符合条件的报告 (no report matches {asked}; the index holds: {describe(index.documents.values())})"
        )
    return tuple(d.path for d in docs)


def choose(
    index: Index,
    spans: dict[str, dict[int, set[str]]],
    ranges: dict[str, set[tuple[int, int]]],
    allowed: Sequence[str],
    places: Sequence[str],
    years: Sequence[int],
    tense: str,
) -> Scope:
    """Narrow ``allowed`` reports to those the question's places (canonical names) and years point at.

    A place with a report of its own selects that report. A place without one (北京 asked of
    the Tianjin report) is left to the reader, which needs it next to the answer, unless no
    report even mentions it: then the question is refused here.
    """
    docs = [index.documents[d] for d in allowed]
    restricted = len(docs) < len(index.documents)
    holds = describe(index.documents.values())
    if places:
        named = [d for d in docs if d.meta.place in places]
        if named:
            docs, restricted = named, True
        else:
            unheard = [p for p in places if not any(a in d.text for d in docs for a in place_aliases(p))]
            if len(unheard) == len(places):
                return Scope((), None, reason=no_report(unheard[0], holds))
    tense_out, inferred = tense, False
    if years and len(years) > 1:  # a period (“十一五”时期): the reports whose sections span it
        wanted_range = (min(years), max(years))
        spanning = [d for d in docs if wanted_range in ranges.get(d.path, set())]
        if spanning and len(spanning) < len(docs):
            docs, restricted = spanning, True
    elif years:
        covering = [d for d in docs if any(y in spans.get(d.path, {}) for y in years)]
        if not covering:
            mentioned = [d for d in docs if any(f"{y}年" in d.text for y in years)]
            if not mentioned:
                year_text = "、".join(f"{y}年" for y in years)
                return Scope((), None, reason=f"报告中没有关于{year_text}的内容 (the index holds: {holds})")
        else:
            if not tense_out:  # no cue: rather a result where some report reviews the year, else a target
                reviewed = any("review" in spans[d.path].get(y, set()) for d in covering for y in years)
                tense_out, inferred = ("past" if reviewed else "future"), True
            wanted = "review" if tense_out == "past" else "plan"
            best = [d for d in covering if any(wanted in spans[d.path].get(y, set()) for y in years)]
            chosen = covering if inferred else (best or covering)
            if len(chosen) < len(docs):
                docs, restricted = chosen, True
    paths = tuple(d.path for d in docs)
    home = tuple(dict.fromkeys(alias for d in docs if d.meta.place for alias in place_aliases(d.meta.place)))
    years_held = [d.meta.year for d in docs if d.meta.year]
    positions = index.positions(paths) if restricted else None
    return Scope(paths, positions, tense_out, max(years_held) if years_held else None, home, inferred=inferred)


def no_report(place: str, holds: str, read: bool = False) -> str:
    """The refusal for a place the index holds no report of; ``read``: some report mentions it,
    but not the passage the answer would come from (哈尔滨 asked of the 黑龙江 report).

    >>> no_report("哈尔滨", "黑龙江 2025", read=True).split(" (")[0]
    '报告中没有关于哈尔滨的报告，找到的段落也未提及哈尔滨'
    """
    if read:
        return (
            f"报告中没有关于{place}的报告，找到的段落也未提及{place} (the index holds no report of {place}, "
            f"and the passage found does not speak of it; it holds: {holds})"
        )
    return f"报告中没有关于{place}的报告 (the index holds no report of {place}; it holds: {holds})"
