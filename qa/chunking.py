"""Section-aware chunking: headings → section paths, paragraphs → sentence-packed chunks.

Every chunk keeps exact offsets into its source text (``text[start:end] == chunk.text``),
the heading path above it, and the year its section speaks of. Paragraphs repeated
anywhere in the corpus (the seed holds its report eight times) are indexed once.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import PurePosixPath

from qa.documents import Document
from qa.types import Chunk

CN_NUM = "一二三四五六七八九十"
H1 = re.compile(rf"^[{CN_NUM}]+、")
H2 = re.compile(rf"^[（(][{CN_NUM}]+[）)]")
DASH_ITEM = re.compile(r"^(――|——|—|--)")
YEAR = re.compile(r"((?:19|20)\d{2})年")
SENTENCE_END = "。！？!?；;"
SPACE = " \t\r\u3000\ufeff\xa0"


@dataclass(frozen=True)
class ChunkerSettings:
    max_chars: int = 120  # sentences are packed into chunks up to this size
    lead_max_chars: int = 32  # a paragraph's first sentence up to this size is its topic

    def to_json(self) -> dict[str, object]:
        return {"name": "section-sentences", "max_chars": self.max_chars, "lead_max_chars": self.lead_max_chars}


def paragraphs(text: str) -> Iterator[tuple[int, int, int]]:
    """Yield (line_number, start, end) of each non-empty line, surrounding blanks trimmed.

    >>> list(paragraphs("标题\\n\\n　　正文。\\n"))
    [(1, 0, 2), (3, 6, 9)]
    """
    offset = 0
    for number, line in enumerate(text.split("\n"), start=1):
        stripped = line.strip(SPACE)
        if stripped:
            start = offset + line.index(stripped)
            yield number, start, start + len(stripped)
        offset += len(line) + 1


def split_sentences(text: str, start: int = 0) -> list[tuple[int, int]]:
    """Split at sentence and clause ends (。！？；;), delimiters kept; returns absolute spans.

    >>> split_sentences("增长8%;收入2723亿元。好")
    [(0, 5), (5, 14), (14, 15)]
    """
    spans: list[tuple[int, int]] = []
    begin = 0
    for i, ch in enumerate(text):
        if ch in SENTENCE_END:
            spans.append((begin, i + 1))
            begin = i + 1
    if begin < len(text):
        spans.append((begin, len(text)))
    return [(start + a, start + b) for a, b in spans if text[a:b].strip(SPACE)]


def heading_label(text: str) -> str:
    """Short form of a heading for the section path: up to its first comma.

    >>> heading_label("(三)坚定不移实施创新驱动发展战略，全面提升转型升级")
    '(三)坚定不移实施创新驱动发展战略'
    """
    return re.split(r"[，,:：]", text, maxsplit=1)[0].rstrip("。")


def lead_sentence(text: str, max_chars: int) -> str | None:
    """A paragraph's short opening sentence that names its topic, if any.

    >>> lead_sentence("大力推进深化国有企业改革。以提高核心竞争力为目标。", 32)
    '大力推进深化国有企业改革'
    >>> lead_sentence("积极主动推进三省市交通，京秦高速建成通车。", 32) is None
    True
    """
    body = DASH_ITEM.sub("", text)
    end = body.find("。")
    if end <= 0 or end + 1 >= len(body) or end > max_chars:
        return None
    lead = body[:end]
    if any(mark in lead for mark in "，,;；:："):
        return None
    return lead


def pack(spans: list[tuple[int, int]], max_chars: int) -> list[tuple[int, int]]:
    """Greedily join consecutive sentence spans into chunks of at most ``max_chars``.

    >>> pack([(0, 50), (50, 100), (100, 130)], 80)
    [(0, 50), (50, 130)]
    """
    chunks: list[tuple[int, int]] = []
    for start, end in spans:
        if chunks and end - chunks[-1][0] <= max_chars:
            chunks[-1] = (chunks[-1][0], end)
        else:
            chunks.append((start, end))
    return chunks


def doc_year(text: str) -> int | None:
    """The year a report is for: the first year named in its opening lines."""
    match = YEAR.search(text[:300])
    return int(match.group(1)) if match else None


def chunk_document(
    doc: Document, settings: ChunkerSettings, seen: dict[str, list[int]], out: list[Chunk], prefix: str | None = None
) -> int:
    """Append the chunks of one document to ``out``; returns the number of repeated paragraphs skipped.

    ``seen`` maps a paragraph's whitespace-free text to the positions in ``out`` of its chunks,
    across documents, so repeated text is indexed once and its copies counted.
    """
    text = doc.text
    title = ""
    h1 = h2 = ""
    topic = ""
    topic_persists = False  # a dash-led item's topic carries on to the paragraphs after it
    h1_no = h2_no = 0
    period: int | None = None
    skipped = 0
    for number, start, end in paragraphs(text):
        para = text[start:end]
        is_heading = False
        if not title and not h1:
            title, is_heading = heading_label(para), True
        elif H1.match(para):
            h1, h2, topic = heading_label(para), "", ""
            h1_no, h2_no = h1_no + 1, 0
            year = YEAR.search(para)
            period = int(year.group(1)) if year else None
            is_heading = True
        elif H2.match(para) and h1:
            h2, topic = heading_label(para), ""
            h2_no += 1
            is_heading = True
        elif h1:
            lead = lead_sentence(para, settings.lead_max_chars)
            dash = bool(DASH_ITEM.match(para))
            if lead:
                topic, topic_persists = lead, dash
            elif dash or not topic_persists:
                topic, topic_persists = "", False
        if is_heading or not h1:
            section = tuple(s for s in (title if not h1 else "", h1, h2) if s)
        else:
            section = tuple(s for s in (h1, h2, topic) if s)

        key = re.sub(r"\s+", "", para)
        if key in seen:
            skipped += 1
            for index in seen[key]:
                out[index] = replace(out[index], duplicates=out[index].duplicates + 1)
            continue
        spans = [(start, end)] if is_heading else pack(split_sentences(para, start), settings.max_chars)
        secnum = ".".join(str(n) for n in (h1_no, h2_no) if n) or "0"
        positions = []
        for part, (a, b) in enumerate(spans, start=1):
            suffix = f".{part}" if len(spans) > 1 else ""
            chunk_id = f"{prefix or doc.name}:{secnum}:p{number}{suffix}"
            positions.append(len(out))
            out.append(Chunk(chunk_id, doc.path, section, text[a:b], a, b, period))
        seen[key] = positions
    return skipped


def chunk_documents(documents: Iterable[Document], settings: ChunkerSettings | None = None) -> tuple[list[Chunk], int]:
    """Chunk a corpus; returns the chunks and the count of repeated paragraphs skipped."""
    settings = settings or ChunkerSettings()
    out: list[Chunk] = []
    seen: dict[str, list[int]] = {}
    documents = list(documents)
    # ids name a document by its path without suffix (its full path if two share that)
    stems = [PurePosixPath(d.path).with_suffix("").as_posix() for d in documents]
    taken = Counter(stems)
    prefixes = [stem if taken[stem] == 1 else d.path for stem, d in zip(stems, documents, strict=True)]
    skipped = sum(chunk_document(doc, settings, seen, out, p) for doc, p in zip(documents, prefixes, strict=True))
    return out, skipped
