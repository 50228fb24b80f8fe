"""The import graph flows one way: spec_lang <- data, engine, search <- model <- execution <-
report <- cli. Checked on the source (every import statement, inside functions too), so a
lazy import cannot hide a dependency that runs back up."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

RUNTIME = Path(__file__).resolve().parents[1] / "runtime"
BASE = {"types", "errors"}                     # runtime's shared modules: any layer may use them
ALLOWED = {
    "data": BASE | {"data"},
    "engine": BASE | {"engine"},
    "search": BASE | {"search"},
    "model": BASE | {"model", "data", "engine", "search"},
    "execution": BASE | {"execution", "model", "data", "engine", "search"},
    "report": BASE | {"report", "execution", "model", "data", "engine", "search"},
    "cli": BASE | {"cli", "report", "execution", "model", "data", "engine", "search"},
}
TERMINAL = {"rich"}
SUBPACKAGES = {p.name for p in RUNTIME.iterdir() if (p / "__init__.py").is_file()}                            # only report/ and cli/ talk to the terminal


def imported(path: Path) -> set[str]:
    """Every module name an import statement of `path` names (relative ones resolved)."""
    inside = path.is_relative_to(RUNTIME.parent)
    package = ".".join(path.relative_to(RUNTIME.parent).parts[:-1]) if inside else ""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = package.rsplit(".", node.level - 1)[0] if node.level else ""
            module = ".".join(p for p in (base, node.module or "") if p)
            names.add(module)
            names |= {f"{module}.{alias.name}" for alias in node.names}
    return names


@pytest.mark.parametrize("layer", sorted(ALLOWED))
def test_a_layer_imports_only_the_layers_below_it(layer):
    wrong = {}
    for path in sorted((RUNTIME / layer).glob("*.py")):
        inner = {n.split(".")[1] for n in imported(path) if n.startswith("runtime.")}
        inner &= SUBPACKAGES                 # runtime.__version__ and the like are no layer
        bad = inner - ALLOWED[layer]
        if layer not in {"report", "cli"}:
            bad |= {n for n in imported(path) if n.split(".")[0] in TERMINAL}
        if bad:
            wrong[path.name] = sorted(bad)
    assert not wrong, f"runtime/{layer} imports what lies above it: {wrong}"


def test_the_checker_sees_a_backward_import(tmp_path):
    fake = RUNTIME / "engine" / "training.py"
    names = imported(fake)
    assert "runtime.engine.network" in names          # what it really imports is seen
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    from runtime.execution import runner\n")
    assert "runtime.execution.runner" in imported(bad)


def test_every_layer_is_checked():
    assert SUBPACKAGES == set(ALLOWED)


def test_every_subpackage_says_what_it_holds_and_may_import():
    for layer in ALLOWED:
        doc = ast.get_docstring(ast.parse((RUNTIME / layer / "__init__.py").read_text()))
        assert doc and "import" in doc.lower(), layer


def test_pyproject_lists_every_package() -> None:
    """The wheel's package list (explicit, because specs/ ships as runtime.examples) names
    every folder of spec_lang/ and runtime/ that holds Python code."""
    tomllib = pytest.importorskip("tomllib")                 # Python 3.11+
    ROOT = RUNTIME.parent
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
                 ["packages"])
    folders = {".".join(p.parent.relative_to(ROOT).parts)
               for top in ("spec_lang", "runtime") for p in (ROOT / top).rglob("__init__.py")}
    assert folders <= listed and listed - folders == {"runtime.examples",
                                                      "runtime.examples.data"}
