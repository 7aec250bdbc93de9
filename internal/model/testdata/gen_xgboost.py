#!/usr/bin/python3
"""Generate XGBoost 1.7 reference fixtures for internal/model tests.

Run with Debian's python3 (packages python3-xgboost 1.7.4, python3-sklearn,
python3-numpy):

    cd internal/model/testdata && /usr/bin/python3 gen_xgboost.py

Writes one directory per case under xgboost-1.7/:

    model.json, model.ubj   Booster.save_model in both formats
    eval.csv                header f0..fN (features only); values are float64
                            text ("nan" = missing) that the tests parse with
                            strconv.ParseFloat and convert to float32, exactly
                            what XGBoost received here
    expected_margin.f32     Booster.predict(output_margin=True), raw
                            little-endian float32, rows x outputs
    expected_pred.f32       Booster.predict(), same layout (multi:softmax: one
                            column, the class index)
    params.json             objective, shapes, training parameters, library
                            version

Everything is seeded; re-running with the same library version reproduces the
files byte for byte.
"""

import json
import os
import shutil
import struct
import sys
import zlib

import numpy as np
import xgboost as xgb

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "xgboost-1.7")
N_TRAIN = 1500
N_EVAL = 300


def make_x(rng, n, nf, nan_frac):
    x = rng.normal(size=(n, nf))
    x[:, 0] = np.round(x[:, 0] * 3) / 3  # repeated values -> exact ties
    if nf > 3:
        x[:, 3] = rng.integers(0, 5, size=n)  # small integers
    if nan_frac > 0:
        mask = rng.random(size=(n, nf)) < nan_frac
        x[mask] = np.nan
    return x


def signal(x):
    z = np.nan_to_num(x, nan=0.0)
    s = np.sin(z[:, 0] * 2) + 0.5 * z[:, 1] ** 2 - z[:, 2] + 0.3 * z[:, 0] * z[:, 1]
    s += np.where(np.isnan(x[:, 1]), 1.0, 0.0)  # missingness carries signal
    return s


def thresholds(booster):
    """Numeric split thresholds (float32) of the model, by feature."""
    model = json.loads(booster.save_raw("json"))
    gb = model["learner"]["gradient_booster"]
    if gb["name"] == "gblinear":
        return {}
    trees = (gb["gbtree"] if gb["name"] == "dart" else gb)["model"]["trees"]
    out = {}
    for t in trees:
        st = t.get("split_type") or [0] * len(t["left_children"])
        for i, l in enumerate(t["left_children"]):
            if l != -1 and st[i] == 0:
                out.setdefault(t["split_indices"][i], set()).add(
                    np.float32(t["split_conditions"][i]))
    return {f: sorted(v) for f, v in out.items()}


def eval_rows(rng, nf, booster, nan_frac, cat_cols=()):
    """Evaluation rows: fresh rows, NaN rows, rows whose values equal split
    thresholds exactly, and float64 values that round to (or just away from)
    a threshold only after conversion to float32."""
    x = make_x(rng, N_EVAL, nf, nan_frac)
    thr = thresholds(booster)
    feats = [f for f in sorted(thr) if f not in cat_cols]
    r = 0
    kinds = []
    # 0: all NaN, 1: all zero, 2: all huge, 3: all -huge
    x[r] = np.nan; r += 1
    x[r] = 0.0; r += 1
    x[r] = 1e30; r += 1
    x[r] = -1e30; r += 1
    for c in cat_cols:
        x[2, c] = 100000.0
        x[3, c] = -100000.0
    # Rows with exact thresholds.
    while r < 100 and feats:
        for _ in range(3):
            f = feats[rng.integers(len(feats))]
            x[r, f] = float(thr[f][rng.integers(len(thr[f]))])
        r += 1
    # Rows with float64 values near float32 rounding boundaries of thresholds.
    while r < 200 and feats:
        f = feats[rng.integers(len(feats))]
        t = thr[f][rng.integers(len(thr[f]))]
        below = np.nextafter(t, np.float32(-np.inf), dtype=np.float32)
        above = np.nextafter(t, np.float32(np.inf), dtype=np.float32)
        mid_lo = (float(below) + float(t)) / 2  # ties round to even
        mid_hi = (float(t) + float(above)) / 2
        choice = rng.integers(6)
        tiny = abs(float(t)) * 2.0 ** -40 + 1e-300
        v = [mid_lo, mid_lo + tiny, mid_lo - tiny, mid_hi, mid_hi - tiny, mid_hi + tiny][choice]
        x[r, f] = v
        r += 1
    return x


def write_case(name, params, rounds, x_train, y_train, nf, objective_info,
               group=None, feature_names=None, feature_types=None, nan_frac=0.05,
               cat_cols=(), dtrain_kw=None):
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    kw = dict(missing=np.nan)
    if feature_names:
        kw["feature_names"] = feature_names
    if feature_types:
        kw["feature_types"] = feature_types
        kw["enable_categorical"] = True
    dtrain = xgb.DMatrix(x_train.astype(np.float32), label=y_train, **kw)
    if group is not None:
        dtrain.set_group(group)
    booster = xgb.train(params, dtrain, num_boost_round=rounds)
    x_eval = eval_rows(rng, nf, booster, nan_frac, cat_cols)
    if cat_cols:
        # Unseen, negative and fractional categories.
        for i in range(200, 260):
            c = cat_cols[i % len(cat_cols)]
            x_eval[i, c] = [-1.0, -0.5, 7.0, 12.0, 2.5, 16777216.0, 3.0, 0.0, np.nan, 1.0][i % 10]
        for i in range(260, N_EVAL):
            for c in cat_cols:
                x_eval[i, c] = float(rng.integers(0, 8))
    dm = xgb.DMatrix(x_eval.astype(np.float32), **kw)
    margin = np.asarray(booster.predict(dm, output_margin=True), dtype=np.float32)
    pred = np.asarray(booster.predict(dm), dtype=np.float32)

    d = os.path.join(OUT, name)
    if os.path.isdir(d):
        shutil.rmtree(d)
    os.makedirs(d)
    booster.save_model(os.path.join(d, "model.json"))
    booster.save_model(os.path.join(d, "model.ubj"))
    with open(os.path.join(d, "eval.csv"), "w") as fh:
        fh.write(",".join(f"f{i}" for i in range(nf)) + "\n")
        for row in x_eval:
            fh.write(",".join("nan" if np.isnan(v) else repr(float(v)) for v in row) + "\n")
    margin.astype("<f4").tofile(os.path.join(d, "expected_margin.f32"))
    pred.astype("<f4").tofile(os.path.join(d, "expected_pred.f32"))
    k = 1 if margin.ndim == 1 else margin.shape[1]
    info = dict(objective_info)
    info.update({
        "xgboost_version": xgb.__version__,
        "numpy_version": np.__version__,
        "python": sys.version.split()[0],
        "num_features": nf,
        "num_outputs": k,
        "pred_columns": 1 if pred.ndim == 1 else pred.shape[1],
        "train_params": params,
        "num_boost_round": rounds,
        "train_rows": int(x_train.shape[0]),
        "eval_rows": int(x_eval.shape[0]),
        "feature_names": feature_names or [],
        "feature_types": feature_types or [],
        "input": "float64 text -> float32, missing=NaN",
    })
    with open(os.path.join(d, "params.json"), "w") as fh:
        json.dump(info, fh, indent=2, sort_keys=True)
        fh.write("\n")
    print(f"{name}: {margin.shape} margins, {len(booster.get_dump())} trees")


def main():
    rng = np.random.default_rng(20240501)
    nf = 8
    x = make_x(rng, N_TRAIN, nf, 0.05)
    s = signal(x)
    base = {"tree_method": "hist", "seed": 42, "nthread": 1, "max_depth": 4, "eta": 0.3}

    def p(**kw):
        d = dict(base)
        d.update(kw)
        return d

    y_bin = (s + rng.normal(scale=0.5, size=N_TRAIN) > np.median(s)).astype(np.float32)
    y_reg = (s + rng.normal(scale=0.3, size=N_TRAIN)).astype(np.float32)
    y_pos = np.exp(0.4 * s - 0.5 + rng.normal(scale=0.2, size=N_TRAIN)).astype(np.float32)
    y_cnt = rng.poisson(np.exp(0.4 * s - 0.3)).astype(np.float32)
    y_frac = (1 / (1 + np.exp(-s))).astype(np.float32)
    q = np.quantile(s, [1 / 3, 2 / 3])
    y_mc = np.digitize(s + rng.normal(scale=0.3, size=N_TRAIN), q).astype(np.float32)
    names = [f"feat_{i}" for i in range(nf)]

    cases = [
        ("binary_logistic", p(objective="binary:logistic", base_score=0.3), 30, y_bin,
         dict(objective="binary:logistic", num_classes=2), dict(feature_names=names, nan_frac=0.1)),
        ("reg_squarederror", p(objective="reg:squarederror"), 30, y_reg,
         dict(objective="reg:squarederror", num_classes=0), {}),
        ("multi_softprob", p(objective="multi:softprob", num_class=3), 10, y_mc,
         dict(objective="multi:softprob", num_classes=3), {}),
        ("multi_softmax", p(objective="multi:softmax", num_class=3), 8, y_mc,
         dict(objective="multi:softmax", num_classes=3), {}),
        ("binary_logitraw", p(objective="binary:logitraw"), 20, y_bin,
         dict(objective="binary:logitraw", num_classes=2), {}),
        ("binary_hinge", p(objective="binary:hinge"), 20, y_bin,
         dict(objective="binary:hinge", num_classes=2), {}),
        ("reg_logistic", p(objective="reg:logistic"), 20, y_frac,
         dict(objective="reg:logistic", num_classes=0), {}),
        ("reg_squaredlogerror", p(objective="reg:squaredlogerror"), 20, y_pos,
         dict(objective="reg:squaredlogerror", num_classes=0), {}),
        ("reg_pseudohubererror", p(objective="reg:pseudohubererror"), 20, y_reg,
         dict(objective="reg:pseudohubererror", num_classes=0), {}),
        ("reg_absoluteerror", p(objective="reg:absoluteerror"), 20, y_reg,
         dict(objective="reg:absoluteerror", num_classes=0), {}),
        ("count_poisson", p(objective="count:poisson", base_score=2.0), 20, y_cnt,
         dict(objective="count:poisson", num_classes=0), {}),
        ("reg_gamma", p(objective="reg:gamma"), 20, y_pos,
         dict(objective="reg:gamma", num_classes=0), {}),
        ("reg_tweedie", p(objective="reg:tweedie", tweedie_variance_power=1.3), 20, y_cnt,
         dict(objective="reg:tweedie", num_classes=0), {}),
        ("rank_pairwise", p(objective="rank:pairwise"), 20, np.digitize(s, q).astype(np.float32),
         dict(objective="rank:pairwise", num_classes=0), dict(group=[50] * (N_TRAIN // 50))),
        ("dart_binary", p(booster="dart", objective="binary:logistic", rate_drop=0.2,
                          skip_drop=0.0, sample_type="uniform", normalize_type="tree"), 20, y_bin,
         dict(objective="binary:logistic", num_classes=2), {}),
        ("gblinear_reg", dict(booster="gblinear", objective="reg:squarederror", seed=42,
                              nthread=1, eta=0.5, updater="coord_descent"), 20, y_reg,
         dict(objective="reg:squarederror", num_classes=0), {}),
        ("gblinear_multi", dict(booster="gblinear", objective="multi:softprob", num_class=3,
                                seed=42, nthread=1, eta=0.5, updater="coord_descent"), 10, y_mc,
         dict(objective="multi:softprob", num_classes=3), {}),
    ]
    for name, params, rounds, y, oinfo, extra in cases:
        write_case(name, params, rounds, x, y, nf, oinfo, **extra)

    # Categorical: f0 with 6 categories (partition splits), f1 with 3 (one-hot).
    xc = make_x(rng, N_TRAIN, nf, 0.03)
    xc[:, 0] = rng.integers(0, 6, size=N_TRAIN)
    xc[:, 1] = rng.integers(0, 3, size=N_TRAIN)
    sc = signal(xc) + np.array([1.5, -1, 0.5, -0.5, 2, -2])[xc[:, 0].astype(int)] + (xc[:, 1] == 2)
    y_cat = (sc + rng.normal(scale=0.5, size=N_TRAIN) > np.median(sc)).astype(np.float32)
    ftypes = ["c", "c"] + ["q"] * (nf - 2)
    write_case("binary_categorical",
               p(objective="binary:logistic", max_cat_to_onehot=4, max_depth=5), 30, xc, y_cat, nf,
               dict(objective="binary:logistic", num_classes=2),
               feature_types=ftypes, cat_cols=(0, 1))


if __name__ == "__main__":
    main()
