"""Benchmark steps that run in their own process, so memory and warm-up are measured cleanly.

    python -m bench.child ask --index DIR --questions FILE [--ann] [--baseline N]
    python -m bench.child warm-build --index DIR --sources DIR [--model ID]

Each prints one JSON object as its last line.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.measure import proc_status, rss, summary_ms
from bench.stages import STAGES, instrument


def _questions(path: str) -> list[dict[str, Any]]:
    return list(json.loads(Path(path).read_text(encoding="utf-8")))


def ask(args: argparse.Namespace) -> dict[str, Any]:
    from qa.engine import Engine, QuestionError

    before = rss()
    started = time.perf_counter()
    engine = Engine.load(args.index)
    load_seconds = time.perf_counter() - started
    after_load = rss()
    questions = _questions(args.questions)
    times: list[float] = []
    stages: dict[str, list[float]] = {s: [] for s in STAGES}
    found = refused = 0
    with instrument(engine) as timed_ask:
        for q in questions:
            try:
                answer, got = timed_ask(q["text"], q.get("history") or None, 5)
            except QuestionError:
                refused += 1
                continue
            found += bool(answer.found)
            times.append(got["total"])
            for s in STAGES:
                stages[s].append(got.get(s, 0.0))
    after_queries = rss()
    out: dict[str, Any] = {
        "chunks": len(engine.index.chunks),
        "model": engine.index.model_id,
        "dense": engine.index.manifest["dense"]["type"],
        "load_seconds": load_seconds,
        "rss_before_load": before,
        "rss_after_load": after_load,
        "latency": summary_ms(times),
        "stages": {s: summary_ms(v) for s, v in stages.items()},
        "answered": found,
        "abstained": len(times) - found,
        "refused": refused,
    }
    if args.ann:
        out["ann"] = ann_check(engine, questions, answers=not args.no_ann_answers)
    if args.baseline:
        out["baseline"] = baseline(engine, [q for q in questions if not q.get("history")][: args.baseline])
    out["rss_after_queries"] = after_queries
    out["rss_end"] = rss()
    out["peak_rss"] = proc_status().get("VmHWM", 0)
    return out


def ann_check(engine: Any, questions: list[dict[str, Any]], k: int = 10, answers: bool = True) -> dict[str, Any]:
    """Approximate (HNSW) search against exact inner-product search on the same query vectors.

    Recall@k and single-query times at the index's efSearch and over a sweep of efSearch values;
    exact search timed with FAISS's default threads and with one; and end to end, how many
    engine answers stay the same when the approximate index replaces the exact one. If the index
    itself is exact (below the ANN threshold), an HNSW with the index's settings is built over the
    same vectors for comparison.
    """
    import faiss

    from qa import index as qa_index

    vectors = np.load(Path(engine.index.path) / "embeddings.npy")
    exact = faiss.IndexFlatIP(vectors.shape[1])
    exact.add(vectors)
    configured = engine.index.manifest["dense"]["type"] == "hnsw"
    if configured:
        approx = engine.index.dense
        built = 0.0
    else:
        settings = {"type": "hnsw", "M": qa_index.HNSW_M, "ef_search": qa_index.HNSW_EF_SEARCH}
        started = time.perf_counter()
        approx = qa_index._faiss_index(vectors, settings)
        built = time.perf_counter() - started
    ef0 = qa_index.HNSW_EF_SEARCH
    approx.hnsw.efSearch = ef0
    texts = [q["text"] for q in questions]
    queries = np.ascontiguousarray(engine.embedder.embed_queries(texts).astype(np.float32))
    truth = [exact.search(q[None, :], k)[1][0] for q in queries]

    def timed_search(index: Any) -> tuple[list[float], list[np.ndarray]]:
        times, ids = [], []
        for q in queries:
            t0 = time.perf_counter()
            _, found = index.search(q[None, :], k)
            times.append(time.perf_counter() - t0)
            ids.append(found[0])
        return times, ids

    def recall(ids: list[np.ndarray]) -> list[float]:
        return [len(set(a.tolist()) & set(b.tolist())) / k for a, b in zip(truth, ids, strict=True)]

    exact_t, _ = timed_search(exact)
    threads = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    exact_1t, _ = timed_search(exact)
    faiss.omp_set_num_threads(threads)
    approx_t, approx_ids = timed_search(approx)
    recalls = recall(approx_ids)
    sweep = []
    for ef in (64, 128, 256, 512, 1024, 2048):
        approx.hnsw.efSearch = ef
        t, ids = timed_search(approx)
        sweep.append({"ef_search": ef, "recall": float(np.mean(recall(ids))), "p50_ms": summary_ms(t)["p50"]})
    approx.hnsw.efSearch = ef0

    # end to end: the engine's answers with the exact index and with the approximate one
    original = engine.index.dense
    got_answers: dict[str, list[tuple[bool, str, int]]] = {"exact": [], "approx": []}
    try:
        for name, dense in (("exact", exact), ("approx", approx)) if answers else ():
            engine.index.dense = dense
            got = []
            for q in questions:
                try:
                    a = engine.ask(q["text"], q.get("history") or None, 5)
                    got.append((a.found, a.answer, a.citation.start))
                except Exception:  # noqa: BLE001 (bad input is refused the same way by both)
                    got.append((False, "refused", -1))
            got_answers[name] = got
    finally:
        engine.index.dense = original
    same = sum(x == y for x, y in zip(got_answers["exact"], got_answers["approx"], strict=True))
    e, a = summary_ms(exact_t), summary_ms(approx_t)
    return {
        "k": k,
        "queries": len(recalls),
        "recall": float(np.mean(recalls)),
        "min_recall": float(np.min(recalls)),
        "exact_ms": e,
        "exact_1thread_ms": summary_ms(exact_1t),
        "faiss_threads": threads,
        "approx_ms": a,
        "speedup_p50": e["p50"] / a["p50"] if a["p50"] else float("nan"),
        "sweep": sweep,
        "same_answers": same if answers else None,
        "hnsw": {
            "M": qa_index.HNSW_M,
            "ef_search": ef0,
            "configured": configured,
            "built_for_comparison_s": built,
        },
    }


def baseline(engine: Any, questions: list[dict[str, Any]]) -> dict[str, Any]:
    """Our ask vs the same ask with BM25 rebuilt from the corpus for every query.

    The baseline is given the corpus tokens ready-made (tokenised once, up front), so it only pays
    for rebuilding the BM25 statistics — a lower bound on stacks that also re-tokenise per query.
    Its answers must equal ours (same tokens, same parameters), so both sides do the same work
    apart from the rebuild.
    """
    from qa.bm25 import BM25
    from qa.text import tokenize

    started = time.perf_counter()
    tokens = [tokenize(t) for t in engine.index.indexed_texts()]
    tokenise_s = time.perf_counter() - started
    stored = engine.index.bm25
    ours, theirs, same = [], [], 0
    try:
        for q in questions:
            engine.index.bm25 = stored
            t0 = time.perf_counter()
            mine = engine.ask(q["text"], None, 5)
            t1 = time.perf_counter()
            engine.index.bm25 = BM25.fit(tokens, k1=stored.k1, b=stored.b)
            other = engine.ask(q["text"], None, 5)
            t2 = time.perf_counter()
            ours.append(t1 - t0)
            theirs.append(t2 - t1)
            same += (mine.answer, mine.found) == (other.answer, other.found)
    finally:
        engine.index.bm25 = stored
    o, t = summary_ms(ours), summary_ms(theirs)
    return {
        "queries": len(questions),
        "ours_ms": o,
        "rebuild_ms": t,
        "ratio_p50": t["p50"] / o["p50"] if o["p50"] else float("nan"),
        "same_answers": same,
        "corpus_tokenise_s": tokenise_s,
    }


def warm_build(args: argparse.Namespace) -> dict[str, Any]:
    """build_index on an unchanged corpus, twice in one process: first cold process, then warm process."""
    from qa.index import build_index

    runs = []
    for _ in range(args.repeat):
        started = time.perf_counter()
        report = build_index([args.sources], args.index, args.model)
        runs.append(
            {
                "seconds": time.perf_counter() - started,
                "embedded": report.embedded,
                "cached": report.cached,
                "chunks": report.chunks,
            }
        )
    return {"runs": runs, "peak_rss": proc_status().get("VmHWM", 0)}


def qa_command(argv: list[str]) -> None:
    """`qa ARGV` in this process; at exit, print its peak RSS (VmHWM) as the last stdout line.

    (The peak is read here because a child's ru_maxrss on Linux also counts the memory its parent
    had when it forked.)
    """
    import atexit

    import qa.index
    from qa.cli import cli

    seconds: list[float] = []
    real_build = qa.index.build_index

    def timed_build(*args: Any, **kwargs: Any) -> Any:
        report = real_build(*args, **kwargs)
        seconds.append(report.seconds)  # the CLI prints it to 0.1 s only
        return report

    qa.index.build_index = timed_build
    atexit.register(
        lambda: print(
            json.dumps({"peak_rss": proc_status().get("VmHWM", 0), "build_seconds": seconds[0] if seconds else None}),
            flush=True,
        )
    )
    cli.main(args=argv, prog_name="qa")


def main() -> None:
    import sys

    if sys.argv[1:2] == ["qa"]:
        qa_command(sys.argv[2:])
        return
    parser = argparse.ArgumentParser(prog="python -m bench.child")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("ask")
    p.add_argument("--index", required=True)
    p.add_argument("--questions", required=True)
    p.add_argument("--ann", action="store_true")
    p.add_argument("--no-ann-answers", action="store_true", help="skip the end-to-end answer comparison")
    p.add_argument("--baseline", type=int, default=0)
    p = sub.add_parser("warm-build")
    p.add_argument("--index", required=True)
    p.add_argument("--sources", required=True)
    p.add_argument("--model", default=None)
    p.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    result = ask(args) if args.command == "ask" else warm_build(args)
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
