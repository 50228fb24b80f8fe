"""Border check and extension (Bengio 2012, section 3.3.1)."""
from __future__ import annotations

import math

import numpy as np
import pytest

from runtime.search import Candidate, border_report, extend_search, grid_values, make_strategy
from spec_lang.config import Dim, Search

LR = Dim("lr", "range", low=1e-4, high=1e-1, scale="log", count=7)
WIDTH = Dim("width", "choice", values=(32, 64, 128))
ACT = Dim("act", "choice", values=("relu", "tanh"))
SEARCH = Search("grid", dims=(LR, WIDTH, ACT))


def history_with_best(lr: float, width: int) -> list:
    out = []
    for v in grid_values(LR):
        for w in WIDTH.values:
            score = 0.0 if (v == lr and w == width) else 1.0 + abs(math.log10(v))
            out.append((Candidate({"lr": v, "width": w, "act": "relu"}), score))
    return out


def test_low_high_and_inside() -> None:
    report = border_report(SEARCH, history_with_best(1e-4, 128))
    assert report == {"lr": "low", "width": "high"}              # act is not numeric
    assert border_report(SEARCH, history_with_best(1e-2, 64)) == {"lr": None, "width": None}
    assert border_report(SEARCH, history_with_best(1e-1, 32))["lr"] == "high"


def test_a_single_value_tried_is_no_border() -> None:
    history = [(Candidate({"lr": 0.01, "width": w}), float(w)) for w in (32, 64)]
    assert border_report(SEARCH, history) == {"lr": None, "width": "low"}


def test_failures_count_as_tried_but_never_win() -> None:
    history = [(Candidate({"lr": 1e-3, "width": 32}), 1.0),
               (Candidate({"lr": 1e-2, "width": 32}), 0.5),
               (Candidate({"lr": 1e-1, "width": 32}), None)]           # diverged at the top
    assert border_report(SEARCH, history)["lr"] is None
    assert border_report(SEARCH, [(c, None) for c, _ in history]) == {"lr": None, "width": None}


def test_best_is_taken_at_full_fidelity() -> None:
    history = [(Candidate({"lr": 1e-4, "width": 32}, fidelity=0.1), 0.0),
               (Candidate({"lr": 1e-2, "width": 128}, fidelity=0.1), 0.5),
               (Candidate({"lr": 1e-3, "width": 64}, fidelity=1.0), 0.7)]
    assert border_report(SEARCH, history) == {"lr": None, "width": None}


def test_log_range_grows_by_whole_grid_steps_and_stays_positive() -> None:
    low = extend_search(SEARCH, {"lr": "low"}).dims[0]
    assert low.low == pytest.approx(10 ** -5.5) and low.high == 1e-1 and low.count == 10
    assert np.allclose(grid_values(low)[3:], grid_values(LR))        # old points stay on the grid
    high = extend_search(SEARCH, {"lr": "high"}).dims[0]
    assert high.high == pytest.approx(10 ** 0.5) and high.count == 10
    wide = Dim("lr", "prior", low=1e-8, high=1.0, prior="log_uniform")
    for _ in range(5):
        wide = extend_search(Search("random", dims=(wide,)), {"lr": "low"}).dims[0]
        assert wide.low > 0


def test_linear_ranges_grow_by_half_their_width_within_natural_limits() -> None:
    def ext(dim: Dim, side: str) -> Dim:
        return extend_search(Search("random", dims=(dim,)), {dim.name: side}).dims[0]
    signed = Dim("shift", "range", low=-1.0, high=1.0)
    assert (ext(signed, "low").low, ext(signed, "high").high) == (-2.0, 2.0)
    rate = Dim("momentum", "range", low=0.5, high=0.9)
    assert ext(rate, "low").low == pytest.approx(0.3)
    assert ext(rate, "high").high == pytest.approx(0.95)            # half-way to 1, never 1
    assert ext(ext(rate, "high"), "high").high == pytest.approx(0.975)
    l2 = Dim("l2", "prior", low=0.0, high=0.01, prior="uniform")
    assert ext(l2, "low") == l2                                      # already at its limit
    positive = Dim("noise", "range", low=0.1, high=3.0)
    assert ext(positive, "low").low == 0.0


def test_integer_bounds_stay_integers() -> None:
    def ext(dim: Dim, side: str) -> Dim:
        return extend_search(Search("random", dims=(dim,)), {dim.name: side}).dims[0]
    width = Dim("width", "range", low=16, high=256, scale="log", count=5, integer=True)
    low = ext(width, "low")
    assert (low.low, low.count) == (4, 7) and isinstance(low.low, int)
    assert set(grid_values(width)) <= set(grid_values(low))
    layers = Dim("layers", "prior", low=2, high=6, prior="int_uniform")
    assert ext(layers, "low").low == 1 and ext(layers, "high").high == 8
    assert ext(Dim("depth", "range", low=1, high=5, integer=True), "low").low == 1


def test_choice_lists_extrapolate_their_spacing() -> None:
    def ext(values: tuple, side: str) -> tuple:
        dim = Dim("x", "choice", values=values)
        return extend_search(Search("grid", dims=(dim,)), {"x": side}).dims[0].values
    assert ext((32, 64, 128), "high") == (32, 64, 128, 256)
    assert ext((32, 64, 128), "low") == (16, 32, 64, 128)
    assert ext((1e-3, 1e-2, 1e-1), "low")[0] == pytest.approx(1e-4)
    assert ext((1, 2, 3), "high") == (1, 2, 3, 4)
    assert ext((0.2, 0.5, 0.8), "high") == pytest.approx((0.2, 0.5, 0.8, 0.9))  # a rate stays < 1
    assert ext((0, 1, 2), "low") == (0, 1, 2)                         # stays >= 0: nothing to add
    assert ext((128, 64, 32), "high") == (256, 128, 64, 32)           # next to the end it extends
    assert all(isinstance(v, int) for v in ext((32, 64), "low"))
    assert ext((1, 2, 4), "low") == (1, 2, 4)                         # integers of a log list >= 1
    assert ext((2, 4, 8), "low") == (1, 2, 4, 8)
    assert ext((-1.0, 0.0, 1.0), "low") == (-2.0, -1.0, 0.0, 1.0)


def test_extension_leaves_everything_else_alone() -> None:
    search = Search("grid", dims=(LR, WIDTH, ACT), shuffle=True, extend=2)
    out = extend_search(search, {"lr": None, "width": "high"})
    assert out.dims[0] == LR and out.dims[2] == ACT and out.shuffle and out.extend == 2
    assert out.dims[1].values == (32, 64, 128, 256)


def test_search_border_extend_loop_reaches_an_outside_optimum(drive) -> None:
    search = Search("grid", dims=(Dim("lr", "range", low=1e-6, high=1e-4, scale="log",
                                      count=3),), extend=6)
    history: list = []
    for _ in range(search.extend + 1):
        history += drive(make_strategy(search, seed=0), lambda p: (math.log10(p["lr"]) + 2) ** 2)
        borders = border_report(search, history)
        if not any(borders.values()):
            break
        search = extend_search(search, borders)
    best = min(history, key=lambda r: r[1])[0]
    assert best.params["lr"] == pytest.approx(1e-2) and borders["lr"] is None


def test_widening_stays_inside_what_the_settings_accept() -> None:
    """Widened values must bind: a closed bound is reached, an open one never (a divergence
    factor > 1, a weight scale > 0, a quantile count >= 10)."""
    import spec_lang
    exp = spec_lang.loads("data iris\npreprocess\n    quantile quantiles $q\nnetwork\n"
                          "    dense 8 relu scale $s\ntrain\n    divergence $f\n"
                          "search random 4\n    f in 2 .. 10\n    s in 0.5 .. 2\n"
                          "    q in 10, 40\n")
    wide = {d.name: d for d in extend_search(exp.search, {"f": "low", "s": "low",
                                                          "q": "low"}).dims}
    assert wide["f"].low == 1.5 and wide["s"].low == 0.25     # half-way to 1 and to 0
    assert wide["q"].values == (10, 40)                       # 10 is the least it takes
    exp.bind({"f": wide["f"].low, "s": wide["s"].low, "q": 10})
