"""Fine-tune all-MiniLM-L6-v2 end to end on go_emotions train: one resumable route (build-time only).

The model trained here is exactly what the emospark core runs at inference time:
encoder -> mean pooling over the attention mask -> L2 normalisation -> linear head
-> sigmoid. The head therefore exports to the seeds' classifier format unchanged.

A *route* is one training configuration (seed, loss, schedule, epochs). Its run lives in
``WORK/runs/ROUTE/``: ``state.pt`` (model, optimiser, scheduler and RNG state, written every
``--checkpoint-minutes`` and at each epoch end), ``epochN.pt`` (the weights after epoch N),
``slice_probaN.npy`` / ``dev_probaN.npy`` (fp32 probabilities on the held-out train slice and
on dev after epoch N) and ``log.json``. Running the same command again continues from the
last checkpoint (mid-epoch included: the batch order of an epoch is a function of the seed and
the epoch), so a run survives being stopped. Tokens are computed once per tokenizer and cached
in ``WORK/tokens-*.npz``.

Held-out slice: 10% of train (fixed permutation seed :data:`SLICE_SEED`) is never trained on
(unless ``--full-train``); routes are chosen on it, so that dev stays an honest final check.

Usage (from the repo root, with the ``build`` extra installed)::

    python models/build/train.py --base BASE --work /work/train --route bce-s13 --seed 13

``routes.py`` runs the planned routes one after another and exports the chosen one.

Reproducible: fixed seeds, deterministic batch order, single process, 2 threads.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import random
import time
from pathlib import Path

import numpy as np
import torch
from tokenizers import Tokenizer
from transformers import AutoModel

# go_emotions: ../shared/data/go_emotions beside the repo, or $EMOSPARK_GO_EMOTIONS
DATA = Path(os.environ.get("EMOSPARK_GO_EMOTIONS", Path(__file__).resolve().parents[3] / "shared" / "data" / "go_emotions"))
SLICE_SEED = 20261125  # the held-out train slice: fixed for every route
SLICE_SHARE = 0.10
HEAD_SEED = 0  # the head's initial weights are the same for every route, so runs can be averaged
LOSSES = ("bce", "class-balanced", "asymmetric")
SCHEDULES = ("linear", "cosine")


def read_split(path: Path, n_labels: int) -> tuple[list[str], np.ndarray]:
    texts, ys = [], []
    for line in path.read_text(encoding="utf-8").splitlines():
        text, ids, _ = line.split("\t")
        y = np.zeros(n_labels, dtype=np.float32)
        y[[int(i) for i in ids.split(",")]] = 1.0
        texts.append(text)
        ys.append(y)
    return texts, np.stack(ys)


def slice_mask(n_rows: int, share: float = SLICE_SHARE, seed: int = SLICE_SEED) -> np.ndarray:
    """True for the rows of train held out for choosing routes (a fixed random 10%)."""
    held = np.zeros(n_rows, dtype=bool)
    held[np.random.default_rng(seed).permutation(n_rows)[: round(n_rows * share)]] = True
    return held


class Tokens:
    """go_emotions train and dev as token ids and label matrices, computed once and cached."""

    def __init__(self, base: Path, data: Path, work: Path, max_length: int):
        tok_file = base / "tokenizer.json"
        digest = hashlib.sha256(tok_file.read_bytes() + str(max_length).encode())
        for name in ("labels.txt", "train.tsv", "dev.tsv"):
            digest.update((data / name).read_bytes())
        key = digest.hexdigest()[:12]
        cache = work / f"tokens-{key}.npz"
        self.labels = (data / "labels.txt").read_text().split()
        if not cache.exists():
            tok = Tokenizer.from_file(str(tok_file))
            tok.no_padding()
            tok.enable_truncation(max_length)
            arrays = {}
            for split in ("train", "dev"):
                texts, y = read_split(data / f"{split}.tsv", len(self.labels))
                ids = [e.ids for e in tok.encode_batch(texts)]
                arrays[f"{split}_flat"] = np.concatenate([np.array(x, dtype=np.int32) for x in ids])
                arrays[f"{split}_len"] = np.array([len(x) for x in ids], dtype=np.int32)
                arrays[f"{split}_y"] = y
            tmp = cache.with_suffix(".tmp.npz")
            np.savez(tmp, **arrays)
            os.replace(tmp, cache)
        z = np.load(cache)
        self.splits = {}
        for split in ("train", "dev"):
            lengths = z[f"{split}_len"]
            ends = np.cumsum(lengths)
            flat = z[f"{split}_flat"]
            ids = [flat[e - n : e].tolist() for e, n in zip(ends, lengths, strict=True)]
            self.splits[split] = (ids, z[f"{split}_y"])


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
        with torch.no_grad():  # same start for every route; calibrated to the label priors
            self.head.weight.copy_(torch.randn(self.head.weight.shape, generator=torch.Generator().manual_seed(HEAD_SEED)) * 0.02)
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


def make_loss(name: str, positives: np.ndarray, beta: float = 0.999):
    """``bce``; ``class-balanced`` (Cui et al. 2019: each label's BCE weighted by the inverse
    effective number of its positives, weights of mean 1); ``asymmetric`` (Ridnik et al. 2021:
    gamma+ 0, gamma- 4, probability margin 0.05 on negatives)."""
    if name == "bce":
        return torch.nn.BCEWithLogitsLoss()
    if name == "class-balanced":
        w = (1 - beta) / (1 - beta ** np.maximum(positives, 1))
        w = torch.from_numpy((w / w.mean()).astype(np.float32))
        return lambda logits, y: (torch.nn.functional.binary_cross_entropy_with_logits(logits, y, reduction="none") * w).mean()
    if name == "asymmetric":
        def asl(logits: torch.Tensor, y: torch.Tensor, gamma_neg: float = 4.0, margin: float = 0.05) -> torch.Tensor:
            p = torch.sigmoid(logits)
            p_neg = (p - margin).clamp(min=0)
            pos = y * torch.log(p.clamp(min=1e-8))
            neg = (1 - y) * p_neg.pow(gamma_neg) * torch.log((1 - p_neg).clamp(min=1e-8))
            return -(pos + neg).mean()
        return asl
    raise ValueError(f"unknown loss {name!r}: one of {LOSSES}")


def lr_lambda(schedule: str, total: int, warmup: int):
    def linear(s: int) -> float:
        return min(1.0, (s + 1) / warmup) * max(0.0, (total - s) / (total - warmup))

    def cosine(s: int) -> float:
        if s < warmup:
            return (s + 1) / warmup
        return 0.5 * (1 + math.cos(math.pi * (s - warmup) / max(1, total - warmup)))

    return {"linear": linear, "cosine": cosine}[schedule]


@torch.no_grad()
def predict(model: EmotionModel, ids: list[list[int]], batch: int = 256) -> np.ndarray:
    was_training = model.training
    model.eval()
    order = np.argsort([len(x) for x in ids])
    out = np.zeros((len(ids), model.head.out_features), dtype=np.float32)
    for s in range(0, len(ids), batch):
        sel = order[s : s + batch]
        input_ids, mask = pad([ids[i] for i in sel])
        out[sel] = torch.sigmoid(model(input_ids, mask)).numpy()
    model.train(was_training)
    return out


def atomic_save(obj, path: Path) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def export(model: EmotionModel, tokenizer: Path, out: Path, log: dict) -> None:
    """The directory build_bundle.py reads: encoder/ (safetensors + tokenizer.json), head.pt, train_log.json."""
    out.mkdir(parents=True, exist_ok=True)
    model.encoder.save_pretrained(str(out / "encoder"))
    tok = Tokenizer.from_file(str(tokenizer))
    tok.no_padding()
    tok.save(str(out / "encoder" / "tokenizer.json"))
    torch.save({"weight": model.head.weight.detach(), "bias": model.head.bias.detach()}, out / "head.pt")
    (out / "train_log.json").write_text(json.dumps(log, indent=2))


def route_config(args: argparse.Namespace) -> dict:
    """The settings that define a route (no paths): recorded in logs and the model card."""
    keys = ("seed", "loss", "schedule", "epochs", "batch_size", "lr", "head_lr", "max_length", "full_train")
    if args.distill_from:  # only when set: runs started before distillation existed keep their config
        keys += ("distill_from", "distill_weight")
    return {k: getattr(args, k) for k in keys} | {"slice_seed": SLICE_SEED, "slice_share": SLICE_SHARE, "head_seed": HEAD_SEED}


def teacher_proba(route: str, args: argparse.Namespace, train_ids: list[list[int]], n_labels: int) -> np.ndarray:
    """A finished route's fp32 probabilities on all of train (its last epoch), computed once."""
    run = args.work / "runs" / route
    path = run / "train_proba.npy"
    if not path.exists():
        if not (run / "done").exists():
            raise SystemExit(f"teacher route {route} is not finished ({run})")
        last = max(int(p.stem.removeprefix("epoch")) for p in run.glob("epoch*.pt"))
        teacher = EmotionModel(args.base, n_labels, np.full(n_labels, 0.5))
        teacher.load_state_dict(torch.load(run / f"epoch{last}.pt"))
        np.save(run / "train_proba.tmp.npy", predict(teacher, train_ids))
        os.replace(run / "train_proba.tmp.npy", path)
    return np.load(path)


def train(args: argparse.Namespace) -> Path:
    """Run (or continue) one route; returns its run directory."""
    run = args.work / "runs" / args.route
    run.mkdir(parents=True, exist_ok=True)
    config = route_config(args)
    log_path = run / "log.json"
    log = json.loads(log_path.read_text()) if log_path.exists() else {"config": config, "epochs": [], "seconds": 0.0}
    if log["config"] != config:
        raise SystemExit(f"{run} was started with {log['config']}, not {config}: use another --route name")
    torch.set_num_threads(args.threads)
    tokens = Tokens(args.base, args.data, args.work, args.max_length)
    train_ids, y_train = tokens.splits["train"]
    dev_ids, _ = tokens.splits["dev"]
    held = slice_mask(len(train_ids))
    fit_rows = np.arange(len(train_ids)) if args.full_train else np.flatnonzero(~held)
    slice_ids = [train_ids[i] for i in np.flatnonzero(held)]
    lengths = np.array([len(train_ids[i]) for i in fit_rows])

    torch.manual_seed(args.seed)
    prior = y_train[fit_rows].mean(0).clip(1e-4, 1 - 1e-4)
    model = EmotionModel(args.base, len(tokens.labels), prior)
    no_decay = lambda n: n.endswith("bias") or "LayerNorm" in n  # noqa: E731
    enc = list(model.encoder.named_parameters())
    opt = torch.optim.AdamW([
        {"params": [p for n, p in enc if not no_decay(n)], "lr": args.lr, "weight_decay": 0.01},
        {"params": [p for n, p in enc if no_decay(n)], "lr": args.lr, "weight_decay": 0.0},
        {"params": list(model.head.parameters()), "lr": args.head_lr, "weight_decay": 0.0},
    ])
    steps_per_epoch = math.ceil(len(fit_rows) / args.batch_size)
    total = steps_per_epoch * args.epochs
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_lambda(args.schedule, total, max(1, int(0.06 * total))))
    loss_fn = make_loss(args.loss, y_train[fit_rows].sum(0))
    targets = y_train
    if args.distill_from:  # soft targets: the labels mixed with the teachers' mean probability
        if args.loss != "bce":
            raise SystemExit("--distill-from needs --loss bce")
        soft = np.mean([teacher_proba(t, args, train_ids, len(tokens.labels)) for t in args.distill_from.split(",")], axis=0)
        targets = ((1 - args.distill_weight) * y_train + args.distill_weight * soft).astype(np.float32)
    epoch, done = 1, 0  # next epoch, batches of it already done
    state_path = run / "state.pt"
    if state_path.exists():
        state = torch.load(state_path, weights_only=False)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["opt"])
        sched.load_state_dict(state["sched"])
        torch.set_rng_state(state["torch_rng"])
        epoch, done = state["epoch"], state["done"]
        print(f"{args.route}: resuming at epoch {epoch}, batch {done}", flush=True)

    def checkpoint(epoch: int, done: int) -> None:
        atomic_save({"model": model.state_dict(), "opt": opt.state_dict(), "sched": sched.state_dict(),
                     "torch_rng": torch.get_rng_state(), "epoch": epoch, "done": done}, state_path)
        log_path.write_text(json.dumps(log, indent=2))

    t0, last_save = time.time(), time.time()
    spent = log["seconds"]
    budget = args.max_batches  # batches left in this invocation (None: no limit)
    model.train()
    while epoch <= args.epochs:
        batches = length_grouped_batches(lengths, args.batch_size, random.Random(args.seed * 1000 + epoch))
        for b in range(done, len(batches)):
            if budget is not None and budget == 0:
                log["seconds"] = spent + time.time() - t0
                checkpoint(epoch, b)
                print(f"{args.route}: stopped by --max-batches at epoch {epoch}, batch {b}", flush=True)
                return run
            budget = None if budget is None else budget - 1
            rows = fit_rows[batches[b]]
            input_ids, mask = pad([train_ids[i] for i in rows])
            loss = loss_fn(model(input_ids, mask), torch.from_numpy(targets[rows]))
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            opt.zero_grad(set_to_none=True)
            if (b + 1) % 200 == 0:
                print(f"{args.route} epoch {epoch} batch {b + 1}/{len(batches)} loss {loss.item():.4f} "
                      f"{spent + time.time() - t0:.0f}s", flush=True)
            if time.time() - last_save > args.checkpoint_minutes * 60:
                log["seconds"] = spent + time.time() - t0
                checkpoint(epoch, b + 1)
                last_save = time.time()
        atomic_save(model.state_dict(), run / f"epoch{epoch}.pt")
        np.save(run / f"slice_proba{epoch}.npy", predict(model, slice_ids))
        np.save(run / f"dev_proba{epoch}.npy", predict(model, dev_ids))
        log["seconds"] = spent + time.time() - t0
        log["epochs"].append({"epoch": epoch, "seconds": round(log["seconds"])})
        print(json.dumps({"route": args.route, **log["epochs"][-1]}), flush=True)
        epoch, done = epoch + 1, 0
        checkpoint(epoch, done)
        last_save = time.time()
    (run / "done").write_text("")
    return run


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base", type=Path, required=True, help="directory of all-MiniLM-L6-v2 (safetensors)")
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--work", type=Path, required=True, help="work directory: token cache and runs/ (outside the repo)")
    ap.add_argument("--route", required=True, help="name of this run (its directory under WORK/runs)")
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--lr", type=float, default=5e-5)
    ap.add_argument("--head-lr", type=float, default=3e-3)
    ap.add_argument("--max-length", type=int, default=128)
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--loss", choices=LOSSES, default="bce")
    ap.add_argument("--schedule", choices=SCHEDULES, default="linear")
    ap.add_argument("--full-train", action="store_true", help="also train on the held-out slice")
    ap.add_argument("--distill-from", help="comma-separated finished routes: distil their ensemble into this run")
    ap.add_argument("--distill-weight", type=float, default=0.5, help="share of the teachers' probabilities in the targets")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--checkpoint-minutes", type=float, default=10.0)
    ap.add_argument("--max-batches", type=int, help="checkpoint and stop after this many batches (time-boxed sittings)")
    return ap


if __name__ == "__main__":
    train(parser().parse_args())
