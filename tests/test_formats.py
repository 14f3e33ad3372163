"""Source formats: .docx, .pdf and .html made at test time with the real libraries, and the 31 real .docx reports."""

from __future__ import annotations

import os
import re
import time
import zipfile
from pathlib import Path

import pytest

from qa.documents import Document, SourceError, find_sources, load_documents, read_text

CORPORA = Path(__file__).resolve().parents[1].parent / "shared" / "corpora"
PROVINCES = CORPORA / "provinces-2025"
FIGURE = "粮食产量1234.5万吨"


def _load_one(path: Path) -> Document:
    (doc,), errors = load_documents([path])
    assert errors == []
    assert doc.text == read_text(path)  # offsets index the same string either way
    return doc


def _round_trip(path: Path, doc: Document, figure: str) -> None:
    start = doc.text.index(figure)
    assert read_text(path)[start : start + len(figure)] == figure


# --- .docx ------------------------------------------------------------------------------------


def make_docx(path: Path) -> Path:
    import docx

    document = docx.Document()
    document.add_heading("2025年测试省政府工作报告", level=1)
    document.add_paragraph("各位代表：")
    document.add_paragraph("")  # empty paragraphs are dropped
    document.add_paragraph("　　一、2024年工作回顾")
    document.add_paragraph(f"全省地区生产总值  增长5.4%，{FIGURE}，城镇新增就业68万人。")
    table = document.add_table(rows=2, cols=3)
    rows = (("指标", "2024年", "2025年目标"), ("生产总值增长", "5.4%", "5.5%左右"))
    for row, cells in zip(table.rows, rows, strict=True):
        for cell, text in zip(row.cells, cells, strict=True):
            cell.text = text
    document.add_paragraph("二、2025年工作安排")
    document.add_paragraph("   ")  # whitespace only: dropped too
    document.add_paragraph("今年的主要预期目标是：地区生产总值增长5.5%左右。")
    document.save(str(path))
    return path


def test_docx_paragraphs_and_table_rows_in_document_order(tmp_path: Path) -> None:
    path = make_docx(tmp_path / "report.docx")
    doc = _load_one(path)
    assert doc.format == "docx"
    assert doc.page_starts == () and doc.page_at(0) is None
    assert doc.text == "\n".join(
        [
            "2025年测试省政府工作报告",
            "各位代表：",
            "　　一、2024年工作回顾",  # verbatim, leading ideographic spaces kept
            f"全省地区生产总值  增长5.4%，{FIGURE}，城镇新增就业68万人。",  # inner spaces kept
            "指标\t2024年\t2025年目标",
            "生产总值增长\t5.4%\t5.5%左右",
            "二、2025年工作安排",
            "今年的主要预期目标是：地区生产总值增长5.5%左右。",
        ]
    )
    _round_trip(path, doc, FIGURE)
    _round_trip(path, doc, "5.5%左右")


def test_docx_extraction_is_deterministic(tmp_path: Path) -> None:
    path = make_docx(tmp_path / "report.docx")
    assert read_text(path) == read_text(path)


@pytest.mark.parametrize(
    "raw",
    [b"\xd0\xcf\x11\xe0 an old binary .doc renamed", b"PK\x03\x04 truncated zip"],
    ids=["not-a-zip", "truncated-zip"],
)
def test_corrupt_docx_is_a_one_line_source_error_naming_it(tmp_path: Path, raw: bytes) -> None:
    path = tmp_path / "broken.docx"
    path.write_bytes(raw)
    with pytest.raises(SourceError) as caught:
        load_documents([path])
    message = str(caught.value)
    assert "broken.docx" in message and "\n" not in message
    assert "--skip-errors" in message


def test_zip_without_a_word_document_is_a_source_error(tmp_path: Path) -> None:
    path = tmp_path / "empty.docx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("hello.txt", "not a word document")
    with pytest.raises(SourceError, match="empty.docx: cannot read .docx") as caught:
        read_text(path)
    assert "\n" not in str(caught.value)


# --- .pdf -------------------------------------------------------------------------------------


def _cjk_font() -> Path | None:
    patterns = ("opentype/noto/NotoSansCJK-Regular.ttc", "opentype/noto/NotoSerifCJK-Regular.ttc", "**/*CJK*.tt[cf]")
    for pattern in patterns:
        found = sorted(Path("/usr/share/fonts").glob(pattern))
        if found:
            return found[0]
    return None


@pytest.fixture(scope="module")
def cjk_font() -> Path:
    font = _cjk_font()
    if font is None:
        message = "no CJK font (apt-get install fonts-noto-cjk; scripts/install-browser.sh does)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    return font


PAGES = (
    "2025年测试省政府工作报告\n一、2024年工作回顾\n地区生产总值增长5.4%。",
    f"城镇新增就业68万人。\n{FIGURE}，再创新高。",
    "二、2025年工作安排\n居民消费价格涨幅2%左右。",
)


def make_pdf(path: Path, font: Path, pages: tuple[str, ...] = PAGES) -> Path:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_font("cjk", fname=str(font), collection_font_number=2 if font.suffix == ".ttc" else 0)
    for page in pages:
        pdf.add_page()
        pdf.set_font("cjk", size=14)
        for line in page.split("\n"):
            pdf.cell(0, 10, line, new_x="LMARGIN", new_y="NEXT")
    pdf.output(str(path))
    return path


def test_pdf_pages_text_and_page_numbers(tmp_path: Path, cjk_font: Path) -> None:
    path = make_pdf(tmp_path / "report.pdf", cjk_font)
    doc = _load_one(path)
    assert doc.format == "pdf"
    assert len(doc.page_starts) == 3 and doc.page_starts[0] == 0
    ends = [*doc.page_starts[1:], len(doc.text)]
    pages = [doc.text[a:b].rstrip("\n") for a, b in zip(doc.page_starts, ends, strict=True)]
    for page, expected in zip(pages, PAGES, strict=True):
        assert "".join(page.split()) == "".join(expected.split())  # the text layer, as written
    start = doc.text.index(FIGURE)
    assert doc.page_at(start) == 2
    assert doc.page_at(doc.text.index("居民消费价格")) == 3
    assert doc.page_at(0) == 1
    _round_trip(path, doc, FIGURE)


def test_pdf_with_more_than_256_glyphs_keeps_its_chinese(tmp_path: Path, cjk_font: Path) -> None:
    """Two-byte CID codes (an embedded CMap) must not be read as one-byte codes."""
    text = "".join(chr(c) for c in range(0x4E00, 0x4E00 + 300))
    path = make_pdf(tmp_path / "many.pdf", cjk_font, pages=(text[:150], text[150:]))
    assert "".join(read_text(path).split()) == text


def test_pdf_without_a_text_layer_is_refused(tmp_path: Path) -> None:
    from fpdf import FPDF

    pdf = FPDF()
    for _ in range(2):
        pdf.add_page()
        pdf.rect(20, 20, 120, 160, style="F")  # a drawing, as a scan would be an image
    path = tmp_path / "scan.pdf"
    pdf.output(str(path))
    with pytest.raises(SourceError) as caught:
        read_text(path)
    assert str(caught.value) == f"{path}: no text layer (scanned PDFs are not supported; run OCR first)"


def test_encrypted_and_corrupt_pdfs_are_source_errors_naming_them(tmp_path: Path) -> None:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("helvetica", size=12)
    pdf.cell(0, 10, "Growth of 5.4 percent in the province this year")
    pdf.set_encryption(owner_password="owner", user_password="user")
    locked = tmp_path / "locked.pdf"
    pdf.output(str(locked))
    with pytest.raises(SourceError, match="locked.pdf: encrypted PDF"):
        read_text(locked)
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"%PDF-1.4\n1 0 obj << /Type /Catalog")
    with pytest.raises(SourceError, match="broken.pdf: cannot read PDF") as caught:
        read_text(broken)
    assert "\n" not in str(caught.value)


# --- .html ------------------------------------------------------------------------------------

REPORT_SENTENCES = (
    "2025年测试省政府工作报告",
    "各位代表：",
    "现在，我代表省人民政府，向大会报告工作，请予审议，并请省政协委员提出意见。",
    "一、2024年工作回顾",
    f"过去一年，全省地区生产总值增长5.4%，{FIGURE}，城镇新增就业68万人，城镇调查失业率5.1%。",
    "一般公共预算收入增长3.1%，居民人均可支配收入增长5.3%，经济运行总体平稳、稳中有进。",
    "二、2025年工作安排",
    "今年经济社会发展的主要预期目标是：地区生产总值增长5.5%左右，居民消费价格涨幅2%左右。",
)
CHROME = ("首页", "新闻中心", "政务公开", "版权所有", "网站地图", "脚本里的文字", "广告位招租")


def make_html(sentences: tuple[str, ...] = REPORT_SENTENCES, charset: str = "utf-8", declare: bool = True) -> bytes:
    head = f'<meta http-equiv="Content-Type" content="text/html; charset={charset}">' if declare else ""
    body = "".join(f"<h2>{s}</h2>" if "、" in s[:3] else f"<p>{s}</p>" for s in sentences[1:])
    page = f"""<!DOCTYPE html><html><head>{head}<title>{sentences[0]}</title>
<script>var menu = "脚本里的文字";</script><style>.nav {{ color: red }}</style></head>
<body><header><nav><ul><li><a href="/">首页</a></li><li><a href="/news">新闻中心</a></li>
<li><a href="/open">政务公开</a></li></ul></nav></header>
<aside><p>广告位招租</p></aside>
<main><article><h1>{sentences[0]}</h1>{body}</article></main>
<footer><p>版权所有：测试省人民政府办公厅</p><p><a href="/map">网站地图</a></p></footer>
<script>document.write("脚本里的文字");</script></body></html>"""
    return page.encode(charset)


def _check_html(path: Path) -> Document:
    doc = _load_one(path)
    assert doc.format == "html"
    lines = doc.text.split("\n")
    for sentence in REPORT_SENTENCES[1:]:
        assert sentence in lines  # one block per line
    for chrome in CHROME:
        assert chrome not in doc.text
    _round_trip(path, doc, FIGURE)
    return doc


def test_html_main_text_without_menus_footers_or_scripts(tmp_path: Path) -> None:
    path = tmp_path / "report.html"
    path.write_bytes(make_html())
    _check_html(path)


def test_html_declared_gb18030_and_undeclared_gbk_pages(tmp_path: Path) -> None:
    declared = tmp_path / "gb.htm"
    declared.write_bytes(make_html(charset="gb2312"))  # GB2312 declared: read as its superset GB18030
    _check_html(declared)
    rare = tmp_path / "rare.html"
    rare.write_bytes(make_html((*REPORT_SENTENCES, "㐀䶵，彅：扩展A区的字。"), charset="gb18030"))
    assert "㐀䶵，彅：扩展A区的字。" in read_text(rare)
    undeclared = tmp_path / "plain.html"
    undeclared.write_bytes(make_html(charset="gb18030", declare=False))  # not UTF-8: GB18030 next
    _check_html(undeclared)


def test_short_html_page_keeps_its_text_and_drops_the_menu(tmp_path: Path) -> None:
    path = tmp_path / "short.html"
    path.write_bytes(
        "<html><body><nav>首页 新闻中心</nav><article><p>地区生产总值增长5%。</p></article>"
        "<footer>版权所有</footer></body></html>".encode()
    )
    assert read_text(path) == "地区生产总值增长5%。"


def test_html_page_without_text_is_a_source_error(tmp_path: Path) -> None:
    path = tmp_path / "empty.html"
    path.write_bytes(b"<html><head><script>var x = 1;</script></head><body><nav>menu</nav></body></html>")
    with pytest.raises(SourceError, match="empty.html: no text found"):
        read_text(path)


# --- all formats together ---------------------------------------------------------------------


def test_every_format_in_one_folder_and_skip_errors(tmp_path: Path) -> None:
    make_docx(tmp_path / "a.DOCX")
    (tmp_path / "b.HTM").write_bytes(make_html())
    (tmp_path / "c.txt").write_text(f"标题\n{FIGURE}\n", encoding="utf-8")
    (tmp_path / "d.md").write_text(f"# 标题\n\n{FIGURE}\n", encoding="utf-8")
    (tmp_path / "bad.docx").write_bytes(b"not a zip")
    (tmp_path / "bad.pdf").write_bytes(b"%PDF-1.4 nothing else")
    (tmp_path / "bad.html").write_bytes(b"<html><body><nav>only a menu</nav></body></html>")
    (tmp_path / "bad.txt").write_bytes(b"\xff\xfe\xfd\x80 not text \xff")
    with pytest.raises(SourceError, match="--skip-errors"):
        load_documents([tmp_path])
    docs, errors = load_documents([tmp_path], skip_errors=True)
    assert [(d.path, d.format) for d in docs] == [
        ("a.DOCX", "docx"),
        ("b.HTM", "html"),
        ("c.txt", "txt"),
        ("d.md", "md"),
    ]
    assert len(errors) == 4
    for name in ("bad.docx", "bad.pdf", "bad.html", "bad.txt"):
        assert sum(name in e for e in errors) == 1
    for doc in docs:
        start = doc.text.index(FIGURE)
        assert read_text(tmp_path / doc.path)[start : start + len(FIGURE)] == FIGURE


def test_identical_files_in_any_format_are_loaded_once(tmp_path: Path) -> None:
    make_docx(tmp_path / "report.docx")
    (tmp_path / "copies").mkdir()
    (tmp_path / "copies" / "report (1).docx").write_bytes((tmp_path / "report.docx").read_bytes())
    (tmp_path / "copies" / "z.docx").write_bytes((tmp_path / "report.docx").read_bytes())
    docs, errors = load_documents([tmp_path])
    assert errors == []
    assert [d.path for d in docs] == ["copies/report (1).docx"]  # the first in sorted order is kept
    assert docs[0].copies == ("copies/z.docx", "report.docx")


# --- the real reports -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def province_docs() -> tuple[list[Document], float]:
    if not PROVINCES.is_dir():
        pytest.skip(f"{PROVINCES} is absent")
    started = time.perf_counter()
    docs, errors = load_documents([PROVINCES])
    elapsed = time.perf_counter() - started
    assert errors == []
    return docs, elapsed


def test_the_31_province_reports_load_as_long_chinese_text(province_docs: tuple[list[Document], float]) -> None:
    docs, elapsed = province_docs
    print(f"31 .docx extracted in {elapsed:.2f}s")
    assert len(docs) == 31
    assert len(find_sources([PROVINCES])) == 31
    assert elapsed < 30
    for doc in docs:
        assert doc.format == "docx"
        han = sum(1 for ch in doc.text if "\u4e00" <= ch <= "\u9fff")
        assert len(doc.text) > 10_000, doc.path
        assert han > 0.75 * len("".join(doc.text.split())), doc.path  # Chinese text, not markup or noise


HEADING = re.compile(r"^[一二三四五六七八九十]+、\S.{0,39}$")
BARE_HEADING = re.compile(r"^\d{4}年工作(回顾|安排)\S{0,4}$")  # 四川 and 西藏 number no heading


def test_section_headings_stand_on_their_own_lines(province_docs: tuple[list[Document], float]) -> None:
    docs, _ = province_docs
    unnumbered = []
    for doc in docs:
        lines = [line.strip() for line in doc.text.split("\n")]
        numbered = [line for line in lines if HEADING.match(line)]
        if numbered:
            assert any(line.startswith("一、") for line in numbered), doc.path
            assert any(line.startswith("二、") for line in numbered), doc.path
        else:
            unnumbered.append(doc.path)
            assert sum(bool(BARE_HEADING.match(line)) for line in lines) >= 2, doc.path
        assert not any(re.search(r"[。；！]\s*[一二三]、20\d\d年", line) for line in lines), doc.path  # nothing glued
    print("reports whose headings carry no 一、:", unnumbered)
    assert len(unnumbered) <= 3
