"""HTML for the chat app: an Answer rendered with its citation and highlighted passages, a comparison
as a table (plus its CSV and chart data).

Pure functions, no Gradio. Everything that comes from the user or the report goes through
:func:`escape`, which also neutralises Markdown, so the output is safe in Gradio's
Markdown+HTML chat renderer. The output is one line (no newlines), so Markdown never splits it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

from qa.compare import NOT_FOUND, comparison_csv  # noqa: F401  (the page's CSV download)
from qa.types import Answer, Passage

if TYPE_CHECKING:
    from qa.compare import Comparison, Row

COLLAPSE_OVER = 120  # passages longer than this (characters) show a snippet and fold the full text
SNIPPET_CONTEXT = 45  # characters either side of the first highlight in a snippet
MIN_ECHO_CHARS = 2  # answers shorter than this are not searched for in other passages
Span = tuple[int, int]

# HTML specials, plus the characters Markdown, GFM autolinks and LaTeX give meaning to.
_ENTITIES = {ch: f"&#{ord(ch)};" for ch in "\\`*_{}[]()#+-.!|~$:=^@"}
_ENTITIES.update({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"})
_SPECIAL = re.compile("[" + re.escape("".join(_ENTITIES)) + "]")
_NEWLINES = re.compile(r"\r\n|\r|\n")
_CJK = re.compile("[\u4e00-\u9fff]")


def escape(text: str) -> str:
    """Text as inert HTML: markup and Markdown characters become entities, newlines ``<br>``.

    >>> escape('<img src=x onerror="alert(1)">')
    '&lt;img src&#61;x onerror&#61;&quot;alert&#40;1&#41;&quot;&gt;'
    >>> escape("增长8%左右\\n**粗体**")
    '增长8%左右<br>&#42;&#42;粗体&#42;&#42;'
    """
    escaped = _SPECIAL.sub(lambda m: _ENTITIES[m.group()], text)
    return _NEWLINES.sub("<br>", escaped)


def merge_spans(spans: Iterable[Span], length: int) -> list[Span]:
    """Spans clipped to ``[0, length)``, empty ones dropped, overlapping or touching ones merged.

    >>> merge_spans([(5, 9), (0, 2), (8, 12), (20, 30), (3, 3)], 25)
    [(0, 2), (5, 12), (20, 25)]
    """
    clipped = sorted((max(0, a), min(length, b)) for a, b in spans)
    merged: list[Span] = []
    for a, b in clipped:
        if b <= a:
            continue
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        else:
            merged.append((a, b))
    return merged


def highlight(text: str, spans: Iterable[Span]) -> str:
    """Escaped ``text`` with each span wrapped in ``<mark>``.

    >>> highlight("生产总值增长8%<左右>", [(6, 8)])
    '生产总值增长<mark>8%</mark>&lt;左右&gt;'
    """
    out: list[str] = []
    pos = 0
    for a, b in merge_spans(spans, len(text)):
        out.append(escape(text[pos:a]))
        out.append(f"<mark>{escape(text[a:b])}</mark>")
        pos = b
    out.append(escape(text[pos:]))
    return "".join(out)


def find_all(text: str, needle: str) -> list[Span]:
    """Every non-overlapping occurrence of ``needle`` in ``text``.

    >>> find_all("8%、8%和18%", "8%")
    [(0, 2), (3, 5), (7, 9)]
    """
    if not needle:
        return []
    spans, start = [], text.find(needle)
    while start >= 0:
        spans.append((start, start + len(needle)))
        start = text.find(needle, start + len(needle))
    return spans


def answer_spans(answer: Answer) -> list[list[Span]]:
    """For each passage, the spans to highlight (offsets into ``passage.chunk.text``).

    The passage holding the answer gets the cited span itself (``citation.start - chunk.start``);
    other passages get every occurrence of the answer text.
    """
    result: list[list[Span]] = []
    for i, passage in enumerate(answer.passages):
        chunk = passage.chunk
        if not answer.found or not answer.answer:
            result.append([])
            continue
        if i == answer.passage_index:
            c = answer.citation
            a, b = c.start - chunk.start, c.end - chunk.start
            if c.doc == chunk.doc and 0 <= a < b <= len(chunk.text) and chunk.text[a:b] == answer.answer:
                result.append([(a, b)])
                continue
        if len(answer.answer) >= MIN_ECHO_CHARS or i == answer.passage_index:
            result.append(find_all(chunk.text, answer.answer))
        else:
            result.append([])
    return result


def snippet(text: str, spans: Sequence[Span], context: int = SNIPPET_CONTEXT) -> str:
    """A short highlighted window of ``text`` around its first span (or its start), with ellipses.

    >>> snippet("一二三四五六七八九十", [(4, 6)], context=2)
    '…三四<mark>五六</mark>七八…'
    """
    first = spans[0] if spans else (0, 0)
    a = max(0, first[0] - context)
    b = min(len(text), max(first[1] + context, a + 2 * context))
    inner = [(max(x, a) - a, min(y, b) - a) for x, y in spans if y > a and x < b]
    return ("…" if a > 0 else "") + highlight(text[a:b], inner) + ("…" if b < len(text) else "")


def confidence_label(confidence: float) -> str:
    """高 / 中 / 低 for a confidence in [0, 1]."""
    if confidence >= 0.8:
        return "高"
    if confidence >= 0.5:
        return "中"
    return "低"


def render_passage(
    passage: Passage,
    number: int,
    spans: Sequence[Span],
    evidence: bool = False,
    doc_titles: Mapping[str, str] | None = None,
) -> str:
    """One retrieved passage: where it stands (section, document, paragraph id, score) and its text."""
    chunk = passage.chunk
    title = (doc_titles or {}).get(chunk.doc, "")
    doc = f"《{escape(title)}》 <code>{escape(chunk.doc)}</code>" if title else f"<code>{escape(chunk.doc)}</code>"
    section = escape(chunk.section_path) or "（无章节）"
    badge = '<span class="qa-badge">答案出处</span> ' if evidence else ""
    head = (
        f'<div class="qa-phead">{badge}<span class="qa-pnum">[{number}]</span> '
        f'<span class="qa-section">{section}</span></div>'
        f'<div class="qa-pmeta">文档 {doc} · 段落 <code>{escape(chunk.id)}</code> · '
        f"得分 {passage.score:.3f}</div>"
    )
    if len(chunk.text) <= COLLAPSE_OVER:
        body = f'<div class="qa-ptext">{highlight(chunk.text, spans)}</div>'
    else:
        body = (
            f'<div class="qa-ptext">{snippet(chunk.text, spans)}</div>'
            f"<details><summary>展开全文（{len(chunk.text)} 字）</summary>"
            f'<div class="qa-ptext">{highlight(chunk.text, spans)}</div></details>'
        )
    kind = "qa-passage qa-evidence" if evidence else "qa-passage"
    return f'<div class="{kind}">{head}{body}</div>'


def render_answer(
    answer: Answer,
    show_all: bool = False,
    doc_titles: Mapping[str, str] | None = None,
    followup: bool = False,
    note: str = "",
) -> str:
    """The assistant's reply: answer in bold (or not found), confidence, where it stands, passages.

    Without ``show_all`` only the first passage (the one holding the answer) is shown; ``note``
    (plain text) joins the confidence line, e.g. which reports were searched.
    """
    conf = f"{answer.confidence:.2f}"
    level = confidence_label(answer.confidence)
    tone = {"高": "high", "中": "mid"}.get(level, "low")
    parts = ['<div class="qa-reply">']
    if answer.found:
        parts.append(f'<div class="qa-answer">答案：<strong>{escape(answer.answer)}</strong></div>')
    else:
        parts.append(
            '<div class="qa-answer qa-notfound">报告中没有找到这个问题的答案。'
            '<span class="qa-hint">（不猜测、不使用报告以外的知识）</span></div>'
        )
        if _CJK.search(answer.reason):  # the engine's own explanation (e.g. no report of that place)
            parts.append(f'<div class="qa-hint qa-reason">{escape(answer.reason)}</div>')
    parts.append(
        f'<div class="qa-meta">置信度 <span class="qa-conf qa-conf-{tone}">'
        f"{conf}（{level}）</span>"
        + (' · <span class="qa-hint">已结合上一轮对话理解这个追问</span>' if followup else "")
        + (f' · <span class="qa-hint">{escape(note)}</span>' if note else "")
        + "</div>"
    )
    if answer.found:
        c = answer.citation
        title = (doc_titles or {}).get(c.doc, "")
        where = f"《{escape(title)}》" if title else f"<code>{escape(c.doc)}</code>"
        parts.append(
            f'<div class="qa-where">出处：{where} › {escape(c.section) or "（无章节）"} · 第 {c.start}–{c.end} 字</div>'
        )
    passages = answer.passages if show_all else answer.passages[:1]
    if passages:
        label = "引用段落" if answer.found else "最相关的段落（仅供参考，未必回答了问题）"
        parts.append(f'<div class="qa-plabel">{label}</div>')
    spans = answer_spans(answer)
    for i, passage in enumerate(passages):
        evidence = answer.found and i == answer.passage_index
        parts.append(render_passage(passage, i + 1, spans[i], evidence, doc_titles))
    hidden = len(answer.passages) - len(passages)
    if hidden > 0:
        parts.append(f'<div class="qa-hint">另有 {hidden} 段检索结果未显示：勾选“显示全部检索段落”即可查看。</div>')
    parts.append("</div>")
    return "".join(parts)


def render_question(question: str) -> str:
    """The user's question as shown in the chat: one line, inert.

    >>> render_question("  <b>GDP</b>\\n增长？ ")
    '&lt;b&gt;GDP&lt;/b&gt; 增长？'
    """
    return escape(re.sub(r"\s+", " ", question).strip())


def render_notice(message: str, preview: str = "") -> str:
    """A friendly notice in place of an answer (bad input, engine trouble)."""
    quoted = f'<div class="qa-hint">你的输入：「{escape(preview)}」</div>' if preview else ""
    return f'<div class="qa-reply qa-notice"><div class="qa-answer">⚠️ {escape(message)}</div>{quoted}</div>'


# -- comparisons ------------------------------------------------------------------------

PASSAGE_CONTEXT = 100  # characters either side of a compared answer shown in its passage


def passage_window(text: str, start: int, end: int, context: int = PASSAGE_CONTEXT) -> str:
    """The paragraph of ``text`` around ``[start, end)``, at most ``context`` characters either side,
    with the span ``<mark>``ed and ellipses where it was cut.

    >>> passage_window("前一段。\\n目标是增长5%左右，努力争取。\\n后一段。", 10, 14, context=5)
    '目标是增长<mark>5%左右</mark>，努力争取…'
    """
    start, end = max(0, min(start, len(text))), max(0, min(end, len(text)))
    para_start = text.rfind("\n", 0, start) + 1
    while para_start < start and text[para_start].isspace():  # the paragraph's indent (full-width spaces)
        para_start += 1
    para_end = text.find("\n", end)
    para_end = len(text) if para_end < 0 else para_end
    a, b = max(para_start, start - context), min(para_end, end + context)
    body = highlight(text[a:b], [(start - a, end - a)])
    return ("…" if a > para_start else "") + body + ("…" if b < para_end else "")


def row_label(row: Row, rows: Sequence[Row]) -> str:
    """How a row is named in the chart: its place, with the year when a place has several rows."""
    place = row.place or row.doc
    if sum((r.place or r.doc) == place for r in rows) > 1 and row.year:
        return f"{place} {row.year}"
    return place


def _citation_cell(row: Row) -> str:
    if not row.found:
        return f'<span class="qa-hint">{escape(row.reason)}</span>' if row.reason else "—"
    c = row.citation
    page = f" · 第 {c.page} 页" if c.page else ""
    section = escape(c.section) or "（无章节）"
    return f"<code>{escape(c.doc)}</code> › {section} · 第 {c.start}–{c.end} 字{page}"


def _year_cell(row: Row) -> str:
    year = str(row.year) if row.year else "—"
    if row.report_year and row.report_year != row.year:
        year += f'<span class="qa-hint">（{row.report_year}年报告）</span>'
    return year


def _sort_key(value: object) -> str:
    """A cell's sort key, hidden in the cell (the chat's sanitizer drops data- attributes)."""
    return f'<span class="qa-key">{escape(str(value))}</span>' if value not in (None, "") else ""


def render_row(row: Row, text_of: Callable[[str], str]) -> str:
    """One report's row (a ``<tbody>``): place, year, answer, confidence, citation; then its passage,
    shown when the row is clicked. Sortable cells carry their key in a hidden ``qa-key`` span."""
    conf = f"{row.confidence:.2f}"
    level = confidence_label(row.confidence)
    tone = {"高": "high", "中": "mid"}.get(level, "low")
    place = row.place or row.doc
    value = None if row.value is None else f"{row.value:g}"
    answer = f"<strong>{escape(row.answer)}</strong>" if row.found else f'<span class="qa-notfound">{NOT_FOUND}</span>'
    main = (
        f'<tr class="qa-crow-main" title="点击查看原文出处">'
        f"<td>{_sort_key(place)}{escape(place)}</td>"
        f"<td>{_sort_key(row.year)}{_year_cell(row)}</td>"
        f"<td>{_sort_key(value)}{answer}</td>"
        f'<td>{_sort_key(conf)}<span class="qa-conf qa-conf-{tone}">{conf}（{level}）</span></td>'
        f"<td>{_citation_cell(row)}</td></tr>"
    )
    if not row.found:
        return f'<tbody class="qa-crow qa-crow-none">{main}</tbody>'
    c = row.citation
    passage = passage_window(text_of(c.doc), c.start, c.end)
    head = f'<div class="qa-pmeta">{escape(row.title) or escape(c.doc)} › {escape(c.section) or "（无章节）"}</div>'
    detail = f'<tr class="qa-crow-passage"><td colspan="5">{head}<div class="qa-ptext">{passage}</div></td></tr>'
    return f'<tbody class="qa-crow">{main}{detail}</tbody>'


def render_comparison(comparison: Comparison, text_of: Callable[[str], str], note: str = "") -> str:
    """A comparison reply: one table row per report (sortable by its headers, each row opening the
    passage with the answer marked), found answers first as the engine ordered them."""
    rows = comparison.rows
    found = sum(r.found for r in rows)
    parts = [
        '<div class="qa-reply qa-compare">',
        f'<div class="qa-answer">比较：<strong>{escape(comparison.metric)}</strong></div>',
        f'<div class="qa-meta">{found}/{len(rows)} 个报告给出了答案'
        + (f' · <span class="qa-hint">{escape(note)}</span>' if note else "")
        + "</div>",
    ]
    if not rows:
        parts.append('<div class="qa-answer qa-notfound">没有可以比较的报告。</div></div>')
        return "".join(parts)
    head = "".join(
        f'<th class="qa-sort qa-sort-{kind}" title="点击排序">{name}</th>' if kind else f"<th>{name}</th>"
        for kind, name in (("text", "地区"), ("num", "年份"), ("num", "答案"), ("num", "置信度"), ("", "出处"))
    )
    body = "".join(render_row(row, text_of) for row in rows)
    parts.append(f'<table class="qa-ctable"><thead><tr>{head}</tr></thead>{body}</table>')
    parts.append(
        '<div class="qa-hint">点击一行查看原文出处（答案高亮）；点击表头排序。图表和 CSV 下载见对话下方。</div>'
    )
    parts.append("</div>")
    return "".join(parts)


def chart_rows(comparison: Comparison) -> list[dict[str, object]]:
    """The bar chart's data: one bar per found row with a number (label, value, answer)."""
    rows = comparison.rows
    return [
        {"报告": row_label(r, rows), "数值": r.value, "答案": r.answer} for r in rows if r.found and r.value is not None
    ]
