"""The console's ranking table (end of `nnspec run`, `nnspec show`): each configuration once,
at its highest fidelity, with its state, so that the one ranking's order explains itself."""
from __future__ import annotations

import io

from rich.console import Console

from runtime.execution.results import make_table, summarize
from runtime.report.console import summary_table


def rendered(table) -> list[list[str]]:
    """The body rows of a rich table, cells stripped (header first)."""
    screen = Console(file=io.StringIO(), width=120, record=True)
    screen.print(table)
    return [[c.strip() for c in line.strip("│┃ ").split("│" if "│" in line else "┃")]
            for line in screen.export_text().splitlines() if line[:1] in "│┃"]


def test_each_configuration_once_at_its_highest_fidelity_with_its_state() -> None:
    """The review's run: lr 0.1 completed 0.251 at full fidelity (and 0.30 at 1/3), lr 0.2 was
    pruned at 0.039. The ranking puts the completed one first; the table says why (state) and
    lists lr 0.1 once (it was ranks 1 and 2, at fidelity 1 and 1/3)."""
    def row(trial: int, lr: float, fidelity: float, state: str, error: float) -> dict:
        return {"trial": trial, "seed": 0, "fold": 0, "state": state, "step": "asha",
                "fidelity": fidelity, "param_lr": lr, "train_loss": 0.5, "valid_loss": error,
                "valid_error": error, "epochs": 3}
    summary = summarize(make_table([row(0, 0.1, 1 / 3, "complete", 0.30),
                                    row(1, 0.1, 1.0, "complete", 0.251),
                                    row(2, 0.2, 1.0, "pruned", 0.039)], "error", False))
    assert list(summary.sort_values("rank_valid_error")["trial"]) == [1, 0, 2]   # the rule
    header, *body = rendered(summary_table(summary, 10))
    assert header == ["rank", "lr", "fidelity", "state", "valid_error mean ± std", "n",
                      "epochs"]
    assert [r[:4] for r in body] == [["1", "0.1", "1", "complete"], ["3", "0.2", "1", "pruned"]]
    assert body[1][4] == "0.039 ± 0"
