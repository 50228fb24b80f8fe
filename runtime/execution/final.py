"""After the search: retrain the chosen configuration (same seeds, so the same networks) and
score the test part, once, for it alone."""
from __future__ import annotations

from typing import Any

import numpy as np

from spec_lang.experiment import Experiment

from runtime.execution.jobs import Job, dataset, train_data
from runtime.model.saved import Member, SavedModel


def score_test(task: str, y_test: np.ndarray, outputs: list[np.ndarray]) -> dict[str, float]:
    """The test metrics of the chosen configuration: mean and std over its members and the
    score of their averaged prediction (`ensemble_`). The only code that reads test labels."""
    from runtime.engine.metrics import evaluate
    each = [evaluate(task, y_test, out) for out in outputs]
    scores: dict[str, float] = {}
    for name in each[0]:
        values = [m[name] for m in each]
        scores[f"test_{name}"] = float(np.mean(values))
        scores[f"std_test_{name}"] = float(np.std(values))
    ensemble = evaluate(task, y_test, np.mean(outputs, axis=0))
    scores.update({f"ensemble_test_{k}": float(v) for k, v in ensemble.items()})
    return scores


def refit_chosen(exp: Experiment, params: dict[str, Any], fold_ids: list[int],
                 outer: int | None) -> tuple[dict[str, float], SavedModel]:
    """Train the chosen configuration on each (seed, fold), score the test part once."""
    from runtime.engine.training import fit
    config = exp.bind(params)
    members, outputs, y_test = [], [], None
    for seed in exp.seed_list():
        for fold in fold_ids:
            job = Job(-1, tuple(sorted(params.items())), seed, fold, outer)
            arrays, prep, X_test, y_test = train_data(config, exp, job, with_test=True)
            result = fit(config, arrays, seed)
            members.append(Member(prep, result.model))
            if len(X_test):
                outputs.append(result.model.predict(X_test))
    data = dataset(config.data, str(exp.base_dir))
    model = SavedModel(members, data.task, data.classes, data.feature_names)
    scores = score_test(data.task, y_test, outputs) if outputs else {}
    return scores, model
