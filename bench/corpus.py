"""A synthetic corpus of report-like documents, made from the seed report's own paragraphs.

Each document keeps the seed's heading structure, names another city and year, keeps about
two thirds of the body paragraphs (a random choice), sometimes reorders a paragraph's sentences
or splices in a sentence from another paragraph, swaps about 30 % of the content words for other
words of the same part of speech from the seed, and rescales every figure. Paragraphs therefore
differ across documents (the index dedupes exact repeats, and near-copies would flatter nothing but
make approximate search look worse than on real reports), while the text stays in the seed's
register: the same vocabulary, sentence lengths, structure and density of figures.
"""

from __future__ import annotations

import os
import random
import re
import shutil
from functools import lru_cache
from pathlib import Path

CITIES = tuple(
    """
    北京 上海 重庆 广州 深圳 成都 武汉 南京 杭州 西安 郑州 长沙 沈阳 青岛 济南 大连 厦门 福州 合肥 昆明 南昌 贵阳
    南宁 太原 石家庄 哈尔滨 长春 兰州 银川 西宁 呼和浩特 乌鲁木齐 拉萨 海口 宁波 苏州 无锡 佛山 东莞 温州 泉州 烟台
    唐山 徐州 常州 南通 潍坊 洛阳 襄阳 宜昌 芜湖 赣州 柳州 遵义
    """.split()
)
# content words swapped for another word of the same part of speech from the seed's vocabulary
SWAP_TAGS = ("n", "nz", "vn", "v", "a", "ad", "an", "l", "i")
NUMBER = re.compile(r"\d+(?:\.\d+)?")
YEAR = re.compile(r"(?<!\d)(20\d{2})(?=年)")
SENTENCE = re.compile(r"[^。；;！？]+[。；;！？]?")
H1 = re.compile(r"^[一二三四五六七八九十]+、")
H2 = re.compile(r"^[（(][一二三四五六七八九十]+[）)]")


def seed_lines(seed_dir: str | Path) -> list[str]:
    """The seed's distinct non-empty lines, in order (the seed file holds its report several times)."""
    lines: list[str] = []
    seen: set[str] = set()
    for path in sorted(Path(seed_dir).glob("*.txt")):
        for line in path.read_text(encoding="utf-8").splitlines():
            key = line.strip(" \t\u3000")
            if key and key not in seen:
                seen.add(key)
                lines.append(line.rstrip())
    return lines


def _rescale(match: re.Match[str], rng: random.Random) -> str:
    text = match.group()
    if YEAR.fullmatch(text):
        return text
    value = float(text) * rng.uniform(0.55, 1.6)
    decimals = len(text.split(".")[1]) if "." in text else 0
    if decimals:
        return f"{value:.{decimals}f}"
    return str(max(1, round(value)))


@lru_cache(maxsize=4)
def _analysed(lines: tuple[str, ...]) -> tuple[list[list[list[tuple[str, str]]]], dict[str, list[str]]]:
    """Each line as sentences of (word, POS tag), and the seed's content words by tag."""
    import jieba.posseg

    from qa.text import _jieba

    _jieba()
    per_line: list[list[list[tuple[str, str]]]] = []
    vocab: dict[str, set[str]] = {}
    for line in lines:
        words = [(w, f) for w, f in jieba.posseg.lcut(line.strip(" \t\u3000"), HMM=False)]
        sentences: list[list[tuple[str, str]]] = [[]]
        for w, f in words:
            sentences[-1].append((w, f))
            if w in "。；;！？":
                sentences.append([])
        per_line.append([s for s in sentences if s])
        for w, f in words:
            if f in SWAP_TAGS and len(w) >= 2 and not any(ch.isdigit() for ch in w):
                vocab.setdefault(f, set()).add(w)
    return per_line, {f: sorted(ws) for f, ws in vocab.items()}


def make_document(lines: list[str], number: int, keep: float = 0.62, swap: float = 0.3, seed: int = 0) -> str:
    """Document ``number`` of the synthetic corpus (deterministic)."""
    rng = random.Random(seed * 1_000_003 + number)
    city = CITIES[number % len(CITIES)]
    year = 2008 + (number // len(CITIES)) % 15
    shift = year - 2017
    per_line, vocab = _analysed(tuple(lines))
    headings = [
        i == 0 or bool(H1.match(ln.strip(" \u3000")) or H2.match(ln.strip(" \u3000"))) for i, ln in enumerate(lines)
    ]
    body = [i for i in range(3, len(lines)) if not headings[i]]
    out: list[str] = []
    for i, line in enumerate(lines):
        if headings[i] or i <= 2:
            text = line.strip(" \t\u3000")
        elif rng.random() > keep:
            continue
        else:
            sentences = [list(s) for s in per_line[i]]
            if len(sentences) > 2 and rng.random() < 0.3:
                rng.shuffle(sentences)
            if rng.random() < 0.3:
                donor = per_line[rng.choice(body)]
                sentences.insert(rng.randrange(len(sentences) + 1), list(rng.choice(donor)))
            text = "".join(
                rng.choice(vocab[f]) if f in vocab and len(w) >= 2 and rng.random() < swap else w
                for sentence in sentences
                for w, f in sentence
            )
            text = NUMBER.sub(lambda m: _rescale(m, rng), text)
        text = YEAR.sub(lambda m: str(int(m.group(1)) + shift), text)
        text = text.replace("天津", city).replace("津", city[0])
        out.append(("" if headings[i] else "\u3000\u3000") + text)
    return "\n".join(out) + "\n"


def write_corpus(seed_dir: str | Path, folder: str | Path, documents: int, seed: int = 0) -> list[Path]:
    """Write ``documents`` synthetic reports into ``folder`` (reused when already there)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    lines = seed_lines(seed_dir)
    paths = []
    for number in range(documents):
        path = folder / f"report_{number:04d}.txt"
        if not path.exists():
            tmp = path.with_suffix(".tmp")
            tmp.write_text(make_document(lines, number, seed=seed), encoding="utf-8")
            os.replace(tmp, path)
        paths.append(path)
    return paths


def subset(paths: list[Path], folder: str | Path, count: int) -> Path:
    """A folder holding the first ``count`` documents (hard links, or copies)."""
    folder = Path(folder)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    for path in paths[:count]:
        try:
            os.link(path, folder / path.name)
        except OSError:
            shutil.copy2(path, folder / path.name)
    return folder


def documents_for(chunks: int, chunks_per_document: float) -> int:
    return max(1, round(chunks / chunks_per_document))


def chunks_per_document(seed_dir: str | Path, sample: int = 20) -> float:
    """Average chunk count of a synthetic document (chunked with the index's chunker)."""
    from qa.chunking import chunk_documents
    from qa.documents import Document, sha256_bytes

    lines = seed_lines(seed_dir)
    docs = []
    for n in range(sample):
        text = make_document(lines, n)
        docs.append(Document(path=f"d{n}.txt", text=text, sha256=sha256_bytes(text.encode())))
    chunks, _ = chunk_documents(docs)
    return len(chunks) / sample
