"""Load source documents (.txt .md .docx .pdf .html .htm) as text with exact offsets and content hashes.

Every format becomes one deterministic string, ``Document.text``: chunk offsets index it, the
index stores it, and ``read_text(file)`` gives it again, so ``read_text(file)[start:end] == answer``.

- .txt / .md: the file decoded (UTF-8 with or without BOM, else GB18030), every character kept.
- .docx: the body's paragraphs and table rows in document order, one per line (a row's cells
  joined by tabs); empty paragraphs dropped, paragraph text verbatim.
- .pdf: each page's text layer, pages joined by ``\\n``; ``page_starts`` records where each begins.
- .html / .htm: the main text (menus, headers, footers and scripts left out), one block per line.
"""

from __future__ import annotations

import codecs
import hashlib
import io
import re
from bisect import bisect_right
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, NamedTuple

SUFFIXES = (".txt", ".md", ".docx", ".pdf", ".html", ".htm")
FORMATS = {".txt": "txt", ".md": "md", ".docx": "docx", ".pdf": "pdf", ".html": "html", ".htm": "html"}
ENCODINGS = ("utf-8-sig", "gb18030")
SIDECAR_CSV = "metadata.csv"  # per-folder metadata overrides (qa.metadata), not a document
SIDECAR_SUFFIX = ".meta.json"  # per-file metadata overrides, not a document
MIN_PDF_CHARS_PER_PAGE = 8  # fewer visible characters than this per page on average: no text layer


class SourceError(Exception):
    """A source file or folder cannot be used; the message names the file."""


@dataclass(frozen=True)
class Document:
    path: str  # relative to the folder given to the build, with forward slashes
    text: str
    sha256: str  # of the raw bytes on disk
    format: str = "txt"  # txt | md | docx | pdf | html
    page_starts: tuple[int, ...] = ()  # PDF: offset in text where each page begins (page 1 first, so [0] == 0)
    copies: tuple[str, ...] = ()  # other source paths with byte-identical content, loaded once as this document

    @property
    def name(self) -> str:
        return Path(self.path).stem

    def page_at(self, offset: int) -> int | None:
        """The 1-based PDF page holding ``text[offset]``; None for other formats.

        >>> doc = Document("r.pdf", "page one\\npage two", "", format="pdf", page_starts=(0, 9))
        >>> doc.page_at(0), doc.page_at(8), doc.page_at(9), doc.page_at(16)
        (1, 1, 2, 2)
        >>> Document("r.txt", "text", "").page_at(0) is None
        True
        """
        if not self.page_starts or offset < 0:
            return None
        return bisect_right(self.page_starts, offset)


class Extracted(NamedTuple):
    text: str
    page_starts: tuple[int, ...] = ()


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def format_of(path: str | Path) -> str:
    """The document format a file name stands for (unknown suffixes are read as plain text).

    >>> format_of("a/Report.DOCX"), format_of("x.htm"), format_of("notes")
    ('docx', 'html', 'txt')
    """
    return FORMATS.get(Path(path).suffix.lower(), "txt")


def is_sidecar(path: str | Path) -> bool:
    """Metadata files that sit beside the documents (``metadata.csv``, ``NAME.meta.json``).

    >>> is_sidecar("a/metadata.csv"), is_sidecar("report.docx.meta.json"), is_sidecar("report.txt")
    (True, True, False)
    """
    name = Path(path).name.lower()
    return name == SIDECAR_CSV or name.endswith(SIDECAR_SUFFIX)


def _one_line(error: BaseException) -> str:
    """An exception as a short one-line reason."""
    message = " ".join(str(error).split())[:160]
    return f"{type(error).__name__}: {message}" if message else type(error).__name__


# --- plain text -------------------------------------------------------------------------------


def decode(raw: bytes, name: str) -> str:
    """Decode UTF-8 (with or without BOM) or GB18030, keeping every character as it is.

    Chunk offsets index into this decoded text (``read_text`` gives the same string).

    >>> decode("天津".encode("gb18030"), "x.txt")
    '天津'
    >>> decode(b"\\xef\\xbb\\xbfa\\nb", "x.txt")
    'a\\nb'
    """
    if b"\x00" in raw:
        raise SourceError(f"{name}: binary file (NUL bytes), not a text document")
    for encoding in ENCODINGS:
        try:
            text = raw.decode(encoding)
        except UnicodeDecodeError:
            continue
        return text
    raise SourceError(f"{name}: cannot decode as UTF-8 or GB18030")


# --- .docx ------------------------------------------------------------------------------------

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_WRAPPERS = {f"{_W}sdt", f"{_W}sdtContent", f"{_W}customXml", f"{_W}smartTag"}


def _children(element: Any, tags: set[str]) -> Iterator[Any]:
    """Children of an OOXML element with one of ``tags``, looking through content-control wrappers."""
    for child in element.iterchildren():
        if child.tag in tags:
            yield child
        elif child.tag in _WRAPPERS:
            yield from _children(child, tags)


def _paragraph_text(p: Any) -> str:
    """A paragraph's text as python-docx gives it (runs and hyperlinks; breaks → \\n, tabs → \\t)."""
    return str(p.text)


def _row_text(tr: Any) -> str:
    """A table row: each cell's paragraphs joined by spaces, cells joined by tabs."""
    cells = []
    for tc in _children(tr, {f"{_W}tc"}):
        paragraphs = (_paragraph_text(p) for p in tc.iter(f"{_W}p"))
        cells.append(" ".join(t.replace("\n", " ") for t in paragraphs if t.strip()))
    return "\t".join(cells)


def docx_text(raw: bytes, name: str) -> str:
    """The body of a Word document: paragraphs and table rows in document order, one per line."""
    import zipfile

    import docx

    if not zipfile.is_zipfile(io.BytesIO(raw)):
        raise SourceError(f"{name}: not a .docx file (not a zip archive; an old .doc renamed, or damaged)")
    try:
        body = docx.Document(io.BytesIO(raw)).element.body
        lines = []
        for block in _children(body, {f"{_W}p", f"{_W}tbl"}):
            if block.tag == f"{_W}p":
                lines.append(_paragraph_text(block))
            else:
                lines.extend(_row_text(tr) for tr in _children(block, {f"{_W}tr"}))
    except Exception as error:  # python-docx and lxml raise many kinds on damaged packages
        raise SourceError(f"{name}: cannot read .docx ({_one_line(error)})") from None
    return "\n".join(line for line in lines if line.strip())


# --- .pdf -------------------------------------------------------------------------------------


def _two_byte_cmaps_as_identity(resources: Any, seen: set[int]) -> None:
    """Let pypdf read Type0 fonts whose /Encoding is an embedded two-byte CMap stream.

    pypdf falls back to one-byte codes for such fonts (it only knows named CMaps), which turns
    CJK text into garbage; text extraction only needs the code width, the ToUnicode map does
    the rest, so /Identity-H (two-byte codes) gives the right text. Changes the parsed copy only.
    """
    from pypdf.generic import DictionaryObject, NameObject, StreamObject

    resources = resources.get_object() if resources is not None else None
    if not isinstance(resources, DictionaryObject) or id(resources) in seen:
        return
    seen.add(id(resources))
    fonts = resources.get("/Font")
    fonts = fonts.get_object() if fonts is not None else None
    if isinstance(fonts, DictionaryObject):
        for ref in fonts.values():
            font = ref.get_object()
            encoding = font.get("/Encoding") if isinstance(font, DictionaryObject) else None
            encoding = encoding.get_object() if encoding is not None else None
            if font.get("/Subtype") == "/Type0" and isinstance(encoding, StreamObject):
                ranges = re.search(rb"begincodespacerange(.*?)endcodespacerange", encoding.get_data(), re.S)
                if ranges and all(len(code) == 4 for code in re.findall(rb"<([0-9A-Fa-f]+)>", ranges.group(1))):
                    font[NameObject("/Encoding")] = NameObject("/Identity-H")
    xobjects = resources.get("/XObject")
    xobjects = xobjects.get_object() if xobjects is not None else None
    if isinstance(xobjects, DictionaryObject):
        for ref in xobjects.values():
            xobject = ref.get_object()
            if isinstance(xobject, DictionaryObject) and xobject.get("/Subtype") == "/Form":
                _two_byte_cmaps_as_identity(xobject.get("/Resources"), seen)


def pdf_text(raw: bytes, name: str) -> Extracted:
    """Each page's text layer, pages joined by newlines, with the offset where each page begins."""
    from pypdf import PdfReader
    from pypdf.errors import FileNotDecryptedError

    try:
        reader = PdfReader(io.BytesIO(raw))
        pages: list[str] = []
        seen: set[int] = set()
        for page in reader.pages:
            _two_byte_cmaps_as_identity(page.get("/Resources"), seen)
            pages.append(page.extract_text() or "")
    except FileNotDecryptedError:
        raise SourceError(f"{name}: encrypted PDF (needs a password; save a decrypted copy first)") from None
    except Exception as error:  # pypdf raises many kinds on damaged files
        raise SourceError(f"{name}: cannot read PDF ({_one_line(error)})") from None
    visible = sum(len("".join(text.split())) for text in pages)
    if visible < MIN_PDF_CHARS_PER_PAGE * max(1, len(pages)):
        raise SourceError(f"{name}: no text layer (scanned PDFs are not supported; run OCR first)")
    starts, offset = [], 0
    for text in pages:
        starts.append(offset)
        offset += len(text) + 1
    return Extracted("\n".join(pages), tuple(starts))


# --- .html ------------------------------------------------------------------------------------

_BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))
_META_CHARSET = re.compile(rb"""<meta[^>]*?charset\s*=\s*["']?\s*([A-Za-z0-9_:.-]+)""", re.I)
_GB_FAMILY = {"gb2312", "gbk", "gb18030", "x-gbk", "cp936", "csgb2312", "euc-cn", "hz-gb-2312"}
# Left out before the main-text extraction: scripts and styles anywhere; navigation anywhere;
# page headers, footers and sidebars unless they belong to an <article> or <main>.
_NEVER_TEXT = "script, style, noscript, template, iframe, object, svg, nav, select, button"
_PAGE_CHROME = "header, footer, aside"
_BLOCKS = set(
    "address article aside blockquote body dd details div dl dt fieldset figcaption figure footer h1 h2 h3 h4 h5 h6 "
    "header hr li main ol p pre section summary table tbody thead tfoot tr td th ul br caption".split()
)


def declared_charset(raw: bytes) -> str | None:
    """The encoding an HTML page declares (BOM, then <meta charset>); GB2312/GBK read as GB18030.

    >>> declared_charset(b'<meta http-equiv="Content-Type" content="text/html; charset=GB2312">')
    'gb18030'
    >>> declared_charset(b"<p>none</p>") is None
    True
    """
    for bom, encoding in _BOMS:
        if raw.startswith(bom):
            return encoding
    match = _META_CHARSET.search(raw[:4096])
    if not match:
        return None
    label = match.group(1).decode("ascii").lower()
    return "gb18030" if label in _GB_FAMILY else label


def decode_html(raw: bytes, name: str) -> str:
    """An HTML page as text: its declared charset, else UTF-8, else GB18030."""
    tried = []
    for encoding in (declared_charset(raw), "utf-8", "gb18030"):
        if encoding is None or encoding in tried:
            continue
        tried.append(encoding)
        try:
            return raw.decode(encoding)
        except (UnicodeDecodeError, LookupError):
            continue
    raise SourceError(f"{name}: cannot decode the page as {', '.join(tried)}")


def _block_lines(root: Any) -> list[str]:
    """The text under a selectolax node, one line per block element (the fallback extractor)."""
    lines: list[str] = []
    current: list[str] = []

    def flush() -> None:
        line = " ".join("".join(current).split())
        if line:
            lines.append(line)
        current.clear()

    stack: list[Any] = [root]
    while stack:
        node = stack.pop()
        if node is None:  # the end of a block element
            flush()
        elif node.tag == "-text":
            current.append(node.text_content or "")
        elif node.tag and not node.tag.startswith("-"):
            block = node.tag in _BLOCKS
            if block:
                flush()
                stack.append(None)
            stack.extend(reversed(list(node.iter(include_text=True))))
    flush()
    return lines


def html_text(raw: bytes, name: str) -> str:
    """The main text of a web page, one block per line: trafilatura, else every block of the body."""
    import trafilatura
    from selectolax.lexbor import LexborHTMLParser

    page = decode_html(raw, name)
    try:
        tree = LexborHTMLParser(page)
        for node in tree.css(_NEVER_TEXT):
            node.decompose()
        for node in tree.css(_PAGE_CHROME):
            parent, inside = node.parent, False
            while parent is not None and not inside:
                inside = parent.tag in ("article", "main")
                parent = parent.parent
            if not inside:
                node.decompose()
        main = trafilatura.extract(
            tree.html or "",
            favor_recall=True,  # the chrome is already gone: keep every paragraph of the report
            include_comments=False,
            include_tables=True,
            include_images=False,
            include_links=False,
            deduplicate=False,  # reports repeat sentences on purpose
            with_metadata=False,
            output_format="txt",
        )
        lines = [" ".join(line.split()) for line in (main or "").splitlines()]
        lines = [line for line in lines if line]
        if not lines and tree.body is not None:
            lines = _block_lines(tree.body)
    except Exception as error:  # the parsers raise many kinds on odd markup
        raise SourceError(f"{name}: cannot read HTML ({_one_line(error)})") from None
    if not lines:
        raise SourceError(f"{name}: no text found in the page")
    return "\n".join(lines)


# --- all formats ------------------------------------------------------------------------------


def extract(raw: bytes, name: str, fmt: str) -> Extracted:
    """The text of a file's bytes in the given format (``format_of``), as chunk offsets see it."""
    if fmt == "docx":
        return Extracted(docx_text(raw, name))
    if fmt == "pdf":
        return pdf_text(raw, name)
    if fmt == "html":
        return Extracted(html_text(raw, name))
    return Extracted(decode(raw, name))


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as error:
        raise SourceError(f"{path}: cannot read ({error.strerror or _one_line(error)})") from None


def read_text(path: str | Path) -> str:
    """The text of one source file, as chunk offsets see it (the same string for every format)."""
    return extract(_read_bytes(Path(path)), str(path), format_of(path)).text


def _skipped(relative: Path) -> bool:
    """Hidden files and folders, Word's ``~$`` lock files and metadata sidecars are not documents."""
    return (
        any(part.startswith(".") for part in relative.parts) or relative.name.startswith("~$") or is_sidecar(relative)
    )


def find_sources(paths: Iterable[str | Path]) -> list[tuple[Path, Path]]:
    """Expand files and folders into sorted (file, root) pairs; root is what ``doc`` is relative to."""
    paths = list(paths)
    found: list[tuple[Path, Path]] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files = sorted(
                p
                for p in path.rglob("*")
                if p.suffix.lower() in SUFFIXES and not _skipped(p.relative_to(path)) and p.is_file()
            )
            found.extend((f, path) for f in files)
        elif path.is_file():
            if not (path.name.startswith("~$") or is_sidecar(path)):
                found.append((path, path.parent))
        else:
            raise SourceError(f"{path}: no such file or folder")
    if not found:
        names = ", ".join(str(p) for p in paths) or "(none)"
        formats = ", ".join(SUFFIXES[:-1]) + " or " + SUFFIXES[-1]
        raise SourceError(f"no {formats} files found in {names}")
    return found


def load_documents(paths: Iterable[str | Path], skip_errors: bool = False) -> tuple[list[Document], list[str]]:
    """Read every source; returns the documents and the errors skipped (only with ``skip_errors``).

    A file whose bytes equal an earlier one's is not loaded again: it is listed in that
    document's ``copies``.
    """
    documents: list[Document] = []
    copies: dict[str, list[str]] = {}  # sha256 → paths of later identical files
    by_hash: dict[str, int] = {}
    errors: list[str] = []
    seen: dict[str, Path] = {}
    for file, root in find_sources(paths):
        rel = file.relative_to(root).as_posix()
        if rel in seen:
            if seen[rel].resolve() == file.resolve():
                continue  # the same file given twice
            raise SourceError(
                f"{seen[rel]} and {file} would both be cited as {rel}; index their common parent folder instead"
            )
        seen[rel] = file
        try:
            raw = _read_bytes(file)
            sha = sha256_bytes(raw)
            if sha in by_hash:
                copies.setdefault(sha, []).append(rel)
                continue
            fmt = format_of(file)
            text, page_starts = extract(raw, str(file), fmt)
        except SourceError as error:
            if not skip_errors:
                raise SourceError(f"{error} (pass --skip-errors to build without it)") from None
            errors.append(str(error))
            continue
        by_hash[sha] = len(documents)
        documents.append(Document(rel, text, sha, format=fmt, page_starts=page_starts))
    for sha, paths_ in copies.items():
        first = by_hash[sha]
        documents[first] = replace(documents[first], copies=tuple(paths_))
    return documents, errors


def corpus_hash(documents: Iterable[Document]) -> str:
    """One hash for the whole corpus: paths and contents (copies included), order-independent."""
    digest = hashlib.sha256()
    for doc in sorted(documents, key=lambda d: d.path):
        digest.update(f"{doc.path}\0{doc.sha256}\n".encode())
        for copy in doc.copies:
            digest.update(f"{copy}\0={doc.path}\n".encode())
    return digest.hexdigest()
