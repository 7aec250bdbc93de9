#!/usr/bin/python3
"""Generate the bundled demo: a binary classifier over 10,000 x 5 numeric rows.

Run with Debian's python3 (python3-xgboost 1.7.4, numpy):

    /usr/bin/python3 examples/demo/generate.py

Writes, beside this script:
  train.csv          10,000 training rows: feat_0..feat_4 and the label `labels`
  batch.csv          10,000 rows to score (feat_0..feat_4), drawn with drift
                     on feat_1 (shifted) and feat_3 (rescaled)
  model.json         the XGBoost model (binary:logistic, 50 trees, depth 4)
  expected_margin.f32  XGBoost's own margins for batch.csv (little-endian
                     float32, one per row): the engine must match them bit for bit
  expected_proba.f32 XGBoost's probabilities for batch.csv
  expected_drift.json  MLRun's statistics and drift numbers for this batch,
                     computed here with pandas/numpy from the drift-spec
                     formulas (the labels column holds XGBoost's predicted
                     classes): the end-to-end test compares against them
The model bundle (model + reference statistics) is then made by
`go run ./starter model register` (see generate.sh).
"""
import json
import os

import numpy as np
import pandas as pd
import xgboost as xgb

HERE = os.path.dirname(os.path.abspath(__file__))
N = 10_000
FEATURES = [f"feat_{i}" for i in range(5)]


def draw(rng, n, shift1=0.0, scale3=1.0):
    x = np.empty((n, 5))
    x[:, 0] = rng.normal(0.0, 1.0, n)
    x[:, 1] = rng.normal(2.0 + shift1, 1.5, n)
    x[:, 2] = rng.uniform(-3.0, 3.0, n)
    x[:, 3] = rng.gamma(2.0, 2.0 * scale3, n)
    x[:, 4] = rng.integers(0, 10, n).astype(float)
    # 4 decimals keeps the CSV small; the values are then exactly what is parsed.
    return np.round(x, 4)


def label(rng, x):
    z = 1.2 * x[:, 0] - 0.8 * (x[:, 1] - 2.0) + np.sin(x[:, 2]) + 0.15 * x[:, 3] - 0.1 * x[:, 4]
    p = 1.0 / (1.0 + np.exp(-z))
    return (rng.uniform(size=len(z)) < p).astype(int)


def write_csv(path, header, rows, fmt):
    with open(path, "w") as f:
        f.write(",".join(header) + "\n")
        for r in rows:
            f.write(",".join(fmt(v) for v in r) + "\n")


def main():
    rng = np.random.default_rng(20261126)
    x_train = draw(rng, N)
    y_train = label(rng, x_train)
    x_batch = draw(rng, N, shift1=4.5, scale3=4.0)

    def num(v):
        return repr(float(v)) if v != int(v) else f"{int(v)}"

    write_csv(os.path.join(HERE, "train.csv"), FEATURES + ["labels"],
              [list(r) + [int(y)] for r, y in zip(x_train, y_train)], num)
    write_csv(os.path.join(HERE, "batch.csv"), FEATURES, x_batch, num)

    dtrain = xgb.DMatrix(x_train.astype(np.float32), label=y_train, feature_names=FEATURES)
    params = {"objective": "binary:logistic", "max_depth": 4, "eta": 0.2, "seed": 7,
              "tree_method": "hist", "nthread": 1}
    booster = xgb.train(params, dtrain, num_boost_round=50)
    booster.save_model(os.path.join(HERE, "model.json"))

    dbatch = xgb.DMatrix(x_batch.astype(np.float32), feature_names=FEATURES)
    margin = booster.predict(dbatch, output_margin=True).astype("<f4")
    proba = booster.predict(dbatch).astype("<f4")
    margin.tofile(os.path.join(HERE, "expected_margin.f32"))
    proba.tofile(os.path.join(HERE, "expected_proba.f32"))
    expected_drift(booster, proba)
    with open(os.path.join(HERE, "generated.json"), "w") as f:
        json.dump({"xgboost": xgb.__version__, "numpy": np.__version__, "rows": N,
                   "params": params, "rounds": 50,
                   "train_positive_rate": float(y_train.mean()),
                   "batch_mean_proba": float(proba.mean())}, f, indent=2)
        f.write("\n")


def ref_edges(lo, hi, bins=20):
    """drift-spec section 1: e[i] = i*step + min (no FMA), e[bins] = max."""
    if lo == hi:
        lo, hi = lo - 0.5, hi + 0.5
    step = (hi - lo) / bins
    return np.array([float(i * step) + lo for i in range(bins)] + [hi])


def describe(col, edges=None):
    d = col.describe()
    out = {"count": float(d["count"]), "mean": float(d["mean"]), "std": float(d["std"]),
           "min": float(d["min"]), "25%": float(d["25%"]), "50%": float(d["50%"]),
           "75%": float(d["75%"]), "max": float(d["max"])}
    if edges is None:
        edges = ref_edges(out["min"], out["max"])
    counts, _ = np.histogram(col.values, bins=edges)
    out["hist"] = [counts.tolist(), edges.tolist()]
    return out


def distances(t_counts, t_n, u_counts, u_n):
    t = np.array(t_counts) / t_n
    u = np.array(u_counts) / u_n
    tvd = float(np.sum(np.abs(t - u)) / 2)
    hel = float(np.sqrt(max(0.0, 1 - np.sum(np.sqrt(t * u)))))
    tc = np.where(t == 0, 1e-4, t)
    uc = np.where(u == 0, 1e-4, u)
    with np.errstate(divide="ignore", invalid="ignore"):
        kld = float(np.sum(np.where(t > 0, t * np.log(t / uc), 0.0)) + np.sum(np.where(u > 0, u * np.log(u / tc), 0.0)))
    return tvd, hel, kld


def expected_drift(booster, proba):
    """MLRun's numbers for the demo batch, from pandas/numpy."""
    train = pd.read_csv(os.path.join(HERE, "train.csv"), float_precision="round_trip")
    batch = pd.read_csv(os.path.join(HERE, "batch.csv"), float_precision="round_trip")
    batch["labels"] = (proba > 0.5).astype(int)
    ref = {c: describe(train[c].astype(float)) for c in train.columns}
    cur = {c: describe(batch[c].astype(float), np.array(ref[c]["hist"][1])) for c in batch.columns}
    features = {}
    for c in batch.columns:
        tvd, hel, kld = distances(ref[c]["hist"][0], ref[c]["count"], cur[c]["hist"][0], cur[c]["count"])
        value = (tvd + hel) / 2
        status = "DRIFT_DETECTED" if value >= 0.7 else "POSSIBLE_DRIFT" if value >= 0.5 else "NO_DRIFT"
        features[c] = {"tvd": tvd, "hellinger": hel, "kld": kld, "drift_value": value, "status": status}
    n = len(features)
    tvd_mean = sum(f["tvd"] for f in features.values()) / n
    hel_mean = sum(f["hellinger"] for f in features.values()) / n
    metric = (tvd_mean + hel_mean) / 2
    out = {"pandas": pd.__version__, "reference_statistics": ref, "dataset_statistics": cur,
           "features": features, "tvd_mean": tvd_mean, "hellinger_mean": hel_mean,
           "kld_mean": sum(f["kld"] for f in features.values()) / n,
           "drift_metric": metric, "drift_status": bool(metric >= 0.7),
           "positive_predictions": int(batch["labels"].sum())}
    with open(os.path.join(HERE, "expected_drift.json"), "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
