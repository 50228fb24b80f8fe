"""The `embed` statement: what it builds (Config.embed, DataSpec.embed in order), `dim auto`,
a searched `dim`, formatting, changes from Python, and the problems found before anything runs
(at file:line:col; the broken/embed_*.spec fixtures hold one fault each)."""
from __future__ import annotations

from pathlib import Path

import pytest

import spec_lang
from spec_lang import config as c

SHIPPED = Path(__file__).resolve().parents[2] / "specs" / "data"
HEAD = 'data "shops.csv" target "sales"\nnetwork\n'


def loads(body: str, **kw) -> spec_lang.Experiment:
    return spec_lang.loads(HEAD + body, filename="e.spec", base_dir=SHIPPED, **kw)


def test_statements_build_embeds_and_the_datas_columns_in_order() -> None:
    exp = loads('    embed columns "shop" dim 8\n    dense 16 relu\n    embed columns "city"\n')
    assert exp.config.embed == (c.Embed(("shop",), 8), c.Embed(("city",), c.AUTO))
    assert exp.config.data.embed == ("shop", "city")
    assert exp.config.network == (c.Dense(16, "relu"),)      # embed is not a layer
    two = loads('    embed columns "city", "shop" dim 3\n')
    assert two.config.embed == (c.Embed(("city", "shop"), 3),)


def test_without_embed_nothing_changes() -> None:
    exp = loads("    dense 16 relu\n")
    assert exp.config.embed == () and exp.config.data.embed == ()


def test_dim_auto_and_a_searched_dim() -> None:
    assert loads('    embed columns "city" dim auto\n').config.embed[0].dim is c.AUTO
    exp = loads('    embed columns "shop" dim $d\n    dense 4 relu\nsearch grid\n'
                '    d in 2, 8, auto\n')
    dims = [exp.bind({"d": v}).embed[0].dim for v in (2, 8, "auto")]
    assert dims == [2, 8, c.AUTO]
    assert exp.bind({"d": 2}).data.embed == ("shop",)      # the columns stay fixed


def test_a_searched_dim_is_checked_like_a_written_one() -> None:
    with pytest.raises(spec_lang.SpecValidationError, match="must be >= 1"):
        loads('    embed columns "shop" dim $d\nsearch grid\n    d in 0, 4\n')


def test_format_keeps_embed() -> None:
    text = (SHIPPED.parent / "embed.spec").read_text()
    assert spec_lang.format(text) == text
    assert spec_lang.loads(spec_lang.format(text), base_dir=SHIPPED.parent).config.embed == \
        spec_lang.load(SHIPPED.parent / "embed.spec").config.embed


def test_changes_from_python_keep_the_data_in_step() -> None:
    exp = loads('    embed columns "city", "shop" dim 4\n')
    wider = exp.replace(embed=(c.Embed(("city", "shop"), 6),))
    assert wider.config.embed[0].dim == 6
    with pytest.raises(spec_lang.SpecValidationError, match="embedded columns .* differ"):
        exp.replace(embed=(c.Embed(("city",), 6),))
    same = exp.replace(embed=(c.Embed(("city",), 6),), data__embed=("city",))
    assert same.config.data.embed == ("city",)
    with pytest.raises(spec_lang.SpecValidationError, match="but the data is 'iris'"):
        exp.replace(data=c.DataSpec(source="iris", embed=("city", "shop")))


def test_an_unreadable_data_file_is_left_to_the_loader() -> None:
    exp = spec_lang.loads('data "absent.csv"\nnetwork\n    embed columns "city"\n',
                          base_dir=SHIPPED)
    assert exp.config.data.embed == ("city",)


def test_every_problem_of_embed_is_reported_at_once() -> None:
    text = ('data "shops.csv" target "sales"\nnetwork\n    embed columns "citty", "sales"\n'
            '    embed columns "footfall" dim 0\npretrain autoencoder\n')
    with pytest.raises(spec_lang.SpecValidationError) as info:
        spec_lang.loads(text, filename="e.spec", base_dir=SHIPPED)
    got = [(d.line, d.column) for d in info.value.diagnostics]
    assert got == sorted(got) and set(got) == {(3, 19), (3, 28), (4, 19), (4, 34), (5, 1)}
    rendered = str(info.value)
    assert "e.spec:3:19: error: 'citty' is not a column" in rendered
    assert "did you mean 'city'?" in rendered
