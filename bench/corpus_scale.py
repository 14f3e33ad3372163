"""Build speed at corpus scale: the 31 provincial reports (.docx) with the default model.

    .venv/bin/python -m bench.corpus_scale [--corpus DIR] [--questions FILE ...]

Measures, on the same machine and in one process:
- a cold build of the corpus (extraction, metadata, chunking, embedding, BM25, FAISS, writing);
- the model's own embedding throughput on exactly the texts the build embedded (same batches),
  so the build's speed can be read against the model's limit;
- adding one report to a built corpus (only its chunks are embedded);
- in-process ask latency (p50/p95) on the built index over the corpus's question sets,
  and one comparison across every report.

Writes bench/out/corpus-scale.json and the section between the corpus-scale markers of BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
OUT = ROOT / "bench" / "out"
BEGIN, END = "<!-- BEGIN corpus-scale -->", "<!-- END corpus-scale -->"


def log(message: str) -> None:
    print(f"[corpus-scale {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def measure(corpus: Path, question_files: list[Path], work: Path) -> dict[str, Any]:
    from qa.embed import load_embedder
    from qa.engine import Engine
    from qa.evaluate import load_questions
    from qa.index import EMBED_BATCH, build_index, load_index

    embedder = load_embedder()
    files = sorted(p for p in corpus.iterdir() if p.is_file())
    chars = 0
    log(f"cold build of {len(files)} reports from {corpus}")
    cpu0 = os.times()
    started = time.perf_counter()
    report = build_index([corpus], work / "index", embedder=embedder)
    build_s = time.perf_counter() - started
    cpu1 = os.times()
    index = load_index(work / "index")
    texts = index.indexed_texts()
    chars = sum(len(d.text) for d in index.documents.values())
    embedded_chars = sum(len(t) for t in texts)
    log(f"model alone on the same {len(texts)} texts")
    started = time.perf_counter()
    for i in range(0, len(texts), EMBED_BATCH):
        embedder.embed_passages(texts[i : i + EMBED_BATCH])
    model_s = time.perf_counter() - started

    log("adding one report to a built corpus")
    partial = work / "partial"
    partial.mkdir()
    for file in files[:-1]:
        shutil.copy(file, partial / file.name)
    build_index([partial], work / "grow", embedder=embedder)
    shutil.copy(files[-1], partial / files[-1].name)
    started = time.perf_counter()
    grown = build_index([partial], work / "grow", embedder=embedder)
    add_s = time.perf_counter() - started
    added_doc = next(d for d in grown.documents if d.path == files[-1].name)
    added_chunks = added_doc.chunks[1] - added_doc.chunks[0]

    log("ask latency in-process")
    engine = Engine.load(work / "index")
    latencies = []
    for path in question_files:
        items = load_questions(path)
        by_id: dict[str, tuple[str, str]] = {}
        for item in items:
            history = [by_id[item["prev"]]] if item.get("prev") in by_id else []
            t0 = time.perf_counter()
            answer = engine.ask(item["question"], history=history)
            latencies.append((time.perf_counter() - t0) * 1000)
            by_id[item["id"]] = (item["question"], answer.answer)
    compare_ms = []
    for question in ("各省2025年地区生产总值增长目标分别是多少？", "各省2025年城镇新增就业目标是多少？"):
        t0 = time.perf_counter()
        engine.compare(question)
        compare_ms.append((time.perf_counter() - t0) * 1000)
    return {
        "corpus": str(corpus),
        "reports": report.files,
        "characters": chars,
        "chunks": report.chunks,
        "embedded_characters": embedded_chars,
        "build_s": build_s,
        "build_cpu_s": (cpu1.user - cpu0.user) + (cpu1.system - cpu0.system),
        "build_chunks_per_s": report.chunks / build_s,
        "build_chars_per_s": chars / build_s,
        "model_s": model_s,
        "model_chunks_per_s": len(texts) / model_s,
        "model_chars_per_s": embedded_chars / model_s,
        "build_vs_model": model_s / build_s,
        "add_one_report_s": add_s,
        "add_one_report_embedded": grown.embedded,
        "add_one_report_chunks": added_chunks,
        "ask_n": len(latencies),
        "ask_p50_ms": statistics.median(latencies) if latencies else None,
        "ask_p95_ms": percentile(latencies, 0.95) if latencies else None,
        "compare_ms": compare_ms,
        "cpus": os.cpu_count(),
        "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }


def render(r: dict[str, Any]) -> str:
    return "\n".join(
        [
            BEGIN,
            "## Corpus scale: the 31 provincial reports",
            "",
            f"`.venv/bin/python -m bench.corpus_scale` ({r['when']}, {r['cpus']} cores; default model, 4-bit e5-small).",
            "",
            "| measure | value |",
            "|---|---|",
            f"| reports / characters extracted / chunks | {r['reports']} / {r['characters']:,} / {r['chunks']:,} |",
            f"| cold build (extract, metadata, chunk, embed, BM25, FAISS, write) | {r['build_s']:.1f} s |",
            f"| build throughput | {r['build_chunks_per_s']:.1f} chunks/s, {r['build_chars_per_s']:,.0f} chars/s |",
            f"| the model alone on the same texts and batches | {r['model_s']:.1f} s: "
            f"{r['model_chunks_per_s']:.1f} chunks/s, {r['model_chars_per_s']:,.0f} chars/s |",
            f"| build speed as a share of the model's limit | {100 * r['build_vs_model']:.0f} % |",
            f"| adding one report to the built corpus | {r['add_one_report_s']:.1f} s, "
            f"{r['add_one_report_embedded']} chunks embedded (the report has {r['add_one_report_chunks']}) |",
            f"| ask in-process, {r['ask_n']} questions (dev + held-out) | p50 {r['ask_p50_ms']:.1f} ms, "
            f"p95 {r['ask_p95_ms']:.1f} ms (goal ≤ 60 ms) |",
            f"| compare across all reports, in-process | {', '.join(f'{x:.0f} ms' for x in r['compare_ms'])} "
            "(goal ≤ 1.5 s) |",
            END,
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=SHARED / "corpora" / "provinces-2025")
    parser.add_argument(
        "--questions",
        type=Path,
        nargs="*",
        default=[SHARED / "data" / "provinces_dev.jsonl", ROOT / "tests" / "data" / "provinces_heldout.jsonl"],
    )
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=OUT) as work:
        results = measure(args.corpus, [q for q in args.questions if q.is_file()], Path(work))
    (OUT / "corpus-scale.json").write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    section = render(results)
    target = ROOT / "BENCHMARKS.md"
    text = target.read_text(encoding="utf-8") if target.exists() else ""
    if BEGIN in text and END in text:
        text = text[: text.index(BEGIN)] + section + text[text.index(END) + len(END) :]
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    target.write_text(text, encoding="utf-8")
    print(section)


if __name__ == "__main__":
    main()
