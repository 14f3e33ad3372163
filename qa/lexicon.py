"""A small, general vocabulary of economic and government-report terms.

``ZH_EQUIVALENTS`` groups words users type with the words reports use (abbreviations,
colloquial forms). ``EN_ZH`` maps English query words and phrases to the Chinese terms
of such reports, so English questions can be matched against Chinese text. Both are
generic to Chinese government work reports, not to any one report or question.
"""

from __future__ import annotations

import re

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
    ("港口", "天津港", "港"),
    ("机场", "航空"),
    ("招商", "招商引资"),
    ("市场主体", "新登记企业", "个体工商户"),
    ("盯着", "瞄准", "聚焦"),
    ("种树", "植树", "造林", "植树造林", "绿化"),
    ("工资", "薪酬"),
)

# English words and phrases → Chinese report terms (lower case; longest phrases match first).
EN_ZH: dict[str, tuple[str, ...]] = {
    "gdp": ("生产总值",),
    "gross domestic product": ("生产总值",),
    "economic output": ("生产总值",),
    "economy": ("经济",),
    "economic": ("经济",),
    "growth": ("增长",),
    "grow": ("增长",),
    "increase": ("增长", "提高"),
    "rise": ("增长",),
    "target": ("目标",),
    "goal": ("目标",),
    "expected": ("预期",),
    "plan": ("计划",),
    "planned": ("计划",),
    "fixed-asset investment": ("固定资产投资",),
    "fixed asset investment": ("固定资产投资",),
    "investment": ("投资",),
    "invest": ("投资",),
    "retail sales": ("社会消费品零售总额",),
    "consumer goods": ("消费品",),
    "consumer price": ("居民消费价格",),
    "cpi": ("居民消费价格",),
    "inflation": ("居民消费价格",),
    "unemployment rate": ("登记失业率",),
    "unemployment": ("失业",),
    "jobs": ("就业",),
    "job": ("就业",),
    "employment": ("就业",),
    "new jobs": ("新增就业",),
    "income": ("收入",),
    "disposable income": ("可支配收入",),
    "revenue": ("收入",),
    "public budget revenue": ("一般公共预算收入",),
    "budget revenue": ("一般公共预算收入",),
    "fiscal revenue": ("一般公共预算收入",),
    "fiscal": ("财政",),
    "spending": ("支出",),
    "expenditure": ("支出",),
    "livelihood": ("民生",),
    "people's livelihood": ("民生",),
    "r&d": ("研发",),
    "research and development": ("研发",),
    "innovation": ("创新",),
    "technology": ("科技",),
    "high-tech": ("高新技术",),
    "enterprises": ("企业",),
    "enterprise": ("企业",),
    "companies": ("企业",),
    "company": ("企业",),
    "firms": ("企业",),
    "state-owned": ("国有",),
    "soe": ("国有企业",),
    "soes": ("国有企业",),
    "private": ("民营",),
    "reform": ("改革",),
    "port": ("港",),
    "tianjin port": ("天津港",),
    "cargo": ("货物",),
    "throughput": ("吞吐量",),
    "handle": ("吞吐量",),
    "handled": ("吞吐量",),
    "containers": ("集装箱",),
    "container": ("集装箱",),
    "teu": ("标准箱",),
    "airport": ("机场",),
    "passengers": ("旅客",),
    "passenger": ("旅客",),
    "railway": ("铁路",),
    "rail": ("铁路",),
    "highway": ("高速",),
    "expressway": ("高速",),
    "subway": ("地铁",),
    "metro": ("地铁",),
    "road": ("道路",),
    "roads": ("道路",),
    "museum": ("博物馆",),
    "library": ("图书馆",),
    "school": ("学校",),
    "schools": ("学校",),
    "kindergartens": ("幼儿园",),
    "kindergarten": ("幼儿园",),
    "hospital": ("医院",),
    "hospitals": ("医院",),
    "education": ("教育",),
    "compulsory education": ("义务教育",),
    "health": ("健康", "卫生"),
    "medical insurance": ("医保",),
    "medical": ("医疗",),
    "pension": ("养老金",),
    "pensions": ("养老金",),
    "minimum wage": ("最低工资",),
    "housing": ("住房",),
    "affordable housing": ("保障性住房",),
    "public housing": ("保障性住房",),
    "shantytown": ("棚户区",),
    "rural": ("农村",),
    "urban": ("城镇",),
    "city": ("城市",),
    "steel": ("钢",),
    "steelmaking": ("炼钢",),
    "capacity": ("产能",),
    "coal": ("煤",),
    "pollution": ("污染",),
    "air": ("大气",),
    "water": ("水",),
    "environment": ("环境",),
    "emissions": ("排放",),
    "vehicles": ("车",),
    "vehicle": ("车",),
    "cars": ("车",),
    "old vehicles": ("老旧车",),
    "scrapped": ("淘汰",),
    "eliminated": ("淘汰",),
    "forest": ("森林",),
    "greening": ("绿化",),
    "afforestation": ("造林",),
    "free trade zone": ("自贸试验区",),
    "pilot free trade zone": ("自贸试验区",),
    "ftz": ("自贸试验区",),
    "foreign": ("外商",),
    "foreign investment": ("外商投资",),
    "foreign-invested": ("外商投资",),
    "foreign trade": ("外贸",),
    "exports": ("出口",),
    "imports": ("进口",),
    "belt and road": ("一带一路",),
    "beijing": ("北京",),
    "hebei": ("河北",),
    "tianjin": ("天津",),
    "beijing-tianjin-hebei": ("京津冀",),
    "jing-jin-ji": ("京津冀",),
    "coordinated development": ("协同发展",),
    "work safety": ("安全生产",),
    "work-safety": ("安全生产",),
    "safety": ("安全",),
    "production safety": ("安全生产",),
    "regulation": ("条例",),
    "regulations": ("条例",),
    "law": ("法",),
    "plan document": ("规划",),
    "five-year plan": ("五年规划",),
    "government work report": ("政府工作报告",),
    "work report": ("工作报告",),
    "report": ("报告",),
    "delivered": ("大会",),
    "congress": ("人民代表大会",),
    "people's congress": ("人民代表大会",),
    "wage": ("工资",),
    "wages": ("工资",),
    "salary": ("工资",),
    "average": ("平均",),
    "university": ("大学",),
    "universities": ("大学",),
    "college": ("学院",),
    "institute": ("研究院",),
    "research institute": ("研究院",),
    "forum": ("论坛",),
    "summit": ("论坛",),
    "aircraft": ("客机",),
    "wide-body": ("宽体",),
    "relationship": ("关系",),
    "government and business": ("政商",),
    "sponge city": ("海绵城市",),
    "sponge-city": ("海绵城市",),
    "water diversion": ("引水",),
    "water-diversion": ("引水",),
    "pilot": ("试点",),
    "opened to traffic": ("通车",),
    "section": ("段",),
    "output": ("产值",),
    "gross industrial output": ("工业总产值",),
    "industrial output": ("工业总产值",),
    "exceeded": ("超过",),
    "exceed": ("超过",),
    "host": ("举办", "承办"),
    "hosted": ("举办", "承办"),
    "county": ("县",),
    "district": ("区",),
    "meeting": ("会议",),
    "opinions": ("意见",),
    "trees": ("造林",),
    "plant": ("种",),
    "planted": ("种",),
    "hectares": ("亩",),
    "mayor": ("市长",),
    "implement": ("落实", "实施"),
    "implementing": ("落实", "实施"),
    "implemented": ("落实", "实施"),
    "date": ("日",),
    "session": ("会议",),
    "national games": ("全运会",),
    "games": ("运动会",),
    "olympic": ("奥运",),
    "poverty": ("贫困",),
    "poverty alleviation": ("扶贫",),
    "subsidy": ("补助",),
    "subsidies": ("补助",),
    "standard": ("标准",),
    "burden": ("负担",),
    "cut": ("减",),
    "reduce": ("减",),
    "reduced": ("减",),
    "new": ("新增",),
    "added": ("新增",),
    "market entities": ("市场主体",),
    "registered": ("登记",),
    "businesses": ("企业",),
    "share": ("比重",),
    "proportion": ("比重",),
    "percentage": ("比重",),
    "ratio": ("比重",),
    "service sector": ("服务业",),
    "services": ("服务业",),
    "tertiary": ("服务业",),
    "manufacturing": ("制造业",),
    "industry": ("产业", "工业"),
    "industrial": ("工业",),
    "agriculture": ("农业",),
    "tourism": ("旅游",),
    "finance": ("金融",),
    "financial": ("金融",),
    "debt": ("债务",),
    "risk": ("风险",),
    "risks": ("风险",),
    "real estate": ("房地产",),
    "anti-corruption": ("廉政",),
    "corruption": ("腐败",),
    "rule of law": ("法治",),
    "social governance": ("社会治理",),
    "governance": ("治理",),
    "culture": ("文化",),
    "sports": ("体育",),
    "stadium": ("体育场",),
    "venues": ("场馆",),
    "science park": ("科技园",),
    "zhongguancun": ("中关村",),
    "binhai": ("滨海",),
    "population": ("人口",),
    "residents": ("居民",),
    "resident": ("居民",),
    "permanent residents": ("常住人口",),
    "village": ("村",),
    "villages": ("村",),
    "towns": ("小镇",),
    "dilapidated": ("危房",),
}

EN_STOPWORDS = frozenset(
    "a an the of in on at to for by with from and or is are was were be been does do did what which "
    "who whom whose when where how many much will would should could can tianjin's its it this that "
    "as into than per about".split()
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


def translate_english(text: str) -> list[str]:
    """Chinese report terms for the English words and phrases of a question.

    >>> translate_english("Tianjin Port container throughput")
    ['天津港', '集装箱', '吞吐量']
    """
    lowered = f" {text.lower()} "
    found: list[tuple[int, str]] = []
    for phrase in _EN_PHRASES:
        for match in re.finditer(rf"(?<![a-z]){re.escape(phrase)}(?![a-z])", lowered):
            span = lowered[match.start() : match.end()]
            found.extend((match.start(), zh) for zh in EN_ZH[phrase])
            lowered = lowered[: match.start()] + " " * len(span) + lowered[match.end() :]
    return list(dict.fromkeys(zh for _, zh in sorted(found)))
