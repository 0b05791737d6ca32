"""Fine-tune all-MiniLM-L6-v2 end to end on go_emotions train (build-time only).

The model trained here is exactly what the emospark core runs at inference time:
encoder -> mean pooling over the attention mask -> L2 normalisation -> linear head
-> sigmoid. The head therefore exports to the seeds' classifier format unchanged.

Usage (from the repo root, with the ``build`` extra installed)::

    python models/build/train.py --base /tmp/minilm --out /tmp/emospark-train

Reproducible: fixed seeds, deterministic batch order, single process, 2 threads.
"""
from __future__ import annotations

import argparse
import json
import math
import random
import time
from pathlib import Path

import numpy as np
import torch
from tokenizers import Tokenizer
from transformers import AutoModel

DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "go_emotions"


def read_split(path: Path, n_labels: int) -> tuple[list[str], np.ndarray]:
    texts, ys = [], []
    for line in path.read_text(encoding="utf-8").splitlines():
        text, ids, _ = line.split("\t")
        y = np.zeros(n_labels, dtype=np.float32)
        y[[int(i) for i in ids.split(",")]] = 1.0
        texts.append(text)
        ys.append(y)
    return texts, np.stack(ys)


def encode(tok: Tokenizer, texts: list[str]) -> list[list[int]]:
    return [e.ids for e in tok.encode_batch(texts)]


def length_grouped_batches(lengths: np.ndarray, batch_size: int, rng: random.Random) -> list[np.ndarray]:
    """Shuffle, then sort within mega-batches of 50 batches so padding stays small."""
    idx = list(range(len(lengths)))
    rng.shuffle(idx)
    mega = batch_size * 50
    batches = []
    for s in range(0, len(idx), mega):
        chunk = sorted(idx[s : s + mega], key=lambda i: lengths[i])
        batches += [np.array(chunk[b : b + batch_size]) for b in range(0, len(chunk), batch_size)]
    rng.shuffle(batches)
    return batches


def pad(ids: list[list[int]]) -> tuple[torch.Tensor, torch.Tensor]:
    width = max(len(x) for x in ids)
    input_ids = torch.zeros((len(ids), width), dtype=torch.long)
    mask = torch.zeros((len(ids), width), dtype=torch.long)
    for r, x in enumerate(ids):
        input_ids[r, : len(x)] = torch.tensor(x)
        mask[r, : len(x)] = 1
    return input_ids, mask


class EmotionModel(torch.nn.Module):
    def __init__(self, base: Path, n_labels: int, prior: np.ndarray):
        super().__init__()
        self.encoder = AutoModel.from_pretrained(str(base))
        self.head = torch.nn.Linear(self.encoder.config.hidden_size, n_labels)
        torch.nn.init.normal_(self.head.weight, std=0.02)
        with torch.no_grad():  # start calibrated to the label priors
            self.head.bias.copy_(torch.from_numpy(np.log(prior / (1 - prior))))

    def embed(self, input_ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        hidden = self.encoder(
            input_ids=input_ids, attention_mask=mask, token_type_ids=torch.zeros_like(input_ids)
        ).last_hidden_state
        m = mask.unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * m).sum(1) / m.sum(1).clamp(min=1e-9)
        return torch.nn.functional.normalize(pooled, dim=-1)

    def forward(self, input_ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.head(self.embed(input_ids, mask))


def best_f1_per_label(probs: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Macro F1 at 0.5 and with per-label thresholds tuned on the same data."""
    def f1(pred: np.ndarray, truth: np.ndarray) -> np.ndarray:
        tp = (pred & truth).sum(0)
        return 2 * tp / np.maximum(pred.sum(0) + truth.sum(0), 1)

    truth = y.astype(bool)
    at_half = f1(probs >= 0.5, truth).mean()
    grid = np.arange(0.02, 0.95, 0.01)
    tuned = np.max(np.stack([f1(probs >= t, truth) for t in grid]), axis=0).mean()
    return float(at_half), float(tuned)


@torch.no_grad()
def predict(model: EmotionModel, ids: list[list[int]], batch: int = 256) -> np.ndarray:
    model.eval()
    order = np.argsort([len(x) for x in ids])
    out = np.zeros((len(ids), model.head.out_features), dtype=np.float32)
    for s in range(0, len(ids), batch):
        sel = order[s : s + batch]
        input_ids, mask = pad([ids[i] for i in sel])
        out[sel] = torch.sigmoid(model(input_ids, mask)).numpy()
    model.train()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base", type=Path, required=True, help="directory of all-MiniLM-L6-v2 (safetensors)")
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--lr", type=float, default=5e-5)
    ap.add_argument("--head-lr", type=float, default=3e-3)
    ap.add_argument("--max-length", type=int, default=128)
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()

    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    rng = random.Random(args.seed)
    torch.set_num_threads(args.threads)
    args.out.mkdir(parents=True, exist_ok=True)

    labels = (args.data / "labels.txt").read_text().split()
    tok = Tokenizer.from_file(str(args.base / "tokenizer.json"))
    tok.no_padding()
    tok.enable_truncation(args.max_length)
    train_texts, y_train = read_split(args.data / "train.tsv", len(labels))
    dev_texts, y_dev = read_split(args.data / "dev.tsv", len(labels))
    train_ids, dev_ids = encode(tok, train_texts), encode(tok, dev_texts)
    lengths = np.array([len(x) for x in train_ids])

    prior = y_train.mean(0).clip(1e-4, 1 - 1e-4)
    model = EmotionModel(args.base, len(labels), prior)
    no_decay = lambda n: n.endswith("bias") or "LayerNorm" in n  # noqa: E731
    enc = list(model.encoder.named_parameters())
    groups = [
        {"params": [p for n, p in enc if not no_decay(n)], "lr": args.lr, "weight_decay": 0.01},
        {"params": [p for n, p in enc if no_decay(n)], "lr": args.lr, "weight_decay": 0.0},
        {"params": list(model.head.parameters()), "lr": args.head_lr, "weight_decay": 0.0},
    ]
    opt = torch.optim.AdamW(groups)
    steps_per_epoch = math.ceil(len(train_ids) / args.batch_size)
    total = steps_per_epoch * args.epochs
    warmup = int(0.06 * total)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / warmup) * max(0.0, (total - s) / (total - warmup))
    )
    loss_fn = torch.nn.BCEWithLogitsLoss()
    log = []
    states = []
    t0 = time.time()
    step = 0
    for epoch in range(1, args.epochs + 1):
        for batch in length_grouped_batches(lengths, args.batch_size, rng):
            input_ids, mask = pad([train_ids[i] for i in batch])
            loss = loss_fn(model(input_ids, mask), torch.from_numpy(y_train[batch]))
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            opt.zero_grad(set_to_none=True)
            step += 1
            if step % 200 == 0:
                print(f"epoch {epoch} step {step}/{total} loss {loss.item():.4f} {time.time() - t0:.0f}s", flush=True)
        at_half, tuned = best_f1_per_label(predict(model, dev_ids), y_dev)
        rec = {"epoch": epoch, "dev_macro_f1_at_0.5": at_half, "dev_macro_f1_tuned": tuned, "seconds": time.time() - t0}
        print(json.dumps(rec), flush=True)
        log.append(rec)
        states.append({k: v.detach().clone() for k, v in model.state_dict().items()})

    # Checkpoint averaging over the last two epochs, kept only if dev says so.
    best = max(range(len(states)), key=lambda i: log[i]["dev_macro_f1_tuned"])
    candidates = {f"epoch{best + 1}": states[best]}
    if len(states) >= 2:
        candidates["avg_last2"] = {k: (states[-1][k] + states[-2][k]) / 2 if states[-1][k].is_floating_point() else states[-1][k] for k in states[-1]}
        model.load_state_dict(candidates["avg_last2"])
        at_half, tuned = best_f1_per_label(predict(model, dev_ids), y_dev)
        log.append({"epoch": "avg_last2", "dev_macro_f1_at_0.5": at_half, "dev_macro_f1_tuned": tuned})
        print(json.dumps(log[-1]), flush=True)
    chosen = "avg_last2" if len(states) >= 2 and log[-1]["dev_macro_f1_tuned"] > log[best]["dev_macro_f1_tuned"] else f"epoch{best + 1}"
    model.load_state_dict(candidates[chosen])
    model.encoder.save_pretrained(str(args.out / "encoder"))
    tok.save(str(args.out / "encoder" / "tokenizer.json"))
    torch.save({"weight": model.head.weight.detach(), "bias": model.head.bias.detach()}, args.out / "head.pt")
    (args.out / "train_log.json").write_text(
        json.dumps({"args": {k: str(v) for k, v in vars(args).items()}, "log": log, "chosen": chosen, "seconds": time.time() - t0}, indent=2)
    )
    print("chosen", chosen, "total seconds", round(time.time() - t0))


if __name__ == "__main__":
    main()
