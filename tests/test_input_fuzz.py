"""Hostile and arbitrary input, through the engine and through the app's /ask API (hypothesis).

Every question — arbitrary unicode, very long strings, control characters, mixed scripts,
right-to-left and zero-width marks, HTML/script/template/SQL payloads — either gets a valid
answer (an exact quote of the report at its citation, or an honest "not found") or a clear
QuestionError / API error saying what is wrong; each within a time bound; and the server keeps
answering afterwards.
"""

from __future__ import annotations

import json
import math
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qa.engine import MAX_QUESTION_CHARS, QuestionError

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

ASK_SECONDS = 10.0  # one question (up to 1 000 characters), in-process, on a busy 2-core machine
API_SECONDS = 15.0  # one request through HTTP and the queue

PAYLOADS = [
    "<script>alert(1)</script>",
    '<img src=x onerror="alert(document.cookie)">',
    "<svg/onload=alert(1)>",
    "javascript:alert(1)",
    '"><iframe src="https://example.invalid">',
    "{{7*7}} ${7*7} #{7*7} <%= 7*7 %>",
    "'; DROP TABLE chunks; --",
    "../../../../etc/passwd",
    "%s%s%s%n%x",
    "${jndi:ldap://127.0.0.1/a}",
    "\u202e2016年生产总值\u202c",  # right-to-left override
    "生\u200b产\u200d总\ufeff值",  # zero-width characters
    "\x1b[31m红色\x1b[0m",
    "A\u0301\u0302\u0303" * 50,  # stacked combining marks
    "\U0001f600\U0001f4c8\U0001f1e8\U0001f1f3",
    "ＧＤＰ增長多少？",  # full-width, Traditional
    "**粗体** _斜体_ [链接](javascript:alert(1)) $x^2$",
]
REPORT_WORDS = ["生产总值", "增长", "2016年", "2017年", "天津港", "吞吐量", "多少", "？", "失业率", "GDP", "what", "is"]
SCRIPTS = st.sampled_from(
    [
        st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF),  # CJK
        st.characters(min_codepoint=0x20, max_codepoint=0x7E),  # ASCII
        st.characters(min_codepoint=0x400, max_codepoint=0x4FF),  # Cyrillic
        st.characters(min_codepoint=0x600, max_codepoint=0x6FF),  # Arabic
        st.characters(min_codepoint=0x0, max_codepoint=0x1F),  # C0 controls
        st.characters(min_codepoint=0x80, max_codepoint=0x9F),  # C1 controls
        st.characters(min_codepoint=0x200B, max_codepoint=0x202E),  # zero-width and direction marks
        st.characters(min_codepoint=0xFF01, max_codepoint=0xFF5E),  # full-width forms
        st.characters(min_codepoint=0x1F300, max_codepoint=0x1FAFF),  # emoji
        st.characters(min_codepoint=0x300, max_codepoint=0x36F),  # combining marks
    ]
)


@st.composite
def mixed_scripts(draw: st.DrawFn) -> str:
    parts = []
    for _ in range(draw(st.integers(1, 6))):
        alphabet = draw(SCRIPTS)
        parts.append(draw(st.one_of(st.text(alphabet, min_size=1, max_size=12), st.sampled_from(REPORT_WORDS))))
    return "".join(parts)


QUESTIONS = st.one_of(
    st.text(max_size=80),  # arbitrary unicode
    mixed_scripts(),
    st.sampled_from(PAYLOADS),
    st.builds(lambda a, p, b: a + p + b, st.sampled_from(REPORT_WORDS), st.sampled_from(PAYLOADS), mixed_scripts()),
    st.text(min_size=MAX_QUESTION_CHARS - 5, max_size=MAX_QUESTION_CHARS + 5),  # around the length limit
    st.builds(lambda w, n: w * n, st.sampled_from(REPORT_WORDS), st.integers(100, 3000)),  # very long
)
HISTORIES = st.one_of(
    st.none(),
    st.lists(st.tuples(QUESTIONS, st.text(max_size=20)).map(list), max_size=3),
    st.lists(
        st.fixed_dictionaries({"role": st.sampled_from(["user", "assistant", "system", "x"]), "content": QUESTIONS}),
        max_size=3,
    ),
)


def check_answer(answer: Any, k: int, seed_text: str) -> None:
    """A valid Answer: bounded confidence, at most k passages, and a found answer quotes its citation."""
    assert math.isfinite(answer.confidence) and 0.0 <= answer.confidence <= 1.0
    assert len(answer.passages) <= max(1, min(k, 50))
    if answer.found:
        c = answer.citation
        assert answer.answer and seed_text[c.start : c.end] == answer.answer
        assert 0 <= answer.passage_index < len(answer.passages)
    else:
        assert answer.answer == ""
    json.dumps(answer.to_dict(), ensure_ascii=False)


# --- in-process -------------------------------------------------------------------------------------


def _engine_property(engine: Any, seed_text: str, question: str, history: Any, k: int) -> None:
    started = time.perf_counter()
    try:
        answer = engine.ask(question, history, k)
    except QuestionError as error:
        message = str(error)
        assert message and len(message) < 300 and "Traceback" not in message
    else:
        check_answer(answer, k, seed_text)
    assert time.perf_counter() - started < ASK_SECONDS


@pytest.fixture(scope="module")
def fake_engine(fake_index_dir: Path) -> Any:
    from qa.engine import Engine

    return Engine.load(fake_index_dir)


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(question=QUESTIONS, history=HISTORIES, k=st.integers(-3, 80))
def test_engine_answers_or_refuses_clearly(engine: Any, seed_text: str, question: str, history: Any, k: int) -> None:
    """The real engine (e5-small): the model's own tokenizer sees every kind of input too."""
    _engine_property(engine, seed_text, question, history, k)


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(question=QUESTIONS, history=HISTORIES, k=st.integers(-3, 80))
def test_engine_pipeline_answers_or_refuses_clearly(
    fake_engine: Any, seed_text: str, question: str, history: Any, k: int
) -> None:
    """More examples through analysis, retrieval and the reader, with the fast fake embedder."""
    _engine_property(fake_engine, seed_text, question, history, k)


@pytest.mark.parametrize("payload", PAYLOADS)
def test_payloads_are_treated_as_plain_text(engine: Any, seed_text: str, payload: str) -> None:
    """A payload around a real question still gets that question's answer, or an honest refusal."""
    for question in (payload, f"2016年天津港货物吞吐量是多少？{payload}"):
        try:
            answer = engine.ask(question)
        except QuestionError:
            continue
        check_answer(answer, 5, seed_text)
        assert "<script" not in answer.answer and "onerror" not in answer.answer


def test_non_text_questions_are_refused(engine: Any) -> None:
    for junk in (None, 42, b"bytes", ["list"], {"q": 1}):
        with pytest.raises(QuestionError):
            engine.ask(junk)  # type: ignore[arg-type]


# --- through the app's /ask API ------------------------------------------------------------------


@pytest.fixture(scope="module")
def api(fake_index_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Any:
    from bench.server import app_available, client, running_app

    if not app_available():
        pytest.skip("app.py has no /ask endpoint yet")
    log = tmp_path_factory.mktemp("fuzz-app") / "app.log"
    with running_app(fake_index_dir, log) as app:
        yield app, client(app.url)


def _api_ask(api: Any, question: Any, history: Any, k: Any) -> None:
    from gradio_client.exceptions import AppError

    app, c = api
    started = time.perf_counter()
    try:
        result = c.predict(question, history, k, api_name="/ask")
    except AppError as error:
        message = str(error)
        assert message.strip() and "Traceback" not in message, message  # a clear refusal, not a crash
    else:
        from bench.load import answer_shape_problem

        assert answer_shape_problem(result) == "", result
        if isinstance(k, int) and 1 <= k <= 20:
            assert len(result["passages"]) <= k
    assert time.perf_counter() - started < API_SECONDS


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    question=QUESTIONS,
    history=HISTORIES,
    k=st.one_of(st.integers(-2, 30), st.sampled_from([0.5, 3.0, "5", "x", None, True])),
)
def test_api_answers_or_refuses_clearly(api: Any, question: str, history: Any, k: Any) -> None:
    _api_ask(api, question, history, k)


def test_api_survives_payloads_and_still_answers(api: Any) -> None:
    from bench.server import get

    for payload in PAYLOADS:
        _api_ask(api, payload, [[payload, payload]], 3)
    app, c = api
    for junk_history in ("not a list", [1, 2, 3], [[None, None]], {"role": "user"}):
        _api_ask(api, "2016年天津港货物吞吐量是多少？", junk_history, 3)
    assert get(app.url + "config")[0] == 200
    result = c.predict("2016年天津港货物吞吐量是多少？", None, 3, api_name="/ask")
    assert result["found"] and "吞吐量" in json.dumps(result, ensure_ascii=False)
