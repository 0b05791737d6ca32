"""The training programme: planned routes, run one after another, resumable; soups; records.

Routes are chosen on the held-out 10% slice of train (``train.slice_mask``), never on dev:
each epoch of each route, and each soup, gets a record with its cross-fitted macro F1 on the
slice (thresholds tuned on one half, scored on the other, swapped, averaged:
``emospark.core.metrics.cross_fitted``) and, for the final report only, the same on dev and the
plain tuned-on-dev figure. All figures here are fp32 PyTorch probabilities; the shipped int8
bundle is measured again by build_bundle.py.

Commands (from the repo root; WORK defaults to $EMOSPARK_TRAIN_DIR or /work/train)::

    python models/build/routes.py run      # train what is unfinished, then soups and records
    python models/build/routes.py status   # progress and the records table (and ENSEMBLES)
    python models/build/routes.py export ROUTE --out DIR   # a trained dir for build_bundle.py
    python models/build/routes.py compare ROUTE   # against the shipped default, paired bootstrap

``run`` is safe to start again after being stopped: runs continue from their last checkpoint,
finished runs and records are skipped. Start it in the background at low priority::

    nohup nice -n 19 python models/build/routes.py run >> /work/train/routes.log 2>&1 &
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import train as T  # noqa: E402

import emospark  # noqa: E402
from emospark.bundles.bundle import file_sha256  # noqa: E402
from emospark.core.metrics import cross_fitted, report, tune_thresholds  # noqa: E402
from emospark.labels import GO_EMOTIONS  # noqa: E402

WORK = Path(os.environ.get("EMOSPARK_TRAIN_DIR", "/work/train"))

# In the order they run. Each is a set of train.py flags; the name is its run directory.
ROUTES: dict[str, dict] = {
    "bce-s13": {"seed": 13},
    "bce-s14": {"seed": 14},
    "asl-s13": {"seed": 13, "loss": "asymmetric"},
    "bce-s15": {"seed": 15},
    "cb-s13": {"seed": 13, "loss": "class-balanced"},
    "distill-s16": {"seed": 16, "distill_from": "bce-s13,bce-s14,bce-s15"},
    "bce-cos-s13": {"seed": 13, "schedule": "cosine"},
    "cb-s14": {"seed": 14, "loss": "class-balanced"},
    "cb-s15": {"seed": 15, "loss": "class-balanced"},
    "cb-s13-full": {"seed": 13, "loss": "class-balanced", "full_train": True, "epoch_from": "cb-s13"},
}
# "distill-*": one student trained on the labels mixed with its teachers' mean probabilities.
# "*-full": trained on all of train, slice included, so the slice cannot choose its epoch: it
# takes the epoch chosen for its 90% twin ("epoch_from"), and its slice figures are not shown.
# Uniform weight averages ("model soups") of the last epoch of routes sharing a configuration but
# not the seed (same pretrained start and the same head initialisation, see train.HEAD_SEED).
# A member is a route (its last epoch) or ROUTE@EPOCH (averaging epochs of one run).
SOUPS: dict[str, tuple[str, ...]] = {
    "avg-bce-s13-e3e4": ("bce-s13@3", "bce-s13@4"),
    "soup-bce-s13-s14": ("bce-s13", "bce-s14"),
    "soup-bce-s13-s14-s15": ("bce-s13", "bce-s14", "bce-s15"),
    "soup-cb-s13-s14-s15": ("cb-s13", "cb-s14", "cb-s15"),
}

# Not shippable (N models, N times the inference cost): the mean of members' fp32 probabilities,
# computed from the stored ones. It bounds what a soup or a distilled student of them can reach.
ENSEMBLES: dict[str, tuple[str, ...]] = {
    "ens-bce-s13-s14": ("bce-s13@3", "bce-s14@2"),
    "ens-bce-s13-asl-s13": ("bce-s13@3", "asl-s13@4"),
    "ens-bce-s13-s14-asl-s13": ("bce-s13@3", "bce-s14@2", "asl-s13@4"),
    "ens-bce-s13-cb-s13": ("bce-s13@3", "cb-s13@4"),
    "ens-bce-s13-cb-s13-asl-s13": ("bce-s13@3", "cb-s13@4", "asl-s13@4"),
}


def needs(name: str) -> tuple[str, ...]:
    """The routes that must be finished before ``name``: a soup's members, a student's
    teachers, a full-train route's twin."""
    if name in SOUPS:
        return tuple(dict.fromkeys(m.split("@")[0] for m in SOUPS[name]))
    teachers = ROUTES[name].get("distill_from")
    twin = ROUTES[name].get("epoch_from")
    return (*(teachers.split(",") if teachers else ()), *((twin,) if twin else ()))


def route_args(name: str, base: Path, data: Path, work: Path) -> argparse.Namespace:
    flags = ["--base", str(base), "--data", str(data), "--work", str(work), "--route", name]
    for key, value in ROUTES[name].items():
        if key != "epoch_from":  # a routes.py setting, not a train.py flag
            flags += [f"--{key.replace('_', '-')}"] + ([] if value is True else [str(value)])
    return T.parser().parse_args(flags)


def figures(y: np.ndarray, proba: np.ndarray) -> dict:
    tuned = report(y, proba, tune_thresholds(y, proba), GO_EMOTIONS)
    return {"cross_fitted_macro_f1": cross_fitted(y, proba, GO_EMOTIONS)["macro"]["f1"],
            "tuned_on_same_data_macro_f1": tuned["macro"]["f1"]}


def labels_of(work: Path, base: Path, data: Path) -> tuple[np.ndarray, np.ndarray]:
    tokens = T.Tokens(base, data, work, 128)
    _, y_train = tokens.splits["train"]
    _, y_dev = tokens.splits["dev"]
    return y_train[T.slice_mask(len(y_train))].astype(bool), y_dev.astype(bool)


def record_route(name: str, run: Path, y_slice: np.ndarray, y_dev: np.ndarray, members: tuple[str, ...] = (),
                 known: dict[str, dict] | None = None) -> dict:
    """Figures of every finished epoch (or of the soup); the chosen epoch is the best on the
    slice, or a full-train route's twin's (taken from ``known``, records by route, if there)."""
    spec = ROUTES.get(name, {})
    epochs = sorted(int(p.stem.removeprefix("slice_proba")) for p in run.glob("slice_proba*.npy"))
    rows = []
    for e in epochs:
        rows.append({"epoch": e,
                     "slice": None if spec.get("full_train") else figures(y_slice, np.load(run / f"slice_proba{e}.npy")),
                     "dev": figures(y_dev, np.load(run / f"dev_proba{e}.npy"))})
    log = json.loads((run / "log.json").read_text()) if (run / "log.json").exists() else {}
    if spec.get("epoch_from"):
        twin = spec["epoch_from"]
        twin_record = (known or {}).get(twin) or record_route(twin, run.parent / twin, y_slice, y_dev)
        chosen = twin_record["chosen_epoch"]
        best = next((r for r in rows if r["epoch"] == chosen), None)
    else:
        best = max(rows, key=lambda r: r["slice"]["cross_fitted_macro_f1"]) if rows else None
    return {
        "route": name,
        "config": log.get("config", {"soup_of": list(members)}),
        "finished": (run / "done").exists(),
        "train_seconds": round(log.get("seconds", 0)),
        "epochs": rows,
        "chosen_epoch": best and best["epoch"],
        "slice_cross_fitted_macro_f1": best and best["slice"] and best["slice"]["cross_fitted_macro_f1"],
        "dev_cross_fitted_macro_f1": best and best["dev"]["cross_fitted_macro_f1"],
        "dev_tuned_on_dev_macro_f1": best and best["dev"]["tuned_on_same_data_macro_f1"],
    }


def ensemble_row(members: tuple[str, ...], work: Path, y_slice: np.ndarray, y_dev: np.ndarray) -> dict | None:
    """Slice and dev figures of the members' mean probability (None until every member has them)."""
    paths = [member_epoch(m, work) for m in members]
    if not all((run / f"dev_proba{e}.npy").exists() for run, e in paths):
        return None
    mean = lambda split: np.mean([np.load(run / f"{split}_proba{e}.npy") for run, e in paths], axis=0)  # noqa: E731
    return {"slice": figures(y_slice, mean("slice")), "dev": figures(y_dev, mean("dev"))}


def member_epoch(member: str, work: Path) -> tuple[Path, int]:
    """A member ``ROUTE@EPOCH`` or ``ROUTE`` (its last finished epoch; 0 if none) as its run
    directory and epoch."""
    route, _, epoch = member.partition("@")
    run = work / "runs" / route
    return run, int(epoch) if epoch else max((int(p.stem.removeprefix("epoch")) for p in run.glob("epoch*.pt")), default=0)


def make_soup(name: str, members: tuple[str, ...], base: Path, data: Path, work: Path) -> Path:
    run = work / "runs" / name
    if (run / "done").exists():
        return run
    run.mkdir(parents=True, exist_ok=True)
    states = []
    for member in members:
        member_run, epoch = member_epoch(member, work)
        states.append(torch.load(member_run / f"epoch{epoch}.pt"))
    soup = {k: sum(s[k] for s in states) / len(states) if states[0][k].is_floating_point() else states[0][k]
            for k in states[0]}
    tokens = T.Tokens(base, data, work, 128)
    train_ids, y_train = tokens.splits["train"]
    model = T.EmotionModel(base, len(GO_EMOTIONS), y_train.mean(0).clip(1e-4, 1 - 1e-4))
    model.load_state_dict(soup)
    T.atomic_save(soup, run / "epoch1.pt")
    held = T.slice_mask(len(train_ids))
    np.save(run / "slice_proba1.npy", T.predict(model, [train_ids[i] for i in np.flatnonzero(held)]))
    np.save(run / "dev_proba1.npy", T.predict(model, tokens.splits["dev"][0]))
    (run / "done").write_text("")
    return run


def run_all(args: argparse.Namespace) -> None:
    records = args.work / "records"
    records.mkdir(parents=True, exist_ok=True)
    y_slice, y_dev = labels_of(args.work, args.base, args.data)
    names = []  # a soup's members and a student's teachers train before it
    for name in args.only or list(ROUTES) + list(SOUPS):
        names += [m for m in (*needs(name), name) if m not in names]
    for name in names:
        if not all((args.work / "runs" / m / "done").exists() for m in needs(name)):
            print(f"== {name}: waiting for {needs(name)}", flush=True)
            continue
        if name in ROUTES:
            run = args.work / "runs" / name
            if not (run / "done").exists():
                print(f"== training {name}", flush=True)
                T.train(route_args(name, args.base, args.data, args.work))
            rec = record_route(name, run, y_slice, y_dev)
        else:
            members = SOUPS[name]
            print(f"== soup {name}", flush=True)
            rec = record_route(name, make_soup(name, members, args.base, args.data, args.work), y_slice, y_dev, members)
        (records / f"{name}.json").write_text(json.dumps(rec, indent=2))
        print(json.dumps({k: v for k, v in rec.items() if k != "epochs"}), flush=True)


def status(args: argparse.Namespace) -> None:
    y_slice, y_dev = labels_of(args.work, args.base, args.data)
    print("| route | state | epochs done | chosen epoch | slice cross-fitted | dev cross-fitted | dev tuned on dev |")
    print("|---|---|---|---|---|---|---|")
    fmt = lambda x: "" if x is None else f"{x:.4f}"  # noqa: E731
    records: dict[str, dict] = {}  # a full-train route's twin comes before it in ROUTES
    for name in list(ROUTES) + list(SOUPS):
        run = args.work / "runs" / name
        if not run.exists():
            print(f"| {name} | not started | | | | | |")
            continue
        members = SOUPS.get(name, ())
        rec = records[name] = record_route(name, run, y_slice, y_dev, members, records)
        state = "finished" if rec["finished"] else "running/stopped"
        print(f"| {name} | {state} | {len(rec['epochs'])} | {rec['chosen_epoch'] or ''} | "
              f"{fmt(rec['slice_cross_fitted_macro_f1'])} | {fmt(rec['dev_cross_fitted_macro_f1'])} | "
              f"{fmt(rec['dev_tuned_on_dev_macro_f1'])} |")
    for name, members in ENSEMBLES.items():
        row = ensemble_row(members, args.work, y_slice, y_dev)
        if row:
            print(f"| {name} (mean of {' + '.join(members)}; not shippable) | ensemble | | | "
                  f"{fmt(row['slice']['cross_fitted_macro_f1'])} | {fmt(row['dev']['cross_fitted_macro_f1'])} | "
                  f"{fmt(row['dev']['tuned_on_same_data_macro_f1'])} |")


def bundle_dev_proba(name: str, work: Path, data: Path) -> np.ndarray:
    """A bundle's probabilities on dev (its int8 ONNX path, as users get them), cached in WORK
    under the digest of the bundle's files, so a bundle rebuilt in place is scored again.
    ``name``: a registered name or a bundle directory."""
    model = emospark.load(name)
    digest = hashlib.sha256("".join(file_sha256(f) for f in model.bundle.files().values()).encode()).hexdigest()
    path = work / ("bundle-" + re.sub(r"[^\w.-]", "_", name) + f"-{digest[:16]}-dev_proba.npy")
    if not path.exists():
        texts, _ = T.read_split(data / "dev.tsv", len(GO_EMOTIONS))
        tmp = path.with_suffix(".tmp.npy")
        np.save(tmp, model.predict_proba(texts))
        os.replace(tmp, path)
    return np.load(path)


def paired_bootstrap(y: np.ndarray, new: np.ndarray, old: np.ndarray, n: int, seed: int = 7) -> np.ndarray:
    """Cross-fitted macro F1 of ``new`` minus that of ``old`` on ``n`` resamples of the rows
    (the same resample and the same halvings for both)."""
    rng = np.random.default_rng(seed)
    diffs = []
    for b in range(n):
        i = rng.integers(0, len(y), len(y))
        f1 = [cross_fitted(y[i], p[i], GO_EMOTIONS, repeats=3, seed=b)["macro"]["f1"] for p in (new, old)]
        diffs.append(f1[0] - f1[1])
    return np.array(diffs)


def checked_epoch(args: argparse.Namespace, epoch: int | None) -> int:
    """``epoch`` (``--epoch``, or the route's chosen one), or an exit with a message if the route
    has no such epoch (not trained yet, or its twin not trained)."""
    if not epoch or not (args.work / "runs" / args.route / f"dev_proba{epoch}.npy").exists():
        sys.exit(f"routes.py: {args.route} has no {'epoch ' + str(epoch) if epoch else 'chosen epoch'} in "
                 f"{args.work / 'runs'} yet (train it{''.join(' and ' + n for n in needs(args.route))}, or pass --epoch N)")
    return epoch


def compare(args: argparse.Namespace) -> None:
    """A route's chosen epoch against a shipped bundle on dev: cross-fitted macro F1 over 50
    halvings, the difference with a paired bootstrap interval, per-label F1, and the two-model
    ensemble (twice the cost: a ceiling, not a candidate)."""
    y_slice, y_dev = labels_of(args.work, args.base, args.data)
    run = args.work / "runs" / args.route
    epoch = checked_epoch(args, args.epoch or record_route(args.route, run, y_slice, y_dev,
                                                          SOUPS.get(args.route, ()))["chosen_epoch"])
    new, old = np.load(run / f"dev_proba{epoch}.npy"), bundle_dev_proba(args.bundle, args.work, args.data)
    cf = {k: cross_fitted(y_dev, p, GO_EMOTIONS, repeats=50)
          for k, p in (("new", new), ("old", old), ("ensemble", (new + old) / 2))}
    diffs = paired_bootstrap(y_dev, new, old, args.boot)
    lo, mid, hi = np.percentile(diffs, [5, 50, 95])
    print(f"dev cross-fitted macro F1 (50 halvings): {args.route}@{epoch} {cf['new']['macro']['f1']:.4f}, "
          f"{args.bundle} {cf['old']['macro']['f1']:.4f}, "
          f"difference {cf['new']['macro']['f1'] - cf['old']['macro']['f1']:+.4f}")
    print(f"paired bootstrap ({args.boot} resamples of dev): median {mid:+.4f}, 90% interval "
          f"[{lo:+.4f}, {hi:+.4f}], share <= 0: {(diffs <= 0).mean():.2f}")
    print(f"ensemble of both (2x cost, not shippable): {cf['ensemble']['macro']['f1']:.4f}")
    print("| label | dev support | bundle F1 | route F1 | difference |\n|---|---|---|---|---|")
    for lab in sorted(GO_EMOTIONS, key=lambda lab: cf["old"]["per_label"][lab]["support"]):
        a, b = cf["old"]["per_label"][lab], cf["new"]["per_label"][lab]
        print(f"| {lab} | {a['support']} | {a['f1']:.3f} | {b['f1']:.3f} | {b['f1'] - a['f1']:+.3f} |")


def export_route(args: argparse.Namespace) -> None:
    run = args.work / "runs" / args.route
    rec = record_route(args.route, run, *labels_of(args.work, args.base, args.data), SOUPS.get(args.route, ()))
    epoch = checked_epoch(args, args.epoch or rec["chosen_epoch"])
    tokens = T.Tokens(args.base, args.data, args.work, 128)
    model = T.EmotionModel(args.base, len(GO_EMOTIONS), tokens.splits["train"][1].mean(0).clip(1e-4, 1 - 1e-4))
    model.load_state_dict(torch.load(run / f"epoch{epoch}.pt"))
    log = {"route": args.route, "config": rec["config"], "epoch": epoch, "seconds": rec["train_seconds"],
           "record": {k: v for k, v in rec.items() if k != "epochs"}}
    T.export(model, args.base / "tokenizer.json", args.out, log)
    print(f"exported {args.route} epoch {epoch} to {args.out}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--work", type=Path, default=WORK)
    ap.add_argument("--base", type=Path, help="all-MiniLM-L6-v2 directory (default WORK/base)")
    ap.add_argument("--data", type=Path, default=T.DATA)
    sub = ap.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="train unfinished routes in order, then soups; write WORK/records/*.json")
    r.add_argument("--only", nargs="+", choices=list(ROUTES) + list(SOUPS))
    sub.add_parser("status", help="progress and figures of every route")
    e = sub.add_parser("export", help="write a route's chosen epoch as a trained dir for build_bundle.py")
    e.add_argument("route", choices=list(ROUTES) + list(SOUPS))
    e.add_argument("--epoch", type=int)
    e.add_argument("--out", type=Path, required=True)
    c = sub.add_parser("compare", help="a route against a shipped bundle on dev, with a paired bootstrap")
    c.add_argument("route", choices=list(ROUTES) + list(SOUPS))
    c.add_argument("--epoch", type=int)
    c.add_argument("--bundle", default="minilm-l6-go-emotions-v1")
    c.add_argument("--boot", type=int, default=200, help="bootstrap resamples")
    args = ap.parse_args()
    args.base = args.base or args.work / "base"
    {"run": run_all, "status": status, "export": export_route, "compare": compare}[args.command](args)


if __name__ == "__main__":
    main()
