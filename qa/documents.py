"""Load source documents (.txt / .md) with robust decoding and content hashes."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

SUFFIXES = (".txt", ".md")
ENCODINGS = ("utf-8-sig", "gb18030")


class SourceError(Exception):
    """A source file or folder cannot be used; the message names the file."""


@dataclass(frozen=True)
class Document:
    path: str  # relative to the folder given to the build, with forward slashes
    text: str
    sha256: str  # of the raw bytes on disk

    @property
    def name(self) -> str:
        return Path(self.path).stem


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


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


def read_text(path: str | Path) -> str:
    """The decoded text of one source file, as chunk offsets see it."""
    return decode(Path(path).read_bytes(), str(path))


def find_sources(paths: Iterable[str | Path]) -> list[tuple[Path, Path]]:
    """Expand files and folders into sorted (file, root) pairs; root is what ``doc`` is relative to."""
    found: list[tuple[Path, Path]] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES)
            found.extend((f, path) for f in files)
        elif path.is_file():
            found.append((path, path.parent))
        else:
            raise SourceError(f"{path}: no such file or folder")
    if not found:
        names = ", ".join(str(p) for p in paths) or "(none)"
        raise SourceError(f"no .txt or .md files found in {names}")
    return found


def load_documents(paths: Iterable[str | Path], skip_errors: bool = False) -> tuple[list[Document], list[str]]:
    """Read every source; returns the documents and the errors skipped (only with ``skip_errors``)."""
    documents: list[Document] = []
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
        raw = file.read_bytes()
        try:
            text = decode(raw, str(file))
        except SourceError as error:
            if not skip_errors:
                raise SourceError(f"{error} (pass --skip-errors to build without it)") from None
            errors.append(str(error))
            continue
        documents.append(Document(path=rel, text=text, sha256=sha256_bytes(raw)))
    return documents, errors


def corpus_hash(documents: Iterable[Document]) -> str:
    """One hash for the whole corpus: paths and contents, order-independent."""
    digest = hashlib.sha256()
    for doc in sorted(documents, key=lambda d: d.path):
        digest.update(f"{doc.path}\0{doc.sha256}\n".encode())
    return digest.hexdigest()
