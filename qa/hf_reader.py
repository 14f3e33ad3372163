"""Optional reader backend: any Hugging Face extractive question-answering model, on CPU.

The model is named by hub id or local folder and loaded through transformers
(``AutoTokenizer`` + ``AutoModelForQuestionAnswering``); transformers and torch are imported
only when a reader is created. Spans come from the fast tokenizer's offset mapping, so an
answer is always an exact slice of the passage it was read from::

    reader = HFReader("path/to/chinese-extractive-qa-model")
    found = reader.best_span("2017年生产总值预期增长多少？", ["主要预期目标是：生产总值增长8%左右"])
    if found:
        passage, start, end, score = found
        answer = passages[passage][start:end]

Long passages are read in overlapping windows (``stride`` tokens of overlap). ``score`` is the
span's probability under the model's start/end softmax over its window (context tokens and
the [CLS] "no answer" slot), so it lies in [0, 1] and is comparable across passages.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from typing import Any

import numpy as np

from qa.embed import ModelError

Span = tuple[int, int, int, float]  # (passage index, start char, end char, score)


def _logsumexp(values: np.ndarray) -> float:
    top = float(values.max())
    return top + math.log(float(np.exp(values - top).sum()))


def best_in_window(
    start_logits: Sequence[float],
    end_logits: Sequence[float],
    offsets: Sequence[tuple[int, int]],
    context: Sequence[int],
    text: str,
    max_answer_tokens: int = 30,
    top_n: int = 20,
    null_index: int | None = 0,
) -> tuple[int, int, float] | None:
    """The most probable span of one window: (start char, end char, probability), or None.

    ``context`` lists the token positions that belong to the passage; ``offsets`` maps each
    token to its character span in ``text``. Spans whose characters are all whitespace are
    skipped, and whitespace is trimmed from span edges. The softmax runs over the context
    tokens plus ``null_index`` (the [CLS] token, where SQuAD 2.0 models put "no answer").

    >>> text = "增长8%左右。"
    >>> offsets = [(0, 0), (0, 2), (2, 3), (3, 4), (4, 6), (6, 7)]  # [CLS] 增长 8 % 左右 。
    >>> a, b, p = best_in_window([0, 1, 9, 0, 0, 0], [0, 0, 0, 1, 9, 0], offsets, [1, 2, 3, 4, 5], text)
    >>> text[a:b], round(p, 2)
    ('8%左右', 1.0)
    """
    tokens = [i for i in context if offsets[i][1] > offsets[i][0]]
    if not tokens:
        return None
    starts = np.asarray(start_logits, dtype=np.float64)
    ends = np.asarray(end_logits, dtype=np.float64)
    pool = np.asarray(tokens + ([null_index] if null_index is not None and null_index not in tokens else []))
    log_z = _logsumexp(starts[pool]) + _logsumexp(ends[pool])
    ranked = np.asarray(tokens)
    top_starts = ranked[np.argsort(-starts[ranked], kind="stable")[:top_n]]
    top_ends = ranked[np.argsort(-ends[ranked], kind="stable")[:top_n]]
    position = {token: n for n, token in enumerate(tokens)}
    best: tuple[int, int, float] | None = None
    best_logit = -math.inf
    for s in top_starts.tolist():
        for e in top_ends.tolist():
            if not 0 <= position[e] - position[s] < max_answer_tokens:
                continue
            logit = float(starts[s] + ends[e])
            if logit <= best_logit:
                continue
            a, b = offsets[s][0], offsets[e][1]
            while a < b and text[a].isspace():
                a += 1
            while b > a and text[b - 1].isspace():
                b -= 1
            if b <= a:
                continue
            best, best_logit = (a, b, math.exp(logit - log_z)), logit
    return best


class HFReader:
    """Extractive QA with a Hugging Face model: the best verbatim span among a few passages."""

    def __init__(
        self,
        name_or_path: str,
        max_length: int = 384,
        stride: int = 128,
        max_answer_tokens: int = 30,
        max_question_tokens: int = 64,
        batch_size: int = 16,
    ) -> None:
        try:
            from transformers import AutoModelForQuestionAnswering, AutoTokenizer
        except ImportError as error:  # pragma: no cover - depends on the install
            raise ModelError(f"reader {name_or_path!r} needs transformers and torch: pip install 'qa[st]'") from error
        try:
            tokenizer = AutoTokenizer.from_pretrained(name_or_path)
            model = AutoModelForQuestionAnswering.from_pretrained(name_or_path)
        except Exception as error:  # hub errors, missing folders, configs without a QA head
            raise ModelError(f"cannot load reader model {name_or_path!r}: {error}") from error
        if not getattr(tokenizer, "is_fast", False):
            raise ModelError(f"reader model {name_or_path!r} has no fast tokenizer; exact spans need its offsets")
        model.to("cpu")
        model.eval()
        self.name = name_or_path
        self.tokenizer: Any = tokenizer
        self.model: Any = model
        limits = [max_length]
        if 0 < int(getattr(tokenizer, "model_max_length", 0) or 0) < 100_000:
            limits.append(int(tokenizer.model_max_length))
        positions = getattr(model.config, "max_position_embeddings", None)
        if positions:
            limits.append(int(positions))
        self.max_length = min(limits)
        self.stride = stride
        self.max_answer_tokens = max_answer_tokens
        self.max_question_tokens = min(max_question_tokens, self.max_length // 3)
        self.batch_size = batch_size
        self.question_first = getattr(tokenizer, "padding_side", "right") == "right"
        self._lock = threading.Lock()

    def best_span(self, question: str, passages: list[str]) -> Span | None:
        """(passage index, start char, end char, score) of the best answer span, or None.

        ``passages[index][start:end]`` is the answer, verbatim. None when there is no question,
        no non-blank passage, or no span the model can point at.
        """
        question = self._clip_question(question.strip())
        if not question:
            return None
        wanted = [i for i, p in enumerate(passages) if p and p.strip()]
        best: Span | None = None
        for first in range(0, len(wanted), self.batch_size):
            batch = wanted[first : first + self.batch_size]
            for found in self._read(question, [passages[i] for i in batch]):
                index, start, end, score = found
                if best is None or score > best[3]:
                    best = (batch[index], start, end, score)
        return best

    def _clip_question(self, question: str) -> str:
        """A question of at most ``max_question_tokens`` tokens (cut at a token boundary)."""
        if not question:
            return ""
        encoded = self.tokenizer(question, add_special_tokens=False, return_offsets_mapping=True)
        offsets = encoded["offset_mapping"]
        if len(offsets) <= self.max_question_tokens:
            return question
        return question[: offsets[self.max_question_tokens - 1][1]].strip()

    def _read(self, question: str, passages: list[str]) -> list[Span]:
        import torch

        tok = self.tokenizer
        q_len = len(tok(question, add_special_tokens=False)["input_ids"])
        room = self.max_length - q_len - tok.num_special_tokens_to_add(pair=True)
        stride = max(0, min(self.stride, room // 2))
        questions = [question] * len(passages)
        first, second = (questions, passages) if self.question_first else (passages, questions)
        encoded = tok(
            first,
            second,
            truncation="only_second" if self.question_first else "only_first",
            max_length=self.max_length,
            stride=stride,
            return_overflowing_tokens=True,
            return_offsets_mapping=True,
            padding="longest",
            return_tensors="pt",
        )
        offsets = encoded["offset_mapping"].tolist()
        samples = encoded["overflow_to_sample_mapping"].tolist()
        inputs = {name: encoded[name] for name in tok.model_input_names if name in encoded}
        with self._lock, torch.no_grad():
            output = self.model(**inputs)
        start_logits = output.start_logits.float().numpy()
        end_logits = output.end_logits.float().numpy()
        context_id = 1 if self.question_first else 0
        cls_id = getattr(tok, "cls_token_id", None)
        ids = encoded["input_ids"].tolist()
        best: dict[int, Span] = {}
        for window, sample in enumerate(samples):
            sequence = encoded.sequence_ids(window)
            context = [i for i, s in enumerate(sequence) if s == context_id]
            null = ids[window].index(cls_id) if cls_id is not None and cls_id in ids[window] else None
            window_offsets = [(int(a), int(b)) for a, b in offsets[window]]
            found = best_in_window(
                start_logits[window],
                end_logits[window],
                window_offsets,
                context,
                passages[sample],
                self.max_answer_tokens,
                null_index=null,
            )
            if found and (sample not in best or found[2] > best[sample][3]):
                best[sample] = (sample, found[0], found[1], found[2])
        return list(best.values())
