"""The `qa` command line: build summary, ask (text and JSON), eval metrics, one-line errors on bad input."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from qa.cli import cli

ROOT = Path(__file__).resolve().parents[1]
DEV = ROOT.parent / "shared" / "data" / "dev_questions.jsonl"
SUMMARY = re.compile(
    r"^built (?P<index>.+): (?P<files>\d+) file\(s\), (?P<chunks>\d+) chunks, (?P<dups>\d+) repeated paragraphs "
    r"skipped, (?P<embedded>\d+) chunks embedded, (?P<cached>\d+) from cache, \d+\.\d s$"
)


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def assert_one_line_error(result: Result, *words: str) -> str:
    assert result.exit_code != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    assert "Traceback" not in result.output
    for word in words:
        assert word in lines[0]
    return lines[0]


# --- build ----------------------------------------------------------------------------------------------


def test_build_prints_a_summary_line_and_reuses_the_cache(seed_dir: Path, tmp_path: Path) -> None:
    index = tmp_path / "idx"
    result = run("build", str(seed_dir), "--index", str(index), "--model", "fake:hash-64", "-q")
    assert result.exit_code == 0, result.output
    match = SUMMARY.match(result.stdout.strip())
    assert match, result.stdout
    assert match["index"] == str(index)
    assert (match["files"], match["dups"]) == ("1", "420")
    assert match["embedded"] == match["chunks"] and match["cached"] == "0"
    again = SUMMARY.match(
        run("build", str(seed_dir), "--index", str(index), "--model", "fake:hash-64", "-q").stdout.strip()
    )
    assert again and again["embedded"] == "0" and again["cached"] == match["chunks"]
    assert (index / "manifest.json").is_file()


def test_build_max_chars_changes_the_chunking(seed_dir: Path, tmp_path: Path) -> None:
    result = run(
        "build", str(seed_dir), "--index", str(tmp_path / "i"), "--model", "fake:hash-16", "--max-chars", "60", "-q"
    )
    match = SUMMARY.match(result.stdout.strip())
    assert match and int(match["chunks"]) > 157
    manifest = json.loads((tmp_path / "i" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["chunker"]["max_chars"] == 60


def test_build_refuses_a_missing_source(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli, ["build", str(tmp_path / "nope"), "--index", str(tmp_path / "i"), "--model", "fake:hash-8"]
    )
    assert_one_line_error(result, "nope")
    assert not (tmp_path / "i").exists()


def test_build_names_an_undecodable_file_and_skips_it_only_when_asked(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "good.txt").write_text("某市报告\n一、2016年回顾\n　　收入增长10%。\n", encoding="utf-8")
    (src / "junk.txt").write_bytes(b"\xff\xfe\xfd\x80 junk \xff")
    args = ["build", str(src), "--index", str(tmp_path / "i"), "--model", "fake:hash-8", "-q"]
    assert_one_line_error(CliRunner().invoke(cli, args), "junk.txt", "--skip-errors")
    result = CliRunner().invoke(cli, [*args, "--skip-errors"])
    assert result.exit_code == 0
    assert "skipped:" in result.stderr and "junk.txt" in result.stderr
    assert SUMMARY.match(result.stdout.strip())


def test_build_refuses_an_unknown_model(seed_dir: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli, ["build", str(seed_dir), "--index", str(tmp_path / "i"), "--model", str(tmp_path / "no-such-model")]
    )
    assert_one_line_error(result, "no-such-model")


# --- ask ------------------------------------------------------------------------------------------------


def test_ask_json_has_the_contract_keys(real_index_dir: Path, seed_dir: Path) -> None:
    result = run("ask", "2016年天津一般公共预算收入是多少？", "--index", str(real_index_dir), "--json", "-k", "2")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert set(data) == {"question", "found", "answer", "confidence", "citation", "passages", "reason", "mode"}
    assert data["found"] is True and data["answer"] == "2723亿元"
    c = data["citation"]
    text = (seed_dir / c["doc"]).read_text(encoding="utf-8")
    assert text[c["start"] : c["end"]] == "2723亿元"
    assert len(data["passages"]) == 2
    assert set(data["passages"][0]) == {"id", "doc", "section", "text", "start", "end", "page", "score"}


def test_ask_neural_reads_with_the_span_model(real_index_dir: Path, seed_dir: Path) -> None:
    """--neural: the reader fitted on the span model's features, answering with a cited span."""
    result = run("ask", "2017年天津计划新增就业多少人？", "--index", str(real_index_dir), "--json", "--neural")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["found"] is True and data["answer"] == "48万人"
    c = data["citation"]
    assert (seed_dir / c["doc"]).read_text(encoding="utf-8")[c["start"] : c["end"]] == "48万人"


def test_the_neural_reader_is_its_own_fitted_model() -> None:
    from qa.reader import MODEL_FILE, NEURAL_MODEL_FILE, ReaderModel

    assert ReaderModel.load(NEURAL_MODEL_FILE).neural is True
    assert ReaderModel.load(MODEL_FILE).neural is False


def test_ask_text_shows_answer_citation_and_passages(real_index_dir: Path) -> None:
    result = run("ask", "2017年天津生产总值预期增长多少？", "--index", str(real_index_dir), "-k", "1")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0].startswith("8%")
    assert "tianjin_2017_government_work_report.txt [" in lines[1]
    assert "[1]" in result.stdout and "[2]" not in result.stdout


def test_ask_unanswerable_says_so(real_index_dir: Path) -> None:
    result = run("ask", "今天天气怎么样？", "--index", str(real_index_dir), "--json")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["found"] is False and data["answer"] == "" and data["passages"]
    text = run("ask", "今天天气怎么样？", "--index", str(real_index_dir))
    assert "not in the report" in text.stdout


@pytest.mark.parametrize(
    ("question", "word"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("a" * 100_000, "too long"),
        ("长" * 100_000, "too long"),
        ("\x00\x01\x02\x7f", "empty"),
        ("\udcff\udcfe\ufffd", "no words"),
        ("？！。", "no words"),
    ],
    ids=["empty", "blank", "100k-ascii", "100k-cjk", "control", "junk", "punctuation"],
)
def test_ask_bad_question_is_a_one_line_error(question: str, word: str, fake_index_dir: Path) -> None:
    result = CliRunner().invoke(cli, ["ask", question, "--index", str(fake_index_dir)])
    assert_one_line_error(result, word)


def test_ask_missing_or_broken_index_is_a_one_line_error(tmp_path: Path, fake_index_dir: Path) -> None:
    result = CliRunner().invoke(cli, ["ask", "生产总值", "--index", str(tmp_path / "nowhere")])
    assert_one_line_error(result, "no index", "qa build")
    broken = tmp_path / "broken"
    broken.mkdir()
    for f in fake_index_dir.iterdir():
        (broken / f.name).write_bytes(f.read_bytes())
    (broken / "dense.faiss").write_bytes(b"")
    assert_one_line_error(
        CliRunner().invoke(cli, ["ask", "生产总值", "--index", str(broken)]), "dense.faiss", "qa build"
    )


def _qa(*args: str | bytes, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "qa.cli", *args],
        capture_output=True,
        timeout=120,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
    )


@pytest.mark.parametrize("question", [b"\xff\xfe\x80\x81", b"a" * 100_000], ids=["junk-bytes", "100k"])
def test_real_process_bad_question_exits_non_zero_without_traceback(question: bytes, fake_index_dir: Path) -> None:
    done = _qa("ask", question, "--index", str(fake_index_dir))
    assert done.returncode != 0
    stderr = done.stderr.decode("utf-8", "replace").strip().splitlines()
    assert len(stderr) == 1 and stderr[0].startswith("error: "), stderr
    assert b"Traceback" not in done.stderr


def test_real_process_missing_index(tmp_path: Path) -> None:
    done = _qa("ask", "生产总值增长多少？", "--index", str(tmp_path / "none"))
    assert done.returncode == 1
    assert done.stderr.decode().startswith("error: no index at")
    assert done.stdout == b""


# --- eval -----------------------------------------------------------------------------------------------


def test_eval_prints_the_metrics(real_index_dir: Path, tmp_path: Path) -> None:
    lines = DEV.read_text(encoding="utf-8").splitlines()
    subset = tmp_path / "dev.jsonl"
    subset.write_text("\n".join(lines[:6] + [lines[8]]) + "\n", encoding="utf-8")  # incl. a follow-up and d09
    result = run("eval", str(subset), "--index", str(real_index_dir), "-v")
    assert result.exit_code == 0, result.output
    first = result.stdout.splitlines()[0]
    for metric in ("n=7", "hit@1=", "hit@3=", "mrr=", "em=", "f1=", "refusals_unanswerable=", "p50_ms="):
        assert metric in first
    assert "by lang:" in result.stdout and "by style:" in result.stdout
    assert "accuracy by confidence" in result.stdout


def test_eval_bad_file_is_a_one_line_error(real_index_dir: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text("not json\n", encoding="utf-8")
    assert_one_line_error(CliRunner().invoke(cli, ["eval", str(bad), "--index", str(real_index_dir)]), "bad.jsonl")
    binary = tmp_path / "binary.jsonl"
    binary.write_bytes(b"\xff\xfe\x00\x01junk")
    assert_one_line_error(CliRunner().invoke(cli, ["eval", str(binary), "--index", str(real_index_dir)]))
    missing = CliRunner().invoke(cli, ["eval", str(tmp_path / "none.jsonl"), "--index", str(real_index_dir)])
    assert missing.exit_code != 0 and "Traceback" not in missing.output


def test_eval_lines_missing_fields_is_a_one_line_error(fake_index_dir: Path, tmp_path: Path) -> None:
    bad = tmp_path / "fields.jsonl"
    bad.write_text('{"question": "生产总值增长多少？"}\n', encoding="utf-8")
    result = CliRunner().invoke(cli, ["eval", str(bad), "--index", str(fake_index_dir)])
    assert_one_line_error(result, "fields.jsonl")


def test_version() -> None:
    result = run("--version")
    assert result.exit_code == 0 and "0.1.0" in result.stdout
