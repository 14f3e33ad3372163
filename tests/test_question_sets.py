"""Validate the held-out question sets under tests/data (format, gold answers, evidence).

Checks each seed *.jsonl file (no ``doc`` field) against the seed report (first copy = first
61 lines; one non-empty line = one paragraph), following the rules of shared/data/README.md;
the multi-report sets and comparison tables are checked by their own scripts against ../shared.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
REPORT = ROOT / "seeds" / "tianjin_2017_government_work_report.txt"
DATA = Path(__file__).resolve().parent / "data"
COPY_LINES = 61

TYPES = {"number", "percent", "money", "count", "date", "entity", "list", "phrase", "unanswerable"}
LANGS = {"zh", "en", "zh-TW"}
STYLES = {"direct", "paraphrase", "multi_hop_light", "followup"}
REQUIRED = ("id", "question", "answers", "evidence", "type", "lang", "style")

MULTI_REPORT = (
    "provinces_heldout.jsonl",
    "national_heldout.jsonl",
    "provinces_wh_heldout.jsonl",
    "national_wh_heldout.jsonl",
)
FILES = sorted(p for p in DATA.glob("*.jsonl") if p.name not in MULTI_REPORT)
SHARED = ROOT.parent / "shared"


def _report_lines() -> list[str]:
    return REPORT.read_text(encoding="utf-8").split("\n")


LINES = _report_lines()
COPY = LINES[:COPY_LINES]
FIRST = "\n".join(COPY)
FULL = "\n".join(LINES)
N_COPIES = sum(1 for i in range(0, len(LINES) - COPY_LINES + 1, COPY_LINES) if LINES[i : i + COPY_LINES] == COPY)


def _load(path: Path) -> list[dict]:
    rows = []
    for n, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        assert raw.strip(), f"{path.name}:{n}: blank line"
        try:
            rows.append(json.loads(raw))
        except json.JSONDecodeError as exc:  # pragma: no cover - failure path
            pytest.fail(f"{path.name}:{n}: invalid JSON: {exc}")
    return rows


def test_report_has_identical_copies() -> None:
    assert N_COPIES >= 1
    assert FIRST.strip()


def test_there_are_question_files() -> None:
    assert FILES, "no *.jsonl under tests/data"


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_question_file(path: Path) -> None:
    rows = _load(path)
    assert rows, f"{path.name} is empty"
    errors: list[str] = []
    seen: set[str] = set()
    for i, row in enumerate(rows):
        qid = row.get("id", f"<line {i + 1}>")
        where = f"{path.name}:{qid}"
        missing = [k for k in REQUIRED if k not in row]
        if missing:
            errors.append(f"{where}: missing fields {missing}")
            continue
        extra = set(row) - set(REQUIRED) - {"prev"}
        if extra:
            errors.append(f"{where}: unexpected fields {sorted(extra)}")
        if qid in seen:
            errors.append(f"{where}: duplicate id")
        seen.add(qid)
        if not isinstance(row["question"], str) or not row["question"].strip():
            errors.append(f"{where}: empty question")
        if row["type"] not in TYPES:
            errors.append(f"{where}: bad type {row['type']!r}")
        if row["lang"] not in LANGS:
            errors.append(f"{where}: bad lang {row['lang']!r}")
        if row["style"] not in STYLES:
            errors.append(f"{where}: bad style {row['style']!r}")
        answers, evidence = row["answers"], row["evidence"]
        if not isinstance(answers, list) or not all(isinstance(a, str) for a in answers):
            errors.append(f"{where}: answers must be a list of strings")
            continue
        if not isinstance(evidence, str):
            errors.append(f"{where}: evidence must be a string")
            continue

        # follow-ups: prev is the id on the line just before
        if row["style"] == "followup":
            if i == 0 or row.get("prev") != rows[i - 1].get("id"):
                errors.append(f"{where}: prev {row.get('prev')!r} is not the preceding id")
        elif "prev" in row:
            errors.append(f"{where}: prev on a non-followup item")

        if row["type"] == "unanswerable":
            if answers or evidence:
                errors.append(f"{where}: unanswerable item must have [] answers and '' evidence")
            continue

        if not 1 <= len(answers) <= 3:
            errors.append(f"{where}: needs 1-3 answers, has {len(answers)}")
        if len(set(answers)) != len(answers):
            errors.append(f"{where}: duplicate answers")
        if not 10 <= len(evidence) <= 40:
            errors.append(f"{where}: evidence length {len(evidence)} not in 10..40")
        if "\n" in evidence:
            errors.append(f"{where}: evidence spans paragraphs")
            continue
        count = FIRST.count(evidence)
        if count != 1:
            errors.append(f"{where}: evidence occurs {count} times in the first copy")
            continue
        if FULL.count(evidence) != N_COPIES:
            errors.append(f"{where}: evidence does not occur once per copy")
        paragraph = next(line for line in COPY if evidence in line)
        for a in answers:
            if not a.strip():
                errors.append(f"{where}: empty answer")
            elif a not in FIRST:
                errors.append(f"{where}: answer {a!r} is not a substring of the report")
            elif a not in paragraph:
                errors.append(f"{where}: answer {a!r} is not in the evidence paragraph")
    assert not errors, "\n".join(errors)


@pytest.mark.parametrize("script", ["check_sets.py", "check_national_sets.py"])
def test_multi_report_sets_and_tables(script: str) -> None:
    """provinces/national held-out sets and comparison tables: answers and evidence in the gold report."""
    import subprocess
    import sys

    if not (SHARED / "corpora").is_dir():
        pytest.skip("../shared/corpora is not beside the project")
    result = subprocess.run([sys.executable, str(DATA / script)], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


WRITTEN_BLIND = ("provinces_wh_heldout.jsonl", "national_wh_heldout.jsonl")


@pytest.mark.skipif(not (SHARED / "corpora").is_dir(), reason="needs ../shared/corpora")
@pytest.mark.parametrize("name", WRITTEN_BLIND)
def test_multi_report_set_is_valid(name: str) -> None:
    """The why/how/which sets follow the training sets' rules (exact spans of the evidence's paragraph)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("train_check", ROOT / "data" / "train" / "check.py")
    assert spec and spec.loader
    check = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(check)
    assert check.check(str(DATA / name)) == []
