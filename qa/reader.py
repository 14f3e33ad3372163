"""The reader: the shortest verbatim span of the top passages that answers the question.

One stage, in one module: candidate spans (figures with units, qualifiers and both ends of
ranges, dates, ordinals, cloze fills between the question's own words, noun phrases ending
in the asked-for noun, quotes, enumerations, book titles《…》), their features (how much of the
question's topic stands close to a span, its passage's rank and scores, whether its type fits
the question: ``FEATURES``), the learned scorer that picks the best one and the calibrated
confidence in it (``ReaderModel``, fitted by ``make train-reader`` and shipped in
``qa/models/reader.json``): ``read`` → ``confidence``.
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from qa.encoder import SpanReading, SpanScorer
from qa.index import Index
from qa.query import EN_ACCOUNT, Question, is_listing
from qa.retrieve import ABSENT_TERM_WEIGHT, Scored, equivalence_map, term_weight
from qa.text import normalize

READ_PASSAGES = 6  # how many top passages the reader looks into
NEURAL_PASSAGES = 2  # how many of them the neural span model reads too (its cost: ~15 ms a passage)
NEURAL_FLOOR = -30.0  # the span log-probability given where the neural model did not read

UNITS = sorted(
    """
    % 个百分点 倍 亿元 万元 千元 元 美元 亿美元 万美元 亿吨 万吨 吨 万标准箱 标准箱 万人次 人次 万人 人 万户 户 万家 家
    万套 套 万辆 辆 所 个 项 座 条 台 名 位 张 间 次 批 件 处 万平方米 平方米 平方公里 万亩 亩 公里 千米 米 万千瓦 千瓦
    立方米 万立方米 吨标准煤 小时 天 年 岁 元/月 元/人 微克/立方米 微克 毫克 千克 公斤 兆瓦 千瓦时 万千瓦时 亿千瓦时
    公顷 万公顷 斤 万斤 个月 周 分钟 秒 层 栋 所学校 家医院 个村 个社区 座城市 种 款 部 篇 本 台套 艘 架 列 班 趟
    头 只 枚 块 对 群 株 棵 匹 金 银 铜 标箱 届
    """.split(),
    key=len,
    reverse=True,
)
UNIT_RE = "|".join(re.escape(u) for u in UNITS)
# multipliers after the digits; 千 before 瓦/克/米 starts the unit (935亿千瓦时), it does not multiply
MAGNITUDE = r"(?:[十百万亿]|千(?![瓦克米]))*"
QUALIFIER = "近|超过|超|约|逾|不足|不到|将近|接近|不少于|不低于|不超过|不高于|高于|低于|至少"
BOUND = "以上|以内|以下"
# a unit: a listed one, a compound of two (微克每立方米, 元/月) or a Latin one (20万P, 15EFlops)
UNIT = rf"(?:{UNIT_RE})(?:(?:/|每)(?:{UNIT_RE}))?|[A-Za-z]+(?![A-Za-z])"
NUMBER = re.compile(
    rf"(?:{QUALIFIER})?"
    rf"(\d+(?:\.\d+)?(?:∶\d+(?:\.\d+)?)?)(多)?({MAGNITUDE})({UNIT})?"
    # the other end of a range: 6%－6.5%, 5.0%—5.5%, 8%至10%, 5到7元
    rf"(?:\s*(?:—{{1,2}}|－|-|~|～|至|到)\s*\d+(?:\.\d+)?{MAGNITUDE}(?:{UNIT})?)?"
    rf"(左右|{BOUND}|多)?"
)
YEAR_VALUE = re.compile(r"(?:1[89]|20)\d{2}")
# Years of any era (公元前221年, 1309年, 1950年代), not durations (3年) nor parts of longer figures.
DATE = re.compile(
    r"(?<!\d)(?:公元前|西元前)?\d{3,4}年\d{1,2}月(?:\d{1,2}日)?|(?<!\d)\d{1,2}月\d{1,2}日"
    r"|(?<!\d)\d{3,4}年(?:底|末|初|内)"
)
YEAR_SPAN = re.compile(r"(?<![\d.])(?:公元前|西元前)?\d{3,4}年代?")
MONTH = re.compile(r"(?<![\d年])\d{1,2}月份?(?!\d)")
INCIDENT_DATE = re.compile(r"(?<![\d.])\d{1,2}·\d{1,2}(?![\d.])")  # the “7·17” fire: named by its date
# Counts written in Chinese numerals: 五次, 三个月, 三天三夜 (not a lone 一: 一批, 一个 are everywhere)
CHINESE_COUNT = re.compile(
    r"(?:[两三四五六七八九十百千万亿零〇][一二两三四五六七八九十百千万亿零〇]*|一[十百千万亿][一二两三四五六七八九十百千万亿零〇]*)"
    r"(?:个月|个百分点|[次倍个项条家所座台名位年天周岁届批轮成])(?:[一二两三四五六七八九十]+[天夜年月])?"
)
CLAUSE_END = "，,;；。！？!?：:"
QUOTES = "“”\"'‘’「」『』"


@dataclass(frozen=True)
class Span:
    start: int  # offsets within the passage text
    end: int
    kind: str
    score: float  # the learned span scorer's (set by ``read``)
    support: float  # topic coverage of the span's context (0..1)
    anchor: float = 0.0  # for cloze fills: how much of the question's wording frames the span (0..2)
    fit: float = 0.0  # for figures: how well the unit answers the question's unit (-1..1)
    cue: float = 0.0  # for figures: the measure word after it is the one the question asks for
    bonus: float = 0.0  # the span has the shape the question asks for (item count, character count)


def clause_bounds(text: str, pos: int) -> tuple[int, int]:
    """The clause (between punctuation) around position ``pos``.

    >>> clause_bounds("收入2723亿元，增长10%;好", 10)
    (9, 14)
    """
    start = max((text.rfind(ch, 0, pos) for ch in CLAUSE_END), default=-1) + 1
    ends = [i for i in (text.find(ch, pos) for ch in CLAUSE_END) if i >= 0]
    return start, min(ends) if ends else len(text)


def number_spans(text: str) -> list[tuple[int, int, str]]:
    """Numbers with their unit and qualifiers: (start, end, unit); years and ordinals are left out.

    >>> [text[a:b] for text in ["压减炼钢产能180万吨，增长7%以上，2017年"] for a, b, _ in number_spans(text)]
    ['180万吨', '7%以上']
    >>> [text[a:b] for text in ["增长5.0%—5.5%，就业不少于26万人，提高5到7元"] for a, b, _ in number_spans(text)]
    ['5.0%—5.5%', '不少于26万人', '5到7元']
    >>> [text[a:b] for text in ["送电935亿千瓦时，装机1200万千瓦，3千米，5—6千瓦时"] for a, b, _ in number_spans(text)]
    ['935亿千瓦时', '1200万千瓦', '3千米', '5—6千瓦时']

    Durations are quantities, years are not; quantities written back to back make one more
    span (7群42只, 4金1银1铜), and units may be compound or Latin:

    >>> t = "连续44年，2024年，7群42只，35微克每立方米，20万P，2.04∶1"
    >>> [t[a:b] for a, b, _ in number_spans(t)]
    ['44年', '7群', '42只', '7群42只', '35微克每立方米', '20万P', '2.04∶1']
    """
    spans: list[tuple[int, int, str]] = []
    chain_start, chain_end = -1, -1  # quantities written back to back
    for match in NUMBER.finditer(text):
        value, _, magnitude, unit, _ = match.groups()
        unit = (magnitude or "") + (unit or "")
        if YEAR_VALUE.fullmatch(value) and (unit == "年" or text[match.end() : match.end() + 1] in "年-—"):
            continue  # a year, not a quantity
        if not unit and YEAR_VALUE.fullmatch(value) and "年" in text[match.start() : match.end() + 1]:
            continue  # a span of years (2016—2020年)
        if match.start() > 0 and text[match.start() - 1] in "第":
            continue
        spans.append((match.start(), match.end(), unit or ""))
        if not unit or unit.isascii():
            chain_start = chain_end = -1
        elif chain_end == match.start():
            spans.append((chain_start, match.end(), unit))
            chain_end = match.end()
        else:
            chain_start, chain_end = match.start(), match.end()
    return spans


def bare(text: str, start: int, end: int) -> tuple[int, int]:
    """A figure without its bound (不低于8880万亩 → 8880万亩), for questions that state the bound.

    >>> t = "不低于8880万亩"; a, b = bare(t, 0, len(t)); t[a:b]
    '8880万亩'
    """
    head = re.match(QUALIFIER, text[start:end])
    start += len(head.group()) if head else 0
    tail = re.search(rf"(?:{BOUND})$", text[start:end])
    return start, end - (len(tail.group()) if tail else 0)


UNIT_EQUIVALENTS = {
    "人": ("人", "名", "位", "人次"),
    "名": ("人", "名", "位"),
    "家": ("家", "户", "个"),
    "户": ("户", "家"),
    "个": ("个", "家", "所", "项", "座", "处"),
    "台": ("台", "辆", "套"),
    "块": ("块", "枚", "金"),  # medals: 几块金牌 → 8金, 62枚
    "枚": ("枚", "块", "金"),
}


def unit_fit(unit: str, hint: str) -> float:
    """How well a span's unit answers a question's unit hint (1 good, 0 neutral, negative bad).

    >>> unit_fit("万人", "人"), unit_fit("名", "人"), unit_fit("亿元", "%")
    (1.0, 1.0, -1.0)
    """
    if not hint:
        return 0.0 if unit else -0.3
    if hint == "%":
        return 1.0 if unit in ("%", "个百分点") else -1.0
    if any(unit.endswith(h) for h in UNIT_EQUIVALENTS.get(hint, (hint,))):
        return 1.0
    return -1.0 if unit else -0.5


MEASURE_CUES = (
    "增长",
    "增速",
    "增幅",
    "涨幅",
    "下降",
    "降低",
    "减少",
    "增加",
    "提高",
    "比重",
    "占",
    "达到",
    "控制在",
    "超过",
    "突破",
    "完成",
    "新增",
    "累计",
)


def cue_fit(norm: str, start: int, question_norm: str, end: int | None = None) -> float:
    """Does the measure word right before a figure (增长 9%, 比重 54%) match the question's?

    1 when it does, -1 when the question names another one, 0 when either has none.

    >>> cue_fit("生产总值17800亿元，增长9%左右", 14, "生产总值增长了多少")
    1.0
    """
    before = re.sub(r"[了到为在至是近约]+$", "", norm[max(0, start - 6) : start])
    cue = next((c for c in MEASURE_CUES if before.endswith(c)), "")
    if not cue and end is not None:  # the figure's own qualifier: 超过3万亿元
        cue = next((c for c in MEASURE_CUES if norm.startswith(c, start, end)), "")
    if not cue:
        return 0.0
    return 1.0 if cue in question_norm else -1.0 if any(c in question_norm for c in MEASURE_CUES) else 0.0


def _decay(distance: int) -> float:
    """Weight of a topic word by its distance from the span: 1 when adjacent, 0.5 at 40 characters."""
    return 1.0 - min(max(distance, 0), 40) / 80


def support(
    norm: str,
    a: int,
    b: int,
    terms: tuple[str, ...],
    weights: dict[str, float],
    groups: dict[str, tuple[str, ...]],
    bigrams: tuple[str, ...] = (),
    inside: bool = False,
) -> float:
    """How well the text around span [a, b) matches the question's topic (0..1).

    Topic words count fully in the span's own clause (before or after it, closer is better)
    and partly in the clause before; character bigrams of the question add a fuzzy match
    for wordings the tokenizer splits differently (减轻负担 ~ 减负).
    """
    cs, ce = clause_bounds(norm, a)
    ps = clause_bounds(norm, cs - 2)[0] if cs >= 2 else cs
    ne = clause_bounds(norm, ce + 1)[1] if ce + 1 < len(norm) else ce
    windows = [(cs, a, 1.0, True), (b, ce, 0.85, False), (ps, cs, 0.6, True), (ce, ne, 0.5, False)]
    if inside:  # a title answers with its own words (《…安全生产条例》)
        windows.append((a, b, 0.9, False))
    total = sum(weights.get(t, 1.0) for t in terms)
    hit = 0.0
    for term in terms:
        best = 0.0
        for variant in (term, *groups.get(term, ())):
            for start, end, weight, before in windows:
                at = norm.find(variant, start, end)
                while at >= 0 and at + len(variant) <= end:
                    distance = a - (at + len(variant)) if before else max(at - b, 0)
                    best = max(best, weight * _decay(distance))
                    at = norm.find(variant, at + 1, end)
        if best == 0.0 and len(term) >= 3 and sum(ch in norm[ps:ne] for ch in term) / len(term) >= 0.67:
            best = 0.4
        hit += best * weights.get(term, 1.0)
    term_cov = hit / total if total else 0.0
    if not bigrams:
        return term_cov if total else 0.5
    window = norm[ps:ne]
    gram_cov = sum(g in window for g in bigrams) / len(bigrams)
    if not total:
        return gram_cov
    return term_cov if term_cov >= gram_cov else 0.7 * term_cov + 0.3 * gram_cov


def trim(text: str, start: int, end: int) -> tuple[int, int]:
    """Strip spaces, particles and unbalanced quotes from a span's edges.

    >>> s = "坚持“安全第一、预防为主”的方针"; a, b = trim(s, 2, 13); s[a:b]
    '安全第一、预防为主'
    >>> s = "首家省实验室——燕赵钢铁实验室挂牌"; a, b = trim(s, 6, 15); s[a:b]
    '燕赵钢铁实验室'
    """
    if "、" in text[start:end]:  # 等 closes a list: 氢能、新型电池等新兴产业 → 氢能、新型电池
        closing = text.find("等", text.rfind("、", start, end), end)
        end = closing if closing > 0 else end
    while start < end and (text[start] in " \u3000，、" + EDGE_MARKS or text[start] in QUOTES):
        start += 1
    while end > start and (text[end - 1] in " \u3000，、的了" + EDGE_MARKS or text[end - 1] in QUOTES):
        end -= 1
    if not _balanced(text[start:end]):
        wide_start = start - 1 if start > 0 and text[start - 1] in OPEN_QUOTES else start
        wide_end = end + 1 if end < len(text) and text[end] in CLOSE_QUOTES else end
        for a, b in ((wide_start, wide_end), (wide_start, end), (start, wide_end)):
            if (a, b) != (start, end) and _balanced(text[a:b]):
                return a, b
    return start, end


OPEN_QUOTES, CLOSE_QUOTES = "“「『", "”」』"
EDGE_MARKS = "—…：:；;。！？"  # dashes, colons, stops: never an answer's first or last character


def _balanced(span: str) -> bool:
    depth = 0
    for ch in span:
        if ch in OPEN_QUOTES:
            depth += 1
        elif ch in CLOSE_QUOTES:
            depth -= 1
            if depth < 0:
                return False
    return depth == 0


def cloze_spans(text: str, question: Question) -> list[tuple[int, int, float]]:
    """Fill the question's blank from a passage: text between its left and right context words.

    A fill stays inside one clause (no ，；。). Without a right context (天津市长是谁？) it runs
    to the end of its clause, if that is short; without a left one (以哪几个方面为重点？) it
    starts at its clause. A 什么/哪 question's noun (哪个科技园, 什么保险公司) is kept in the fill.
    Returns (start, end, anchor strength 0..2) for each fill found.
    """
    norm = normalize(text)
    out = []
    rights = _anchors(question.right, from_start=True)
    quoted_label = question.right[:1] in "“「\"'"  # 哪“三大平台”: the label names the kind, not the answer
    head = ""
    if question.wh.startswith(("哪", "什么")) and not is_listing(question.wh) and not quoted_label:
        head = noun_head(question.right)
    lefts = _anchors(question.left, from_start=False)
    for left in lefts:
        for match in re.finditer(re.escape(left), norm):
            a = match.end()
            _, stop = clause_bounds(norm, a)
            strength = min(len(left), 4) / 4
            if not rights:
                if 0 < stop - a <= 15:
                    out.extend(_named((a, _open_end(norm, a, stop, head, question.terms), strength), norm, left))
                continue
            for right in rights:
                b = norm.find(right, a, stop)
                if b > a:
                    fill = (a, _with_head(norm, b, head, stop), strength + min(len(right), 4) / 4)
                    out.extend(_named(fill, norm, left))
                    break
    if not out and question.left and rights and not head:
        for right in rights:  # right context only: the fill starts at its clause
            for match in re.finditer(re.escape(right), norm):
                a, _ = clause_bounds(norm, match.start())
                lead = _trim_edge(text[a : match.start()], 0, leading=True, drop=FUNCTION_WORDS)
                a = match.start() - len(lead)
                if 0 < match.start() - a <= 30:
                    out.append((a, match.start(), min(len(right), 4) / 4))
            if out:
                break
    return out


def _open_end(norm: str, a: int, stop: int, head: str, terms: tuple[str, ...]) -> int:
    """End of a fill that no question word closes: through the asked-for noun when it comes
    (哪座桥 → 花江峡谷大桥, not …大桥桥旅融合景区), else before the question's own words
    (二冬汤颗粒获批上市 → 二冬汤颗粒 when the question says 获批上市), else at ``stop``.

    >>> _open_end("花江峡谷大桥桥旅融合景区", 0, 12, "桥", ()), _open_end("二冬汤颗粒获批上市", 0, 9, "", ("获批",))
    (6, 5)
    """
    at = norm.find(head, a + 1, stop) if head else -1
    if at >= 0:
        return at + len(head)
    cuts = [norm.find(t, a + 1, stop) for t in terms if len(t) >= 2]
    return min((c for c in cuts if c > a), default=stop)


def _named(fill: tuple[int, int, float], norm: str, left: str) -> list[tuple[int, int, float]]:
    """A fill, and when the question's left word is part of a longer name the fill ends
    (宁夏哪家工厂 → 蒙牛宁夏全数智化工厂, 贵州哪家企业 → 贵州轮胎), that whole name too."""
    from qa.query import _posseg

    a, b, strength = fill
    anchor = a - len(left)
    clause = clause_bounds(norm, anchor)[0]
    words = _posseg().lcut(norm[clause:anchor])
    keep = 0
    for word, flag in reversed(words):
        if flag.startswith(("v", "p", "c", "u", "d", "r", "x", "m")) or word in "的和与及":
            break
        keep += len(word)
    if not _posseg().lcut(left)[-1].flag.startswith("ns") or not (keep or anchor == clause):
        return [fill]
    return [fill, (anchor - keep, b, strength + 0.25)]


def _with_head(norm: str, b: int, head: str, stop: int) -> int:
    """End of a fill: through the asked-for noun when it follows (哪个科技园 → …科技园), else at ``b``."""
    if not head or (b > 0 and norm[b - 1] == "的"):
        return b
    at = norm.find(head, b, min(stop, b + 12) + len(head))
    return at + len(head) if at >= 0 else b


def noun_head(right: str) -> str:
    """The last noun of the noun run a question's right context starts with.

    >>> noun_head("大数据试验区"), noun_head("改革严重滞后"), noun_head("为突破口")
    ('试验区', '改革', '')
    """
    from qa.query import _posseg

    head = ""
    for word, flag in _posseg().lcut(re.sub(r"[“”\"「」？?。!！\s]", "", right)):
        if flag.startswith(("n", "vn", "zg")) and not flag.startswith("nr"):  # jieba tags 村 zg
            head = word
        elif not flag.startswith(("a", "b", "m", "q", "eng")):
            break  # adjectives and numbers may stand inside the noun run (大数据试验区)
    return head


def head_noun_spans(text: str, question: Question, head: str = "") -> list[tuple[int, int, float]]:
    """Noun phrases ending in the question's head noun (哪类企业 → 国内外500强企业)."""
    head = head or noun_head(question.right)
    if not head:
        return []
    from qa.query import _posseg

    out = []
    norm = normalize(text)
    for match in re.finditer(re.escape(head), norm):
        end = match.end()
        start, _ = clause_bounds(norm, match.start())
        words = _posseg().lcut(text[start : match.start()])
        keep = 0
        for word, flag in reversed(words):
            joins_name = word in ("―", "-", "—", "·", "“", "”") and keep > 0  # 滨海―中关村, “亲”“清”新型
            if (flag.startswith(("v", "p", "c", "u", "d", "r", "x")) and not joins_name) or word in "的和与及":
                break
            keep += len(word)
        if keep:
            out.append((match.start() - keep, end, 0.5))
    return out


def enumerations(text: str, question: str = "") -> list[tuple[int, int, int]]:
    """Lists of items joined by 、 (and a final 和/及) inside a clause: (start, end, item count).

    The first item loses leading verbs and adverbs when it is longer than its siblings; the
    last one ends before a preposition or particle (…工业排放为重点 → …工业排放).

    >>> t = "切实增强政治意识、大局意识、核心意识、看齐意识，更加紧密"
    >>> [(t[a:b], n) for a, b, n in enumerations(t)]
    [('政治意识、大局意识、核心意识、看齐意识', 4)]
    >>> t = "浙东工业母机、环杭州湾现代纺织、长三角大飞机等集群4个、总数达到8个"
    >>> [(t[a:b], n) for a, b, n in enumerations(t)]
    [('浙东工业母机、环杭州湾现代纺织、长三角大飞机', 3)]
    """
    out = []
    for clause in re.finditer(r"[^，,;；。！？!?：:]+", text):
        body, base = clause.group(), clause.start()
        parts = body.split("、")
        # 等 in a middle item closes the list there (…长三角大飞机等集群4个、总数达到8个)
        closed = next((i for i, part in enumerate(parts[1:-1], 1) if re.search(r"(?<=.)等", part)), 0)
        if closed:
            parts = parts[: closed + 1]
            body = "、".join(parts)
        if len(parts) < 2:
            continue
        # 等 closes a list (…未来能源等20个未来产业 → …未来能源)
        tail = re.split(r"(?<=.)(?:[“”「」《（(]|等)", parts[-1], maxsplit=1)[0]
        last = re.split(r"(?:以及|和|及|与)", tail, maxsplit=1)
        middle = parts[1:-1] + last[:-1]
        ended = _last_item(last[-1], [parts[0], *middle])
        tail, last[-1] = tail[: len(tail) - len(last[-1]) + len(ended)], ended
        # the outer items are trimmed to the size of the others (切实增强政治意识 → 政治意识)
        width = max(map(len, middle)) if len(middle) >= 2 else max(map(len, [*middle, last[-1]])) + 1
        first = _lead_verb_dropped(parts[0], [*middle, last[-1]], question)
        first = _trim_edge(first, width, leading=True)
        if len(middle) < 2:
            width = max(map(len, [*middle, first])) + 1
        tail_keep = _trim_edge(tail, width + len(tail) - len(last[-1]), leading=False)
        start = base + len(parts[0]) - len(first)
        end = base + len(body) - len(parts[-1]) + len(tail_keep)
        if end - start >= 4:
            out.append((start, end, len(parts) - 1 + len(last)))
    return out


def _last_item(item: str, others: list[str]) -> str:
    """The last item without the sentence that goes on after it: cut before a verb or adverb
    where that leaves an item about as long as the others.

    >>> _last_item("乾陵获评国家5A级旅游景区", ["乾坤湾"]), _last_item("责任制保障", ["网格化管理", "社会化服务"])
    ('乾陵', '责任制保障')
    """
    from qa.query import _posseg

    lengths = [len(o) for o in others if o]
    if not lengths or len(item) <= max(lengths) + 1:
        return item
    kept = ""
    for n, pair in enumerate(_posseg().lcut(item)):
        if n and pair.flag.startswith(("v", "d", "m")) and min(lengths) - 1 <= len(kept) <= max(lengths) + 1:
            return kept
        kept += pair.word
    return item


def _lead_verb_dropped(first: str, others: list[str], question: str = "") -> str:
    """The first item without the words that introduce the list: verbs, adverbs, prepositions
    (by part of speech) and words of the question itself (the question names the topic, the
    answer is what it does not say), unless the other items start the same way (防止…、防止…).

    >>> _lead_verb_dropped("一是认真实施汽车", ["钢铁", "造船"])
    '汽车'
    >>> _lead_verb_dropped("重点培育人形机器人", ["商业航天", "生物制造"], "北京要重点培育哪些未来产业")
    '人形机器人'
    >>> _lead_verb_dropped("防止经济过热", ["防止价格上涨"], "哪两个“防止”")
    '防止经济过热'
    """
    from qa.query import _posseg

    leads = [_posseg().lcut(item)[0] for item in others if item]
    words = _posseg().lcut(first)
    while len(words) > 1:
        word, flag = words[0].word, words[0].flag
        if any(w.word == word for w in leads):
            break
        by_tag = flag.startswith(("v", "p", "c", "ad", "m", "r")) and not any(w.flag[:1] == flag[:1] for w in leads)
        in_question = word in question
        if not (by_tag or in_question):
            break
        words = words[1:]
    return "".join(w.word for w in words)


LEADING_DROP = ("v", "d", "p", "c", "u", "r", "ad", "x", "l", "i")  # dropped only while over width
FUNCTION_WORDS = ("p", "c", "d", "u", "ad", "r", "x")
TRAILING_CUT = ("p", "u", "x", "y")  # not conjunctions: 和 joins the last items


def _trim_edge(item: str, width: int, leading: bool, drop: tuple[str, ...] = LEADING_DROP) -> str:
    """Leading side: drop verbs/adverbs while the item is longer than ``width``.
    Trailing side: cut the item before its first preposition or particle after the first word."""
    from qa.query import _posseg

    words = [(w, f) for w, f in _posseg().lcut(item)]
    if leading:
        while len(words) > 1 and words[0][1].startswith(("p", "u", "x")):
            words = words[1:]  # 以燃煤 → 燃煤
        while len("".join(w for w, _ in words)) > width and len(words) > 1 and words[0][1].startswith(drop):
            words = words[1:]
    else:
        for i, (_, flag) in enumerate(words[1:], start=1):
            if flag.startswith(TRAILING_CUT):
                words = words[:i]
                break
        while len("".join(w for w, _ in words)) > width and len(words) > 1 and words[-1][1].startswith(("v", "d")):
            words = words[:-1]
    return "".join(w for w, _ in words)


def quoted_spans(text: str) -> list[tuple[int, int]]:
    """Quoted phrases “…” / 「…」 (slogans, principles, names), quotes included.

    Quotes that follow each other directly (“亲”“清”) make one phrase.

    >>> t = "坚持“依法行政、廉洁从政”，构建“亲”“清”新型政商关系"; [t[a:b] for a, b in quoted_spans(t)]
    ['“依法行政、廉洁从政”', '“亲”“清”']
    """
    return [(m.start(), m.end()) for m in re.finditer(r"(?:[“「][^“”「」]{1,40}[”」])+", text)]


def _anchors(context: str, from_start: bool) -> list[str]:
    """Context strings to look for next to a fill, longest first: the edge of the question's
    wording on that side (2–6 characters), also with its outermost word or particle dropped
    (签署了 → 签署; 方面为重点 → 为重点)."""
    from qa.text import segment

    text = re.sub(r"[？?。!！\s]", "", context)
    variants = [text]
    if from_start:
        words = segment(text)
        if len(words) > 1:
            variants.append(text[text.find(words[1]) :] if words[1] in text else text)
    else:
        variants.append(re.sub(r"[了着过的是要将]+$", "", text))
    out: list[str] = []
    for variant in dict.fromkeys(variants):
        for n in range(min(6, len(variant)), 1, -1):
            out.append(variant[:n] if from_start else variant[-n:])
    return sorted(dict.fromkeys(out), key=len, reverse=True)


def english_head(norm: str) -> str:
    """The Chinese head noun an English which/what question asks for (which university → 大学)."""
    from qa.lexicon import translate_english

    match = re.search(
        r"\b(?:which|what)\s+(?:kind of\s+|two\s+|three\s+|four\s+|new\s+)*([a-z-]+(?:\s+[a-z-]+)?)", norm
    )
    if not match:
        return ""
    for phrase in (match.group(1), match.group(1).split()[-1], match.group(1).split()[0]):
        found = translate_english(phrase)
        if found:
            return found[-1]
    return ""


ORDINAL = re.compile(r"第[一二两三四五六七八九十百零〇\d]+[届次批期轮个位名大]")
ASKS_ORDINAL = re.compile(r"第几|哪一?[届次批期轮]|排[名在]?几|排名")


def ordinal_spans(text: str, question_norm: str) -> list[tuple[int, int]]:
    """Ordinals for 第几届 / 哪一届 questions; after 哪一届 the question's noun comes with them.

    >>> t = "申办第十六届全国运动会，办好第九届亚冬会，开展第三次全国农业普查"
    >>> [t[a:b] for a, b in ordinal_spans(t, "第几届亚冬会")]
    ['第十六届', '第九届', '第三次']
    >>> [t[a:b] for a, b in ordinal_spans(t, "申办哪一届全国运动会")]
    ['第十六届全国运动会', '第九届', '第三次']
    """
    asked = ASKS_ORDINAL.search(question_norm)
    if not asked:
        return []
    noun = re.split(r"[，。？?]", question_norm[asked.end() :])[0] if asked.group().startswith("哪") else ""
    out = []
    for match in ORDINAL.finditer(text):
        end = match.end()
        rest = re.split(r"[，。；、：,;:]", text[end : end + 16])[0]
        if len(noun) >= 2 and noun[-2:] in rest:  # through the question's noun: 第三次全国农业普查
            end += rest.find(noun[-2:]) + 2
        out.append((match.start(), end))
    return out


def book_titles(text: str) -> list[tuple[int, int]]:
    return [(m.start(), m.end()) for m in re.finditer(r"《[^《》]{2,40}》", text)]


# -- reading the top passages: candidates, scores, confidence --------------------------


@dataclass(frozen=True)
class Reading:
    """A candidate span chosen by the reader, with the passage it was read from and its rank."""

    span: Span
    scored: Scored
    rank: int
    evidence: tuple[float, ...] = ()  # what the confidence model reads (``CONFIDENCE_FEATURES``)


@dataclass(frozen=True)
class Candidate:
    """A candidate span of one passage with the features the span scorer reads."""

    reading: Reading
    text: str  # normalised span text (answers that agree across passages vote together)
    features: tuple[float, ...]


SPAN_KINDS = ("number", "date", "slot", "quote", "list", "title", "ordinal", "phrase", "clause", "neural")
QUESTION_KINDS = ("number", "date", "slot", "other")
FEATURES = (
    "support",  # the question's topic stands next to the span
    "anchor",  # the question's own wording frames the span (cloze fills, shapes)
    "fit",  # unit fit of a figure
    "cue",  # the figure's measure word is the asked-for one
    "bonus",  # the span has the asked-for shape (item or character count)
    *(f"span={k}" for k in SPAN_KINDS),
    *(f"question={k}" for k in QUESTION_KINDS),
    "english",
    "follow_up",
    "unknown_terms",  # topic words the reports never use (比特币 in a work report: likely not answered)
    "passage_gap",  # passage score minus the best passage's
    "rank",
    "period_match",
    "coverage",
    "dense_rank",  # passages read that are closer to the question by the embedder (its scale differs by model)
    "bm25_share",  # passage BM25 over the best BM25 of the passages read
    "log_length",
    "question_chars",  # share of the span's characters the question uses (answers seldom repeat it)
    "term_near",  # closeness of the nearest topic word (1 adjacent … 0 at 40 characters)
    "window_bigrams",  # share of the question's bigrams within 20 characters of the span
    "term_before",  # the same for topic words before the span (the topic usually leads: 粮食产量达…)
    "misfit",  # a figure in a unit the question does not ask for
    "year_near",  # a year the question names stands in the span's clause or the one before
    "clause_start",
    "clause_end",
    "said_before",  # an answer already given in the conversation (a follow-up asks for something new)
    "in_question",  # the question (or the one it follows up) states the span (从18亿元增加到多少: not 18亿元)
    "change_for_change",  # a change is asked for (比上年增加多少) and the figure follows 增加/增长/多…
    "level_for_change",  # a change is asked for and the figure follows 到/达/为 (a level, not a change)
    "clause_for_account",  # a whole clause or sentence, for a question asking why/how/what it is like
    "respective",  # in "A、B分别为a、b": the figure of the subject the question names (another's is no candidate)
    "class_match",  # the span ends in the kind of name asked for (谁 → a person's name)
    "class_clash",  # a kind of name is asked for and the span ends in another kind
    "named",  # the span ends in a name (of a person, place or organisation) and a slot is asked for
    "sentence_bigrams",  # share of the question's bigrams in the span's sentence
    "votes",  # other passages offering the same text
    "support_rank",  # 1 for the span with the best support in the question, lower after
    "support_lead",  # support minus the best support of a different answer
    "neural",  # log-probability of the span under the fine-tuned e5 span model (qa.encoder)
    "neural_gap",  # that minus the best candidate's (0 for the neural model's favourite)
    "neural_read",  # the neural model read the span's passage
    "neural_none",  # its log-probability that the passage holds no answer
)
ASKS_CHANGE = re.compile(
    r"比.{0,12}(?:增加|增长|多|提高|减少|下降|降低|少)|(?:增加|增长|提高|减少|下降|降低|多|少)了?(?:多少|几)"
)
CHANGE_CUE = re.compile(r"(?:增长|增加|提高|多|下降|减少|降低|少|增)了?$")
LEVEL_CUE = re.compile(r"(?:到|至|达|为|是)$")
# Questions answered by an account rather than a name or figure: why, how, what it is, what it does.
ASKS_ACCOUNT = re.compile(
    r"为什么|为何|原因|如何|怎样|怎么|作用|意义|特点|特征|功能|影响|什么是|是什么意思|指的是|做了什么|有什么"
    r"|目的|为了什么|什么效果"
    rf"|{EN_ACCOUNT.pattern}"
)


def gather(
    index: Index, q: Question, ranked: list[Scored], foreign: Sequence[str] = (), neural: SpanScorer | None = None
) -> list[Candidate]:
    """Every candidate span of the top passages with its features (see ``FEATURES``).

    ``foreign`` lists places the question names other than the reports' own: an answer must
    stand next to one of them. ``neural``, when given, reads the first passages: its
    log-probabilities become features and its best spans candidates (without it, those
    features hold their 'not read' values).
    """
    terms = q.terms + q.extra_terms
    weights = {t: term_weight(index, t) for t in terms}
    groups = equivalence_map(q)
    read_ = ranked[:READ_PASSAGES]
    if not read_:
        return []
    top = read_[0].score
    top_bm25 = max(s.bm25 for s in read_) or 1.0
    denser = [sum(o.dense > s.dense for o in read_) for s in read_]
    # the question's own words: an English question's are its Chinese terms (answers seldom repeat them)
    own_words = "|".join(q.terms) if q.lang == "en" else q.norm
    q_chars = set(own_words)
    years = [str(y) for y in q.years]
    variants = [v for t in terms for v in (t, *groups.get(t, ())) if v]
    unknown = sum(w == ABSENT_TERM_WEIGHT for w in weights.values())
    shared = [float(q.kind == k) for k in QUESTION_KINDS] + [float(q.lang == "en"), float(bool(q.extra_terms)), unknown]
    asks_change = bool(ASKS_CHANGE.search(q.norm))
    asks_account = bool(ASKS_ACCOUNT.search(q.norm))
    wanted_class = asked_class(q.norm) if q.kind in ("slot", "other") else ""
    names_asked = q.kind in ("slot", "other")
    rows: list[tuple[Reading, str, list[float]]] = []
    asked = normalize(q.readable) if q.readable else q.norm
    norms = [normalize(index.chunks[s.position].text) for s in read_]
    readings = neural.read_all(asked, norms[:NEURAL_PASSAGES]) if neural is not None else []
    for rank, scored in enumerate(read_):
        chunk = index.chunks[scored.position]
        text = chunk.text
        norm = norms[rank]
        neural_read = readings[rank] if rank < len(readings) else None
        found = [(m.start(), m.end()) for v in variants for m in re.finditer(re.escape(v), norm)]
        passage = [scored.score - top, float(rank), float(scored.period_match), scored.coverage, float(denser[rank])]
        passage.append(scored.bm25 / top_bm25)
        spans = candidates(q, text, norm, terms, weights, groups, scored.coverage, foreign)
        runs = respective_runs(norm) if "分别" in norm else []
        if neural_read is not None:
            spans += neural_spans(
                neural_read, norm, spans, functools.partial(_support_of, norm, terms, weights, groups, q.bigrams)
            )
        for span in spans:
            a, b = span.start, span.end
            paired = respective(runs, a, b, own_words) if runs else 0.0
            if paired < 0:  # another subject's figure in "A、B分别为a、b": never the answer about B
                continue
            piece = norm[a:b]
            near = min((a - e if e <= a else s - b for s, e in found if e <= a or s >= b), default=40)
            before = min((a - e for s, e in found if e <= a), default=40)
            window = norm[max(0, a - 20) : b + 20]
            cs, ce = clause_bounds(norm, a)
            ps = clause_bounds(norm, cs - 2)[0] if cs >= 2 else cs
            row = [span.support, span.anchor, span.fit, span.cue, span.bonus]
            row += [float(span.kind == k) for k in SPAN_KINDS] + shared + passage
            row += [
                math.log(1 + b - a),
                sum(ch in q_chars for ch in piece) / max(len(piece), 1),
                1.0 - min(near, 40) / 40,
                sum(g in window for g in q.bigrams) / len(q.bigrams) if q.bigrams else 0.0,
                1.0 - min(before, 40) / 40,
                float(span.fit < 0),
                float(any(y in norm[ps:ce] for y in years)),
                float(a <= cs + 1),
                float(b >= ce - 1),
                float(len(piece) > 1 and any(piece in earlier for earlier in q.said)),
                float(len(piece) > 1 and (piece in own_words or piece in q.context)),  # or in the question followed up
                float(asks_change and span.kind == "number" and bool(CHANGE_CUE.search(norm[max(0, a - 6) : a]))),
                float(asks_change and span.kind == "number" and bool(LEVEL_CUE.search(norm[max(0, a - 6) : a]))),
                float(asks_account and span.kind == "clause"),
                paired,
            ]
            got_class = head_class(norm, a, b) if names_asked and span.kind != "number" else ""
            ss, se = sentence_bounds(norm, a, b)
            sentence = norm[ss:se]
            row += [
                float(bool(wanted_class) and got_class == wanted_class),
                float(bool(wanted_class) and bool(got_class) and got_class != wanted_class),
                float(got_class in ("person", "place", "org")),
                sum(g in sentence for g in q.bigrams) / len(q.bigrams) if q.bigrams else 0.0,
            ]
            row += [max(neural_read.span(a, b), NEURAL_FLOOR) if neural_read else NEURAL_FLOOR]
            row += [float(neural_read is not None), neural_read.none if neural_read else 0.0]
            rows.append((Reading(span, scored, rank), piece, row))
    passages_of: dict[str, set[int]] = {}
    for reading, piece, _ in rows:
        passages_of.setdefault(piece, set()).add(reading.rank)
    supports = sorted({r.span.support for r, _, _ in rows}, reverse=True)
    best_of: dict[str, float] = {}
    for reading, piece, _ in rows:
        best_of[piece] = max(best_of.get(piece, 0.0), reading.span.support)
    ranked_texts = sorted(best_of.items(), key=lambda kv: -kv[1])[:2]
    best_neural = max((row[-3] for _, _, row in rows), default=NEURAL_FLOOR)
    out = []
    for reading, piece, row in rows:
        span_logp, read_here, none = row[-3:]
        del row[-3:]
        row.append(float(len(passages_of[piece]) - 1))
        row.append(1.0 / (1 + supports.index(reading.span.support)))
        other = next((v for t, v in ranked_texts if t != piece), 0.0)
        row.append(reading.span.support - other)
        row += [span_logp, max(span_logp - best_neural, NEURAL_FLOOR), read_here, none]
        out.append(Candidate(reading, piece, tuple(row)))
    return out


def _support_of(
    norm: str,
    terms: tuple[str, ...],
    weights: dict[str, float],
    groups: dict[str, tuple[str, ...]],
    bigrams: tuple[str, ...],
    a: int,
    b: int,
) -> float:
    return support(norm, a, b, terms, weights, groups, bigrams)


def neural_spans(
    reading: SpanReading, norm: str, typed: Sequence[Span], sup: Callable[[int, int], float], k: int = 3
) -> list[Span]:
    """The span model's ``k`` best spans of a passage (edges trimmed) that the typed candidates
    do not already hold: answers of no pattern's shape (a clause, a name without a tag).

    >>> r = SpanReading(((0, 2), (2, 3), (3, 5)), np.log([0.8, 0.1, 0.1]), np.log([0.1, 0.2, 0.7]), -5.0)
    >>> [(s.start, s.end) for s in neural_spans(r, "天津，滨海", [], lambda a, b: 0.5)]
    [(0, 5), (0, 2)]
    >>> [(s.start, s.end) for s in neural_spans(r, "天津，滨海", [Span(0, 5, "slot", 0.0, 0.5)], lambda a, b: 0.5)]
    [(0, 2)]
    """
    held = {(s.start, s.end) for s in typed}
    out: list[Span] = []
    for a, b, _ in reading.best(k):
        a, b = trim(norm, a, b)
        if b > a and (a, b) not in held:
            held.add((a, b))
            out.append(Span(a, b, "neural", 0.0, sup(a, b)))
    return out


CONFIDENCE_FEATURES = (
    "score",  # the best span's score
    "share",  # softmax share of its text among all candidates
    "margin",  # its lead over the best different answer
    "candidates",  # log of how many candidates there were
    *(f"best {name}" for name in FEATURES),  # the best span's own features
)
MISFIT = CONFIDENCE_FEATURES.index("best misfit")
# Questions that ask for a name, a phrase or a clause (not a figure or a date): calibrated apart.
ASKS_NAME = tuple(CONFIDENCE_FEATURES.index(f"best question={k}") for k in ("slot", "other"))


def asks_name(evidence: Sequence[float]) -> bool:
    return any(evidence[i] > 0 for i in ASKS_NAME)


def read(
    index: Index, q: Question, ranked: list[Scored], foreign: Sequence[str] = (), model: ReaderModel | None = None
) -> Reading | None:
    """The best candidate span over the top passages by the learned span scorer, with its
    passage, rank and the evidence the confidence model reads."""
    model = model or ReaderModel.load()
    found = gather(index, q, ranked, foreign, SpanScorer.load() if model.neural else None)
    if not found:
        return None
    features = np.array([c.features for c in found])
    scores = model.span_scores(features)
    best, evidence = choose(features, [c.text for c in found], scores)
    reading = found[best].reading
    return Reading(replace(reading.span, score=float(scores[best])), reading.scored, reading.rank, evidence)


def choose(features: np.ndarray, texts: Sequence[str], scores: np.ndarray) -> tuple[int, tuple[float, ...]]:
    """The best-scoring candidate and its evidence for the confidence model.

    >>> f = np.zeros((3, len(FEATURES)))
    >>> best, evidence = choose(f, ["8%", "8%", "9%"], np.array([1.0, 1.0, 1.0]))
    >>> best, round(evidence[1], 3), evidence[2]
    (0, 0.667, 0.0)
    """
    best = int(np.argmax(scores))
    shares = np.exp(scores - scores[best])
    same = np.array([t == texts[best] for t in texts])
    rival = scores[~same].max() if (~same).any() else scores[best] - 5.0
    evidence = (
        float(scores[best]),
        float(shares[same].sum() / shares.sum()),
        float(scores[best] - rival),
        math.log(len(texts)),
        *(float(v) for v in features[best]),
    )
    return best, evidence


def confidence(
    q: Question, ranked: list[Scored], reading: Reading | None, model: ReaderModel | None = None
) -> tuple[float, str]:
    """The calibrated probability that the reading answers the question and, when it cannot, why.

    The engine checks first that the passage is about the year and place asked.
    """
    if not ranked:
        return 0.0, "no passage to read"
    if reading is None:
        return 0.0, "no span of the asked-for kind"
    model = model or ReaderModel.load()
    p = model.confidence(reading.evidence)
    if p < model.threshold and reading.span.fit < 0:
        return p, "no figure in the unit asked for"
    return p, ""


def candidates(
    q: Question,
    text: str,
    norm: str,
    terms: tuple[str, ...],
    weights: dict[str, float],
    groups: dict[str, tuple[str, ...]],
    coverage: float,
    foreign: Sequence[str] = (),
) -> list[Span]:
    """Every typed candidate span of one passage with its topic support and type fit (``read`` scores them)."""
    spans: list[Span] = []

    def sup(a: int, b: int, inside: bool = False) -> float:
        value = support(norm, a, b, terms, weights, groups, q.bigrams, inside)
        if foreign:  # a place the question names must stand next to the answer
            cs, ce = clause_bounds(norm, a)
            ps = clause_bounds(norm, cs - 2)[0] if cs >= 2 else cs
            if not any(p in norm[ps:ce] for p in foreign):
                value *= 0.3
        return value

    if asks_reason(q):  # why or how: answered by a clause, not by a name or a figure
        return [Span(a, b, "clause", 0.0, sup(a, b)) for a, b in clauses(norm, q.terms)]
    if q.kind in ("number", "other"):
        states_bound = re.search(r"低于|高于|不少于|不超过|超过|以上|以下|以内|至少|最少|最多", q.norm)
        figures = number_spans(norm)  # normalised: full-width ７.５％ reads as 7.5%
        for a, b, unit in figures:
            if states_bound:  # 不能低于多少 → 18亿亩, not 不少于18亿亩
                a, b = bare(norm, a, b)
            s = sup(a, b)
            fit = unit_fit(unit, q.unit_hint)
            cue = cue_fit(norm, a, f"{q.norm} {q.context} {' '.join(q.terms)}", b)
            spans.append(Span(a, b, "number", 0.0, s, fit=fit, cue=cue))
        if "分别" in q.norm or re.search(r"\brespectively\b", q.norm):
            spans += paired_figures(norm, figures, q, sup)
        if q.kind == "other" and ASKS_ACCOUNT.search(q.norm):  # 为什么…: an account, not a figure
            spans += [Span(a, b, "clause", 0.0, sup(a, b)) for a, b in clauses(norm, q.terms)]
    elif q.kind == "date":
        patterns = [YEAR_SPAN] if q.unit_hint == "年" else [DATE, YEAR_SPAN, MONTH, INCIDENT_DATE]
        found = [(m.start(), m.end()) for pattern in patterns for m in pattern.finditer(norm)]
        if q.unit_hint != "年":  # 什么时候 → 年底, 春节前, 今年7月底 as well as dates
            found += time_phrases(norm, q.terms)
        for a, b in dict.fromkeys(found):
            spans.append(Span(a, b, "date", 0.0, sup(a, b)))
    else:
        spans.extend(slot_candidates(q, text, norm, sup, coverage))
    for a, b in ordinal_spans(norm, q.norm):  # 第几届 / 哪一届
        s = sup(a, b)
        spans.append(Span(a, b, "ordinal", 0.0, s))
    return spans


def paired_figures(
    norm: str, figures: list[tuple[int, int, str]], q: Question, sup: Callable[..., float]
) -> list[Span]:
    """Figures joined by 和/、/与 (分别提高到300元和500元; 5.5%左右、6%左右、5%左右): every run
    of two or more, for a question that asks for several (分别)."""
    out = []
    for i, (a, _, unit) in enumerate(figures):
        for (_, b, _), (c, d, _) in zip(figures[i:], figures[i + 1 :], strict=False):
            if not (1 <= c - b <= 2 and re.fullmatch(r"[和、与及,，]|、和", norm[b:c])):
                break
            out.append(Span(a, d, "number", 0.0, sup(a, d), fit=unit_fit(unit, q.unit_hint)))
    return out


def respective_runs(norm: str) -> list[tuple[tuple[str, ...], tuple[tuple[int, int], ...]]]:
    """The 分别 constructions of a passage: (subjects, their figures' spans), as many of each.

    "A、B、C分别增长a、b和c" pairs each subject with the figure at its place; a question about B
    asks for b, whatever else stands beside it.

    >>> s = "治沙、造林、种草分别完成年度目标任务的113%、220%和148%；"
    >>> [(subject, s[a:b]) for subjects, spans in respective_runs(s) for subject, (a, b) in zip(subjects, spans)]
    [('治沙', '113%'), ('造林', '220%'), ('种草', '148%')]
    """
    runs = []
    for match in re.finditer("分别", norm):
        start, end = clause_bounds(norm, match.start())
        subjects = tuple(t for t in re.split(r"、|以及|和|与|及", norm[start : match.start()]) if t)
        first = re.search(r"第?\d", norm[match.end() : end])
        if len(subjects) < 2 or first is None:
            continue
        spans, pos = [], match.end() + first.start()
        for item in re.split(r"(、|和|及|与)", norm[pos:end]):
            if item and item not in "、和及与":
                spans.append((pos, pos + len(item)))
            pos += len(item)
        if len(spans) == len(subjects) and all(re.search(r"\d", norm[a:b]) for a, b in spans):
            runs.append((subjects, tuple(spans)))
    return runs


def respective(
    runs: Sequence[tuple[tuple[str, ...], tuple[tuple[int, int], ...]]], a: int, b: int, asked: str
) -> float:
    """+1 when the span [a, b) is the figure of the 分别 subject the question names best (by shared
    character bigrams), -1 when it is another subject's, 0 outside such runs or when no subject is named.

    >>> s = "清洁能源、新能源装机占比分别达94.6%、70%，"
    >>> runs = respective_runs(s)
    >>> respective(runs, s.index("70%"), s.index("70%") + 3, "新能源装机占比达到多少？")
    1.0
    >>> respective(runs, s.index("94.6%"), s.index("94.6%") + 5, "新能源装机占比达到多少？")
    -1.0
    """
    for subjects, spans in runs:
        inside = [i for i, (s, e) in enumerate(spans) if a < e and s < b]
        if len(inside) != 1:
            continue
        shares = []
        for subject in subjects:
            pairs = {subject[i : i + 2] for i in range(len(subject) - 1)} or {subject}
            shares.append(sum(p in asked for p in pairs) / len(pairs))
        best = max(shares)
        if best <= 0 or shares.count(best) > 1:
            return 0.0
        return 1.0 if shares[inside[0]] == best else -1.0
    return 0.0


# Purpose: what something is done for, answered by a clause (让更多科研成果走进车间, 为了…)
ASKS_PURPOSE = re.compile(
    r"目的是?(?:什么|何在)|(?:是|就是)?为了什么|想(?:要)?(?:达到|实现)什么|达到什么(?:样的)?(?:效果|目的)|用意|意在"
    r"|\bwhy\b|\bpurpose\b|\bwhat for\b|\bin order to\b|\bto achieve what\b|\bwhat (?:is|was) the (?:aim|goal)\b"
)


def asks_reason(q: Question) -> bool:
    """Does the question ask why, what for, or how something is done (not how much, not what kind)?

    >>> from qa.query import analyse
    >>> asks_reason(analyse("为什么要建设海绵城市？")), asks_reason(analyse("怎样推进国企改革？"))
    (True, True)
    >>> asks_reason(analyse("完善中试基地服务功能是为了什么？")), asks_reason(analyse("打造名片想达到什么效果？"))
    (True, True)
    >>> asks_reason(analyse("增长如何？")), asks_reason(analyse("建设怎样的城市？"))
    (False, False)
    >>> asks_reason(analyse("How does the city plan to cut costs?")), asks_reason(analyse("How fast did GDP grow?"))
    (True, False)
    """
    if q.wh in ("为什么", "为何") or bool(ASKS_PURPOSE.search(q.norm)):
        return True
    if q.lang == "en":
        return bool(EN_ACCOUNT.search(q.norm))
    return q.wh in ("怎样", "如何", "怎么") and q.kind == "slot"


def slot_candidates(q: Question, text: str, norm: str, sup: Callable[..., float], coverage: float) -> list[Span]:
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
        spans.append(Span(a, b, "slot", 0.0, s, strength))
    seen = {(sp.start, sp.end) for sp in spans}
    for a, b in noun_phrases(norm, q.terms):
        if (a, b) not in seen:
            spans.append(Span(a, b, "phrase", 0.0, sup(a, b)))
    seen = {(sp.start, sp.end) for sp in spans}
    for a, b in clauses(norm, q.terms):
        if (a, b) not in seen:
            spans.append(Span(a, b, "clause", 0.0, sup(a, b)))
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
            spans.append(Span(a + 1, b - 1, "quote", 0.0, s, bonus=bonus))
    if wanted_items or is_listing(q.wh) or re.search(r"\b(?:which|what) (?:two|three|four|five)\b", q.norm):
        for a, b, count in enumerations(text, q.norm):
            s = sup(a, b)
            if wanted_items and count == wanted_items:
                s = max(s, 0.8 * coverage)
            bonus = 0.6 if wanted_items and count == wanted_items else 0.0
            if _shared_suffix(norm[a:b], q.norm):
                bonus += 0.3  # the items end like the question's noun (政治意识… ~ 四个意识)
            spans.append(Span(a, b, "list", 0.0, s, bonus=bonus))
            last = re.split(r"[、和及]", norm[a:b])[-1]
            for n in (3, 2):  # 坚持什么方针 → 全覆盖、保基本、多层次、可持续 (not …可持续方针)
                if len(last) > n + 1 and last[-n:] in q.norm:
                    spans.append(Span(a, b - n, "list", 0.0, s, bonus=bonus))
                    break
    if re.search(r"条例|法规|规划|纲要|文件|意见|办法|法\b", q.norm + " ".join(q.terms)):
        for a, b in book_titles(text):
            s = sup(a, b, inside=True)
            spans.append(Span(a, b, "title", 0.0, s))
    return spans + edge_variants(spans, norm, noun_head(q.right) if q.wh.startswith(("哪", "什么")) else "", sup)


LEADING_WORDS = ("t", "p", "v", "d", "c")  # 今年在京津冀…, 前瞻布局量子科技…: not part of the answer


def edge_variants(spans: list[Span], norm: str, head: str, sup: Callable[..., float]) -> list[Span]:
    """More edges for names and lists: a name ended at the question's head noun (哪条铁路 →
    青藏铁路, not 青藏铁路全线通车), a list without the time word, preposition or verb it starts
    with (今年在京津冀、长三角 → 京津冀、长三角).

    >>> from qa.reader import Span
    >>> norm = "青藏铁路全线通车。今年在京津冀、长三角、珠三角开展监测"
    >>> spans = [Span(0, 8, "phrase", 0.0, 0.5), Span(9, 23, "list", 0.0, 0.5)]
    >>> [norm[v.start : v.end] for v in edge_variants(spans, norm, "铁路", lambda a, b: 0.5)]
    ['青藏铁路', '京津冀、长三角、珠三角']
    >>> norm = "程阳八寨景区、宁明花山景区成功创建5A级景区"
    >>> [norm[v.start : v.end] for v in edge_variants([Span(0, 24, "list", 0.0, 0.5)], norm, "景区", lambda a, b: 0.5)]
    ['程阳八寨景区、宁明花山景区']
    """
    have = {(sp.start, sp.end) for sp in spans}
    out: list[Span] = []

    def add(sp: Span, a: int, b: int) -> None:
        if b - a >= 2 and (a, b) not in have:
            have.add((a, b))
            out.append(replace(sp, start=a, end=b, support=sup(a, b)))

    for sp in spans:
        a, b = sp.start, sp.end
        if len(head) >= 1 and sp.kind in ("slot", "phrase", "clause", "quote"):
            at = norm.find(head, a, b)
            if at > a and at + len(head) < b:
                add(sp, a, at + len(head))
        if len(head) >= 1 and sp.kind == "list":  # 哪些景区: 甲景区、乙景区 (not …乙景区成功创建5A级景区)
            last = max(norm.rfind(sep, a, b) for sep in "、和及")
            at = norm.find(head, last, b) if last > a else -1
            if at > last and at + len(head) < b:
                add(sp, a, at + len(head))
        if sp.kind in ("list", "slot"):
            cut = a
            for word, tag in _tagged(norm[a:b])[:3]:
                if not tag.startswith(LEADING_WORDS) or word in "、和及":
                    break
                cut += len(word)
            if a < cut < b - 2:
                add(sp, cut, b)
    return out


NOUN_TAGS = frozenset("n nr nrt nrfg ns nt nz nl ng vn j eng".split())
NAME_TAGS = frozenset("nr nrt nrfg ns nt nz t l".split())  # names, dynasties (辽朝 t), set phrases
SENTENCE = re.compile(r"[^。；;！？!?]+")


def noun_phrases(norm: str, terms: Sequence[str], longest: int = 24) -> list[tuple[int, int]]:
    """Runs of nouns (jieba's part-of-speech tags) and their tails, and single names, in the
    sentences that name a topic word: the names a 叫什么/哪个 question asks for (a laboratory, a
    university, an industrial cluster).

    >>> text = "首家省实验室——燕赵钢铁实验室挂牌成立。全省技术合同成交额1900亿元。"
    >>> [text[a:b] for a, b in noun_phrases(text, ("实验室",))]
    ['省实验室', '实验室', '燕赵', '燕赵钢铁实验室', '钢铁实验室', '实验室']
    """
    out: list[tuple[int, int]] = []
    for sentence in SENTENCE.finditer(norm):
        if any(t in sentence.group() for t in terms):
            out += [(sentence.start() + a, sentence.start() + b) for a, b in _noun_runs(sentence.group(), longest)]
    return out


CLAUSE = re.compile(r"[^，,；;：:]+")


def clauses(norm: str, terms: Sequence[str], longest: int = 80) -> list[tuple[int, int]]:
    """The clauses of the sentences that name a topic word, each with the clause after it, and
    those whole sentences: the account a 为什么/如何/有什么作用 question asks for.

    >>> text = "由于价格较低，所以节日都会烹煮海螯虾。另一句。"
    >>> [text[a:b] for a, b in clauses(text, ("海螯虾",))]
    ['由于价格较低', '由于价格较低，所以节日都会烹煮海螯虾', '所以节日都会烹煮海螯虾']
    """
    out: list[tuple[int, int]] = []
    for sentence in SENTENCE.finditer(norm):
        if not any(t in sentence.group() for t in terms):
            continue
        parts = [(sentence.start() + m.start(), sentence.start() + m.end()) for m in CLAUSE.finditer(sentence.group())]
        parts = [(a + len(norm[a:b]) - len(norm[a:b].lstrip()), b) for a, b in parts if norm[a:b].strip()]
        for i, (a, _) in enumerate(parts):
            for _, end in parts[i : i + 2]:
                if 2 <= end - a <= longest:
                    out.append((a, end))
        if len(parts) > 2 and parts[-1][1] - parts[0][0] <= longest:
            out.append((parts[0][0], parts[-1][1]))
    return out


TIME_AFTER = ("前", "后", "内", "以前", "之前", "以后", "底", "末")


def time_phrases(norm: str, terms: Sequence[str]) -> list[tuple[int, int]]:
    """Times in words (jieba's t tag) in the sentences that name a topic word, with the figures
    they follow and the 前/后/内 after them: the answers a 什么时候 question gets from a plan.

    >>> text = "一期工程今年7月底前完成，西延高铁年内建成投运。"
    >>> [text[a:b] for a, b in time_phrases(text, ("工程", "高铁"))]
    ['今年', '今年7月底', '今年7月底前', '7月底', '7月底前', '月底', '月底前', '年内']
    """
    out: list[tuple[int, int]] = []
    for sentence in SENTENCE.finditer(norm):
        if not any(t in sentence.group() for t in terms):
            continue
        words = _tagged(sentence.group())
        pos, starts = sentence.start(), []
        for i, (word, tag) in enumerate(words):
            following = words[i + 1] if i + 1 < len(words) else ("", "x")
            if tag == "t" or (word.isdigit() and following[1] == "t"):
                starts.append(pos)
                end = pos + len(word)
                if tag == "t" and len(norm[starts[0] : end]) >= 2:
                    for a in starts:
                        if end - a >= 2:
                            out.append((a, end))
                            if following[0] in TIME_AFTER:
                                out.append((a, end + len(following[0])))
            else:
                starts = []
            pos += len(word)
    return out


@functools.lru_cache(maxsize=8192)
def _tagged(sentence: str) -> tuple[tuple[str, str], ...]:
    """jieba's (word, part of speech) of a sentence; cached, as passages recur across questions."""
    from qa.query import _posseg

    return tuple((w.word, w.flag) for w in _posseg().cut(sentence))


ASKED_CLASSES = (
    ("person", re.compile(r"谁|何人|哪位|哪一位|什么人|哪个人|哪一个人|\bwho\b")),
    (
        "place",
        re.compile(
            r"哪里|哪儿|哪边|何处|何地|哪个(?:地方|城市|省|国家|地区|县|市)|哪一?(?:座城市|国)|\bwhere\b"
            r"|\bwhich (?:\w+ ){0,2}(?:city|cities|province|county|village|town|country|place)\b"
        ),
    ),  # noqa: E501
    (
        "org",
        re.compile(
            r"哪家|哪个(?:部门|机构|公司|企业|单位|组织|政党|大学|学校|银行)|哪所"
            r"|\bwhich (?:\w+ ){0,2}"
            r"(?:company|companies|enterprise|firm|university|college|school|bank|group|institution)\b"
        ),
    ),
)
HEAD_CLASSES = {"nr": "person", "nrfg": "person", "nrt": "person", "ns": "place", "nt": "org", "t": "time"}


def asked_class(norm: str) -> str:
    """What kind of name a question asks for: person, place, org, or '' (a figure, a date, a thing).

    >>> asked_class("日本列岛改造计划是由谁推动的"), asked_class("美庐别墅在哪里"), asked_class("2017年gdp增长多少")
    ('person', 'place', '')
    """
    return next((name for name, pattern in ASKED_CLASSES if pattern.search(norm)), "")


SENTENCE_END = "。；;！？!?\n"


def sentence_bounds(norm: str, a: int, b: int) -> tuple[int, int]:
    """The sentence around span [a, b).

    >>> sentence_bounds("甲乙。丙丁戊。己", 3, 4)
    (3, 6)
    """
    start = max(norm.rfind(ch, 0, a) for ch in SENTENCE_END) + 1
    end = min((i for i in (norm.find(ch, b) for ch in SENTENCE_END) if i >= 0), default=len(norm))
    return start, end


def head_class(norm: str, a: int, b: int) -> str:
    """The kind of name a span ends in, by jieba's tag of its last word in its sentence: person,
    place, org, time, or '' (another noun, a verb, a figure)."""
    start, end = sentence_bounds(norm, a, b)
    pos = start
    tag = ""
    for word, flag in _tagged(norm[start:end]):
        pos += len(word)
        if pos >= b:
            tag = flag
            break
    return HEAD_CLASSES.get(tag, "")


@functools.lru_cache(maxsize=8192)
def _noun_runs(sentence: str, longest: int) -> tuple[tuple[int, int], ...]:
    """(start, end) of the runs of nouns in a sentence; cached, as passages recur across questions."""
    out: list[tuple[int, int]] = []
    pos, starts = 0, []  # starts: where each word of the current run begins
    for word, tag in [*_tagged(sentence), ("", "x")]:
        if tag in NOUN_TAGS:
            starts.append(pos)
        elif starts:
            # the run and its tails: 国民政府任命李烈钧 → 任命李烈钧, 李烈钧 (jieba tags 任命 a noun)
            out += [(a, pos) for a in starts[:4] if 2 <= pos - a <= longest]
            starts = []
        if tag in NAME_TAGS and len(word) >= 2:
            out.append((pos, pos + len(word)))  # a name inside a run, or a dynasty: 建立 辽朝
        pos += len(word)
    return tuple(sorted(set(out)))


def _wanted_length(norm: str) -> int:
    """Characters a question asks for: 那十六个字 → 16, 哪五个字 → 5 (0 when it does not say)."""
    match = re.search(r"([一二两三四五六七八九十]+|\d+)个?字", norm)
    return _number(match.group(1)) if match else 0


def _wanted_items(norm: str) -> int:
    """Items a list question asks for: 哪四个 → 4, 哪“三大平台” → 3; 哪一个 asks for one thing, not a list.

    >>> _wanted_items("哪四个"), _wanted_items("哪“三大平台”"), _wanted_items("哪一个城市")
    (4, 3, 0)
    """
    match = re.search(
        r"哪([二两三四五六七八九十][一二两三四五六七八九十]*|\d+)|[“\"]([一二两三四五六七八九十]+)[大个项]", norm
    )
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


# -- the fitted model: span scorer, confidence, calibration, threshold --------------------

MODEL_FILE = Path(__file__).parent / "models" / "reader.json"
# The reader that also reads the top passages with the neural span model (qa.encoder): better on
# general text, ~40 ms slower per question; the engine's ``neural=True`` (``--neural``) picks it.
NEURAL_MODEL_FILE = Path(__file__).parent / "models" / "reader-neural.json"
MODEL_FORMAT = 1
Labelled = tuple[np.ndarray, Sequence[bool], Sequence[str]]  # one question: candidate features, gold, texts


@dataclass(frozen=True)
class Calibration:
    """A monotone map from a raw confidence to the probability that the answer is right,
    fitted by isotonic regression on predictions for questions the model was not fitted on.

    >>> c = Calibration((0.2, 0.6, 0.9), (0.1, 0.5, 0.8))
    >>> c(0.0), c(0.6), c(0.75), c(1.0)
    (0.1, 0.5, 0.65, 0.8)
    """

    raw: tuple[float, ...]
    probability: tuple[float, ...]

    def __call__(self, raw: float) -> float:
        if not self.raw:
            return raw
        return round(float(np.interp(raw, self.raw, self.probability)), 4)

    @classmethod
    def fit(cls, raw: Sequence[float], right: Sequence[bool]) -> Calibration:
        """Centred isotonic regression of right (1/0) on raw confidence: isotonic regression
        (scikit-learn, at training time only), each of its flat blocks kept as one point at
        the block's centre, interpolated between. Plain isotonic steps would give every raw
        confidence of a wide block one probability, and a threshold could not part them.

        >>> Calibration.fit([0.1, 0.2, 0.3, 0.6, 0.7, 0.9], [0, 0, 1, 0, 1, 1])
        Calibration(raw=(0.15, 0.45, 0.8), probability=(0.0, 0.5, 1.0))
        """
        from sklearn.isotonic import IsotonicRegression

        model = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip", increasing=True)
        model.fit(np.asarray(raw, dtype=float), np.asarray(right, dtype=float))
        blocks: dict[float, list[float]] = {}
        for x, y in zip(np.asarray(raw, dtype=float), model.predict(np.asarray(raw, dtype=float)), strict=True):
            blocks.setdefault(round(float(y), 6), []).append(float(x))
        ys = tuple(sorted(blocks))
        xs = tuple(round(float(np.mean(blocks[y])), 6) for y in ys)
        return cls(xs, ys)


@dataclass(frozen=True)
class Linear:
    """Standardised inputs times weights plus an intercept (fitted at training time)."""

    mean: tuple[float, ...]
    scale: tuple[float, ...]
    weights: tuple[float, ...]
    intercept: float = 0.0

    def __call__(self, x: np.ndarray) -> np.ndarray:
        z = (np.asarray(x, dtype=float) - np.asarray(self.mean)) / np.asarray(self.scale)
        return np.asarray(z @ np.asarray(self.weights) + self.intercept)


@dataclass(frozen=True)
class Trees:
    """Gradient-boosted trees (LightGBM), kept in LightGBM's own text format: raw scores (logits),
    averaged over the models (fitted on different row and column draws)."""

    models: tuple[str, ...]

    def __call__(self, x: np.ndarray) -> np.ndarray:
        rows = np.atleast_2d(np.asarray(x, dtype=float))
        return np.mean([_booster(model).predict(rows, raw_score=True) for model in self.models], axis=0)


@functools.cache
def _booster(text: str) -> Any:
    import lightgbm

    return lightgbm.Booster(model_str=text)


@dataclass(frozen=True)
class ReaderModel:
    """The reader's fitted parameters: which candidate answers (a conditional logit over
    ``FEATURES``), whether to trust it (gradient-boosted trees over ``CONFIDENCE_FEATURES``,
    calibrated by isotonic regression) and the confidence below which the engine refuses:
    ``threshold`` answers when an answer is more likely right than wrong, ``strict_threshold``
    (fitted) only where at most 5 % of the answers given are wrong.

    A model is data: ``fit`` learns it from candidate features and gold labels (``make
    train-reader``), ``save``/``load`` keep it as one small JSON file with a card.
    """

    span: Linear
    trust: Linear | Trees
    calibration: Calibration
    strict_threshold: float
    threshold: float = 0.5
    card: dict[str, Any] = field(default_factory=dict, compare=False)
    misfit_share: float = 1.0  # the most an answer in a unit the question does not ask for is trusted
    name_calibration: Calibration | None = None  # for questions asking for a name or phrase (else ``calibration``)
    neural: bool = False  # fitted on the neural span model's features (``NEURAL_MODEL_FILE``)

    @classmethod
    def untrained(cls) -> ReaderModel:
        """Every weight zero (the first candidate wins, confidence 0.5): to record training data."""
        zeros = Linear(tuple(0.0 for _ in FEATURES), tuple(1.0 for _ in FEATURES), tuple(0.0 for _ in FEATURES))
        n = len(CONFIDENCE_FEATURES)
        trust = Linear((0.0,) * n, (1.0,) * n, (0.0,) * n)
        return cls(zeros, trust, Calibration((), ()), 1.0, card={"what": "untrained"})

    def span_scores(self, features: np.ndarray) -> np.ndarray:
        return self.span(features)

    def confidence(self, evidence: Sequence[float]) -> float:
        raw = np.ravel(self.trust(np.asarray(evidence, dtype=float)))[0]
        calibration = self.name_calibration if self.name_calibration and asks_name(evidence) else self.calibration
        p = calibration(_sigmoid(float(raw)))
        return min(p, self.misfit_share) if evidence[MISFIT] > 0 else p

    @classmethod
    def fit(
        cls,
        questions: Sequence[Labelled],
        unanswered: Sequence[Labelled] = (),
        answerable: Sequence[bool] = (),
        l2: float = 1.0,
        folds: int = 5,
        wrong_share: float = 0.05,
        wrong_cost: float = 1.0,
        seed: int = 0,
        repeats: int = 1,
        groups: Sequence[str] = (),
        calibrate_on: Sequence[Labelled] = (),
        calibrate_answerable: Sequence[bool] = (),
    ) -> tuple[ReaderModel, list[tuple[float, bool]]]:
        """Fit on (features, labels, texts) per question (no candidates: an empty array).

        ``unanswered`` are more questions whose answer is not among what was read: they teach
        the confidence what reading without the answer looks like, but the calibration, fitted
        on ``questions`` alone, keeps their share of such questions. ``answerable`` says which of
        ``questions`` the reports answer (default: those with a gold candidate); the threshold
        is the confidence that gets the most of them right, answered or refused.

        Returns the model and the cross-fitted (confidence, right) of every question of
        ``questions`` with a candidate: each predicted by models fitted without its fold, so
        they stand for questions the model has not seen; the calibration and the strict
        threshold are fitted on them. With ``repeats`` > 1 the cross-fitting is done that many
        times over different splits and every prediction is kept (each question ``repeats``
        times): the thresholds no longer hang on one split. ``groups`` (one per question of
        ``questions`` then ``unanswered``: the report asked about) keeps a group's questions in
        one fold, so a question is predicted by models that never read its report: questions
        about one report share passages and wording, and split across folds they make the
        cross-fitted confidence look surer than it is on reports not trained on.

        ``calibrate_on`` are questions kept out of the fitting (other writers, other kinds of
        question; ``calibrate_answerable`` says which have an answer): read by the final model,
        they join the cross-fitted predictions in the calibrations and the thresholds, each
        counted as often as a training question (``repeats`` times). Cross-fitting alone
        estimates how sure to be of questions like the training ones; these say how sure to be
        of questions written otherwise.
        """
        everything = [*questions, *unanswered]
        pool = np.vstack([x for x, _, _ in everything if len(x)])
        rows: list[tuple[int, int, tuple[float, ...], bool]] = []  # fold, question, evidence, right
        raws: list[float] = []
        group_of = list(groups) or [str(i) for i in range(len(everything))]
        if len(group_of) != len(everything):
            raise ValueError(f"{len(group_of)} groups for {len(everything)} questions")
        group_names = sorted(set(group_of))
        for repeat in range(repeats):  # several splits: thresholds that do not hang on one of them
            order = np.random.default_rng(seed + repeat).permutation(len(group_names))
            fold_of = {group_names[g]: rank % folds for rank, g in enumerate(order)}
            fold = np.array([fold_of[name] for name in group_of], dtype=int)
            these: list[tuple[int, int, tuple[float, ...], bool]] = []
            for k in range(folds):
                span = _fit_span([q for q, f in zip(everything, fold, strict=True) if f != k], pool, l2)
                for i in np.flatnonzero(fold == k):
                    x, labels, texts = everything[i]
                    if len(x):
                        best, ev = choose(x, texts, span(x))
                        these.append((k, int(i), ev, bool(labels[best])))
            folds_of = np.array([r[0] for r in these])
            evidence = np.array([r[2] for r in these])
            right = np.array([r[3] for r in these])
            raw = np.zeros(len(these))
            for k in range(folds):  # the trust model's own out-of-fold predictions, for the calibration
                inside = folds_of != k
                fitted = _fit_trust(evidence[inside], right[inside])
                raw[~inside] = [_sigmoid(float(v)) for v in fitted(evidence[~inside])]
            rows += these
            raws += list(raw)
        raw = np.array(raws)
        real = np.array([r[1] < len(questions) for r in rows])
        evidence = np.array([r[2] for r in rows])
        right = np.array([r[3] for r in rows])
        span, trust = _fit_span(everything, pool, l2), _fit_trust(evidence, right)
        extra: list[tuple[float, tuple[float, ...], bool, bool]] = []  # raw, evidence, right, answerable
        extra_answerable = list(calibrate_answerable) or [any(y) for _, y, _ in calibrate_on]
        for (x, labels, texts), has in zip(calibrate_on, extra_answerable, strict=True):
            if len(x):
                best, ev = choose(x, texts, span(x))
                extra += [(_sigmoid(float(np.ravel(trust(np.array(ev)))[0])), ev, bool(labels[best]), has)] * repeats
        n_rows = len(rows)
        if extra:
            raw = np.concatenate([raw, [e[0] for e in extra]])
            real = np.concatenate([real, np.ones(len(extra), dtype=bool)])
            evidence = np.vstack([evidence, [e[1] for e in extra]])
            right = np.concatenate([right, [e[2] for e in extra]])
        # Names and phrases are calibrated apart from figures and dates: the trust trees, fitted
        # mostly on figures, are surer of a name than its record warrants.
        names = np.array([asks_name(e) for e in evidence])
        calibration = Calibration.fit(raw[real & ~names], right[real & ~names])
        name_calibration = Calibration.fit(raw[real & names], right[real & names])
        calibrated = np.array(
            [(name_calibration if n else calibration)(float(r)) for r, n in zip(raw, names, strict=True)]
        )
        # A figure in a unit the question does not ask for is seldom right, however strong the rest of
        # its evidence: its confidence is capped at the cross-fitted share of such answers that were right.
        misfit = evidence[:, MISFIT] > 0
        misfit_share = round(float((right[misfit & real].sum() + 1) / ((misfit & real).sum() + 2)), 4)
        given = [
            (min(float(c), misfit_share) if m else float(c), bool(ok))
            for c, ok, m in zip(calibrated, right, misfit, strict=True)
        ]
        trained = [g for g, r in zip(given[:n_rows], real[:n_rows], strict=True) if r]  # ``questions``, cross-fitted
        held = trained + given[n_rows:]
        answerable = list(answerable) or [any(y) for _, y, _ in questions]
        asked = [
            (c, ok, answerable[r[1]])
            for (c, ok), r in zip(trained, (r for r in rows if r[1] < len(questions)), strict=True)
        ] + [(c, ok, e[3]) for (c, ok), e in zip(given[n_rows:], extra, strict=True)]
        unread = repeats * sum(not answerable[i] for i, (x, _, _) in enumerate(questions) if not len(x))
        unread += repeats * sum(
            not has for (x, _, _), has in zip(calibrate_on, extra_answerable, strict=True) if not len(x)
        )
        model = cls(
            span,
            trust,
            calibration,
            choose_threshold(held, wrong_share),
            most_right_threshold(asked, unread, wrong_cost),
            misfit_share=misfit_share,
            name_calibration=name_calibration,
        )
        return model, trained

    def save(self, path: Path = MODEL_FILE) -> None:
        data = {
            "format": MODEL_FORMAT,
            "features": FEATURES,
            "confidence_features": CONFIDENCE_FEATURES,
            "span": asdict(self.span),
            "trust": {"lightgbm": list(self.trust.models)} if isinstance(self.trust, Trees) else asdict(self.trust),
            "calibration": asdict(self.calibration),
            "name_calibration": asdict(self.name_calibration) if self.name_calibration else None,
            "threshold": self.threshold,
            "strict_threshold": self.strict_threshold,
            "misfit_share": self.misfit_share,
            "card": self.card,
            "neural": self.neural,
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path = MODEL_FILE) -> ReaderModel:
        """The shipped model (cached); a clear error when it is missing or was fitted on other features."""
        return _load(str(path))


@functools.cache
def _load(path: str) -> ReaderModel:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ValueError(f"{path}: no reader model ({error}); run make train-reader") from None
    if data.get("format") != MODEL_FORMAT:
        raise ValueError(f"{path}: reader model format {data.get('format')!r}, expected {MODEL_FORMAT}")
    if tuple(data["features"]) != FEATURES or tuple(data["confidence_features"]) != CONFIDENCE_FEATURES:
        raise ValueError(f"{path}: the model was fitted on other features; run make train-reader")

    def linear(d: dict[str, Any]) -> Linear:
        return Linear(tuple(d["mean"]), tuple(d["scale"]), tuple(d["weights"]), float(d["intercept"]))

    calibration = Calibration(tuple(data["calibration"]["raw"]), tuple(data["calibration"]["probability"]))
    names = data.get("name_calibration")
    name_calibration = Calibration(tuple(names["raw"]), tuple(names["probability"])) if names else None
    strict, threshold = float(data["strict_threshold"]), float(data["threshold"])
    trees = data["trust"].get("lightgbm")
    trust = Trees((trees,) if isinstance(trees, str) else tuple(trees)) if trees else linear(data["trust"])
    card, misfit_share = data.get("card", {}), float(data.get("misfit_share", 1.0))
    return ReaderModel(
        linear(data["span"]),
        trust,
        calibration,
        strict,
        threshold,
        card,
        misfit_share,
        name_calibration,
        bool(data.get("neural", False)),
    )


def _fit_span(
    questions: Sequence[tuple[np.ndarray, Sequence[bool], Sequence[str]]], pool: np.ndarray, l2: float
) -> Linear:
    """Conditional logit: maximise each question's probability of its gold candidates (softmax
    over its candidates), L2-regularised, by L-BFGS (SciPy, at training time only)."""
    from scipy.optimize import minimize

    mean, scale = pool.mean(axis=0), pool.std(axis=0) + 1e-9
    groups = [((x - mean) / scale, np.asarray(y, dtype=bool)) for x, y, _ in questions if len(x) and any(y)]

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        total, grad = l2 * float(w @ w), 2 * l2 * w
        for z, gold in groups:
            s = z @ w
            p = np.exp(s - s.max())
            p /= p.sum()
            p_gold = p[gold].sum()
            total -= math.log(p_gold + 1e-12)
            grad = grad - z.T @ (np.where(gold, p / p_gold, 0.0) - p)
        return total, grad

    w = minimize(loss, np.zeros(pool.shape[1]), jac=True, method="L-BFGS-B").x
    return Linear(tuple(float(v) for v in mean), tuple(float(v) for v in scale), tuple(float(v) for v in w))


# Evidence that can only raise (1) or lower (-1) the trust in an answer, all else equal: the trees
# are held to it (monotone constraints), so that a thousand examples cannot teach them otherwise.
TRUST_DIRECTION = {
    **dict.fromkeys(("score", "share", "margin"), 1),
    **{
        f"best {n}": 1
        for n in ("support", "anchor", "fit", "cue", "coverage", "term_near", "window_bigrams", "respective")
    },
    **{f"best {n}": 1 for n in ("support_lead", "period_match", "bm25_share", "passage_gap")},
    **{f"best {n}": -1 for n in ("unknown_terms", "said_before", "misfit", "rank", "dense_rank", "in_question")},
}


def _fit_trust(evidence: np.ndarray, right: np.ndarray) -> Trees:
    """Gradient-boosted trees for 'the best candidate is right' given its evidence (LightGBM).

    Trees over logistic regression: the evidence interacts (a weak margin matters for a slot
    fill, less for a figure in the asked-for unit); on data/train, cross-fitted, they raise the
    AUC from 0.85 to 0.88. Small and shallow because there are about a thousand examples, and
    held to ``TRUST_DIRECTION``. ``TRUST_SEEDS`` models on different row and column draws,
    averaged: one model's confidence moved by several points from one refit to the next.
    """
    import lightgbm

    models = []
    for seed in range(TRUST_SEEDS):
        fitted = lightgbm.LGBMClassifier(
            monotone_constraints=[TRUST_DIRECTION.get(name, 0) for name in CONFIDENCE_FEATURES],
            n_estimators=150,
            num_leaves=7,
            learning_rate=0.04,
            min_child_samples=20,
            subsample=0.8,
            subsample_freq=1,
            colsample_bytree=0.8,
            n_jobs=1,
            random_state=seed,
            deterministic=True,
            verbose=-1,
        ).fit(evidence, right.astype(int))
        models.append(fitted.booster_.model_to_string())
    return Trees(tuple(models))


TRUST_SEEDS = 5


def most_right_threshold(
    asked: Sequence[tuple[float, bool, bool]], refused_right: int = 0, wrong_cost: float = 1.0, width: float = 0.05
) -> float:
    """The confidence threshold that does users the most good: (confidence, the answer is right,
    the question has an answer) per question read. A right answer gains one, so does a refusal of
    a question the reports do not answer (``refused_right`` more were never read); a wrong
    answer, or one invented for a question without one, costs ``wrong_cost``; refusing a
    question that has an answer gains nothing. The gain is averaged over thresholds within
    ``width`` of each one: its peak is flat, and the unsmoothed maximum jumps from one fit to the next.

    >>> most_right_threshold([(0.9, True, True), (0.6, True, True), (0.4, True, True), (0.2, False, False)])
    0.31
    >>> most_right_threshold([(0.9, True, True), (0.6, False, True), (0.5, False, True), (0.4, False, False)])
    0.76
    """
    grid = np.round(np.arange(0.05, 0.96, 0.01), 2)
    confidence = np.array([c for c, _, _ in asked])
    right = np.array([ok for _, ok, _ in asked], dtype=bool)
    has = np.array([h for _, _, h in asked], dtype=bool)
    gains = np.array(
        [
            refused_right + np.where(confidence >= t, np.where(right, 1.0, -wrong_cost), (~has).astype(float)).sum()
            for t in grid
        ]
    )
    steps = int(round(width / 0.01))
    padded = np.pad(gains, steps, mode="edge")
    smooth = np.convolve(padded, np.ones(2 * steps + 1) / (2 * steps + 1), mode="valid")
    peak = np.flatnonzero(smooth >= smooth.max() - 1e-9)
    return float(grid[peak[len(peak) // 2]])  # the middle of a flat top


def choose_threshold(held: Sequence[tuple[float, bool]], wrong_share: float) -> float:
    """The lowest confidence at which the answers given (confidence ≥ it) are wrong at most
    ``wrong_share`` of the time.

    >>> choose_threshold([(0.9, True), (0.8, True), (0.7, False), (0.6, True)], 0.25)
    0.6
    >>> choose_threshold([(0.9, True), (0.8, True), (0.7, False), (0.6, False)], 0.25)
    0.8
    """
    best = 1.0
    for t in sorted({c for c, _ in held}, reverse=True):
        given = [ok for c, ok in held if c >= t]
        if sum(not ok for ok in given) / len(given) <= wrong_share:
            best = t
    return best
