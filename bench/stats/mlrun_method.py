"""MLRun's method on the benchmark data (drift-spec sections 1-3).

pandas describe, then np.histogram per column over the reference edges,
then MLRun's TVD / Hellinger / KLD formulas. Run by bench/stats with
Debian's /usr/bin/python3 (python3-pandas, python3-numpy).

argv: data.f64 rows cols reference.json out.json reps
data.f64 is column-major little-endian float64: column c holds rows values.
"""
import json
import sys
import time

import numpy as np
import pandas as pd

path, rows, cols, refpath, outpath, reps = sys.argv[1:7]
rows, cols, reps = int(rows), int(cols), int(reps)
arr = np.fromfile(path, dtype="<f8").reshape(cols, rows)
with open(refpath) as f:
    ref = json.load(f)
names = list(ref.keys())[:cols]
df = pd.DataFrame({n: arr[i] for i, n in enumerate(names)})  # loading is not timed


def run():
    t0 = time.perf_counter()
    st = df.describe(include="all", percentiles=[0.25, 0.5, 0.75]).to_dict()
    out = {}
    tvds, hels, klds = [], [], []
    with np.errstate(all="ignore"):
        for n in names:
            edges = np.asarray(ref[n]["hist"][1], dtype=float)
            t = np.asarray(ref[n]["hist"][0], dtype=float) / ref[n]["count"]
            counts, _ = np.histogram(df[n], bins=edges)
            u = counts / st[n]["count"]
            tvd = 0.5 * np.sum(np.abs(t - u))
            hel = np.sqrt(max(0.0, 1 - np.sum(np.sqrt(t * u))))
            tc = np.where(t == 0, 1e-4, t)
            uc = np.where(u == 0, 1e-4, u)
            kld = np.sum(np.where(t > 0, t * np.log(t / uc), 0.0)) + np.sum(np.where(u > 0, u * np.log(u / tc), 0.0))
            tvds.append(tvd)
            hels.append(hel)
            klds.append(kld)
            s = st[n]
            out[n] = {"tvd": float(tvd), "hellinger": float(hel), "kld": float(kld),
                      "count": s["count"], "mean": s["mean"], "std": s["std"],
                      "min": s["min"], "25%": s["25%"], "50%": s["50%"], "75%": s["75%"], "max": s["max"]}
    metric = (np.mean(tvds) + np.mean(hels)) / 2
    return time.perf_counter() - t0, out, float(metric)


best = None
for _ in range(reps):
    secs, out, metric = run()
    best = secs if best is None else min(best, secs)
with open(outpath, "w") as f:
    json.dump({"seconds": best, "features": out, "drift_metric": metric,
               "pandas": pd.__version__, "numpy": np.__version__}, f)
