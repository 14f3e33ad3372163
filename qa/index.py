"""Build, save, verify and load the index folder (FAISS dense + BM25 sparse + chunk records).

Layout of an index folder::

    manifest.json   format version, model, tokenizer/chunker settings, source and file hashes,
                    every document with its metadata (title, place, level, year, date, speaker)
    documents.jsonl the text extracted from each document (citation offsets index it)
    chunks.jsonl    one Chunk per line, in index order (each document's chunks are contiguous)
    embeddings.npy  float32 chunk vectors (also the re-embedding cache, keyed by embed_hash)
    dense.faiss     FAISS inner-product index over the vectors
    bm25.npz        BM25 postings over jieba tokens

Builds write to a temporary sibling folder and rename it into place, so a build that
dies half-way leaves the previous index untouched.
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
import shutil
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from qa import __version__
from qa.bm25 import BM25
from qa.chunking import ChunkerSettings, chunk_documents
from qa.documents import SUFFIXES, Document, corpus_hash, find_sources, is_sidecar, load_documents, sha256_bytes
from qa.embed import Embedder, load_embedder
from qa.metadata import ReportMeta, extract_metadata, read_sidecar, with_overrides
from qa.text import TOKENIZER_SETTINGS, tokenize
from qa.types import Chunk

FORMAT = "qa-index"
FORMAT_VERSION = 2
FILES = ("documents.jsonl", "chunks.jsonl", "embeddings.npy", "dense.faiss", "bm25.npz")
# Above this many chunks: HNSW. Exact search costs ~6 ms per query at 100k chunks and ~12 ms at 200k
# (384 dims, one core); HNSW at 100k lost a third of the true top 10 and changed 14 % of the answers
# (BENCHMARKS.md), so exact search is kept as long as it is affordable.
ANN_THRESHOLD = int(os.environ.get("QA_ANN_THRESHOLD", "200000"))
HNSW_M = 32
HNSW_EF_SEARCH = 128
EMBED_BATCH = 32

Progress = Callable[[str, int, int], None]


class IndexError_(Exception):
    """The index folder is missing, damaged, stale or built for other settings."""


FIX = "run `qa build` to rebuild it"


@dataclass(frozen=True)
class DocInfo:
    """One indexed document: where it came from, what it is, and its extracted text."""

    path: str
    sha256: str
    format: str
    meta: ReportMeta
    text: str = ""
    page_starts: tuple[int, ...] = ()
    copies: tuple[str, ...] = ()  # other source files with the same bytes, indexed once as this one
    chunks: tuple[int, int] = (0, 0)  # its chunks' positions in the index: [start, end)

    @property
    def label(self) -> str:
        """How a person names the report: its place and year (浙江 2025)."""
        return " ".join(x for x in (self.meta.place, str(self.meta.year or "")) if x) or self.path

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "sha256": self.sha256,
            "format": self.format,
            "chars": len(self.text),
            "pages": len(self.page_starts),
            "copies": list(self.copies),
            "chunks": list(self.chunks),
            "meta": self.meta.to_json(),
            # read by older tools and by stale checks
            "year": self.meta.year,
            "place": self.meta.place,
        }


@dataclass(frozen=True)
class BuildReport:
    index_dir: Path
    files: int
    chunks: int
    duplicates_skipped: int
    embedded: int
    cached: int
    seconds: float
    errors: tuple[str, ...] = ()
    documents: tuple[DocInfo, ...] = ()


@dataclass
class Index:
    """A loaded index: chunks, their vectors in FAISS, BM25 postings and the manifest."""

    path: Path
    manifest: dict[str, Any]
    chunks: list[Chunk]
    dense: Any  # faiss.Index
    bm25: BM25
    documents: dict[str, DocInfo] = field(default_factory=dict)

    @property
    def model_id(self) -> str:
        return str(self.manifest["model"]["id"])

    @property
    def doc_years(self) -> dict[str, int | None]:
        return {path: d.meta.year for path, d in self.documents.items()}

    @property
    def doc_places(self) -> dict[str, str]:
        return {path: d.meta.place for path, d in self.documents.items()}

    def text(self, doc: str) -> str:
        """The text extracted from a document: citations index it (``text(doc)[start:end] == answer``)."""
        try:
            return self.documents[doc].text
        except KeyError:
            raise KeyError(f"no document {doc!r} in the index") from None

    def indexed_texts(self) -> list[str]:
        """What was embedded and tokenised for each chunk (its report's title, heading and text)."""
        contexts = {path: doc_context(d.meta) for path, d in self.documents.items()}
        return [index_text(c, contexts.get(c.doc, "")) for c in self.chunks]

    def positions(self, docs: Sequence[str]) -> np.ndarray:
        """Chunk positions of the given documents."""
        ranges = [self.documents[d].chunks for d in docs if d in self.documents]
        if not ranges:
            return np.zeros(0, dtype=np.int64)
        return np.concatenate([np.arange(a, b, dtype=np.int64) for a, b in ranges])

    def search_dense(
        self, query: np.ndarray, k: int, positions: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-k (scores, chunk positions) by inner product with one query vector, among ``positions`` if given."""
        import faiss

        k = min(k, len(self.chunks) if positions is None else len(positions))
        if k <= 0:
            return np.zeros(0, dtype=np.float32), np.zeros(0, dtype=np.int64)
        params = None
        if positions is not None:  # search only the chosen reports' chunks (exact for flat, filtered for HNSW)
            selector = faiss.IDSelectorBatch(np.asarray(positions, dtype=np.int64))
            params = faiss.SearchParameters(sel=selector)  # type: ignore[call-arg]
        # One query runs twice as fast on one OpenMP thread as on two (and far better on busy cores);
        # the setting is per calling thread, so it is restored for builds and batch searches.
        threads = faiss.omp_get_max_threads()
        faiss.omp_set_num_threads(1)
        try:
            query2d = np.ascontiguousarray(query[None, :], dtype=np.float32)
            scores, ids = self.dense.search(query2d, k, params=params)
        finally:
            faiss.omp_set_num_threads(threads)
        keep = ids[0] >= 0
        return scores[0][keep], ids[0][keep]

    @classmethod
    def load(cls, path: str | Path, verify: bool = True) -> Index:
        return load_index(Path(path), verify=verify)


def index_text(chunk: Chunk, context: str = "") -> str:
    """What is embedded and tokenised for a chunk: its report (context), nearest heading, then its text.

    The report's title puts "浙江" into a chunk that only says "全省"; the heading gives short
    clauses their subject (e.g. which year's figures they are).

    >>> chunk = Chunk("c", "d.txt", ("一、2024年工作回顾",), "全省生产总值增长5.5%。", 0, 12)
    >>> index_text(chunk, "2025年浙江省政府工作报告")
    '2025年浙江省政府工作报告 一、2024年工作回顾：全省生产总值增长5.5%。'
    """
    heading = chunk.section[-1] if chunk.section else ""
    body = chunk.text
    if heading and heading != chunk.text and not chunk.text.startswith(heading):
        body = f"{heading}：{chunk.text}"
    if context and not body.startswith(context):
        return f"{context} {body}"
    return body


def doc_context(meta: ReportMeta) -> str:
    """The words that tell a chunk's report apart from the others: its title, else place and year."""
    if meta.title and (not meta.place or meta.place in meta.title):
        return meta.title
    return " ".join(x for x in (meta.place, f"{meta.year}年" if meta.year else "", meta.title) if x)


def document_infos(documents: Sequence[Document], sources: Sequence[str | Path]) -> list[DocInfo]:
    """Metadata of each document: found by general rules, then overridden by sidecar files."""
    located = {file.relative_to(root).as_posix(): (file, root) for file, root in find_sources(sources)}
    infos = []
    for doc in documents:
        meta = extract_metadata(doc.path, doc.text)
        if doc.path in located:
            meta = with_overrides(meta, read_sidecar(*located[doc.path]))
        infos.append(
            DocInfo(
                doc.path,
                doc.sha256,
                doc.format,
                meta,
                doc.text,
                doc.page_starts,
                doc.copies,
            )
        )
    return infos


def embed_key(model_id: str, text: str) -> str:
    return hashlib.sha256(f"{model_id}\0{text}".encode()).hexdigest()[:32]


def build_index(
    sources: Sequence[str | Path],
    index_dir: str | Path,
    model_id: str | None = None,
    settings: ChunkerSettings | None = None,
    skip_errors: bool = False,
    progress: Progress | None = None,
    embedder: Embedder | None = None,
) -> BuildReport:
    """Chunk, embed (reusing cached vectors) and index ``sources`` into ``index_dir`` atomically."""
    started = time.perf_counter()
    index_dir = Path(index_dir)
    _recover_interrupted(index_dir)
    settings = settings or ChunkerSettings()
    documents, errors = load_documents(sources, skip_errors=skip_errors)
    infos = document_infos(documents, sources)
    chunks, skipped = chunk_documents(documents, settings, {d.path: d.meta.year for d in infos})
    if not chunks:
        raise IndexError_("the sources hold no text to index")
    infos = _with_chunk_ranges(infos, chunks)
    embedder = embedder or load_embedder(model_id)
    contexts = {d.path: doc_context(d.meta) for d in infos}
    texts = [index_text(c, contexts[c.doc]) for c in chunks]
    keys = [embed_key(embedder.model_id, t) for t in texts]
    cache = _read_cache(index_dir, embedder.model_id)
    missing = [i for i, key in enumerate(keys) if key not in cache]
    vectors = np.zeros((len(chunks), embedder.dim), dtype=np.float32)
    for i, key in enumerate(keys):
        if key in cache:
            vectors[i] = cache[key]
    for done in range(0, len(missing), EMBED_BATCH):
        batch = missing[done : done + EMBED_BATCH]
        vectors[batch] = embedder.embed_passages([texts[i] for i in batch])
        if progress:
            progress("embed", min(done + EMBED_BATCH, len(missing)), len(missing))
    bm25 = BM25.fit([tokenize(t) for t in texts])
    if progress:
        progress("bm25", len(chunks), len(chunks))

    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "qa_version": __version__,
        "model": {"id": embedder.model_id, "backend": embedder.backend, "dim": embedder.dim},
        "tokenizer": TOKENIZER_SETTINGS,
        "chunker": settings.to_json(),
        "index_text": "report-title nearest-heading：text",
        "dense": _dense_settings(len(chunks)),
        "bm25": {"k1": bm25.k1, "b": bm25.b},
        "source_roots": sorted({str(_root_of(Path(s)).resolve()) for s in sources}),
        "sources": [d.to_json() for d in infos],
        "sidecars": sidecar_hashes(Path(r) for r in {_root_of(Path(s)).resolve() for s in sources}),
        "corpus_sha256": corpus_hash(documents),
        "chunk_count": len(chunks),
        "duplicates_skipped": skipped,
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    tmp = index_dir.parent / f".{index_dir.name}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        _write(tmp, manifest, infos, chunks, keys, vectors, bm25)
        _swap_into_place(tmp, index_dir)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return BuildReport(
        index_dir,
        len(documents),
        len(chunks),
        skipped,
        len(missing),
        len(chunks) - len(missing),
        time.perf_counter() - started,
        tuple(errors),
        tuple(infos),
    )


def _with_chunk_ranges(infos: list[DocInfo], chunks: list[Chunk]) -> list[DocInfo]:
    """Each document's [first, last + 1) chunk positions (a document's chunks are contiguous)."""
    ranges: dict[str, list[int]] = {}
    for position, chunk in enumerate(chunks):
        ranges.setdefault(chunk.doc, [position, position])[1] = position + 1
    return [replace(d, chunks=tuple(ranges.get(d.path, (0, 0)))) for d in infos]  # type: ignore[arg-type]


def sidecar_hashes(roots: Iterable[Path]) -> dict[str, str]:
    """The metadata files (metadata.csv, NAME.meta.json) under the source folders, by path: a change
    to one changes the reports' metadata, so the index is stale."""
    found = {}
    for root in roots:
        if root.is_dir():
            for path in sorted(root.rglob("*")):
                if path.is_file() and is_sidecar(path):
                    found[str(path)] = sha256_bytes(path.read_bytes())
    return found


def _root_of(source: Path) -> Path:
    return source if source.is_dir() else source.parent


def _dense_settings(n: int) -> dict[str, Any]:
    if n > ANN_THRESHOLD:
        return {"type": "hnsw", "M": HNSW_M, "ef_search": HNSW_EF_SEARCH, "threshold": ANN_THRESHOLD}
    return {"type": "flat-ip", "threshold": ANN_THRESHOLD}


def _faiss_index(vectors: np.ndarray, settings: dict[str, Any]) -> Any:
    import faiss

    dim = vectors.shape[1]
    index: Any
    if settings["type"] == "hnsw":
        index = faiss.IndexHNSWFlat(dim, settings["M"], faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = 80
    else:
        index = faiss.IndexFlatIP(dim)
    index.add(vectors)
    return index


def _write(
    folder: Path,
    manifest: dict[str, Any],
    infos: list[DocInfo],
    chunks: list[Chunk],
    keys: list[str],
    vectors: np.ndarray,
    bm25: BM25,
) -> None:
    import faiss

    with open(folder / "documents.jsonl", "w", encoding="utf-8") as handle:
        for info in infos:
            record = {"path": info.path, "text": info.text, "page_starts": list(info.page_starts)}
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
    with open(folder / "chunks.jsonl", "w", encoding="utf-8") as handle:
        for chunk, key in zip(chunks, keys, strict=True):
            record = chunk.to_json() | {"embed_hash": key}
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
    np.save(folder / "embeddings.npy", vectors)
    faiss.write_index(_faiss_index(vectors, manifest["dense"]), str(folder / "dense.faiss"))
    bm25.save(folder / "bm25.npz")
    manifest["files"] = {name: _file_info(folder / name) for name in FILES}
    data = json.dumps(manifest, ensure_ascii=False, indent=2)
    (folder / "manifest.json").write_text(data + "\n", encoding="utf-8")
    for name in (*FILES, "manifest.json"):
        with open(folder / name, "rb") as handle:
            os.fsync(handle.fileno())


def _file_info(path: Path) -> dict[str, Any]:
    return {"bytes": path.stat().st_size, "sha256": sha256_bytes(path.read_bytes())}


def _swap_into_place(tmp: Path, index_dir: Path) -> None:
    old = index_dir.parent / f".{index_dir.name}.old-{os.getpid()}"
    moved = index_dir.exists()
    if moved:
        os.replace(index_dir, old)
    try:
        os.replace(tmp, index_dir)
    except BaseException:
        if moved:
            os.replace(old, index_dir)
        raise
    shutil.rmtree(old, ignore_errors=True)


def _recover_interrupted(index_dir: Path) -> None:
    """Tidy up after builds that were killed: remove their temp folders and, if one died between its
    two renames (old index moved aside, new one not yet in place), put the old index back."""
    if not index_dir.parent.is_dir():
        return
    for kind in ("old", "tmp"):
        for path in sorted(index_dir.parent.glob(f".{glob.escape(index_dir.name)}.{kind}-*")):
            pid = path.name.rsplit("-", 1)[-1]
            if not pid.isdigit() or _alive(int(pid)):
                continue  # a build still running (or this process's own)
            if kind == "old" and not index_dir.exists():
                os.replace(path, index_dir)
            else:
                shutil.rmtree(path, ignore_errors=True)


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # e.g. no permission to signal it: it exists
        return True
    return True


def _read_cache(index_dir: Path, model_id: str) -> dict[str, np.ndarray]:
    """Vectors of the current index by embed_hash, if it was built with the same model."""
    try:
        manifest = json.loads((index_dir / "manifest.json").read_text(encoding="utf-8"))
        if manifest.get("model", {}).get("id") != model_id:
            return {}
        vectors = np.load(index_dir / "embeddings.npy")
        with open(index_dir / "chunks.jsonl", encoding="utf-8") as handle:
            keys = [json.loads(line)["embed_hash"] for line in handle]
    except (OSError, ValueError, KeyError):
        return {}
    if len(keys) != len(vectors):
        return {}
    return dict(zip(keys, vectors, strict=True))


def read_manifest(index_dir: Path) -> dict[str, Any]:
    path = index_dir / "manifest.json"
    if not index_dir.is_dir():
        raise IndexError_(f"no index at {index_dir}: {FIX}")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise IndexError_(f"{path} is missing: {FIX}") from None
    except (OSError, ValueError) as error:
        raise IndexError_(f"{path} is unreadable ({error}): {FIX}") from None
    if not isinstance(manifest, dict):
        raise IndexError_(f"{path} is not an index manifest: {FIX}")
    if manifest.get("format") != FORMAT or manifest.get("format_version") != FORMAT_VERSION:
        raise IndexError_(
            f"{index_dir} has index format {manifest.get('format')!r} version "
            f"{manifest.get('format_version')!r}; this qa reads version {FORMAT_VERSION}: {FIX}"
        )
    return manifest


def verify_files(index_dir: Path, manifest: dict[str, Any], checksums: bool = True) -> None:
    """Every file the manifest lists is there, whole, and (with ``checksums``) unchanged."""
    for name, info in manifest.get("files", {}).items():
        path = index_dir / name
        if not path.is_file():
            raise IndexError_(f"{path} is missing: {FIX}")
        if path.stat().st_size != info["bytes"]:
            raise IndexError_(f"{path} is truncated or damaged (size differs from manifest): {FIX}")
        if checksums and sha256_bytes(path.read_bytes()) != info["sha256"]:
            raise IndexError_(f"{path} is corrupted (checksum differs from manifest): {FIX}")


def load_index(index_dir: Path, verify: bool = True) -> Index:
    import faiss

    manifest = read_manifest(index_dir)
    verify_files(index_dir, manifest, checksums=verify)
    try:
        with open(index_dir / "chunks.jsonl", encoding="utf-8") as handle:
            chunks = [Chunk.from_json(json.loads(line)) for line in handle]
        with open(index_dir / "documents.jsonl", encoding="utf-8") as handle:
            texts = {r["path"]: r for r in map(json.loads, handle)}
        documents = {
            s["path"]: DocInfo(
                s["path"],
                s["sha256"],
                s.get("format", "txt"),
                ReportMeta.from_json(s["meta"]),
                texts[s["path"]]["text"],
                tuple(texts[s["path"]]["page_starts"]),
                tuple(s.get("copies", ())),
                (int(s["chunks"][0]), int(s["chunks"][1])),
            )
            for s in manifest["sources"]
        }
        dense = faiss.read_index(str(index_dir / "dense.faiss"))
        bm25 = BM25.load(index_dir / "bm25.npz")
    except Exception as error:  # any damage the checksums did not catch
        raise IndexError_(f"{index_dir} cannot be read ({error}): {FIX}") from None
    if manifest["dense"]["type"] == "hnsw":
        hnsw: Any = faiss.downcast_index(dense)
        hnsw.hnsw.efSearch = manifest["dense"]["ef_search"]
    if not (len(chunks) == dense.ntotal == bm25.n_docs == manifest["chunk_count"]):
        raise IndexError_(f"{index_dir} is inconsistent (chunk counts differ): {FIX}")
    if dense.d != manifest["model"]["dim"]:
        raise IndexError_(
            f"{index_dir}: vectors have dimension {dense.d}, manifest says {manifest['model']['dim']}: {FIX}"
        )
    return Index(index_dir, manifest, chunks, dense, bm25, documents)


def stale_reasons(index_dir: str | Path, sources: Sequence[str | Path] | None = None) -> list[str]:
    """Why the index no longer matches its sources (empty when it is up to date or cannot tell)."""
    manifest = read_manifest(Path(index_dir))
    roots = [Path(r) for r in manifest.get("source_roots", [])]
    if sources is not None:
        roots = [_root_of(Path(s)).resolve() for s in sources]
    reasons = []
    known = {s["path"]: s["sha256"] for s in manifest["sources"]}
    known |= {copy: s["sha256"] for s in manifest["sources"] for copy in s.get("copies", ())}
    current: dict[str, str] = {}
    for root in roots:
        if not root.is_dir():
            reasons.append(f"source folder {root} is gone")
            continue
        for path in sorted(root.rglob("*")):
            if path.is_file() and path.suffix.lower() in SUFFIXES and not path.name.startswith((".", "~$")):
                current[path.relative_to(root).as_posix()] = sha256_bytes(path.read_bytes())
    for rel, digest in known.items():
        if rel not in current:
            reasons.append(f"{rel} was removed")
        elif current[rel] != digest:
            reasons.append(f"{rel} changed since the build")
    reasons.extend(f"{rel} is new" for rel in current if rel not in known)
    if "sidecars" in manifest:
        sidecars = sidecar_hashes(roots)
        for sidecar in sorted(set(sidecars) | set(manifest["sidecars"])):
            if sidecars.get(sidecar) != manifest["sidecars"].get(sidecar):
                reasons.append(f"metadata file {sidecar} changed since the build")
    return reasons


def load_documents_for(index: Index) -> list[Document]:
    """The source documents of an index, as they are on disk now (for offsets checks)."""
    roots = [Path(r) for r in index.manifest.get("source_roots", [])]
    docs, _ = load_documents(roots)
    return docs
