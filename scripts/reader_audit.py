"""Where the reader loses written training questions: retrieval, candidates or scoring.

For every answerable question of ``data/train`` (never an evaluation set) it records whether the
gold answer is among the candidate spans of the passages the reader read (candidate recall), and
the outcome: right, wrong (and whether the gold was a candidate), refused. Usage:

    python scripts/reader_audit.py [--files train_prov_a.jsonl,...] [--misses]
"""

from __future__ import annotations

import argparse
import collections
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

from eval_all import ensure_index  # noqa: E402


def corpus_of(doc: str) -> str:
    if doc.endswith(".docx"):
        return "provinces-2025"
    return "seed" if doc.startswith("tianjin") else "national-2006-2013"


def watch(engine: Any) -> list[list[str]]:
    """Record, per question read, the text of every candidate span the reader scored; the span
    it chose comes last, after a None (also when it refused to give it)."""
    import qa.reader

    seen: list[list[str]] = []
    candidates, read = qa.reader.candidates, engine._read

    def capture(*a: Any, **kw: Any) -> Any:
        spans = candidates(*a, **kw)
        seen[-1].extend(a[1][s.start : s.end] for s in spans)
        return spans

    def reading(*a: Any, **kw: Any) -> Any:
        seen.append([])
        found = read(*a, **kw)
        if found is not None:
            seen[-1] += [None, engine.index.chunks[found.scored.position].text[found.span.start : found.span.end]]
        return found

    qa.reader.candidates, engine._read = capture, reading  # type: ignore[assignment]
    return seen


def main() -> int:
    from qa.engine import Engine
    from qa.evaluate import evaluate, load_questions, normalize_answer

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", default="", help="comma-separated file names under data/train (or paths)")
    parser.add_argument("--misses", action="store_true", help="print every miss")
    args = parser.parse_args()
    files = [ROOT / "data" / "train" / f for f in args.files.split(",") if f] or sorted(
        (ROOT / "data" / "train").glob("train_*.jsonl")
    )
    items = [item for f in files for item in load_questions(f)]
    for item in items:  # the seed report's sets name no report
        item.setdefault("doc", "tianjin_2017_government_work_report.txt")
    by_corpus: dict[str, list[dict[str, Any]]] = collections.defaultdict(list)
    for item in items:
        by_corpus[corpus_of(item["doc"])].append(item)
    tally: collections.Counter[str] = collections.Counter()
    for corpus, group in sorted(by_corpus.items()):
        engine = Engine.load(ensure_index(corpus))
        seen = watch(engine)
        for item in group:
            if not item["answers"]:
                report = evaluate(engine, [item])
                tally["unanswerable"] += 1
                tally["unanswerable refused"] += int(report.rows[0].em)
                continue
            seen.clear()
            row = evaluate(engine, [item]).rows[0]
            candidates = seen[-1] if seen else []
            chosen = candidates[-1] if None in candidates else ""
            candidates = [c for c in candidates if c is not None]
            golds = [normalize_answer(g) for g in item["answers"]]
            has_gold = any(normalize_answer(c) in golds for c in candidates)
            tally["answerable"] += 1
            tally["candidate recall"] += int(has_gold)
            tally["evidence retrieved"] += int(row.rank is not None)
            if row.em:
                outcome = "right"
            elif not row.found:
                outcome = "refused, gold a candidate" if has_gold else "refused, gold not a candidate"
            else:
                outcome = "wrong, gold a candidate" if has_gold else "wrong, gold not a candidate"
            tally[outcome] += 1
            if args.misses and not row.em:
                near = [
                    c for c in candidates if any(g in normalize_answer(c) or normalize_answer(c) in g for g in golds)
                ]
                print(
                    f"{item['id']} [{outcome}] rank={row.rank} conf={row.confidence:.2f} {item['question']}"
                    f" → {row.answer or f'(read {chosen!r})'!r} gold={item['answers']} near={sorted(set(near))[:4]}"
                )
    n = tally["answerable"]
    print(f"\n{n} answerable, {tally['unanswerable']} unanswerable ({tally['unanswerable refused']} refused)")
    for key in (
        "evidence retrieved",
        "candidate recall",
        "right",
        "wrong, gold a candidate",
        "wrong, gold not a candidate",
        "refused, gold a candidate",
        "refused, gold not a candidate",
    ):
        print(f"  {key:32s} {tally[key]:4d}  {tally[key] / max(n, 1):.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
