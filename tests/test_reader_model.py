"""The reader's fitted model: fitting on labelled candidates, its file, its use by the engine."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from qa.reader import (
    CONFIDENCE_FEATURES,
    FEATURES,
    MODEL_FILE,
    Calibration,
    ReaderModel,
    choose_threshold,
    most_right_threshold,
)

pytest.importorskip("sklearn")
pytest.importorskip("scipy")


def synthetic_questions(n: int, seed: int = 0) -> list[tuple[np.ndarray, list[bool], list[str]]]:
    """Questions whose gold candidate has the highest 'support' (plus noise); a tenth have none."""
    rng = np.random.default_rng(seed)
    support = FEATURES.index("support")
    out = []
    for q in range(n):
        x = rng.normal(size=(6, len(FEATURES)))
        gold = int(rng.integers(6))
        answered = q % 10 != 0
        x[gold, support] += 3.0 if answered else 0.0  # an unanswered question has no standout candidate
        labels = [i == gold and answered for i in range(6)]
        out.append((x, labels, [f"{q}-{i}" for i in range(6)]))
    return out


@pytest.fixture(scope="module")
def fitted() -> tuple[ReaderModel, list[tuple[float, bool]]]:
    return ReaderModel.fit(synthetic_questions(150), synthetic_questions(40, seed=1), folds=3)


def test_fit_learns_which_feature_marks_the_answer(fitted: tuple[ReaderModel, list[tuple[float, bool]]]) -> None:
    model, _ = fitted
    weights = np.array(model.span.weights) / np.array(model.span.scale)
    assert int(np.argmax(weights)) == FEATURES.index("support")
    test = synthetic_questions(100, seed=2)
    right = sum(labels[int(np.argmax(model.span_scores(x)))] for x, labels, _ in test if any(labels))
    assert right / sum(any(labels) for _, labels, _ in test) > 0.8


def test_cross_fitted_confidence_is_calibrated_and_thresholds_hold(
    fitted: tuple[ReaderModel, list[tuple[float, bool]]],
) -> None:
    model, held = fitted
    assert len(held) == 150  # every real question read, none of the unanswered extras
    assert 0.0 <= model.threshold <= model.strict_threshold <= 1.0
    given = [ok for c, ok in held if c >= model.strict_threshold]
    assert given and sum(not ok for ok in given) / len(given) <= 0.05
    probabilities = list(model.calibration.probability)
    assert probabilities == sorted(probabilities) and 0.0 <= probabilities[0] <= probabilities[-1] <= 1.0


def test_save_and_load_round_trip(tmp_path: Path, fitted: tuple[ReaderModel, list[tuple[float, bool]]]) -> None:
    model, _ = fitted
    path = tmp_path / "reader.json"
    ReaderModel(model.span, model.trust, model.calibration, model.strict_threshold, 0.3, {"training data": "x"}).save(
        path
    )
    loaded = ReaderModel.load(path)
    assert loaded.card == {"training data": "x"} and loaded.threshold == 0.3
    x = synthetic_questions(1, seed=3)[0][0]
    assert np.allclose(loaded.span_scores(x), model.span_scores(x))
    evidence = np.zeros(len(CONFIDENCE_FEATURES))
    assert loaded.confidence(evidence) == model.confidence(evidence)


def test_load_refuses_a_missing_file_another_format_or_other_features(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="make train-reader"):
        ReaderModel.load(tmp_path / "none.json")
    data = json.loads(MODEL_FILE.read_text(encoding="utf-8"))
    for change, message in (({"format": 99}, "format 99"), ({"features": ["x"]}, "other features")):
        path = tmp_path / f"{message}.json"
        path.write_text(json.dumps(data | change), encoding="utf-8")
        with pytest.raises(ValueError, match=message):
            ReaderModel.load(path)


def test_shipped_model_has_a_card_and_held_out_figures() -> None:
    model = ReaderModel.load()
    assert "data/train" in model.card["training data"]
    assert model.card["held-out (tests/data)"]["all held-out: answers given"] > 0
    assert 0.0 < model.threshold < model.strict_threshold < 1.0
    assert MODEL_FILE.stat().st_size < 1_000_000  # a small file that ships with the package (5 × 150 small trees)


def test_thresholds() -> None:
    assert choose_threshold([(0.9, True), (0.5, False)], 0.0) == 0.9
    # any threshold in (0.3, 0.9] answers the right one and refuses the other: the middle is kept
    assert 0.3 < most_right_threshold([(0.9, True, True), (0.3, False, False)]) <= 0.9
    assert Calibration((), ())(0.37) == 0.37


def test_untrained_model_scores_every_candidate_alike() -> None:
    model = ReaderModel.untrained()
    assert np.all(model.span_scores(np.ones((3, len(FEATURES)))) == 0.0)


def test_engine_refuses_below_its_threshold(engine) -> None:  # type: ignore[no-untyped-def]
    question = "2016年天津全市生产总值增长多少？"
    answer = engine.ask(question)
    assert answer.found and answer.confidence >= engine.min_confidence
    try:
        engine.min_confidence = 1.01
        refused = engine.ask(question)
        assert not refused.found and refused.reason
    finally:
        engine.min_confidence = engine.reader_model.threshold


def test_an_answer_in_a_unit_not_asked_for_is_trusted_at_most_the_misfit_share() -> None:
    from dataclasses import replace

    from qa.reader import CONFIDENCE_FEATURES, MISFIT, ReaderModel

    model = replace(ReaderModel.untrained(), misfit_share=0.08)
    evidence = [0.0] * len(CONFIDENCE_FEATURES)
    assert model.confidence(evidence) == 0.5
    evidence[MISFIT] = 1.0
    assert model.confidence(evidence) == 0.08


def test_fit_keeps_a_report_in_one_fold_and_calibrates_names_apart(tmp_path: Path) -> None:
    questions = synthetic_questions(60)
    slot = FEATURES.index("question=slot")
    for x, _, _ in questions[::2]:  # every other question asks for a name
        x[:, slot] = 1.0
    with pytest.raises(ValueError, match="groups"):
        ReaderModel.fit(questions, groups=["a"])
    reports = [f"report {i % 6}" for i in range(len(questions))]
    model, held = ReaderModel.fit(questions, folds=3, groups=reports)
    assert len(held) == 60 and model.name_calibration is not None
    model.save(tmp_path / "reader.json")
    assert ReaderModel.load(tmp_path / "reader.json").name_calibration == model.name_calibration


def test_questions_kept_out_of_the_fitting_join_the_calibration_only() -> None:
    """Questions written otherwise, whose best candidate is seldom the answer, make the model
    less sure: the span scorer and the trust trees stay those fitted on the training questions."""
    questions = synthetic_questions(120)
    other = synthetic_questions(60, seed=3)
    wrong = [(x, [False] * len(labels), texts) for x, labels, texts in other]  # none of their answers are right
    plain, held = ReaderModel.fit(questions, folds=3)
    humbled, held_too = ReaderModel.fit(questions, folds=3, calibrate_on=wrong, calibrate_answerable=[True] * 60)
    assert humbled.span == plain.span  # fitted alike
    assert [ok for _, ok in held_too] == [ok for _, ok in held]  # cross-fitted alike; only their confidence moves
    evidence = [plain.confidence(choose_evidence(plain, x, texts)) for x, _, texts in questions[:30]]
    lowered = [humbled.confidence(choose_evidence(humbled, x, texts)) for x, _, texts in questions[:30]]
    assert np.mean(lowered) < np.mean(evidence)
    with pytest.raises(ValueError):
        ReaderModel.fit(questions, folds=3, calibrate_on=wrong, calibrate_answerable=[True])


def choose_evidence(model: ReaderModel, x: np.ndarray, texts: list[str]) -> tuple[float, ...]:
    from qa.reader import choose

    return choose(x, texts, model.span_scores(x))[1]


def test_paired_figures_of_a_fenbie_question() -> None:
    from qa.query import analyse
    from qa.reader import number_spans, paired_figures

    norm = "一产、二产、三产增加值分别增长5.5%左右、6%左右、5%左右"
    q = analyse("一产、二产、三产增加值分别预期增长多少？")
    spans = paired_figures(norm, number_spans(norm), q, lambda a, b: 0.5)
    assert [norm[s.start : s.end] for s in spans] == ["5.5%左右、6%左右", "5.5%左右、6%左右、5%左右", "6%左右、5%左右"]
