"""The --reader path: Engine.load(..., reader=FOLDER) and the CLI read answers with a transformers model.

The model is tiny and randomly initialised (built by test_hf_reader's fixture), so only the
wiring is checked: loading offline, a verbatim answer span with exact citation offsets.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from qa.cli import cli
from qa.documents import read_text
from qa.engine import Engine
from tests.test_hf_reader import tiny_model_dir  # noqa: F401  (module-scoped fixture)


def test_engine_reads_with_the_named_model(fake_index_dir: Path, seed_dir: Path, tiny_model_dir: Path) -> None:  # noqa: F811
    engine = Engine.load(fake_index_dir, reader=str(tiny_model_dir))
    assert engine.hf_reader is not None
    result = engine.ask("2017年天津生产总值预期增长多少？")
    assert 0.0 <= result.confidence <= 1.0
    if result.found:
        source = read_text(seed_dir / result.citation.doc)
        assert source[result.citation.start : result.citation.end] == result.answer
        assert result.answer in result.passages[0].chunk.text


def test_cli_ask_takes_a_reader(fake_index_dir: Path, tiny_model_dir: Path) -> None:  # noqa: F811
    outcome = CliRunner().invoke(
        cli,
        ["ask", "天津港货物吞吐量是多少？", "--index", str(fake_index_dir), "--reader", str(tiny_model_dir), "--json"],
    )
    assert outcome.exit_code == 0, outcome.output
    assert '"passages"' in outcome.output


def test_missing_reader_model_is_a_one_line_error(fake_index_dir: Path, tmp_path: Path) -> None:
    outcome = CliRunner().invoke(
        cli, ["ask", "问题", "--index", str(fake_index_dir), "--reader", str(tmp_path / "none")]
    )
    assert outcome.exit_code == 1
    assert "reader model" in outcome.output
    assert "Traceback" not in outcome.output


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
