"""The reader on general Chinese reading comprehension: CMRC 2018 trial and DRCD (held-out parts).

Each question is read from its own given paragraph, as the issue asks ("reading the given
paragraph"): the paragraphs are indexed (hash embedder: no model, the passage ranking inside a
paragraph barely matters), the question is analysed as the engine does, retrieval is confined to
its paragraph and the reader picks its best span. Reported per set: EM and F1 of the best span
(always answering), candidate recall (the gold answer is one of the candidate spans), and the
share answered at the reader's threshold with their EM. Nothing here is trained on. Usage:

    python scripts/external_eval.py [--limit 400] [--development] [--neural]

Held out: DRCD test and the odd-numbered articles of CMRC 2018 trial. Development (what may be
looked at, and trained on): DRCD dev and the even-numbered CMRC articles.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import random
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
EXTERNAL = ROOT.parent / "shared" / "data" / "external"


# CMRC 2018 has one file here: its even-numbered articles are for development and training,
# its odd ones are held out. DRCD has two files: dev for development and training, test held out.
HELD_OUT = {"cmrc2018_trial": "odd", "drcd_test": "all"}
DEVELOPMENT = {"cmrc2018_trial": "even", "drcd_dev": "all"}


def squad_items(path: Path, articles: str = "all") -> list[tuple[str, str, list[tuple[int, str]]]]:
    """(paragraph, question, [(answer start, answer text)]) of the answerable questions of the
    ``articles`` of a SQuAD-format file: all, even or odd (by their order in the file)."""
    data = json.loads(path.read_text(encoding="utf-8"))["data"]
    keep = {"all": lambda i: True, "even": lambda i: i % 2 == 0, "odd": lambda i: i % 2 == 1}[articles]
    return [
        (p["context"], qa["question"], [(a["answer_start"], a["text"]) for a in qa["answers"]])
        for i, article in enumerate(data)
        if keep(i)
        for p in article["paragraphs"]
        for qa in p["qas"]
        if qa["answers"]
    ]


def sample(path: Path, limit: int, seed: int = 0, articles: str = "all") -> list[tuple[str, str, list[str]]]:
    """(paragraph, question, answers) for ``limit`` questions drawn at random (fixed seed) from
    the ``articles`` of the file (see ``squad_items``)."""
    items = squad_items(path, articles)
    random.Random(seed).shuffle(items)
    return [(paragraph, question, [text for _, text in answers]) for paragraph, question, answers in items[:limit]]


@contextlib.contextmanager
def paragraph_reading(items: list[tuple[str, str, list[str]]], model: Any = None) -> Iterator[tuple[Any, Any]]:
    """An engine over the items' paragraphs (hash embedder: no model; which passage of one
    paragraph ranks first barely matters) and ``passages(paragraph, question)``: the analysed
    question and its passages ranked within its own paragraph only."""
    from qa.embed import load_embedder
    from qa.engine import Engine
    from qa.index import build_index, load_index
    from qa.retrieve import retrieve

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "paragraphs"
        folder.mkdir()
        names = {p: f"p{i:05d}.txt" for i, p in enumerate(dict.fromkeys(p for p, _, _ in items))}
        for paragraph, name in names.items():
            (folder / name).write_text(paragraph, encoding="utf-8")
        build_index([folder], Path(tmp) / "index", model_id="fake:hash-64")
        index = load_index(Path(tmp) / "index")
        engine = Engine(index, load_embedder(index.model_id), reader_model=model)
        by_doc: dict[str, list[int]] = {}
        for position, chunk in enumerate(index.chunks):
            by_doc.setdefault(Path(chunk.doc).name, []).append(position)

        def passages(paragraph: str, question: str) -> tuple[Any, list[Any]]:
            q = engine.analyse(question)
            positions = np.array(by_doc.get(names[paragraph], []), dtype=np.int64)
            return q, retrieve(index, engine.embedder, q, 6, engine.settings, positions=positions)

        yield engine, passages


def span_text(index: Any, candidate: Any) -> str:
    """A candidate's span as it stands in its passage."""
    return str(
        index.chunks[candidate.reading.scored.position].text[candidate.reading.span.start : candidate.reading.span.end]
    )


def score(name: str, items: list[tuple[str, str, list[str]]], model: Any = None) -> dict[str, Any]:
    from qa.encoder import SpanScorer
    from qa.evaluate import em, f1, normalize_answer
    from qa.reader import gather, read

    with paragraph_reading(items, model) as (engine, passages):
        index = engine.index
        rows = []
        started = time.perf_counter()
        for paragraph, question, answers in items:
            q, ranked = passages(paragraph, question)
            reading = read(index, q, ranked, (), engine.reader_model)
            found = gather(index, q, ranked, (), SpanScorer.load() if engine.reader_model.neural else None)
            golds = {normalize_answer(a) for a in answers}
            recall = any(normalize_answer(span_text(index, c)) in golds for c in found)
            answer, confidence = "", 0.0
            if reading is not None:
                chunk = index.chunks[reading.scored.position]
                answer = chunk.text[reading.span.start : reading.span.end]
                confidence = engine.reader_model.confidence(reading.evidence)
            rows.append(
                (
                    max(em(answer, a) for a in answers),
                    max(f1(answer, a) for a in answers),
                    recall,
                    confidence >= engine.min_confidence,
                )
            )
        seconds = time.perf_counter() - started
    n = len(rows)
    answered = [r for r in rows if r[3]]
    return {
        "set": name,
        "questions": n,
        "em": round(sum(r[0] for r in rows) / n, 3),
        "f1": round(sum(r[1] for r in rows) / n, 3),
        "candidate recall": round(sum(r[2] for r in rows) / n, 3),
        "answered at threshold": round(len(answered) / n, 3),
        "em of answered": round(sum(r[0] for r in answered) / max(len(answered), 1), 3),
        "ms per question": round(1000 * seconds / n, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=400, help="questions per set (random, fixed seed)")
    parser.add_argument("--development", action="store_true", help="score the development parts instead")
    parser.add_argument("--neural", action="store_true", help="the reader that reads with the span model too")
    args = parser.parse_args()
    from qa.reader import MODEL_FILE, NEURAL_MODEL_FILE, ReaderModel

    model = ReaderModel.load(NEURAL_MODEL_FILE if args.neural else MODEL_FILE)
    parts = DEVELOPMENT if args.development else HELD_OUT
    for name, articles in parts.items():
        path = EXTERNAL / f"{name}.json"
        if not path.is_file():
            print(f"{path}: not found", file=sys.stderr)
            return 1
        print(score(f"{name} ({articles} articles)", sample(path, args.limit, articles=articles), model))
    return 0


if __name__ == "__main__":
    sys.exit(main())
