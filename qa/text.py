"""Text normalisation and the BM25 tokenizer: T→S, full-width folding, jieba search-mode tokens."""

from __future__ import annotations

import logging
import re
import threading
import unicodedata
from functools import lru_cache
from typing import Any

TOKENIZER_SETTINGS = {"name": "jieba-search", "t2s": "opencc:t2s", "lower": True, "stopwords": "qa.text.STOPWORDS"}

# Function words and question words that carry no topic (a small general list).
STOPWORDS = frozenset(
    """
    的 了 和 与 及 或 在 是 为 对 把 被 将 要 会 能 可 也 都 就 而 并 等 之 其 这 那 此 该 有 个 中 上 下 里
    年 月 日 我 我们 你 您 他 她 它 们 吗 呢 吧 啊 呀 么 嘛 哪 哪些 哪个 哪里 哪条 哪类 哪项 哪所 什么 怎么 怎样 如何
    多少 几 几个 是否 是不是 有没有 请问 一下 以及 关于 通过 进行 什么样 多大 为什么 哪一 到底 一共 共 总共
    """.split()
)
PUNCT = re.compile(r"^[\W_]+$")

_lock = threading.Lock()


@lru_cache(maxsize=1)
def _converter() -> Any:
    import opencc

    return opencc.OpenCC("t2s")


def to_simplified(text: str) -> str:
    """Traditional → Simplified Chinese with OpenCC (same length for CJK text).

    >>> to_simplified("城鎮登記失業率")
    '城镇登记失业率'
    """
    return str(_converter().convert(text))


QUOTE_FOLD = str.maketrans("「」『』", "“”‘’")


def _fold(ch: str) -> str:
    """One character's canonical form, kept only when it is one character too."""
    folded = unicodedata.normalize("NFKC", ch).lower()
    return folded if len(folded) == 1 else ch


def normalize(text: str) -> str:
    """Canonical form for matching: NFKC (full-width → ASCII), 「」 → “”, T→S, lower case.

    The result has the same length as the input, so offsets found in it index the original.

    >>> normalize("ＧＤＰ增長８％「亲」…")
    'gdp增长8%“亲”…'
    """
    folded = "".join(_fold(ch) for ch in text).translate(QUOTE_FOLD)
    simple = to_simplified(folded)
    if len(simple) != len(folded):  # a phrase conversion changed the length: convert char by char
        simple = "".join(c if len(c := to_simplified(ch)) == 1 else ch for ch in folded)
    return simple


@lru_cache(maxsize=1)
def _jieba() -> Any:
    import jieba

    jieba.setLogLevel(logging.WARNING)
    with _lock:
        jieba.initialize()
    return jieba


def segment(text: str) -> list[str]:
    """jieba's precise-mode words of normalised text (punctuation kept out)."""
    return [w for w in _jieba().lcut(normalize(text)) if w.strip() and not PUNCT.match(w)]


def tokenize(text: str) -> list[str]:
    """BM25 tokens: jieba search mode over normalised text, stop words and punctuation removed.

    >>> tokenize("全社会研发经费支出占生产总值比重")[:4]
    ['全', '社会', '研发', '经费']
    """
    tokens = _jieba().lcut_for_search(normalize(text))
    return [t for t in tokens if t.strip() and t not in STOPWORDS and not PUNCT.match(t)]


def cjk_ratio(text: str) -> float:
    """Share of CJK ideographs among the letters of ``text`` (0 for pure English)."""
    letters = [ch for ch in text if ch.isalpha()]
    if not letters:
        return 0.0
    return sum(1 for ch in letters if "\u4e00" <= ch <= "\u9fff") / len(letters)


def home_place(text: str, sample_chars: int = 20000) -> str:
    """The place a report is about: the place name it mentions most (jieba 'ns' tags).

    Dictionary words only (no HMM pass): place names are in jieba's dictionary, and the HMM made
    this 3-4x slower — the largest cost of building an index of many reports — for the same result.
    """
    from collections import Counter

    import jieba.posseg

    _jieba()
    counts = Counter(
        w.rstrip("市省")
        for w, flag in jieba.posseg.lcut(normalize(text[:sample_chars]), HMM=False)
        if flag == "ns" and len(w) >= 2
    )
    return counts.most_common(1)[0][0] if counts else ""
