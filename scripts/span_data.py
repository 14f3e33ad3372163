"""Training and held-out data for the neural span head (``scripts/span_train.py``), in ``.span/``.

Each example is one reading as the reader does it at run time: ``<s> question </s></s> passage
</s>`` in e5-small's tokens (``qa.encoder``), with the answer's first and last token, or 0 (the
``<s>`` slot) when the passage does not hold the answer. Training: the external development
parts (DRCD dev, CMRC 2018's even articles) and the written report questions of ``data/train``
read from the passages the engine retrieves for them. Held out (scored by span_train, never
trained on): DRCD test and CMRC's odd articles, the same 400 + 400 questions that
``scripts/external_eval.py`` samples. The encoder's packed weights travel along (4-bit, the rows
of the vocabulary the examples use), so training needs nothing but this folder and torch.

    python scripts/span_data.py          # writes .span/{weights,train,heldout}.npz
"""

from __future__ import annotations

import json
import random
import re
import sys
import zlib
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
OUT = ROOT / ".span"
QUESTION_TOKENS = 48


FOLDS = 5


def fold_of(doc: str) -> int:
    """The fold of a report's questions: the span model that scores them for the reader's
    training (scripts/train_reader.py) never saw them (fold models: span_train --folds)."""
    return zlib.crc32(Path(doc).name.encode("utf-8")) % FOLDS


def windows(
    q_ids: list[int],
    p_ids: list[int],
    p_spans: list[tuple[int, int]],
    answer: tuple[int, int] | None,
    stride: int = 128,
) -> list[tuple[list[int], list[tuple[int, int]], int, int]]:
    """Model inputs over the passage (windows when it is long): ids, each token's character
    range in the passage ((-1, -1) outside it), and the answer's start and end token (0, 0: none)."""
    from qa.encoder import MAX_TOKENS, packed

    tok = packed().tokenizer
    q_ids = q_ids[:QUESTION_TOKENS]
    head = [tok.bos, *q_ids, tok.eos, tok.eos]
    room = MAX_TOKENS - len(head) - 1
    out = []
    for a in range(0, max(len(p_ids) - room, 0) + 1, stride):
        part = slice(a, a + room)
        ids = head + p_ids[part] + [tok.eos]
        spans = [(-1, -1)] * len(head) + p_spans[part] + [(-1, -1)]
        start = end = 0
        if answer is not None:
            s, e = answer
            first = [i for i, (x, y) in enumerate(spans) if x <= s < y and y > x]
            last = [i for i, (x, y) in enumerate(spans) if x < e <= y and y > x]
            if first and last and first[0] <= last[0]:
                start, end = first[0], last[0]
        out.append((ids, spans, start, end))
        if a + room >= len(p_ids):
            break
    return out


def external(names: dict[str, str], limit: int | None) -> list[tuple[str, str, list[tuple[int, str]]]]:
    """(paragraph, question, [(answer start, answer text)]) of the given parts; with ``limit``,
    the questions ``external_eval.sample`` draws (same seed, same order)."""
    from external_eval import EXTERNAL, squad_items

    out = []
    for name, articles in names.items():
        items = squad_items(EXTERNAL / f"{name}.json", articles)
        if limit:
            random.Random(0).shuffle(items)
            items = items[:limit]
        out += items
    return out


def main() -> int:
    from external_eval import DEVELOPMENT, HELD_OUT
    from reader_audit import corpus_of
    from train_reader import engine_for

    from qa.encoder import packed
    from qa.evaluate import evaluate, load_questions
    from qa.text import normalize

    tok = packed().tokenizer
    rows: list[tuple[list[int], int, int, str]] = []
    rng = random.Random(0)

    def add(question: str, passage: str, answer: tuple[int, int] | None, source: str, keep_none: float) -> None:
        q_ids, _ = tok.encode(normalize(question))
        p_ids, p_spans = tok.encode(passage)
        for ids, _spans, s, e in windows(q_ids, p_ids, p_spans, answer):
            if s or rng.random() < keep_none:
                rows.append((ids, s, e, source))

    for paragraph, question, answers in external(DEVELOPMENT, None):
        norm = normalize(paragraph)
        start, text = answers[0]
        if norm[start : start + len(text)] != normalize(text):
            continue
        add(question, norm, (start, start + len(text)), "external", 0.3)
    print(f"external development: {len(rows)} windows", file=sys.stderr)

    items = [i for f in sorted((ROOT / "data" / "train").glob("train_*.jsonl")) for i in load_questions(f)]
    for corpus in sorted({corpus_of(i["doc"]) for i in items}):
        engine = engine_for(corpus)
        group = [i for i in items if corpus_of(i["doc"]) == corpus]
        seen: dict[str, tuple[str, list[str]]] = {}
        read = engine._read

        def reading(q: Any, ranked: Any, _read: Any = read, _engine: Any = engine, _seen: Any = seen) -> Any:
            question = normalize(q.readable) if q.readable else q.norm
            _seen[q.text] = (question, [_engine.index.chunks[s.position].text for s in ranked[:3]])
            return _read(q, ranked)

        engine._read = reading
        evaluate(engine, group)
        engine._read = read
        for item in group:
            if item["question"] not in seen:
                continue
            question, passages = seen[item["question"]]
            golds = [normalize(re.sub(r"\s", "", g)) for g in item["answers"]]
            for passage in passages:
                norm = normalize(passage)
                hit = next(((norm.find(g), len(g)) for g in golds if g and g in norm), None)
                add(question, norm, (hit[0], hit[0] + hit[1]) if hit else None, f"report:{fold_of(item['doc'])}", 0.5)
        print(f"+ {corpus}: {len(rows)} windows", file=sys.stderr)

    vocab = sorted({i for ids, *_ in rows for i in ids} | {tok.bos, tok.eos, tok.unk})
    held: list[tuple[list[int], list[tuple[int, int]], int, str]] = []
    golds_of: list[list[str]] = []
    contexts: list[str] = []
    for paragraph, question, answers in external(HELD_OUT, 400):
        norm = normalize(paragraph)
        q_ids, _ = tok.encode(normalize(question))
        p_ids, p_spans = tok.encode(norm)
        for ids, spans, _, _ in windows(q_ids, p_ids, p_spans, None):
            held.append((ids, spans, len(contexts), ""))
        contexts.append(norm)
        golds_of.append([normalize(t) for _, t in answers])
    vocab = sorted(set(vocab) | {i for ids, *_ in held for i in ids})
    compact = {v: k for k, v in enumerate(vocab)}

    def pad(seqs: list[list[int]]) -> np.ndarray:
        out = np.zeros((len(seqs), max(len(s) for s in seqs)), dtype=np.int32) - 1
        for r, s in enumerate(seqs):
            out[r, : len(s)] = [compact[i] for i in s]
        return out

    OUT.mkdir(exist_ok=True)
    np.savez(
        OUT / "train.npz",
        ids=pad([r[0] for r in rows]),
        start=np.array([r[1] for r in rows]),
        end=np.array([r[2] for r in rows]),
        report=np.array([r[3].startswith("report") for r in rows]),
        fold=np.array([int(r[3].split(":")[1]) if r[3].startswith("report") else -1 for r in rows]),
    )
    spans = np.full((len(held), max(len(h[0]) for h in held), 2), -1, dtype=np.int32)
    for r, h in enumerate(held):
        spans[r, : len(h[1])] = h[1]
    np.savez(OUT / "heldout.npz", ids=pad([h[0] for h in held]), spans=spans, example=np.array([h[2] for h in held]))
    (OUT / "heldout.json").write_text(json.dumps({"contexts": contexts, "golds": golds_of}, ensure_ascii=False))
    P = packed()
    tensors = {name.replace(".", "_"): P.raw(name) for name in P.names()}
    tensors["emb_word"] = tensors["emb_word"][vocab]
    np.savez(OUT / "weights.npz", vocab=np.array(vocab), **tensors)
    print(
        f"{len(rows)} training windows ({sum(r[3].startswith('report') for r in rows)} from reports, "
        f"{sum(r[1] > 0 for r in rows)} with an answer); {len(held)} held-out windows of {len(contexts)} "
        f"questions; vocabulary {len(vocab)}",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
