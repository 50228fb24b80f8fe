"""The NumPy/BLAS training engine: activations, initialization, layers, losses, metrics, the
network, optimizers, schedules, the training loop, pre-training and gradient checks. Imports
only `spec_lang`, `runtime.types` and `runtime.errors`."""
