"""The estimator trains on one BLAS thread, as `nnspec run`'s trials do (faster on a trial's
small matrices), and gives the caller's thread pools back."""
from __future__ import annotations

import threadpoolctl
from sklearn.datasets import load_iris

from runtime import SpecClassifier
from runtime.engine import training

SPEC = ("data iris\nsplit train 0.6 valid 0.2 test 0.2\nnetwork\n    dense 16 relu\n"
        "train\n    epochs 5\n")


def test_fit_and_its_refit_train_on_one_blas_thread(tmp_path, monkeypatch):
    (tmp_path / "iris.spec").write_text(SPEC)
    probe = threadpoolctl.ThreadpoolController()
    seen: list[set[int]] = []
    real = training.fit

    def fit(*args, **kwargs):
        seen.append({pool["num_threads"] for pool in probe.info()})
        return real(*args, **kwargs)
    import runtime.model.estimator as estimator
    monkeypatch.setattr(estimator, "fit_network", fit)
    X, y = load_iris(return_X_y=True)
    with threadpoolctl.threadpool_limits(limits=2):
        clf = SpecClassifier(str(tmp_path / "iris.spec")).fit(X, y)
        assert {pool["num_threads"] for pool in probe.info()} == {2}      # given back
    assert clf.refitted_ and seen == [{1}, {1}]                           # the fit, the refit
