"""The NumPy/BLAS training engine: activations, initialization, layers, losses, metrics, the
network, optimizers, schedules, the training loop, pre-training and gradient checks. Imports
only `spec_lang`, `runtime.types` and `runtime.errors`."""

# The engine's revision: part of every trial's store key. Bump it in any change that alters
# what training produces (numbers, not speed), so that stored trials are retrained.
REVISION = 4                # 2: Glorot for relu, tau 30 epochs (issue 15); 3: a fit still
#                             improving is not stalled, relu's auto init at half Glorot's
#                             range, patience counts metric improvements only (issue 24);
#                           4: patience of at least 300 updates by default (issue 24)
# How pre-training draws its random numbers, keyed only with a spec that pre-trains (its
# trials are retrained; the others keep their keys): 2: a stream of its own per layer
# (`pretrain.layer_rng`), so that a layerwise stage continues from the stack the last chose.
PRETRAIN_REVISION = 2
