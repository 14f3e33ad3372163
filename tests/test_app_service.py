"""app.py and qa.chat in-process: options, build-if-needed, input checks, history shapes, report filters,
documents, text and comparisons."""

from __future__ import annotations

import importlib.util
import shutil
import sys
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from qa.chat import (
    ChatService,
    InputError,
    doc_titles,
    history_questions,
    message_text,
    parse_docs,
    parse_k,
    parse_offset,
    parse_place,
    parse_year,
    validate_question,
)

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def app_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("qa_app_under_test", ROOT / "app.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


# -- options and index ------------------------------------------------------------------


def test_defaults_are_local_only(app_module: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("QA_HOST", "QA_PORT"):
        monkeypatch.delenv(name, raising=False)
    args = app_module.parse_args([])
    assert (args.host, args.port, args.share, args.max_chars) == ("127.0.0.1", 7860, False, 500)
    args = app_module.parse_args(["--host", "0.0.0.0", "--port", "8000", "--index", "x", "--max-chars", "80"])
    assert (args.host, args.port, args.index, args.max_chars) == ("0.0.0.0", 8000, "x", 80)


def test_analytics_are_off(app_module: ModuleType) -> None:
    import os

    assert os.environ["GRADIO_ANALYTICS_ENABLED"] == "False"


@pytest.fixture()
def small_index(tmp_path: Path, seed_dir: Path) -> tuple[Path, Path]:
    """A fake-model index over a copy of the seed, so the copy can be changed."""
    from qa.index import build_index

    sources = tmp_path / "src"
    sources.mkdir()
    shutil.copy(next(seed_dir.glob("*.txt")), sources / "report.txt")
    build_index([sources], tmp_path / "index", model_id="fake:hash-64")
    return sources, tmp_path / "index"


def record_builds(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    import qa.index

    calls: list[dict[str, Any]] = []
    real = qa.index.build_index

    def build(sources: Any, index_dir: Any, **kwargs: Any) -> Any:
        calls.append({"sources": list(sources), "index_dir": index_dir, **kwargs})
        kwargs["progress"]("embed", 1, 2)
        return real(sources, index_dir, model_id="fake:hash-64")

    monkeypatch.setattr(qa.index, "build_index", build)
    return calls


def test_fresh_index_is_not_rebuilt(
    app_module: ModuleType,
    small_index: tuple[Path, Path],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    calls = record_builds(monkeypatch)
    assert app_module.ensure_index(small_index[1], None) is False
    assert calls == [] and capsys.readouterr().err == ""


def test_stale_index_is_rebuilt_with_its_model_and_says_so(
    app_module: ModuleType,
    small_index: tuple[Path, Path],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    sources, index = small_index
    with open(sources / "report.txt", "a", encoding="utf-8") as handle:
        handle.write("\n新增一段。\n")
    calls = record_builds(monkeypatch)
    assert app_module.ensure_index(index, None) is True
    assert calls[0]["model_id"] == "fake:hash-64" and calls[0]["sources"] == [str(sources.resolve())]
    err = capsys.readouterr().err
    assert "stale" in err and "report.txt changed" in err and "embedding chunks: 1/2" in err and "index built" in err


def test_missing_index_is_built_from_the_sources(
    app_module: ModuleType,
    small_index: tuple[Path, Path],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    calls = record_builds(monkeypatch)
    target = tmp_path / "new-index"
    assert app_module.ensure_index(target, [str(small_index[0])]) is True
    assert calls[0]["sources"] == [str(small_index[0])] and (target / "manifest.json").is_file()
    assert "there is no index at" in capsys.readouterr().err


def test_build_demo_has_the_chinese_page_and_both_endpoints(app_module: ModuleType, engine: Any) -> None:
    demo = app_module.build_demo(ChatService(engine))
    config = demo.get_config_file()
    names = {dep.get("api_name") for dep in config["dependencies"] if dep.get("api_visibility", "public") == "public"}
    assert {"ask", "chat"} <= names
    texts = str(config["components"])
    for text in ("政府工作报告问答", "提问", "清空对话", "显示全部检索段落", "检索段落数"):
        assert text in texts
    assert sum(q in texts for q in app_module.EXAMPLES) == len(app_module.EXAMPLES)
    assert 4 <= len(app_module.EXAMPLES) <= 6


# -- input checks and history ---------------------------------------------------------------


@pytest.mark.parametrize("bad", ["", " \t\n", "\x00问", "问\x7f题", "😀", "。。。", None, 5, ["问题"]])
def test_validate_question_refuses(bad: Any) -> None:
    with pytest.raises(InputError):
        validate_question(bad)


def test_validate_question_limit_is_configurable() -> None:
    assert validate_question("问" * 10, max_chars=10) == "问" * 10
    with pytest.raises(InputError, match="上限是 10 个字符"):
        validate_question("问" * 11, max_chars=10)
    assert validate_question("第一行\n第二行\t？") == "第一行\n第二行\t？"  # tabs and newlines are fine


@pytest.mark.parametrize("good", [1, 20, 7.0, "3"])
def test_parse_k_accepts_whole_numbers_in_range(good: Any) -> None:
    assert parse_k(good) == int(float(good))


@pytest.mark.parametrize("bad", [0, 21, -1, 2.5, "x", None, True, float("nan"), float("inf"), [3]])
def test_parse_k_refuses(bad: Any) -> None:
    with pytest.raises(InputError):
        parse_k(bad)


def test_history_shapes() -> None:
    gradio_messages = [
        {"role": "user", "content": [{"type": "text", "text": "2016年GDP&lt;是多少&gt;？"}]},
        {"role": "assistant", "content": [{"type": "text", "text": "<b>17800亿元</b>"}]},
    ]
    assert history_questions(gradio_messages) == ["2016年GDP<是多少>？"]
    assert history_questions([("甲问题", "答"), "乙问题", ["", "空"], {"role": "user", "content": "😀"}]) == [
        "甲问题",
        "乙问题",
    ]
    assert history_questions(None) == [] and history_questions([]) == []
    assert message_text({"text": "a"}) == "a" and message_text(3) == ""


def test_service_limit_and_reply(engine: Any) -> None:
    service = ChatService(engine, max_chars=20)
    box, messages = service.reply("2017年天津生产总值预期增长多少？" * 2, [], 5, False)
    assert box.startswith("2017年") and "上限是 20 个字符" in messages[-1]["content"]
    box, messages = service.reply("2017年天津生产总值预期增长多少？", messages, 5, False)
    assert box == "" and [m["role"] for m in messages] == ["assistant", "user", "assistant"]
    assert "<mark>8%</mark>" in messages[-1]["content"]
    with pytest.raises(InputError):
        service.ask("问" * 21)


def test_doc_titles_come_from_the_opening_heading(engine: Any) -> None:
    titles = doc_titles(engine.index.chunks)
    assert list(titles.values()) == ["2017年天津市政府工作报告(全文)"]


# -- filters, documents, text and comparisons (three provincial reports) ---------------------


@pytest.mark.parametrize(
    ("docs", "expected"),
    [(None, None), ("", None), ([], None), ("浙江 2025", ["浙江 2025"]), (["a.docx", "  ", "b"], ["a.docx", "b"])],
)
def test_parse_docs(docs: Any, expected: Any) -> None:
    assert parse_docs(docs) == expected


@pytest.mark.parametrize("bad", [3, [3], {"a": 1}, ["x" * 201]])
def test_parse_docs_refuses(bad: Any) -> None:
    with pytest.raises(InputError, match="docs"):
        parse_docs(bad)


def test_parse_place_and_year() -> None:
    assert (parse_place(None), parse_place(" "), parse_place(" 浙江省 ")) == (None, None, "浙江省")
    assert (parse_year(None), parse_year(""), parse_year(2025), parse_year("2025"), parse_year(2025.0)) == (
        None,
        None,
        2025,
        2025,
        2025,
    )
    for bad in ("去年", 2025.5, True, [2025], 99, float("nan")):
        with pytest.raises(InputError, match="year"):
            parse_year(bad)
    with pytest.raises(InputError, match="place"):
        parse_place(42)


def test_parse_offset() -> None:
    assert (parse_offset(None, "start"), parse_offset(7, "start"), parse_offset(7.0, "end")) == (None, 7, 7)
    for bad in (-1, 1.5, "3", True):
        with pytest.raises(InputError, match="start"):
            parse_offset(bad, "start")


@pytest.fixture(scope="module")
def multi_engine(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from app_server import multi_index_dir

    from qa.engine import Engine

    return Engine.load(multi_index_dir(tmp_path_factory))


@pytest.fixture(scope="module")
def multi(multi_engine: Any) -> ChatService:
    return ChatService(multi_engine)


def doc_of(service: ChatService, place: str) -> str:
    return next(d["doc"] for d in service.documents() if d["place"] == place)


def test_documents_lists_every_report(multi: ChatService) -> None:
    documents = multi.documents()
    assert sorted(d["place"] for d in documents) == ["上海", "北京", "浙江"]
    first = documents[0]
    assert set(first) == {
        "doc", "label", "title", "place", "level", "year", "date", "speaker", "speaker_title", "chunks", "format"
    }  # fmt: skip
    assert all(d["year"] == 2025 and d["format"] == "docx" and d["chunks"] > 50 for d in documents)
    assert sum(d["chunks"] for d in documents) == len(multi.engine.index.chunks)
    assert "3 份" not in multi.describe() and "《2025年浙江省政府工作报告》" in multi.describe()


def test_ask_with_a_place_filter_reads_that_report(multi: ChatService) -> None:
    for place in ("浙江", "北京"):
        result = multi.ask("2025年地区生产总值增长目标是多少？", None, 5, None, place, None)
        assert result["mode"] == "answer" and result["found"]
        assert result["citation"]["doc"] == doc_of(multi, place)
        assert {p["doc"] for p in result["passages"]} == {doc_of(multi, place)}


def test_ask_with_docs_and_year_filters(multi: ChatService) -> None:
    result = multi.ask("2025年地区生产总值增长目标是多少？", docs=["浙江 2025"], year=2025)
    assert result["citation"]["doc"] == doc_of(multi, "浙江")


@pytest.mark.parametrize(
    ("filters", "message"),
    [
        ({"place": "火星"}, "没有符合条件的报告"),
        ({"year": 1999}, "没有符合条件的报告"),
        ({"docs": ["nope.txt"]}, "nope"),
    ],
)
def test_filters_that_match_no_report_are_refused(multi: ChatService, filters: dict[str, Any], message: str) -> None:
    with pytest.raises(InputError, match=message):
        multi.ask("生产总值增长多少？", **filters)
    with pytest.raises(InputError, match=message):
        multi.compare("生产总值增长多少？", **filters)


def test_text_slices_are_the_cited_answers(multi: ChatService) -> None:
    result = multi.compare("地区生产总值增长目标是多少？")
    found = [r for r in result["rows"] if r["found"]]
    assert len(found) >= 2
    for r in found:
        c = r["citation"]
        assert multi.text(c["doc"], c["start"], c["end"]) == r["answer"]
    doc = doc_of(multi, "浙江")
    assert multi.text(doc) == multi.engine.document_text(doc)
    assert multi.text("浙江 2025", 0, 4) == multi.text(doc)[:4] == multi.text(doc.rsplit(".", 1)[0], None, 4)


def test_text_refuses_unknown_documents_and_bad_offsets(multi: ChatService) -> None:
    with pytest.raises(InputError, match="可用的文档：.*2025年浙江省政府工作报告.docx"):
        multi.text("nope.txt")
    doc = doc_of(multi, "浙江")
    size = len(multi.text(doc))
    for start, end in ((5, 4), (0, size + 1), (-1, 3)):
        with pytest.raises(InputError):
            multi.text(doc, start, end)
    assert multi.text(doc, size, size) == ""


def test_compare_answers_every_report_quickly(multi: ChatService) -> None:
    multi.compare("城镇新增就业目标是多少？")  # warm
    started = time.perf_counter()
    result = multi.compare("地区生产总值增长目标是多少？")
    seconds = time.perf_counter() - started
    assert result["mode"] == "compare" and len(result["rows"]) == 3
    assert {r["place"] for r in result["rows"]} == {"北京", "上海", "浙江"}
    assert seconds < 1.5, f"compare took {seconds:.2f} s in-process"


def test_a_comparison_turn_renders_a_table_and_keeps_the_comparison(multi: ChatService) -> None:
    turn = multi.turn("北京和上海的城镇新增就业目标相比", [], 5, False, None)
    assert turn.comparison is not None and len(turn.comparison.rows) == 2
    reply = turn.messages[-1]["content"]
    assert '<table class="qa-ctable">' in reply and reply.count('<tbody class="qa-crow') == 2
    assert reply.count("<mark>") == sum(r.found for r in turn.comparison.rows)
    plain = multi.turn("2025年浙江地区生产总值增长目标是多少？", turn.messages, 5, False, None)
    assert plain.comparison is None and "qa-ctable" not in plain.messages[-1]["content"]


def test_the_page_selection_restricts_a_turn(multi: ChatService) -> None:
    question = "2025年地区生产总值增长目标是多少？"
    zhejiang = multi.turn(question, [], 5, False, [doc_of(multi, "浙江")])
    reply = zhejiang.messages[-1]["content"]
    assert "仅在所选报告中查找：浙江 2025" in reply and "浙江省政府工作报告" in reply
    beijing = multi.turn(question, [], 5, False, [doc_of(multi, "北京")])
    assert "北京市政府工作报告" in beijing.messages[-1]["content"]
    assert "浙江省政府工作报告" not in beijing.messages[-1]["content"]


def test_build_demo_for_several_reports(app_module: ModuleType, multi: ChatService) -> None:
    demo = app_module.build_demo(multi)
    config = demo.get_config_file()
    names = {dep.get("api_name") for dep in config["dependencies"] if dep.get("api_visibility", "public") == "public"}
    assert {"ask", "chat", "compare", "documents", "text"} <= names
    texts = str(config["components"])
    for text in (
        "只问这些报告（不选 = 全部）",
        "索引中的报告（3 份）",
        "下载 CSV",
        "浙江 2025",
        "2025年浙江省政府工作报告",
    ):
        assert text in texts
    examples = app_module.examples_for(multi.documents())
    assert sum(q in texts for q in examples) == len(examples) and examples != app_module.EXAMPLES


def test_examples_fit_the_index(app_module: ModuleType) -> None:
    one = [{"doc": "t.txt", "label": "天津 2017", "place": "天津", "year": 2017}]
    assert app_module.examples_for(one) == app_module.EXAMPLES
    national = [{"doc": f"{y}.txt", "label": f"全国 {y}", "place": "全国", "year": y} for y in range(2006, 2014)]
    assert app_module.examples_for(national)[0] == "2006年到2013年每年的国内生产总值增长目标"
    twins = [{"doc": "a.txt", "label": "全国 2010"}, {"doc": "b.txt", "label": "全国 2010"}, {"doc": "c", "label": "x"}]
    assert app_module.doc_choices(twins) == [
        ("全国 2010（a.txt）", "a.txt"),
        ("全国 2010（b.txt）", "b.txt"),
        ("x", "c"),
    ]


def test_comparison_outputs_show_the_chart_and_a_csv(app_module: ModuleType, multi: ChatService) -> None:
    turn = multi.turn("北京和上海的城镇新增就业目标相比", [], 5, False, None)
    panel, title, chart, path = app_module.comparison_outputs(turn.comparison)
    assert panel.visible is True and "比较：" in title
    found = [r for r in turn.comparison.rows if r.found and r.value is not None]
    assert sorted(chart.value["data"]) == sorted([r.place, r.value, r.answer] for r in found)
    text = Path(path).read_text(encoding="utf-8-sig")
    assert text.splitlines()[0].startswith("place,year,report_year,found,answer") and len(text.splitlines()) == 3
    import gradio as gr

    assert app_module.comparison_outputs(None) == (gr.skip(),) * 4  # no comparison this turn: the panel stays


def test_the_comparison_title_is_escaped(app_module: ModuleType) -> None:
    from qa.compare import Comparison

    _, title, _, _ = app_module.comparison_outputs(Comparison("q", "![x](http://example.com/a.png)<img src=x>", ()))
    assert "![" not in title and "<img" not in title and "](http" not in title
