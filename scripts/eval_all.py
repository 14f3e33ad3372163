"""`make eval`: build (or reuse) an index per corpus and score every question set against its corpus.

Indexes live in .cache/indexes/NAME (ignored by git) and are rebuilt only when their sources
changed; a rebuild re-embeds only the chunks it has not seen. Usage:

    python scripts/eval_all.py [--sets dev,provinces_dev,...] [-v]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
CACHE = ROOT / ".cache" / "indexes"

CORPORA = {
    "seed": ROOT / "seeds",
    "provinces-2025": SHARED / "corpora" / "provinces-2025",
    "national-2006-2013": SHARED / "corpora" / "national-2006-2013",
}
# question set → (file, corpus, held out: written blind, never used to tune)
SETS = {
    "dev": (SHARED / "data" / "dev_questions.jsonl", "seed", False),
    "provinces_dev": (SHARED / "data" / "provinces_dev.jsonl", "provinces-2025", False),
    "national_dev": (SHARED / "data" / "national_dev.jsonl", "national-2006-2013", False),
    "seed_heldout": (ROOT / "tests" / "data" / "heldout_questions.jsonl", "seed", True),
    "seed_paraphrase": (ROOT / "tests" / "data" / "paraphrase_questions.jsonl", "seed", True),
    "seed_blind": (ROOT / "tests" / "data" / "seed_blind_questions.jsonl", "seed", True),
    "provinces_heldout": (ROOT / "tests" / "data" / "provinces_heldout.jsonl", "provinces-2025", True),
    "national_heldout": (ROOT / "tests" / "data" / "national_heldout.jsonl", "national-2006-2013", True),
    "provinces_wh": (ROOT / "tests" / "data" / "provinces_wh_heldout.jsonl", "provinces-2025", True),
    "national_wh": (ROOT / "tests" / "data" / "national_wh_heldout.jsonl", "national-2006-2013", True),
}
COLUMNS = ("n", "doc@1", "hit@1", "hit@3", "em", "f1", "refusals_unanswerable", "false_refusals", "p95_ms")


def ensure_index(name: str) -> Path:
    """The corpus's index, built when missing or stale (only new or changed chunks are embedded)."""
    from qa.index import IndexError_, build_index, stale_reasons

    folder = CACHE / name
    try:
        reasons = stale_reasons(folder, [CORPORA[name]])
    except IndexError_ as error:
        reasons = [str(error)]
    if reasons:
        started = time.perf_counter()
        print(f"building {folder} ({reasons[0]}) …", file=sys.stderr, flush=True)
        report = build_index([CORPORA[name]], folder)
        print(
            f"  {report.files} reports, {report.chunks} chunks, {report.embedded} embedded, "
            f"{time.perf_counter() - started:.1f} s",
            file=sys.stderr,
        )
    return folder


def main() -> int:
    from qa.engine import Engine
    from qa.evaluate import evaluate, format_report, load_questions

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", default=",".join(SETS), help="comma-separated names: " + ", ".join(SETS))
    parser.add_argument("--neural", action="store_true", help="the reader that reads with the span model too")
    parser.add_argument("-v", "--verbose", action="store_true", help="full report and the misses of each set")
    args = parser.parse_args()
    names = [n for n in args.sets.split(",") if n]
    unknown = [n for n in names if n not in SETS]
    if unknown:
        print(f"error: unknown set(s) {', '.join(unknown)}; known: {', '.join(SETS)}", file=sys.stderr)
        return 1
    engines: dict[str, Engine] = {}
    summary = []
    for name in names:
        path, corpus, held_out = SETS[name]
        if not path.is_file() or not CORPORA[corpus].exists():
            print(f"skipped {name}: {path if not path.is_file() else CORPORA[corpus]} not found", file=sys.stderr)
            continue
        if corpus not in engines:
            engines[corpus] = Engine.load(ensure_index(corpus), neural=args.neural)
        report = evaluate(engines[corpus], load_questions(path))
        summary.append((name, corpus, held_out, report.summary()))
        if args.verbose:
            print(f"\n== {name} ({path.name} over {corpus})")
            print(format_report(report))
            for row in report.rows:
                if row.em < 1:
                    print(
                        f"  {row.item['id']} rank={row.rank} doc={row.doc_hit} conf={row.confidence:.2f} "
                        f"{row.item['question']} → {row.answer!r} gold={row.item['answers']}"
                    )
    print("\n" + " | ".join(("set", "corpus", "held out", *COLUMNS)))
    for name, corpus, held_out, figures in summary:
        cells = [f"{figures[c]:.3f}" if c in figures and c != "n" else str(int(figures.get(c, 0))) for c in COLUMNS]
        cells = [cell if COLUMNS[i] in figures else "–" for i, cell in enumerate(cells)]
        print(" | ".join((name, corpus, "yes" if held_out else "no", *cells)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
