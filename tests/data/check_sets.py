#!/usr/bin/env python3
"""Validate the hand-built province evaluation sets.

Checks
  provinces_heldout.jsonl  (question set over the 31 provincial 2025 reports)
  compare_provinces.csv    (per-province comparison tables for 4 metrics)

against the report texts. The text of a report is its python-docx body
paragraphs (non-blank ones) joined by "\\n".

Rules (see ../../../shared/data/README.md for the format):
  * every `answers` entry is an exact substring of the gold report;
  * `evidence` is 10-40 characters and occurs exactly once in the gold report,
    and the paragraph(s) it lies in contain at least one gold answer;
  * unanswerable items have answers [], evidence "" and no doc;
  * followup items carry `prev` = id of the line just before;
  * every non-followup question names its province;
  * no overlap with the facts of provinces_dev.jsonl (same doc + overlapping
    evidence) and no repeated question text;
  * compare_provinces.csv: 4 metrics x 31 reports, answer inside evidence,
    evidence unique in its report and located in the 2025 plan part
    (at or after the "预期目标是/为" paragraph), empty answer <=> empty evidence.

Usage: python check_sets.py [--corpus DIR] [--dev FILE]
Exit status 0 when everything passes, 1 otherwise. Needs python-docx.
"""

import argparse
import collections
import csv
import json
import os
import re
import sys

import docx

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_CORPUS = "/work/shared/corpora/provinces-2025"
DEFAULT_DEV = "/work/shared/data/provinces_dev.jsonl"

TYPES = {"number", "percent", "money", "count", "date", "entity", "list", "phrase", "unanswerable"}
LANGS = {"zh", "en", "zh-TW"}
STYLES = {"direct", "paraphrase", "multi_hop_light", "followup"}
METRICS = {
    "gdp_growth_target_2025": ("生产总值", "经济增长"),
    "fixed_asset_investment_target_2025": ("固定资产投资",),
    "urban_jobs_target_2025": ("新增就业", "城镇就业"),
    "cpi_target_2025": ("居民消费价格",),
}
# province short name -> (traditional spelling, English names)
NAMES = {
    "上海": ("上海", ["Shanghai"]),
    "云南": ("雲南", ["Yunnan"]),
    "内蒙古": ("內蒙古", ["Inner Mongolia", "Nei Mongol"]),
    "北京": ("北京", ["Beijing"]),
    "吉林": ("吉林", ["Jilin"]),
    "四川": ("四川", ["Sichuan"]),
    "天津": ("天津", ["Tianjin"]),
    "宁夏": ("寧夏", ["Ningxia"]),
    "安徽": ("安徽", ["Anhui"]),
    "山东": ("山東", ["Shandong"]),
    "山西": ("山西", ["Shanxi"]),
    "广东": ("廣東", ["Guangdong"]),
    "广西": ("廣西", ["Guangxi"]),
    "新疆": ("新疆", ["Xinjiang"]),
    "江苏": ("江蘇", ["Jiangsu"]),
    "江西": ("江西", ["Jiangxi"]),
    "河北": ("河北", ["Hebei"]),
    "河南": ("河南", ["Henan"]),
    "浙江": ("浙江", ["Zhejiang"]),
    "海南": ("海南", ["Hainan"]),
    "湖北": ("湖北", ["Hubei"]),
    "湖南": ("湖南", ["Hunan"]),
    "甘肃": ("甘肅", ["Gansu"]),
    "福建": ("福建", ["Fujian"]),
    "西藏": ("西藏", ["Tibet", "Xizang"]),
    "贵州": ("貴州", ["Guizhou"]),
    "辽宁": ("遼寧", ["Liaoning"]),
    "重庆": ("重慶", ["Chongqing"]),
    "陕西": ("陝西", ["Shaanxi"]),
    "青海": ("青海", ["Qinghai"]),
    "黑龙江": ("黑龍江", ["Heilongjiang"]),
}
TARGET_RE = re.compile(r"预期目标(建议)?(是|为)")


def short_name(fn):
    n = fn[5:] if fn.startswith("2025年") else fn
    n = n.replace("政府工作报告.docx", "")
    return re.sub("(省|市|自治区)$", "", n)


class Checker:
    def __init__(self, corpus):
        self.corpus = corpus
        self.texts = {}
        self.errors = []
        self.warnings = []

    def text(self, doc):
        if doc not in self.texts:
            path = os.path.join(self.corpus, doc)
            d = docx.Document(path)
            self.texts[doc] = "\n".join(p.text for p in d.paragraphs if p.text.strip())
        return self.texts[doc]

    def err(self, where, msg):
        self.errors.append(f"{where}: {msg}")

    def warn(self, where, msg):
        self.warnings.append(f"{where}: {msg}")

    def paragraphs_of(self, doc, ev):
        """text of the paragraph(s) covering the (unique) evidence occurrence"""
        t = self.text(doc)
        i = t.find(ev)
        a = t.rfind("\n", 0, i) + 1
        b = t.find("\n", i + len(ev))
        return t[a : len(t) if b < 0 else b]

    def check_evidence(self, where, doc, ev):
        t = self.text(doc)
        if not (10 <= len(ev) <= 40):
            self.err(where, f"evidence length {len(ev)} not in 10..40: {ev!r}")
        n = t.count(ev)
        if n != 1:
            self.err(where, f"evidence occurs {n} times in {doc}: {ev!r}")
            return False
        return True


def load_dev(path):
    dev = []
    if path and os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            for line in f:
                if line.strip():
                    dev.append(json.loads(line))
    return dev


def check_heldout(ck, path, dev):
    where0 = os.path.basename(path)
    docs = set(os.listdir(ck.corpus))
    items = []
    with open(path, encoding="utf-8") as f:
        for ln, line in enumerate(f, 1):
            if not line.strip():
                ck.err(f"{where0}:{ln}", "blank line")
                continue
            try:
                items.append((ln, json.loads(line)))
            except json.JSONDecodeError as e:
                ck.err(f"{where0}:{ln}", f"bad JSON: {e}")
    ids = collections.Counter(d.get("id") for _, d in items)
    for i, n in ids.items():
        if n > 1:
            ck.err(where0, f"duplicate id {i}")
    qs = collections.Counter(d.get("question") for _, d in items)
    for q, n in qs.items():
        if n > 1 and not q.startswith("那"):
            ck.warn(where0, f"question repeated {n}x: {q}")
    dev_q = {d["question"] for d in dev}
    dev_ev = collections.defaultdict(list)
    for d in dev:
        if d.get("evidence"):
            dev_ev[d.get("doc")].append(d["evidence"])

    prev_id = None
    for ln, d in items:
        w = f"{where0}:{ln} ({d.get('id')})"
        for k in ("id", "question", "answers", "evidence", "type", "lang", "style"):
            if k not in d:
                ck.err(w, f"missing field {k}")
        if d.get("type") not in TYPES:
            ck.err(w, f"bad type {d.get('type')}")
        if d.get("lang") not in LANGS:
            ck.err(w, f"bad lang {d.get('lang')}")
        if d.get("style") not in STYLES:
            ck.err(w, f"bad style {d.get('style')}")
        if d.get("question") in dev_q:
            ck.err(w, "question copied from provinces_dev.jsonl")
        ans = d.get("answers", [])
        ev = d.get("evidence", "")
        # followup linkage
        if d.get("style") == "followup":
            if d.get("prev") != prev_id or prev_id is None:
                ck.err(w, f"prev={d.get('prev')} but previous line id is {prev_id}")
        elif "prev" in d:
            ck.err(w, "prev set on a non-followup item")
        prev_id = d.get("id")

        if d.get("type") == "unanswerable":
            if ans != [] or ev != "":
                ck.err(w, 'unanswerable item must have answers [] and evidence ""')
            if d.get("doc"):
                ck.err(w, "unanswerable item must not have a doc")
            continue
        doc = d.get("doc")
        if doc not in docs:
            ck.err(w, f"doc not in corpus: {doc}")
            continue
        t = ck.text(doc)
        if not isinstance(ans, list) or not (1 <= len(ans) <= 3):
            ck.err(w, f"answers must be a list of 1-3 strings: {ans}")
            continue
        for a in ans:
            if not isinstance(a, str) or not a:
                ck.err(w, f"empty/non-string answer {a!r}")
            elif a not in t:
                ck.err(w, f"answer not in report: {a!r}")
        if not ck.check_evidence(w, doc, ev):
            continue
        para = ck.paragraphs_of(doc, ev)
        if not any(a in para for a in ans):
            ck.err(w, "no gold answer in the evidence paragraph")
        if ans[0] not in ev:
            ck.warn(w, f"first answer {ans[0]!r} not inside evidence {ev!r}")
        # province named in the question
        place = short_name(doc)
        if d.get("style") != "followup":
            trad, en = NAMES.get(place, (place, []))
            q = d.get("question", "")
            if not (place in q or trad in q or any(e.lower() in q.lower() for e in en)):
                ck.err(w, f"question does not name its province {place}")
        # overlap with dev facts
        for dev_e in dev_ev.get(doc, []):
            if dev_e in ev or ev in dev_e:
                ck.err(w, f"same fact as a dev item (evidence {dev_e!r})")

    # summary
    answerable = [d for _, d in items if d.get("type") != "unanswerable"]
    provs = {d.get("doc") for d in answerable}
    summary = {
        "total": len(items),
        "style": collections.Counter(d.get("style") for _, d in items),
        "type": collections.Counter(d.get("type") for _, d in items),
        "lang": collections.Counter(d.get("lang") for _, d in items),
        "reports": len(provs),
    }
    if len(provs) < 22:
        ck.err(where0, f"only {len(provs)} different reports (need >= 22)")
    return summary


def check_compare(ck, path):
    where0 = os.path.basename(path)
    docs = sorted(os.listdir(ck.corpus))
    with open(path, encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    if not rows or rows[0] != ["metric", "doc", "place", "answer", "evidence"]:
        ck.err(where0, f"bad header {rows[:1]}")
        return {}
    seen = collections.defaultdict(set)
    missing = collections.Counter()
    for ln, r in enumerate(rows[1:], 2):
        w = f"{where0}:{ln}"
        if len(r) != 5:
            ck.err(w, f"expected 5 columns, got {len(r)}")
            continue
        metric, doc, place, answer, ev = r
        w = f"{w} ({metric}/{place})"
        if metric not in METRICS:
            ck.err(w, f"unknown metric {metric}")
            continue
        if doc not in docs:
            ck.err(w, f"doc not in corpus: {doc}")
            continue
        if doc in seen[metric]:
            ck.err(w, "duplicate row for this metric/doc")
        seen[metric].add(doc)
        if place != short_name(doc):
            ck.err(w, f"place {place!r} != short name {short_name(doc)!r}")
        if not answer and not ev:
            missing[metric] += 1
            continue
        if bool(answer) != bool(ev):
            ck.err(w, "answer and evidence must both be empty or both set")
            continue
        if answer != answer.strip():
            ck.err(w, "answer has surrounding whitespace")
        if answer not in ev:
            ck.err(w, f"answer {answer!r} not inside evidence {ev!r}")
        if not ck.check_evidence(w, doc, ev):
            continue
        t = ck.text(doc)
        pos = t.find(ev)
        m = TARGET_RE.search(t)
        if m is None:
            ck.warn(w, "no '预期目标是/为' paragraph found in report")
        else:
            start = t.rfind("\n", 0, m.start()) + 1
            if pos < start:
                ck.err(w, "evidence lies before the 2025 target paragraph (2024 review?)")
        if not any(k in ev for k in METRICS[metric]):
            ck.err(w, f"evidence lacks a metric keyword {METRICS[metric]}: {ev!r}")
    for metric in METRICS:
        lack = set(docs) - seen[metric]
        if lack:
            ck.err(where0, f"{metric}: no row for {sorted(lack)}")
    return {"rows": len(rows) - 1, "empty_per_metric": dict((m, missing[m]) for m in METRICS)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", default=os.environ.get("PROVINCES_CORPUS", DEFAULT_CORPUS))
    ap.add_argument("--dev", default=DEFAULT_DEV)
    ap.add_argument("--heldout", default=os.path.join(HERE, "provinces_heldout.jsonl"))
    ap.add_argument("--compare", default=os.path.join(HERE, "compare_provinces.csv"))
    args = ap.parse_args()
    ck = Checker(args.corpus)
    dev = load_dev(args.dev)
    s1 = check_heldout(ck, args.heldout, dev)
    print("provinces_heldout.jsonl:", s1["total"], "items over", s1["reports"], "reports")
    for k in ("style", "type", "lang"):
        print(f"  {k}:", dict(sorted(s1[k].items())))
    s2 = check_compare(ck, args.compare)
    print(
        "compare_provinces.csv:", s2.get("rows"), "rows; reports without a stated target:", s2.get("empty_per_metric")
    )
    for w in ck.warnings:
        print("WARNING", w)
    for e in ck.errors:
        print("ERROR", e)
    print("OK" if not ck.errors else f"FAILED: {len(ck.errors)} error(s)")
    return 0 if not ck.errors else 1


if __name__ == "__main__":
    sys.exit(main())
