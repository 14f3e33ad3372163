"""qa.render: escaping, highlight offsets from the citation, the reply's parts. Pure, no server."""

from __future__ import annotations

import html
import re

from hypothesis import given
from hypothesis import strategies as st

from qa.render import (
    COLLAPSE_OVER,
    answer_spans,
    escape,
    highlight,
    merge_spans,
    render_answer,
    render_notice,
    render_passage,
    render_question,
    snippet,
)
from qa.types import Answer, Chunk, Citation, Passage

DOC = "report.txt"
SOURCE = "前言。生产总值增长8%，居民收入增长8%。<b>失业率</b>控制在3.8%以内。"


def chunk(text: str, start: int, cid: str = "report:0:p1", section: tuple[str, ...] = ("二、目标",)) -> Chunk:
    assert SOURCE[start : start + len(text)] == text
    return Chunk(cid, DOC, section, text, start, start + len(text))


def found_answer(passages: list[Passage], span: tuple[int, int]) -> Answer:
    a, b = span
    citation = Citation(DOC, "二、目标", a, b)
    return Answer("增长多少？", True, SOURCE[a:b], 0.93, citation, tuple(passages), 0, "增长多少？")


def strip_tags(fragment: str) -> str:
    return html.unescape(re.sub(r"<br>", "\n", re.sub(r"<(?!br>)[^>]+>", "", fragment)))


# -- escaping ---------------------------------------------------------------------------


def test_escape_makes_markup_inert() -> None:
    out = escape('<img src=x onerror="alert(1)"> & <script>alert(2)</script>')
    assert "<" not in out and ">" not in out and '"' not in out
    assert html.unescape(out) == '<img src=x onerror="alert(1)"> & <script>alert(2)</script>'


def test_escape_neutralises_markdown_and_latex() -> None:
    out = escape("**粗** _斜_ `code` [链接](http://x.cn) $x$ # 标题 1. 列表 | 表 |")
    bare = re.sub(r"&#?\w+;", "", out)
    for ch in "*_`[]()$#.|:":
        assert ch not in bare
    assert html.unescape(out) == "**粗** _斜_ `code` [链接](http://x.cn) $x$ # 标题 1. 列表 | 表 |"


def test_escape_output_is_one_line() -> None:
    assert escape("第一段\n第二段\r\n\n第三段") == "第一段<br>第二段<br><br>第三段"


@given(st.text())
def test_escape_round_trips_and_never_leaks_markup(text: str) -> None:
    out = escape(text)
    assert not re.search(r"[<>\"'`*_\[\]$\n\r]", out.replace("<br>", ""))
    assert html.unescape(out.replace("<br>", "\n")) == re.sub(r"\r\n|\r", "\n", text)


# -- highlighting -----------------------------------------------------------------------


def test_merge_spans_clips_sorts_and_merges() -> None:
    assert merge_spans([(8, 12), (-3, 2), (5, 9), (30, 40), (4, 4)], 20) == [(0, 2), (5, 12)]


def test_highlight_escapes_inside_and_outside_marks() -> None:
    assert highlight("a<b>c&d", [(1, 4)]) == "a<mark>&lt;b&gt;</mark>c&amp;d"


@given(st.text(max_size=60), st.lists(st.tuples(st.integers(-5, 70), st.integers(-5, 70)), max_size=5))
def test_highlight_keeps_the_text(text: str, spans: list[tuple[int, int]]) -> None:
    out = highlight(text, spans)
    assert strip_tags(out) == re.sub(r"\r\n|\r", "\n", text)
    marked = re.findall(r"<mark>(.*?)</mark>", out)
    expected = [re.sub(r"\r\n|\r", "\n", text[a:b]) for a, b in merge_spans(spans, len(text))]
    assert [strip_tags(m) for m in marked] == expected


def test_evidence_passage_is_marked_at_the_citation_offsets() -> None:
    first = chunk("生产总值增长8%，居民收入增长8%。", 3)
    other = chunk("前言。生产总值增长8%，", 0, "report:0:p0")
    cited = (SOURCE.index("8%", 10), SOURCE.index("8%", 10) + 2)  # the second 8% (居民收入), not the first
    answer = found_answer([Passage(first, 2.0), Passage(other, 1.0)], cited)
    spans = answer_spans(answer)
    assert spans[0] == [(cited[0] - first.start, cited[1] - first.start)]
    assert first.text[slice(*spans[0][0])] == "8%"
    assert spans[1] == [(other.text.index("8%"), other.text.index("8%") + 2)]  # echoed in other passages
    html_out = render_answer(answer, show_all=True)
    evidence = html_out.split('class="qa-passage qa-evidence"')[1].split('class="qa-passage"')[0]
    assert "居民收入增长<mark>8%</mark>" in evidence
    assert "生产总值增长8%，" in evidence  # the uncited 8% of the same passage stays plain


def test_citation_that_does_not_match_falls_back_to_searching_the_text() -> None:
    first = chunk("生产总值增长8%，居民收入增长8%。", 3)
    bad = Answer("q", True, "8%", 0.9, Citation(DOC, "", 0, 2), (Passage(first, 1.0),), 0)
    assert answer_spans(bad)[0] == [(6, 8), (15, 17)]


def test_not_found_highlights_nothing() -> None:
    first = chunk("生产总值增长8%，居民收入增长8%。", 3)
    answer = Answer("2018年呢？", False, "", 0.05, Citation(), (Passage(first, 1.0),), -1)
    assert answer_spans(answer) == [[]]
    out = render_answer(answer)
    assert "报告中没有找到" in out and "<mark>" not in out and "<strong>" not in out
    assert "最相关的段落" in out


def test_snippet_windows_the_first_highlight() -> None:
    text = "甲" * 100 + "答案" + "乙" * 100
    out = snippet(text, [(100, 102)], context=10)
    assert out == "…" + "甲" * 10 + "<mark>答案</mark>" + "乙" * 10 + "…"


# -- the reply --------------------------------------------------------------------------


def test_reply_shows_answer_confidence_and_where_it_stands() -> None:
    first = chunk("生产总值增长8%，居民收入增长8%。", 3)
    a = SOURCE.index("8%")
    out = render_answer(found_answer([Passage(first, 2.5)], (a, a + 2)), doc_titles={DOC: "天津报告"})
    assert "答案：<strong>8%</strong>" in out
    assert "置信度" in out and "0.93" in out and "高" in out
    assert f"第 {a}–{a + 2} 字" in out and "《天津报告》" in out
    assert "report&#58;0&#58;p1" in out and "得分 2&#46;500" not in out and "得分 2.500" in out
    assert "\n" not in out


def test_show_all_controls_how_many_passages_appear() -> None:
    passages = [Passage(chunk("生产总值增长8%，居民收入增长8%。", 3, f"report:0:p{i}"), 1.0) for i in range(4)]
    a = SOURCE.index("8%")
    answer = found_answer(passages, (a, a + 2))
    assert render_answer(answer).count('class="qa-passage') == 1
    assert "另有 3 段" in render_answer(answer)
    assert render_answer(answer, show_all=True).count('class="qa-passage') == 4


def test_long_passages_collapse_but_keep_the_mark_visible() -> None:
    text = "前文" * COLLAPSE_OVER + "目标8%" + "后文" * 10
    long = Chunk("d:0:p9", DOC, ("一、",), text, 0, len(text))
    at = text.index("8%")
    out = render_passage(Passage(long, 1.0), 1, [(at, at + 2)], evidence=True)
    visible, folded = out.split("<details>")
    assert "<mark>8%</mark>" in visible and "<mark>8%</mark>" in folded
    assert f"展开全文（{len(text)} 字）" in folded
    short = render_passage(Passage(chunk("生产总值增长8%，", 3), 1.0), 1, [(6, 8)])
    assert "<details>" not in short


def test_report_text_and_sections_are_escaped() -> None:
    text = "<b>失业率</b>控制在3.8%以内。"
    c = chunk(text, SOURCE.index(text), section=("<i>二</i>",))
    out = render_passage(Passage(c, 1.0), 1, [(text.index("3.8%"), text.index("3.8%") + 4)])
    assert "<b>" not in out and "<i>" not in out
    assert "&lt;b&gt;失业率&lt;/b&gt;" in out and "<mark>3&#46;8%</mark>" in out


def test_question_and_notice_are_escaped() -> None:
    assert render_question("<img src=x onerror=alert(1)>") == "&lt;img src&#61;x onerror&#61;alert&#40;1&#41;&gt;"
    notice = render_notice("问题太长", "<script>")
    assert "<script>" not in notice and "&lt;script&gt;" in notice and "⚠️" in notice
