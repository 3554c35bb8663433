#!/usr/bin/env python3
"""scikit-learn's GaussianMixture from an explicit start, one EM iteration at a time.

Usage: sklearn_reference.py INPUT.json

INPUT holds the data ("x": flat row-major list, "rows", "columns") and a list of "cases", each with
"covariance_type" ("full", "tied", "diag", "spherical"), "components", "reg_covar", "iterations" and the explicit
start "weights", "means" (flat K*D) and "precisions" (flat, in scikit-learn's shape for the type).

Prints one JSON object: {"sklearn": version, "results": [{"covariance_type", "lower_bounds", "weights", "means",
"covariances"}, ...]}. lower_bounds[t] is lower_bound_ after iteration t + 1: the mean log-likelihood under the
parameters that iteration's E-step used. The iterations are taken through the public API only: the first fit
runs one iteration from the explicit start (max_iter=1), then warm_start=True makes each further fit continue
with one more. Exit status 3 (and an "error" field) when numpy or scikit-learn cannot be imported.
"""
import json
import sys
import warnings


def main():
    try:
        import numpy as np
        import sklearn
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.mixture import GaussianMixture
    except ImportError as e:  # the caller turns this into a skipped test (or a failure on CI)
        print(json.dumps({"error": f"cannot import scikit-learn: {e}"}))
        return 3

    with open(sys.argv[1]) as f:
        spec = json.load(f)
    n, d = spec["rows"], spec["columns"]
    x = np.asarray(spec["x"], dtype=np.float64).reshape(n, d)

    results = []
    for case in spec["cases"]:
        t, k = case["covariance_type"], case["components"]
        shape = {"full": (k, d, d), "tied": (d, d), "diag": (k, d), "spherical": (k,)}[t]
        gm = GaussianMixture(
            n_components=k,
            covariance_type=t,
            tol=0.0,
            reg_covar=case["reg_covar"],
            max_iter=1,
            # Overridden by the explicit start; the cheapest method, so it costs nothing.
            init_params="random_from_data",
            weights_init=np.asarray(case["weights"], dtype=np.float64),
            means_init=np.asarray(case["means"], dtype=np.float64).reshape(k, d),
            precisions_init=np.asarray(case["precisions"], dtype=np.float64).reshape(shape),
            random_state=0,
        )
        bounds = []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            for _ in range(case["iterations"]):
                gm.fit(x)
                bounds.append(float(gm.lower_bound_))
                gm.warm_start = True
        results.append({
            "covariance_type": t,
            "lower_bounds": bounds,
            "weights": gm.weights_.ravel().tolist(),
            "means": gm.means_.ravel().tolist(),
            "covariances": np.asarray(gm.covariances_).ravel().tolist(),
        })
    print(json.dumps({"sklearn": sklearn.__version__, "results": results}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
