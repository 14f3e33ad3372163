"""Run the chat app (`python app.py --host 127.0.0.1 --port N --index DIR`) in a subprocess.

Used by the HTTP benchmark and by the load and security tests. Loopback only; the process is
stopped (by its own pid) when the context exits.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
START_TIMEOUT = float(os.environ.get("QA_APP_START_TIMEOUT", "180"))


@dataclass(frozen=True)
class App:
    url: str
    port: int
    pid: int
    log: Path
    seconds_to_ready: float

    def log_text(self) -> str:
        try:
            return self.log.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def get(url: str, timeout: float = 5.0) -> tuple[int, bytes]:
    """Status and body of a GET (errors as their status; 0 when nothing answers)."""
    request = urllib.request.Request(url, headers={"User-Agent": "qa-bench"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (loopback only)
            return int(response.status), response.read()
    except urllib.error.HTTPError as error:
        return int(error.code), error.read()
    except (urllib.error.URLError, OSError):
        return 0, b""


def app_available() -> bool:
    """Is app.py the Gradio app (not the placeholder that predates it)?"""
    try:
        text = (ROOT / "app.py").read_text(encoding="utf-8")
    except OSError:
        return False
    return 'api_name="ask"' in text or "api_name='ask'" in text


@contextmanager
def running_app(
    index_dir: str | Path,
    log: str | Path,
    host: str | None = "127.0.0.1",
    extra: Sequence[str] = (),
    env: dict[str, str] | None = None,
) -> Iterator[App]:
    """The app serving ``index_dir``; ``host=None`` leaves the bind address to the app's default."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    log = Path(log)
    full_env = os.environ | {"PYTHONUNBUFFERED": "1", "GRADIO_ANALYTICS_ENABLED": "False"} | (env or {})
    command = [sys.executable, str(ROOT / "app.py"), "--index", str(index_dir), "--port", str(port)]
    if host is not None:
        command += ["--host", host]
    command += list(extra)
    started = time.perf_counter()
    with open(log, "w", encoding="utf-8") as out, open(os.devnull, "rb") as devnull:
        proc = subprocess.Popen(command, cwd=ROOT, env=full_env, stdin=devnull, stdout=out, stderr=subprocess.STDOUT)
    app = App(url, port, proc.pid, log, 0.0)
    try:
        while get(url + "config", timeout=2)[0] != 200:
            if proc.poll() is not None:
                raise RuntimeError(f"app.py exited with {proc.returncode}:\n{app.log_text()[-3000:]}")
            if time.perf_counter() - started > START_TIMEOUT:
                raise RuntimeError(f"app.py not serving after {START_TIMEOUT:.0f} s:\n{app.log_text()[-3000:]}")
            time.sleep(0.2)
        yield App(url, port, proc.pid, log, time.perf_counter() - started)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)


def client(url: str):  # type: ignore[no-untyped-def]
    """A quiet gradio_client Client for a local app."""
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    from gradio_client import Client

    try:
        return Client(url, verbose=False, analytics_enabled=False, download_files=False)
    except TypeError:  # older gradio_client without some of these options
        return Client(url, verbose=False)
