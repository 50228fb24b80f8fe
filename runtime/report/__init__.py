"""What a person sees of a run: the terminal output, the run folder read back, plots and the
HTML page. Imports `execution` (the store, the results) and below; never `cli`."""
