#!/usr/bin/env python3
"""Keep the written training questions apart from every evaluation set (run once after writing them).

A training question is dropped when the paragraph holding its evidence also holds the evidence
of any question in ../shared/data/*.jsonl or tests/data/*.jsonl about the same report: no fact
that is scored is ever trained on. A follow-up whose antecedent is dropped goes too.

Usage: python data/train/separate.py [--write]   (without --write: only counts)
"""

import glob
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import check  # noqa: E402  (the report texts, as the checker reads them)

ROOT = os.path.dirname(os.path.dirname(HERE))
SEED = "tianjin_2017_government_work_report.txt"
EVALUATION = glob.glob(os.path.join(ROOT, "tests", "data", "*.jsonl")) + glob.glob(
    os.path.join(ROOT, "..", "shared", "data", "*.jsonl")
)


def squeeze(text: str) -> str:
    return re.sub(r"\s", "", text)


def paragraph(doc: str, evidence: str) -> str:
    text = check.text(doc)
    i = text.find(evidence)
    a, b = text.rfind("\n", 0, i) + 1, text.find("\n", i + len(evidence))
    return squeeze(text[a : len(text) if b < 0 else b])


def main() -> None:
    scored = set()
    for path in EVALUATION:
        for line in open(path, encoding="utf-8"):
            item = json.loads(line)
            if item.get("evidence"):
                scored.add(((item.get("doc") or SEED).rsplit("/", 1)[-1], squeeze(item["evidence"])))
    for path in sorted(glob.glob(os.path.join(HERE, "*.jsonl"))):
        rows = [json.loads(line) for line in open(path, encoding="utf-8") if line.strip()]
        dropped, kept = set(), []
        for row in rows:
            bad = row.get("prev") in dropped
            if row.get("evidence"):
                held = paragraph(row["doc"], row["evidence"])
                bad = bad or any(doc == row["doc"] and ev in held for doc, ev in scored)
            if bad:
                dropped.add(row["id"])
            else:
                kept.append(row)
        print(f"{os.path.basename(path)}: {len(rows)} -> {len(kept)}")
        if "--write" in sys.argv:
            with open(path, "w", encoding="utf-8") as handle:
                handle.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in kept)


if __name__ == "__main__":
    main()
