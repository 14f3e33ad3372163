"""`make reliability`: the reader's calibrated confidence against how often its answers are right.

Asks every held-out set of tests/data (written blind, never trained on) and draws, over the
answers given, the share right per confidence bin against the diagonal, with the count per bin;
writes docs/reliability.png and prints the table. Usage:

    python scripts/reliability.py [--out docs/reliability.png]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

from eval_all import SETS  # noqa: E402
from train_reader import engine_for  # noqa: E402

BINS = (0.0, 0.2, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.01)


def main() -> int:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from qa.evaluate import evaluate, load_questions

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "docs" / "reliability.png"))
    parser.add_argument("--wrong", action="store_true", help="list the wrong answers given with confidence ≥ 0.8")
    args = parser.parse_args()
    given: list[tuple[float, bool]] = []
    engines: dict[str, object] = {}
    sets = 0
    for name, (path, corpus, held_out) in SETS.items():
        if held_out and path.is_file():
            sets += 1
            engines.setdefault(corpus, engine_for(corpus))
            report = evaluate(engines[corpus], load_questions(path))  # type: ignore[arg-type]
            given += [(r.confidence, r.em == 1) for r in report.rows if r.found]
            for r in report.rows:
                if args.wrong and r.found and r.em != 1 and r.confidence >= 0.8:
                    item = r.item
                    print(f"{name} {item['id']} {r.confidence:.2f} {item['question']} → {r.answer!r} {item['answers']}")
    rows = []
    print("confidence | answers | right | mean confidence")
    for low, high in zip(BINS, BINS[1:], strict=False):
        inside = [(c, ok) for c, ok in given if low <= c < high]
        if inside:
            right = sum(ok for _, ok in inside) / len(inside)
            mean = sum(c for c, _ in inside) / len(inside)
            rows.append((low, min(high, 1.0), len(inside), right, mean))
            print(f"{low:.1f}–{min(high, 1.0):.1f} | {len(inside)} | {right:.3f} | {mean:.3f}")
    wrong_high = sum(not ok and c >= 0.8 for c, ok in given) / max(len(given), 1)
    print(f"{len(given)} answers given; wrong with confidence ≥ 0.8: {wrong_high:.1%} of them")
    fig, ax = plt.subplots(figsize=(5, 5), dpi=120)
    ax.plot([0, 1], [0, 1], "--", color="grey", label="perfect calibration")
    ax.plot([r[4] for r in rows], [r[3] for r in rows], "o-", label="reader (held-out answers)")
    for low, high, n, right, mean in rows:
        ax.annotate(f"n={n}", (mean, right), textcoords="offset points", xytext=(4, -12), fontsize=8)
    ax.set_xlabel("confidence shown (calibrated)")
    ax.set_ylabel("share of answers right (exact match)")
    ax.set_title(f"Reliability on {sets} held-out sets ({len(given)} answers)")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.legend(loc="upper left")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out, bbox_inches="tight")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
