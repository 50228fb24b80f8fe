"""Every example spec in specs/ runs as written, with its budget shrunk (few epochs, one seed,
few configurations) so the whole set takes seconds: each strategy and protocol on real data."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

import runtime
import spec_lang
from spec_lang import config as c

ROOT = Path(__file__).resolve().parents[1]
SPECS = sorted(ROOT.glob("specs/*.spec"))


def shrunk(exp: spec_lang.Experiment) -> spec_lang.Experiment:
    cfg = exp.config
    train = dataclasses.replace(cfg.train, epochs=min(cfg.train.epochs, 4))
    pretrain = cfg.pretrain and dataclasses.replace(cfg.pretrain, epochs=1)
    protocol = cfg.protocol
    if isinstance(protocol, c.Nested):
        protocol = dataclasses.replace(protocol, outer=2, inner=2)
    if isinstance(protocol, c.KFold):
        protocol = dataclasses.replace(protocol, k=2)
    search = exp.search
    search = dataclasses.replace(search, trials=search.trials and min(search.trials, 4),
                                 sweeps=1, levels=min(search.levels, 2), extend=0)
    if search.strategy in ("halving", "asha"):
        search = dataclasses.replace(search, trials=9)
    if search.strategy == "hyperband":               # three brackets: 9, 5 and 3 configurations
        search = dataclasses.replace(search, min_fidelity=1 / 9)
    if search.budget is not None:                    # the budget still stops the search
        search = dataclasses.replace(search, budget=c.Budget(epochs=20))
    return dataclasses.replace(exp, seeds=1, search=search, config=dataclasses.replace(
        cfg, train=train, pretrain=pretrain, protocol=protocol))


@pytest.mark.parametrize("path", SPECS, ids=[p.stem for p in SPECS])
def test_example_spec_runs(path: Path, tmp_path: Path) -> None:
    exp = shrunk(spec_lang.load(path))
    table = runtime.run(exp, out=tmp_path, jobs=1)
    assert len(table) > 0
    assert (table["state"] == "complete").mean() >= 0.5, table[["state", "error"]]
    assert (tmp_path / "best.json").exists()
    if exp.search.strategy not in ("none", "grid"):
        assert table["step"].str.len().min() > 0


def test_an_example_that_needs_an_extra_says_so_at_its_top() -> None:
    """A plain install lacks the extras: an example that needs one says which, with the
    command that installs it, in its opening comment (the extra as pyproject names it)."""
    import re
    pyproject = (ROOT / "pyproject.toml").read_text()
    needs = {"tpe": "tpe"}                     # strategy -> the extra its library comes with
    for path in SPECS:
        extra = needs.get(spec_lang.load(path).search.strategy)
        if extra is None:
            continue
        assert re.search(rf"^{extra} = \[", pyproject, re.M), f"no extra '{extra}'"
        opening = path.read_text().split("\n\n")[0]
        assert f"pip install 'nnspec[{extra}]'" in opening, path.name
