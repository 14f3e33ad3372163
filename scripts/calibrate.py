"""`make calibrate`: fit the reader's confidence calibration on the written training questions.

Every question of ``data/train`` (never an evaluation set) is asked through the engine; the
reader's raw confidence and whether its best span is right (EM against a gold answer, from the
gold report; a span for an unanswerable question is wrong) are fitted by isotonic regression
and written to ``qa/models/confidence-calibration.json`` with a card: training data, date and
the figures on the held-out sets of ``tests/data`` before and after calibration. CI does not
refit; the file ships with the package. Usage:

    python scripts/calibrate.py [--dry-run]
"""

from __future__ import annotations

import argparse
import datetime
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

from eval_all import SETS, ensure_index  # noqa: E402
from reader_audit import corpus_of  # noqa: E402


def readings(engine: Any, items: list[dict[str, Any]]) -> list[tuple[float, bool, bool]]:
    """(raw confidence, right, answered) for every question the reader found a span for."""
    from qa.evaluate import em, evaluate, same_doc

    seen: list[tuple[Any, float]] = []
    judge = engine._confidence

    def record(q: Any, ranked: Any, reading: Any, scope: Any = None) -> tuple[float, str]:
        raw, reason = judge(q, ranked, reading, scope)
        seen.append((reading, raw))
        return raw, reason

    engine._confidence = record
    out = []
    try:
        for item in items:
            seen.clear()
            row = evaluate(engine, [item]).rows[0]
            if not seen or seen[-1][0] is None:
                continue
            reading, raw = seen[-1]
            chunk = engine.index.chunks[reading.scored.position]
            span = chunk.text[reading.span.start : reading.span.end]
            right = bool(item["answers"]) and same_doc(chunk.doc, item.get("doc") or chunk.doc)
            right = right and max(em(span, gold) for gold in item["answers"]) == 1
            out.append((raw, right, row.found))
    finally:
        engine._confidence = judge
    return out


def figures(points: list[tuple[float, bool, bool]], calibrate: Any) -> dict[str, float]:
    """Over the answers given: the share wrong, wrong at confidence ≥ 0.8, and the expected
    calibration error (10 equal-width bins)."""
    given = [(calibrate(raw), right) for raw, right, found in points if found]
    if not given:
        return {}
    wrong = sum(not right for _, right in given)
    confident_wrong = sum(not right and conf >= 0.8 for conf, right in given)
    bins: dict[int, list[tuple[float, bool]]] = {}
    for conf, right in given:
        bins.setdefault(min(int(conf * 10), 9), []).append((conf, right))
    ece = sum(abs(sum(c for c, _ in b) / len(b) - sum(r for _, r in b) / len(b)) * len(b) for b in bins.values())
    return {
        "answered": len(given),
        "wrong": round(wrong / len(given), 3),
        "wrong_at_0.8": round(confident_wrong / len(given), 3),
        "ece": round(ece / len(given), 3),
    }


def main() -> int:
    from qa.engine import Engine
    from qa.evaluate import load_questions
    from qa.reader import CALIBRATION_FILE, Calibration

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dry-run", action="store_true", help="fit and report, do not write the file")
    args = parser.parse_args()
    files = sorted((ROOT / "data" / "train").glob("train_*.jsonl"))
    items = [item for f in files for item in load_questions(f)]
    engines: dict[str, Any] = {}

    def engine_for(corpus: str) -> Any:
        if corpus not in engines:
            engines[corpus] = Engine.load(ensure_index(corpus))
        return engines[corpus]

    train: list[tuple[float, bool, bool]] = []
    for corpus in sorted({corpus_of(i["doc"]) for i in items}):
        train += readings(engine_for(corpus), [i for i in items if corpus_of(i["doc"]) == corpus])
    held: list[tuple[float, bool, bool]] = []
    for path, corpus, held_out in SETS.values():
        if held_out and path.is_file():
            held += readings(engine_for(corpus), load_questions(path))
    card: dict[str, Any] = {
        "what": "isotonic regression of 'the reader's best span is right' on its raw confidence",
        "training data": f"data/train/train_*.jsonl: {len(items)} written questions, {len(train)} with a span",
        "fitted": datetime.date.today().isoformat(),
        "command": "make calibrate",
    }
    calibration = Calibration.fit([r for r, _, _ in train], [ok for _, ok, _ in train], card)
    card["held-out (tests/data, 5 sets) raw"] = figures(held, lambda raw: raw)
    card["held-out (tests/data, 5 sets) calibrated"] = figures(held, calibration)
    card["training raw"] = figures(train, lambda raw: raw)
    card["training calibrated"] = figures(train, calibration)
    for key, value in card.items():
        print(f"{key}: {value}")
    if not args.dry_run:
        CALIBRATION_FILE.parent.mkdir(exist_ok=True)
        Calibration(calibration.raw, calibration.probability, card).save(CALIBRATION_FILE)
        print(f"wrote {CALIBRATION_FILE.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
