"""Section-aware chunking: headings → section paths, paragraphs → sentence-packed chunks.

Every chunk keeps exact offsets into its document's text (``text[start:end] == chunk.text``),
the heading path above it, and the years its section speaks of with their phase: a report
for year Y reviews Y−1 (results) and plans Y (targets). Paragraphs repeated inside one
document (the seed holds its report eight times) are indexed once; the same paragraph in
two reports is kept in both, so each keeps its citation.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import PurePosixPath

from qa.documents import Document
from qa.types import Chunk

CN_NUM = "一二三四五六七八九十"
H1 = re.compile(rf"^[{CN_NUM}]+、")
H2 = re.compile(rf"^[（(][{CN_NUM}]+[）)]")
DASH_ITEM = re.compile(r"^(――|——|—|--)")
YEAR = re.compile(r"((?:19|20)\d{2})\s*年")
SENTENCE_END = "。！？!?；;"
SPACE = " \t\r\u3000\ufeff\xa0\u2002\u2003\u2009\u200b"


@dataclass(frozen=True)
class ChunkerSettings:
    max_chars: int = 120  # sentences are packed into chunks up to this size
    lead_max_chars: int = 32  # a paragraph's first sentence up to this size is its topic

    def to_json(self) -> dict[str, object]:
        return {"name": "section-sentences", "max_chars": self.max_chars, "lead_max_chars": self.lead_max_chars}


def paragraphs(text: str) -> Iterator[tuple[int, int, int]]:
    """Yield (line_number, start, end) of each non-empty line, surrounding blanks trimmed.

    >>> list(paragraphs("标题\\n\\n　　正文。\\n"))
    [(1, 0, 2), (3, 6, 9)]
    """
    offset = 0
    for number, line in enumerate(text.split("\n"), start=1):
        stripped = line.strip(SPACE)
        if stripped:
            start = offset + line.index(stripped)
            yield number, start, start + len(stripped)
        offset += len(line) + 1


def split_sentences(text: str, start: int = 0) -> list[tuple[int, int]]:
    """Split at sentence and clause ends (。！？；;), delimiters kept; returns absolute spans.

    >>> split_sentences("增长8%;收入2723亿元。好")
    [(0, 5), (5, 14), (14, 15)]
    """
    spans: list[tuple[int, int]] = []
    begin = 0
    for i, ch in enumerate(text):
        if ch in SENTENCE_END:
            spans.append((begin, i + 1))
            begin = i + 1
    if begin < len(text):
        spans.append((begin, len(text)))
    return [(start + a, start + b) for a, b in spans if text[a:b].strip(SPACE)]


def heading_label(text: str) -> str:
    """Short form of a heading for the section path: up to its first comma.

    >>> heading_label("(三)坚定不移实施创新驱动发展战略，全面提升转型升级")
    '(三)坚定不移实施创新驱动发展战略'
    """
    return re.split(r"[，,:：]", text, maxsplit=1)[0].rstrip("。")


def lead_sentence(text: str, max_chars: int) -> str | None:
    """A paragraph's short opening sentence that names its topic, if any.

    >>> lead_sentence("大力推进深化国有企业改革。以提高核心竞争力为目标。", 32)
    '大力推进深化国有企业改革'
    >>> lead_sentence("积极主动推进三省市交通，京秦高速建成通车。", 32) is None
    True
    """
    body = DASH_ITEM.sub("", text)
    end = body.find("。")
    if end <= 0 or end + 1 >= len(body) or end > max_chars:
        return None
    lead = body[:end]
    if any(mark in lead for mark in "，,;；:："):
        return None
    return lead


def pack(spans: list[tuple[int, int]], max_chars: int) -> list[tuple[int, int]]:
    """Greedily join consecutive sentence spans into chunks of at most ``max_chars``.

    >>> pack([(0, 50), (50, 100), (100, 130)], 80)
    [(0, 50), (50, 130)]
    """
    chunks: list[tuple[int, int]] = []
    for start, end in spans:
        if chunks and end - chunks[-1][0] <= max_chars:
            chunks[-1] = (chunks[-1][0], end)
        else:
            chunks.append((start, end))
    return chunks


def doc_year(text: str) -> int | None:
    """The year a report is for: the first year named in its opening lines."""
    match = YEAR.search(text[:300])
    return int(match.group(1)) if match else None


REVIEW_CUES = ("回顾", "过去", "去年", "上年", "成就", "成效", "一年来", "五年来")
PLAN_CUES = ("任务", "安排", "部署", "目标", "要求", "建议", "今年", "重点工作", "思路", "工作")
FIVE_YEAR_PLAN = re.compile(r"([六七八九]|十[一二三四六七八九]?)五(?=”|\"|时期|规划|期间|末)")
HEADING_WORDS = re.compile(r"回顾|安排|任务|部署|目标|建议|建设|要求|工作|解释|附件|注释")
PUNCT = re.compile(r"[，,。；;：:！!？?、]")


def five_year_plan(text: str) -> tuple[int, int] | None:
    """The years of a five-year plan named in a text: “十一五” → (2006, 2010).

    >>> five_year_plan("一、“十一五”时期国民经济和社会发展取得重大成就"), five_year_plan("十四五规划")
    ((2006, 2010), (2021, 2025))
    """
    match = FIVE_YEAR_PLAN.search(text)
    if not match:
        return None
    digits = {c: i for i, c in enumerate("零一二三四五六七八九十")}
    word = match.group(1)
    tens = word.startswith("十")
    number = 10 + (digits[word[1]] if len(word) > 1 else 0) if tens else digits.get(word, 0)
    if number < 6:  # the early plans did not follow one another year by year
        return None
    first = 1981 + 5 * (number - 6)
    return first, first + 4


def section_period(heading: str, year: int | None) -> tuple[int | None, int | None, str]:
    """(last year, first year of a range or None, phase) a section heading speaks of.

    A report for year Y reviews Y−1 (or the past five years) and plans Y.

    >>> section_period("一、2024年工作回顾", 2025), section_period("二、2025年工作安排", 2025)
    ((2024, None, 'review'), (2025, None, 'plan'))
    >>> section_period("一、过去五年工作回顾", 2013), section_period("一、去年工作回顾", 2006)
    ((2012, 2008, 'review'), (2005, None, 'review'))
    >>> section_period("三、全面加强政府自身建设", 2025)
    (None, None, '')
    """
    review = any(cue in heading for cue in REVIEW_CUES)
    explicit = YEAR.search(heading)
    if explicit:
        named = int(explicit.group(1))
        return named, None, "review" if review or (year is not None and named < year) else "plan"
    plan_years = five_year_plan(heading)
    if plan_years:
        return plan_years[1], plan_years[0], "review" if review else "plan"
    if year is None:
        return None, None, "review" if review else ""
    if "过去五年" in heading or "五年来" in heading:
        return year - 1, year - 5, "review"
    if review:
        return year - 1, None, "review"
    if any(cue in heading for cue in PLAN_CUES):
        return year, None, "plan"
    return None, None, ""


SENTENCE_YEAR = re.compile(r"(?:^|[。；;！？])[\s　]*((?:19|20)\d{2}年|过去一年|去年|一年来)[，,]")


def opening_year(text: str, first: int, last: int, year: int | None = None) -> int | None:
    """The last year in [first, last] that a sentence of ``text`` opens with ("2012年，…", "过去一年，…"
    in a report for ``year``). Inside a section on several years (过去五年), it speaks of that one year.

    >>> opening_year("遏制了房价过快上涨势头。2012年，在世界各大经济体增长全面减速", 2008, 2012)
    2012
    >>> opening_year("过去一年，我们的各项工作取得了很大成绩", 2006, 2010, 2011)
    2010
    """
    years = []
    for word in SENTENCE_YEAR.findall(text):
        named = int(word[:4]) if word[:4].isdigit() else (year - 1 if year else None)
        if named is not None and first <= named <= last:
            years.append(named)
    return years[-1] if years else None


def is_unnumbered_heading(para: str) -> bool:
    """A short line without punctuation that names a part of a report (2024年工作回顾, 名词解释).

    >>> is_unnumbered_heading("2024年工作回顾"), is_unnumbered_heading("省长 王予波")
    (True, False)
    >>> is_unnumbered_heading("各位代表：")
    False
    """
    return len(para) <= 20 and not PUNCT.search(para) and bool(HEADING_WORDS.search(para))


def chunk_document(
    doc: Document,
    settings: ChunkerSettings,
    out: list[Chunk],
    prefix: str | None = None,
    year: int | None = None,
) -> int:
    """Append the chunks of one document to ``out``; returns the number of repeated paragraphs skipped.

    A paragraph repeated inside the document (the seed holds its report eight times) is indexed
    once, with its copies counted; the same paragraph in another document is that document's own.
    ``year`` is the report's own year, against which 去年 / 过去五年 / 今年 headings are read.
    """
    text = doc.text
    year = year if year is not None else doc_year(text)
    seen: dict[str, list[int]] = {}
    title = ""
    h1 = h2 = ""
    topic = ""
    topic_persists = False  # a dash-led item's topic carries on to the paragraphs after it
    h1_no = h2_no = 0
    period: int | None = None
    period_from: int | None = None
    phase = ""
    planned = False  # a plan section came already: later sections without cues plan the report's year
    reviewed = False  # so did a review section: the sections after it plan
    settle_phase = False  # the section's phase is read from its first paragraph (一年来… → review)
    skipped = 0
    for number, start, end in paragraphs(text):
        para = text[start:end]
        is_heading = False
        if not title and not h1:
            title, is_heading = heading_label(para), True
        elif H1.match(para) or (is_unnumbered_heading(para) and not H2.match(para)):
            h1, h2, topic = heading_label(para), "", ""
            h1_no, h2_no = h1_no + 1, 0
            period, period_from, phase = section_period(para, year)
            settle_phase = not phase and not reviewed
            if not phase and (planned or reviewed) and year is not None:  # after the review come the plans
                period, phase, settle_phase = year, "plan", False
            planned = planned or phase == "plan"
            reviewed = reviewed or phase == "review"
            is_heading = True
        elif H2.match(para) and h1:
            h2, topic = heading_label(para), ""
            h2_no += 1
            is_heading = True
        elif h1:
            if settle_phase and year is not None:
                if para.startswith(("过去一年", "一年来", "去年", f"{year - 1}年")):
                    period, phase, reviewed = year - 1, "review", True
                settle_phase = False
            lead = lead_sentence(para, settings.lead_max_chars)
            dash = bool(DASH_ITEM.match(para))
            if lead:
                topic, topic_persists = lead, dash
            elif dash or not topic_persists:
                topic, topic_persists = "", False
        if is_heading or not h1:
            section = tuple(s for s in (title if not h1 else "", h1, h2) if s)
        else:
            section = tuple(s for s in (h1, h2, topic) if s)

        key = re.sub(r"\s+", "", para)
        if key in seen:
            skipped += 1
            for index in seen[key]:
                out[index] = replace(out[index], duplicates=out[index].duplicates + 1)
            continue
        spans = [(start, end)] if is_heading else pack(split_sentences(para, start), settings.max_chars)
        secnum = ".".join(str(n) for n in (h1_no, h2_no) if n) or "0"
        positions = []
        narrowed: int | None = None  # a year one of the paragraph's sentences opens with (2012年，/ 过去一年，)
        for part, (a, b) in enumerate(spans, start=1):
            suffix = f".{part}" if len(spans) > 1 else ""
            chunk_id = f"{prefix or doc.name}:{secnum}:p{number}{suffix}"
            positions.append(len(out))
            page = doc.page_at(a)
            first, last, chunk_phase = period_from, period, phase
            if h1 and not is_heading:
                low, high = (period_from, period) if period_from and period else (1949, 2100)
                narrowed = opening_year(text[a:b], low, high, year) or narrowed
                if narrowed is not None and (narrowed != period or period_from is not None):
                    first, last = None, narrowed
                    chunk_phase = "review" if year is not None and narrowed < year else "plan"
            out.append(Chunk(chunk_id, doc.path, section, text[a:b], a, b, last, 0, chunk_phase, first, page))
        seen[key] = positions
    return skipped


def chunk_documents(
    documents: Iterable[Document], settings: ChunkerSettings | None = None, years: dict[str, int | None] | None = None
) -> tuple[list[Chunk], int]:
    """Chunk a corpus; returns the chunks and the count of repeated paragraphs skipped (within documents).

    ``years`` gives each document's report year by path (default: the first year in its opening lines).
    """
    settings = settings or ChunkerSettings()
    years = years or {}
    out: list[Chunk] = []
    documents = list(documents)
    # ids name a document by its path without suffix (its full path if two share that)
    stems = [PurePosixPath(d.path).with_suffix("").as_posix() for d in documents]
    taken = Counter(stems)
    prefixes = [stem if taken[stem] == 1 else d.path for stem, d in zip(stems, documents, strict=True)]
    skipped = sum(
        chunk_document(doc, settings, out, p, years.get(doc.path)) for doc, p in zip(documents, prefixes, strict=True)
    )
    return out, skipped
