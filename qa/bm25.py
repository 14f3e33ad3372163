"""BM25 (Lucene variant) over pre-tokenised documents, stored as per-term postings.

Built once at index time and saved; a query only sums the postings of its terms.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np


class BM25:
    """Term → (doc ids, precomputed BM25 weights) in CSC-like arrays.

    >>> bm = BM25.fit([["天津", "港口"], ["北京"], ["天津"]])
    >>> [round(float(s), 3) for s in bm.scores(["天津"])]
    [0.384, 0.0, 0.53]
    """

    def __init__(
        self,
        vocab: list[str],
        indptr: np.ndarray,
        doc_ids: np.ndarray,
        weights: np.ndarray,
        n_docs: int,
        k1: float,
        b: float,
    ) -> None:
        self.vocab = vocab
        self.term_index = {term: i for i, term in enumerate(vocab)}
        self.indptr = indptr
        self.doc_ids = doc_ids
        self.weights = weights
        self.n_docs = n_docs
        self.k1 = k1
        self.b = b

    @classmethod
    def fit(cls, corpus: Sequence[Sequence[str]], k1: float = 1.5, b: float = 0.75) -> BM25:
        n_docs = len(corpus)
        lengths = np.array([len(doc) for doc in corpus], dtype=np.float32)
        avg = float(lengths.mean()) if n_docs and lengths.sum() else 1.0
        postings: dict[str, list[tuple[int, int]]] = {}
        for doc_id, doc in enumerate(corpus):
            for term, tf in Counter(doc).items():
                postings.setdefault(term, []).append((doc_id, tf))
        vocab = sorted(postings)
        indptr = np.zeros(len(vocab) + 1, dtype=np.int64)
        doc_ids: list[int] = []
        weights: list[float] = []
        for i, term in enumerate(vocab):
            plist = postings[term]
            idf = math.log(1 + (n_docs - len(plist) + 0.5) / (len(plist) + 0.5))
            for doc_id, tf in plist:
                norm = k1 * (1 - b + b * lengths[doc_id] / avg)
                doc_ids.append(doc_id)
                weights.append(idf * tf * (k1 + 1) / (tf + norm))
            indptr[i + 1] = len(doc_ids)
        return cls(vocab, indptr, np.array(doc_ids, dtype=np.int32), np.array(weights, dtype=np.float32), n_docs, k1, b)

    def idf(self, term: str) -> float:
        """Inverse document frequency of a term (0 for a term not in the corpus)."""
        i = self.term_index.get(term)
        if i is None:
            return 0.0
        df = int(self.indptr[i + 1] - self.indptr[i])
        return math.log(1 + (self.n_docs - df + 0.5) / (df + 0.5))

    def scores(self, query: Sequence[str], term_weights: dict[str, float] | None = None) -> np.ndarray:
        """BM25 score of every document for the query terms (repeats count once, weights scale)."""
        out = np.zeros(self.n_docs, dtype=np.float32)
        for term in dict.fromkeys(query):
            i = self.term_index.get(term)
            if i is None:
                continue
            a, b = self.indptr[i], self.indptr[i + 1]
            weight = 1.0 if term_weights is None else term_weights.get(term, 1.0)
            out[self.doc_ids[a:b]] += weight * self.weights[a:b]
        return out

    def save(self, path: Path) -> None:
        with open(path, "wb") as handle:
            np.savez(
                handle,
                vocab=np.array(self.vocab, dtype=str),
                indptr=self.indptr,
                doc_ids=self.doc_ids,
                weights=self.weights,
                params=np.array([self.n_docs, self.k1, self.b], dtype=np.float64),
            )

    @classmethod
    def load(cls, path: Path) -> BM25:
        with np.load(path, allow_pickle=False) as data:
            n_docs, k1, b = data["params"].tolist()
            return cls(
                [str(t) for t in data["vocab"]],
                data["indptr"],
                data["doc_ids"],
                data["weights"],
                int(n_docs),
                float(k1),
                float(b),
            )
