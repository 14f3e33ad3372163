"""Fault tolerance end to end: every broken, foreign, stale or half-built index is refused or reported
with a message that names the fix (through the library and the `qa` command), and never answers
silently from the wrong data. Builds killed with SIGKILL or failing on a full disk leave the previous
index in place, loadable and answering as before.

(test_index.py covers the same faults at the load_index level; here they go through Engine.load,
the CLI and real processes.)
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import qa.index
from qa.cli import cli
from qa.embed import HashEmbedder
from qa.engine import Engine
from qa.index import IndexError_, build_index, load_index, stale_reasons

ROOT = Path(__file__).resolve().parents[1]
QUESTION = "2016年天津港货物吞吐量是多少？"
MODEL = "fake:hash-64"


@pytest.fixture
def sources(tmp_path: Path, seed_dir: Path) -> Path:
    folder = tmp_path / "src"
    shutil.copytree(seed_dir, folder)
    return folder


@pytest.fixture
def built(sources: Path, tmp_path: Path) -> Path:
    """A good index of a copy of the seed, built with the fake model."""
    index = tmp_path / "index"
    build_index([sources], index, MODEL)
    return index


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def _answer(index: Path) -> tuple[bool, str, str]:
    a = Engine.load(index).ask(QUESTION)
    return a.found, a.answer, a.citation.doc


def _cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.output  # stdout and stderr, as a terminal shows them


def _refused_everywhere(index: Path, *words: str, model: str | None = None) -> None:
    """Engine.load refuses with IndexError_ naming the fix; `qa ask` exits 1 with the same, no traceback."""
    with pytest.raises(IndexError_) as caught:
        Engine.load(index, model=model)
    message = str(caught.value)
    assert "qa build" in message
    for word in words:
        assert word in message, message
    if model is None:
        code, output = _cli("ask", QUESTION, "--index", str(index))
        assert code == 1
        assert "error:" in output and "qa build" in output
        assert "Traceback" not in output
        assert "吞吐量" not in output  # no answer was printed


# --- broken or foreign index folders ------------------------------------------------------------


def test_missing_index_folder(tmp_path: Path) -> None:
    _refused_everywhere(tmp_path / "nowhere", "no index")


def test_manifest_from_another_format_version(built: Path) -> None:
    path = built / "manifest.json"
    manifest = json.loads(path.read_text(encoding="utf-8"))
    manifest["format_version"] = qa.index.FORMAT_VERSION + 1
    path.write_text(json.dumps(manifest), encoding="utf-8")
    _refused_everywhere(built, "version")


def test_index_built_with_another_model(built: Path) -> None:
    _refused_everywhere(built, MODEL, "other-model", model="other-model")
    assert _answer(built)[0]  # the right model still loads it


@pytest.mark.parametrize("name", ["dense.faiss", "bm25.npz", "chunks.jsonl", "embeddings.npy"])
@pytest.mark.parametrize("damage", ["truncate", "flip"])
def test_truncated_or_corrupted_file(name: str, damage: str, built: Path) -> None:
    path = built / name
    data = bytearray(path.read_bytes())
    if damage == "truncate":
        path.write_bytes(bytes(data[: len(data) * 2 // 3]))
        _refused_everywhere(built, name, "truncated")
    else:  # same size, one bit different: only the checksum can tell
        data[len(data) // 2] ^= 0x10
        path.write_bytes(bytes(data))
        _refused_everywhere(built, name, "checksum")


def test_file_from_another_build_is_refused(built: Path, sources: Path, tmp_path: Path) -> None:
    """A whole, valid file from another build (e.g. a bad copy) is caught by the manifest."""
    (sources / "extra.txt").write_text("2016年某市报告\n一、回顾\n　　港口吞吐量3亿吨。\n", encoding="utf-8")
    other = tmp_path / "other"
    build_index([sources], other, MODEL)
    shutil.copy2(other / "bm25.npz", built / "bm25.npz")
    with pytest.raises(IndexError_, match="bm25.npz"):
        Engine.load(built)


# --- builds that die --------------------------------------------------------------------------------

KILLED_BUILD = textwrap.dedent(
    """
    import sys, time
    import numpy as np
    import qa.index
    from qa.embed import HashEmbedder
    from qa.index import build_index

    phase, sources, index = sys.argv[1:4]

    class SlowEmbedder(HashEmbedder):
        def embed_passages(self, texts):
            if phase == "embed":
                print("REACHED", flush=True)
                time.sleep(120)
            return super().embed_passages(texts)

    if phase == "write":  # after chunks.jsonl, before the vectors
        real_save = np.save
        def stalled_save(*args, **kwargs):
            print("REACHED", flush=True)
            time.sleep(120)
            return real_save(*args, **kwargs)
        qa.index.np.save = stalled_save
    if phase == "swap":  # everything written and fsynced, not yet renamed into place
        def stalled_swap(tmp, index_dir):
            print("REACHED", flush=True)
            time.sleep(120)
        qa.index._swap_into_place = stalled_swap
    build_index([sources], index, embedder=SlowEmbedder(64))
    print("FINISHED", flush=True)
    """
)


@pytest.mark.parametrize("phase", ["embed", "write", "swap"])
def test_build_killed_with_sigkill_leaves_the_previous_index(
    phase: str, built: Path, sources: Path, tmp_path: Path
) -> None:
    before = _snapshot(built)
    answer_before = _answer(built)
    # the new build has something new to embed, so it really does work before the kill
    seed = next(sources.glob("*.txt"))
    seed.write_text(seed.read_text(encoding="utf-8").replace("5.5亿吨", "6.6亿吨"), encoding="utf-8")
    script = tmp_path / "killed_build.py"
    script.write_text(KILLED_BUILD, encoding="utf-8")
    env = os.environ | {"PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, str(script), phase, str(sources), str(built)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        line = ""
        while time.monotonic() < deadline:
            line = proc.stdout.readline() if proc.stdout else ""
            if not line or line.strip() in ("REACHED", "FINISHED"):
                break
        assert line.strip() == "REACHED", (
            f"build never reached {phase}: {line!r} {proc.stderr.read() if proc.stderr else ''}"
        )
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL

    # the previous index is untouched, loads, and answers exactly as before
    assert _snapshot(built) == before
    assert _answer(built) == answer_before
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.startswith(".index.")]
    assert all(f"-{proc.pid}" in name for name in leftovers)
    # ... and the stale sources are reported, not silently served
    assert any("changed since the build" in r for r in stale_reasons(built))

    # the next build tidies the dead build's temp folder away and takes the new figure
    build_index([sources], built, MODEL)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".index.")] == []
    assert stale_reasons(built) == []
    assert any("6.6亿吨" in c.text for c in load_index(built).chunks)


def test_build_killed_between_its_renames_is_repaired_by_the_next_build(
    built: Path, sources: Path, tmp_path: Path
) -> None:
    """The one moment with no index in place: old index moved aside, new one not yet renamed in."""
    answer_before = _answer(built)
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True
    )
    pid = int(dead.stdout)  # a process that has exited
    aside = tmp_path / f".index.old-{pid}"
    os.replace(built, aside)
    shutil.copytree(aside, tmp_path / f".index.tmp-{pid}")
    with pytest.raises(IndexError_, match="qa build"):
        Engine.load(built)  # refused with the fix, not a crash
    build_index([sources], built, MODEL)
    assert _answer(built) == answer_before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".index.")] == []


def test_temp_folder_of_a_running_build_is_left_alone(built: Path, sources: Path, tmp_path: Path) -> None:
    busy = tmp_path / f".index.tmp-{os.getppid()}"  # our parent is alive
    busy.mkdir()
    build_index([sources], built, MODEL)
    assert busy.is_dir()


# --- disk full ----------------------------------------------------------------------------------


@pytest.mark.parametrize("writer", ["np.save", "faiss.write_index", "BM25.save", "manifest"])
def test_disk_full_while_writing(
    writer: str, built: Path, sources: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = _snapshot(built)
    answer_before = _answer(built)
    seed = next(sources.glob("*.txt"))
    seed.write_text(seed.read_text(encoding="utf-8") + "\n　　新增的一段。\n", encoding="utf-8")

    def full(*args: object, **kwargs: object) -> None:
        target = next((a for a in args if isinstance(a, (str, Path))), None)
        if target is not None:
            Path(target).write_bytes(b"\0" * 100)  # a partial file, as a real full disk leaves
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    if writer == "np.save":
        monkeypatch.setattr(qa.index.np, "save", full)
    elif writer == "faiss.write_index":
        import faiss

        monkeypatch.setattr(faiss, "write_index", full)
    elif writer == "BM25.save":
        monkeypatch.setattr(qa.index.BM25, "save", lambda self, path: full(path))
    else:
        real = Path.write_text

        def write_text(self: Path, data: str, *args: object, **kwargs: object) -> int:
            if self.name == "manifest.json":
                full(self)
            return real(self, data, *args, **kwargs)  # type: ignore[arg-type]

        monkeypatch.setattr(Path, "write_text", write_text)

    with pytest.raises(OSError) as caught:
        build_index([sources], built, MODEL)
    assert caught.value.errno == errno.ENOSPC
    code, output = _cli("build", str(sources), "--index", str(built), "--model", MODEL, "-q")
    monkeypatch.undo()
    assert code == 1
    assert "No space left on device" in output and "unchanged" in output and "qa build" in output
    assert "Traceback" not in output
    # no partial index replaced the good one, and no temp folder is left behind
    assert _snapshot(built) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["index", "src"]
    assert _answer(built) == answer_before


# --- sources changed after the build ---------------------------------------------------------------


def test_changed_source_is_reported_as_stale_by_library_and_cli(built: Path, sources: Path) -> None:
    seed = next(sources.glob("*.txt"))
    seed.write_text(seed.read_text(encoding="utf-8").replace("5.5亿吨", "5.9亿吨"), encoding="utf-8")
    reasons = stale_reasons(built)
    assert reasons == [f"{seed.name} changed since the build"]
    code, output = _cli("ask", QUESTION, "--index", str(built))
    assert code == 0
    assert "out of date" in output and "changed since the build" in output and "qa build" in output


def test_removed_source_is_reported_as_stale(built: Path, sources: Path) -> None:
    seed = next(sources.glob("*.txt"))
    seed.unlink()
    assert stale_reasons(built) == [f"{seed.name} was removed"]
    code, output = _cli("ask", QUESTION, "--index", str(built))
    assert "out of date" in output and "was removed" in output
    shutil.rmtree(sources)
    assert any("is gone" in r for r in stale_reasons(built))


def test_fresh_index_gives_no_stale_warning(built: Path) -> None:
    assert stale_reasons(built) == []
    code, output = _cli("ask", QUESTION, "--index", str(built))
    assert code == 0 and "out of date" not in output


def test_verified_load_answers_from_the_vectors_it_checked(built: Path) -> None:
    """Vectors in the loaded FAISS index are the ones the manifest's checksum covers."""
    index = load_index(built)
    stored = np.load(built / "embeddings.npy")
    probe = HashEmbedder(64).embed_queries([QUESTION])[0]
    scores, ids = index.search_dense(probe, 5)
    np.testing.assert_allclose(scores, stored[ids] @ probe, rtol=1e-5)
