"""Test helper: run `python app.py` in a subprocess on a free port and wait until it serves."""

from __future__ import annotations

import os
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
