"""app.py and qa.chat in-process: options, build-if-needed, input checks, history shapes."""

from __future__ import annotations

import importlib.util
import shutil
import sys
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
    parse_k,
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
