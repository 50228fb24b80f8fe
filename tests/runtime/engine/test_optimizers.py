"""Optimizer steps recomputed by hand (two or three steps each)."""
import math

import numpy as np
import pytest

from runtime.engine.optimizers import SGD, Adam, make_optimizer
from spec_lang.config import Optimizer

W0 = [1.0, -2.0]
GRADS = [np.array([0.5, -1.0]), np.array([1.0, 1.0]), np.array([-1.0, 0.5])]


def run(spec: Optimizer, lr: float, steps: int, scale: np.ndarray | None = None) -> list[list]:
    """The weights after each step (the gradient passed pre-multiplied as the rule asks)."""
    opt = make_optimizer(spec, 2, np.dtype(np.float64), scale)
    w, seen = np.array(W0), []
    for g in GRADS[:steps]:
        opt.update(w, g * opt.grad_scale(lr), lr)
        seen.append(w.tolist())
    return seen


def close(got: list, expected: list, rel: float = 1e-12) -> None:
    np.testing.assert_allclose(np.array(got), np.array(expected), rtol=rel, atol=1e-15)


def test_plain_sgd() -> None:
    # w1 = w0 - 0.1 g1 = [1 - .05, -2 + .1];  w2 = w1 - 0.1 g2
    close(run(Optimizer("sgd", momentum=0.0), 0.1, 2), [[0.95, -1.9], [0.85, -2.0]])


def test_classical_momentum() -> None:
    # v1 = -.1 g1 = [-.05, .1]            w1 = [.95, -1.9]
    # v2 = .9 v1 - .1 g2 = [-.145, -.01]  w2 = [.805, -1.91]
    # v3 = .9 v2 - .1 g3 = [-.0305, -.059] w3 = [.7745, -1.969]
    got = run(Optimizer("sgd", momentum=0.9), 0.1, 3)
    close(got, [[0.95, -1.9], [0.805, -1.91], [0.7745, -1.969]])


def test_nesterov_momentum() -> None:
    # same velocities as above; w <- w + .9 v_new - .1 g
    # w1 = [1 - .045 - .05, -2 + .09 + .1]            = [.905, -1.81]
    # w2 = [.905 - .1305 - .1, -1.81 - .009 - .1]     = [.6745, -1.919]
    # w3 = [.6745 - .02745 + .1, -1.919 - .0531 - .05] = [.74705, -2.0221]
    got = run(Optimizer("sgd", momentum=0.9, nesterov=True), 0.1, 3)
    close(got, [[0.905, -1.81], [0.6745, -1.919], [0.74705, -2.0221]])


def test_classical_and_nesterov_differ() -> None:
    classical = run(Optimizer("sgd", momentum=0.9), 0.1, 3)
    nesterov = run(Optimizer("sgd", momentum=0.9, nesterov=True), 0.1, 3)
    assert not np.allclose(classical, nesterov)


def test_nesterov_is_momentum_with_lookahead_gradient() -> None:
    # Nesterov's original form on f(x) = x^2 / 2 (gradient x): v' = mu v - lr f'(x + mu v),
    # x' = x + v'. The optimizer tracks w = x + mu v, the look-ahead point.
    mu, lr, x, v = 0.9, 0.1, 3.0, 0.0
    opt, w = SGD(1, np.dtype(np.float64), mu, nesterov=True), np.array([3.0])
    for _ in range(4):
        v = mu * v - lr * (x + mu * v)
        x += v
        opt.update(w, np.array([w[0]]) * opt.grad_scale(lr), lr)
        assert w[0] == pytest.approx(x + mu * v, rel=1e-12)


def test_adagrad() -> None:
    # G1 = [.25, 1]: w1 = w0 - .1 g1 / sqrt(G1) = [.9, -1.9]
    # G2 = [1.25, 2]: w2 = w1 - .1 [1 / sqrt(1.25), 1 / sqrt(2)]
    got = run(Optimizer("adagrad", eps=0.0), 0.1, 2)
    close(got, [[0.9, -1.9], [0.9 - 0.1 / math.sqrt(1.25), -1.9 - 0.1 / math.sqrt(2.0)]])


def test_rmsprop() -> None:
    # E1 = .1 g1^2 = [.025, .1]: w1 = w0 - .01 g1 / sqrt(E1)
    # E2 = .9 E1 + .1 g2^2 = [.1225, .19]: w2 = w1 - .01 g2 / sqrt(E2)
    got = run(Optimizer("rmsprop", rho=0.9, eps=0.0), 0.01, 2)
    w1 = [1 - 0.01 * 0.5 / math.sqrt(0.025), -2 + 0.01 * 1 / math.sqrt(0.1)]
    w2 = [w1[0] - 0.01 / math.sqrt(0.1225), w1[1] - 0.01 / math.sqrt(0.19)]
    close(got, [w1, w2])


def test_adam_bias_correction() -> None:
    # Step 1: m = .1 g1, s = .001 g1^2, corrected m/.1 = g1, s/.001 = g1^2 -> w1 = w0 - .1 sign(g1)
    got = run(Optimizer("adam", beta1=0.9, beta2=0.999, eps=0.0), 0.1, 2)
    m2 = [0.9 * 0.05 + 0.1 * 1.0, 0.9 * -0.1 + 0.1 * 1.0]            # [.145, .01]
    s2 = [0.999 * 0.00025 + 0.001, 0.999 * 0.001 + 0.001]              # [.00124975, .001999]
    step = [0.1 * (m / (1 - 0.9 ** 2)) / math.sqrt(s / (1 - 0.999 ** 2)) for m, s in zip(m2, s2)]
    assert got[0] == pytest.approx([0.9, -1.9], rel=1e-12)
    assert got[1] == pytest.approx([0.9 - step[0], -1.9 - step[1]], rel=1e-12)


def test_adam_eps_enters_after_the_bias_correction() -> None:
    opt, w = Adam(1, np.dtype(np.float64), eps=0.1), np.array([0.0])
    opt.update(w, np.array([0.01]), 1.0)
    # m_hat = .01, sqrt(s_hat) = .01: step = .01 / (.01 + .1)
    assert w[0] == pytest.approx(-0.01 / 0.11, rel=1e-12)


@pytest.mark.parametrize("name", ["sgd", "adam"])
def test_per_layer_lr_scale_scales_the_step(name: str) -> None:
    full = np.array(run(Optimizer(name, momentum=0.9), 0.1, 2)) - W0
    half = np.array(run(Optimizer(name, momentum=0.9), 0.1, 2, np.array([1.0, 0.5]))) - W0
    close(half, full * [1.0, 0.5])


def test_unknown_optimizer() -> None:
    with pytest.raises(ValueError, match="adam"):
        make_optimizer(Optimizer("lbfgs"), 2, np.dtype(np.float64))
