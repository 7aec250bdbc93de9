#!/usr/bin/python3
"""MLRun's batch inference method, end to end (bench/e2e).

Run by `go run ./bench/e2e` with Debian's /usr/bin/python3 (python3-pandas,
python3-numpy, python3-xgboost); embedded in the Go command and written to a
temporary folder.

    mlrun_method.py train   TRAIN.csv LABEL TREES DEPTH OUT_MODEL.json
    mlrun_method.py predict BATCH.csv MODEL.json BUNDLE.json LABEL OUT.csv OUT.json

`predict` does what MLRun's batch_inference does with a DataFrame, timed as
one piece: pandas read_csv (Debian has no Parquet reader for pandas: no
pyarrow, no fastparquet), XGBoost predict (Booster.inplace_predict on the
frame, labels by thresholding the probability at 0.5, as XGBClassifier.predict),
describe() of the result set, np.histogram of every column over the
reference's edges, MLRun's TVD / Hellinger / KLD and drift metric, and
writing the result set with to_csv. It writes one JSON object to OUT.json:
seconds per phase, rows, drift_metric and the process's peak RSS
(getrusage ru_maxrss).
"""
import json
import resource
import sys
import time

import numpy as np
import pandas as pd
import xgboost as xgb


def train(train_csv, label, trees, depth, out):
    df = pd.read_csv(train_csv, float_precision="round_trip")
    features = [c for c in df.columns if c != label]
    d = xgb.DMatrix(df[features], label=df[label], missing=np.nan, feature_names=features)
    params = {
        "objective": "binary:logistic",
        "max_depth": int(depth),
        "eta": 0.1,
        "tree_method": "hist",
        "seed": 7,
        "subsample": 0.8,
        "colsample_bytree": 0.9,
    }
    bst = xgb.train(params, d, num_boost_round=int(trees))
    bst.save_model(out)


def predict(batch_csv, model_path, bundle_path, label, out_csv, out_json):
    with open(bundle_path) as f:
        ref = json.load(f)["feature_stats"]
    bst = xgb.Booster(model_file=model_path)
    features = bst.feature_names

    t0 = time.perf_counter()
    df = pd.read_csv(batch_csv)
    t1 = time.perf_counter()
    proba = bst.inplace_predict(df[features], missing=np.nan)
    df[label] = (proba > 0.5).astype(np.int64)
    t2 = time.perf_counter()
    st = df.describe(percentiles=[0.25, 0.5, 0.75]).to_dict()
    tvds, hels, klds = [], [], []
    with np.errstate(all="ignore"):
        for n in df.columns:
            if n not in ref:
                continue
            edges = np.asarray(ref[n]["hist"][1], dtype=float)
            t = np.asarray(ref[n]["hist"][0], dtype=float) / ref[n]["count"]
            counts, _ = np.histogram(df[n], bins=edges)
            u = counts / st[n]["count"]
            tvds.append(0.5 * np.sum(np.abs(t - u)))
            hels.append(np.sqrt(max(0.0, 1 - np.sum(np.sqrt(t * u)))))
            tc = np.where(t == 0, 1e-4, t)
            uc = np.where(u == 0, 1e-4, u)
            klds.append(np.sum(np.where(t > 0, t * np.log(t / uc), 0.0)) + np.sum(np.where(u > 0, u * np.log(u / tc), 0.0)))
    metric = float((np.mean(tvds) + np.mean(hels)) / 2)
    t3 = time.perf_counter()
    df.to_csv(out_csv, index=False)
    t4 = time.perf_counter()
    res = {
        "rows": int(len(df)),
        "seconds": t4 - t0,
        "read_seconds": t1 - t0,
        "predict_seconds": t2 - t1,
        "stats_drift_seconds": t3 - t2,
        "write_seconds": t4 - t3,
        "drift_metric": metric,
        "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        "pandas": pd.__version__,
        "numpy": np.__version__,
        "xgboost": xgb.__version__,
    }
    with open(out_json, "w") as f:
        json.dump(res, f)


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "version":
        print(xgb.__version__)
    elif cmd == "train":
        train(*args)
    elif cmd == "predict":
        predict(*args)
    else:
        sys.exit(f"unknown command {cmd}")
