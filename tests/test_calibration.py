"""The reader's confidence calibration: the fitted map, its file and its use by the engine."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from qa.reader import CALIBRATION_FILE, Calibration


def test_fit_is_monotone_and_bounded() -> None:
    raw = [0.1, 0.2, 0.3, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99]
    right = [False, False, True, False, True, True, False, True, True, True]
    calibration = Calibration.fit(raw, right)
    mapped = [calibration(x / 100) for x in range(101)]
    assert mapped == sorted(mapped)
    assert min(mapped) >= 0.0 and max(mapped) <= 1.0
    assert calibration(0.99) > calibration(0.1)


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    calibration = Calibration((0.2, 0.9), (0.1, 0.8), {"training data": "fake"})
    path = tmp_path / "calibration.json"
    calibration.save(path)
    loaded = Calibration.load(path)
    assert loaded == calibration and loaded.card == {"training data": "fake"}
    assert not list(tmp_path.glob("*.tmp"))  # written to a temp file, renamed into place


def test_missing_file_is_the_identity(tmp_path: Path) -> None:
    calibration = Calibration.load(tmp_path / "none.json")
    assert calibration(0.37) == 0.37


def test_another_format_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "calibration.json"
    path.write_text(json.dumps({"format": 99, "raw": [0.1], "probability": [0.2]}), encoding="utf-8")
    with pytest.raises(ValueError, match="format"):
        Calibration.load(path)


def test_shipped_calibration_has_a_card() -> None:
    calibration = Calibration.load(CALIBRATION_FILE)
    assert calibration.raw, "qa/models/confidence-calibration.json ships with the package (make calibrate)"
    assert "data/train" in calibration.card["training data"]
    assert calibration.card["held-out (tests/data, 5 sets) calibrated"]["answered"] > 0
    assert list(calibration.probability) == sorted(calibration.probability)
