"""End to end on the real report with the real default model: answers, citations, follow-ups, abstention."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from pathlib import Path

import pytest

from qa.dialogue import is_followup, previous_questions
from qa.documents import read_text
from qa.engine import Engine, QuestionError, clean_question
from qa.evaluate import normalize_answer
from qa.types import Answer

ROOT = Path(__file__).resolve().parents[1]
DEV = ROOT.parent / "shared" / "data" / "dev_questions.jsonl"

CONTRACT_KEYS = {"question", "found", "answer", "confidence", "citation", "passages", "reason", "mode"}
CITATION_KEYS = {"doc", "section", "start", "end", "page"}
PASSAGE_KEYS = {"id", "doc", "section", "text", "start", "end", "page", "score"}

# Facts a correct system must get: plain wording, one answer in the report.
FACTS = [
    ("2016年天津全市生产总值是多少？", ["17800亿元"]),
    ("2017年天津生产总值预期增长多少？", ["8%"]),
    ("2016年天津一般公共预算收入是多少？", ["2723亿元"]),
    ("2017年天津计划建成多少套保障性住房？", ["3万套"]),
    ("2017年天津计划新增就业多少人？", ["48万人"]),
    ("深化国企改革以什么为突破口？", ["推进混合所有制改革", "混合所有制改革"]),
    ("When was the 2017 Tianjin government work report delivered?", ["2017年1月15日"]),
    ("2016年天津城鎮登記失業率是多少？", ["3.5%"]),  # Traditional characters
    ("２０１６年天津一般公共預算收入是多少？", ["2723亿元"]),  # full-width digits, Traditional
]

UNANSWERABLE = [
    "2018年天津生产总值增长目标是多少？",  # a year the report does not cover
    "2016年北京市生产总值是多少？",  # another city
    "2016年上海市一般公共预算收入是多少？",
    "今天天气怎么样？",  # chatter
    "你好",
    "What's your favourite football team?",
]


@cache
def source(doc: str) -> str:
    return read_text(ROOT / "seeds" / doc)


def check_answer(answer: Answer, k: int | None = None) -> None:
    """The contract every Answer keeps, found or not."""
    assert 0.0 <= answer.confidence <= 1.0
    data = answer.to_dict()
    assert set(data) == CONTRACT_KEYS
    assert set(data["citation"]) == CITATION_KEYS
    json.dumps(data, ensure_ascii=False)
    assert data["passages"], "passages are listed even when nothing is found"
    if k is not None:
        assert len(data["passages"]) <= k
    for passage, p in zip(data["passages"], answer.passages, strict=True):
        assert set(passage) == PASSAGE_KEYS
        assert source(passage["doc"])[passage["start"] : passage["end"]] == passage["text"]
        assert passage["section"] == p.chunk.section_path
    if answer.found:
        c = answer.citation
        assert answer.answer
        assert source(c.doc)[c.start : c.end] == answer.answer
        assert data["citation"] == {"doc": c.doc, "section": c.section, "start": c.start, "end": c.end, "page": None}
        first = answer.passages[0].chunk  # the passage that proves the answer comes first
        assert first.doc == c.doc and first.start <= c.start and c.end <= first.end
        assert first.section_path == c.section
    else:
        assert answer.answer == ""
        assert data["citation"] == {"doc": "", "section": "", "start": 0, "end": 0, "page": None}


def assert_answers(answer: Answer, golds: list[str]) -> None:
    assert answer.found, (answer.question, answer.confidence)
    assert normalize_answer(answer.answer) in {normalize_answer(g) for g in golds}, answer.answer


@pytest.mark.parametrize(("question", "golds"), FACTS)
def test_answers_plain_facts_with_exact_citations(engine: Engine, question: str, golds: list[str]) -> None:
    answer = engine.ask(question)
    check_answer(answer, k=5)
    assert_answers(answer, golds)


@pytest.mark.parametrize("question", UNANSWERABLE)
def test_abstains_when_the_report_cannot_answer(engine: Engine, question: str) -> None:
    answer = engine.ask(question)
    check_answer(answer)
    assert not answer.found, answer.answer
    assert len(answer.passages) >= 1


def test_follow_up_growth_of_the_previous_figure(engine: Engine) -> None:
    first = engine.ask("2016年天津一般公共预算收入是多少？")
    assert_answers(first, ["2723亿元"])
    second = engine.ask("比上年增长了多少？", history=[(first.question, first.answer)])
    check_answer(second)
    assert_answers(second, ["10%"])


def test_follow_up_with_a_new_topic_keeps_the_year_and_type(engine: Engine) -> None:
    first = engine.ask("2017年天津计划建成多少套保障性住房？")
    assert_answers(first, ["3万套"])
    second = engine.ask("那农村危房呢？", history=[(first.question, first.answer)])
    check_answer(second)
    assert_answers(second, ["5000户"])


def test_chat_message_history_works_like_pairs(engine: Engine) -> None:
    messages = [
        {"role": "user", "content": "2016年天津一般公共预算收入是多少？"},
        {"role": "assistant", "content": "2723亿元"},
    ]
    pairs = [("2016年天津一般公共预算收入是多少？", "2723亿元")]
    assert previous_questions(messages) == previous_questions(pairs) == ["2016年天津一般公共预算收入是多少？"]
    by_messages = engine.ask("比上年增长了多少？", history=messages)
    by_pairs = engine.ask("比上年增长了多少？", history=pairs)
    assert by_messages.to_dict() == by_pairs.to_dict()


def test_a_self_contained_question_ignores_the_history(engine: Engine) -> None:
    history = [("2017年天津计划建成多少套保障性住房？", "3万套"), ("那农村危房呢？", "5000户")]
    with_history = engine.ask("2016年天津全市生产总值是多少？", history=history)
    assert_answers(with_history, ["17800亿元"])
    assert with_history.to_dict() == engine.ask("2016年天津全市生产总值是多少？").to_dict()


def test_follow_up_without_history_is_still_a_valid_answer(engine: Engine) -> None:
    check_answer(engine.ask("比上年增长了多少？"))
    check_answer(engine.ask("那农村危房呢？", history=[]))


@pytest.mark.parametrize(
    ("question", "has_topic", "expected"),
    [
        ("那货物吞吐量呢？", True, True),
        ("那农村危房呢？", True, True),
        ("比上年增长了多少？", False, True),
        ("同比增长多少？", False, True),
        ("它占多少？", False, True),
        ("还有呢？", False, True),
        ("What about last year?", False, True),
        ("2017年天津计划新增就业多少人？", True, False),
        ("2016年天津港货物吞吐量是多少？", True, False),
        ("深化国企改革以什么为突破口？", True, False),
    ],
)
def test_is_followup(question: str, has_topic: bool, expected: bool) -> None:
    assert is_followup(question, has_topic) is expected


def test_dev_questions_of_every_kind_keep_the_answer_contract(engine: Engine) -> None:
    """One dev question per (type, style, language), follow-ups with their previous turn."""
    items = [json.loads(line) for line in DEV.read_text(encoding="utf-8").splitlines() if line.strip()]
    kinds: set[tuple[str, str, str]] = set()
    picked: set[str] = set()
    for item in items:
        kind = (item["type"], item["style"], item["lang"])
        if kind not in kinds or item.get("prev"):
            kinds.add(kind)
            picked.update({item["id"], item.get("prev") or item["id"]})
    answers: dict[str, Answer] = {}
    for item in items:
        if item["id"] not in picked:
            continue
        history = []
        if item.get("prev") in answers:
            prev = answers[item["prev"]]
            history = [(prev.question, prev.answer)]
        answers[item["id"]] = result = engine.ask(item["question"], history=history, k=5)
        check_answer(result, k=5)
    assert len(answers) >= 20


@pytest.mark.parametrize(("k", "expected"), [(1, 1), (3, 3), (0, 1), (-5, 1), (10, 10), (500, 50)])
def test_k_bounds_the_passage_list(engine: Engine, k: int, expected: int) -> None:
    answer = engine.ask("2016年天津一般公共预算收入是多少？", k=k)
    assert len(answer.passages) == min(expected, len(engine.index.chunks))
    check_answer(answer)


def test_answers_are_deterministic(engine: Engine) -> None:
    question = "2017年天津居民消费价格涨幅控制目标是多少？"
    assert engine.ask(question).to_dict() == engine.ask(question).to_dict()


def test_concurrent_questions_get_the_sequential_answers(engine: Engine) -> None:
    questions = [q for q, _ in FACTS[:5]] + UNANSWERABLE[:2]
    sequential = [engine.ask(q).to_dict() for q in questions]
    with ThreadPoolExecutor(max_workers=4) as pool:
        parallel = list(pool.map(lambda q: engine.ask(q).to_dict(), questions * 2))
    assert parallel == sequential * 2


@pytest.mark.parametrize(
    ("question", "message"),
    [
        ("", "empty"),
        ("   \n\t ", "empty"),
        ("\x00\x01\x02", "empty"),
        ("？？！！", "no words"),
        ("长" * 100_000, "too long"),
    ],
)
def test_bad_questions_raise_question_error(engine: Engine, question: str, message: str) -> None:
    with pytest.raises(QuestionError, match=message):
        engine.ask(question)


def test_non_text_question_is_refused() -> None:
    with pytest.raises(QuestionError):
        clean_question(b"bytes")
    with pytest.raises(QuestionError):
        clean_question(None)


def test_clean_question_drops_control_characters_and_folds_spaces() -> None:
    assert clean_question("  2016年\x00天津\u200b生产总值  \u3000是多少？ ") == "2016年天津生产总值 是多少？"


def test_clean_question_keeps_words_on_separate_lines_apart() -> None:
    assert clean_question("When was\nthe report\tdelivered?") == "When was the report delivered?"


def test_question_echo_is_the_cleaned_text(engine: Engine) -> None:
    answer = engine.ask("  2016年天津一般公共预算收入是多少？\n")
    assert answer.question == "2016年天津一般公共预算收入是多少？"
    assert answer.to_dict()["question"] == answer.question


def test_unusable_earlier_turns_are_ignored(engine: Engine) -> None:
    history = [("", ""), ("x" * 5000, ""), ("2016年天津一般公共预算收入是多少？", "2723亿元")]
    assert engine.ask("比上年增长了多少？", history=history).answer == "10%"
