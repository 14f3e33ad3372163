"""Run every benchmark and write the figures, with the machine and the command, to BENCHMARKS.md.

    .venv/bin/python -m bench            # full run (~10-15 min on 2 cores), writes BENCHMARKS.md
    .venv/bin/python -m bench --quick    # short run (~3-5 min), writes bench/out/BENCHMARKS-quick.md

Work files (indexes, the synthetic corpus, raw JSON) go to bench/out/ (git-ignored).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from bench import questions as question_gen
from bench.corpus import CITIES, chunks_per_document, subset, write_corpus
from bench.measure import ROOT, CpuMeter, child_json, folder_bytes, machine, python, rss, run_child, summary_ms
from bench.report import write_report

OUT = ROOT / "bench" / "out"
BUILT = re.compile(r"built .*?: (\d+) file\(s\), (\d+) chunks, .*?(\d+) chunks embedded, (\d+) from cache, ([\d.]+) s")


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def qa_build(sources: Path, index: Path, model: str | None = None) -> dict[str, Any]:
    """`qa build` in a fresh process: wall time, peak RSS, and what it reports."""
    command = [python(), "-m", "bench.child", "qa", "build", str(sources), "--index", str(index), "-q"]
    if model:
        command += ["--model", model]
    result = run_child(command)
    if result.returncode != 0:
        raise RuntimeError(f"qa build failed: {result.stderr[-3000:]}")
    match = BUILT.search(result.stdout)
    lines = result.stdout.strip().splitlines()
    inside = json.loads(lines[-1]) if lines and lines[-1].startswith("{") else {}
    peak = inside.get("peak_rss") or result.peak_rss
    out: dict[str, Any] = {"wall_s": result.seconds, "peak_rss": peak, "output": "\n".join(lines[:-1])}
    if match:
        out.update(
            files=int(match[1]),
            chunks=int(match[2]),
            embedded=int(match[3]),
            cached=int(match[4]),
            build_s=float(inside.get("build_seconds") or match[5]),
        )
    out["index_bytes"] = folder_bytes(index)
    return out


def seed_builds(seeds: Path, index: Path, cold_runs: int, warm_runs: int) -> dict[str, Any]:
    cold = []
    for i in range(cold_runs):
        shutil.rmtree(index, ignore_errors=True)
        log(f"seed cold build {i + 1}/{cold_runs}")
        cold.append(qa_build(seeds, index))
    warm = []
    for i in range(warm_runs):
        log(f"seed warm build {i + 1}/{warm_runs} (fresh process)")
        warm.append(qa_build(seeds, index))
    log("seed warm builds in one process")
    in_process = child_json(["warm-build", "--index", str(index), "--sources", str(seeds), "--repeat", "4"])
    return {"cold": cold, "warm_cli": warm, "warm_in_process": in_process}


def http_bench(
    index: Path, items: list[dict[str, Any]], load_questions: list[str], clients: int, per_client: int
) -> dict[str, Any]:
    from bench.load import run_load, sequential
    from bench.server import app_available, running_app

    if not app_available():
        return {"skipped": "app.py has no /ask endpoint yet"}
    with running_app(index, OUT / "app-bench.log") as app:
        log(f"app ready in {app.seconds_to_ready:.1f} s; {len(items)} questions over HTTP, one client")
        times, errors = sequential(app.url, [(q["text"], q.get("history") or None) for q in items])
        rss_seq = rss(app.pid)
        log(f"load: {clients} clients x {per_client} questions")
        load = run_load(app.url, load_questions, clients=clients, per_client=per_client, deadline_s=900)
        return {
            "seconds_to_ready": app.seconds_to_ready,
            "sequential": summary_ms(times),
            "sequential_errors": errors[:10],
            "rss_after_sequential": rss_seq,
            "load": {
                "clients": clients,
                "per_client": per_client,
                "requests": load.requests,
                "errors": load.errors[:10],
                "error_count": len(load.errors),
                "bad_shape": load.bad_shape[:10],
                "answered": load.answered,
                "seconds": load.seconds,
                "throughput_rps": len(load.latencies) / load.seconds if load.seconds else 0,
                "latency": summary_ms(load.latencies),
            },
            "rss_after_load": rss(app.pid),
        }


def scale_point(
    name: str, corpus_paths: list[Path], documents: int, model: str, qfile: Path, baseline: int
) -> dict[str, Any]:
    folder = subset(corpus_paths, OUT / f"corpus-{name}", documents)
    index = OUT / f"index-{name}"
    shutil.rmtree(index, ignore_errors=True)
    log(f"scale {name}: building {documents} documents with {model}")
    meter = CpuMeter()
    build = qa_build(folder, index, model)
    build["cpu_other"] = meter.other_share()
    log(f"scale {name}: {build.get('chunks')} chunks built in {build['wall_s']:.1f} s; querying")
    args = ["ask", "--index", str(index), "--questions", str(qfile), "--ann"]
    if not model.startswith("fake:"):
        args.append("--no-ann-answers")  # 2 x 300 more real-model questions: minutes on a busy machine
    if baseline:
        args += ["--baseline", str(baseline)]
    meter = CpuMeter()
    queries = child_json(args)
    queries["cpu_other"] = meter.other_share()
    dense = json.loads((index / "manifest.json").read_text(encoding="utf-8"))["dense"]
    files = {p.name: p.stat().st_size for p in index.iterdir()}
    return {
        "name": name,
        "documents": documents,
        "model": model,
        "build": build,
        "query": queries,
        "dense": dense,
        "files": files,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="smaller run (~3-5 min); does not touch BENCHMARKS.md")
    parser.add_argument("--out", default=None, help="report file (default BENCHMARKS.md, or bench/out/ for --quick)")
    parser.add_argument("--questions", type=int, default=None, help="generated questions (default 300; quick 200)")
    parser.add_argument("--skip-http", action="store_true", help="no app / HTTP / load figures")
    parser.add_argument("--skip-scale", action="store_true", help="no synthetic-corpus figures")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    OUT.mkdir(parents=True, exist_ok=True)
    quick = args.quick
    report_path = Path(args.out) if args.out else (OUT / "BENCHMARKS-quick.md" if quick else ROOT / "BENCHMARKS.md")
    extra = argv if argv is not None else sys.argv[1:]
    command = "make bench" + (f" BENCH_ARGS='{' '.join(extra)}'" if extra else "")
    command += " (= .venv/bin/python -m bench" + "".join(f" {a}" for a in extra) + ")"
    results: dict[str, Any] = {"machine": machine(), "quick": quick, "command": command}
    seeds = ROOT / "seeds"

    n_questions = args.questions or (200 if quick else 300)
    items = [q.to_json() for q in question_gen.generate(seeds, n=n_questions)]
    qfile = OUT / "questions.json"
    qfile.write_text(json.dumps(items, ensure_ascii=False, indent=1), encoding="utf-8")
    results["questions"] = {
        "count": len(items),
        "kinds": _count(q["kind"] for q in items),
        "with_history": sum(bool(q["history"]) for q in items),
    }

    seed_index = OUT / "index-seed"
    meter = CpuMeter()
    results["seed_build"] = seed_builds(seeds, seed_index, cold_runs=1 if quick else 2, warm_runs=2 if quick else 3)
    results["seed_build"]["cpu_other"] = meter.other_share()
    log("seed: in-process ask latency by stage")
    meter = CpuMeter()
    results["seed_ask"] = child_json(
        ["ask", "--index", str(seed_index), "--questions", str(qfile), "--ann", "--no-ann-answers"]
    )
    results["seed_ask"]["cpu_other"] = meter.other_share()

    if not args.skip_http:
        load_q = [q["text"] for q in items if not q["history"]]
        clients, per_client = (20, 10) if quick else (50, 20)
        meter = CpuMeter()
        results["http"] = http_bench(seed_index, items[: 100 if quick else len(items)], load_q, clients, per_client)
        results["http"]["cpu_other"] = meter.other_share()

    if not args.skip_scale:
        per_doc = chunks_per_document(seeds)
        sizes: list[tuple[str, int, str, int]] = (
            [
                ("1k", 1_000, "fake:hash-384", 0),
                ("10k", 10_000, "fake:hash-384", 10),
                ("30k", 30_000, "fake:hash-384", 3),
            ]
            if quick
            else [
                ("1k-e5", 1_000, "intfloat/multilingual-e5-small", 0),
                ("1k", 1_000, "fake:hash-384", 0),
                ("10k", 10_000, "fake:hash-384", 20),
                ("100k", 100_000, "fake:hash-384", 5),
            ]
        )
        max_docs = max(round(n / per_doc) for _, n, _, _ in sizes)
        log(f"synthetic corpus: {max_docs} documents (~{per_doc:.0f} chunks each)")
        paths = write_corpus(seeds, OUT / "corpus", max_docs)
        scale_q = question_gen.with_place(
            [question_gen.BenchQuestion(q["text"], q["kind"]) for q in items if not q["history"]], CITIES
        )
        sqfile = OUT / "questions-scale.json"
        sqfile.write_text(json.dumps([q.to_json() for q in scale_q], ensure_ascii=False), encoding="utf-8")
        results["scale"] = [
            scale_point(name, paths, max(1, round(n / per_doc)), model, sqfile, baseline)
            for name, n, model, baseline in sizes
        ]
        results["scale_corpus"] = {
            "documents": max_docs,
            "chunks_per_document": per_doc,
            "bytes": sum(p.stat().st_size for p in paths),
        }

    results["seconds"] = time.perf_counter() - started
    results["date"] = time.strftime("%Y-%m-%d %H:%M %Z")
    results["machine"]["loadavg_end"] = os.getloadavg()
    raw = OUT / ("results-quick.json" if quick else "results.json")
    raw.write_text(json.dumps(results, ensure_ascii=False, indent=1), encoding="utf-8")
    (OUT / f"{raw.stem}-{time.strftime('%Y%m%d-%H%M%S')}.json").write_text(raw.read_text(encoding="utf-8"))
    busy = _busy_sections(results)
    if busy:
        log(f"warning: other processes used much of the CPU during {', '.join(busy)}: rerun on a quiet machine")
    write_report(results, report_path)
    log(f"done in {results['seconds'] / 60:.1f} min: {report_path} (raw figures: {raw})")


def _busy_sections(results: dict[str, Any], limit: float = 0.25) -> list[str]:
    """Sections during which other processes used more than ``limit`` of the machine's CPU."""
    sections = {
        "seed build": results.get("seed_build"),
        "seed ask": results.get("seed_ask"),
        "HTTP": results.get("http"),
    }
    for p in results.get("scale", []):
        sections[f"{p['name']} build"] = p["build"]
        sections[f"{p['name']} queries"] = p["query"]
    return [name for name, sec in sections.items() if sec and (sec.get("cpu_other") or 0) > limit]


def _count(values: Any) -> dict[str, int]:
    out: dict[str, int] = {}
    for v in values:
        out[v] = out.get(v, 0) + 1
    return out


if __name__ == "__main__":
    main()
