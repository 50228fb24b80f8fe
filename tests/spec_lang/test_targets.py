"""Several targets in one spec: `target "a", "b"`, their `weights` (searchable), `metric error
"b"`, and every problem found before anything runs, at file:line:col."""
from __future__ import annotations

from pathlib import Path

import pytest

import spec_lang

SHIPPED = Path(__file__).resolve().parents[2] / "specs" / "data"


def loads(text: str) -> spec_lang.Experiment:
    return spec_lang.loads(text, filename="t.spec", base_dir=SHIPPED)


def problems(text: str) -> list[tuple[int, int, str]]:
    with pytest.raises(spec_lang.SpecValidationError) as info:
        loads(text)
    return [(d.line, d.column, d.message) for d in info.value.diagnostics]


def test_several_targets_weights_and_a_target_metric() -> None:
    exp = loads('data "houses.csv" target "price", "rooms" weights 2, 0.5\n'
                'metric error "rooms"\n')
    assert exp.config.data.target == ("price", "rooms")
    assert exp.config.target_weights == (2.0, 0.5)
    assert exp.config.metric == "rooms_error"


def test_one_target_is_as_before() -> None:
    exp = loads('data "houses.csv" target "price"\nmetric mse\n')
    assert exp.config.data.target == "price" and exp.config.metric == "mse"
    assert exp.config.target_weights == ()


def test_a_weight_can_be_searched() -> None:
    exp = loads('data "houses.csv" target "price", "rooms" weights 1, $w\nsearch grid\n'
                '    w in 0.5, 2\n')
    assert [exp.bind({"w": v}).target_weights for v in (0.5, 2)] == [(1.0, 0.5), (1.0, 2.0)]
    with pytest.raises(spec_lang.BindError, match="must be > 0"):
        exp.bind({"w": -1.0})


@pytest.mark.parametrize("text, where, message", [
    ('data "houses.csv" target "price", "price"\n', (1, 35), "named twice"),
    ('data "houses.csv" target "price", "romos"\n', (1, 35), "'romos' is not a column"),
    ('data "houses.csv" target "price", "rooms" weights 1\n', (1, 51), "1 weight(s) for 2"),
    ('data "houses.csv" target "price" weights 1, 2\n', (1, 42), "weights go with several"),
    ('data "houses.csv" target "price", "rooms" weights 1, 0\n', (1, 54), "must be > 0"),
    ('data "houses.csv" target "price", "rooms" task regression\n', (1, 48), "one target"),
    ('data iris target "a", "b"\n', (1, 18), "one target"),
    ('data "houses.csv" target "price", "rooms"\nmetric error\n', (2, 8), "needs the target"),
    ('data "houses.csv" target "price", "rooms"\nmetric error "room"\n', (2, 14),
     "'room' is not one of the targets"),
    ('data "houses.csv" target "price"\nmetric mse "price"\n', (2, 12), "has one target"),
    ('data "houses.csv" target "price", "rooms"\nnetwork\n    embed columns "rooms"\n',
     (3, 19), "is the target column"),
])
def test_problems_are_positioned(text: str, where: tuple[int, int], message: str) -> None:
    found = problems(text)
    assert any((line, col) == where and message in text_ for line, col, text_ in found), found


def test_the_weighted_loss_needs_no_target() -> None:
    assert loads('data "houses.csv" target "price", "rooms"\nmetric loss\n').config.metric == \
        "loss"


def test_weights_set_from_python_are_checked_too() -> None:
    exp = loads('data "houses.csv" target "price", "rooms"\n')
    assert exp.replace(target_weights=(1.0, 3.0)).config.target_weights == (1.0, 3.0)
    with pytest.raises(spec_lang.SpecValidationError, match="1 target weight"):
        exp.replace(target_weights=(1.0,))
    with pytest.raises(spec_lang.SpecValidationError, match="must be > 0"):
        exp.replace(target_weights=(1.0, 0.0))


def test_the_canonical_form_keeps_targets_weights_and_the_metrics_target() -> None:
    text = ('data "houses.csv" target "price","rooms"   weights 1,$w\nmetric   error "rooms"\n'
            'search grid\n    w in 1, 2\n')
    out = spec_lang.format(text)
    assert 'target "price", "rooms" weights 1, $w\nmetric error "rooms"\n' in out
    assert loads(out).config == loads(text).config
