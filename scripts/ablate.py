"""Ablation: switch the engine's methods off one at a time and score each variant.

    .venv/bin/python scripts/ablate.py ../shared/data/dev_questions.jsonl tests/data/*.jsonl

Prints a Markdown table (hit@1, hit@3, EM, F1, refusals, false refusals) per question file.
Variants are made by settings where the engine has them, and by patching a module-level
function for the rest (this script only; the library has no switches for them).
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from dataclasses import replace
from unittest import mock

from qa import lexicon, query
from qa.engine import Engine
from qa.evaluate import evaluate, load_questions
from qa.retrieve import RetrievalSettings

FULL = RetrievalSettings()


@contextlib.contextmanager
def nothing() -> Iterator[None]:
    yield


def patched(target: object, name: str, value: object) -> Callable[[], contextlib.AbstractContextManager[None]]:
    return lambda: mock.patch.object(target, name, value)


VARIANTS: list[tuple[str, RetrievalSettings, Callable[[], contextlib.AbstractContextManager[object]]]] = [
    (
        "dense only (no BM25, no rerank)",
        replace(FULL, bm25_weight=0.0, w_coverage=0, w_period=0, w_bigram=0, w_dense=0),
        nothing,
    ),
    (
        "BM25 only (no dense, no rerank)",
        replace(FULL, dense_weight=0.0, w_coverage=0, w_period=0, w_bigram=0, w_dense=0),
        nothing,
    ),
    ("RRF fusion, no rerank", replace(FULL, w_coverage=0, w_period=0, w_bigram=0, w_dense=0), nothing),
    ("full minus topic coverage", replace(FULL, w_coverage=0), nothing),
    ("full minus section year", replace(FULL, w_period=0), nothing),
    ("full minus char bigrams (rerank + reader)", FULL, patched(query, "char_bigrams", lambda *args, **kwargs: ())),
    ("full minus report-term vocabulary", FULL, patched(lexicon, "ZH_EQUIVALENTS", ())),
    ("full minus English glossary", FULL, patched(lexicon, "_EN_PHRASES", [])),
    ("full", FULL, nothing),
]


def main(paths: list[str]) -> None:
    engine = Engine.load("index")
    sets = {path: load_questions(path) for path in paths}
    print("| variant | set | hit@1 | hit@3 | EM | F1 | refusals | false refusals |")
    print("|---|---|---|---|---|---|---|---|")
    for name, settings, context in VARIANTS:
        engine.settings = settings
        with context():
            for path, items in sets.items():
                s = evaluate(engine, items).summary()
                print(
                    f"| {name} | {path.rsplit('/', 1)[-1]} | {s['hit@1']:.3f} | {s['hit@3']:.3f} | "
                    f"{s['em']:.3f} | {s['f1']:.3f} | {s.get('refusals_unanswerable', 0):.2f} | "
                    f"{s['false_refusals']:.3f} |"
                )
    engine.settings = FULL


if __name__ == "__main__":
    main(sys.argv[1:] or ["../shared/data/dev_questions.jsonl"])
