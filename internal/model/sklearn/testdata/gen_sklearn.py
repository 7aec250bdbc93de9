#!/usr/bin/python3
"""Generate scikit-learn reference models and predictions for the Go tests.

Run with Debian's interpreter (python3-sklearn 1.2.1, numpy, joblib):

    cd internal/model/sklearn/testdata && /usr/bin/python3 gen_sklearn.py

Writes sklearn-1.2/<case>/ (see README.md). Seeded and single-threaded, so the
same library versions reproduce the same files.
"""

import json
import os
import pickle
import shutil
import sys

import joblib
import numpy as np
import sklearn
from sklearn.datasets import make_classification, make_regression
from sklearn.ensemble import (
    ExtraTreesClassifier,
    ExtraTreesRegressor,
    GradientBoostingClassifier,
    GradientBoostingRegressor,
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

OUT = "sklearn-1.2"
NF = 8
N_TRAIN = 400
N_RANDOM_EVAL = 24
N_THRESH = 13  # thresholds sampled per case for boundary rows

try:
    import lz4  # noqa: F401

    HAVE_LZ4 = True
except ImportError:
    HAVE_LZ4 = False


def scale_features(X):
    """Give the features different magnitudes and one integer feature so that
    float32 rounding happens at several exponents and thresholds fall on .5."""
    X = X.copy()
    X[:, 1] *= 1000.0
    X[:, 2] *= 1e-3
    X[:, 3] = np.round(X[:, 3] * 3)
    X[:, 5] = X[:, 5] * 7.3 + 100.0
    return X


def classification_data(seed, n_classes):
    X, y = make_classification(
        n_samples=N_TRAIN,
        n_features=NF,
        n_informative=5,
        n_redundant=1,
        n_classes=n_classes,
        n_clusters_per_class=1,
        random_state=seed,
    )
    return scale_features(X), y


def regression_data(seed):
    X, y = make_regression(
        n_samples=N_TRAIN, n_features=NF, n_informative=6, noise=5.0, random_state=seed
    )
    return scale_features(X), y


def tree_thresholds(est):
    """(feature, threshold) pairs of all split nodes of a tree-based model."""
    out = []
    if hasattr(est, "_predictors"):  # HistGradientBoosting*
        for it in est._predictors:
            for p in it:
                n = p.nodes
                for i in range(len(n)):
                    if not n["is_leaf"][i]:
                        out.append((int(n["feature_idx"][i]), float(n["num_threshold"][i])))
        return out
    if hasattr(est, "tree_"):
        trees = [est]
    else:
        trees = list(np.ravel(est.estimators_))
    for t in trees:
        tr = t.tree_
        for i in range(tr.node_count):
            if tr.children_left[i] != -1:
                out.append((int(tr.feature[i]), float(tr.threshold[i])))
    return out


def f32_neighbours(t):
    """Largest float32 <= t and smallest float32 > t, as float64."""
    f = np.float32(t)
    if float(f) <= t:
        lo = f
        hi = np.nextafter(f, np.float32(np.inf))
    else:
        hi = f
        lo = np.nextafter(f, np.float32(-np.inf))
    return float(lo), float(hi)


CAT_EDGE = [-1.0, -0.5, 0.0, 1.0, 2.5, 8.0, 9.0, 12.0, 255.0, 256.0, 257.0, 300.0, 1e10, 1e30, -1e30]


def eval_rows(X_train, est, rng, allow_nan, cat_features=()):
    base = X_train[rng.choice(len(X_train), N_RANDOM_EVAL, replace=False)].copy()
    base += rng.normal(scale=0.05, size=base.shape) * np.abs(base)
    rows = [r for r in base]
    th = tree_thresholds(est)
    idx = rng.choice(len(th), min(N_THRESH, len(th)), replace=False)
    for k in idx:
        f, t = th[k]
        lo, hi = f32_neighbours(t)
        mid = (lo + hi) / 2.0  # exact in float64; rounds to even in float32
        variants = [
            t,
            lo,
            hi,
            mid,
            float(np.nextafter(mid, -np.inf)),
            float(np.nextafter(mid, np.inf)),
            float(np.nextafter(t, -np.inf)),
            float(np.nextafter(t, np.inf)),
        ]
        for v in variants:
            r = X_train[rng.integers(len(X_train))].copy()
            r[f] = v
            rows.append(r)
    for f in cat_features:
        for v in CAT_EDGE:
            r = X_train[rng.integers(len(X_train))].copy()
            r[f] = v
            rows.append(r)
    rows.append(np.zeros(NF))
    rows.append(np.full(NF, 1e30))
    rows.append(np.full(NF, -1e30))
    rows.append(np.full(NF, -0.0))
    if allow_nan:
        r = X_train[0].copy()
        r[::2] = np.nan
        rows.append(r)
        rows.append(np.full(NF, np.nan))
        rows.append(np.full(NF, np.inf))
        rows.append(np.full(NF, -np.inf))
        r = X_train[1].copy()
        r[3] = np.nan
        rows.append(r)
    return np.array(rows, dtype=np.float64)


def write_csv(path, X, names):
    with open(path, "w") as fh:
        fh.write(",".join(names) + "\n")
        for r in X:
            fh.write(",".join(repr(float(v)) for v in r) + "\n")


def write_f64(path, a):
    np.ascontiguousarray(a, dtype="<f8").tofile(path)


def save_all(est, d, extra_compress):
    files = []
    for proto in (2, 4, 5):
        name = "model.p%d.pkl" % proto
        with open(os.path.join(d, name), "wb") as fh:
            pickle.dump(est, fh, protocol=proto)
        files.append(name)
    joblib.dump(est, os.path.join(d, "model.joblib"))
    files.append("model.joblib")
    joblib.dump(est, os.path.join(d, "model.joblib.z"), compress=("zlib", 3))
    files.append("model.joblib.z")
    if extra_compress:
        for method, ext in (("gzip", "gz"), ("bz2", "bz2"), ("lzma", "lzma"), ("xz", "xz"), ("lz4", "lz4")):
            if method == "lz4" and not HAVE_LZ4:
                continue
            name = "model.joblib." + ext
            joblib.dump(est, os.path.join(d, name), compress=(method, 3))
            files.append(name)
    return files


def case(name, est, X, y, kind, objective, extra_compress=False, allow_nan=False,
         feature_names=None, seed=0, cat_features=()):
    d = os.path.join(OUT, name)
    os.makedirs(d, exist_ok=True)
    if feature_names is not None:
        import pandas as pd

        est.fit(pd.DataFrame(X, columns=feature_names), y)
    else:
        est.fit(X, y)
    rng = np.random.default_rng(seed + 1000)
    Xe = eval_rows(X, est, rng, allow_nan, cat_features)
    names = feature_names or ["f%d" % i for i in range(NF)]
    write_csv(os.path.join(d, "eval.csv"), Xe, names)
    if feature_names is not None:
        import pandas as pd

        Xin = pd.DataFrame(Xe, columns=feature_names)
    else:
        Xin = Xe
    params = {
        "class": type(est).__name__,
        "objective": objective,
        "num_features": NF,
        "rows": len(Xe),
        "sklearn_version": sklearn.__version__,
        "numpy_version": np.__version__,
        "joblib_version": joblib.__version__,
        "feature_names": feature_names or [],
    }
    if kind == "clf":
        proba = est.predict_proba(Xin)
        labels = est.predict(Xin)
        classes = list(est.classes_)
        index = np.array([classes.index(v) for v in labels], dtype="<i4")
        if hasattr(est, "decision_function"):
            raw = est.decision_function(Xin)
        else:
            raw = proba
        raw = np.asarray(raw, dtype=np.float64)
        if raw.ndim == 1:
            raw = raw.reshape(-1, 1)
        write_f64(os.path.join(d, "expected_raw.f64"), raw)
        write_f64(os.path.join(d, "expected_pred.f64"), proba)
        index.tofile(os.path.join(d, "expected_class.i32"))
        params.update(
            num_outputs=raw.shape[1],
            pred_columns=proba.shape[1],
            num_classes=len(classes),
            classes=[v.item() if hasattr(v, "item") else v for v in classes],
        )
    else:
        pred = np.asarray(est.predict(Xin), dtype=np.float64).reshape(len(Xe), -1)
        raw = pred
        if hasattr(est, "_predictors"):  # HistGradientBoosting: raw score before the inverse link
            raw = est._raw_predict(Xin)
        write_f64(os.path.join(d, "expected_raw.f64"), raw)
        write_f64(os.path.join(d, "expected_pred.f64"), pred)
        params.update(num_outputs=pred.shape[1], pred_columns=pred.shape[1], num_classes=0, classes=[])
    if hasattr(est, "_raw_predict_init"):  # GradientBoosting*: initial raw scores (np.log of the prior)
        params["init_raw"] = [float(v).hex() for v in np.ravel(est._raw_predict_init(Xe[:1].astype(np.float32)))]
    params["files"] = save_all(est, d, extra_compress)
    with open(os.path.join(d, "params.json"), "w") as fh:
        json.dump(params, fh, indent=1, sort_keys=True)
        fh.write("\n")


def main():
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    os.makedirs(OUT)

    X, y = classification_data(1, 3)
    ys = np.array(["cat", "dog", "emu"], dtype=object)[y]
    case("dt_clf_multi", DecisionTreeClassifier(max_depth=6, random_state=1), X, ys, "clf",
         "classification", extra_compress=True, seed=1)
    X, y = regression_data(2)
    case("dt_reg", DecisionTreeRegressor(max_depth=6, random_state=2), X, y, "reg", "regression", seed=2)

    X, y = classification_data(3, 2)
    fn = ["age", "income", "ratio", "count", "score", "temp", "u", "v"]
    case("rf_clf_binary", RandomForestClassifier(n_estimators=10, max_depth=5, random_state=3, n_jobs=1),
         X, y, "clf", "classification", feature_names=fn, seed=3)
    X, y = classification_data(4, 4)
    y = np.array([3, 5, 7, 9])[y]
    case("rf_clf_multi", RandomForestClassifier(n_estimators=10, max_depth=5, class_weight="balanced",
                                                 random_state=4, n_jobs=1),
         X, y, "clf", "classification", seed=4)
    X, y = regression_data(5)
    case("rf_reg", RandomForestRegressor(n_estimators=10, max_depth=5, random_state=5, n_jobs=1),
         X, y, "reg", "regression", seed=5)

    X, y = classification_data(6, 3)
    case("et_clf", ExtraTreesClassifier(n_estimators=10, max_depth=5, random_state=6, n_jobs=1),
         X, y, "clf", "classification", seed=6)
    X, y = regression_data(7)
    case("et_reg", ExtraTreesRegressor(n_estimators=10, max_depth=5, random_state=7, n_jobs=1),
         X, y, "reg", "regression", seed=7)

    X, y = classification_data(8, 2)
    case("gb_clf_binary", GradientBoostingClassifier(n_estimators=15, max_depth=3, random_state=8),
         X, y, "clf", "binary:logistic", extra_compress=True, seed=8)
    X, y = classification_data(9, 3)
    case("gb_clf_multi", GradientBoostingClassifier(n_estimators=10, max_depth=3, learning_rate=0.2,
                                                     subsample=0.8, random_state=9),
         X, y, "clf", "multi:softprob", seed=9)
    X, y = classification_data(10, 2)
    case("gb_clf_zero", GradientBoostingClassifier(n_estimators=15, max_depth=2, init="zero", random_state=10),
         X, y, "clf", "binary:logistic", seed=10)
    X, y = classification_data(11, 2)
    case("gb_clf_exp", GradientBoostingClassifier(n_estimators=15, max_depth=3, loss="exponential",
                                                   random_state=11),
         X, y, "clf", "binary:exponential", seed=11)
    X, y = regression_data(12)
    case("gb_reg", GradientBoostingRegressor(n_estimators=15, max_depth=3, random_state=12),
         X, y, "reg", "reg:squared_error", seed=12)
    X, y = regression_data(13)
    case("gb_reg_huber", GradientBoostingRegressor(n_estimators=15, max_depth=3, loss="huber",
                                                    subsample=0.7, random_state=13),
         X, y, "reg", "reg:huber", seed=13)
    X, y = regression_data(14)
    case("gb_reg_quantile", GradientBoostingRegressor(n_estimators=15, max_depth=3, loss="quantile",
                                                       alpha=0.8, random_state=14),
         X, y, "reg", "reg:quantile", seed=14)

    X, y = classification_data(15, 2)
    X[np.random.default_rng(15).random(X.shape) < 0.1] = np.nan
    case("hgb_clf_binary", HistGradientBoostingClassifier(max_iter=12, max_leaf_nodes=12, random_state=15),
         X, y, "clf", "binary:logistic", allow_nan=True, seed=15)
    X, y = classification_data(16, 3)
    case("hgb_clf_multi", HistGradientBoostingClassifier(max_iter=8, max_leaf_nodes=8, random_state=16),
         X, y, "clf", "multi:softprob", allow_nan=True, seed=16)
    X, y = regression_data(17)
    X[np.random.default_rng(17).random(X.shape) < 0.1] = np.nan
    case("hgb_reg", HistGradientBoostingRegressor(max_iter=12, max_leaf_nodes=12, random_state=17),
         X, y, "reg", "reg:squared_error", allow_nan=True, seed=17)
    X, y = regression_data(18)
    y = np.exp(y / 100.0)
    case("hgb_reg_poisson", HistGradientBoostingRegressor(max_iter=10, loss="poisson", max_leaf_nodes=8,
                                                          random_state=18),
         X, y, "reg", "reg:poisson", allow_nan=True, seed=18)
    X, y = classification_data(19, 2)
    X[:, 6] = np.floor(np.abs(X[:, 6]) * 4) % 9  # categories 0..8
    X[:, 7] = np.floor(np.abs(X[:, 7]) * 3) % 5
    cat = np.zeros(NF, dtype=bool)
    cat[6] = cat[7] = True
    case("hgb_clf_cat", HistGradientBoostingClassifier(max_iter=10, max_leaf_nodes=8, categorical_features=cat,
                                                       random_state=19),
         X, y, "clf", "binary:logistic", allow_nan=True, seed=19, cat_features=(6, 7))

    total = 0
    for root, _, files in os.walk(OUT):
        total += sum(os.path.getsize(os.path.join(root, f)) for f in files)
    print("wrote %s: %d bytes (lz4: %s)" % (OUT, total, HAVE_LZ4), file=sys.stderr)


if __name__ == "__main__":
    main()
