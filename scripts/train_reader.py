"""`make train-reader`: fit the reader (span scorer, confidence, threshold) on written training questions.

Every question of ``data/train`` (written by hand, kept apart from every evaluation set) is
asked through the engine; every candidate span of the passages it reads is recorded with its
features (``qa.reader.FEATURES``) and whether it is a gold answer from the gold report.
``ReaderModel.fit`` learns which candidate answers (a conditional logit), whether to trust it
(gradient-boosted trees, calibrated by isotonic regression on cross-fitted predictions) and two
abstention thresholds: the default one does users the most good on the cross-fitted questions
(a right answer or a right refusal gains one, a wrong answer costs ``--wrong-cost``), the
strict one (``--strict``) is the lowest confidence at which at most 5 % of the cross-fitted
answers given are wrong. The model is written to ``qa/models/reader.json`` with a card: training data,
date, cross-fitted figures and the figures on the held-out sets of ``tests/data``. CI does not
retrain; the file ships with the package. Usage:

    python scripts/train_reader.py [--dry-run] [--wrong-share 0.05] [--l2 1.0]
"""

from __future__ import annotations

import argparse
import datetime
from dataclasses import replace
import re
import sys
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

from eval_all import SETS, ensure_index  # noqa: E402
from reader_audit import corpus_of  # noqa: E402


def engine_for(corpus: str, model: Any = None) -> Any:
    """An engine over the corpus's cached index, reading with ``model`` (the shipped one by default)."""
    from qa.embed import load_embedder
    from qa.engine import Engine
    from qa.index import load_index
    from qa.reader import ReaderModel

    index = load_index(ensure_index(corpus))
    if model is None:
        try:
            model = ReaderModel.load()
        except ValueError:  # none yet, or fitted on other features: record with an untrained one
            model = ReaderModel.untrained()
    return Engine(index, load_embedder(index.model_id), reader_model=model)


FOLD_MODELS = ROOT / ".span" / "folds"
AUDIT = ROOT / "data" / "audit"  # questions by other writers: never trained on, read for the calibration


NEURAL = [False]  # --neural: fit the reader that reads with the neural span model too


def fold_model(doc: str) -> Any:
    """With --neural: the span model that never saw this report's training questions (``make
    train-span`` writes one per fold of reports), else the shipped one. Without: None."""
    from span_data import fold_of

    from qa.encoder import SpanScorer

    if not NEURAL[0]:
        return None
    path = FOLD_MODELS / f"span-fold{fold_of(doc)}.npz"
    return SpanScorer.load(path) if doc and path.exists() else SpanScorer.load()


def record(
    engine: Any, items: list[dict[str, Any]], hide_evidence: bool = False
) -> list[tuple[np.ndarray, list[bool], list[str]]]:
    """Per question: its candidates' features, whether each is a gold answer, their texts.

    Questions asked in turn (a follow-up gets the previous turn as history); a question the
    engine answers without reading (report facts, comparisons, out-of-scope) has no candidates.
    With ``hide_evidence`` the passages holding a question's evidence are taken out of what the
    retriever returns: the question becomes one the reports do not answer (so the confidence
    learns what reading without the answer looks like).
    """
    import qa.engine
    from qa.evaluate import evaluate, normalize_answer, same_doc
    from qa.reader import FEATURES, gather
    from qa.text import normalize

    seen: dict[str, list[Any]] = {}
    current: list[str] = [""]
    read, ask, retrieve = engine._read, engine.ask, qa.engine.retrieve
    evidence = {i["question"]: normalize(re.sub(r"\s", "", i.get("evidence") or "")) for i in items}

    def retrieving(*args: Any, **kwargs: Any) -> Any:
        ranked = retrieve(*args, **kwargs)
        hidden = evidence.get(current[0], "")
        if hide_evidence and hidden:
            ranked = [
                s for s in ranked if hidden not in re.sub(r"\s", "", normalize(engine.index.chunks[s.position].text))
            ]
        return ranked

    docs = {i["question"]: i.get("doc") or "" for i in items}

    def reading(q: Any, ranked: Any) -> Any:
        neural = fold_model(docs.get(current[0], ""))
        seen.setdefault(current[0], []).append(gather(engine.index, q, ranked, engine._foreign_places(q), neural))
        return read(q, ranked)

    def asking(question: str, *args: Any, **kwargs: Any) -> Any:
        current[0] = question
        seen.pop(question, None)
        return ask(question, *args, **kwargs)

    engine._read, engine.ask, qa.engine.retrieve = reading, asking, retrieving
    try:
        evaluate(engine, items)
    finally:
        engine._read, engine.ask, qa.engine.retrieve = read, ask, retrieve
    out = []
    for item in items:
        reads = seen.get(item["question"], [])
        found = reads[0] if len(reads) == 1 else []  # a comparison reads each report: not one span
        golds = {normalize_answer(g) for g in item["answers"]}
        labels = []
        for c in found:
            chunk = engine.index.chunks[c.reading.scored.position]
            span = chunk.text[c.reading.span.start : c.reading.span.end]
            labels.append(normalize_answer(span) in golds and same_doc(chunk.doc, item.get("doc") or chunk.doc))
        features = np.array([c.features for c in found], dtype=float).reshape(-1, len(FEATURES))
        out.append((features, labels, [c.text for c in found]))
    return out


def record_external(limit: int, seed: int = 1) -> list[tuple[np.ndarray, list[bool], list[str]]]:
    """Candidates and labels for general Chinese reading (``limit`` questions of each development
    part: DRCD dev, CMRC's even articles; never evaluated on), each question read from its own
    paragraph as ``scripts/external_eval.py`` reads the held-out parts."""
    from external_eval import DEVELOPMENT, EXTERNAL, paragraph_reading, sample, span_text

    from qa.evaluate import normalize_answer
    from qa.reader import FEATURES, ReaderModel, gather

    items = [
        item
        for name, articles in DEVELOPMENT.items()
        for item in sample(EXTERNAL / f"{name}.json", limit, seed, articles=articles)
    ]
    out = []
    with paragraph_reading(items, ReaderModel.untrained()) as (engine, passages):
        for paragraph, question, answers in items:
            q, ranked = passages(paragraph, question)
            found = gather(engine.index, q, ranked, (), fold_model(""))
            golds = {normalize_answer(a) for a in answers}
            labels = [normalize_answer(span_text(engine.index, c)) in golds for c in found]
            features = np.array([c.features for c in found], dtype=float).reshape(-1, len(FEATURES))
            out.append((features, labels, [c.text for c in found]))
    return out


def held_out_figures(model: Any) -> dict[str, Any]:
    """End-to-end figures on every held-out set of tests/data with ``model`` reading."""
    from qa.evaluate import evaluate, load_questions

    engines: dict[str, Any] = {}
    out: dict[str, Any] = {}
    given: list[tuple[float, bool]] = []
    for name, (path, corpus, held_out) in SETS.items():
        if not held_out or not path.is_file():
            continue
        if corpus not in engines:
            engines[corpus] = engine_for(corpus, model)
        report = evaluate(engines[corpus], load_questions(path))
        summary = report.summary()
        out[name] = {k: round(summary[k], 3) for k in ("em", "f1", "false_refusals") if k in summary}
        given += [(r.confidence, r.em == 1) for r in report.rows if r.found]
    from external_eval import EXTERNAL, HELD_OUT, sample, score

    for name, articles in HELD_OUT.items():
        items = sample(EXTERNAL / f"{name}.json", 400, articles=articles)
        out[f"external {name}, {articles} articles (given paragraph)"] = {
            k: v for k, v in score(name, items, model).items() if k != "set"
        }
    out["all held-out: answers given"] = len(given)
    out["all held-out: wrong"] = round(sum(not ok for _, ok in given) / max(len(given), 1), 3)
    out["all held-out: wrong at confidence >= 0.8"] = round(
        sum(not ok and c >= 0.8 for c, ok in given) / max(len(given), 1), 3
    )
    return out


def main() -> int:
    from qa.evaluate import load_questions
    from qa.reader import MODEL_FILE, NEURAL_MODEL_FILE, ReaderModel

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dry-run", action="store_true", help="fit and report, do not write the model")
    parser.add_argument(
        "--neural", action="store_true", help="the reader that also reads with the span model (reader-neural.json)"
    )
    parser.add_argument("--wrong-share", type=float, default=0.05, help="answers given that may be wrong")
    parser.add_argument("--wrong-cost", type=float, default=0.5, help="cost of a wrong answer (a right one gains 1)")
    parser.add_argument("--l2", type=float, default=1.0, help="L2 penalty of the span scorer")
    parser.add_argument("--repeats", type=int, default=5, help="cross-fittings over different splits")
    parser.add_argument("--seed", type=int, default=0, help="seed of the first split (a refit's noise: try another)")
    parser.add_argument(
        "--no-audit",
        dest="calibrate_on_audit",
        action="store_false",
        help="calibrate on the cross-fitted training questions alone, not also on data/audit",
    )
    parser.add_argument(
        "--external",
        type=int,
        default=0,
        help="questions of each external development part (DRCD dev, CMRC even articles) to train on as well",
    )
    args = parser.parse_args()
    NEURAL[0] = args.neural
    files = sorted((ROOT / "data" / "train").glob("train_*.jsonl"))
    items = [item for f in files for item in load_questions(f)]
    questions, hidden, order = [], [], []
    for corpus in sorted({corpus_of(i["doc"]) for i in items}):
        engine = engine_for(corpus)
        group = [i for i in items if corpus_of(i["doc"]) == corpus]
        questions += record(engine, group)
        order += group
        hidden += [q for q, i in zip(record(engine, group, hide_evidence=True), group, strict=True) if i["answers"]]
    external = record_external(args.external) if args.external else []
    audit = [item for f in sorted(AUDIT.glob("*.jsonl")) if args.calibrate_on_audit for item in load_questions(f)]
    calibrate_on = []
    for corpus in sorted({corpus_of(i["doc"]) for i in audit}):
        group = [i for i in audit if corpus_of(i["doc"]) == corpus]
        calibrate_on += list(zip(record(engine_for(corpus), group), group, strict=True))
    model, held = ReaderModel.fit(
        questions,
        hidden + external,
        [bool(i["answers"]) for i in order],
        l2=args.l2,
        wrong_share=args.wrong_share,
        wrong_cost=args.wrong_cost,
        repeats=args.repeats,
        seed=args.seed,
        groups=[i["doc"] for i in order] + [i["doc"] for i in order if i["answers"]] + ["external"] * len(external),
        calibrate_on=[read for read, _ in calibrate_on],
        calibrate_answerable=[bool(i["answers"]) for _, i in calibrate_on],
    )
    answerable = sum(bool(i["answers"]) for i in items)
    n = args.repeats  # every question is in ``held`` once per repeat
    given = [(c, ok) for c, ok in held if c >= model.threshold]
    strict = [(c, ok) for c, ok in held if c >= model.strict_threshold]
    card: dict[str, Any] = {
        "what": "span: conditional logit over candidate features"
        + (" (the neural span model's log-probabilities, qa/models/span.npz, among them)" if args.neural else "")
        + "; confidence: gradient-boosted trees (LightGBM) "
        "over the best span's evidence, calibrated by centred isotonic regression on cross-fitted predictions",
        "training data": f"data/train/train_*.jsonl: {len(items)} written questions ({answerable} answerable), "
        f"and the {len(hidden)} answerable ones again with their evidence passages hidden (answer: none)",
        "calibration data": "the cross-fitted training questions"
        + (
            f" and the {len(calibrate_on)} questions of data/audit (other writers, mostly why/how/which; "
            "never trained on), read by the fitted model"
            if calibrate_on
            else ""
        ),
        "fitted": datetime.date.today().isoformat(),
        "command": "make train-reader",
        "l2": args.l2,
        "threshold": f"{model.threshold}: the confidence that gets the most cross-fitted questions right "
        "(gain averaged over ±0.05 of it)",
        "strict threshold (--strict)": f"{model.strict_threshold}: the lowest confidence with at most "
        f"{args.wrong_share:.0%} of cross-fitted answers wrong",
        f"cross-fitted (5 folds by report, {n} splits, data/train)": {
            "candidate recall": round(sum(any(y) for _, y, _ in questions) / max(answerable, 1), 3),
            "top-1 right": round(sum(ok for _, ok in held) / n / max(answerable, 1), 3),
            "answered at threshold": round(len(given) / n / len(items), 3),
            "wrong among answered": round(sum(not ok for _, ok in given) / max(len(given), 1), 3),
            "answered at strict threshold": round(len(strict) / n / len(items), 3),
            "wrong among answered, strict": round(sum(not ok for _, ok in strict) / max(len(strict), 1), 3),
        },
    }
    card["misfit share"] = f"{model.misfit_share}: the most a figure in a unit the question does not ask for is trusted"
    model = replace(model, card=card, neural=args.neural)
    card["held-out (tests/data)"] = held_out_figures(model)
    for key, value in card.items():
        print(f"{key}: {value}")
    if not args.dry_run:
        path = NEURAL_MODEL_FILE if args.neural else MODEL_FILE
        model.save(path)
        print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
