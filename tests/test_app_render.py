"""qa.render: escaping, highlight offsets from the citation, the reply's parts, comparison tables,
their CSV and chart data. Pure, no server."""

from __future__ import annotations

import csv
import html
import io
import re

from hypothesis import given
from hypothesis import strategies as st

from qa.compare import Comparison, Row, parse_value
from qa.render import (
    COLLAPSE_OVER,
    answer_spans,
    chart_rows,
    comparison_csv,
    escape,
    highlight,
    merge_spans,
    passage_window,
    render_answer,
    render_comparison,
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


# -- comparisons ------------------------------------------------------------------------

REPORTS = {
    "bj.docx": "一、回顾\n　　去年增长5.2%。\n二、目标\n　　今年地区生产总值增长5%左右，努力争取更好结果。\n",
    "zj.docx": "二、目标任务\n　　全省生产总值增长5.5%左右。\n",
    "<x>.docx": "目标：增长<b>6%</b>。",
}


def row(doc: str, place: str, answer: str = "", section: str = "二、目标", year: int = 2025, **kw: object) -> Row:
    text = REPORTS[doc]
    if not answer:
        return Row(
            doc, f"{place}报告", place, year, 2025, False, "", None, 0.1, Citation(), "the answer's support is too weak"
        )
    start = text.index(answer)
    citation = Citation(doc, section, start, start + len(answer))
    return Row(doc, f"{place}报告", place, year, 2025, True, answer, parse_value(answer), 0.93, citation, **kw)  # type: ignore[arg-type]


def comparison(*rows: Row) -> Comparison:
    return Comparison("各省地区生产总值增长目标分别是多少？", "地区生产总值增长目标是多少？", rows)


def test_comparison_table_has_a_row_per_report_with_the_answer_in_bold() -> None:
    table = comparison(row("bj.docx", "北京", "5%左右"), row("zj.docx", "浙江", "5.5%左右"), row("bj.docx", "上海"))
    out = render_comparison(table, REPORTS.__getitem__)
    assert out.count('<tbody class="qa-crow') == 3 and out.count("<table") == 1
    assert "<strong>5%左右</strong>" in out and "<strong>5&#46;5%左右</strong>" in out
    assert out.count("未找到") == 1 and "qa-crow-none" in out
    assert "2/3 个报告给出了答案" in out and "地区生产总值增长目标是多少？" in out
    start = REPORTS["bj.docx"].index("5%左右")
    assert f"第 {start}–{start + 4} 字" in out and "<code>bj&#46;docx</code>" in out
    assert "\n" not in out
    headers = re.findall(r"<th(?: [^>]*)?>(.*?)</th>", out)
    assert headers == ["地区", "年份", "答案", "置信度", "出处"]
    assert out.count('class="qa-sort qa-sort-num"') == 3 and out.count('class="qa-sort qa-sort-text"') == 1


def test_each_found_row_opens_its_passage_with_the_cited_span_marked() -> None:
    out = render_comparison(comparison(row("bj.docx", "北京", "5%左右")), REPORTS.__getitem__)
    passage = out.split('<tr class="qa-crow-passage">')[1].split("</tr>")[0]
    assert "今年地区生产总值增长<mark>5%左右</mark>，努力争取更好结果。" in passage
    assert "去年" not in passage  # the answer's own paragraph only
    assert "北京报告 › 二、目标" in passage


def test_not_found_rows_have_no_passage_and_say_why() -> None:
    out = render_comparison(comparison(row("bj.docx", "北京")), REPORTS.__getitem__)
    assert "qa-crow-passage" not in out and "<mark>" not in out and "<strong>" in out  # only the metric is bold
    assert "未找到" in out and "the answer&#39;s support is too weak" in out


def test_comparison_sort_keys_are_hidden_in_the_cells() -> None:
    out = render_comparison(comparison(row("zj.docx", "浙江", "5.5%左右"), row("bj.docx", "北京")), REPORTS.__getitem__)
    keys = re.findall(r'<span class="qa-key">(.*?)</span>', out)
    assert keys == [
        "浙江",
        "2025",
        "5&#46;5",
        "0&#46;93",
        "北京",
        "2025",
        "0&#46;10",
    ]  # no value key: 未找到 sorts last


def test_comparison_html_escapes_report_text_places_and_the_metric() -> None:
    evil = Row(
        "<x>.docx", "<i>题</i>", "<script>", 2025, 2025, True, "<b>6%</b>", 6.0, 0.9,
        Citation("<x>.docx", "<img src=x>", REPORTS["<x>.docx"].index("<b>"), REPORTS["<x>.docx"].index("。")),
    )  # fmt: skip
    out = render_comparison(Comparison("q", "<svg onload=alert(1)>", (evil,)), REPORTS.__getitem__, note="<u>")
    assert not re.search(r"<(script|img|svg|b|i|u)[ >]", out)
    assert "<mark>&lt;b&gt;6%&lt;/b&gt;</mark>" in out and "&lt;script&gt;" in out


def test_comparison_of_no_reports() -> None:
    out = render_comparison(comparison(), REPORTS.__getitem__)
    assert "没有可以比较的报告" in out and "<table" not in out


def test_year_cell_names_the_report_when_it_differs() -> None:
    result = Row("bj.docx", "t", "全国", 2012, 2013, True, "5%左右", 5.0, 0.9, Citation("bj.docx", "", 0, 1))
    out = render_comparison(comparison(result), lambda doc: REPORTS["bj.docx"])
    assert '2012<span class="qa-hint">（2013年报告）</span>' in out


def test_passage_window_stays_in_the_paragraph_and_marks_the_span() -> None:
    text = "上一段结尾。\n　　" + "甲" * 200 + "目标5%左右" + "乙" * 200 + "\n下一段。"
    start = text.index("5%")
    out = passage_window(text, start, start + 4, context=10)
    assert out == "…" + "甲" * 8 + "目标<mark>5%左右</mark>" + "乙" * 10 + "…"
    short = "前段。\n　　增长5%左右。\n后段。"
    assert passage_window(short, short.index("5%"), short.index("5%") + 4) == "增长<mark>5%左右</mark>。"


def test_comparison_csv_has_every_row_and_its_citation() -> None:
    table = comparison(row("bj.docx", "北京", "5%左右"), row("zj.docx", "浙江", "5.5%左右"), row("bj.docx", "上海"))
    records = list(csv.DictReader(io.StringIO(comparison_csv(table))))
    assert [r["place"] for r in records] == ["北京", "浙江", "上海"]
    assert [r["answer"] for r in records] == ["5%左右", "5.5%左右", "未找到"]
    assert [r["value"] for r in records] == ["5", "5.5", ""]
    assert [r["found"] for r in records] == ["true", "true", "false"]
    first = records[0]
    assert REPORTS["bj.docx"][int(first["start"]) : int(first["end"])] == "5%左右"
    assert (first["doc"], first["section"], first["year"], first["confidence"]) == (
        "bj.docx",
        "二、目标",
        "2025",
        "0.9300",
    )
    assert records[2]["start"] == "" and "too weak" in records[2]["reason"]


def test_comparison_csv_cells_never_start_a_formula() -> None:
    odd = Row("bj.docx", "=HYPERLINK(1)", "@地", 2025, 2025, False, "", None, 0.1, Citation(), "-1")
    record = next(csv.DictReader(io.StringIO(comparison_csv(comparison(odd)))))
    assert record["title"] == "'=HYPERLINK(1)" and record["place"] == "'@地" and record["reason"] == "'-1"


def test_chart_rows_leave_out_rows_without_a_number() -> None:
    table = comparison(
        row("bj.docx", "北京", "5%左右"),
        row("bj.docx", "上海"),
        Row("zj.docx", "", "浙江", 2025, 2025, True, "稳中求进", None, 0.9, Citation("zj.docx", "", 0, 1)),
    )
    assert chart_rows(table) == [{"报告": "北京", "数值": 5.0, "答案": "5%左右"}]


def test_chart_labels_add_the_year_when_a_place_repeats() -> None:
    rows = [row("bj.docx", "全国", "5%左右", year=y) for y in (2012, 2013)] + [row("zj.docx", "浙江", "5.5%左右")]
    assert [r["报告"] for r in chart_rows(comparison(*rows))] == ["全国 2012", "全国 2013", "浙江"]


def test_reply_note_and_scope_reason_are_shown_escaped() -> None:
    refusal = Answer("北京呢？", False, "", 0.02, reason="报告中没有关于<北京>的报告 (the index holds …)")
    out = render_answer(refusal, note="仅在所选报告中查找：<浙江>")
    assert "报告中没有关于&lt;北京&gt;的报告" in out and "仅在所选报告中查找：&lt;浙江&gt;" in out
    assert "support" not in render_answer(Answer("q", False, "", 0.1, reason="the answer's support is too weak"))
