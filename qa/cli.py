"""The `qa` command line: build, ask, eval. Thin over the library; heavy imports stay lazy."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from typing import Any

import click

DEFAULT_INDEX = os.environ.get("QA_INDEX", "index")
DEFAULT_SOURCES = os.environ.get("QA_SOURCES", "seeds")


def _fail(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(1)


def _load_engine(index: str, reader: str | None = None, neural: bool = False) -> Any:
    from qa.embed import ModelError
    from qa.encoder import SpanModelError
    from qa.engine import Engine
    from qa.index import IndexError_, stale_reasons

    try:
        engine = Engine.load(index, reader=reader, neural=neural)
    except (IndexError_, ModelError, SpanModelError) as error:
        _fail(str(error))
    stale = stale_reasons(index)
    if stale:  # answers may quote text that is no longer in the sources
        click.echo(
            f"warning: the index is out of date ({'; '.join(stale[:3])}): run `qa build` to rebuild it", err=True
        )
    return engine


@click.group()
@click.version_option(package_name="qa")
def cli() -> None:
    """Answer questions about Chinese government reports, with exact citations."""


@cli.command()
@click.argument("sources", nargs=-1, type=click.Path())
@click.option("--index", "index_dir", default=DEFAULT_INDEX, show_default=True, help="Index folder to write.")
@click.option("--model", default=None, help="Embedding model: hub id or local folder (default: bundled e5-small).")
@click.option("--max-chars", default=None, type=int, help="Largest chunk, in characters.")
@click.option("--skip-errors", is_flag=True, help="Build without files that cannot be decoded.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
def build(
    sources: tuple[str, ...], index_dir: str, model: str | None, max_chars: int | None, skip_errors: bool, quiet: bool
) -> None:
    """(Re)build the index from SOURCES (files or folders; default: seeds/)."""
    from qa.chunking import ChunkerSettings
    from qa.documents import SourceError
    from qa.embed import ModelError
    from qa.index import IndexError_, build_index

    settings = ChunkerSettings(max_chars=max_chars) if max_chars else ChunkerSettings()
    bar: Any = None

    def progress(stage: str, done: int, total: int) -> None:
        nonlocal bar
        if quiet or stage != "embed":
            return
        if bar is None:
            bar = click.progressbar(length=total, label="embedding chunks", file=sys.stderr)
            bar.__enter__()
        bar.update(done - bar.pos)

    try:
        report = build_index(
            list(sources) or [DEFAULT_SOURCES], index_dir, model, settings, skip_errors=skip_errors, progress=progress
        )
    except (SourceError, IndexError_, ModelError) as error:
        _fail(str(error))
    except OSError as error:  # e.g. disk full: the build wrote to a temp folder, so nothing was replaced
        _fail(
            f"{error}; the previous index (if any) is unchanged: free some space or fix the path, "
            "then run `qa build` again"
        )
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)
    for skipped in report.errors:
        click.echo(f"skipped: {skipped}", err=True)
    if not quiet:
        click.echo(documents_table([d.to_json() for d in report.documents]))
    click.echo(
        f"built {report.index_dir}: {report.files} file(s), {report.chunks} chunks, "
        f"{report.duplicates_skipped} repeated paragraphs skipped, {report.embedded} chunks embedded, "
        f"{report.cached} from cache, {report.seconds:.1f} s"
    )


def documents_table(documents: list[dict[str, Any]]) -> str:
    """An aligned table of the indexed reports and what was found about each."""
    header = ("place", "level", "year", "date", "speaker", "chunks", "title", "file")
    rows = []
    for d in documents:
        meta = d.get("meta", {})
        speaker = " ".join(x for x in (meta.get("speaker_title", ""), meta.get("speaker", "")) if x)
        first, last = d.get("chunks", [0, 0])
        copies = f" (+{len(d['copies'])} identical)" if d.get("copies") else ""
        rows.append(
            (
                meta.get("place", ""),
                meta.get("level", ""),
                str(meta.get("year") or ""),
                meta.get("date", ""),
                speaker,
                str(last - first),
                meta.get("title", ""),
                d["path"] + copies,
            )
        )
    return _table(header, rows)


def _table(header: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> str:
    """Columns aligned by display width (a CJK character takes two cells)."""
    import unicodedata

    def width(text: str) -> int:
        return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)

    widths = [max(width(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = []
    for row in [header, *rows]:
        lines.append("  ".join(cell + " " * (w - width(cell)) for cell, w in zip(row, widths, strict=True)).rstrip())
    return "\n".join(lines)


@cli.command()
@click.option("--index", "index_dir", default=DEFAULT_INDEX, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the documents and their metadata as JSON.")
def docs(index_dir: str, as_json: bool) -> None:
    """List the reports in the index: place, level, year, date, speaker, chunks, title, file."""
    from pathlib import Path

    from qa.index import IndexError_, read_manifest

    try:
        manifest = read_manifest(Path(index_dir))
    except IndexError_ as error:
        _fail(str(error))
    documents = manifest.get("sources", [])
    if as_json:
        click.echo(json.dumps(documents, ensure_ascii=False, indent=2))
        return
    click.echo(documents_table(documents))
    click.echo(f"{len(documents)} report(s), {manifest.get('chunk_count', 0)} chunks in {index_dir}")


@cli.command()
@click.argument("question")
@click.option("--index", "index_dir", default=DEFAULT_INDEX, show_default=True)
@click.option("-k", default=3, show_default=True, help="Passages to show.")
@click.option("--json", "as_json", is_flag=True, help="Print the answer as JSON.")
@click.option("--reader", default=None, help="A Hugging Face extractive-QA model (hub id or folder) to read answers.")
@click.option(
    "--neural",
    is_flag=True,
    help="Read the top passages with the fine-tuned span model too (general text; ~40 ms slower).",
)
@click.option("--doc", "docs_", multiple=True, help="Only this report (file name or path; repeatable).")
@click.option("--place", default=None, help="Only the reports of this place (浙江, 浙江省, 全国 …).")
@click.option("--year", default=None, type=int, help="Only the reports of this year (the report's own year).")
@click.option(
    "--strict", is_flag=True, help="Answer only at confidences where at most 5 % of answers were wrong (refuses more)."
)
def ask(
    question: str,
    index_dir: str,
    k: int,
    as_json: bool,
    reader: str | None,
    neural: bool,
    docs_: tuple[str, ...],
    place: str | None,
    year: int | None,
    strict: bool,
) -> None:
    """Answer QUESTION with its citation and the passages behind it."""
    from qa.engine import QuestionError, clean_question

    try:
        clean_question(question)  # bad input is refused before the model loads
    except QuestionError as error:
        _fail(str(error))
    engine = _load_engine(index_dir, reader, neural)
    if strict:
        engine.min_confidence = engine.reader_model.strict_threshold
    try:
        result = engine.ask(question, k=k, reports=list(docs_) or None, place=place, year=year)
    except QuestionError as error:
        _fail(str(error))
    if as_json:
        click.echo(json.dumps(result.to_dict(), ensure_ascii=False, indent=2))
        return
    if result.found:
        c = result.citation
        click.echo(click.style(result.answer, bold=True) + f"   (confidence {result.confidence:.2f})")
        page = f" p.{c.page}" if c.page else ""
        click.echo(f"  {c.doc}{page} [{c.start}:{c.end}]  {c.section}")
    else:
        click.echo(f"报告中没有找到答案 (not in the reports; confidence {result.confidence:.2f})")
        if result.reason:
            click.echo(f"  {result.reason}")
    for i, passage in enumerate(result.passages, start=1):
        ch = passage.chunk
        click.echo(f"\n[{i}] {ch.section_path}  ({ch.id}, score {passage.score:.3f})")
        click.echo(f"    {ch.text}")


@cli.command(name="compare")
@click.argument("question")
@click.option("--index", "index_dir", default=DEFAULT_INDEX, show_default=True)
@click.option("--doc", "docs_", multiple=True, help="Only this report (file name or path; repeatable).")
@click.option("--place", default=None, help="Only the reports of this place.")
@click.option("--year", default=None, type=int, help="Only the reports of this year.")
@click.option("--csv", "csv_path", default=None, type=click.Path(dir_okay=False), help="Also write the rows as CSV.")
@click.option("--json", "as_json", is_flag=True, help="Print the comparison as JSON.")
def compare_command(
    question: str,
    index_dir: str,
    docs_: tuple[str, ...],
    place: str | None,
    year: int | None,
    csv_path: str | None,
    as_json: bool,
) -> None:
    """Ask QUESTION of every report (or those selected): one cited answer per report, as a table."""
    from qa.engine import QuestionError, clean_question

    try:
        clean_question(question)
    except QuestionError as error:
        _fail(str(error))
    engine = _load_engine(index_dir)
    try:
        comparison = engine.compare(question, reports=list(docs_) or None, place=place, year=year)
    except QuestionError as error:
        _fail(str(error))
    if csv_path:
        try:
            write_csv(comparison, csv_path)
        except OSError as error:
            _fail(f"cannot write {csv_path}: {error}")
    if as_json:
        click.echo(json.dumps(comparison.to_dict(), ensure_ascii=False, indent=2))
        return
    rows = [
        (
            r.place,
            str(r.year or ""),
            r.answer if r.found else "未找到",
            f"{r.confidence:.2f}",
            f"{r.citation.doc} [{r.citation.start}:{r.citation.end}] {r.citation.section}" if r.found else r.reason,
        )
        for r in comparison.rows
    ]
    click.echo(f"问题 (asked of each report): {comparison.metric}")
    click.echo(_table(("place", "year", "answer", "conf", "citation"), rows))
    found = sum(r.found for r in comparison.rows)
    click.echo(f"{found} of {len(comparison.rows)} report(s) state it" + (f"; CSV: {csv_path}" if csv_path else ""))


def write_csv(comparison: Any, path: str) -> None:
    """The rows of a comparison as CSV (UTF-8 with BOM, so spreadsheet programs read the Chinese)."""
    from qa.compare import comparison_csv

    with open(path, "w", encoding="utf-8-sig", newline="") as handle:
        handle.write(comparison_csv(comparison))


@cli.command(name="eval")
@click.argument("questions", type=click.Path(exists=True, dir_okay=False))
@click.option("--index", "index_dir", default=DEFAULT_INDEX, show_default=True)
@click.option("-k", default=5, show_default=True)
@click.option("--verbose", "-v", is_flag=True, help="List the questions answered wrongly.")
@click.option("--reader", default=None, help="A Hugging Face extractive-QA model (hub id or folder) to read answers.")
@click.option(
    "--neural",
    is_flag=True,
    help="Read the top passages with the fine-tuned span model too (general text; ~40 ms slower).",
)
@click.option(
    "--strict", is_flag=True, help="Answer only at confidences where at most 5 % of answers were wrong (refuses more)."
)
def evaluate_command(
    questions: str, index_dir: str, k: int, verbose: bool, reader: str | None, neural: bool, strict: bool
) -> None:
    """Score QUESTIONS (a .jsonl file like shared/data/dev_questions.jsonl)."""
    from qa.evaluate import evaluate, format_report, load_questions

    engine = _load_engine(index_dir, reader, neural)
    if strict:
        engine.min_confidence = engine.reader_model.strict_threshold
    try:
        items = load_questions(questions)
    except (OSError, ValueError) as error:
        _fail(f"{questions}: {error}")
    report = evaluate(engine, items, k=k)
    click.echo(format_report(report))
    if verbose:
        for row in report.rows:
            if row.em < 1 or (row.item["answers"] and row.rank != 1):
                click.echo(
                    f"  {row.item['id']} rank={row.rank} doc={row.doc_hit} em={row.em:.0f} conf={row.confidence:.2f} "
                    f"{row.item['question']} → {row.answer!r} gold={row.item['answers']}"
                )


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
