"""Test helpers: run `python app.py` in a subprocess on a free port and wait until it serves; a small
index of several real reports (built once per test session)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
START_TIMEOUT = 120.0
PROVINCES = Path(os.environ.get("QA_PROVINCES", ROOT.parent / "shared" / "corpora" / "provinces-2025"))
# Three 2025 provincial reports: enough to compare, filter by place and pick reports on the page.
MULTI_REPORTS = ("2025年北京市政府工作报告.docx", "2025年上海市政府工作报告.docx", "2025年浙江省政府工作报告.docx")


@dataclass(frozen=True)
class RunningApp:
    url: str
    log: Path
    seconds_to_ready: float


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "config", timeout=2) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


@contextmanager
def running_app(index_dir: Path, log: Path, extra: Sequence[str] = ()) -> Iterator[RunningApp]:
    """The app serving ``index_dir`` on 127.0.0.1 (stdout and stderr in ``log``); stopped on exit."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    env = os.environ | {"PYTHONUNBUFFERED": "1", "GRADIO_ANALYTICS_ENABLED": "False"}
    started = time.perf_counter()
    with open(log, "w", encoding="utf-8") as out:
        command = [sys.executable, str(ROOT / "app.py"), "--index", str(index_dir), "--port", str(port), *extra]
        proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        while not _ready(url):
            if proc.poll() is not None:
                raise RuntimeError(f"app.py exited with {proc.returncode}:\n{log.read_text(encoding='utf-8')}")
            if time.perf_counter() - started > START_TIMEOUT:
                raise RuntimeError(f"app.py not serving after {START_TIMEOUT} s:\n{log.read_text(encoding='utf-8')}")
            time.sleep(0.2)
        yield RunningApp(url, log, time.perf_counter() - started)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)


_shared: dict[Path, RunningApp] = {}


def shared_app(index_dir: Path, request: Any, tmp_path_factory: Any) -> RunningApp:
    """One app per index for the whole test session (API and browser tests share it).

    Call from session-scoped fixtures: the app stops when the session ends.
    """
    if index_dir not in _shared:
        stack = ExitStack()
        log = tmp_path_factory.mktemp("app") / "app.log"
        _shared[index_dir] = stack.enter_context(running_app(index_dir, log))
        request.addfinalizer(stack.close)
        request.addfinalizer(lambda: _shared.pop(index_dir, None))
    return _shared[index_dir]


_multi: dict[str, Path] = {}


def multi_index_dir(tmp_path_factory: Any) -> Path:
    """An index (real model) of the three reports in MULTI_REPORTS, built once per test session
    (about a minute); the test skips when the corpus is not there."""
    import pytest

    if "index" not in _multi:
        missing = [name for name in MULTI_REPORTS if not (PROVINCES / name).is_file()]
        if missing:
            pytest.skip(f"the provincial reports are not in {PROVINCES}: {', '.join(missing)}")
        from qa.index import build_index

        folder = tmp_path_factory.mktemp("multi")
        sources = folder / "reports"
        sources.mkdir()
        for name in MULTI_REPORTS:
            shutil.copy(PROVINCES / name, sources / name)
        build_index([sources], folder / "index")
        _multi["index"] = folder / "index"
    return _multi["index"]
