"""qa.hf_reader: loads any extractive-QA model offline; spans are verbatim slices of the passages.

The model is a tiny randomly initialised BERT saved to a temp folder (no quality claim):
these tests only check loading, windowing and that every span is exact.
"""

from __future__ import annotations

import inspect
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from qa.embed import ModelError
from qa.hf_reader import HFReader, best_in_window

pytest.importorskip("transformers")
pytest.importorskip("torch")

PASSAGES = [
    "预计去年全市生产总值17800亿元，增长9%左右;一般公共预算收入2723亿元，增长10%。",
    "2017年全市经济和社会发展主要预期目标是：生产总值增长8%，一般公共预算收入增长10%。",
    "进一步织密扎牢民生保障网。建成保障性住房3万套，完成农村困难群众危房改造5000户。",
]
QUESTION = "2016年天津一般公共预算收入是多少？"
LONG = "　　" + "全市经济稳中有进、稳中向好，发展质量效益进一步提高。" * 12 + "天津港货物吞吐量5.5亿吨。"


def _refuse_network(*args: object, **kwargs: object) -> None:
    raise AssertionError(f"network access attempted: {args!r}")


@pytest.fixture(scope="module")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2-layer, 32-wide BERT with a QA head and a character vocabulary, saved like a hub model."""
    import torch
    import transformers
    from transformers import BertConfig, BertForQuestionAnswering

    BertTokenizerFast = getattr(transformers, "BertTokenizerFast")  # noqa: B009 - lazy export (alias in v5)

    folder = tmp_path_factory.mktemp("tiny-qa")
    chars = sorted({ch for text in [*PASSAGES, QUESTION, LONG, "abcdefghijklmnopqrstuvwxyz"] for ch in text})
    chars = [c for c in chars if not c.isspace()]
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *chars, *(f"##{c}" for c in chars)]  # WordPiece pieces
    vocab_file = folder / "vocab.txt"
    vocab_file.write_text("\n".join(vocab) + "\n", encoding="utf-8")
    params = inspect.signature(BertTokenizerFast.__init__).parameters
    if "vocab" in params:  # transformers 5: the tokenizers-backed class takes the file as `vocab`
        tokenizer = BertTokenizerFast(vocab=str(vocab_file))
    else:
        tokenizer = BertTokenizerFast(vocab_file=str(vocab_file))
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=64,
    )
    BertForQuestionAnswering(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def reader(tiny_model_dir: Path) -> HFReader:
    with pytest.MonkeyPatch.context() as patch:
        for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
            patch.setenv(name, "1")
        patch.setattr(socket.socket, "connect", _refuse_network)
        patch.setattr(socket, "create_connection", _refuse_network)
        return HFReader(str(tiny_model_dir))


def _check(found: tuple[int, int, int, float] | None, passages: list[str]) -> str:
    assert found is not None
    index, start, end, score = found
    assert 0 <= index < len(passages)
    assert 0 <= start < end <= len(passages[index])
    assert 0.0 <= score <= 1.0
    span = passages[index][start:end]
    assert span == span.strip() and span
    return span


def test_tiny_model_loads_offline_with_its_own_vocabulary(reader: HFReader) -> None:
    assert reader.tokenizer.is_fast
    assert reader.max_length == 64  # bounded by the model's position embeddings
    ids = reader.tokenizer(PASSAGES[0], add_special_tokens=False)["input_ids"]
    assert reader.tokenizer.unk_token_id not in ids


def test_best_span_is_a_verbatim_slice(reader: HFReader) -> None:
    span = _check(reader.best_span(QUESTION, PASSAGES), PASSAGES)
    assert span in "".join(PASSAGES)


def test_each_passage_alone_gives_a_span_in_it(reader: HFReader) -> None:
    for passage in PASSAGES:
        found = reader.best_span(QUESTION, [passage])
        _check(found, [passage])
        assert found is not None and found[0] == 0


def test_the_best_of_several_is_the_best_of_each(reader: HFReader) -> None:
    alone = [reader.best_span(QUESTION, [p]) for p in PASSAGES]
    together = reader.best_span(QUESTION, PASSAGES)
    assert together is not None
    scores = [found[3] for found in alone if found]
    assert together[3] == pytest.approx(max(scores), rel=1e-5)
    best = alone[together[0]]
    assert best is not None and best[1:3] == together[1:3]


def test_long_passage_is_read_in_windows(reader: HFReader) -> None:
    assert len(reader.tokenizer(LONG)["input_ids"]) > 3 * reader.max_length
    span = _check(reader.best_span("天津港货物吞吐量是多少？", ["短。", LONG]), ["短。", LONG])
    assert span


def test_small_batches_give_the_same_answer(tiny_model_dir: Path, reader: HFReader) -> None:
    small = HFReader(str(tiny_model_dir), batch_size=1)
    a, b = small.best_span(QUESTION, PASSAGES), reader.best_span(QUESTION, PASSAGES)
    assert a is not None and b is not None
    assert a[:3] == b[:3] and a[3] == pytest.approx(b[3], rel=1e-4)


def test_long_question_is_clipped_not_an_error(reader: HFReader) -> None:
    _check(reader.best_span("生产总值增长多少？" * 200, PASSAGES), PASSAGES)


@pytest.mark.parametrize(
    ("question", "passages"), [("", PASSAGES), ("   ", PASSAGES), (QUESTION, []), (QUESTION, ["", "  \u3000"])]
)
def test_nothing_to_read_gives_none(reader: HFReader, question: str, passages: list[str]) -> None:
    assert reader.best_span(question, passages) is None


def test_blank_passages_keep_their_index(reader: HFReader) -> None:
    passages = ["", "   ", PASSAGES[2]]
    found = reader.best_span(QUESTION, passages)
    assert found is not None and found[0] == 2
    _check(found, passages)


def test_missing_model_is_a_model_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelError, match="no-such-model"):
        HFReader(str(tmp_path / "no-such-model"))


def test_importing_the_module_does_not_import_transformers() -> None:
    code = "import sys, qa.hf_reader; sys.exit(int('transformers' in sys.modules or 'torch' in sys.modules))"
    assert subprocess.run([sys.executable, "-c", code], timeout=60).returncode == 0


# --- span selection on hand-made logits ---------------------------------------------------------------

TEXT = "生产总值增长 8%左右。"
OFFSETS = [(0, 0), (0, 4), (4, 6), (6, 7), (7, 8), (8, 9), (9, 11), (11, 12), (0, 0)]  # [CLS] … 。 [SEP]
CONTEXT = [1, 2, 3, 4, 5, 6, 7]


def test_best_in_window_takes_the_highest_valid_pair() -> None:
    starts = [0, 0, 0, 0, 5, 0, 0, 0, 0]
    ends = [0, 0, 0, 0, 0, 0, 5, 0, 0]
    a, b, p = best_in_window(starts, ends, OFFSETS, CONTEXT, TEXT) or (0, 0, 0.0)
    assert TEXT[a:b] == "8%左右"
    assert 0.5 < p <= 1.0


def test_best_in_window_never_ends_before_it_starts_or_runs_too_long() -> None:
    starts = [0, 0, 0, 0, 0, 0, 9, 0, 0]  # the best start comes after the best end
    ends = [0, 0, 0, 9, 0, 0, 0, 1, 0]
    a, b, _ = best_in_window(starts, ends, OFFSETS, CONTEXT, TEXT) or (0, 0, 0.0)
    assert a < b and TEXT[a:b] == "左右。"
    starts = [0, 9, 0, 0, 0, 0, 0, 0, 0]
    ends = [0, 0, 0, 0, 0, 0, 0, 9, 0]
    a, b, _ = best_in_window(starts, ends, OFFSETS, CONTEXT, TEXT, max_answer_tokens=3) or (0, 0, 0.0)
    assert len([i for i in CONTEXT if a <= OFFSETS[i][0] and OFFSETS[i][1] <= b]) <= 3


def test_best_in_window_trims_whitespace_and_skips_blank_spans() -> None:
    starts = [0, 0, 0, 9, 0, 0, 0, 0, 0]  # the token of the space
    ends = [0, 0, 0, 9, 0, 0, 0, 0, 0]
    found = best_in_window(starts, ends, OFFSETS, CONTEXT, TEXT)
    assert found is not None and TEXT[found[0] : found[1]].strip() == TEXT[found[0] : found[1]] != ""


def test_best_in_window_null_answer_lowers_the_probability() -> None:
    starts = [0, 0, 0, 0, 5, 0, 0, 0, 0]
    ends = [0, 0, 0, 0, 0, 0, 5, 0, 0]
    _, _, confident = best_in_window(starts, ends, OFFSETS, CONTEXT, TEXT) or (0, 0, 0.0)
    null = [20, *starts[1:]], [20, *ends[1:]]
    _, _, doubtful = best_in_window(null[0], null[1], OFFSETS, CONTEXT, TEXT) or (0, 0, 0.0)
    assert doubtful < 0.01 < confident


def test_best_in_window_without_context_is_none() -> None:
    assert best_in_window([1.0, 2.0], [1.0, 2.0], [(0, 0), (0, 0)], [], "x") is None
