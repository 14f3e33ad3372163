#!/usr/bin/env python3
"""Validate the blind evaluation sets written for the national corpus and the seed report.

Checks (stdlib only):
  tests/data/national_heldout.jsonl      (45 questions over corpora/national-2006-2013, with `doc`)
  tests/data/compare_national.csv        (metric,year,doc,answer,evidence)
  tests/data/seed_blind_questions.jsonl  (60 questions over the 2017 Tianjin seed report)

Rules (see shared/data/README.md):
  * every `answers` entry is an exact substring of the gold report (UTF-8 file text);
  * `evidence` is 10-40 characters, occurs exactly once in the gold report (seed: once in the
    first 61-line copy and exactly 8 times in the whole file), and the paragraph (line) that holds
    the evidence also holds at least one gold answer;
  * unanswerable items: type `unanswerable`, answers [], evidence "", no `doc`;
  * followups carry `prev` = id of the line just before; no other item carries `prev`;
  * CSV: a target for year Y cites the Y report, an actual for year Y cites the Y+1 report;
    answer and evidence are both empty or both set, and the evidence holds the answer.
It also warns when an item repeats a question or a fact (same doc + overlapping evidence) of the
public dev sets, and prints counts per style/type/lang.

Usage: python tests/data/check_national_sets.py [--shared DIR]
Exit status 0 when every check passes, 1 on errors, 2 when the source texts cannot be found.
"""

import argparse
import collections
import csv
import json
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
CORPUS_SUB = Path("corpora") / "national-2006-2013"
SEED_COPY_LINES = 61
SEED_COPIES = 8

TYPES = {"number", "percent", "money", "count", "date", "entity", "list", "phrase", "unanswerable"}
LANGS = {"zh", "en", "zh-TW"}
STYLES = {"direct", "paraphrase", "multi_hop_light", "followup"}
CSV_HEADER = ["metric", "year", "doc", "answer", "evidence"]
CSV_METRICS = {
    # metric: (years, offset of the gold report's year relative to `year`)
    "gdp_growth_target": (range(2006, 2014), 0),
    "gdp_growth_actual": (range(2005, 2013), 1),
    "cpi_target": (range(2006, 2014), 0),
}
EXPECTED_ROWS = {"national_heldout.jsonl": 45, "seed_blind_questions.jsonl": 60}


def report_name(year):
    return f"{year}年国务院政府工作报告.txt"


def find_shared(cli):
    cands = []
    if cli:
        cands.append(Path(cli))
    if os.environ.get("QA_SHARED_DIR"):
        cands.append(Path(os.environ["QA_SHARED_DIR"]))
    cands += [REPO / "shared", REPO.parent / "shared", Path("/work/shared")]
    for c in cands:
        if (c / CORPUS_SUB).is_dir():
            return c
    return None


def find_seed(shared):
    cands = [REPO / "seeds" / "tianjin_2017_government_work_report.txt"]
    if shared is not None:
        cands += sorted((shared / "seeds").glob("*.txt"))
    for c in cands:
        if c.is_file():
            return c
    return None


class Checker:
    def __init__(self):
        self.errors = []
        self.warnings = []

    def err(self, where, msg):
        self.errors.append(f"{where}: {msg}")

    def warn(self, where, msg):
        self.warnings.append(f"{where}: {msg}")


def line_of(text, idx):
    start = text.rfind("\n", 0, idx) + 1
    end = text.find("\n", idx)
    return text[start:] if end < 0 else text[start:end]


def check_evidence(ck, where, text, evidence, answers, full_text=None, copies=None):
    n = len(evidence)
    if not 10 <= n <= 40:
        ck.err(where, f"evidence length {n} not in 10..40: {evidence!r}")
    if "\n" in evidence:
        ck.err(where, "evidence spans lines (paragraphs)")
    cnt = text.count(evidence)
    if cnt != 1:
        ck.err(where, f"evidence occurs {cnt} times in gold text (need exactly 1): {evidence!r}")
        return
    if full_text is not None and copies is not None:
        fc = full_text.count(evidence)
        if fc != copies:
            ck.err(where, f"evidence occurs {fc} times in the full seed file (expected {copies})")
    para = line_of(text, text.index(evidence))
    if answers and not any(a in para for a in answers):
        ck.err(where, "no gold answer in the evidence's paragraph")
    elif answers and not any(a in evidence for a in answers):
        ck.warn(where, "evidence does not itself contain an answer (same paragraph only)")


def load_jsonl(ck, path):
    rows = []
    raw = path.read_bytes()
    try:
        txt = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        ck.err(path.name, f"not UTF-8: {e}")
        return rows
    if "\\u" in txt:
        ck.warn(path.name, "contains \\u escapes (expected ensure_ascii=False)")
    for i, line in enumerate(txt.splitlines(), 1):
        if not line.strip():
            ck.err(f"{path.name}:{i}", "blank line")
            continue
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError as e:
            ck.err(f"{path.name}:{i}", f"bad JSON: {e}")
    return rows


def check_question_rows(ck, name, rows, get_text, need_doc, docs, seed_full=None):
    ids = [r.get("id") for r in rows]
    dup = [k for k, v in collections.Counter(ids).items() if v > 1]
    if dup:
        ck.err(name, f"duplicate ids {dup}")
    qdup = [k for k, v in collections.Counter(r.get("question") for r in rows).items() if v > 1]
    if qdup:
        ck.err(name, f"duplicate questions {qdup}")
    if name in EXPECTED_ROWS and len(rows) != EXPECTED_ROWS[name]:
        ck.err(name, f"{len(rows)} rows, expected {EXPECTED_ROWS[name]}")
    allowed = {"id", "question", "answers", "evidence", "type", "lang", "style", "prev", "doc"}
    for i, r in enumerate(rows):
        where = f"{name}:{r.get('id', i + 1)}"
        extra = set(r) - allowed
        if extra:
            ck.err(where, f"unexpected fields {sorted(extra)}")
        for k in ("id", "question", "answers", "evidence", "type", "lang", "style"):
            if k not in r:
                ck.err(where, f"missing field {k}")
        if any(k not in r for k in ("id", "question", "answers", "evidence", "type", "lang", "style")):
            continue
        if not isinstance(r["question"], str) or not r["question"].strip():
            ck.err(where, "empty question")
        if r["type"] not in TYPES:
            ck.err(where, f"bad type {r['type']!r}")
        if r["lang"] not in LANGS:
            ck.err(where, f"bad lang {r['lang']!r}")
        if r["style"] not in STYLES:
            ck.err(where, f"bad style {r['style']!r}")
        # prev / followup
        if r["style"] == "followup":
            if i == 0 or r.get("prev") != rows[i - 1].get("id"):
                ck.err(where, f"followup prev {r.get('prev')!r} is not the previous line's id")
            elif rows[i - 1].get("type") == "unanswerable":
                ck.err(where, "followup follows an unanswerable question")
        elif "prev" in r:
            ck.err(where, "prev set on a non-followup item")
        ans, ev = r["answers"], r["evidence"]
        if not isinstance(ans, list) or not all(isinstance(a, str) and a for a in ans):
            ck.err(where, "answers must be a list of non-empty strings")
            continue
        if len(set(ans)) != len(ans):
            ck.err(where, "duplicate answers")
        if r["type"] == "unanswerable":
            if ans or ev:
                ck.err(where, "unanswerable item must have answers [] and evidence ''")
            if "doc" in r:
                ck.err(where, "unanswerable item must not have a doc")
            if r["style"] == "followup":
                ck.err(where, "unanswerable item styled followup")
            continue
        if not 1 <= len(ans) <= 3:
            ck.err(where, f"{len(ans)} answers (need 1..3)")
        if need_doc:
            doc = r.get("doc")
            if doc not in docs:
                ck.err(where, f"doc {doc!r} not in corpus")
                continue
            text = docs[doc]
        else:
            if "doc" in r:
                ck.warn(where, "doc field on a seed question")
            text = get_text
        for a in ans:
            if a not in text:
                ck.err(where, f"answer not a substring of the gold report: {a!r}")
        if not isinstance(ev, str):
            ck.err(where, "evidence must be a string")
            continue
        check_evidence(ck, where, text, ev, ans, seed_full, SEED_COPIES if seed_full else None)
        if r["lang"] == "zh-TW" and not any("\u4e00" <= c <= "\u9fff" for c in r["question"]):
            ck.err(where, "zh-TW question has no CJK characters")
        if r["lang"] == "en" and any("\u4e00" <= c <= "\u9fff" for c in r["question"]):
            ck.warn(where, "English question contains CJK characters")


def overlap_with_dev(ck, name, rows, dev_rows, doc_key):
    """Warn when a blind item repeats a dev question or a dev fact."""
    dev_q = {d.get("question") for d in dev_rows}
    for r in rows:
        where = f"{name}:{r.get('id')}"
        if r.get("question") in dev_q:
            ck.err(where, "question copied from a dev set")
        if r.get("type") == "unanswerable" or not r.get("evidence"):
            continue
        for d in dev_rows:
            if not d.get("evidence"):
                continue
            if doc_key and d.get("doc") != r.get("doc"):
                continue
            e1, e2 = r["evidence"], d["evidence"]
            same_ans = set(r["answers"]) & set(d.get("answers", []))
            if (e1 in e2 or e2 in e1) and same_ans:
                ck.err(where, f"same fact as dev item {d.get('id')} ({e2!r})")


def check_csv(ck, path, docs):
    name = path.name
    raw = path.read_bytes()
    if raw.startswith(b"\xef\xbb\xbf"):
        ck.err(name, "has a UTF-8 BOM")
    txt = raw.decode("utf-8")
    rows = list(csv.reader(txt.splitlines()))
    if not rows or rows[0] != CSV_HEADER:
        ck.err(name, f"header must be {','.join(CSV_HEADER)}")
        return []
    seen = set()
    out = []
    for ln, row in enumerate(rows[1:], 2):
        where = f"{name}:{ln}"
        if len(row) != 5:
            ck.err(where, f"{len(row)} columns")
            continue
        metric, year, doc, ans, ev = row
        out.append(row)
        if metric not in CSV_METRICS:
            ck.err(where, f"unknown metric {metric!r}")
            continue
        try:
            y = int(year)
        except ValueError:
            ck.err(where, f"bad year {year!r}")
            continue
        years, off = CSV_METRICS[metric]
        if y not in years:
            ck.err(where, f"year {y} out of range for {metric}")
        if (metric, y) in seen:
            ck.err(where, f"duplicate row {metric} {y}")
        seen.add((metric, y))
        if doc != report_name(y + off):
            ck.err(where, f"doc {doc!r} should be {report_name(y + off)!r}")
        if doc not in docs:
            ck.err(where, f"doc {doc!r} not in corpus")
            continue
        if bool(ans) != bool(ev):
            ck.err(where, "answer and evidence must both be empty or both set")
            continue
        if not ans:
            continue
        if ans not in docs[doc]:
            ck.err(where, f"answer not in {doc}: {ans!r}")
        if ans not in ev:
            ck.err(where, "evidence does not contain the answer")
        check_evidence(ck, where, docs[doc], ev, [ans])
    for metric, (years, _) in CSV_METRICS.items():
        for y in years:
            if (metric, y) not in seen:
                ck.err(name, f"missing row {metric} {y}")
    return out


def summarize(name, rows):
    print(f"\n{name}: {len(rows)} rows")
    for key in ("style", "type", "lang"):
        c = collections.Counter(r.get(key) for r in rows)
        print(f"  {key:5s}: " + ", ".join(f"{k}={v}" for k, v in sorted(c.items())))
    if any("doc" in r for r in rows):
        c = collections.Counter(r.get("doc", "-")[:4] for r in rows)
        print("  doc  : " + ", ".join(f"{k}={v}" for k, v in sorted(c.items())))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", help="directory holding corpora/ seeds/ data/ (default: auto)")
    ap.add_argument("-q", "--quiet", action="store_true", help="do not print warnings")
    args = ap.parse_args()

    shared = find_shared(args.shared)
    if shared is None:
        print("cannot find corpora/national-2006-2013 (use --shared or QA_SHARED_DIR)", file=sys.stderr)
        return 2
    corpus_dir = shared / CORPUS_SUB
    docs = {p.name: p.read_text(encoding="utf-8") for p in sorted(corpus_dir.glob("*.txt"))}
    seed_path = find_seed(shared)
    if seed_path is None:
        print("cannot find the seed report", file=sys.stderr)
        return 2
    seed_full = seed_path.read_text(encoding="utf-8")
    seed_lines = seed_full.split("\n")
    seed_copy = "\n".join(seed_lines[:SEED_COPY_LINES])
    ck = Checker()
    if seed_full.count(seed_lines[7]) != SEED_COPIES:
        ck.err("seed", "seed file does not repeat the report 8 times as expected")

    dev_dir = shared / "data"

    def dev(name):
        p = dev_dir / name
        if not p.is_file():
            return []
        return [json.loads(line) for line in p.read_text(encoding="utf-8").splitlines() if line.strip()]

    nat_path = HERE / "national_heldout.jsonl"
    seed_q_path = HERE / "seed_blind_questions.jsonl"
    csv_path = HERE / "compare_national.csv"
    nat = seed_q = []
    if nat_path.is_file():
        nat = load_jsonl(ck, nat_path)
        check_question_rows(ck, nat_path.name, nat, None, True, docs)
        overlap_with_dev(ck, nat_path.name, nat, dev("national_dev.jsonl"), doc_key=True)
    else:
        ck.err(nat_path.name, "missing")
    if seed_q_path.is_file():
        seed_q = load_jsonl(ck, seed_q_path)
        check_question_rows(ck, seed_q_path.name, seed_q, seed_copy, False, docs, seed_full)
        overlap_with_dev(ck, seed_q_path.name, seed_q, dev("dev_questions.jsonl"), doc_key=False)
    else:
        ck.err(seed_q_path.name, "missing")
    if csv_path.is_file():
        csv_rows = check_csv(ck, csv_path, docs)
    else:
        ck.err(csv_path.name, "missing")
        csv_rows = []

    summarize(nat_path.name, nat)
    summarize(seed_q_path.name, seed_q)
    print(f"\n{csv_path.name}: {len(csv_rows)} rows, {sum(1 for r in csv_rows if not r[3])} without a stated answer")
    if ck.warnings and not args.quiet:
        print(f"\n{len(ck.warnings)} warning(s):")
        for w in ck.warnings:
            print("  WARN", w)
    if ck.errors:
        print(f"\n{len(ck.errors)} error(s):")
        for e in ck.errors:
            print("  ERROR", e)
        return 1
    print("\nOK: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
