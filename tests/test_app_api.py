"""The app's API through gradio_client: `python app.py --index <built index>` on a free port."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from app_server import RunningApp, multi_index_dir, shared_app

from qa.documents import read_text

pytestmark = pytest.mark.slow

MAX_CHARS = 500  # the app's default limit


@pytest.fixture(scope="session")
def app(real_index_dir: Path, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> RunningApp:
    return shared_app(real_index_dir, request, tmp_path_factory)


@pytest.fixture(scope="module")
def client(app: RunningApp) -> Any:
    from gradio_client import Client

    return Client(app.url, verbose=False)


def ask(client: Any, question: Any, history: Any = None, k: Any = 5) -> dict[str, Any]:
    result = client.predict(question, history, k, api_name="/ask")
    assert isinstance(result, dict)
    return result


def assert_cited(result: dict[str, Any], seed_dir: Path) -> None:
    """The citation points at the answer in the source file and inside passages[0]."""
    c, first = result["citation"], result["passages"][0]
    assert read_text(seed_dir / c["doc"])[c["start"] : c["end"]] == result["answer"]
    assert first["doc"] == c["doc"] and first["start"] <= c["start"] < c["end"] <= first["end"]
    assert first["text"][c["start"] - first["start"] : c["end"] - first["start"]] == result["answer"]


# -- /ask ------------------------------------------------------------------------------


def test_the_server_starts_quickly_and_says_what_it_serves(app: RunningApp) -> None:
    log = app.log.read_text(encoding="utf-8")
    assert "engine ready" in log and "127.0.0.1" in log
    assert "building the index" not in log  # the session's index is fresh
    assert app.seconds_to_ready < 60


def test_ask_answers_with_a_citation(client: Any, seed_dir: Path) -> None:
    result = ask(client, "2017年天津生产总值预期增长多少？", None, 5)
    assert set(result) >= {"answer", "found", "confidence", "citation", "passages", "reason", "mode"}
    assert result["mode"] == "answer" and "rows" not in result
    assert result["found"] is True and result["answer"] == "8%"
    assert 0.5 <= result["confidence"] <= 1
    assert len(result["passages"]) == 5
    assert_cited(result, seed_dir)


def test_ask_k_sets_the_number_of_passages(client: Any) -> None:
    assert len(ask(client, "2016年天津港货物吞吐量是多少？", None, 2)["passages"]) == 2


def test_ask_follow_up_uses_the_history(client: Any, seed_dir: Path) -> None:
    first = "2016年天津城镇登记失业率是多少？"
    pairs = ask(client, "那2017年呢？", [[first, "3.5%"]], 5)
    assert pairs["found"] and "3.8%" in pairs["answer"]
    assert_cited(pairs, seed_dir)
    messages = [{"role": "user", "content": first}, {"role": "assistant", "content": "3.5%"}]
    assert ask(client, "那2017年呢？", messages, 5)["answer"] == pairs["answer"]


def test_ask_unanswerable_is_not_found(client: Any) -> None:
    result = ask(client, "2018年天津生产总值增长目标是多少？")
    assert result["found"] is False and result["answer"] == ""
    assert result["citation"] == {"doc": "", "section": "", "start": 0, "end": 0, "page": None}
    assert result["mode"] == "answer" and result["reason"]


def test_ask_english_question(client: Any) -> None:
    result = ask(client, "How many containers (TEU) did Tianjin Port handle in 2016?")
    assert result["found"] and "1450万标准箱" in result["answer"]


@pytest.mark.parametrize(
    ("question", "history", "k", "message"),
    [
        ("", None, 5, "请输入一个问题"),
        ("   \n\t ", None, 5, "请输入一个问题"),
        ("问" * (MAX_CHARS + 1), None, 5, f"上限是 {MAX_CHARS} 个字符"),
        ("GDP\x00增长多少？", None, 5, "控制字符"),
        ("2017年\x1b[31m生产总值", None, 5, "控制字符"),
        ("😀🎉👍", None, 5, "没有可检索的文字"),
        ("？！……", None, 5, "没有可检索的文字"),
        (123, None, 5, "问题必须是文本"),
        ("2017年生产总值增长多少？", None, 0, "k 必须在 1 到 20 之间"),
        ("2017年生产总值增长多少？", None, "五", "k 必须是整数"),
        ("2017年生产总值增长多少？", "不是列表", 5, "history 必须是列表"),
        ("2017年生产总值增长多少？", [42], 5, "history 的每一项"),
    ],
    ids=[
        "empty",
        "whitespace",
        "too-long",
        "nul",
        "escape-seq",
        "emoji",
        "punctuation",
        "not-text",
        "k-0",
        "k-text",
        "history-str",
        "history-item",
    ],
)
def test_ask_refuses_bad_input_with_a_clear_error(
    client: Any, question: Any, history: Any, k: Any, message: str
) -> None:
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError, match=message):
        client.predict(question, history, k, api_name="/ask")


def test_a_question_at_the_limit_is_accepted(client: Any) -> None:
    result = ask(client, ("2017年天津生产总值预期增长多少？" * 40)[:MAX_CHARS])
    assert "found" in result


def test_bad_turns_in_the_history_are_ignored(client: Any) -> None:
    history = [["", ""], ["😀", ""], {"role": "user", "content": "   "}, ["2016年天津城镇登记失业率是多少？", "3.5%"]]
    assert "3.8%" in ask(client, "那2017年呢？", history)["answer"]


def test_concurrent_questions_get_their_own_answers(app: RunningApp) -> None:
    from gradio_client import Client

    questions = {
        "2017年天津生产总值预期增长多少？": "8%",
        "2016年天津一般公共预算收入是多少？": "2723亿元",
        "2017年天津计划新增就业多少人？": "48万人",
        "2016年天津城镇登记失业率是多少？": "3.5%",
    }
    clients = [Client(app.url, verbose=False) for _ in range(4)]
    jobs = [(c.submit(q, None, 3, api_name="/ask"), a) for c in clients for q, a in questions.items()]
    started = time.perf_counter()
    assert [job.result(timeout=60)["answer"] for job, _ in jobs] == [a for _, a in jobs]
    assert time.perf_counter() - started < 30


# -- /chat (the page's endpoint) --------------------------------------------------------


def chat(client: Any, message: Any, history: Any, k: int = 5, show_all: bool = False) -> tuple[str, list[Any]]:
    box, messages = client.predict(message, history, k, show_all, api_name="/chat")
    return box, messages


def text_of(message: dict[str, Any]) -> str:
    content = message["content"]
    return content if isinstance(content, str) else "".join(part.get("text", "") for part in content)


def test_chat_turn_renders_answer_citation_and_highlight(client: Any) -> None:
    box, messages = chat(client, "2017年天津生产总值预期增长多少？", [])
    assert box == ""
    assert [m["role"] for m in messages] == ["user", "assistant"]
    reply = text_of(messages[1])
    assert "答案：<strong>8%</strong>" in reply and "<mark>8%</mark>" in reply
    assert "置信度" in reply and "二、2017年工作目标和主要任务" in reply and "qa-evidence" in reply


def test_chat_follow_up_reads_the_chat_history(client: Any) -> None:
    _, messages = chat(client, "2016年天津城镇登记失业率是多少？", [])
    _, messages = chat(client, "那2017年呢？", messages)
    assert len(messages) == 4
    reply = text_of(messages[3])
    assert "3&#46;8%以内" in reply and "已结合上一轮对话" in reply


def test_chat_show_all_lists_every_passage(client: Any) -> None:
    _, few = chat(client, "2016年天津港货物吞吐量是多少？", [], k=4)
    _, every = chat(client, "2016年天津港货物吞吐量是多少？", [], k=4, show_all=True)
    assert text_of(few[1]).count('class="qa-passage') == 1
    assert text_of(every[1]).count('class="qa-passage') == 4


def test_chat_escapes_the_question(client: Any) -> None:
    _, messages = chat(client, "<img src=x onerror=alert(1)>", [])
    shown = text_of(messages[0])
    assert "<img" not in shown and "&lt;img" in shown
    assert "<img" not in text_of(messages[1])


@pytest.mark.parametrize(
    ("message", "notice"),
    [
        ("", "请输入一个问题"),
        ("  ", "请输入一个问题"),
        ("长" * (MAX_CHARS + 20), f"上限是 {MAX_CHARS} 个字符"),
        ("GDP\x07增长", "控制字符"),
        ("🙂🙂", "没有可检索的文字"),
    ],
    ids=["empty", "whitespace", "too-long", "bell", "emoji"],
)
def test_chat_bad_input_gets_a_friendly_notice(client: Any, message: str, notice: str) -> None:
    box, messages = chat(client, message, [])
    assert box == message  # left in the box to fix
    assert [m["role"] for m in messages] == ["assistant"]
    assert notice in text_of(messages[0]) and "qa-notice" in text_of(messages[0])


def test_the_endpoints_are_documented(client: Any) -> None:
    api = client.view_api(return_format="dict", print_info=False)["named_endpoints"]
    assert set(api) == {"/ask", "/chat", "/compare", "/documents", "/text"}
    params = {name: [p["parameter_name"] for p in endpoint["parameters"]] for name, endpoint in api.items()}
    assert params == {
        "/ask": ["question", "history", "k", "docs", "place", "year"],
        "/chat": ["message", "history", "k", "show_all", "docs"],
        "/compare": ["question", "docs", "place", "year"],
        "/documents": [],
        "/text": ["doc", "start", "end"],
    }
    assert len(api["/chat"]["returns"]) == 2  # the input box and the chat (the comparison state is the page's)


# -- several reports: filters, comparisons, documents, text --------------------------------


@pytest.fixture(scope="session")
def multi_app(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> RunningApp:
    return shared_app(multi_index_dir(tmp_path_factory), request, tmp_path_factory)


@pytest.fixture(scope="module")
def multi(multi_app: RunningApp) -> Any:
    from gradio_client import Client

    return Client(multi_app.url, verbose=False)


def documents(client: Any) -> list[dict[str, Any]]:
    result = client.predict(api_name="/documents")
    assert isinstance(result, list)
    return result


def doc_of(client: Any, place: str) -> str:
    return next(d["doc"] for d in documents(client) if d["place"] == place)


def cited_text(client: Any, citation: dict[str, Any]) -> str:
    return str(client.predict(citation["doc"], citation["start"], citation["end"], api_name="/text"))


def test_documents_lists_the_reports(multi: Any) -> None:
    reports = documents(multi)
    assert sorted(d["label"] for d in reports) == ["上海 2025", "北京 2025", "浙江 2025"]
    assert {d["title"] for d in reports} == {f"2025年{n}政府工作报告" for n in ("上海市", "北京市", "浙江省")}
    assert all(d["chunks"] > 50 and d["format"] == "docx" and d["level"] for d in reports)


def test_ask_place_filter_picks_that_report(multi: Any) -> None:
    for place in ("浙江", "北京"):
        result = multi.predict("2025年地区生产总值增长目标是多少？", place=place, api_name="/ask")
        assert result["found"] and result["mode"] == "answer"
        assert result["citation"]["doc"] == doc_of(multi, place)
        assert cited_text(multi, result["citation"]) == result["answer"]


def test_ask_docs_and_year_filters(multi: Any) -> None:
    result = multi.predict("2025年地区生产总值增长目标是多少？", None, 3, ["浙江 2025"], None, 2025, api_name="/ask")
    assert result["citation"]["doc"] == doc_of(multi, "浙江") and len(result["passages"]) == 3


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"place": "火星"}, "没有符合条件的报告"),
        ({"year": 1999}, "没有符合条件的报告"),
        ({"docs": ["nope.docx"]}, "nope"),
    ],
    ids=["place", "year", "docs"],
)
def test_filters_that_match_nothing_raise(multi: Any, kwargs: dict[str, Any], message: str) -> None:
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError, match=message):
        multi.predict("生产总值增长多少？", api_name="/ask", **kwargs)
    with pytest.raises(AppError, match=message):
        multi.predict("生产总值增长多少？", api_name="/compare", **kwargs)


def test_ask_a_comparison_question_answers_in_compare_mode(multi: Any) -> None:
    result = multi.predict("北京和上海的城镇新增就业目标相比", api_name="/ask")
    assert result["mode"] == "compare" and len(result["rows"]) == 2
    assert {r["place"] for r in result["rows"]} == {"北京", "上海"}
    for r in result["rows"]:
        assert set(r) >= {"doc", "title", "place", "year", "found", "answer", "value", "confidence", "citation"}
        if r["found"]:
            assert cited_text(multi, r["citation"]) == r["answer"]


def test_compare_endpoint_returns_a_row_per_report(multi: Any) -> None:
    result = multi.predict("地区生产总值增长目标是多少？", api_name="/compare")
    assert result["mode"] == "compare" and result["metric"]
    assert sorted(r["place"] for r in result["rows"]) == ["上海", "北京", "浙江"]
    found = [r for r in result["rows"] if r["found"]]
    assert len(found) >= 2
    for r in found:
        assert cited_text(multi, r["citation"]) == r["answer"] and isinstance(r["value"], float)
    two = multi.predict("地区生产总值增长目标是多少？", ["北京 2025", "浙江 2025"], api_name="/compare")
    assert sorted(r["place"] for r in two["rows"]) == ["北京", "浙江"]


def test_compare_over_the_api_is_quick(multi: Any) -> None:
    multi.predict("城镇新增就业目标是多少？", api_name="/compare")  # warm
    started = time.perf_counter()
    multi.predict("地区生产总值增长目标是多少？", api_name="/compare")
    seconds = time.perf_counter() - started
    assert seconds < 3.0, f"/compare took {seconds:.2f} s"


def test_text_returns_the_whole_text_or_a_slice(multi: Any) -> None:
    from gradio_client.exceptions import AppError

    doc = doc_of(multi, "浙江")
    full = multi.predict(doc, api_name="/text")
    assert len(full) > 10_000 and full[:10] == multi.predict(doc, 0, 10, api_name="/text")
    assert multi.predict("浙江 2025", 5, 9, api_name="/text") == full[5:9]
    with pytest.raises(AppError, match="可用的文档：.*2025年北京市政府工作报告.docx"):
        multi.predict("nope.docx", api_name="/text")
    with pytest.raises(AppError, match="start/end"):
        multi.predict(doc, 10, 5, api_name="/text")


# -- the README's examples ---------------------------------------------------------------


def readme_examples() -> list[str]:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Chat app and API", 1)[1].split("<!-- END chat-app section -->", 1)[0]
    return [block.split("```", 1)[0] for block in section.split("```python\n")[1:]]


def run_example(code: str, url: str, capsys: pytest.CaptureFixture[str]) -> None:
    """Run a README example against ``url``: what it prints must be what its comments say."""
    assert 'Client("http://127.0.0.1:7860/"' in code
    expected = [line.split("  # ", 1)[1] for line in code.splitlines() if "print(" in line and "  # " in line]
    exec(compile(code.replace("http://127.0.0.1:7860/", url), "README.md", "exec"), {})
    assert capsys.readouterr().out.splitlines() == expected


def test_readme_example_works_as_printed(app: RunningApp, capsys: pytest.CaptureFixture[str]) -> None:
    run_example(readme_examples()[0], app.url, capsys)


def test_readme_reports_example_works_as_printed(multi_app: RunningApp, capsys: pytest.CaptureFixture[str]) -> None:
    run_example(readme_examples()[1], multi_app.url, capsys)
