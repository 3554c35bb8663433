#!/usr/bin/env python3
"""The scikit-learn peer of the Gaussian mixture benchmark (benchmarks/Gmm/GmmFitBenchmarks.cs).

Usage: gmm_peer.py MANIFEST.json

MANIFEST holds "x_path" (the data: rows * columns little-endian float64, row-major), "rows", "columns" and a list
of "cases", each with "covariance_type", "components", "reg_covar", "iterations", "repeats" and the explicit start
"weights", "means" (flat K*D) and "precisions" (flat, scikit-learn's shape for the type). The C# benchmark writes it
and runs this script with Debian's /usr/bin/python3, OMP_NUM_THREADS set to its own thread count and
OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE removed (so OpenBLAS takes its AVX-512 kernels: the fair peer).

For every case it times, over "repeats" runs (reporting every run):
  fit_seconds: GaussianMixture(max_iter=iterations, tol=0, explicit start).fit(X): exactly `iterations` EM
               iterations plus scikit-learn's own overhead (validation, the initialization it computes even though
               the explicit start overrides it, the final E-step) - the same call as the benchmark's Fit;
  em_seconds:  only the `iterations` EM iterations (its private _e_step / _m_step, from the same start): the
               conservative figure, free of that overhead.
and reports the final lower bound, so the caller can check both sides did the same computation.
Prints one JSON object on stdout.
"""
import json
import sys
import time
import warnings


def start(gm, case, shape):
    """Puts the explicit start into a fitted estimator, as scikit-learn's _initialize does for explicit values
    (max_iter=0 cannot be used: with precisions_init, scikit-learn 1.2 then fails on the missing covariances_)."""
    import numpy as np
    from scipy import linalg

    k, t = case["components"], case["covariance_type"]
    prec = np.asarray(case["precisions"], dtype=np.float64).reshape(shape)
    gm.weights_ = np.asarray(case["weights"], dtype=np.float64)
    gm.means_ = np.asarray(case["means"], dtype=np.float64).reshape(k, -1)
    if t == "full":
        gm.precisions_cholesky_ = np.array([linalg.cholesky(p, lower=True) for p in prec])
    elif t == "tied":
        gm.precisions_cholesky_ = linalg.cholesky(prec, lower=True)
    else:
        gm.precisions_cholesky_ = np.sqrt(prec)
    return gm


def main():
    import numpy as np
    import sklearn
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.mixture import GaussianMixture

    try:
        from threadpoolctl import threadpool_info
        blas = [{k: info.get(k) for k in ("internal_api", "version", "architecture", "num_threads", "threading_layer")}
                for info in threadpool_info()]
    except Exception:  # threadpoolctl is optional: the figures do not depend on it
        blas = []

    with open(sys.argv[1]) as f:
        spec = json.load(f)
    n, d = spec["rows"], spec["columns"]
    x = np.fromfile(spec["x_path"], dtype="<f8").reshape(n, d)

    results = []
    for case in spec["cases"]:
        t, k, iters = case["covariance_type"], case["components"], case["iterations"]
        shape = {"full": (k, d, d), "tied": (d, d), "diag": (k, d), "spherical": (k,)}[t]

        def make(max_iter):
            return GaussianMixture(
                n_components=k, covariance_type=t, tol=0.0, reg_covar=case["reg_covar"], max_iter=max_iter,
                init_params="random_from_data",  # overridden by the explicit start; the cheapest to compute
                weights_init=np.asarray(case["weights"], dtype=np.float64),
                means_init=np.asarray(case["means"], dtype=np.float64).reshape(k, d),
                precisions_init=np.asarray(case["precisions"], dtype=np.float64).reshape(shape),
                random_state=0)

        fit_seconds, em_seconds, bound = [], [], None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            make(1).fit(x)  # warm-up (imports, first BLAS calls)
            for _ in range(case["repeats"]):
                gm = make(iters)
                t0 = time.perf_counter()
                gm.fit(x)
                fit_seconds.append(time.perf_counter() - t0)
                bound = float(gm.lower_bound_)
            for _ in range(case["repeats"]):
                gm = start(make(1).fit(x), case, shape)
                t0 = time.perf_counter()
                for _ in range(iters):
                    log_prob_norm, log_resp = gm._e_step(x)
                    gm._m_step(x, log_resp)
                em_seconds.append(time.perf_counter() - t0)
        results.append({"covariance_type": t, "fit_seconds": fit_seconds, "em_seconds": em_seconds, "lower_bound": bound})

    print(json.dumps({"sklearn": sklearn.__version__, "numpy": np.__version__, "blas": blas, "results": results}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
