"""Trained models as a user holds them: the saved model, prediction on new data and the
scikit-learn estimators built from a spec. Imports `data`, `engine` and `search`, never
`execution`, `report` or `cli`."""
