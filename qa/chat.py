"""The chat app's logic without Gradio: input checks, conversation history, replies for UI and API.

:class:`ChatService` wraps one loaded :class:`~qa.engine.Engine` (shared by all sessions; the
engine is thread-safe). ``ask``, ``compare``, ``documents`` and ``text`` serve programs (JSON
values, or :class:`InputError`); ``turn`` serves the chat window (HTML messages and the latest
comparison, never an exception for bad input).
"""

from __future__ import annotations

import html
import logging
import math
import os
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from qa.compare import Comparison
from qa.engine import Engine, QuestionError
from qa.render import render_answer, render_comparison, render_notice, render_question
from qa.scope import describe
from qa.types import Chunk

DEFAULT_MAX_CHARS = int(os.environ.get("QA_APP_MAX_CHARS", "500"))
DEFAULT_K = 5
MAX_K = 20
PREVIEW_CHARS = 40
ALLOWED_CONTROLS = "\t\n\r"
MAX_FILTER_CHARS = 200  # longest document name or place accepted as a filter
NAMES_IN_ERRORS = 12  # documents listed when one asked for is unknown
DESCRIBE_PLACES = 8  # places named in the page's line about the corpus

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


def _filter_text(value: object, name: str) -> str:
    if not isinstance(value, str):
        raise InputError(f"{name} 必须是文本。 ({name} must be a string, got {value!r})")
    text = value.strip()
    if len(text) > MAX_FILTER_CHARS:
        raise InputError(f"{name} 太长（上限 {MAX_FILTER_CHARS} 个字符）。 ({name} is too long)")
    return text


def parse_docs(docs: object) -> list[str] | None:
    """The reports to restrict to (paths, file names, stems or labels such as 浙江 2025); None = all.

    >>> parse_docs(None), parse_docs([]), parse_docs("a.txt"), parse_docs(["a.txt", " ", "b"])
    (None, None, ['a.txt'], ['a.txt', 'b'])
    """
    if docs is None or docs == "":
        return None
    items = [docs] if isinstance(docs, str) else docs
    if not isinstance(items, (list, tuple)):
        raise InputError("docs 必须是文档名的列表。 (docs must be a list of document names)")
    names = [_filter_text(item, "docs") for item in items]
    return [n for n in names if n] or None


def parse_place(place: object) -> str | None:
    """A place filter (any name of it: 浙江, 浙江省); None or "" = any place."""
    if place is None:
        return None
    return _filter_text(place, "place") or None


def parse_year(year: object) -> int | None:
    """A report-year filter: a whole number (2025, "2025", 2025.0); None or "" = any year.

    >>> parse_year(2025), parse_year("2025"), parse_year(None), parse_year("")
    (2025, 2025, None, None)
    """
    if year is None or (isinstance(year, str) and not year.strip()):
        return None
    error = InputError(f"year 必须是年份（整数）。 (year must be a whole number, got {year!r})")
    if isinstance(year, bool) or not isinstance(year, (int, float, str)):
        raise error
    try:
        value = float(year)
    except ValueError:
        raise error from None
    if not math.isfinite(value) or value != int(value) or not 1900 <= value <= 2200:
        raise error
    return int(value)


def parse_offset(value: object, name: str) -> int | None:
    """A character offset into a document's text (a whole number ≥ 0), or None."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != int(value) or value < 0:
        raise InputError(f"{name} 必须是不小于 0 的整数。 ({name} must be a whole number >= 0, got {value!r})")
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


@dataclass(frozen=True)
class Filters:
    """Which reports a question is asked of (None everywhere: all of them)."""

    docs: list[str] | None = None
    place: str | None = None
    year: int | None = None

    @classmethod
    def parse(cls, docs: object = None, place: object = None, year: object = None) -> Filters:
        return cls(parse_docs(docs), parse_place(place), parse_year(year))

    def engine_kwargs(self) -> dict[str, Any]:
        return {"reports": self.docs, "place": self.place, "year": self.year}


@dataclass(frozen=True)
class Turn:
    """One chat turn for the page: the input box text, the chat's messages, the turn's comparison."""

    box: str
    messages: list[Message]
    comparison: Comparison | None = None


class ChatService:
    """One engine shared by every chat session and API call."""

    def __init__(self, engine: Engine, max_chars: int = DEFAULT_MAX_CHARS) -> None:
        self.engine = engine
        self.max_chars = max_chars
        titles = {d: info.meta.title for d, info in engine.index.documents.items() if info.meta.title}
        self.doc_titles = doc_titles(engine.index.chunks) | titles  # the report's own title first

    def describe(self) -> str:
        """One line about the corpus, for the page (plain text)."""
        documents = list(self.engine.index.documents.values())
        chunks = len(self.engine.index.chunks)
        if len(documents) <= 3:
            docs = [d.path for d in documents] or sorted({c.doc for c in self.engine.index.chunks})
            names = "、".join(f"《{self.doc_titles[d]}》" if d in self.doc_titles else d for d in docs)
            return f"{names}（{chunks} 个段落）"
        years = {d.meta.year for d in documents}
        places = list(dict.fromkeys(d.meta.place for d in documents))
        if len(years) == 1 and None not in years and len(places) == len(documents) and all(places):
            shown = "、".join(places[:DESCRIBE_PLACES]) + ("等" if len(places) > DESCRIBE_PLACES else "")
            return f"{len(documents)} 份{years.pop()}年报告：{shown}（{chunks} 个段落）"
        return f"{len(documents)} 份报告：{describe(documents, limit=DESCRIBE_PLACES)}（{chunks} 个段落）"

    # -- for programs ---------------------------------------------------------------------

    def ask(
        self,
        question: object,
        history: object = None,
        k: object = DEFAULT_K,
        docs: object = None,
        place: object = None,
        year: object = None,
    ) -> dict[str, Any]:
        """The engine's answer as a JSON dict (``mode`` "compare" with ``rows`` for comparison
        questions); :class:`InputError` for bad input or filters that match no report."""
        text = validate_question(question, self.max_chars)
        turns = [{"role": "user", "content": q} for q in history_questions(history, self.max_chars)]
        filters = Filters.parse(docs, place, year)
        try:
            return self.engine.ask(text, history=turns, k=parse_k(k), **filters.engine_kwargs()).to_dict()
        except QuestionError as error:
            raise InputError(str(error)) from error

    def compare(
        self, question: object, docs: object = None, place: object = None, year: object = None
    ) -> dict[str, Any]:
        """One cited answer per report (``Comparison.to_dict()``); :class:`InputError` for bad input."""
        text = validate_question(question, self.max_chars)
        filters = Filters.parse(docs, place, year)
        try:
            return self.engine.compare(text, **filters.engine_kwargs()).to_dict()
        except QuestionError as error:
            raise InputError(str(error)) from error

    def documents(self) -> list[dict[str, Any]]:
        """The reports in the index: what each is and how many chunks it has.

        ``doc`` is the document's path as citations name it (not ``path``: gradio_client would take a
        dict with a "path" for a file to download).
        """
        out = []
        for path, info in self.engine.index.documents.items():
            meta = info.meta
            out.append(
                {
                    "doc": path,
                    "label": info.label,
                    "title": meta.title,
                    "place": meta.place,
                    "level": meta.level,
                    "year": meta.year,
                    "date": meta.date,
                    "speaker": meta.speaker,
                    "speaker_title": meta.speaker_title,
                    "chunks": info.chunks[1] - info.chunks[0],
                    "format": info.format,
                }
            )
        return out

    def resolve_doc(self, doc: object) -> str:
        """A document's path from its path, file name, stem or label; :class:`InputError` naming the
        documents there are when it matches none (or several)."""
        name = _filter_text(doc, "doc")
        documents = self.engine.index.documents
        if name in documents:
            return name
        try:
            matches = self.engine.reports([name]) if name else ()
        except QuestionError:
            matches = ()
        if len(matches) == 1:
            return matches[0]
        listed = list(documents)[:NAMES_IN_ERRORS]
        more = f" … ({len(documents)} in all)" if len(documents) > NAMES_IN_ERRORS else ""
        raise InputError(
            f"索引中没有文档“{name}”。可用的文档：{'、'.join(listed)}{more} "
            f"(no document {name!r} in the index; it holds: {', '.join(listed)}{more})"
        )

    def text(self, doc: object, start: object = None, end: object = None) -> str:
        """A document's extracted text, or ``text[start:end]``: citations index it, so
        ``text(c["doc"], c["start"], c["end"]) == answer``."""
        full = self.engine.document_text(self.resolve_doc(doc))
        a, b = parse_offset(start, "start"), parse_offset(end, "end")
        a, b = 0 if a is None else a, len(full) if b is None else b
        if not a <= b <= len(full):
            raise InputError(
                f"start/end 超出范围：文档共 {len(full)} 个字符。 "
                f"(start and end must satisfy 0 <= start <= end <= {len(full)}, got {a} and {b})"
            )
        return full[a:b]

    # -- for the page -----------------------------------------------------------------------

    def reply(
        self, message: object, chat: object, k: object = DEFAULT_K, show_all: bool = False, docs: object = None
    ) -> tuple[str, list[Message]]:
        """One chat turn: (text left in the input box, the chat's messages with the new turn)."""
        turn = self.turn(message, chat, k, show_all, docs)
        return turn.box, turn.messages

    def turn(
        self, message: object, chat: object, k: object = DEFAULT_K, show_all: bool = False, docs: object = None
    ) -> Turn:
        """One chat turn, asked of the ``docs`` chosen on the page (none: all reports).

        Bad input leaves the text in the box and adds a notice instead of a question and answer.
        """
        messages: list[Message] = [m for m in chat if isinstance(m, dict)] if isinstance(chat, list) else []
        try:
            text = validate_question(message, self.max_chars)
            previous = history_questions(messages, self.max_chars)
            turns = [{"role": "user", "content": q} for q in previous]
            filters = Filters.parse(docs)
            answer = self.engine.ask(text, history=turns, k=parse_k(k), **filters.engine_kwargs())
        except (InputError, QuestionError) as error:
            raw = message if isinstance(message, str) else ""
            preview = raw.strip()[:PREVIEW_CHARS] + ("…" if len(raw.strip()) > PREVIEW_CHARS else "")
            notice = render_notice(str(error), preview)
            return Turn(raw, [*messages, {"role": "assistant", "content": notice}])
        except Exception:  # keep the chat usable; the traceback goes to the server log
            log.exception("answering %r failed", message)
            notice = render_notice("抱歉，回答这个问题时出错了，请换个问法再试。 (internal error)")
            return Turn("", [*messages, {"role": "assistant", "content": notice}])
        note = self.scope_note(filters)
        user = {"role": "user", "content": render_question(text)}
        comparison = answer.comparison if isinstance(answer.comparison, Comparison) else None
        if comparison is not None:
            html_answer = render_comparison(comparison, self.engine.document_text, note)
        else:
            followup = bool(previous) and answer.resolved_question != answer.question
            html_answer = render_answer(
                answer, show_all=bool(show_all), doc_titles=self.doc_titles, followup=followup, note=note
            )
        return Turn("", [*messages, user, {"role": "assistant", "content": html_answer}], comparison)

    def scope_note(self, filters: Filters) -> str:
        """Which reports a restricted question was asked of, for the reply ("" when all)."""
        if not filters.docs:
            return ""
        chosen = self.engine.reports(filters.docs)
        labels = [self.engine.index.documents[d].label for d in chosen]
        shown = "、".join(labels[:5]) + (f" 等 {len(labels)} 份" if len(labels) > 5 else "")
        return f"仅在所选报告中查找：{shown}"
