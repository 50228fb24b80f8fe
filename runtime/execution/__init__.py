"""Running an experiment: the runner, trial jobs, the executor (local processes or Dask), the
run store, the results table and the final phase. Imports `data`, `engine` and `search`; it
reaches the terminal only through the progress callback it is given."""
