#!/usr/bin/env python3
"""Validate the written training question sets (data/train/*.jsonl).

Each line: {"id", "question", "answers", "evidence", "type", "lang", "style", "doc", ["prev"]}.
`doc` is a file name in ../shared/corpora/provinces-2025/, ../shared/corpora/national-2006-2013/
or seeds/ (the seed file holds its report 8 times: evidence must occur once per copy).

Rules: every answer is an exact substring of the doc's text and of the paragraph holding the
evidence; evidence is 10-40 characters and unique in the report; unanswerable items have
answers [], evidence "" (their doc names the report asked about, or is absent); followup items
carry `prev` = the id of the line just before; ids unique.

Usage: python data/train/check.py FILE.jsonl [...]   (exit 1 on any error)
"""

import json
import os
import sys

import docx

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DIRS = [
    os.path.join(ROOT, "..", "shared", "corpora", "provinces-2025"),
    os.path.join(ROOT, "..", "shared", "corpora", "national-2006-2013"),
    os.path.join(ROOT, "seeds"),
]
TYPES = {"number", "percent", "money", "count", "date", "entity", "list", "phrase", "unanswerable"}
LANGS = {"zh", "en", "zh-TW"}
STYLES = {"direct", "paraphrase", "multi_hop_light", "followup", "out_of_scope"}
_texts: dict[str, str] = {}


def text(doc: str) -> str:
    if doc not in _texts:
        for d in DIRS:
            path = os.path.join(d, doc)
            if os.path.exists(path):
                break
        else:
            raise FileNotFoundError(doc)
        if doc.endswith(".docx"):
            t = "\n".join(p.text for p in docx.Document(path).paragraphs if p.text.strip())
        else:
            t = open(path, encoding="utf-8").read()
            if doc.startswith("tianjin"):
                lines = [x for x in t.split("\n")]
                t = "\n".join(lines[: len(lines) // 8])  # one copy of the eight
        _texts[doc] = t
    return _texts[doc]


def check(path: str) -> list[str]:
    errors = []
    rows = [json.loads(line) for line in open(path, encoding="utf-8") if line.strip()]
    ids = set()
    for n, r in enumerate(rows):
        w = f"{os.path.basename(path)}:{n + 1} {r.get('id')}"
        if r.get("id") in ids:
            errors.append(f"{w}: duplicate id")
        ids.add(r.get("id"))
        if r.get("type") not in TYPES or r.get("lang") not in LANGS or r.get("style") not in STYLES:
            errors.append(f"{w}: bad type/lang/style")
        if r.get("style") == "followup" and (n == 0 or r.get("prev") != rows[n - 1]["id"]):
            errors.append(f"{w}: followup needs prev = previous line's id")
        if r.get("type") == "unanswerable":
            if r.get("answers") or r.get("evidence"):
                errors.append(f"{w}: unanswerable needs answers [] and evidence ''")
            continue
        try:
            t = text(r["doc"])
        except (KeyError, FileNotFoundError):
            errors.append(f"{w}: unknown doc {r.get('doc')!r}")
            continue
        ev = r.get("evidence", "")
        if not 10 <= len(ev) <= 40:
            errors.append(f"{w}: evidence must be 10-40 characters")
        if t.count(ev) != 1:
            errors.append(f"{w}: evidence occurs {t.count(ev)} times in the report (need exactly 1)")
            continue
        i = t.find(ev)
        a, b = t.rfind("\n", 0, i) + 1, t.find("\n", i + len(ev))
        para = t[a : len(t) if b < 0 else b]
        if not r.get("answers"):
            errors.append(f"{w}: answers empty")
        for ans in r.get("answers", []):
            if ans not in para:
                errors.append(f"{w}: answer {ans!r} not in the evidence's paragraph")
    return errors


if __name__ == "__main__":
    errs = [e for p in sys.argv[1:] for e in check(p)]
    print("\n".join(errs) or "ok")
    sys.exit(1 if errs else 0)
