"""Concurrent gradio_client clients against a running app: latency under load and error count.

Traffic goes only to the URL given (the tests and the benchmark start the app on 127.0.0.1).
Every loop is bounded by the number of questions and by a deadline.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from bench.server import client


@dataclass
class LoadResult:
    clients: int
    per_client: int
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    bad_shape: list[str] = field(default_factory=list)
    answered: int = 0

    @property
    def requests(self) -> int:
        return len(self.latencies) + len(self.errors)


def answer_shape_problem(result: Any) -> str:
    """'' when ``result`` looks like an /ask answer; otherwise what is wrong with it."""
    if not isinstance(result, dict):
        return f"not a dict: {type(result).__name__}"
    for key, kind in (
        ("question", str),
        ("found", bool),
        ("answer", str),
        ("confidence", (int, float)),
        ("citation", dict),
        ("passages", list),
    ):
        if not isinstance(result.get(key), kind):
            return f"{key!r} missing or not {kind}"
    if not 0.0 <= float(result["confidence"]) <= 1.0:
        return f"confidence {result['confidence']} outside [0, 1]"
    if result["found"] and not result["answer"]:
        return "found without an answer"
    return ""


def run_load(
    url: str,
    questions: Sequence[str],
    clients: int = 50,
    per_client: int = 20,
    deadline_s: float = 900.0,
    k: int = 3,
    check: Callable[[Any], str] = answer_shape_problem,
) -> LoadResult:
    """``clients`` threads, each with its own Client, each asking ``per_client`` questions in turn."""
    result = LoadResult(clients, per_client)
    lock = threading.Lock()
    start_gate = threading.Barrier(clients)
    stop_at = time.monotonic() + deadline_s

    def worker(n: int) -> None:
        try:
            c = client(url)
        except Exception as error:  # noqa: BLE001 (reported, not raised)
            with lock:
                result.errors.append(f"client {n}: connect: {error!r}")
            start_gate.abort()
            return
        with contextlib.suppress(threading.BrokenBarrierError):
            start_gate.wait(timeout=120)
        for i in range(per_client):
            if time.monotonic() > stop_at:
                with lock:
                    result.errors.append(f"client {n}: deadline reached after {i} questions")
                return
            q = questions[(n * per_client + i) % len(questions)]
            t0 = time.perf_counter()
            try:
                got = c.predict(q, None, k, api_name="/ask")
            except Exception as error:  # noqa: BLE001
                with lock:
                    result.errors.append(f"client {n} q{i} {q!r}: {error!r}")
                continue
            dt = time.perf_counter() - t0
            problem = check(got)
            with lock:
                result.latencies.append(dt)
                if problem:
                    result.bad_shape.append(f"{q!r}: {problem}")
                elif isinstance(got, dict) and got.get("found"):
                    result.answered += 1
        with contextlib.suppress(Exception):
            c.close()

    started = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(n,), daemon=True) for n in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=max(1.0, stop_at - time.monotonic() + 30))
    result.seconds = time.perf_counter() - started
    return result


def sequential(url: str, questions: Sequence[tuple[str, Any]], k: int = 5) -> tuple[list[float], list[str]]:
    """One client asking each (question, history) in turn: latencies (s) and errors."""
    c = client(url)
    times, errors = [], []
    for q, history in questions:
        t0 = time.perf_counter()
        try:
            c.predict(q, history, k, api_name="/ask")
        except Exception as error:  # noqa: BLE001
            errors.append(f"{q!r}: {error!r}")
            continue
        times.append(time.perf_counter() - t0)
    with contextlib.suppress(Exception):
        c.close()
    return times, errors
