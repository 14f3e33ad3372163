"""Hybrid retrieval: reciprocal-rank fusion against an oracle, rerank features, and recall on the report."""

from __future__ import annotations

from dataclasses import fields, replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from qa.embed import HashEmbedder
from qa.engine import Engine
from qa.index import Index, load_index
from qa.query import Question, analyse, query_tokens
from qa.retrieve import RetrievalSettings, coverage, period_match, retrieve
from qa.types import Chunk

QUESTIONS = [
    "2016年天津一般公共预算收入是多少？",
    "2017年天津计划建成多少套保障性住房？",
    "深化国企改革以什么为突破口？",
    "天津港货物吞吐量是多少？",
    "How many containers did Tianjin Port handle in 2016?",
    "今天天气怎么样？",
]


def pure_rrf(**overrides: Any) -> RetrievalSettings:
    """Settings whose final score is the fused RRF score alone (every rerank weight 0)."""
    zero: dict[str, Any] = {f.name: 0.0 for f in fields(RetrievalSettings) if f.name.startswith("w_")}
    return replace(RetrievalSettings(), **{**zero, "w_rrf": 1.0, **overrides})


def rrf_oracle(index: Index, q: Question, query_vector: np.ndarray, s: RetrievalSettings) -> dict[int, float]:
    _, dense_ids = index.search_dense(query_vector, s.candidates)
    tokens = query_tokens(q)
    bm25 = index.bm25.scores(list(tokens), tokens)
    order = [int(i) for i in np.argsort(-bm25) if bm25[i] > 0][: s.candidates]
    fused: dict[int, float] = {}
    for rank, pos in enumerate(dense_ids.tolist()):
        fused[pos] = fused.get(pos, 0.0) + s.dense_weight / (s.rrf_k + rank + 1)
    for rank, pos in enumerate(order):
        fused[pos] = fused.get(pos, 0.0) + s.bm25_weight / (s.rrf_k + rank + 1)
    return fused


@pytest.fixture(scope="module")
def fake_index(fake_index_dir: Path) -> Index:
    return load_index(fake_index_dir)


@pytest.fixture(scope="module")
def hash_embedder() -> HashEmbedder:
    return HashEmbedder(64)


@pytest.mark.parametrize("question", QUESTIONS)
@pytest.mark.parametrize("candidates", [5, 40])
def test_pure_rrf_scores_match_the_oracle(
    question: str, candidates: int, fake_index: Index, hash_embedder: HashEmbedder
) -> None:
    q = analyse(question, 2017)
    qv = hash_embedder.embed_queries([q.search_text])[0]
    s = pure_rrf(candidates=candidates)
    want = rrf_oracle(fake_index, q, qv, s)
    got = retrieve(fake_index, hash_embedder, q, k=1000, settings=s)
    assert {r.position: r.score for r in got} == pytest.approx(want)
    assert len(got) == len(want) <= 2 * candidates
    scores = [r.score for r in got]
    assert scores == sorted(scores, reverse=True)


def test_a_chunk_found_by_both_retrievers_outranks_one_found_by_one(
    fake_index: Index, hash_embedder: HashEmbedder
) -> None:
    q = analyse("2016年天津一般公共预算收入是多少？", 2017)
    qv = hash_embedder.embed_queries([q.search_text])[0]
    s = pure_rrf()
    _, dense_ids = fake_index.search_dense(qv, s.candidates)
    tokens = query_tokens(q)
    bm25 = fake_index.bm25.scores(list(tokens), tokens)
    dense_set = set(dense_ids.tolist())
    bm25_set = {int(i) for i in np.argsort(-bm25)[: s.candidates] if bm25[i] > 0}
    assert dense_set & bm25_set, "the test question should be found by both retrievers"
    got = retrieve(fake_index, hash_embedder, q, k=1000, settings=s)
    assert {r.position for r in got} == dense_set | bm25_set
    # in both lists: at least 2/(k + candidates); in one list: at most 1/(k + 1), which is less
    assert 2 / (s.rrf_k + s.candidates) > 1 / (s.rrf_k + 1)
    for r in got:
        if r.position in dense_set and r.position in bm25_set:
            assert r.score >= 2 / (s.rrf_k + s.candidates) - 1e-9
        else:
            assert r.score <= 1 / (s.rrf_k + 1) + 1e-9
    ranks = [r.position in dense_set and r.position in bm25_set for r in got]
    assert ranks == sorted(ranks, reverse=True)  # every two-list chunk comes before every one-list chunk


def test_retriever_weights_switch_between_dense_and_bm25(fake_index: Index, hash_embedder: HashEmbedder) -> None:
    q = analyse("天津港货物吞吐量是多少？", 2017)
    qv = hash_embedder.embed_queries([q.search_text])[0]
    tokens = query_tokens(q)
    bm25 = fake_index.bm25.scores(list(tokens), tokens)
    bm25_only = retrieve(fake_index, hash_embedder, q, k=5, settings=pure_rrf(dense_weight=0.0))
    assert [bm25[r.position] for r in bm25_only] == sorted(bm25[np.argsort(-bm25)[:5]], reverse=True)
    dense_only = retrieve(fake_index, hash_embedder, q, k=5, settings=pure_rrf(bm25_weight=0.0))
    _, dense_ids = fake_index.search_dense(qv, 5)
    assert [r.position for r in dense_only] == dense_ids.tolist()


@pytest.mark.parametrize("k", [1, 3, 10])
def test_results_are_unique_sorted_and_at_most_k(k: int, fake_index: Index, hash_embedder: HashEmbedder) -> None:
    for question in QUESTIONS:
        got = retrieve(fake_index, hash_embedder, analyse(question, 2017), k=k)
        positions = [r.position for r in got]
        assert len(positions) == len(set(positions)) <= k
        assert [r.score for r in got] == sorted((r.score for r in got), reverse=True)
        for r in got:
            assert 0.0 <= r.coverage <= 1.0
            assert 0.0 <= r.bm25 <= 1.0
            assert r.period_match in (-1, 0, 1)


def test_period_match_prefers_the_asked_year(fake_index: Index) -> None:
    q2016 = analyse("2016年天津一般公共预算收入是多少？", 2017)
    q2017 = analyse("2017年天津一般公共预算收入预期增长多少？", 2017)
    none = analyse("一般公共预算收入是多少？", 2017)

    def chunk(period: int | None, phase: str = "", first: int | None = None) -> Chunk:
        return Chunk("c", "d.txt", (), "", 0, 0, period=period, phase=phase, period_from=first)

    assert period_match(q2016, chunk(2016, "review")) == 1
    assert period_match(q2016, chunk(2017, "plan")) == -1
    assert period_match(q2017, chunk(2017, "plan")) == 1
    assert period_match(q2016, chunk(None)) == 0
    assert period_match(none, chunk(2016)) == 0
    past = replace(q2016, tense="past")
    assert period_match(past, chunk(2016, "plan")) == -1  # a result asked, a target found
    assert period_match(replace(past, tense_inferred=True), chunk(2016, "plan")) == 0  # only a preference
    assert period_match(past, chunk(2016, "review", 2012)) == 0  # one year asked, five reviewed


def test_coverage_counts_terms_and_their_equivalents() -> None:
    weights = {"天津港": 2.0, "集装箱": 1.0}
    assert coverage("天津港集装箱吞吐量", ("天津港", "集装箱"), weights, {}) == 1.0
    assert coverage("天津港货物", ("天津港", "集装箱"), weights, {}) == pytest.approx(2 / 3)
    assert coverage("标准箱", ("天津港", "集装箱"), weights, {"集装箱": ("标准箱",)}) == pytest.approx(1 / 3)
    assert coverage("无关", ("天津港",), weights, {}) == 0.0
    assert coverage("任何", (), {}, {}) == 0.0


# --- the real index: the evidence paragraph must be among the top passages -----------------------

EVIDENCE = [
    ("2016年天津全市生产总值是多少？", "预计去年全市生产总值17800亿元"),
    ("2017年天津生产总值预期增长多少？", "主要预期目标是：生产总值增长8%"),
    ("2016年天津一般公共预算收入是多少？", "一般公共预算收入2723亿元"),
    ("2017年天津计划建成多少套保障性住房？", "建成保障性住房"),
    ("深化国企改革以什么为突破口？", "以推进混合所有制改革为突破口"),
    ("2016年天津港货物吞吐量是多少？", "货物吞吐量"),
]


@pytest.mark.parametrize(("question", "evidence"), EVIDENCE)
def test_real_index_retrieves_the_evidence_in_the_top_five(question: str, evidence: str, engine: Engine) -> None:
    q = engine.analyse(question)
    got = retrieve(engine.index, engine.embedder, q, k=5, settings=engine.settings)
    texts = [engine.index.chunks[r.position].text for r in got]
    assert any(evidence in t for t in texts), texts
