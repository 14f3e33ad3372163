"""BM25 against a brute-force NumPy re-implementation on random token corpora; save/load."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qa.bm25 import BM25

VOCAB = [f"t{i}" for i in range(30)]


def oracle(
    corpus: list[list[str]], query: list[str], k1: float = 1.5, b: float = 0.75, weights: dict[str, float] | None = None
) -> np.ndarray:
    """Lucene BM25 computed densely: a term × document count matrix, no postings."""
    terms = sorted({t for doc in corpus for t in doc} | set(query))
    col = {t: i for i, t in enumerate(terms)}
    tf = np.zeros((len(corpus), len(terms)))
    for d, doc in enumerate(corpus):
        for t in doc:
            tf[d, col[t]] += 1
    n = len(corpus)
    lengths = tf.sum(axis=1)
    avg = lengths.mean() if n and lengths.sum() else 1.0
    df = (tf > 0).sum(axis=0)
    idf = np.log(1 + (n - df + 0.5) / (df + 0.5))
    norm = k1 * (1 - b + b * lengths / avg)
    out = np.zeros(n)
    for t in dict.fromkeys(query):
        j = col[t]
        if df[j] == 0:
            continue
        w = 1.0 if weights is None else weights.get(t, 1.0)
        out += w * idf[j] * tf[:, j] * (k1 + 1) / (tf[:, j] + norm)
    return out


@pytest.mark.parametrize("seed", range(8))
def test_scores_match_the_dense_oracle_on_random_corpora(seed: int) -> None:
    rng = np.random.default_rng(seed)
    vocab = VOCAB[: rng.integers(3, len(VOCAB))]
    corpus = [list(rng.choice(vocab, size=rng.integers(0, 25))) for _ in range(rng.integers(1, 40))]
    k1, b = float(rng.uniform(0.5, 2.0)), float(rng.uniform(0.0, 1.0))
    bm = BM25.fit(corpus, k1=k1, b=b)
    for _ in range(10):
        query = list(rng.choice(VOCAB, size=rng.integers(1, 6)))  # may hold unknown terms and repeats
        np.testing.assert_allclose(bm.scores(query), oracle(corpus, query, k1, b), rtol=1e-5, atol=1e-5)


@settings(max_examples=80, deadline=None)
@given(
    st.lists(st.lists(st.sampled_from(VOCAB[:8]), max_size=12), min_size=1, max_size=15),
    st.lists(st.sampled_from(VOCAB[:10]), min_size=1, max_size=5),
    st.dictionaries(st.sampled_from(VOCAB[:10]), st.floats(0.0, 3.0), max_size=4),
)
def test_weighted_scores_match_the_oracle(corpus: list[list[str]], query: list[str], weights: dict[str, float]) -> None:
    bm = BM25.fit(corpus)
    np.testing.assert_allclose(bm.scores(query, weights), oracle(corpus, query, weights=weights), rtol=1e-5, atol=1e-5)


def test_idf_matches_the_formula_and_is_zero_for_unknown_terms() -> None:
    corpus = [["a", "b"], ["a"], ["c"], []]
    bm = BM25.fit(corpus)
    assert bm.idf("a") == pytest.approx(np.log(1 + (4 - 2 + 0.5) / (2 + 0.5)))
    assert bm.idf("c") > bm.idf("a")  # rarer terms weigh more
    assert bm.idf("zzz") == 0.0


def test_repeated_query_terms_count_once() -> None:
    bm = BM25.fit([["天津", "港口"], ["北京"], ["天津"]])
    np.testing.assert_array_equal(bm.scores(["天津"]), bm.scores(["天津", "天津", "天津"]))


def test_save_and_load_give_identical_scores(tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    corpus = [list(rng.choice(VOCAB, size=rng.integers(1, 20))) + ["天津港"] for _ in range(50)]
    bm = BM25.fit(corpus, k1=1.2, b=0.6)
    path = tmp_path / "bm25.npz"
    bm.save(path)
    loaded = BM25.load(path)
    assert loaded.vocab == bm.vocab
    assert (loaded.n_docs, loaded.k1, loaded.b) == (bm.n_docs, bm.k1, bm.b)
    for query in (["t1"], ["t2", "t3", "zzz"], ["天津港"], VOCAB):
        np.testing.assert_array_equal(loaded.scores(query), bm.scores(query))


def test_empty_documents_and_all_empty_corpus() -> None:
    bm = BM25.fit([[], ["a"], []])
    np.testing.assert_allclose(bm.scores(["a"]), oracle([[], ["a"], []], ["a"]), rtol=1e-6)
    empty = BM25.fit([[], []])
    assert empty.scores(["a"]).tolist() == [0.0, 0.0]
