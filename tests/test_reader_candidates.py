"""Candidate spans and question analysis for text the reports never showed the reader:
counts in Chinese numerals, months, paired figures, clauses, names cut at the asked-for noun."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from qa.encoder import SpanReading
from qa.query import analyse, answer_kind
from qa.reader import (
    CHINESE_COUNT,
    MONTH,
    Span,
    clauses,
    edge_variants,
    ordinal_spans,
    paired_figures,
    slot_candidates,
)
from qa.text import normalize


def test_counts_in_chinese_numerals_are_figures() -> None:
    text = "存贷款基准利率五次下调，大火连烧了三天三夜，历时十一个月，一批项目开工"
    assert [m.group() for m in CHINESE_COUNT.finditer(text)] == ["五次", "三天三夜", "十一个月"]


def test_months_are_dates() -> None:
    assert [m.group() for m in MONTH.finditer("从8月份开始回落，2015年8月，12月底")] == ["8月份", "12月"]


def test_two_figures_joined_by_he_answer_a_fenbie_question() -> None:
    norm = "小学和初中学生人均公用经费分别提高到300元和500元"
    q = analyse("小学和初中学生人均公用经费分别提到多少？")
    figures = [(a, b, "元") for a, b in ((18, 22), (23, 27))]
    spans = paired_figures(norm, figures, q, lambda a, b: 0.5)
    assert [norm[s.start : s.end] for s in spans] == ["300元和500元"]


def test_ordinals_with_position_words() -> None:
    text = "外贸进出口总额跃居世界第三位，整车出口量居全国第二名"
    assert [text[a:b] for a, b in ordinal_spans(text, "在世界上排第几")] == ["第三位", "第二名"]


def test_why_questions_get_clauses_and_sentences() -> None:
    norm = "由于价格较低，所以节日都会烹煮海螯虾。"
    found = [norm[a:b] for a, b in clauses(norm, ("海螯虾",))]
    assert "由于价格较低" in found and "由于价格较低，所以节日都会烹煮海螯虾" in found


def test_a_name_ends_at_the_noun_the_question_asks_for() -> None:
    norm = "青藏铁路全线通车。"
    variants = edge_variants([Span(0, 8, "phrase", 0.0, 0.5)], norm, "铁路", lambda a, b: 0.5)
    assert [norm[v.start : v.end] for v in variants] == ["青藏铁路"]


def test_which_one_asks_for_one_thing_not_a_list() -> None:
    text = "台湾的主要溪流有卑南溪、太平溪、利嘉溪和知本溪。"
    q = analyse("台东县哪一个溪流最长？")
    spans = slot_candidates(q, text, normalize(text), lambda a, b, inside=False: 0.5, 0.5)
    assert not any(s.kind == "list" for s in spans)


def test_general_question_words() -> None:
    assert answer_kind(normalize("代頓協議於何年簽署？"), "zh") == ("date", "年")
    assert answer_kind("慕容皝将难民安置于何处？", "zh") == ("slot", "")
    assert answer_kind("元朝土地分为两种，一种是私田，另一种是？", "zh") == ("slot", "")
    assert analyse("城市也是甚麼？").wh == "什么"


def test_a_why_question_is_answered_by_a_clause_not_by_what_stands_in_place_of_its_question_word() -> None:
    from qa.reader import candidates

    text = "坚持把推进京津冀协同发展作为政治之责、发展之要，积极主动融入重大国家战略。"
    q = analyse("天津为什么要推进京津冀协同发展？")
    assert q.wh == "为什么"
    spans = candidates(q, text, normalize(text), q.terms, {t: 1.0 for t in q.terms}, {}, 0.5)
    assert spans and all(s.kind == "clause" for s in spans)
    assert "坚持把" not in [text[s.start : s.end] for s in spans]


def test_a_how_question_is_answered_by_a_clause_but_how_much_is_not() -> None:
    from qa.reader import asks_reason

    assert asks_reason(analyse("天津2017年怎样推进国企改革？"))
    assert not asks_reason(analyse("2017年天津经济增长如何？"))
    assert not asks_reason(analyse("要建设怎样的城市？"))


def test_years_of_any_era_and_times_in_words_answer_when_questions() -> None:
    from qa.reader import YEAR_SPAN, candidates

    text = "腓力在1309年把教廷迁至阿维农，公元前221年秦统一，1950年代人口外逃，规划期3年"
    assert [m.group() for m in YEAR_SPAN.finditer(text)] == ["1309年", "公元前221年", "1950年代"]
    text = "和龙通用机场争取年底竣工，“7·17”火灾事故调查完毕。"
    q = analyse("和龙通用机场什么时候竣工？")
    norm = normalize(text)
    found = [text[s.start : s.end] for s in candidates(q, text, norm, q.terms, {}, {}, 1.0)]
    assert "年底" in found and "7·17" in found


def test_a_name_inside_a_noun_run_is_a_candidate_of_its_own() -> None:
    from qa.reader import noun_phrases

    text = "国民政府任命李烈钧为审判长"  # jieba tags 任命 a noun: the run is 国民政府任命李烈钧
    found = [text[a:b] for a, b in noun_phrases(text, ("审判长",))]
    assert "李烈钧" in found and "国民政府任命李烈钧" in found


def test_a_list_ends_at_the_noun_the_question_asks_for() -> None:
    norm = "程阳八寨景区、宁明花山岩画景区成功创建国家5A级旅游景区"
    variants = edge_variants([Span(0, len(norm), "list", 0.0, 0.5)], norm, "景区", lambda a, b: 0.5)
    assert "程阳八寨景区、宁明花山岩画景区" in [norm[v.start : v.end] for v in variants]


def test_a_price_per_unit_rises_by_an_amount_not_a_percentage() -> None:
    assert answer_kind("小麦最低收购价每50公斤提高多少？", "zh") == ("number", "")
    assert answer_kind("城镇居民人均收入增长多少？", "zh") == ("number", "%")


def test_a_figure_the_followed_up_question_states_is_marked_in_question(tmp_path: Path) -> None:
    from qa.embed import load_embedder
    from qa.index import build_index, load_index
    from qa.reader import FEATURES, gather
    from qa.retrieve import retrieve

    (tmp_path / "r").mkdir()
    (tmp_path / "r" / "r.txt").write_text(
        "今年小麦最低收购价每50公斤提高5到7元，水稻最低收购价每50公斤提高9到23元。", "utf-8"
    )
    build_index([tmp_path / "r"], tmp_path / "i", model_id="fake:hash-64")
    index = load_index(tmp_path / "i")
    first = analyse("小麦最低收购价每50公斤提高多少？")
    q = analyse("水稻呢？", previous=first)
    ranked = retrieve(index, load_embedder(index.model_id), q, 3)
    marked = {c.text: c.features[FEATURES.index("in_question")] for c in gather(index, q, ranked)}
    assert marked["50公斤"] == 1.0 and marked["9到23元"] == 0.0


class FavouriteSpan:
    """A fake span model: it puts all its weight on one phrase wherever it stands."""

    def __init__(self, phrase: str) -> None:
        self.phrase = phrase

    def read_all(self, question: str, passages: list[str]) -> list[SpanReading]:
        out = []
        for passage in passages:
            tokens = tuple((i, i + 1) for i in range(len(passage)))
            starts = np.full(len(passage), -20.0)
            ends = np.full(len(passage), -20.0)
            at = passage.find(self.phrase)
            if at >= 0:
                starts[at], ends[at + len(self.phrase) - 1] = 0.0, 0.0
            out.append(SpanReading(tokens, starts, ends, -1.0 if at < 0 else -30.0))
        return out


def test_the_span_models_favourite_is_a_candidate_with_its_features(tmp_path: Path) -> None:
    """A span no pattern proposes (a clause without topic words) comes from the span model, and
    every candidate carries the model's log-probability and its gap to the favourite."""
    from qa.embed import load_embedder
    from qa.index import build_index, load_index
    from qa.reader import FEATURES, NEURAL_FLOOR, gather
    from qa.retrieve import retrieve

    (tmp_path / "r").mkdir()
    (tmp_path / "r" / "r.txt").write_text("今年新增就业48万人，主要靠发展服务业和扶持小微企业，效果明显。", "utf-8")
    build_index([tmp_path / "r"], tmp_path / "i", model_id="fake:hash-64")
    index = load_index(tmp_path / "i")
    q = analyse("新增就业主要靠什么？")
    ranked = retrieve(index, load_embedder(index.model_id), q, 3)
    found = gather(index, q, ranked, neural=FavouriteSpan("发展服务业和扶持小微企业"))  # type: ignore[arg-type]
    by_text = {c.text: c.features for c in found}
    best = by_text["发展服务业和扶持小微企业"]
    assert best[FEATURES.index("neural")] == 0.0 and best[FEATURES.index("neural_gap")] == 0.0
    assert best[FEATURES.index("neural_read")] == 1.0 and best[FEATURES.index("neural_none")] == -30.0
    others = [f for t, f in by_text.items() if t != "发展服务业和扶持小微企业"]
    assert others and all(f[FEATURES.index("neural_gap")] <= -20.0 for f in others)
    assert all(f[FEATURES.index("neural")] >= NEURAL_FLOOR for f in others)
