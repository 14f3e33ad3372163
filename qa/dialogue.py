"""Follow-up questions: decide whether a turn leans on the previous one."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

FOLLOWUP_START = re.compile(
    r"^(那么?|那个|还有|另外|再问|其中|它|其|该|这个|这项|这一|此|比上年|比去年|同比|与上年"
    r"|and\b|what about|how about)",
    re.IGNORECASE,
)
FOLLOWUP_END = re.compile(r"(呢|的呢|又如何|又怎样|怎么样)[？?]?$")
ELLIPTICAL = re.compile(r"^(?:是(?!否|不是)|又是|还是)")
PRONOUN = re.compile(r"(它|其|该项|这个|这项|此项|上述|\bit\b|\bits\b|\bthat\b)", re.IGNORECASE)


def is_followup(question: str, has_topic: bool) -> bool:
    """Does a question need the previous turn to be understood?

    >>> is_followup("那货物吞吐量呢？", True), is_followup("比上年增长了多少？", False)
    (True, True)
    >>> is_followup("2017年天津计划新增就业多少人？", True), is_followup("是在哪一天作的？", True)
    (False, True)
    """
    q = question.strip()
    if FOLLOWUP_START.search(q) or FOLLOWUP_END.search(q):
        return True
    if PRONOUN.search(q) and len(q) <= 20:
        return True
    if ELLIPTICAL.search(q) and len(q) <= 12:  # 是在哪一天作的？: the subject is the last question's
        return True
    return not has_topic and len(q) <= 16


def previous_questions(history: Sequence[Any] | None) -> list[str]:
    """User questions from a history of (question, answer) pairs or chat messages, oldest first."""
    questions: list[str] = []
    for turn in history or []:
        if isinstance(turn, dict):
            if turn.get("role") == "user" and isinstance(turn.get("content"), str):
                questions.append(turn["content"])
        elif isinstance(turn, (list, tuple)) and turn and isinstance(turn[0], str):
            questions.append(turn[0])
    return [q for q in questions if q.strip()]


def previous_answers(history: Sequence[Any] | None) -> list[str]:
    """Answers already given in a history of (question, answer) pairs or chat messages.

    >>> previous_answers([("2016年收入是多少？", "2723亿元"), {"role": "assistant", "content": "10%"}])
    ['2723亿元', '10%']
    """
    answers: list[str] = []
    for turn in history or []:
        if isinstance(turn, dict):
            if turn.get("role") == "assistant" and isinstance(turn.get("content"), str):
                answers.append(turn["content"])
        elif isinstance(turn, (list, tuple)) and len(turn) > 1 and isinstance(turn[1], str):
            answers.append(turn[1])
    return [a for a in answers if a.strip()]
