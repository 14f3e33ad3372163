"""Reader helpers: typed number spans, trimming, clause bounds, cloze fills, titles and dates."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qa.query import analyse
from qa.reader import DATE, book_titles, clause_bounds, cloze_spans, number_spans, trim, unit_fit


def numbers(text: str) -> list[str]:
    return [text[a:b] for a, b, _ in number_spans(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("为企业减负近600亿元，", ["近600亿元"]),
        ("集装箱吞吐量超过1450万标准箱", ["超过1450万标准箱"]),
        ("全社会研发经费支出占生产总值比重超过3.1%", ["超过3.1%"]),
        ("生产总值17800亿元，增长9%左右;", ["17800亿元", "9%左右"]),
        ("社会消费品零售总额增长7%以上", ["7%以上"]),
        ("城镇登记失业率控制在3.8%以内", ["3.8%以内"]),
        ("引进培养高层次创新人才6000多人", ["6000多人"]),
        ("科技型企业发展到8.8万家", ["8.8万家"]),
        ("货物吞吐量5.5亿吨", ["5.5亿吨"]),
        ("完成农村困难群众危房改造5000户", ["5000户"]),
        ("居民消费价格涨幅3%左右", ["3%左右"]),
    ],
)
def test_number_spans_keep_units_and_qualifiers(text: str, expected: list[str]) -> None:
    assert numbers(text) == expected


@pytest.mark.parametrize("text", ["2017年", "2016年，是天津发展进程中", "2016-2020年", "第13届", "第十三届全运会"])
def test_number_spans_skip_years_and_ordinals(text: str) -> None:
    assert numbers(text) == []


def test_number_spans_report_the_unit() -> None:
    units = [u for _, _, u in number_spans("收入2723亿元，增长10%，建成3万套，涨幅2.1个百分点，48")]
    assert units == ["亿元", "%", "万套", "个百分点", ""]


def test_number_spans_drop_the_verbs_dadao_and_tupo() -> None:
    assert numbers("上市企业达到48家") == ["48家"]
    assert numbers("突破1万亿元") == ["1万亿元"]


def test_number_spans_are_verbatim_slices() -> None:
    text = "预计去年全市生产总值17800亿元，增长9%左右;一般公共预算收入2723亿元，增长10%;城镇登记失业率3.5%。"
    for a, b, _ in number_spans(text):
        assert 0 <= a < b <= len(text)
        assert text[a:b].strip() == text[a:b]


def test_unit_fit_prefers_the_asked_unit() -> None:
    assert unit_fit("%", "%") == unit_fit("个百分点", "%") == 1.0
    assert unit_fit("亿元", "%") < 0
    assert unit_fit("万套", "套") == 1.0
    assert unit_fit("户", "套") < 0
    assert unit_fit("", "") < unit_fit("亿元", "") == 0.0


@pytest.mark.parametrize(
    ("text", "span", "expected"),
    [
        ("坚持“安全第一、预防为主”的方针", (2, 13), "安全第一、预防为主"),
        ("，国家海洋博物馆、", (0, 9), "国家海洋博物馆"),
        ("\u3000 推进混合所有制改革的", (0, 12), "推进混合所有制改革"),
        ("签署“1+4”合作协议", (3, 11), "“1+4”合作协议"),
        ("签署“1+4”合作协议", (2, 11), "“1+4”合作协议"),
        ("“多证合一”", (0, 6), "多证合一"),
    ],
)
def test_trim_strips_edges_but_keeps_balanced_quotes(text: str, span: tuple[int, int], expected: str) -> None:
    a, b = trim(text, *span)
    assert text[a:b] == expected


@pytest.mark.parametrize("span", [(2, 15), (3, 15), (2, 14)])
def test_trim_keeps_quotes_that_are_balanced_inside_the_span(span: tuple[int, int]) -> None:
    text = "探索“多证合一”和“证照分离”制度"
    a, b = trim(text, *span)
    assert text[a:b] == "“多证合一”和“证照分离”"


def test_trim_of_nothing_but_punctuation_is_empty() -> None:
    a, b = trim("，、 ", 0, 3)
    assert a == b


def test_clause_bounds() -> None:
    text = "收入2723亿元，增长10%;好"
    assert clause_bounds(text, 10) == (9, 14)
    assert clause_bounds(text, 0) == (0, 8)
    assert clause_bounds(text, len(text) - 1) == (15, 16)
    assert clause_bounds("没有标点", 2) == (0, 4)


@settings(max_examples=100, deadline=None)
@given(st.text(alphabet="天津，;。：收入10%亿", min_size=1, max_size=30), st.data())
def test_clause_bounds_hold_no_clause_punctuation(text: str, data: st.DataObject) -> None:
    pos = data.draw(st.integers(0, len(text) - 1))
    a, b = clause_bounds(text, pos)
    assert 0 <= a <= b <= len(text)
    assert not any(ch in "，,;；。！？!?：:" for ch in text[a:b])


@pytest.mark.parametrize(
    ("question", "text", "fill"),
    [
        (
            "深化国企改革以什么为突破口？",
            "按照“一二三”的总体思路，以推进混合所有制改革为突破口，在清理",
            "推进混合所有制改革",
        ),
        ("2017年天津要建成哪个博物馆？", "建成国家海洋博物馆，推进文化设施建设。", "国家海洋博物馆"),
    ],
)
def test_cloze_fills_the_blank_between_the_question_words(question: str, text: str, fill: str) -> None:
    q = analyse(question, 2017)
    fills = [trim(text, a, b) for a, b, _ in cloze_spans(text, q)]
    assert fills
    assert all(0 <= a <= b <= len(text) for a, b in fills)
    assert fill in [text[a:b] for a, b in fills]


def test_cloze_finds_nothing_without_the_question_words() -> None:
    q = analyse("深化国企改革以什么为突破口？", 2017)
    assert cloze_spans("全市经济稳中有进、稳中向好。", q) == []


def test_book_titles_and_dates() -> None:
    text = "认真贯彻《天津市安全生产条例》，2017年1月15日在大会上，8月27日开幕，2017年底前完成"
    assert [text[a:b] for a, b in book_titles(text)] == ["《天津市安全生产条例》"]
    assert [m.group(0) for m in DATE.finditer(text)] == ["2017年1月15日", "8月27日", "2017年底"]
