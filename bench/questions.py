"""Varied benchmark questions generated from a report's own sentences, metrics and templates.

Deterministic for a given seed. The mix: figure questions built from the metrics the report
states (topic + number + unit), cloze questions with a noun of a sentence replaced by 什么,
keyword queries, English questions, Traditional-script and full-width variants, follow-ups
with a history, and questions the report cannot answer (other places, other years).
None is copied from the dev or held-out sets.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CLAUSE = re.compile(r"[^，。；;、：:！？!?（）()“”\n]+")
METRIC = re.compile(
    r"(?P<topic>[\u4e00-\u9fffA-Za-z]{2,16}?)"
    r"(?P<verb>增长|达到|达|为|突破|超过|提高到|下降|完成|新增|累计|控制在)?"
    r"(?P<pre>约|近|超过|以上)?"
    r"(?P<num>\d+(?:\.\d+)?)"
    r"(?P<unit>%|万亿元|亿元|万元|元|万人次|万人|人次|人|万户|户|万家|家|万辆|辆|万吨|亿吨|吨|万套|套|"
    r"万平方米|平方米|公里|千米|个|项|所|座|条|倍|万标准箱|标准箱)"
)
LEADING = re.compile(r"^(预计|去年|今年|全市|全年|其中|累计|同时|力争|确保|完成|实现|新增|建成|加快|推进|全面)+")
TRAILING = re.compile(r"(增长|达到|达|为|突破|超过|提高到|下降|完成|新增|累计|控制在|分别|共|总)+$")
ZH_TEMPLATES = (
    "{yr}{topic}是多少？",
    "{yr}{topic}{verb}多少？",
    "{yr}天津{topic}有多少？",
    "请问{yr}{topic}{verb}了多少",
    "报告里{yr}{topic}是多少？",
    "{topic}的数字是多少？",
    "{yr}{topic}达到了多少？",
    "{topic}多少",
)
EN_QUESTIONS = (
    "What was Tianjin's GDP in 2016?",
    "How much did GDP grow in 2016?",
    "What is the 2017 GDP growth target?",
    "What was the general public budget revenue in 2016?",
    "What is the urban registered unemployment rate target for 2017?",
    "How many containers did Tianjin port handle?",
    "What was the cargo throughput of Tianjin port?",
    "How many passengers did the airport handle?",
    "How much fixed-asset investment was there in 2016?",
    "How much did the consumer price index rise?",
    "How many new jobs are planned for 2017?",
    "When was the report delivered?",
    "How many affordable housing units will be built?",
    "How much foreign investment was actually used?",
    "What was the growth of retail sales of consumer goods?",
    "How many old vehicles were scrapped?",
    "What is the R&D spending share of GDP?",
    "How many high-tech enterprises are there?",
    "What about the per capita disposable income?",
    "Which port handles the most containers?",
)
FOLLOWUPS = (
    "那2017年呢？",
    "比上年增长多少？",
    "那集装箱呢？",
    "这个目标是多少？",
    "它增长了多少？",
    "那农村呢？",
    "同比增长多少？",
    "那么2016年呢？",
    "what about 2017?",
    "还有呢？",
)
OUT_OF_SCOPE = (
    "2017年北京市生产总值是多少？",
    "上海港集装箱吞吐量是多少？",
    "2020年天津生产总值是多少？",
    "月球上有多少人口？",
    "2015年天津一般公共预算收入是多少？",
    "广州地铁有几条线？",
    "What is the population of Paris?",
    "深圳2016年研发投入多少？",
    "重庆市城镇登记失业率是多少？",
    "2030年碳排放目标是什么？",
    "天津的市花是什么？",
    "谁是2017年的美国总统？",
)
KEYWORD_PAIRS = (
    "天津港 吞吐量",
    "GDP 2016",
    "失业率 2017",
    "保障性住房",
    "自贸试验区 企业",
    "PM2.5",
    "研发投入 比重",
    "CPI",
    "社零 增长",
    "固投",
    "新增就业",
    "老旧汽车 淘汰",
    "财政收入 2016",
    "外资 实际利用",
    "机场 旅客",
)
FULLWIDTH = str.maketrans("0123456789%", "０１２３４５６７８９％")


@dataclass(frozen=True)
class BenchQuestion:
    text: str
    kind: str  # metric | cloze | keyword | english | traditional | fullwidth | followup | out_of_scope
    history: tuple[tuple[str, str], ...] = field(default=())

    def to_json(self) -> dict[str, Any]:
        return {"text": self.text, "kind": self.kind, "history": [list(h) for h in self.history]}


def _metrics(chunks: Sequence[Any]) -> list[tuple[str, str, str, int | None]]:
    """(topic, verb, unit, period) for every stated figure in the chunks."""
    out = []
    for chunk in chunks:
        for clause in CLAUSE.findall(chunk.text):
            for m in METRIC.finditer(clause):
                topic = TRAILING.sub("", LEADING.sub("", m.group("topic")))
                if len(topic) < 2 or re.fullmatch(r"[\d年月日]+", topic):
                    continue
                verb = m.group("verb") or ("增长" if m.group("unit") == "%" else "达到")
                out.append((topic, verb, m.group("unit"), chunk.period))
    return list(dict.fromkeys(out))


def _clozes(chunks: Sequence[Any], rng: random.Random, n: int) -> list[str]:
    import jieba.posseg

    from qa.text import _jieba

    _jieba()
    clauses = [c for chunk in chunks for c in CLAUSE.findall(chunk.text) if 8 <= len(c) <= 40]
    rng.shuffle(clauses)
    out: list[str] = []
    for clause in clauses:
        words = [(w, f) for w, f in jieba.posseg.lcut(clause)]
        nouns = [i for i, (w, f) in enumerate(words) if i > 1 and f.startswith("n") and len(w) >= 2]
        if not nouns:
            continue
        i = rng.choice(nouns)
        wh = "哪里" if words[i][1] == "ns" else rng.choice(("什么", "哪个", "哪些"))
        text = "".join(w for w, _ in words[:i]) + wh + "".join(w for w, _ in words[i + 1 :])
        out.append(text.strip("—―- ") + "？")  # noqa: B005 (a set of dash characters)
        if len(out) >= n:
            break
    return out


def generate(seed_dir: str | Path = "seeds", n: int = 300, seed: int = 7) -> list[BenchQuestion]:
    """About ``n`` distinct questions (at least 200 for n >= 200), mixed as described above."""
    import opencc

    from qa.chunking import chunk_documents
    from qa.documents import load_documents
    from qa.text import _converter  # noqa: F401  (OpenCC is a dependency; s2t below)

    docs, _ = load_documents([Path(seed_dir)])
    chunks, _ = chunk_documents(docs)
    rng = random.Random(seed)
    s2t = opencc.OpenCC("s2t")
    questions: dict[str, BenchQuestion] = {}

    def add(text: str, kind: str, history: tuple[tuple[str, str], ...] = ()) -> None:
        if text not in questions:
            questions[text] = BenchQuestion(text, kind, history)

    metrics = _metrics(chunks)
    rng.shuffle(metrics)
    n_metric = int(n * 0.45)
    for topic, verb, _unit, period in metrics[:n_metric]:
        yr = f"{period}年" if period and rng.random() < 0.7 else ""
        add(rng.choice(ZH_TEMPLATES).format(yr=yr, topic=topic, verb=verb), "metric")
    for text in _clozes(chunks, rng, int(n * 0.2)):
        add(text, "cloze")
    for text in KEYWORD_PAIRS:
        add(text, "keyword")
    for text in EN_QUESTIONS:
        add(text, "english")
    zh = [q.text for q in questions.values() if q.kind in ("metric", "cloze")]
    for text in rng.sample(zh, min(len(zh), max(10, n // 15))):
        add(s2t.convert(text), "traditional")
    for text in rng.sample([t for t in zh if re.search(r"\d", t)], min(10, len(zh))):
        add(text.translate(FULLWIDTH), "fullwidth")
    for text in rng.sample(zh, min(len(zh), max(10, n // 12))):
        follow = rng.choice(FOLLOWUPS)
        add(follow if follow not in questions else follow + " ", "followup", ((text, ""),))
    for text in OUT_OF_SCOPE:
        add(text, "out_of_scope")
    # top up with more figure questions (other templates) until n
    extra = iter(metrics[n_metric:] + metrics)
    while len(questions) < n:
        try:
            topic, verb, _unit, period = next(extra)
        except StopIteration:
            break
        add(rng.choice(ZH_TEMPLATES).format(yr=f"{period}年" if period else "", topic=topic, verb=verb), "metric")
    out = list(questions.values())
    rng.shuffle(out)
    return out[:n] if len(out) > n else out


def with_place(questions: Sequence[BenchQuestion], places: Sequence[str], seed: int = 11) -> list[BenchQuestion]:
    """The same questions, half of them about one of ``places`` instead of 天津 (for synthetic corpora)."""
    rng = random.Random(seed)
    out = []
    for q in questions:
        if "天津" in q.text and rng.random() < 0.5:
            q = BenchQuestion(q.text.replace("天津", rng.choice(places)), q.kind, q.history)
        elif q.kind == "metric" and rng.random() < 0.3:
            q = BenchQuestion(rng.choice(places) + q.text, q.kind, q.history)
        out.append(q)
    return out


if __name__ == "__main__":
    import collections
    import sys

    qs = generate(n=int(sys.argv[1]) if len(sys.argv) > 1 else 300)
    print(len(qs), collections.Counter(q.kind for q in qs))
    for q in qs[:60]:
        print(q.kind, q.text, q.history)
