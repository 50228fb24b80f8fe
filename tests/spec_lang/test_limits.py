"""Sizes a spec can make huge are refused by the check, located, before anything is allocated:
before, `repeat 2147483648` ran for minutes growing without bound, and a generator of 72.8 TiB
was a NumPy traceback."""
from __future__ import annotations

import pytest

import spec_lang
from spec_lang import limits

HEAD = "data iris\nsplit train 0.6 valid 0.2 test 0.2\n"


def problems(text: str) -> list[str]:
    with pytest.raises(spec_lang.SpecValidationError) as info:
        spec_lang.loads(text)
    return [f"{d.line}:{d.column}: {d.message}" for d in info.value.diagnostics]


def test_a_huge_repeat_is_refused_where_it_is_written() -> None:
    assert problems(HEAD + "network\n    repeat 2147483648\n        dense 8 relu\n") == [
        "4:12: 'count' of 'repeat' must be in [0, 1000]; got 2147483648"]


def test_a_huge_searched_depth_is_refused_at_its_value() -> None:
    text = HEAD + ("network\n    repeat $depth\n        dense 8 relu\n"
                   "search grid\n    depth in 1, 2147483648\n")
    assert problems(text) == ["7:17: 'count' of '$depth' must be in [0, 1000]; got 2147483648"]


def test_a_repeat_whose_layers_add_up_past_the_limit_is_refused() -> None:
    body = "network\n    repeat 600\n        dense 8 relu\n        dropout 0.1\n"
    assert problems(HEAD + body) == [
        "4:5: repeat 600 of 2 layers makes 1,200 layers: at most 1,000 can be built"]
    exp = spec_lang.loads(HEAD + body.replace("600", "500"))      # 1000 layers: accepted
    assert len(exp.bind({}).network) == 1000


def test_a_searched_depth_past_the_limit_is_a_bind_error_not_an_expansion() -> None:
    exp = spec_lang.loads(HEAD + "network\n    repeat $d\n        dense 8 relu\n"
                          "        dropout 0.1\nsearch grid\n    d in 1, 600\n")
    assert len(exp.bind({"d": 1}).network) == 2
    with pytest.raises(spec_lang.BindError, match=r"(?s)makes 1,200 layers.*the value of \$d"):
        exp.bind({"d": 600})


def test_a_generator_larger_than_the_machine_is_refused_at_the_data_line() -> None:
    found = problems("data make_classification samples 100000000 features 100000\n"
                     "split train 0.6 valid 0.2 test 0.2\n")
    assert found == [f"1:1: make_classification would make 100,000,000 x 100,000 float64 values "
                     f"(72.8 TiB), more than this machine's "
                     f"{limits.size_in_words(limits.machine_memory())}"]
    sparse = problems("data make_sparse samples 100000000 features 1000 nonzeros 1000\n")
    assert sparse[0].startswith("1:1: make_sparse would make 100,000,000 x 1,000 stored words")


def test_generated_sizes_are_measured_against_this_machine(monkeypatch: pytest.MonkeyPatch
                                                           ) -> None:
    monkeypatch.setattr(limits, "machine_memory", lambda: 8 * 10 ** 6)
    assert limits.generated_problem("make_classification", 1000, 1000, 0) is None  # 8 MB
    assert limits.generated_problem("make_classification", 1001, 1000, 0) is not None
    assert limits.generated_problem("make_moons", 500_000, 10 ** 9, 0) is None     # 2 columns


def test_the_machine_memory_is_the_lower_of_ram_and_the_cgroup_limit(
        monkeypatch: pytest.MonkeyPatch, tmp_path: pytest.TempPathFactory) -> None:
    limit = tmp_path / "memory.max"                          # type: ignore[operator]
    limits.machine_memory.cache_clear()
    try:
        limit.write_text("max\n")
        monkeypatch.setattr(limits, "CGROUP_LIMIT", limit)
        ram = limits.machine_memory()
        limits.machine_memory.cache_clear()
        limit.write_text(f"{ram // 4}\n")
        assert limits.machine_memory() == ram // 4
    finally:
        limits.machine_memory.cache_clear()


def test_a_network_lower_bound_counts_weights_gradients_and_a_batch() -> None:
    # 10 -> 5 -> 2: (10 + 1) * 5 + (5 + 1) * 2 = 67 parameters; a batch of 4 through 7 units
    assert limits.network_bytes([10, 5, 2], 4, 4) == 4 * (2 * 67 + 2 * 4 * 7)


def test_worker_counts_past_the_memory_are_refused() -> None:
    assert limits.workers_problem(2, "asks for") is None
    too_many = limits.worker_limit() + 1
    assert f"asks for {too_many:,} worker processes" in str(
        limits.workers_problem(too_many, "asks for"))
