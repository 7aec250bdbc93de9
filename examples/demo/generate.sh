#!/usr/bin/env bash
# Regenerates the bundled demo: data and model with the real XGBoost (Debian's
# python3-xgboost 1.7.4), then the model bundle with its reference statistics
# computed by batchinfer itself. Run from the repository root.
set -euo pipefail
cd "$(dirname "$0")/../.."
/usr/bin/python3 examples/demo/generate.py
rm -rf examples/demo/model
go run ./starter model register \
  --model examples/demo/model.json \
  --training-set examples/demo/train.csv \
  --label-columns labels \
  --to examples/demo/model
rm examples/demo/model.json
