"""The HTML of the report page: one self-contained document (styles inline, every image a
`data:image/png;base64` URI, no script, no external link but the run folder's own files), so
it opens offline, from a copied folder or as an e-mail attachment."""
from __future__ import annotations

import base64
import html
import json
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Collection

import pandas as pd

from runtime.execution.results import border_warnings, refit_message
from runtime.report.progress import STATES

if TYPE_CHECKING:                       # report imports this module: no runtime cycle
    from runtime.report.run_folder import Run

TOP_ROWS = 50            # summary rows shown in index.html
RUN_FILES = ("spec.spec", "trials.csv", "summary.csv", "best.json")

# The page uses its width at any window size: figures sit in a grid of columns at least 32em
# wide (two side by side on a wide screen, one on a narrow one), a wide figure across the row,
# each image scaled to its cell. Sections after the summary fold (<details>).
STYLE = """body{font-family:sans-serif;margin:2em auto;max-width:84em;padding:0 1em;color:#222}
h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:2em}
summary{cursor:pointer}summary h2{display:inline-block;width:calc(100% - 2em)}
table{border-collapse:collapse;font-size:90%}th,td{padding:2px 8px;text-align:right}
table.summary tr:nth-child(even){background:#f3f3f3}table.summary th{background:#e8e8e8}
.warning{color:#a40}.note{color:#555}.meta{color:#555;font-size:90%}
.headline{font-size:120%}figure{margin:0 0 1.5em 0;min-width:0}img{width:100%;height:auto}
.figures{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(100%,32em),1fr));
column-gap:2em;align-items:start}.figures>.wide,.figures>p{grid-column:1/-1}
figcaption{color:#444;font-size:90%;max-width:60em}.scroll{overflow-x:auto}
pre{background:#f6f6f6;padding:1em;overflow-x:auto}nav a{margin-right:1em}"""
WIDE_INCHES = 9.0        # a figure at least this wide spans the whole row of the grid


@dataclass
class Image:
    """One embedded plot: its id, PNG bytes and caption."""

    ident: str
    data: bytes
    caption: str
    wide: bool = False           # spans the row of the figures grid


def img(image: Image) -> str:
    """A figure with the image embedded as a data URI."""
    uri = "data:image/png;base64," + base64.b64encode(image.data).decode("ascii")
    wide = " class='wide'" if image.wide else ""
    return (f"<figure id='{html.escape(image.ident)}'{wide}><img src='{uri}' "
            f"alt='{html.escape(image.ident)}'><figcaption>{html.escape(image.caption)}"
            f"</figcaption></figure>")


def num(value: Any) -> str:
    """A value as the page shows it: 4 significant digits, blank for a missing one."""
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:.4g}"
    return "" if value is None else str(value)


def readable_columns(summary: pd.DataFrame, metric: str) -> pd.DataFrame:
    """The summary as the page's table: rank and the selection metric first, parameters by
    their names, words for the other columns."""
    words = {f"rank_{metric}": "rank", f"mean_{metric}": f"{metric} mean",
             f"std_{metric}": f"{metric} std", "n_complete": "complete", "n": "of",
             "mean_epochs": "epochs", "mean_duration_s": "seconds", "outer": "outer fold"}
    first = [c for c in (f"rank_{metric}", "outer", "trial") if c in summary]
    params = [c for c in summary.columns if c.startswith("param_")]
    rest = [c for c in ("fidelity", f"mean_{metric}", f"std_{metric}", "state", "n_complete",
                        "n", "mean_epochs", "mean_duration_s") if c in summary
            and (c != "fidelity" or summary[c].nunique() > 1)]      # halving's rungs only
    extra = [c for c in summary.columns if c.startswith(("mean_", "test_", "border_"))
             and c not in rest]
    shown = summary[first + params + rest + extra]
    if f"rank_{metric}" in summary:
        shown = shown.sort_values(f"rank_{metric}", kind="stable")
    words.update({p: p[len("param_"):] for p in params})
    return shown.rename(columns=words)


def summary_html(run: Run, top: int = TOP_ROWS) -> str:
    """The best `top` configurations as an HTML table (id `configurations-table`)."""
    shown = readable_columns(run.summary, run.metric).head(top)
    return shown.to_html(index=False, na_rep="", float_format=lambda v: f"{v:.4g}",
                         classes="summary", border=0, table_id="configurations-table")


def best_html(run: Run) -> str:
    """The chosen configuration(s): the selection metric first, the parameters, the test
    scores, border warnings and the run's notes."""
    parts = []
    outcome = run.outcome
    for item in outcome.choices:
        where = "" if item.outer is None else f" (outer fold {item.outer})"
        valid = item.valid
        parts.append(f"<p class='headline'><b>{html.escape(str(valid.metric))} "
                     f"{num(valid.mean)} ± {num(valid.std)}</b> (validation, "
                     f"n={valid.n}) — chosen trial {item.trial}{where}</p>")
        parts.append(pairs_table(dict(item.params) or {"(no search)": ""}, "params"))
        if item.refit:
            parts.append(f"<p>{html.escape(refit_message(item.refit))}</p>")
    parts += [f"<p class='warning'>border{f' ({where})' if where else ''}: "
              f"{html.escape(message)}</p>"
              for where, message in border_warnings(outcome.choices)]
    if outcome.test:
        title = "generalization estimate (outer test folds)" if outcome.nested \
            else "test (scored once, chosen configuration only)"
        parts.append(f"<h3>{title}</h3>" + scores_table(dict(outcome.test)))
    parts += [f"<p class='note'>note: {html.escape(str(m))}</p>" for m in outcome.messages]
    return "\n".join(parts)


def pairs_table(values: dict[str, Any], css: str) -> str:
    """A two-column table of names and values."""
    rows = "".join(f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(num(v))}</td></tr>"
                   for k, v in values.items())
    return f"<table class='{css}'>{rows}</table>"


def scores_table(test: dict[str, Any]) -> str:
    """One row per test metric: mean ± std over the members, and the averaged prediction's
    when there is one (the outer folds' std under nested cross-validation, and no ensemble
    column: each outer fold has its own)."""
    ensemble = any(k.startswith("ensemble_") for k in test)
    head = "<tr><th>metric</th><th>mean ± std</th>" + \
        ("<th>ensemble</th>" if ensemble else "") + "</tr>"
    rows = "".join(
        f"<tr><th>{html.escape(k[5:])}</th><td>{num(v)} ± {num(test.get('std_' + k))}</td>"
        + (f"<td>{num(test.get('ensemble_' + k))}</td>" if ensemble else "") + "</tr>"
        for k, v in test.items() if k.startswith("test_"))
    return f"<table class='scores'>{head}{rows}</table>"


def outcomes_html(states: dict[str, int], messages: list[tuple[str, str, int]]) -> str:
    """Trials per state and the most common messages of those that did not complete."""
    order = [state.value for state in STATES]
    names = order + sorted(set(states) - set(order))
    head = "".join(f"<th>{html.escape(s)}</th>" for s in names)
    cells = "".join(f"<td>{states.get(s, 0)}</td>" for s in names)
    text = f"<table class='summary' id='states'><tr>{head}</tr><tr>{cells}</tr></table>"
    if messages:
        rows = "".join(f"<tr><td>{n}</td><td>{html.escape(s)}</td>"
                       f"<td style='text-align:left'>{html.escape(e)}</td></tr>"
                       for s, e, n in messages)
        text += ("<p>most common messages:</p><table class='summary'><tr><th>trials</th>"
                 f"<th>state</th><th>message</th></tr>{rows}</table>")
    return text


def figures(parts: list[str]) -> str:
    """Figures (and notes) in the page's responsive grid; empty parts dropped."""
    shown = [p for p in parts if p]
    return "<div class='figures'>\n" + "\n".join(shown) + "\n</div>" if shown else ""


def page(title: str, sections: list[tuple[str, str, str]], meta: str,
         folded: Collection[str] = ()) -> str:
    """The whole document: a title, the provenance line, a table of contents and the
    (id, heading, body) sections; every section but the first folds, those in `folded`
    start folded."""
    name = html.escape(title)
    nav = "".join(f"<a href='#{i}'>{html.escape(h)}</a>" for i, h, _ in sections)
    body = "\n".join(_section(i, h, b, None if n == 0 else i not in folded)
                     for n, (i, h, b) in enumerate(sections))
    return (f"<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
            f"<meta name='viewport' content='width=device-width, initial-scale=1'>"
            f"<title>nnspec report: {name}</title><style>{STYLE}</style></head><body>\n"
            f"<h1>{name}</h1>\n<p class='meta'>{meta}</p>\n<nav>{nav}</nav>\n{body}\n"
            "</body></html>\n")


def _section(ident: str, heading: str, body: str, open_: bool | None) -> str:
    """A section; folding (<details>) unless `open_` is None, open when it is True."""
    title = f"<h2>{html.escape(heading)}</h2>"
    if open_ is None:
        return f"<section id='{ident}'>{title}\n{body}\n</section>"
    return (f"<section id='{ident}'><details{' open' if open_ else ''}><summary>{title}"
            f"</summary>\n{body}\n</details></section>")


def files_html(present: list[str]) -> str:
    """Links to the run folder's own files (beside report/)."""
    return " · ".join(f"<a href='../{html.escape(n)}'>{html.escape(n)}</a>" for n in present)


def spec_html(text: str, best: dict[str, Any]) -> str:
    """The spec as run, highlighted, and best.json folded away."""
    return (f"<pre class='spec'>{highlighted(text)}</pre><details><summary>best.json</summary>"
            "<pre>" + html.escape(json.dumps(best, indent=2)) + "</pre></details>")


def highlighted(text: str) -> str:
    """Spec text as HTML, coloured by the language's Pygments lexer (inline styles: the page
    stays one file); plain escaped text when Pygments cannot be imported."""
    try:
        from pygments import highlight
        from pygments.formatters import HtmlFormatter

        from spec_lang.highlight import SpecLexer
    except ImportError:
        return html.escape(text)
    return highlight(text, SpecLexer(), HtmlFormatter(nowrap=True, noclasses=True))
