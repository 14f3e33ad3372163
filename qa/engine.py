"""The question-answering engine: follow-up resolution → hybrid retrieval → reader → Answer."""

from __future__ import annotations

import os
import re
import threading
import unicodedata
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qa.dialogue import is_followup, previous_answers, previous_questions
from qa.embed import Embedder, load_embedder
from qa.index import FIX, Index, IndexError_, load_index
from qa.lexicon import pinyin_table
from qa.lexicon import preload as preload_dictionary
from qa.metadata import find_places, place_aliases
from qa.query import Question, analyse, localise, report_years
from qa.reader import NEURAL_MODEL_FILE, READ_PASSAGES, ReaderModel, Reading, Span, confidence, read
from qa.retrieve import RetrievalSettings, Scored, retrieve
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
from qa.text import normalize, tokenize
from qa.types import Answer, Citation, Passage

if TYPE_CHECKING:
    from qa.compare import Comparison

GROUNDING_PASSAGES = 10  # an English question's first search: the passages that choose its translations
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
ABSTAIN_BELOW = 0.5  # for an optional transformers reader; the built-in one fits its own threshold


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


class Engine:
    """Answers questions from one index. Thread-safe: queries share read-only state."""

    def __init__(
        self,
        index: Index,
        embedder: Embedder,
        settings: RetrievalSettings | None = None,
        reader: Any = None,
        reader_model: ReaderModel | None = None,
    ) -> None:
        self.index = index
        self.embedder = embedder
        self.settings = settings or RetrievalSettings()
        self.hf_reader = reader  # an optional qa.hf_reader.HFReader that replaces the built-in reader
        self.reader_model = reader_model or ReaderModel.load()  # the built-in reader's fitted parameters
        self.min_confidence = self.reader_model.threshold  # strict: self.reader_model.strict_threshold
        years = [y for y in index.doc_years.values() if y]
        self.report_year: int | None = max(years) if years else None
        self.spans = coverage(index.chunks)  # per report: the years its sections speak of, by phase
        self.ranges = range_coverage(index.chunks)  # per report: the multi-year periods it speaks of
        self.home_places = self._home_places()
        self.home = tuple(sorted(self.home_places, key=len, reverse=True))
        self._names: dict[str, tuple[str, ...]] | None = None
        # CC-CEDICT takes ~1.5 s to load: in the background, not on the first English question
        threading.Thread(target=self._preload_english, daemon=True, name="qa-cedict").start()

    @classmethod
    def load(
        cls,
        path: str | Path = "index",
        model: str | None = None,
        verify: bool = True,
        reader: str | None = None,
        neural: bool = False,
    ) -> Engine:
        """Load an index and the embedder its manifest names; ``model`` must agree if given.

        ``reader`` names a Hugging Face extractive-QA model (hub id or folder) to read answers
        with instead of the built-in reader (default: ``QA_READER``, else built-in).
        ``neural`` (or ``QA_NEURAL=1``) picks the built-in reader that also reads the top
        passages with the fine-tuned span model: better on general text, ~40 ms slower.
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
        neural = neural or os.environ.get("QA_NEURAL", "") not in ("", "0")
        reader_model = ReaderModel.load(NEURAL_MODEL_FILE) if neural else None
        engine = cls(index, embedder, reader=hf_reader, reader_model=reader_model)
        engine.warm_up()
        return engine

    def warm_up(self) -> None:
        """Load the lazy parts (jieba dictionaries, tagger, model scratch space) before the first user."""
        self.ask("2016年生产总值增长多少？")
        self.ask("哪个博物馆？")

    def _preload_english(self) -> None:
        preload_dictionary()
        self.names()

    def names(self) -> dict[str, tuple[str, ...]]:
        """The reports' words by their pinyin, to read romanised names in English questions."""
        if self._names is None:
            self._names = pinyin_table(self.index.bm25.term_index)
        return self._names

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
            said = tuple(normalize(a) for a in previous_answers(history)[-3:])
            own = replace(analyse(question, year, previous, home=self.home), said=said)
        return localise(own, self._known, self.home, self.names() if own.lang == "en" else None)

    def _ground(self, q: Question, scope: Scope, query_vector: Any = None) -> Question:
        """An English question's translations chosen again, by the passages a first search finds:
        of the dictionary's words for a phrase, the one the reports use where the question's
        other phrases stand (total → 总量 beside 生产总值, not the commoner 整个)."""
        ranked = retrieve(
            self.index,
            self.embedder,
            q,
            GROUNDING_PASSAGES,
            self.settings,
            query_vector=query_vector,
            positions=scope.positions,
        )
        context = [normalize(self.index.chunks[s.position].text) for s in ranked]
        return localise(q, self._known, self.home, self.names(), context)

    def _known(self, word: str) -> bool:
        """Do the indexed reports use this word (as one search token, or all of its tokens)?"""
        vocab = self.index.bm25.term_index
        return word in vocab or (len(word) >= 3 and all(t in vocab for t in tokenize(word)))

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
        query_vector = None
        if q.lang == "en":  # one query embedding serves both searches (the second changes the words)
            query_vector = self.embedder.embed_queries([q.search_text])[0]
            q = self._ground(q, scope, query_vector)
        about = self._about_report(text, q, scope, k)
        return about or self._answer(text, q, scope, k, query_vector)

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
        threshold = ABSTAIN_BELOW if self.hf_reader is not None else self.min_confidence
        found = reading is not None and confidence >= threshold and not reason
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

    def _confidence(
        self, q: Question, ranked: list[Scored], reading: Reading | None, scope: Scope | None = None
    ) -> tuple[float, str]:
        """The reader's confidence, unless the passage is not about the year or place asked."""
        if ranked and reading is not None:
            chunk = self.index.chunks[reading.scored.position]
            passage_norm = normalize(" ".join(chunk.section) + chunk.text)
            for year in q.years:
                if str(year) not in passage_norm and year not in self.spans.get(chunk.doc, {}) and len(q.years) == 1:
                    return 0.05, f"the report does not cover {year}"
            for place in self._foreign_places(q, scope.home if scope else ()):
                # one-character abbreviations (台, 京) stand inside other words (千亿台阶): not evidence
                if not any(alias in passage_norm for alias in place_aliases(place) if len(alias) > 1):
                    if place not in self.index.doc_places.values():
                        documents = self.index.documents.values()
                        mentioned = any(a in d.text for d in documents for a in place_aliases(place) if len(a) > 1)
                        return 0.1, no_report(place, describe(documents), read=mentioned)
                    return 0.1, f"the passage does not speak of {place}"
            if reading.scored.period_match < 0 and not any(str(y) in passage_norm for y in q.years):
                return 0.15, "the passage speaks of another year"
        return confidence(q, ranked, reading, self.reader_model)

    def _read(self, q: Question, ranked: list[Scored]) -> Reading | None:
        return read(self.index, q, ranked, self._foreign_places(q), self.reader_model)

    def _foreign_places(self, q: Question, home: Sequence[str] = ()) -> list[str]:
        """Places named in the question other than the chosen reports' own."""
        home = home or self.home
        return [p for p in q.places if p not in home]
