"""`nnspec predict RUN DATA`: the chosen configuration's model applied to new examples."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from runtime.errors import DataError, NnspecError
from runtime.model.saved import SavedModel


def features_from_csv(path: Path, feature_names: tuple[str, ...]) -> np.ndarray:
    """The model's feature matrix from a CSV: numeric columns by name, one-hot `col=value`
    columns rebuilt from the text column `col`; other columns (the target) are ignored."""
    try:
        frame = pd.read_csv(path)
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise DataError(f"cannot read the CSV ({exc})", path=str(path)) from None
    columns = []
    for name in feature_names:
        base, _, level = name.partition("=")
        if name in frame.columns:
            columns.append(pd.to_numeric(frame[name], errors="coerce").to_numpy(float))
        elif level and base in frame.columns:
            columns.append((frame[base].astype(str) == level).to_numpy(float))
        else:
            raise DataError("the model needs this column, which the file lacks",
                            path=str(path), column=base)
    X = np.column_stack(columns) if columns else np.empty((len(frame), 0))
    bad = ~np.isfinite(X)
    if bad.any():
        row, col = np.argwhere(bad)[0]
        raise DataError(f"{int(bad.sum())} missing or non-numeric values (first in row "
                        f"{row + 1})", path=str(path), column=feature_names[col])
    return X


def predict_file(run_dir: Path, data: Path) -> pd.DataFrame:
    """Predictions for every row of `data` (CSV or `.npz` with an array `X`)."""
    model_path = run_dir / "model.npz"
    if not model_path.exists():
        raise NnspecError(f"{run_dir}: no model.npz (run the spec first; nested runs save "
                          "no model)")
    model = SavedModel.load(model_path)
    if data.suffix == ".npz":
        with np.load(data, allow_pickle=False) as arrays:
            if "X" not in arrays.files:
                raise DataError("no array named X", path=str(data))
            X = np.asarray(arrays["X"], dtype=float)
    else:
        X = features_from_csv(data, model.feature_names)
    return _frame(model, X)


def _frame(model: SavedModel, X: np.ndarray) -> pd.DataFrame:
    output = model.predict_output(X)
    if model.task == "classification":
        frame = pd.DataFrame({"prediction": np.asarray(model.classes)[output.argmax(1)]})
        for i, label in enumerate(model.classes):
            frame[f"p_{label}"] = output[:, i]
        return frame
    if model.task == "multilabel":
        return pd.DataFrame((output >= 0.5).astype(int),
                            columns=[f"label_{i}" for i in range(output.shape[1])])
    values = output.reshape(len(X), -1)
    names = ["prediction"] if values.shape[1] == 1 else \
        [f"prediction_{i}" for i in range(values.shape[1])]
    return pd.DataFrame(values, columns=names)
