"""scikit-learn side of bench/heads.ts, and the generators of its data.

  .venv/bin/python bench/heads_sklearn.py make-standin DIR     245×1280 train / 153 val, 2 classes (stand-in for codes)
  .venv/bin/python bench/heads_sklearn.py make-synthetic DIR [--d 512]   100,000×d train / 10,000 val, 10 classes
  .venv/bin/python bench/heads_sklearn.py run DIR --mode cv|single|lrcv [--C 0.01] [--grid 1e-5,...] [--n-jobs N]
  .venv/bin/python bench/heads_sklearn.py blas                  which BLAS kernel numpy uses (threadpoolctl)
prints one JSON document. lrcv: LogisticRegressionCV only, on the folds in DIR/folds.npy (PredefinedSplit), so both
sides cross-validate on identical folds.

Timings (wall and process CPU) cover scaling + fitting (+ CV and refit), not loading. bench/heads.ts sets the BLAS and
OpenMP thread counts through the environment.
"""
import argparse
import json
import os
import resource
import time
import warnings

import numpy as np


def save(out, name, X, y):
    np.save(os.path.join(out, f"{name}_X.npy"), X.astype(np.float32))
    np.save(os.path.join(out, f"{name}_y.npy"), y.astype(np.int32))


def make_standin(out):
    from sklearn.datasets import make_classification

    X, y = make_classification(n_samples=398, n_features=1280, n_informative=40, n_redundant=40,
                               class_sep=0.8, flip_y=0.02, random_state=0)
    # CNN codes after ReLU6 are non-negative and skewed; squash the stand-in the same way.
    X = np.clip(X + 1.0, 0, 6)
    save(out, "train", X[:245], y[:245])
    save(out, "val", X[245:], y[245:])


def make_synthetic(out, n=100_000, n_val=10_000, d=512, k=10):
    # Same generator for any d: at d=512 the files are identical to earlier runs (same seed, same draws).
    rng = np.random.default_rng(0)
    # Class means 0.1·N(0, 1) per feature: about 3 noise-σ apart, so classes overlap (not trivially separable).
    means = rng.standard_normal((k, d)) * 0.1
    for name, rows in (("train", n), ("val", n_val)):
        y = rng.integers(0, k, rows)
        X = np.maximum(0.0, means[y] + rng.standard_normal((rows, d), dtype=np.float32))
        save(out, name, X, y)


def load(codes, name):
    return (np.load(os.path.join(codes, f"{name}_X.npy")).astype(np.float64),
            np.load(os.path.join(codes, f"{name}_y.npy")).astype(np.int64))


def children_cpu():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(method, fit, Xv, yv, notes):
    children_start = children_cpu()
    start = time.perf_counter()
    cpu_start = time.process_time()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = fit()
    cpu_seconds = time.process_time() - cpu_start
    seconds = time.perf_counter() - start
    # n_jobs > 1 runs folds in loky worker processes: stop them (after the wall clock) so that their CPU time, which
    # the OS adds to RUSAGE_CHILDREN once they are reaped, counts too.
    from joblib.externals.loky import get_reusable_executor

    get_reusable_executor().shutdown(wait=True)
    cpu_seconds += children_cpu() - children_start
    converged = not any("converge" in str(w.message).lower() for w in caught)
    return {"method": method, "valAccuracy": float(model.score(Xv, yv)), "fitSeconds": seconds, "cpuSeconds": cpu_seconds,
            "notes": notes + ("" if converged else "; ConvergenceWarning")}


def blas():
    from threadpoolctl import threadpool_info

    return [{k: v for k, v in info.items() if k in ("internal_api", "architecture", "num_threads", "version")}
            for info in threadpool_info()]


def run(codes, mode, C, grid, n_jobs):
    from sklearn.linear_model import LogisticRegression, LogisticRegressionCV
    from sklearn.model_selection import GridSearchCV, StratifiedKFold
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import LinearSVC

    Xt, yt = load(codes, "train")
    Xv, yv = load(codes, "val")
    rows = []
    if mode == "lrcv":
        from sklearn.model_selection import PredefinedSplit

        folds = PredefinedSplit(np.load(os.path.join(codes, "folds.npy")))
        rows.append(timed(f"scikit-learn LogisticRegressionCV (our {len(grid)} Cs, our folds, n_jobs={n_jobs})",
                          lambda: make_pipeline(StandardScaler(), LogisticRegressionCV(Cs=grid, cv=folds, n_jobs=n_jobs)).fit(Xt, yt),
                          Xv, yv, "lbfgs, tol 1e-4, scaler fitted once, refit; CPU includes its loky workers"))
    elif mode == "cv":
        cv = StratifiedKFold(5, shuffle=True, random_state=0)
        rows.append(timed("scikit-learn LogisticRegressionCV (Cs=10: 1e-4..1e4)",
                          lambda: make_pipeline(StandardScaler(), LogisticRegressionCV(cv=cv)).fit(Xt, yt), Xv, yv,
                          "scaler fitted once on all train rows, then 5-fold CV, refit"))
        rows.append(timed("scikit-learn LogisticRegressionCV (our grid)",
                          lambda: make_pipeline(StandardScaler(), LogisticRegressionCV(Cs=grid, cv=cv)).fit(Xt, yt),
                          Xv, yv, f"Cs={len(grid)} values {grid[0]:g}..{grid[-1]:g}"))
        rows.append(timed("scikit-learn GridSearchCV(StandardScaler+LinearSVC)",
                          lambda: GridSearchCV(make_pipeline(StandardScaler(), LinearSVC()),
                                               {"linearsvc__C": grid}, cv=cv).fit(Xt, yt), Xv, yv,
                          "scaler refitted per fold, our grid, refit"))
    else:
        rows.append(timed(f"scikit-learn LogisticRegression(C={C:g})",
                          lambda: make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=1000)).fit(Xt, yt),
                          Xv, yv, "lbfgs, tol 1e-4, max_iter 1000"))
        rows.append(timed(f"scikit-learn LinearSVC(C={C:g})",
                          lambda: make_pipeline(StandardScaler(), LinearSVC(C=C)).fit(Xt, yt), Xv, yv,
                          "liblinear, dual='auto' (primal trust-region Newton when n >= d), tol 1e-4, max_iter 1000"))
    return rows


def main():
    p = argparse.ArgumentParser()
    p.add_argument("command", choices=["make-standin", "make-synthetic", "run", "blas"])
    p.add_argument("dir", nargs="?")
    p.add_argument("--d", type=int, default=512)
    p.add_argument("--n", type=int, default=100_000)
    p.add_argument("--n-jobs", type=int, default=None)
    p.add_argument("--mode", choices=["cv", "single", "lrcv"], default="cv")
    p.add_argument("--C", type=float, default=0.01)
    p.add_argument("--grid", default="1e-5,1e-4,1e-3,1e-2,1e-1,1,10,100")
    a = p.parse_args()
    if a.command == "blas":
        print(json.dumps(blas()))
    elif a.command == "make-standin":
        os.makedirs(a.dir, exist_ok=True)
        make_standin(a.dir)
    elif a.command == "make-synthetic":
        os.makedirs(a.dir, exist_ok=True)
        make_synthetic(a.dir, n=a.n, n_val=min(10_000, max(1_000, a.n // 10)), d=a.d)
    else:
        print(json.dumps(run(a.dir, a.mode, a.C, [float(c) for c in a.grid.split(",")], a.n_jobs)))


if __name__ == "__main__":
    main()
