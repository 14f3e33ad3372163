"""The chat app's logic without Gradio: input checks, conversation history, replies for UI and API.

:class:`ChatService` wraps one loaded :class:`~qa.engine.Engine` (shared by all sessions; the
engine is thread-safe). ``ask`` serves programs (the engine's JSON dict, or :class:`InputError`),
``reply`` serves the chat window (HTML messages, never an exception for bad input).
"""

from __future__ import annotations

import html
import logging
import math
import os
import unicodedata
from collections.abc import Mapping, Sequence
from typing import Any

from qa.engine import Engine, QuestionError
from qa.render import render_answer, render_notice, render_question
from qa.types import Chunk

DEFAULT_MAX_CHARS = int(os.environ.get("QA_APP_MAX_CHARS", "500"))
DEFAULT_K = 5
MAX_K = 20
PREVIEW_CHARS = 40
ALLOWED_CONTROLS = "\t\n\r"

log = logging.getLogger(__name__)

Message = dict[str, Any]


class InputError(ValueError):
    """Input the app refuses. The message says why, in Chinese then English."""


def validate_question(question: object, max_chars: int = DEFAULT_MAX_CHARS) -> str:
    """The question stripped, or :class:`InputError` saying what is wrong with it.

    >>> validate_question("  2017年GDP增长多少？ ")
    '2017年GDP增长多少？'
    >>> validate_question("😀😀")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    qa.chat.InputError: 问题里没有可检索的文字...
    """
    if question is None:
        question = ""
    if not isinstance(question, str):
        raise InputError("问题必须是文本。 (the question must be a string)")
    text = question.strip()
    if not text:
        raise InputError("请输入一个问题。 (the question is empty)")
    if len(text) > max_chars:
        raise InputError(
            f"问题太长：共 {len(text)} 个字符，上限是 {max_chars} 个字符，请精简后再问。 "
            f"(the question is too long: {len(text)} characters, the limit is {max_chars})"
        )
    controls = sorted({ch for ch in text if unicodedata.category(ch) == "Cc" and ch not in ALLOWED_CONTROLS})
    if controls:
        shown = "、".join(f"U+{ord(ch):04X}" for ch in controls[:3])
        raise InputError(
            f"问题里有不可见的控制字符（{shown}），请删除后再问。 (the question contains control characters)"
        )
    if not any(ch.isalnum() for ch in text):
        raise InputError(
            "问题里没有可检索的文字（只有表情或符号），请用文字提问。 (the question has no words to search for)"
        )
    return text


def parse_k(k: object) -> int:
    """The number of passages, an integer in ``1..MAX_K`` (whole floats like 5.0 accepted).

    >>> parse_k(3), parse_k(5.0), parse_k("4")
    (3, 5, 4)
    """
    error = InputError(f"k 必须是整数。 (k must be an integer, got {k!r})")
    if isinstance(k, bool) or not isinstance(k, (int, float, str)):
        raise error
    try:
        value = float(k)
    except ValueError:
        raise error from None
    if not math.isfinite(value) or value != int(value):
        raise error
    if not 1 <= value <= MAX_K:
        raise InputError(f"k 必须在 1 到 {MAX_K} 之间。 (k must be between 1 and {MAX_K}, got {int(value)})")
    return int(value)


def message_text(content: object) -> str:
    """Plain text of a chat message's content: a string, a list of parts, or a text part.

    >>> message_text([{"type": "text", "text": "那2016年呢？"}])
    '那2016年呢？'
    """
    if isinstance(content, str):
        return content
    if isinstance(content, Mapping):
        text = content.get("text")
        return text if isinstance(text, str) else ""
    if isinstance(content, Sequence):
        return "".join(message_text(part) for part in content if isinstance(part, (str, Mapping)))
    return ""


def history_questions(history: object, max_chars: int = DEFAULT_MAX_CHARS) -> list[str]:
    """Earlier questions, oldest first, from any history shape the app accepts.

    Accepts ``[[question, answer], ...]`` pairs, chat messages ``{"role": "user", "content": ...}``
    (content as text or Gradio's list of parts; HTML entities from the chat window are undone)
    and plain question strings. Turns that are not valid questions are left out.

    >>> history_questions([["2016年GDP是多少？", "17800亿元"], {"role": "user", "content": "那&lt;2017&gt;年呢？"}])
    ['2016年GDP是多少？', '那<2017>年呢？']
    """
    if history is None:
        return []
    if not isinstance(history, (list, tuple)):
        raise InputError("history 必须是列表。 (history must be a list of [question, answer] pairs or messages)")
    questions: list[str] = []
    for turn in history:
        if isinstance(turn, str):
            text = turn
        elif isinstance(turn, Mapping):
            if turn.get("role") != "user":
                continue
            text = html.unescape(message_text(turn.get("content")))
        elif isinstance(turn, (list, tuple)) and turn and isinstance(turn[0], str):
            text = turn[0]
        else:
            raise InputError(
                "history 的每一项必须是 [问题, 回答] 或消息字典。 "
                "(each history item must be a [question, answer] pair, a message dict or a string)"
            )
        try:
            questions.append(validate_question(text, max_chars))
        except InputError:
            continue
    return questions


def doc_titles(chunks: Sequence[Chunk]) -> dict[str, str]:
    """A display title per document: its first heading when the document opens with it."""
    titles: dict[str, str] = {}
    for chunk in chunks:
        if chunk.doc in titles:
            continue
        opening = chunk.section[0] if chunk.section else ""
        titles[chunk.doc] = opening if opening and chunk.text == opening and len(opening) <= 60 else ""
    return {doc: title for doc, title in titles.items() if title}


class ChatService:
    """One engine shared by every chat session and API call."""

    def __init__(self, engine: Engine, max_chars: int = DEFAULT_MAX_CHARS) -> None:
        self.engine = engine
        self.max_chars = max_chars
        self.doc_titles = doc_titles(engine.index.chunks)

    def describe(self) -> str:
        """One line about the corpus, for the page (plain text)."""
        docs = sorted({c.doc for c in self.engine.index.chunks})
        names = "、".join(f"《{self.doc_titles[d]}》" if d in self.doc_titles else d for d in docs[:3])
        more = f"等 {len(docs)} 份文件" if len(docs) > 3 else ""
        return f"{names}{more}（{len(self.engine.index.chunks)} 个段落）"

    def ask(self, question: object, history: object = None, k: object = DEFAULT_K) -> dict[str, Any]:
        """The engine's answer as a JSON dict; :class:`InputError` for bad input."""
        text = validate_question(question, self.max_chars)
        turns = [{"role": "user", "content": q} for q in history_questions(history, self.max_chars)]
        try:
            return self.engine.ask(text, history=turns, k=parse_k(k)).to_dict()
        except QuestionError as error:
            raise InputError(str(error)) from error

    def reply(
        self, message: object, chat: object, k: object = DEFAULT_K, show_all: bool = False
    ) -> tuple[str, list[Message]]:
        """One chat turn: (text left in the input box, the chat's messages with the new turn).

        Bad input leaves the text in the box and adds a notice instead of a question and answer.
        """
        messages: list[Message] = [m for m in chat if isinstance(m, dict)] if isinstance(chat, list) else []
        try:
            text = validate_question(message, self.max_chars)
            previous = history_questions(messages, self.max_chars)
            turns = [{"role": "user", "content": q} for q in previous]
            answer = self.engine.ask(text, history=turns, k=parse_k(k))
        except (InputError, QuestionError) as error:
            raw = message if isinstance(message, str) else ""
            preview = raw.strip()[:PREVIEW_CHARS] + ("…" if len(raw.strip()) > PREVIEW_CHARS else "")
            notice = render_notice(str(error), preview)
            return raw, [*messages, {"role": "assistant", "content": notice}]
        except Exception:  # keep the chat usable; the traceback goes to the server log
            log.exception("answering %r failed", message)
            notice = render_notice("抱歉，回答这个问题时出错了，请换个问法再试。 (internal error)")
            return "", [*messages, {"role": "assistant", "content": notice}]
        followup = bool(previous) and answer.resolved_question != answer.question
        html_answer = render_answer(answer, show_all=bool(show_all), doc_titles=self.doc_titles, followup=followup)
        user = {"role": "user", "content": render_question(text)}
        return "", [*messages, user, {"role": "assistant", "content": html_answer}]
