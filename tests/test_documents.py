"""Source loading: encodings, undecodable and binary files, folder expansion, content hashes."""

from __future__ import annotations

from pathlib import Path

import pytest

from qa.documents import (
    SUFFIXES,
    Document,
    SourceError,
    corpus_hash,
    decode,
    find_sources,
    load_documents,
    read_text,
    sha256_bytes,
)

TEXT = "2017年天津市政府工作报告\n一、2016年工作回顾\n　　一般公共预算收入2723亿元，增长10%;城镇登记失业率3.5%。\n"
UNDECODABLE = b"\xff\xfe\xfd\x80 not text \xff"  # invalid in UTF-8 and in GB18030, no NUL bytes


@pytest.mark.parametrize(
    "raw",
    [
        TEXT.encode("utf-8"),
        b"\xef\xbb\xbf" + TEXT.encode("utf-8"),
        TEXT.encode("gb18030"),
    ],
    ids=["utf-8", "utf-8-bom", "gb18030"],
)
def test_decode_encodings_give_the_same_text(raw: bytes) -> None:
    assert decode(raw, "x.txt") == TEXT


def test_bom_is_dropped_and_offsets_index_read_text(tmp_path: Path) -> None:
    path = tmp_path / "bom.txt"
    path.write_bytes(b"\xef\xbb\xbf" + TEXT.encode("utf-8"))
    text = read_text(path)
    assert not text.startswith("\ufeff")
    assert text == TEXT
    (doc,), errors = load_documents([path])
    assert errors == []
    assert doc.text == text  # chunk offsets are into exactly this string
    assert doc.sha256 == sha256_bytes(path.read_bytes())  # the hash is of the raw bytes


def test_undecodable_file_raises_source_error_naming_the_file(tmp_path: Path) -> None:
    (tmp_path / "good.txt").write_text(TEXT, encoding="utf-8")
    bad = tmp_path / "bad.txt"
    bad.write_bytes(UNDECODABLE)
    with pytest.raises(SourceError) as caught:
        load_documents([tmp_path])
    assert "bad.txt" in str(caught.value)
    assert "--skip-errors" in str(caught.value)


def test_skip_errors_keeps_the_good_files_and_reports_the_bad(tmp_path: Path) -> None:
    (tmp_path / "good.txt").write_text(TEXT, encoding="utf-8")
    (tmp_path / "bad.txt").write_bytes(UNDECODABLE)
    (tmp_path / "junk.md").write_bytes(b"\x00\x01\x02binary\x00")
    docs, errors = load_documents([tmp_path], skip_errors=True)
    assert [d.path for d in docs] == ["good.txt"]
    assert len(errors) == 2
    assert any("bad.txt" in e for e in errors)
    assert any("junk.md" in e and "binary" in e for e in errors)


def test_binary_file_with_nul_bytes_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "x.txt"
    path.write_bytes("天津".encode("utf-16-le") + b"\x00\x00a")
    with pytest.raises(SourceError, match="x.txt"):
        load_documents([path])


def test_find_sources_walks_folders_sorted_and_filters_suffixes(tmp_path: Path) -> None:
    names = ("b.txt", "a.md", "sub/c.TXT", "skip.doc", "notes.json", "metadata.csv", "c.txt.meta.json")
    hidden = (".hidden.txt", ".git/d.txt", "~$lock.txt", "sub/~$report.docx")
    for name in names + hidden:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"{TEXT}{name}\n", encoding="utf-8")  # different bytes: no copies
    found = find_sources([tmp_path])
    assert [f.relative_to(tmp_path).as_posix() for f, _ in found] == ["a.md", "b.txt", "sub/c.TXT"]
    docs, _ = load_documents([tmp_path])
    assert [d.path for d in docs] == ["a.md", "b.txt", "sub/c.TXT"]  # relative, forward slashes
    assert [d.format for d in docs] == ["md", "txt", "txt"]


def test_find_sources_takes_every_supported_suffix_in_any_case(tmp_path: Path) -> None:
    names = ["a.txt", "b.MD", "c.docx", "d.PDF", "e.html", "f.Htm"]
    for name in names:
        (tmp_path / name).write_bytes(b"x")
    assert [f.name for f, _ in find_sources([tmp_path])] == names
    assert SUFFIXES == (".txt", ".md", ".docx", ".pdf", ".html", ".htm")


def test_a_single_file_is_relative_to_its_folder(tmp_path: Path) -> None:
    path = tmp_path / "report.txt"
    path.write_text(TEXT, encoding="utf-8")
    (doc,), _ = load_documents([path])
    assert doc.path == "report.txt"
    assert doc.name == "report"


def test_missing_source_and_empty_folder_are_source_errors(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="no such file"):
        load_documents([tmp_path / "nope"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(SourceError, match=r"no \.txt, \.md, \.docx, \.pdf, \.html or \.htm files found"):
        load_documents([tmp_path / "empty"])


def test_corpus_hash_is_order_independent_and_content_sensitive(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text(TEXT, encoding="utf-8")
    (tmp_path / "b.txt").write_text(TEXT + "。", encoding="utf-8")
    docs, _ = load_documents([tmp_path])
    assert corpus_hash(docs) == corpus_hash(list(reversed(docs)))
    (tmp_path / "b.txt").write_text(TEXT + "！", encoding="utf-8")
    changed, _ = load_documents([tmp_path])
    assert corpus_hash(changed) != corpus_hash(docs)


def test_seed_decodes_and_holds_the_report_eight_times(seed_dir: Path, seed_text: str) -> None:
    docs, errors = load_documents([seed_dir])
    assert errors == []
    assert len(docs) == 1
    assert docs[0].text == seed_text
    assert seed_text.count("2017年天津市政府工作报告(全文)") == 8


def test_same_relative_path_in_two_roots_is_not_silently_dropped(tmp_path: Path) -> None:
    for folder, body in (("a", "收入增长10%。"), ("b", "支出增长5%。")):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "report.txt").write_text(f"标题\n{body}\n", encoding="utf-8")
    try:
        docs, _ = load_documents([tmp_path / "a", tmp_path / "b"])
    except SourceError as error:  # refusing with a clear message is an acceptable fix too
        assert "report.txt" in str(error)
        return
    assert len(docs) == 2
    assert len({d.path for d in docs}) == 2  # citations must tell the two files apart


def test_identical_files_are_loaded_once_and_listed_as_copies(tmp_path: Path) -> None:
    for name in ("a.txt", "b/a.txt", "c.md"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(TEXT, encoding="utf-8")
    (tmp_path / "d.txt").write_text(TEXT + "。", encoding="utf-8")
    docs, errors = load_documents([tmp_path])
    assert errors == []
    assert [(d.path, d.copies) for d in docs] == [("a.txt", ("b/a.txt", "c.md")), ("d.txt", ())]
    (tmp_path / "c.md").unlink()
    fewer, _ = load_documents([tmp_path])
    assert corpus_hash(fewer) != corpus_hash(docs)  # the copies are part of what was indexed


def test_document_keeps_its_positional_fields_and_defaults() -> None:
    doc = Document("r.txt", TEXT, "abc")
    assert (doc.path, doc.text, doc.sha256, doc.name) == ("r.txt", TEXT, "abc", "r")
    assert (doc.format, doc.page_starts, doc.copies, doc.page_at(0)) == ("txt", (), (), None)


def test_unreadable_file_is_a_source_error_and_can_be_skipped(tmp_path: Path) -> None:
    (tmp_path / "good.txt").write_text(TEXT, encoding="utf-8")
    folder = tmp_path / "folder.txt"  # a folder named like a document: read_bytes fails
    folder.mkdir()
    with pytest.raises(SourceError, match="folder.txt"):
        read_text(folder)
