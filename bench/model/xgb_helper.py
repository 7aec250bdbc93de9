#!/usr/bin/python3
"""XGBoost side of the batchinfer model benchmark (bench/model).

Run by `go run ./bench/model` with Debian's /usr/bin/python3 (python3-xgboost
1.7.4, python3-numpy); it is embedded in the Go command and written to a
temporary directory, so it is not meant to be run by hand, though it can be.

    version
    train   --x X.f32 --y Y.f32 --features F --rows N --trees T --depth D --out M.json
    predict --x X.f32 --features F [--rows N] --model M.json --threads 1,2 --runs 3
            [--margin-out margins.f32]

Matrices are raw little-endian float32, row-major. `predict` prints one JSON
object on stdout: {"xgboost": version, "best_seconds": {"1": s, "2": s}}.
Timings are the best of --runs calls of Booster.inplace_predict (default
predict_type "value", i.e. probabilities) over the first --rows rows (all by
default), after a warm-up call; the matrix is read before timing. With
--margin-out it also writes Booster.predict(DMatrix, output_margin=True) for
those rows, little-endian float32.
"""

import argparse
import json
import sys
import time

import numpy as np
import xgboost as xgb


def load(path, features):
    x = np.fromfile(path, dtype="<f4")
    if x.size % features:
        sys.exit(f"{path}: {x.size} values is not a multiple of {features} features")
    return x.reshape(-1, features)


def train(a):
    x = load(a.x, a.features)[: a.rows]
    y = np.fromfile(a.y, dtype="<f4")[: a.rows]
    d = xgb.DMatrix(x, label=y, missing=np.nan)
    params = {
        "objective": "binary:logistic",
        "max_depth": a.depth,
        "eta": 0.1,
        "tree_method": "hist",
        "nthread": a.nthread,
        "seed": 7,
        "subsample": 0.8,
        "colsample_bytree": 0.9,
        "min_child_weight": 0,
        "lambda": 1.0,
    }
    bst = xgb.train(params, d, num_boost_round=a.trees)
    bst.save_model(a.out)


def predict(a):
    x = load(a.x, a.features)
    if a.rows > 0:
        x = x[: a.rows]
    bst = xgb.Booster(model_file=a.model)
    res = {"xgboost": xgb.__version__, "rows": int(x.shape[0]), "best_seconds": {}}
    for n in [int(s) for s in a.threads.split(",")]:
        bst.set_param({"nthread": n})
        bst.inplace_predict(x[:1000], missing=np.nan)  # warm-up
        best = float("inf")
        for _ in range(a.runs):
            t0 = time.perf_counter()
            bst.inplace_predict(x, missing=np.nan)
            best = min(best, time.perf_counter() - t0)
        res["best_seconds"][str(n)] = best
    if a.margin_out:
        bst.set_param({"nthread": max(int(s) for s in a.threads.split(","))})
        m = bst.predict(xgb.DMatrix(x, missing=np.nan), output_margin=True)
        np.asarray(m, dtype="<f4").tofile(a.margin_out)
    json.dump(res, sys.stdout)
    sys.stdout.write("\n")


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("train")
    t.add_argument("--x", required=True)
    t.add_argument("--y", required=True)
    t.add_argument("--features", type=int, required=True)
    t.add_argument("--rows", type=int, required=True)
    t.add_argument("--trees", type=int, required=True)
    t.add_argument("--depth", type=int, required=True)
    t.add_argument("--nthread", type=int, default=2)
    t.add_argument("--out", required=True)
    q = sub.add_parser("predict")
    q.add_argument("--x", required=True)
    q.add_argument("--features", type=int, required=True)
    q.add_argument("--rows", type=int, default=0)
    q.add_argument("--model", required=True)
    q.add_argument("--threads", default="1,2")
    q.add_argument("--runs", type=int, default=3)
    q.add_argument("--margin-out", default="")
    sub.add_parser("version")
    a = p.parse_args()
    if a.cmd == "train":
        train(a)
    elif a.cmd == "predict":
        predict(a)
    else:
        print(xgb.__version__)


if __name__ == "__main__":
    main()
