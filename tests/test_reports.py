"""Many reports in one index: routing by place, year and tense, filters, refusals, follow-ups,
repeats across reports, PDF pages, comparison, and eval with a gold report.

Indexes are built once per module from real reports in ../shared/corpora with the hash
embedder (no model: BM25 and the routing carry these questions); `make eval` scores the
full corpora with the real model.
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest

from qa.engine import Engine, QuestionError
from qa.index import build_index
from tests.conftest import ROOT

CORPORA = ROOT.parent / "shared" / "corpora"
PROVINCES = ("浙江省", "河南省", "上海市", "西藏", "福建省")
NATIONAL = (2009, 2010, 2011, 2013)

pytestmark = pytest.mark.skipif(not CORPORA.is_dir(), reason="../shared/corpora is not beside the project")


def _engine_over(folder: Path, files: list[Path]) -> Engine:
    """An index (hash embedder) over copies of ``files`` in ``folder``."""
    for file in files:
        shutil.copy(file, folder)
    build_index([folder], folder / "index", model_id="fake:hash-64")
    return Engine.load(folder / "index")


@pytest.fixture(scope="module")
def provinces(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    files = [CORPORA / "provinces-2025" / f"2025年{name}政府工作报告.docx" for name in PROVINCES]
    return _engine_over(tmp_path_factory.mktemp("prov"), files)


@pytest.fixture(scope="module")
def national(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    files = [CORPORA / "national-2006-2013" / f"{year}年国务院政府工作报告.txt" for year in NATIONAL]
    return _engine_over(tmp_path_factory.mktemp("nat"), files)


def _doc(answer_doc: str) -> str:
    return answer_doc.rsplit("/", 1)[-1]


def test_each_report_has_its_metadata_and_text(provinces: Engine) -> None:
    docs = provinces.index.documents
    assert {d.meta.place for d in docs.values()} == {"浙江", "河南", "上海", "西藏", "福建"}
    zhejiang = next(d for d in docs.values() if d.meta.place == "浙江")
    assert (zhejiang.meta.year, zhejiang.meta.level, zhejiang.format) == (2025, "province", "docx")
    assert zhejiang.meta.speaker == "刘捷" and zhejiang.meta.date == "2025-01-14"
    first, last = zhejiang.chunks
    for chunk in provinces.index.chunks[first:last]:
        assert provinces.document_text(zhejiang.path)[chunk.start : chunk.end] == chunk.text


def test_a_named_place_routes_to_its_report(provinces: Engine) -> None:
    answer = provinces.ask("浙江2025年生产总值增长目标是多少？")
    assert answer.found and answer.answer == "5.5%左右"
    assert _doc(answer.citation.doc) == "2025年浙江省政府工作报告.docx"
    text = provinces.document_text(answer.citation.doc)
    assert text[answer.citation.start : answer.citation.end] == answer.answer


def test_a_result_comes_from_the_review_and_a_target_from_the_plan(provinces: Engine) -> None:
    result = provinces.ask("2024年浙江全省生产总值增长了多少？")
    target = provinces.ask("浙江2025年生产总值增长目标是多少？")
    assert result.answer == "5.5%" and "2024" in result.citation.section
    assert target.answer == "5.5%左右" and "2025" in target.citation.section


def test_follow_up_moves_to_another_report(provinces: Engine) -> None:
    first = provinces.ask("浙江2025年生产总值增长目标是多少？")
    second = provinces.ask("那河南呢？", history=[(first.question, first.answer)])
    assert _doc(second.citation.doc) == "2025年河南省政府工作报告.docx"
    assert "河南" in second.resolved_question and "浙江" not in second.resolved_question


def test_explicit_filters_narrow_the_reports(provinces: Engine) -> None:
    answer = provinces.ask("城镇新增就业目标是多少？", place="河南省")
    assert _doc(answer.citation.doc) == "2025年河南省政府工作报告.docx"
    answer = provinces.ask("城镇新增就业目标是多少？", reports=["2025年上海市政府工作报告.docx"])
    assert _doc(answer.citation.doc) == "2025年上海市政府工作报告.docx"
    with pytest.raises(QuestionError, match="深圳"):
        provinces.ask("城镇新增就业目标是多少？", place="深圳")
    with pytest.raises(QuestionError, match="2019"):
        provinces.ask("城镇新增就业目标是多少？", year=2019)


@pytest.mark.parametrize(
    "question", ["2025年广东省城镇新增就业目标是多少？", "2023年浙江生产总值增长多少？", "2026年河南进出口总额是多少？"]
)
def test_places_and_years_no_report_covers_are_refused_naming_the_reports(provinces: Engine, question: str) -> None:
    answer = provinces.ask(question)
    assert not answer.found, answer.answer
    assert answer.passages, "the closest passages are still shown"


def test_refusal_for_an_absent_place_lists_the_reports_held(provinces: Engine) -> None:
    answer = provinces.ask("2025年台湾省地区生产总值增长目标是多少？")
    assert not answer.found
    assert "浙江" in answer.reason and "2025" in answer.reason


def test_refusal_for_a_city_inside_a_report_says_the_passage_does_not_name_it(provinces: Engine) -> None:
    """No report is of 郑州, but the 河南 report names it: the refusal says both."""
    answer = provinces.ask("郑州地区生产总值增长多少？")
    assert not answer.found
    assert "郑州" in answer.reason and "does not speak of it" in answer.reason


def test_a_figure_of_another_subject_of_fenbie_is_no_answer(provinces: Engine) -> None:
    """全市110报警数、刑事立案数、电信网络诈骗立案数分别下降7%、14.4%、18.8%: asked about one
    subject, the figures of the others are no candidates; a question naming every subject (a
    分别 question) keeps them all."""
    from qa.reader import respective, respective_runs

    assert provinces.ask("2024年上海电信网络诈骗立案数下降多少？").answer == "18.8%"
    s = "服务贸易、数字贸易分别增长24.5%、14.5%。"
    runs = respective_runs(s)
    assert respective(runs, s.index("24.5%"), s.index("24.5%") + 5, "服务贸易、数字贸易分别增长多少？") == 0.0
    assert respective(runs, s.index("24.5%"), s.index("24.5%") + 5, "数字贸易增长多少？") == -1.0


def test_who_delivered_and_when(provinces: Engine) -> None:
    who = provinces.ask("2025年浙江省政府工作报告是谁作的？")
    when = provinces.ask("河南省政府工作报告是在哪天作的？")
    assert who.answer == "刘捷" and when.answer == "2025年1月18日"
    assert provinces.document_text(when.citation.doc)[when.citation.start : when.citation.end] == when.answer


def test_years_across_national_reports(national: Engine) -> None:
    target = national.ask("2010年国内生产总值增长目标是多少？")
    result = national.ask("2010年国内生产总值增长了多少？")
    assert (_doc(target.citation.doc), target.answer) == ("2010年国务院政府工作报告.txt", "8％左右")
    assert (_doc(result.citation.doc), result.answer) == ("2011年国务院政府工作报告.txt", "10.3%")
    assert not national.ask("2015年城镇新增就业目标是多少？").found


def test_the_same_paragraph_in_two_reports_keeps_both_citations(tmp_path: Path) -> None:
    shared = "全年城镇新增就业120万人，城镇调查失业率5.1%。"
    for place in ("甲", "乙"):
        (tmp_path / f"2025年{place}省政府工作报告.txt").write_text(
            f"2025年{place}省政府工作报告\n一、2024年工作回顾\n{shared}\n{place}省特有的段落。\n{shared}\n",
            encoding="utf-8",
        )
    report = build_index([tmp_path], tmp_path / "index", model_id="fake:hash-64")
    engine = Engine.load(tmp_path / "index")
    holding = [c for c in engine.index.chunks if c.text == shared]
    assert sorted(c.doc for c in holding) == ["2025年乙省政府工作报告.txt", "2025年甲省政府工作报告.txt"]
    assert report.duplicates_skipped == 2  # the second copy inside each report


def test_a_one_character_abbreviation_inside_a_word_is_not_the_place(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    report = "2025年甘肃省政府工作报告\n一、2024年工作回顾\n全省地区生产总值连跨4个千亿台阶，2024年达到1.3万亿元。\n"
    (tmp_path / "docs" / "2025年甘肃省政府工作报告.txt").write_text(report, encoding="utf-8")
    build_index([tmp_path / "docs"], tmp_path / "index", model_id="fake:hash-64")
    engine = Engine.load(tmp_path / "index")
    assert engine.ask("2024年甘肃省地区生产总值是多少？").answer == "1.3万亿元"
    answer = engine.ask("2024年台湾省地区生产总值是多少？")  # 台 of 千亿台阶 is not 台湾
    assert not answer.found and "台湾" in answer.reason


def test_pdf_citations_carry_their_page(tmp_path: Path) -> None:
    from tests.test_formats import _cjk_font, make_pdf

    font = _cjk_font()
    if font is None:
        pytest.skip("no CJK font (fonts-noto-cjk)")
    pages = (
        "2025年某市政府工作报告",
        "一、2024年工作回顾\n全市生产总值增长6.2%。",
        "二、2025年工作安排\n生产总值增长6%左右。",
    )
    make_pdf(tmp_path / "report.pdf", font, pages)
    build_index([tmp_path], tmp_path / "index", model_id="fake:hash-64")
    answer = Engine.load(tmp_path / "index").ask("2025年生产总值增长目标是多少？")
    assert answer.found and answer.answer == "6%左右"
    assert answer.citation.page == 3 and answer.to_dict()["citation"]["page"] == 3


def test_english_questions_work_on_any_report(provinces: Engine) -> None:
    """English goes through CC-CEDICT, not a glossary of one report's words."""
    answer = provinces.ask("What is Zhejiang's GDP growth target for 2025?")
    assert answer.found and _doc(answer.citation.doc) == "2025年浙江省政府工作报告.docx"
    assert answer.answer == _compare_gold("gdp_growth_target_2025")["浙江"]


def test_compare_gives_one_cited_row_per_report(provinces: Engine) -> None:
    comparison = provinces.compare("各省2025年城镇新增就业目标分别是多少？")
    rows = {r.place: r for r in comparison.rows}
    assert set(rows) == {"浙江", "河南", "上海", "西藏", "福建"}
    gold = _compare_gold("urban_jobs_target_2025")
    for row in rows.values():
        assert _doc(row.citation.doc) == _doc(row.doc), "each row cites its own report"
        if row.found:
            assert provinces.document_text(row.doc)[row.citation.start : row.citation.end] == row.answer
    right = sum(rows[p].found and rows[p].answer == gold[p] for p in rows)
    assert right >= 4, {p: (r.answer, gold[p]) for p, r in rows.items()}
    data = comparison.to_dict()
    assert data["mode"] == "compare" and set(data["rows"][0]) >= {"doc", "place", "year", "found", "answer", "value"}


def test_ask_answers_comparison_questions_with_compare(provinces: Engine) -> None:
    answer = provinces.ask("浙江和河南2025年城镇新增就业目标相比如何？")
    assert answer.mode == "compare" and answer.to_dict()["mode"] == "compare"
    assert {r["place"] for r in answer.to_dict()["rows"]} == {"浙江", "河南"}
    single = provinces.ask("浙江2025年城镇新增就业目标是多少？")
    assert single.mode == "answer"


def test_compare_over_years_reads_targets_and_results_from_the_right_reports(national: Engine) -> None:
    targets = national.compare("历年国内生产总值增长目标")
    assert [(r.year, _doc(r.doc)[:4]) for r in targets.rows] == [(y, str(y)) for y in NATIONAL]
    results = national.compare("2009年到2012年国内生产总值每年实际增长多少？")
    for row in results.rows:
        assert row.report_year == (row.year or 0) + 1 or row.report_year in (2013,), row
    by_year = {r.year: r.answer for r in results.rows if r.found}
    assert by_year.get(2010) == "10.3%"


def test_qa_compare_cli_writes_csv(provinces: Engine, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from qa.cli import cli

    out = tmp_path / "jobs.csv"
    result = CliRunner().invoke(
        cli,
        ["compare", "各省2025年城镇新增就业目标分别是多少？", "--index", str(provinces.index.path), "--csv", str(out)],
    )
    assert result.exit_code == 0, result.output
    assert "浙江" in result.output and "citation" in result.output
    rows = list(csv.DictReader(out.open(encoding="utf-8-sig")))
    assert len(rows) == len(PROVINCES) and {"place", "answer", "value", "doc", "start", "end"} <= set(rows[0])


def test_qa_docs_lists_the_reports(provinces: Engine) -> None:
    from click.testing import CliRunner

    from qa.cli import cli

    result = CliRunner().invoke(cli, ["docs", "--index", str(provinces.index.path)])
    assert result.exit_code == 0
    assert "浙江" in result.output and "刘捷" in result.output and "5 report(s)" in result.output


def test_eval_needs_the_gold_report(provinces: Engine) -> None:
    from qa.evaluate import evaluate

    item = {
        "id": "x",
        "question": "浙江2025年生产总值增长目标是多少？",
        "answers": ["5.5%左右"],
        "evidence": "主要预期目标为：生产总值增长5.5%左右",
        "doc": "2025年浙江省政府工作报告.docx",
    }
    right = evaluate(provinces, [item]).summary()
    wrong = evaluate(provinces, [item | {"doc": "2025年河南省政府工作报告.docx"}]).summary()
    assert (right["doc@1"], right["em"], right["hit@1"]) == (1.0, 1.0, 1.0)
    assert (wrong["doc@1"], wrong["em"], wrong["hit@1"]) == (0.0, 0.0, 0.0)


def _compare_gold(metric: str) -> dict[str, str]:
    table = csv.DictReader((ROOT / "tests" / "data" / "compare_provinces.csv").open(encoding="utf-8"))
    return {row["place"]: row["answer"] for row in table if row["metric"] == metric}


@pytest.fixture(scope="module")
def all_provinces(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    """All 31 provincial reports as published (.docx), indexed without a model."""
    folder = tmp_path_factory.mktemp("all") / "index"
    build_index([CORPORA / "provinces-2025"], folder, model_id="fake:hash-64")
    return Engine.load(folder)


def test_all_31_reports_are_indexed_and_every_place_finds_its_own(all_provinces: Engine) -> None:
    documents = all_provinces.index.documents.values()
    assert len(documents) == 31 and len({d.meta.place for d in documents}) == 31
    for doc in documents:
        answer = all_provinces.ask(f"{doc.meta.place}2025年城镇新增就业目标是多少？")
        assert answer.passages and answer.passages[0].chunk.doc == doc.path, doc.meta.place


def test_metadata_sidecar_overrides_and_its_change_makes_the_index_stale(tmp_path: Path) -> None:
    from qa.index import stale_reasons

    (tmp_path / "r.txt").write_text("政府工作报告\n一、过去一年工作回顾\n生产总值增长5%。\n", encoding="utf-8")
    (tmp_path / "metadata.csv").write_text("file,place,year,speaker\nr.txt,杭州,2025,某某\n", encoding="utf-8")
    build_index([tmp_path], tmp_path / "index", model_id="fake:hash-64")
    doc = Engine.load(tmp_path / "index").index.documents["r.txt"]
    assert (doc.meta.place, doc.meta.year, doc.meta.speaker) == ("杭州", 2025, "某某")
    assert stale_reasons(tmp_path / "index") == []
    (tmp_path / "metadata.csv").write_text("file,place,year\nr.txt,宁波,2025\n", encoding="utf-8")
    assert any("metadata.csv" in reason for reason in stale_reasons(tmp_path / "index"))


@pytest.mark.parametrize(
    ("metric", "question"),
    [
        ("gdp_growth_target_2025", "各省2025年地区生产总值增长目标分别是多少？"),
        ("fixed_asset_investment_target_2025", "各省2025年固定资产投资增长目标分别是多少？"),
        ("urban_jobs_target_2025", "各省2025年城镇新增就业目标分别是多少？"),
        ("cpi_target_2025", "各省2025年居民消费价格涨幅目标是多少？"),
    ],
)
def test_compare_matches_the_hand_built_tables(all_provinces: Engine, metric: str, question: str) -> None:
    """Each report's verbatim figure from its own report, or not found where it states none (29 of 31 at least)."""
    from qa.evaluate import normalize_answer

    gold = _compare_gold(metric)
    comparison = all_provinces.compare(question)
    assert len(comparison.rows) == 31
    right = []
    for row in comparison.rows:
        want = gold[row.place]
        ok = (not row.found) if not want else row.found and normalize_answer(row.answer) == normalize_answer(want)
        right.append(ok)
        if row.found:
            assert all_provinces.document_text(row.doc)[row.citation.start : row.citation.end] == row.answer
    misses = [(r.place, r.answer, gold[r.place]) for r, ok in zip(comparison.rows, right, strict=True) if not ok]
    assert sum(right) >= 29, misses


def test_english_translations_are_chosen_by_the_passages_found(provinces: Engine) -> None:
    """Of CC-CEDICT's words for "total", the commonest (整个) is not the one reports use beside
    GDP: the passages a first search finds pick the translation they use with the other phrases'
    (and the engine grounds every English question so). Romanised names the dictionary does not
    give as the reports write them are read by the pinyin of the reports' words."""
    from qa.lexicon import cedict_translations
    from qa.query import analyse, localise
    from qa.retrieve import retrieve
    from qa.text import normalize

    q = analyse("What was the total GDP in 2024?", 2025)
    assert localise(q, lambda w: True).terms == ("整个", "生产总值")
    passages = ["全面推进乡村振兴", "全省地区生产总值总量达到6.36万亿元"]
    assert localise(q, lambda w: True, context=passages).terms == ("总量", "生产总值")

    allowed = provinces.reports()
    q = provinces.analyse("What was Henan's total GDP in 2024?", None, allowed)
    scope = provinces.scope(q, allowed)
    found = retrieve(provinces.index, provinces.embedder, q, 10, provinces.settings, positions=scope.positions)
    passages = [normalize(provinces.index.chunks[s.position].text) for s in found]
    grounded = provinces._ground(q, scope)
    assert "生产总值" in grounded.terms and all(any(t in p for p in passages) for t in grounded.terms)
    assert "河南" not in grounded.terms, "the asked place narrows the reports, it is no topic word"

    assert "双龙" not in cedict_translations("shuanglong")
    named = provinces.analyse("Which Shuanglong scenic area became a national 5A-level attraction?", None, allowed)
    assert "双龙" in provinces._ground(named, provinces.scope(named, allowed)).terms
