"""Load: 50 concurrent gradio_client clients x 20 questions against a local app (127.0.0.1 only).

Every request must come back as a well-formed answer with no errors; p50/p95 are reported
(printed, and recorded as test properties). Memory: the app's RSS after 2 000 requests must be
within 10 % of its RSS after the first 200 (no leak). Bounded in requests and time; stops by itself.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

CLIENTS = 50
PER_CLIENT = 20
DEADLINE_S = 600  # per phase


@pytest.fixture(scope="module")
def questions(seed_dir: Path) -> list[str]:
    from bench.questions import generate

    return [q.text for q in generate(seed_dir, n=300) if not q.history]


@pytest.mark.slow
def test_50_clients_x_20_questions_then_no_leak_after_2000(
    real_index_dir: Path, questions: list[str], tmp_path: Path, record_property: Any
) -> None:
    from bench.load import run_load
    from bench.measure import percentile, rss
    from bench.server import app_available, running_app

    if not app_available():
        pytest.skip("app.py has no /ask endpoint yet")
    with running_app(real_index_dir, tmp_path / "app.log") as app:

        def phase(per_client: int) -> Any:
            result = run_load(app.url, questions, clients=CLIENTS, per_client=per_client, deadline_s=DEADLINE_S)
            assert result.errors == [], result.errors[:5]
            assert result.bad_shape == [], result.bad_shape[:5]
            assert len(result.latencies) == CLIENTS * per_client
            return result

        phase(4)  # requests 1-200: warm-up and sessions
        after_200 = rss(app.pid)
        main = phase(PER_CLIENT)  # requests 201-1200: the measured load
        phase(16)  # requests 1201-2000
        after_2000 = rss(app.pid)
        log = app.log_text()

    ms = [t * 1000 for t in main.latencies]
    p50, p95 = percentile(ms, 50), percentile(ms, 95)
    for name, value in (
        ("p50_ms", p50),
        ("p95_ms", p95),
        ("rss_after_200_mib", after_200 / 2**20),
        ("rss_after_2000_mib", after_2000 / 2**20),
        ("requests_per_s", len(ms) / main.seconds),
    ):
        record_property(name, round(value, 1))
    print(
        f"\nload: {CLIENTS} clients x {PER_CLIENT} questions, {len(ms)} requests in {main.seconds:.1f} s: "
        f"p50 {p50:.0f} ms, p95 {p95:.0f} ms; {main.answered} answered. "
        f"RSS after 200 requests {after_200 / 2**20:.0f} MiB, after 2000 {after_2000 / 2**20:.0f} MiB"
    )
    assert main.answered > len(ms) // 2  # most generated questions are about the report
    assert "Traceback" not in log, log[-2000:]
    assert after_2000 <= 1.10 * after_200, f"RSS grew from {after_200 / 2**20:.0f} to {after_2000 / 2**20:.0f} MiB"
