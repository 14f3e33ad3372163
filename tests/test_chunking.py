"""Chunking: exact offsets, dedupe of the repeated report, section paths, periods, stable ids."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qa.chunking import ChunkerSettings, chunk_documents, pack, paragraphs, split_sentences
from qa.documents import Document, load_documents
from qa.types import SECTION_SEP, Chunk

COPIES = 8


def _doc(text: str, path: str = "r.txt") -> Document:
    return Document(path=path, text=text, sha256="0" * 64)


@pytest.fixture(scope="module")
def seed_chunks(seed_dir: Path) -> tuple[list[Chunk], int]:
    docs, _ = load_documents([seed_dir])
    return chunk_documents(docs)


def _containing(chunks: list[Chunk], needle: str) -> Chunk:
    hits = [c for c in chunks if needle in c.text]
    assert len(hits) == 1, f"{needle!r} is in {len(hits)} chunks"
    return hits[0]


def test_every_seed_chunk_has_exact_offsets(seed_chunks: tuple[list[Chunk], int], seed_text: str) -> None:
    chunks, _ = seed_chunks
    assert chunks
    for chunk in chunks:
        assert seed_text[chunk.start : chunk.end] == chunk.text, chunk.id
        assert chunk.text == chunk.text.strip(" \t\r\n\u3000"), chunk.id


def test_chunks_are_ordered_and_do_not_overlap(seed_chunks: tuple[list[Chunk], int]) -> None:
    chunks, _ = seed_chunks
    for a, b in zip(chunks, chunks[1:], strict=False):
        assert a.end <= b.start


def test_repeated_report_is_indexed_once_with_seven_duplicates(
    seed_chunks: tuple[list[Chunk], int], seed_text: str
) -> None:
    chunks, skipped = seed_chunks
    paras = [(s, e) for _, s, e in paragraphs(seed_text)]
    keys = [re.sub(r"\s+", "", seed_text[s:e]) for s, e in paras]
    distinct = set(keys)
    assert len(keys) == COPIES * len(distinct)
    assert skipped == (COPIES - 1) * len(distinct)
    assert all(chunk.duplicates == COPIES - 1 for chunk in chunks)
    # the chunks are the first copy's paragraphs, each exactly once
    first_copy_end = paras[len(distinct) - 1][1]
    assert all(chunk.end <= first_copy_end for chunk in chunks)
    for start, end in paras[: len(distinct)]:
        inside = [c.text for c in chunks if start <= c.start and c.end <= end]
        assert re.sub(r"\s+", "", "".join(inside)) == re.sub(r"\s+", "", seed_text[start:end])
    # and every chunk's text occurs once per copy of the report
    for chunk in chunks:
        assert seed_text.count(chunk.text) >= COPIES


def test_section_paths_follow_the_headings(seed_chunks: tuple[list[Chunk], int]) -> None:
    chunks, _ = seed_chunks
    tech = _containing(chunks, "大力发展科技型企业和高新技术企业")
    assert tech.section[:2] == ("二、2017年工作目标和主要任务", "(三)坚定不移实施创新驱动发展战略")
    assert tech.section_path.startswith(
        "二、2017年工作目标和主要任务" + SECTION_SEP + "(三)坚定不移实施创新驱动发展战略" + SECTION_SEP
    )
    assert len(tech.section) == 3  # the paragraph's topic sentence is the third level
    housing = _containing(chunks, "建成保障性住房")
    assert housing.section[:2] == ("二、2017年工作目标和主要任务", "(四)坚定不移保障和改善民生")
    revenue = _containing(chunks, "一般公共预算收入2723亿元")
    assert revenue.section == ("一、2016年工作回顾",)
    title = chunks[0]
    assert title.text == "2017年天津市政府工作报告(全文)"
    assert title.section == ("2017年天津市政府工作报告(全文)",)
    h1 = _containing(chunks, "二、2017年工作目标和主要任务")
    assert h1.text == "二、2017年工作目标和主要任务"
    assert h1.section == ("二、2017年工作目标和主要任务",)


def test_period_is_the_year_of_the_h1_heading(seed_chunks: tuple[list[Chunk], int]) -> None:
    chunks, _ = seed_chunks
    assert _containing(chunks, "预计去年全市生产总值17800亿元").period == 2016
    assert _containing(chunks, "生产总值增长8%").period == 2017
    assert _containing(chunks, "建成保障性住房").period == 2017
    assert chunks[0].period is None  # the title, above every H1
    for chunk in chunks:
        if chunk.section and chunk.section[0].startswith("一、"):
            assert chunk.period == 2016
        elif chunk.section and chunk.section[0].startswith("二、"):
            assert chunk.period == 2017


def test_ids_are_unique_and_stable_across_runs(seed_dir: Path, seed_chunks: tuple[list[Chunk], int]) -> None:
    chunks, _ = seed_chunks
    ids = [c.id for c in chunks]
    assert len(set(ids)) == len(ids)
    again, _ = chunk_documents(load_documents([seed_dir])[0])
    assert [c.to_json() for c in again] == [c.to_json() for c in chunks]
    assert all(c.id.startswith("tianjin_2017_government_work_report:") for c in chunks)


def test_chunks_respect_max_chars_unless_one_sentence_is_longer(seed_text: str) -> None:
    doc = _doc(seed_text)
    for max_chars in (60, 120, 300):
        chunks, _ = chunk_documents([doc], ChunkerSettings(max_chars=max_chars))
        for chunk in chunks:
            if len(chunk.text) > max_chars:
                assert len(split_sentences(chunk.text)) == 1, chunk.id
            assert seed_text[chunk.start : chunk.end] == chunk.text


def test_json_round_trip(seed_chunks: tuple[list[Chunk], int]) -> None:
    chunks, _ = seed_chunks
    for chunk in chunks[:20]:
        assert Chunk.from_json(chunk.to_json()) == chunk


def test_crlf_full_width_spaces_and_bom_keep_offsets_exact(tmp_path: Path) -> None:
    body = (
        "2017年某市政府工作报告\r\n\r\n"
        "\u3000\u3000一、2016年工作回顾\r\n"
        "\u3000\u3000预计去年全市生产总值17800亿元，增长9%左右;一般公共预算收入2723亿元。  \r\n"
        "\u3000\u3000二、2017年工作目标\r\n"
        "\u3000\u3000(一)推进改革，提升活力\r\n"
        "\t大力推进深化国有企业改革。以推进混合所有制改革为突破口。\r\n"
    )
    path = tmp_path / "r.txt"
    path.write_bytes(b"\xef\xbb\xbf" + body.encode("utf-8"))
    docs, _ = load_documents([path])
    text = docs[0].text
    chunks, _ = chunk_documents(docs)
    assert chunks
    for chunk in chunks:
        assert text[chunk.start : chunk.end] == chunk.text
        assert "\r" not in chunk.text and not chunk.text.startswith("\u3000")
    reform = _containing(chunks, "混合所有制改革")
    assert reform.section == ("二、2017年工作目标", "(一)推进改革", "大力推进深化国有企业改革")
    assert reform.period == 2017


def test_dedupe_within_a_document_ignores_whitespace_but_each_report_keeps_its_own_copy() -> None:
    shared = "全市经济稳中有进，发展质量效益进一步提高。"
    a = _doc(f"甲报告\n一、2016年回顾\n{shared}\n甲独有的段落。\n\u3000\u3000{shared[:6]} {shared[6:]}\n", "a.txt")
    b = _doc(f"乙报告\n一、2016年回顾\n{shared}\n乙独有的段落。\n", "b.txt")
    chunks, skipped = chunk_documents([a, b])
    assert skipped == 1  # a's second copy (spaces differ); b's copy is b's own
    copies = [c for c in chunks if c.text == shared]
    assert [c.doc for c in copies] == ["a.txt", "b.txt"]
    assert [c.duplicates for c in copies] == [1, 0]
    assert _containing(chunks, "乙独有的段落").doc == "b.txt"


def test_sections_know_their_years_and_phase() -> None:
    text = (
        "2013年政府工作报告\n一、过去五年工作回顾\n五年来经济较快发展。\n2012年，国内生产总值增长7.8%。\n"
        "二、今年的主要任务\n国内生产总值增长7.5%左右。\n过去一年，就业增加。\n三、加强政府自身建设\n依法行政。\n"
    )
    chunks, _ = chunk_documents([_doc(text, "r.txt")], years={"r.txt": 2013})
    five = _containing(chunks, "五年来")
    assert (five.period_from, five.period, five.phase) == (2008, 2012, "review")
    assert _containing(chunks, "7.8%").covers(2012) and _containing(chunks, "7.8%").period_from is None
    assert (_containing(chunks, "7.5%").period, _containing(chunks, "7.5%").phase) == (2013, "plan")
    assert (_containing(chunks, "就业增加").period, _containing(chunks, "就业增加").phase) == (2012, "review")
    assert (_containing(chunks, "依法行政").period, _containing(chunks, "依法行政").phase) == (2013, "plan")


def test_unnumbered_headings_open_sections() -> None:
    text = (
        "2025年某省政府工作报告\n省长 某某\n各位代表：\n2024年工作回顾\n全省生产总值增长5%。\n"
        "2025年工作安排\n增长5%左右。\n"
    )
    chunks, _ = chunk_documents([_doc(text, "p.txt")], years={"p.txt": 2025})
    assert _containing(chunks, "增长5%。").section[0] == "2024年工作回顾"
    assert _containing(chunks, "5%左右").phase == "plan"
    assert "省长 某某" in _containing(chunks, "省长").section[0] or _containing(chunks, "省长").period is None


def test_chunk_ids_are_unique_across_documents_with_the_same_stem() -> None:
    docs = [
        _doc("标题\n一、2016年回顾\n收入增长10%。\n", "2016/report.txt"),
        _doc("标题二\n一、2017年目标\n支出增长5%。\n", "2017/report.txt"),
        _doc("标题三\n一、2018年目标\n就业增长3%。\n", "2017/report.md"),
    ]
    chunks, _ = chunk_documents(docs)
    ids = [c.id for c in chunks]
    assert len(set(ids)) == len(ids), ids


def test_split_sentences_and_pack_cover_the_text() -> None:
    text = "增长8%;收入2723亿元。好！再来？"
    spans = split_sentences(text, 10)
    assert spans == [(10, 15), (15, 24), (24, 26), (26, 29)]
    assert pack([(0, 5), (5, 9), (9, 30)], 10) == [(0, 9), (9, 30)]


# --- property: any layout of headings and paragraphs keeps offsets exact -------------------------

SENTENCE = st.text(alphabet="天津市收入增长亿元万人，、%0123456789 ", min_size=1, max_size=40).map(lambda s: s + "。")
LINE = st.one_of(
    st.lists(SENTENCE, min_size=1, max_size=6).map("".join),
    st.sampled_from(["一、2016年回顾", "二、2017年目标", "(一)推进改革，提升活力", "（二）民生", "――成绩显著。"]),
    st.just(""),
)
INDENT = st.sampled_from(["", "\u3000\u3000", "  ", "\t"])
END = st.sampled_from(["\n", "\r\n", " \n"])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(INDENT, LINE, END), min_size=1, max_size=30), st.integers(20, 200))
def test_offsets_exact_for_any_layout(lines: list[tuple[str, str, str]], max_chars: int) -> None:
    text = "标题\n" + "".join(indent + line + end for indent, line, end in lines)
    chunks, skipped = chunk_documents([_doc(text)], ChunkerSettings(max_chars=max_chars))
    for chunk in chunks:
        assert text[chunk.start : chunk.end] == chunk.text
        assert chunk.text.strip()
    for a, b in zip(chunks, chunks[1:], strict=False):
        assert a.end <= b.start
    keys = [re.sub(r"\s+", "", text[s:e]) for _, s, e in paragraphs(text)]
    assert skipped == len(keys) - len(set(keys))
