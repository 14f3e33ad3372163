"""Question analysis: normalisation, content terms, answer type, time scope, places, cloze anchors."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any

from qa.lexicon import EN_STOPWORDS, english_alternatives, equivalents, phrases_in, translate_english
from qa.text import STOPWORDS, cjk_ratio, normalize, segment, tokenize

# Words that ask for something rather than name it; they are not topic terms.
GENERIC_TERMS = frozenset(
    """
    天津 天津市 全市 本市 报告 政府 工作 政府工作报告 提出 要求 主要 计划 目标 预期 预计 今年 去年 上年 明年 过去
    一年 全年 已经 完成 实现 达到 达 提高 提高到 以内 以上 左右 以下 超过 不低于 低于 增加 增长 增速 增幅 涨幅
    比重 比例 占 占比 多少 几 情况 方面 相关
    规定 开展 推进 加快 实施 年末 年底 年初 年度 同比 比 期间 当年 万 亿 元 个 数量 总数 规模 水平 什么 哪些 有
    要 将 会 了 是 呢 控制 控制在 新 新增 共 总共 到 建成 建设 打造 探索 坚持 签署 以 为 实际 实际上 希望
    """.split()
)
PAST_CUES = (
    "实际",
    "去年",
    "上年",
    "过去一年",
    "过去",
    "已经",
    "已",
    "取得",
    "完成了",
    "实现了",
    "回顾",
    "last year",
    "in the past",
)
# Words that make a question ask for a target. 要/将/今年 are left out: they stand in questions about
# results too (要共建的科技园, 今年 only names the year).
FUTURE_CUES = (
    "计划",
    "目标",
    "预期",
    "预计",
    "力争",
    "拟",
    "打算",
    "安排",
    "plan",
    "target",
    "expected",
    "goal",
    "aim",
)
# 增长了 / 建成了多少: done, so a result
COMPLETED = re.compile(r"(?:增长|下降|增加|减少|提高|降低|达到|实现|完成|新增|突破|上涨)了|了(?:多少|几)")
EN_PAST = re.compile(r"\b(?:was|were|did|had|grew|rose|fell|reached|achieved|created)\b")
YEAR_RANGE = re.compile(
    r"(?<!\d)((?:19|20)\d{2})\s*年?\s*(?:到|至|—+|－|-|~|～|\bto\b|\bthrough\b)\s*((?:19|20)\d{2})(?!\d)"
)
REPORT_OF_YEAR = re.compile(
    r"(?<!\d)((?:19|20)\d{2})\s*年?(?:的|度)?(?:[^\s，。？?]{0,6}?政府)?工作报告"
    r"|(?<!\d)((?:19|20)\d{2})\s+(?:government work )?report"
)


def report_years(norm: str) -> tuple[int, ...]:
    """Years of the reports a question names ("2012年政府工作报告", "the 2012 report"), not of its facts.

    >>> report_years("according to the 2012 report, what is the poverty line"), report_years("2012年的政府工作报告提出")
    ((2012,), (2012,))
    """
    return tuple(int(a or b) for a, b in REPORT_OF_YEAR.findall(norm))


YEAR_IN_TEXT = re.compile(r"(?:19|20)\d{2}年|去年|今年")
YEAR = re.compile(r"(?<!\d)((?:19|20)\d{2})(?:年|\b)")
WH = re.compile(
    r"(为什么|为何|什么时候|何时|何年|哪一天|哪天|哪一年|哪年|什么样的?|什么|哪些|哪几[个项类种条家所座]?|哪里|哪儿|哪边|何处|何地|何人|何者|何种|"
    r"哪[一二两三四五六七八九十]+[个项类种条家所座大]?|哪[个条家所座类种项位部次届批]?|谁|多少|几|怎样的?|怎么样的?|如何)"
)


def is_listing(wh: str) -> bool:
    """Does a question word ask for several items (哪些, 哪几种, 哪四个)?

    >>> is_listing("哪几种"), is_listing("哪四个"), is_listing("哪个")
    (True, True, False)
    """
    return wh.startswith(("哪些", "哪几")) or bool(re.match(r"哪[二两三四五六七八九十]", wh))


COLLOQUIAL = (("啥", "什么"), ("甚么", "什么"), ("咋样", "怎样"), ("咋", "怎么"), ("多大", "多少"))
SHORT_YEAR = re.compile(r"(?<![\d.])([01]\d)年")


def expand_colloquial(norm: str) -> str:
    """Colloquial forms users type → report forms: 啥 → 什么, 17年 → 2017年.

    >>> expand_colloquial("17年有啥打算")
    '2017年有什么打算'
    """
    for short, full in COLLOQUIAL:
        norm = norm.replace(short, full)
    return SHORT_YEAR.sub(lambda m: f"20{m.group(1)}年", norm)


COUNTERS = "人户家套辆所个项座条台名位辆张间次批件处头只枚块对群株棵岁年"
EN_UNITS = (
    ("dollars", "美元"),
    ("usd", "美元"),
    ("yuan", "元"),
    ("rmb", "元"),
    ("tons", "吨"),
    ("tonnes", "吨"),
    ("teu", "标准箱"),
    ("mu", "亩"),
    ("square meters", "平方米"),
    ("kilometers", "公里"),
    ("km", "公里"),
    ("households", "户"),
    ("people", "人"),
    ("persons", "人"),
    ("companies", "家"),
    ("enterprises", "家"),
    ("schools", "所"),
    ("vehicles", "辆"),
    ("units", "套"),
    ("projects", "项"),
)


@dataclass(frozen=True)
class Question:
    """What the retriever and reader need to know about a question."""

    text: str  # as asked
    norm: str  # normalised (NFKC, T→S, lower case)
    lang: str  # "zh" or "en"
    terms: tuple[str, ...]  # topic terms, in order, for matching against report text
    expansions: tuple[str, ...]  # equivalent report words and English translations
    kind: str  # number | date | slot | other
    unit_hint: str = ""  # e.g. "人" for 多少人, "%" for 增长/比重 questions
    years: tuple[int, ...] = ()  # years named explicitly
    tense: str = ""  # "past" | "future" | ""
    tense_inferred: bool = False  # the tense was read from the reports, not from the question's words
    places: tuple[str, ...] = ()  # places the question names, canonical (浙江省 → 浙江)
    place_words: tuple[str, ...] = ()  # the question's own words for them (浙江省), same order
    left: str = ""  # cloze context before the question word
    right: str = ""  # cloze context after the question word
    wh: str = ""
    search_text: str = ""  # what is embedded for dense retrieval
    bigrams: tuple[str, ...] = ()  # character bigrams of the question's wording (not its question words)
    readable: str = ""  # a follow-up restated as a whole question
    context: str = ""  # earlier questions of a follow-up (normalised), for measure words
    extra_terms: tuple[str, ...] = field(default=())  # topic carried over from earlier turns
    said: tuple[str, ...] = ()  # answers already given in the conversation (normalised)

    @property
    def all_terms(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(self.terms + self.expansions + self.extra_terms))


def detect_lang(text: str) -> str:
    """'en' when a question is written mostly in Latin letters.

    >>> detect_lang("When was the report delivered?"), detect_lang("GDP增长多少？")
    ('en', 'zh')
    """
    return "en" if cjk_ratio(text) < 0.3 else "zh"


# A question that ends where its answer would stand: 南加大的校友网路被称为？ / 另一种是？
TRAILING_BLANK = re.compile(r"(?:是|为|叫|叫做|称为|包括|在|位于|来自)[？?]$")


PER_UNIT = re.compile(r"每(?:\d+(?:\.\d+)?)?(?:公斤|千克|斤|吨|克|升|千瓦时|度|平方米|立方米|亩|人|户)")


# English questions asking why, what for or how something is done (not how much, how fast)
EN_ACCOUNT = re.compile(
    r"\bwhy\b|\bhow (?:did|does|do|will|would|can|could|is|are|was|were|should|has|have)\b|\bpurpose\b"
    r"|\bwhat for\b|\bin order to\b|\bto achieve what\b|\bwhat (?:is|was|are|were) the (?:aim|goal|reason)\b"
)


def answer_kind(norm: str, lang: str) -> tuple[str, str]:
    """(kind, unit hint) of the answer a question asks for.

    >>> answer_kind("2017年计划新增就业多少人？", "zh")
    ('number', '人')
    >>> answer_kind("生产总值预期增长多少？", "zh")
    ('number', '%')
    >>> answer_kind("第十三届全运会什么时候开幕？", "zh")
    ('date', '')
    >>> answer_kind("代顿协议于何年签署？", "zh"), answer_kind("另一种是？", "zh")
    (('date', '年'), ('slot', ''))
    >>> answer_kind("20几所高校在哪里集会？", "zh")
    ('slot', '')
    >>> answer_kind("小麦最低收购价每50公斤提高多少？", "zh")
    ('number', '')
    >>> answer_kind("why set a gdp growth target of about 8%?", "en"), answer_kind("how much did exports grow?", "en")
    (('other', ''), ('number', ''))
    """
    if lang == "en":
        if EN_ACCOUNT.search(norm):  # why …, how did …: a clause, not the figure the question names
            return "other", ""
        if re.search(r"\bwhen\b|\bwhat date\b|\bwhich day\b", norm):
            return "date", ""
        unit = next((u for word, u in EN_UNITS if re.search(rf"\b{word}\b", norm)), "")
        if re.search(
            r"how many|how much|what (?:is|was|were) the (?:number|amount|total)|\b(?:percent|rate|growth|share)\b"
            r"|\bto what\b|\bwhat (?:amount|level|figure|value)|\b(?:raise|raised|increase|increased)\b.*\bto\b",
            norm,
        ):
            if not unit and re.search(r"\b(?:percent|percentage|rate|growth|share|proportion|increase)\b", norm):
                unit = "%"
            return "number", unit
        if re.search(r"\bwhich year\b|\bwhat year\b", norm):
            return "date", "年"
        if re.search(r"\bwhat (?:is|was|are|were|will)\b", norm):
            return "other", unit  # "what is the CPI target?" asks for a figure more often than not
        if re.search(r"\b(which|what|who|where)\b", norm):
            return "slot", ""
        return "other", ""
    if re.search(r"哪一?年|几几年|(?<![任如为])何年|(?:公元|西元)几年", norm):
        return "date", "年"
    if re.search(r"什么时候|何时|哪一?天|几月|几号|日期", norm):
        return "date", ""
    counter = re.search(
        rf"(?:多少|(?<![哪\d])几)(?:万|亿)?(人次|吨|元|平方米|公里|亩|标准箱|微克|千瓦|[{COUNTERS}])", norm
    )
    if counter:
        return "number", counter.group(1)
    if re.search(r"增长|增速|增幅|涨幅|比重|比例|占比|百分|率|降低|下降|提高了?多少", norm) and re.search(
        r"多少|几|怎样|如何|是多少", norm
    ):
        # a price per unit (每50公斤提高多少) rises by an amount, not a percentage
        return "number", "" if PER_UNIT.search(norm) else "%"
    if re.search(r"占.{0,8}多少", norm):
        return "number", "%"
    if re.search(r"多少|(?<![哪\d])几[个项家所]?|多大|多高|多长", norm):  # 哪几个 asks for a list
        return "number", ""
    if WH.search(norm) or TRAILING_BLANK.search(norm):
        return "slot", ""
    return "other", ""


def time_scope(norm: str, report_year: int | None) -> tuple[tuple[int, ...], str]:
    """Years a question names (relative words resolved against the report's year) and its tense.

    The tense comes from cue words only; without one it is left to the reports (a result where
    some report reviews the year, else a target: see qa.scope).

    >>> time_scope("去年生产总值是多少", 2017)
    ((2016,), 'past')
    >>> time_scope("2017年计划新增就业多少人", 2017)
    ((2017,), 'future')
    >>> time_scope("2016年生产总值是多少", 2017)
    ((2016,), '')
    >>> time_scope("“十一五”时期城镇新增就业多少人", None)
    ((2006, 2007, 2008, 2009, 2010), '')
    """
    from qa.chunking import five_year_plan

    norm = re.sub(r"比上年|比去年|同比|较上年|较去年", "", norm)
    norm = REPORT_OF_YEAR.sub("", norm)  # "2012年的报告" names a report, not the year asked about
    span = YEAR_RANGE.search(norm)
    if span:  # 2008到2012这五年 → every year of the period
        first, last = sorted((int(span.group(1)), int(span.group(2))))
        years = list(range(first, last + 1)) if last - first <= 20 else [first, last]
    else:
        years = [int(y) for y in YEAR.findall(norm)]
    tense = ""
    if any(cue in norm for cue in PAST_CUES) or COMPLETED.search(norm) or EN_PAST.search(norm):
        tense = "past"
    if any(cue in norm for cue in FUTURE_CUES):
        tense = "future"
    if report_year:
        if re.search(r"去年|上年|过去一年|last year", norm):
            years.append(report_year - 1)
            tense = "past"
        if re.search(r"今年|this year", norm):
            years.append(report_year)
    plan = five_year_plan(norm)
    if plan and not years:
        years.extend(range(plan[0], plan[1] + 1))
    return tuple(dict.fromkeys(years)), tense


@lru_cache(maxsize=1)
def _posseg() -> Any:
    import jieba.posseg

    from qa.text import _jieba

    _jieba()  # quiet, thread-safe initialisation
    return jieba.posseg


def named_places(text: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Canonical places a question names and its own words for them.

    >>> named_places("2025年浙江省生产总值增长目标")
    (('浙江',), ('浙江省',))
    """
    from qa.metadata import find_places

    places = find_places(text)
    words = place_names(text)
    own = tuple(next((w for w in words if p in w or w in p), p) for p in places)
    return places, own


def place_names(text: str) -> tuple[str, ...]:
    """Place names jieba tags in a (normalised) question.

    >>> place_names("2016年北京市生产总值是多少")
    ('北京市',)
    """
    names = [w for w, flag in _posseg().lcut(text) if flag == "ns" and len(w) >= 2]
    return tuple(dict.fromkeys(names))


def topic_terms(norm: str, lang: str) -> list[str]:
    """Topic words of a question: its words minus stop words, question words and generic words.

    >>> topic_terms("2016年天津港货物吞吐量是多少？", "zh")
    ['天津港', '货物', '吞吐量']
    """
    if lang == "en":
        return translate_english(norm)
    phrases = phrases_in(norm)
    covered: set[int] = set()
    for _, start, end in phrases:
        covered.update(range(start, end))
    terms = [p for p, _, _ in phrases if p not in GENERIC_TERMS and p not in STOPWORDS]
    words, at = [], 0
    for word in segment(norm):
        at = norm.find(word, at)
        if at >= 0 and all(i in covered for i in range(at, at + len(word))):
            continue  # part of a lexicon phrase already taken whole
        words.append(word)
    for word in words:
        if word in STOPWORDS or word in GENERIC_TERMS or YEAR.fullmatch(word + "年") or word.isdigit():
            continue
        if len(word) == 1 and word not in "港税钢煤水电气车房地":
            continue
        terms.append(word)
    return list(dict.fromkeys(terms))


def char_bigrams(norm: str, drop: tuple[str, ...] = ()) -> tuple[str, ...]:
    """Character bigrams of a question's own words: question words, years, particles and ``drop`` cut it.

    >>> char_bigrams("2016年天津为企业减轻了多少负担？", ("天津",))
    ('为企', '企业', '业减', '减轻', '负担')
    """
    text = re.sub(r"(?:19|20)\d{2}年", "|", norm)
    for word in drop:
        text = text.replace(word, "|")
    text = WH.sub("|", text)
    text = re.sub(r"[\W_的了是要将在呢吗和与及]+", "|", text)
    grams: list[str] = []
    for part in text.split("|"):
        grams.extend(part[i : i + 2] for i in range(len(part) - 1))
    return tuple(dict.fromkeys(grams))


def cloze(norm: str) -> tuple[str, str, str]:
    """Split a question at its question word: (left context, question word, right context).

    >>> cloze("深化国企改革以什么为突破口？")
    ('深化国企改革以', '什么', '为突破口')
    """
    text = re.sub(r"[？?。!！\s]+$", "", norm)
    match = WH.search(text)
    if not match:
        return text, "", ""
    left = re.sub(r"^(?:19|20)\d{2}年", "", text[: match.start()])
    return left, match.group(1), text[match.end() :]


def analyse(
    text: str, report_year: int | None = None, previous: Question | None = None, home: tuple[str, ...] = ()
) -> Question:
    """Analyse a question; with ``previous`` (the last turn), fill in what a follow-up leaves out.

    A follow-up without a topic of its own (``比上年增长了多少？``) carries the previous topic;
    one without a year keeps the previous years; one without a question word keeps the
    previous answer type (``那农村危房呢？``).
    """
    norm = expand_colloquial(normalize(text))
    lang = detect_lang(norm)
    kind, unit = answer_kind(norm, lang)
    years, tense = time_scope(norm, report_year)
    terms = [t for t in topic_terms(norm, lang) if t not in home]
    extra_terms: tuple[str, ...] = ()
    if previous is not None:
        if not terms:
            extra_terms = previous.terms + previous.extra_terms
        if not years and not (tense and previous.tense and tense != previous.tense):
            years, tense = previous.years, tense or previous.tense
        elif not years and tense == "future" and report_year:
            years = (report_year,)
        tense = tense or previous.tense  # 那2012年呢？ asks what the last question asked, for 2012
        if kind == "other":
            kind = previous.kind
            unit = previous.unit_hint if (not terms or previous.unit_hint == "%") else ""
            if not terms:
                norm_left, norm_right = previous.left, previous.right
            else:
                norm_left, norm_right = "", ""
        else:
            norm_left, norm_right = "", ""
    expansions: list[str] = []
    for term in terms + list(extra_terms):
        expansions.extend(equivalents(term))
    if lang == "zh":
        # English words inside a Chinese question (GDP, CPI, R&D) get their report terms too
        expansions.extend(translate_english(" ".join(re.findall(r"[a-z][a-z&.\-]*", norm))))
    left, wh, right = cloze(norm) if lang == "zh" else ("", "", "")
    if previous is not None and not wh:
        left, wh, right = norm_left, previous.wh, norm_right
    places, place_words = named_places(norm if lang == "zh" else f"{norm} {' '.join(terms)}")
    own_places = bool(places)
    if previous is not None and not places:
        places, place_words = previous.places, previous.place_words
    search = text if lang == "zh" else f"{text} {' '.join(terms)}"
    readable, context = text, ""
    if previous is not None:
        context = f"{previous.context} {previous.norm}".strip()
        own_question = kind != "other" and bool(wh) and wh == cloze(norm)[1]
        readable = restate(text, bool(terms), own_question, years, previous, place_words if own_places else ())
        search = readable if lang == "zh" else f"{readable} {' '.join(extra_terms)}"
    return Question(
        text=text,
        norm=norm,
        lang=lang,
        terms=tuple(terms),
        expansions=tuple(t for t in dict.fromkeys(expansions) if t not in terms),
        kind=kind,
        unit_hint=unit,
        years=years,
        tense=tense,
        places=places,
        place_words=place_words,
        left=left,
        right=right,
        wh=wh,
        search_text=search,
        extra_terms=tuple(extra_terms),
        bigrams=char_bigrams(norm, home) if lang == "zh" else (),
        readable=readable,
        context=context,
    )


FOLLOWUP_LEAD = re.compile(r"^(那么?|还有|另外|其中|它的?|其|该项?|这个|这项)|(呢|的呢)?[？?]?$")


def localise(
    question: Question,
    known: Callable[[str], bool],
    home: tuple[str, ...] = (),
    names: Mapping[str, tuple[str, ...]] | None = None,
    context: Sequence[str] = (),
) -> Question:
    """An English question's Chinese terms chosen among the dictionary's translations by ``known``
    (the words the indexed reports use): port → 港口 or 港 as the reports say it. ``names`` reads
    romanised names (``lexicon.pinyin_table``); ``context``, passages a first search found, picks
    the translation they use (``lexicon.translate_english``)."""
    if question.lang != "en":
        return question
    terms = tuple(t for t in translate_english(question.norm, known, names, context) if t not in home)
    if not terms:
        return question
    expansions = [e for t in terms + question.extra_terms for e in equivalents(t)]
    expansions += english_alternatives(question.norm, known, names, context)
    search = question.readable or question.text
    places, place_words = named_places(" ".join(terms)) if not question.places else ((), ())
    return replace(
        question,
        terms=terms,
        bigrams=char_bigrams("|".join(terms), home),  # the reader's window and sentence overlap, in Chinese
        expansions=tuple(t for t in dict.fromkeys(expansions) if t not in terms),
        search_text=f"{search} {' '.join(terms + question.extra_terms)}",
        places=question.places or places,
        place_words=question.place_words or place_words,
    )


def restate(
    text: str,
    own_topic: bool,
    own_question: bool,
    years: tuple[int, ...],
    previous: Question,
    place_words: tuple[str, ...] = (),
) -> str:
    """A follow-up spelled out as a whole question, for display and for dense retrieval.

    >>> prev = analyse("2017年天津生产总值预期增长多少？", 2017)
    >>> restate("那2016年呢？", False, False, (2016,), prev)
    '2016年天津生产总值预期增长多少？'
    >>> restate("那河南呢？", False, False, (2017,), prev, ("河南",))
    '2017年河南生产总值预期增长多少？'
    """
    base = previous.readable or previous.text
    core = FOLLOWUP_LEAD.sub("", text.strip())
    if place_words:  # 那河南呢？ → the previous question about 河南
        core = core.replace(place_words[0], "", 1) if not own_topic else core
        if previous.place_words and previous.place_words[0] in base:
            base = base.replace(previous.place_words[0], place_words[0], 1)
        else:
            base = place_words[0] + base
    if not own_topic and not own_question:  # 那2016年呢？ → the previous question for 2016
        if years and YEAR_IN_TEXT.search(core):
            year = f"{years[0]}年"
            return YEAR_IN_TEXT.sub(year, base, count=1) if YEAR_IN_TEXT.search(base) else year + base
        return base
    scope = "".join(f"{y}年" for y in years if f"{y}" not in core)
    if not own_topic:  # 比上年增长了多少？ → 2016年一般公共预算收入比上年增长了多少？
        topic = "".join(previous.terms + previous.extra_terms)
        return f"{scope}{topic}{core}"
    return f"{scope}{core}（接上一问：{base}）"


def query_tokens(question: Question) -> dict[str, float]:
    """BM25 query terms with weights: the question's own tokens 1.0, expansions 0.7, carried topic 0.8."""
    weights: dict[str, float] = {}
    base = question.norm if question.lang == "zh" else " ".join(question.terms)
    for token in tokenize(base):
        if token not in EN_STOPWORDS and not YEAR.fullmatch(token + "年"):
            weights[token] = 1.0
    for term, weight in [(t, 0.7) for t in question.expansions] + [(t, 0.8) for t in question.extra_terms]:
        for token in tokenize(term):
            weights.setdefault(token, weight)
    return weights
