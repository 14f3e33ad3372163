"""The question-answering engine: follow-up resolution → hybrid retrieval → reader → Answer."""

from __future__ import annotations

import math
import os
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qa.dialogue import is_followup, previous_questions
from qa.embed import Embedder, load_embedder
from qa.index import FIX, Index, IndexError_, load_index
from qa.metadata import find_places, place_aliases
from qa.query import Question, analyse, is_listing, report_years
from qa.reader import (
    DATE,
    YEAR_SPAN,
    Span,
    bare,
    book_titles,
    clause_bounds,
    cloze_spans,
    cue_fit,
    english_head,
    enumerations,
    head_noun_spans,
    number_spans,
    ordinal_spans,
    quoted_spans,
    support,
    trim,
    unit_fit,
)
from qa.retrieve import RetrievalSettings, Scored, equivalence_map, retrieve, term_weight
from qa.scope import (
    FilterError,
    Scope,
    choose,
    coverage,
    describe,
    filter_reports,
    no_report,
    range_coverage,
)
from qa.text import normalize
from qa.types import Answer, Citation, Passage

if TYPE_CHECKING:
    from qa.compare import Comparison

HEADER_CHARS = 400  # a report's title, date and speaker stand in its opening lines
DELIVERED = re.compile(r"(?:19|20)\d{2}\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日")
WHO_DELIVERED = re.compile(
    r"谁(?:作|做|所作|代表|宣读|发表)|(?:作|做)(?:的)?报告的是谁|报告人"
    r"|\bwho (?:delivered|gave|presented|made|read)\b"
)
WHEN_DELIVERED = re.compile(
    r"(?:哪天|哪一天|什么时候|何时|几月几日|哪一日|日期).{0,6}(?:作|做|发表|宣读|召开)?"
    r"|\bwhen was\b.*\b(?:delivered|given|presented)\b"
)


def report_fact(norm: str) -> str:
    """Does a question ask who delivered a report ("speaker") or when ("date")? "" if neither.

    >>> report_fact("2025年云南省政府工作报告是谁作的？"), report_fact("河南省政府工作报告是在哪天作的")
    ('speaker', 'date')
    >>> report_fact("生产总值增长多少")
    ''
    """
    if "报告" not in norm and "report" not in norm:
        return ""
    if WHO_DELIVERED.search(norm):
        return "speaker"
    if WHEN_DELIVERED.search(norm) and re.search(r"(?<!工)作|做|发表|宣读|deliver|given|present", norm):
        return "date"
    return ""


MAX_QUESTION_CHARS = int(os.environ.get("QA_MAX_QUESTION_CHARS", "1000"))
READ_PASSAGES = 6  # how many top passages the reader looks into
ABSTAIN_BELOW = 0.5


class QuestionError(ValueError):
    """A question that cannot be asked (empty, too long, no text); the message says why."""


def clean_question(question: object, max_chars: int = MAX_QUESTION_CHARS) -> str:
    """Validate and tidy a question: control characters out, length bounded, some text required.

    >>> clean_question("  GDP\\x00增长多少？ ")
    'GDP增长多少？'
    """
    if not isinstance(question, str):
        raise QuestionError("问题必须是文字 (the question must be text)")
    if len(question) > max_chars:
        raise QuestionError(
            f"问题太长：{len(question)} 个字符，上限 {max_chars} "
            f"(the question is too long: {len(question)} characters; the limit is {max_chars})"
        )
    text = "".join(" " if ch.isspace() else ch for ch in question if ch.isspace() or unicodedata.category(ch)[0] != "C")
    text = re.sub(r"\s+", " ", text).strip()
    if not text:
        raise QuestionError("问题是空的 (the question is empty)")
    if not any(ch.isalnum() for ch in text):
        raise QuestionError("问题里没有可以检索的文字 (the question has no words to search for)")
    return text


@dataclass(frozen=True)
class Reading:
    span: Span
    scored: Scored
    rank: int


class Engine:
    """Answers questions from one index. Thread-safe: queries share read-only state."""

    def __init__(
        self, index: Index, embedder: Embedder, settings: RetrievalSettings | None = None, reader: Any = None
    ) -> None:
        self.index = index
        self.embedder = embedder
        self.settings = settings or RetrievalSettings()
        self.hf_reader = reader  # an optional qa.hf_reader.HFReader that replaces the built-in reader
        years = [y for y in index.doc_years.values() if y]
        self.report_year: int | None = max(years) if years else None
        self.spans = coverage(index.chunks)  # per report: the years its sections speak of, by phase
        self.ranges = range_coverage(index.chunks)  # per report: the multi-year periods it speaks of
        self.home_places = self._home_places()
        self.home = tuple(sorted(self.home_places, key=len, reverse=True))

    @classmethod
    def load(
        cls, path: str | Path = "index", model: str | None = None, verify: bool = True, reader: str | None = None
    ) -> Engine:
        """Load an index and the embedder its manifest names; ``model`` must agree if given.

        ``reader`` names a Hugging Face extractive-QA model (hub id or folder) to read answers
        with instead of the built-in reader (default: ``QA_READER``, else built-in).
        """
        index = load_index(Path(path), verify=verify)
        if model and model != index.model_id:
            raise IndexError_(f"{path} was built with model {index.model_id!r}, not {model!r}: {FIX} --model {model}")
        embedder = load_embedder(index.model_id)
        if embedder.dim != index.manifest["model"]["dim"]:
            raise IndexError_(
                f"model {index.model_id!r} gives dimension {embedder.dim}, the index "
                f"holds {index.manifest['model']['dim']}: {FIX}"
            )
        reader = reader or os.environ.get("QA_READER") or None
        hf_reader = None
        if reader:
            from qa.hf_reader import HFReader

            hf_reader = HFReader(reader)
        engine = cls(index, embedder, reader=hf_reader)
        engine.warm_up()
        return engine

    def warm_up(self) -> None:
        """Load the lazy parts (jieba dictionaries, tagger, model scratch space) before the first user."""
        self.ask("2016年生产总值增长多少？")
        self.ask("哪个博物馆？")

    def _home_places(self) -> set[str]:
        """The places the reports are about, with every name of them (天津 → 天津市, 津)."""
        places: set[str] = set()
        for place in self.index.doc_places.values():
            if place:
                places.update(place_aliases(place))
        return places

    def _report_year(self, text: str, docs: Sequence[str]) -> int | None:
        """The year 今年/去年 are read against: the latest report of the places the question names."""
        named = set(find_places(normalize(text)))
        metas = [self.index.documents[d].meta for d in docs]
        years = [m.year for m in metas if m.year is not None and (not named or m.place in named)]
        return max(years) if years else self.report_year

    def analyse(
        self, question: str, history: Sequence[Any] | None = None, docs: Sequence[str] | None = None
    ) -> Question:
        """The question as the engine understands it, follow-ups resolved against ``history``."""
        docs = list(self.index.documents) if docs is None else docs
        previous: Question | None = None
        for earlier in previous_questions(history)[-3:]:
            try:
                text = clean_question(earlier)
            except QuestionError:
                continue  # an unusable earlier turn is ignored, not blamed on this question
            year = self._report_year(text, docs)
            own = analyse(text, year, home=self.home)
            if previous is not None and is_followup(text, bool(own.terms)):
                own = analyse(text, year, previous, home=self.home)
            previous = own
        year = self._report_year(question, docs)
        own = analyse(question, year, home=self.home)
        if previous is not None and is_followup(question, bool(own.terms)):
            return analyse(question, year, previous, home=self.home)
        return own

    def scope(self, q: Question, docs: Sequence[str]) -> Scope:
        """The reports a question is read from (its places and years narrow ``docs``)."""
        return choose(self.index, self.spans, self.ranges, docs, q.places, q.years, q.tense)

    def reports(
        self, reports: Sequence[str] | None = None, place: str | None = None, year: int | None = None
    ) -> tuple[str, ...]:
        """Documents the explicit filters select (all without filters); QuestionError if none."""
        try:
            return filter_reports(self.index, reports, place, year)
        except FilterError as error:
            raise QuestionError(str(error)) from None

    def ask(
        self,
        question: str,
        history: Sequence[Any] | None = None,
        k: int = 5,
        reports: Sequence[str] | None = None,
        place: str | None = None,
        year: int | None = None,
    ) -> Answer:
        """Answer from the index's reports, or from those ``reports`` / ``place`` / ``year`` select."""
        text = clean_question(question)
        k = max(1, min(int(k), 50))
        allowed = self.reports(reports, place, year)
        named_years = report_years(normalize(text))  # "the 2012 report": only the reports of that year
        if named_years and len(allowed) > 1:
            of_year = tuple(d for d in allowed if self.index.documents[d].meta.year in named_years)
            allowed = of_year or allowed
        if len(allowed) > 1:
            comparison = self._comparison(text, history, allowed)
            if comparison is not None:
                return comparison
        q = self.analyse(text, history, allowed)
        scope = self.scope(q, allowed)
        if scope.reason:  # no report can answer: say so, and show what comes closest
            ranked = retrieve(self.index, self.embedder, q, k, self.settings, positions=self.index.positions(allowed))
            passages = tuple(Passage(self.index.chunks[s.position], s.score) for s in ranked[:k])
            return Answer(text, False, "", 0.02, Citation(), passages, -1, q.readable or text, scope.reason)
        q = replace(q, tense=scope.tense, tense_inferred=scope.inferred)
        about = self._about_report(text, q, scope, k)
        return about or self._answer(text, q, scope, k)

    def _about_report(self, text: str, q: Question, scope: Scope, k: int) -> Answer | None:
        """Who delivered the report, and when: read from its opening lines (its metadata), cited there."""
        asked = report_fact(q.norm) or (report_fact(f"报告 {q.norm}") if "报告" in q.context else "")
        if not asked or len(scope.docs) != 1:
            return None
        doc = self.index.documents[scope.docs[0]]
        head = doc.text[:HEADER_CHARS]
        if asked == "speaker" and doc.meta.speaker and doc.meta.speaker in head:
            start = head.index(doc.meta.speaker)
            end = start + len(doc.meta.speaker)
        elif asked == "date" and (date := DELIVERED.search(head)):
            start, end = date.span()
        else:
            return None
        first, last = doc.chunks
        holding = next(
            (i for i in range(first, last) if self.index.chunks[i].start <= start < self.index.chunks[i].end), first
        )
        chunk = self.index.chunks[holding]
        passages = (Passage(chunk, 1.0),)
        citation = Citation(doc.path, chunk.section_path, start, end, self._page(doc.path, start))
        return Answer(text, True, doc.text[start:end], 0.97, citation, passages, 0, q.readable or text)

    def _answer(self, text: str, q: Question, scope: Scope, k: int, query_vector: Any = None) -> Answer:
        """Retrieve within the scope's reports, read the best span, decide whether to answer."""
        ranked = retrieve(
            self.index,
            self.embedder,
            q,
            max(k, READ_PASSAGES),
            self.settings,
            query_vector=query_vector,
            positions=scope.positions,
        )
        if self.hf_reader is not None:
            reading, confidence, reason = self._read_with_model(q, ranked)
        else:
            reading = self._read(q, ranked)
            confidence, reason = self._confidence(q, ranked, reading, scope)
        found = reading is not None and confidence >= ABSTAIN_BELOW and not reason
        order = list(ranked)
        if found and reading is not None:
            order.insert(0, order.pop(reading.rank))  # the passage that proves the answer first
        passages = tuple(Passage(self.index.chunks[s.position], s.score) for s in order[:k])
        if not found or reading is None:
            reason = reason or "the answer's support is too weak"
            return Answer(text, False, "", confidence, Citation(), passages, -1, q.readable or text, reason)
        chunk = self.index.chunks[reading.scored.position]
        start, end = chunk.start + reading.span.start, chunk.start + reading.span.end
        answer = chunk.text[reading.span.start : reading.span.end]
        page = self._page(chunk.doc, start)
        citation = Citation(chunk.doc, chunk.section_path, start, end, page)
        return Answer(text, True, answer, confidence, citation, passages, 0, q.readable or text)

    def _comparison(self, text: str, history: Sequence[Any] | None, allowed: Sequence[str]) -> Answer | None:
        """A comparison question (各省…分别是多少, 历年…, 北京和上海…相比) answered row by row; None otherwise."""
        from qa.compare import is_comparison
        from qa.query import named_places

        norm = normalize(text)
        if not is_comparison(norm, named_places(norm)[0]):
            return None
        comparison = self.compare(text, history, reports=allowed)
        if len(comparison.rows) < 2:
            return None
        found = [r for r in comparison.rows if r.found]
        summary = f"{len(found)}/{len(comparison.rows)} 个报告给出了答案"
        confidence = max((r.confidence for r in found), default=0.0)
        return Answer(text, bool(found), "", confidence, Citation(), (), -1, comparison.metric, summary, comparison)

    def compare(
        self,
        question: str,
        history: Sequence[Any] | None = None,
        reports: Sequence[str] | None = None,
        place: str | None = None,
        year: int | None = None,
    ) -> Comparison:
        """One cited answer from every report the question covers (see qa.compare)."""
        from qa.compare import compare

        return compare(self, question, history, reports, place, year)

    def document_text(self, doc: str) -> str:
        """A document's extracted text, as citations index it: ``document_text(doc)[start:end] == answer``."""
        return self.index.text(doc)

    def _page(self, doc: str, offset: int) -> int | None:
        """The PDF page an offset stands on (None for other formats)."""
        import bisect

        starts = self.index.documents[doc].page_starts if doc in self.index.documents else ()
        return bisect.bisect_right(starts, offset) if starts else None

    # -- reader -------------------------------------------------------------------------

    def _read_with_model(self, q: Question, ranked: list[Scored]) -> tuple[Reading | None, float, str]:
        """The optional transformers reader: its best span among the top passages, its probability."""
        top = ranked[:READ_PASSAGES]
        texts = [self.index.chunks[s.position].text for s in top]
        found = self.hf_reader.best_span(q.readable or q.text, texts) if texts else None
        if found is None:
            return None, 0.0, "the reader model found no answer"
        rank, start, end, score = found
        reading = Reading(Span(start, end, "model", score, score), top[rank], rank)
        return reading, float(score), ""

    def _read(self, q: Question, ranked: list[Scored]) -> Reading | None:
        terms = q.terms + q.extra_terms
        weights = {t: term_weight(self.index, t) for t in terms}
        groups = equivalence_map(q)
        top = ranked[0].score if ranked else 0.0
        best: Reading | None = None
        for rank, scored in enumerate(ranked[:READ_PASSAGES]):
            chunk = self.index.chunks[scored.position]
            text = chunk.text
            norm = normalize(text)
            prior = 0.8 * (scored.score - top) - 0.03 * rank + 0.2 * scored.period_match
            for span in self._candidates(q, text, norm, terms, weights, groups, scored.coverage):
                span = replace(span, score=span.score + prior)
                if best is None or span.score > best.span.score:
                    best = Reading(span, scored, rank)
        return best

    def _candidates(
        self,
        q: Question,
        text: str,
        norm: str,
        terms: tuple[str, ...],
        weights: dict[str, float],
        groups: dict[str, tuple[str, ...]],
        coverage: float,
    ) -> list[Span]:
        spans: list[Span] = []
        foreign = self._foreign_places(q)

        def sup(a: int, b: int, inside: bool = False) -> float:
            value = support(norm, a, b, terms, weights, groups, q.bigrams, inside)
            if foreign:  # a place the question names must stand next to the answer
                cs, ce = clause_bounds(norm, a)
                ps = clause_bounds(norm, cs - 2)[0] if cs >= 2 else cs
                if not any(p in norm[ps:ce] for p in foreign):
                    value *= 0.3
            return value

        if q.kind in ("number", "other"):
            states_bound = re.search(r"低于|高于|不少于|不超过|超过|以上|以下|以内|至少|最少|最多", q.norm)
            for a, b, unit in number_spans(norm):  # normalised: full-width ７.５％ reads as 7.5%
                if states_bound:  # 不能低于多少 → 18亿亩, not 不少于18亿亩
                    a, b = bare(norm, a, b)
                s = sup(a, b)
                fit = unit_fit(unit, q.unit_hint)
                cue = cue_fit(norm, a, f"{q.norm} {q.context} {' '.join(q.terms)}", b)
                spans.append(Span(a, b, "number", 1.2 * s + 0.5 * fit + cue, s, fit=fit))
        elif q.kind == "date":
            pattern = YEAR_SPAN if q.unit_hint == "年" else DATE
            for m in pattern.finditer(text):
                s = sup(m.start(), m.end())
                spans.append(Span(m.start(), m.end(), "date", 1.2 * s, s))
        else:
            spans.extend(self._slot_candidates(q, text, norm, sup, coverage))
        for a, b in ordinal_spans(norm, q.norm):  # 第几届 / 哪一届
            s = sup(a, b)
            spans.append(Span(a, b, "ordinal", 1.2 * s + 0.5, s, 0.5))
        return spans

    def _slot_candidates(
        self, q: Question, text: str, norm: str, sup: Callable[..., float], coverage: float
    ) -> list[Span]:
        """Names, phrases and lists: cloze fills, noun phrases, quotes, enumerations, titles."""
        spans: list[Span] = []
        wanted_chars = _wanted_length(q.norm)
        wanted_items = _wanted_items(q.norm)
        found = cloze_spans(text, q)
        head = english_head(q.norm) if q.lang == "en" else ""
        if not found and (q.wh.startswith(("哪", "什么")) or head):
            found += head_noun_spans(text, q, head)
        for a, b, strength in found:
            a, b = trim(text, a, b)
            if b - a < 1:
                continue
            s = sup(a, b)
            spans.append(Span(a, b, "slot", 1.2 * s + 0.3 * strength, s, strength))
        label = re.search(r"[“「\"]([^”」\"]{1,8})[”」\"]", q.norm)
        for a, b in quoted_spans(text):
            inner = b - a - 2
            s = sup(a, b)
            bonus = 0.6 if wanted_chars and _cjk_len(text[a + 1 : b - 1]) == wanted_chars else 0.0
            if label and norm[a + 1 : b - 1].startswith(label.group(1)) and norm[a + 1 : b - 1] != label.group(1):
                bonus = 0.6  # 坚持哪个“两个” → “两个毫不动摇”
            if bonus:
                s = max(s, 0.8 * coverage)
            if inner >= 1:
                spans.append(Span(a + 1, b - 1, "quote", 1.2 * s + 2 * bonus, s, 0.2 + 2 * bonus))
        if wanted_items or is_listing(q.wh) or re.search(r"\b(?:which|what) (?:two|three|four|five)\b", q.norm):
            for a, b, count in enumerations(text, q.norm):
                s = sup(a, b)
                if wanted_items and count == wanted_items:
                    s = max(s, 0.8 * coverage)
                bonus = 0.6 if wanted_items and count == wanted_items else 0.0
                if _shared_suffix(norm[a:b], q.norm):
                    bonus += 0.3  # the items end like the question's noun (政治意识… ~ 四个意识)
                spans.append(Span(a, b, "list", 1.2 * s + 0.2 + bonus, s, 0.5 + bonus))
        if re.search(r"条例|法规|规划|纲要|文件|意见|办法|法\b", q.norm + " ".join(q.terms)):
            for a, b in book_titles(text):
                s = sup(a, b, inside=True)
                spans.append(Span(a, b, "title", 1.2 * s + 0.5, s, 0.5))
        return spans

    def _foreign_places(self, q: Question, home: Sequence[str] = ()) -> list[str]:
        """Places named in the question other than the chosen reports' own."""
        home = home or self.home
        return [p for p in q.places if p not in home]

    def _confidence(
        self, q: Question, ranked: list[Scored], reading: Reading | None, scope: Scope | None = None
    ) -> tuple[float, str]:
        """Confidence in [0, 1] and, if the report cannot answer, why."""
        if not ranked:
            return 0.0, "no passage to read"
        top = ranked[0]
        if reading is None:
            return _sigmoid(2.0 * top.coverage - 3.0), "no span of the asked-for kind"
        chunk = self.index.chunks[reading.scored.position]
        passage_norm = normalize(" ".join(chunk.section) + chunk.text)
        for year in q.years:
            if str(year) not in passage_norm and year not in self.spans.get(chunk.doc, {}) and len(q.years) == 1:
                return 0.05, f"the report does not cover {year}"
        for place in self._foreign_places(q, scope.home if scope else ()):
            if not any(alias in passage_norm for alias in place_aliases(place)):
                reports = self.index.doc_places.values()
                if place not in reports:
                    return 0.1, no_report(place, describe(self.index.documents.values()))
                return 0.1, f"the passage does not speak of {place}"
        pm = reading.scored.period_match
        if pm < 0 and not any(str(y) in passage_norm for y in q.years):
            return 0.15, "the passage speaks of another year"
        if reading.span.fit < 0:
            return _sigmoid(5.0 * (reading.span.support - 0.4)) * 0.3, "no figure in the unit asked for"
        x = (
            5.0 * (reading.span.support - 0.4)  # the topic stands right next to the answer
            + 1.0 * (reading.scored.coverage - 0.5)  # the passage covers the topic
            + 0.8 * reading.span.anchor  # the question's own wording frames the answer
            - 0.2 * reading.rank
            + (0.3 if pm > 0 else -0.8 if pm < 0 else 0.0)
        )
        return _sigmoid(x), ""


def _wanted_length(norm: str) -> int:
    """Characters a question asks for: 那十六个字 → 16, 哪五个字 → 5 (0 when it does not say)."""
    match = re.search(r"([一二两三四五六七八九十]+|\d+)个?字", norm)
    return _number(match.group(1)) if match else 0


def _wanted_items(norm: str) -> int:
    """Items a list question asks for: 哪四个 → 4, 哪“三大平台” → 3."""
    match = re.search(r"哪([一二两三四五六七八九十]+|\d+)|[“\"]([一二两三四五六七八九十]+)[大个项]", norm)
    if match:
        return _number(match.group(1) or match.group(2))
    match = re.search(r"\b(two|three|four|five|six)\b", norm)
    return ("two", "three", "four", "five", "six").index(match.group(1)) + 2 if match else 0


def _number(text: str) -> int:
    """Small Chinese or Arabic numbers: 十六 → 16, 两 → 2."""
    if text.isdigit():
        return int(text)
    digits = {c: i for i, c in enumerate("零一二三四五六七八九")} | {"两": 2}
    if "十" in text:
        tens, _, ones = text.partition("十")
        return (digits.get(tens, 1) if tens else 1) * 10 + (digits.get(ones, 0) if ones else 0)
    return digits.get(text, 0)


def _shared_suffix(items: str, question: str) -> bool:
    """Do a list's items end with a two-character word the question also uses?"""
    parts = re.split(r"[、和及]", items)
    ends = {p[-2:] for p in parts if len(p) >= 2}
    return len(ends) == 1 and next(iter(ends)) in question


def _cjk_len(text: str) -> int:
    return sum(1 for ch in text if "\u4e00" <= ch <= "\u9fff")


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))
