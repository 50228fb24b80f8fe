"""The `index.html` of `nnspec report RUN`: best.json (chosen configuration, scores, border
warnings), the plots `report` drew, and the top of summary.csv."""
from __future__ import annotations

import html
import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runtime.execution.results import border_message

if TYPE_CHECKING:                       # report imports this module: no runtime cycle
    from runtime.report.run_folder import Run

TOP_ROWS = 20            # summary rows shown in index.html


def summary_html(run: Run, top: int = TOP_ROWS) -> str:
    """The best `top` rows of summary.csv (by rank) as an HTML table."""
    rank = f"rank_{run.metric}"
    shown = run.summary.sort_values(rank) if rank in run.summary else run.summary
    return shown.head(top).to_html(index=False, na_rep="", float_format=lambda v: f"{v:.4g}",
                                   classes="summary", border=0)


def best_html(run: Run) -> str:
    """The chosen configuration(s), validation and test scores, border warnings and notes."""
    parts = [f"<p class='note'>note: {html.escape(str(m))}</p>"
             for m in run.best.get("messages", [])]
    for item in run.chosen:
        where = "" if item.get("outer") is None else f" (outer fold {item['outer']})"
        valid = item.get("valid", {})
        parts.append(f"<h3>chosen trial {item['trial']}{where}</h3>")
        parts.append(_pairs_table(item.get("params") or {"(no search)": ""}, "params"))
        parts.append(f"<p>validation {html.escape(str(valid.get('metric', run.metric)))}: "
                     f"{_num(valid.get('mean'))} ± {_num(valid.get('std'))} "
                     f"(n={valid.get('n', '')})</p>")
        for name, side in (item.get("borders") or {}).items():
            if side:
                parts.append(f"<p class='warning'>border: "
                             f"{html.escape(border_message(name, side))}</p>")
    test = run.best.get("test") or {}
    if test:
        title = "generalization estimate (outer test folds)" if "outer_folds" in run.best \
            else "test (scored once, chosen configuration only)"
        parts.append(f"<h3>{title}</h3>" + _scores_table(test))
    parts.append("<details><summary>best.json</summary><pre>"
                 + html.escape(json.dumps(run.best, indent=2)) + "</pre></details>")
    return "\n".join(parts)


def _pairs_table(values: dict[str, Any], css: str) -> str:
    rows = "".join(f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(_num(v))}</td></tr>"
                   for k, v in values.items())
    return f"<table class='{css}'>{rows}</table>"


def _scores_table(test: dict[str, Any]) -> str:
    """One row per test metric: mean ± std over the members, and the averaged prediction's."""
    head = "<tr><th>metric</th><th>mean ± std</th><th>ensemble</th></tr>"
    rows = "".join(
        f"<tr><th>{html.escape(k[5:])}</th><td>{_num(v)} ± {_num(test.get('std_' + k))}</td>"
        f"<td>{_num(test.get('ensemble_' + k))}</td></tr>"
        for k, v in test.items() if k.startswith("test_"))
    return f"<table class='scores'>{head}{rows}</table>"


def _num(value: Any) -> str:
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:.4g}"
    return "" if value is None else str(value)


STYLE = """body{font-family:sans-serif;margin:2em;max-width:80em}
table{border-collapse:collapse;font-size:90%}th,td{padding:2px 8px;text-align:right}
table.summary tr:nth-child(even){background:#f3f3f3}.warning{color:#a40}.note{color:#555}
figure{display:inline-block;margin:0 1em 1em 0}img{max-width:100%}
.scroll{overflow-x:auto}"""


def index_html(run: Run, images: list[Path]) -> str:
    """The report page: scores first, then the plots, then the summary table."""
    name = html.escape(str(run.best.get("experiment", run.path.name)))
    figures = "\n".join(f"<figure><img src='{p.name}' alt='{p.stem}'>"
                        f"<figcaption>{p.stem}</figcaption></figure>" for p in images)
    return (f"<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>nnspec report: {name}"
            f"</title><style>{STYLE}</style></head><body>\n<h1>{name}</h1>\n"
            f"<h2>chosen configuration</h2>\n{best_html(run)}\n<h2>plots</h2>\n{figures}\n"
            f"<h2>summary (top {TOP_ROWS} by {html.escape(run.metric)})</h2>\n"
            f"<div class='scroll'>{summary_html(run)}</div>\n</body></html>\n")


def write_index(run: Run, images: list[Path], path: Path) -> Path:
    """Write the report page showing `images` (which sit beside it) to `path`; the path."""
    path.write_text(index_html(run, images), encoding="utf-8")
    return path
