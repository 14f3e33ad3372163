"""Hybrid retrieval: dense (FAISS) + BM25 candidates, fused by reciprocal rank, then reranked.

The rerank scores each candidate on features that generalise across reports: dense
similarity, BM25, how much of the question's topic the chunk covers (IDF-weighted),
and whether the chunk's section speaks of the year the question asks about.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from qa.embed import Embedder
from qa.index import Index
from qa.query import Question, query_tokens
from qa.text import normalize
from qa.types import Chunk

ABSENT_TERM_WEIGHT = 3.0


@dataclass(frozen=True)
class RetrievalSettings:
    candidates: int = 40  # taken from each of dense and BM25 before fusion
    rrf_k: float = 60.0
    dense_weight: float = 1.0
    bm25_weight: float = 1.0
    # rerank: final = rrf + coverage + dense + period terms
    w_rrf: float = 20.0
    w_coverage: float = 1.0
    w_dense: float = 1.0
    w_period: float = 0.35
    w_bigram: float = 0.5


@dataclass(frozen=True)
class Scored:
    position: int  # chunk position in the index
    score: float
    dense: float
    bm25: float
    coverage: float
    period_match: int  # 1 match, -1 mismatch, 0 unknown


def term_weight(index: Index, term: str) -> float:
    """IDF of a topic term from BM25 statistics; unseen multi-token terms use their parts."""
    from qa.text import tokenize

    idf = index.bm25.idf(term)
    if idf == 0.0:
        parts = [index.bm25.idf(t) for t in tokenize(term)]
        idf = max(parts) if parts else 0.0
    if idf == 0.0:
        return ABSENT_TERM_WEIGHT  # a word the reports never use: specific, and worth noticing missing
    return max(idf, 0.5)


def coverage(
    text_norm: str, terms: tuple[str, ...], weights: dict[str, float], groups: dict[str, tuple[str, ...]]
) -> float:
    """IDF-weighted share of topic terms found in a text; a term counts if it or an equivalent is there.

    >>> coverage("天津港货物吞吐量5.5亿吨", ("天津港", "集装箱"), {"天津港": 1.0, "集装箱": 1.0}, {})
    0.5
    """
    total = sum(weights.get(t, 1.0) for t in terms)
    if total == 0:
        return 0.0
    hit = 0.0
    for term in terms:
        variants = (term, *groups.get(term, ()))
        if any(v in text_norm for v in variants):
            hit += weights.get(term, 1.0)
        elif len(term) >= 3 and sum(ch in text_norm for ch in term) / len(term) >= 0.67:
            hit += 0.5 * weights.get(term, 1.0)  # most characters there (研发投入 ~ 研发经费)
    return hit / total


def period_match(question: Question, chunk: Chunk) -> int:
    """1 when a chunk's section speaks of a year the question asks about (in the asked-for phase:
    a result for a past question, a target for a future one), -1 for another year or phase, else 0."""
    if chunk.period is None or not question.years:
        return 0
    if not any(chunk.covers(y) for y in question.years):
        return -1
    wanted = {"past": "review", "future": "plan"}.get(question.tense, "")
    if wanted and chunk.phase and chunk.phase != wanted:
        return 0 if question.tense_inferred else -1  # an inferred tense only prefers
    if chunk.period_from is not None and len(question.years) == 1:
        return 0  # one year asked, a section on several: maybe
    return 1


def retrieve(
    index: Index,
    embedder: Embedder,
    question: Question,
    k: int,
    settings: RetrievalSettings | None = None,
    query_vector: np.ndarray | None = None,
    positions: np.ndarray | None = None,
) -> list[Scored]:
    """Top-k chunks for a question, best first; only among ``positions`` when given (chosen reports)."""
    s = settings or RetrievalSettings()
    n = len(index.chunks)
    if query_vector is None:
        query_vector = embedder.embed_queries([question.search_text])[0]
    dense_scores, dense_ids = index.search_dense(query_vector, s.candidates, positions)
    tokens = query_tokens(question)  # jieba runs once per query
    bm25_all = index.bm25.scores(list(tokens), tokens)
    if positions is not None:
        allowed = np.zeros(n, dtype=bool)
        allowed[positions] = True
        bm25_all = np.where(allowed, bm25_all, 0.0)
    top_bm25 = np.argsort(-bm25_all)[: s.candidates]
    top_bm25 = top_bm25[bm25_all[top_bm25] > 0]

    fused: dict[int, float] = {}
    for rank, pos in enumerate(dense_ids.tolist()):
        fused[pos] = fused.get(pos, 0.0) + s.dense_weight / (s.rrf_k + rank + 1)
    for rank, pos in enumerate(top_bm25.tolist()):
        fused[pos] = fused.get(pos, 0.0) + s.bm25_weight / (s.rrf_k + rank + 1)
    dense_of = dict(zip(dense_ids.tolist(), dense_scores.tolist(), strict=True))
    bm25_max = float(bm25_all.max()) if n else 0.0

    terms = question.terms + question.extra_terms
    weights = {t: term_weight(index, t) for t in terms}
    groups = equivalence_map(question)
    results = []
    for pos, rrf in fused.items():
        chunk = index.chunks[pos]
        dense = dense_of.get(pos)
        if dense is None:
            dense = float(index_vector(index, pos) @ query_vector)
        text = normalize(" ".join(chunk.section[-1:]) + " " + chunk.text)
        cov = coverage(text, terms, weights, groups) if terms else 0.0
        pm = period_match(question, chunk)
        grams = sum(g in text for g in question.bigrams) / len(question.bigrams) if question.bigrams else 0.0
        score = s.w_rrf * rrf + s.w_coverage * cov + s.w_dense * dense + s.w_period * pm + s.w_bigram * grams
        bm = float(bm25_all[pos]) / bm25_max if bm25_max > 0 else 0.0
        results.append(Scored(pos, score, dense, bm, cov, pm))
    results.sort(key=lambda r: -r.score)
    return results[:k]


def equivalence_map(question: Question) -> dict[str, tuple[str, ...]]:
    """Each topic term → its equivalent report words (from the lexicon)."""
    from qa.lexicon import equivalents

    return {t: equivalents(t) for t in question.terms + question.extra_terms}


def index_vector(index: Index, position: int) -> np.ndarray:
    return np.asarray(index.dense.reconstruct(int(position)), dtype=np.float32)
