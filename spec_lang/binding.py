"""Binding a statement's words to its keyword table, checking every value, collecting problems."""
from __future__ import annotations

from typing import Any

from . import config as c
from . import nodes as n
from .errors import Diagnostic, did_you_mean
from .schema import BOOLS, CONTEXTS, Arg, Keyword
from .values import TYPE_WORDS, WEIGHT, Invalid, coerce
INVALID: Any = type("Invalid", (), {"__repr__": lambda self: "INVALID"})()  # reported value
# Run-level settings: every configuration of a search must share them to be comparable.
FIXED = {"experiment": "the experiment's name names its run folder",
         "data": "configurations are compared on the same data",
         "split": "configurations are compared on the same splits",
         "kfold": "configurations are compared on the same splits",
         "nested": "configurations are compared on the same splits",
         "metric": "configurations are ranked by one metric",
         "search": "the search's own settings are not hyper-parameters",
         "prune": "the search's own settings are not hyper-parameters",
         "budget": "the search's own settings are not hyper-parameters",
         "seeds": "configurations are compared over the same seeds"}
LIST_TYPES = ("names", "columns", "targets", "headers", "weights")   # types a list may be
AUTO_TYPES = ("number", "int", "batch")       # where `auto` could be taken for a number
AUTO_HINT = ("only an optimizer's learning rate (`sgd lr auto`: a range test chooses it "
             "before the search) and an embedding's dim can be auto")
BLOCK_OWNERS = {"top": "the top level", "preprocess": "the preprocess block",
                "network": "the network block", "train": "the train block"}


class Checker:
    """One pass over a `nodes.Spec`; `diagnostics` collects every problem."""

    def __init__(self) -> None:
        self.diagnostics: list[Diagnostic] = []
        self.uses: dict[str, list[tuple[Arg, n.ParamRef]]] = {}

    def error(self, span: n.Span, message: str, hint: str = "") -> None:
        """Record a problem underlining `span` (on its first line)."""
        end = span.end_column if span.end_line == span.line else 0
        self.diagnostics.append(Diagnostic(span.line, span.column, message, hint, end))

    def error_after(self, span: n.Span, message: str, hint: str = "") -> None:
        """Record a problem just after `span` (something missing)."""
        self.diagnostics.append(Diagnostic(span.end_line, span.end_column, message, hint))

    # ------------------------------------------------------------------------------- values
    def value(self, arg: Arg, node: n.Value, owner: str) -> Any:
        """The python value of `node` as `arg` of `owner`, or None after recording an error."""
        if isinstance(node, n.ParamRef):
            self.uses.setdefault(node.name, []).append((arg, node))
            if owner in FIXED:
                self.error(node.span, f"'{owner}' cannot be searched",
                           f"{FIXED[owner]}; search model and training settings instead")
                return INVALID
            return c.Param(node.name)
        return self.literal(arg, node, owner)

    def literal(self, arg: Arg, node: n.Value, owner: str) -> Any:
        """Check a literal (not `$`) value against `arg`; None after recording an error."""
        if isinstance(node, n.ParamRef):
            self.error(node.span, "a search value cannot be another $parameter")
            return INVALID
        if isinstance(node, (n.Range, n.List)) and arg.type not in LIST_TYPES:
            kind = "a range" if isinstance(node, n.Range) else "a list"
            self.error(node.span, f"'{arg.name}' of '{owner}' takes one value, not {kind}",
                       "ranges and lists of values belong in the search block: "
                       f"write ${arg.name} here and define it under 'search'")
            return INVALID
        if isinstance(node, n.Name) and node.value == "auto" and arg.type in AUTO_TYPES:
            return self._auto(arg, node, owner)
        return getattr(self, f"_as_{arg.type}")(arg, node, owner)

    def _auto(self, arg: Arg, node: n.Value, owner: str) -> Any:
        """`auto` where a number goes: the learning rate's only (`sgd lr auto`)."""
        if arg.auto:
            return c.AUTO
        self.error(node.span, f"'{arg.name}' of '{owner}' cannot be auto", AUTO_HINT)
        return INVALID

    def _wrong(self, arg: Arg, node: n.Value, owner: str, hint: str = "") -> Any:
        self.error(node.span, f"'{arg.name}' of '{owner}' must be {TYPE_WORDS[arg.type]}; "
                   f"got {_show(node)}", hint or arg.doc)
        return INVALID

    def _coerce(self, arg: Arg, node: n.Value, owner: str, value: Any) -> Any:
        """The one conversion every value goes through (`values.coerce`), for a literal."""
        try:
            return coerce(arg, value, owner, _show(node))
        except Invalid as exc:
            self.error(node.span, exc.message, exc.hint)
            return INVALID

    def _as_number(self, arg: Arg, node: n.Value, owner: str) -> Any:
        if not isinstance(node, n.Number):
            return self._wrong(arg, node, owner)
        return self._coerce(arg, node, owner, node.value)

    def _as_int(self, arg: Arg, node: n.Value, owner: str) -> Any:
        if not isinstance(node, n.Number):
            return self._wrong(arg, node, owner)
        if not node.is_int:                # `32.0` and `1e3` are not written counts
            self.error(node.span, f"'{arg.name}' of '{owner}' must be a whole number; got "
                       f"{node.text}", arg.doc)
            return INVALID
        return self._coerce(arg, node, owner, int(node.text))

    def _as_bool(self, arg: Arg, node: n.Value, owner: str) -> Any:
        if isinstance(node, n.Name) and node.value in BOOLS:
            return BOOLS[node.value]
        return self._wrong(arg, node, owner)

    def _as_name(self, arg: Arg, node: n.Value, owner: str) -> Any:
        if not isinstance(node, n.Name):
            hint = "names are written without quotes" if isinstance(node, n.String) else ""
            return self._wrong(arg, node, owner, hint)
        return self._coerce(arg, node, owner, node.value)

    def _as_string(self, arg: Arg, node: n.Value, owner: str) -> Any:
        if isinstance(node, (n.String, n.Name)):
            return node.value
        return self._wrong(arg, node, owner)

    def _as_source(self, arg: Arg, node: n.Value, owner: str) -> Any:
        if isinstance(node, n.String):
            return ("path", node.value)
        return self._as_name(arg, node, owner)

    def _as_batch(self, arg: Arg, node: n.Value, owner: str) -> Any:
        if isinstance(node, n.Name) and node.value == "all":
            return None
        return self._as_int(arg, node, owner) if isinstance(node, n.Number) else \
            self._wrong(arg, node, owner)

    def _as_names(self, arg: Arg, node: n.Value, owner: str) -> Any:
        items = node.items if isinstance(node, n.List) else (node,)
        names = [i.value for i in items if isinstance(i, n.Name)]
        bad = [i for i in items if not isinstance(i, n.Name)]
        return self._wrong(arg, bad[0], owner) if bad else tuple(names)

    def _as_columns(self, arg: Arg, node: n.Value, owner: str) -> Any:
        items = node.items if isinstance(node, n.List) else (node,)
        out: list[Any] = []
        for item in items:
            if isinstance(item, n.Number) and item.is_int:
                out.append(int(item.text))
            elif isinstance(item, (n.String, n.Name)):
                out.append(item.value)
            else:
                return self._wrong(arg, item, owner)
        return tuple(out)

    def _as_targets(self, arg: Arg, node: n.Value, owner: str) -> Any:
        items = node.items if isinstance(node, n.List) else (node,)
        bad = [i for i in items if not isinstance(i, (n.String, n.Name))]
        if bad:
            return self._wrong(arg, bad[0], owner)
        return self._coerce(arg, node, owner, tuple(i.value for i in items))  # type: ignore[union-attr]

    _as_headers = _as_targets          # the same words; `values` makes one header a tuple

    def _as_weights(self, arg: Arg, node: n.Value, owner: str) -> Any:
        """Numbers > 0 or $names: a target's weight may be searched, though `data` may not
        (a weight changes the criterion, not the data)."""
        out: list[Any] = []
        for item in node.items if isinstance(node, n.List) else (node,):
            if isinstance(item, n.ParamRef):
                self.uses.setdefault(item.name, []).append((WEIGHT, item))
                out.append(c.Param(item.name))
            elif isinstance(item, n.Number):
                out.append(self._coerce(WEIGHT, item, owner, item.value))
            else:
                return self._wrong(arg, item, owner)
        return INVALID if INVALID in out else tuple(out)

    # ---------------------------------------------------------------------------- arguments
    def bind(self, kw: Keyword, cmd: n.Command) -> dict[str, Any]:
        """Bind the words after a keyword: positionals first, then `option value` pairs."""
        atoms, values, i = cmd.args, {}, 0
        for arg in kw.positional:
            if i < len(atoms) and not _is_option(kw, atoms[i]):
                values[arg.name] = self.value(arg, atoms[i], kw.name)
                i += 1
            elif arg.required:
                self.error_after(atoms[i - 1].span if i else cmd.keyword.span,
                                 f"expected {TYPE_WORDS[arg.type]} after "
                                 f"'{_show(atoms[i - 1]) if i else kw.name}'", arg.doc)
                return {}
        while i < len(atoms):
            i = self._option(kw, atoms, i, values)
        return {k: v for k, v in values.items() if v is not INVALID}

    def _option(self, kw: Keyword, atoms: tuple[n.Value, ...], i: int,
                values: dict[str, Any]) -> int:
        atom = atoms[i]
        opt = kw.option(atom.value) if isinstance(atom, n.Name) else None
        if opt is None:
            self._unknown_option(kw, atom)
            skip_value = isinstance(atom, n.Name) and i + 1 < len(atoms) and \
                not isinstance(atoms[i + 1], n.Name)
            return i + 2 if skip_value else i + 1  # `momentun 0.9`: one mistake, one error
        if opt.name in values:
            self.error(atom.span, f"'{opt.name}' is given twice for '{kw.name}'")
        nxt = atoms[i + 1] if i + 1 < len(atoms) else None
        flag = True if opt.type == "bool" else opt.flag
        if flag is not None and (nxt is None or _is_option(kw, nxt) or
                                 (opt.type == "bool" and not _is_bool_word(nxt))):
            values[opt.name] = flag
            return i + 1
        if nxt is None or _is_option(kw, nxt):
            self.error_after(atom.span, f"expected {TYPE_WORDS[opt.type]} after "
                             f"'{opt.name}'", opt.doc)
            return i + 1
        values[opt.name] = self.value(opt, nxt, kw.name)
        return i + 2

    def _unknown_option(self, kw: Keyword, atom: n.Value) -> None:
        names = [a.name for a in kw.options]
        if not isinstance(atom, n.Name):
            what = f"'{kw.name}' takes no further value here" if not names else \
                f"expected an option name of '{kw.name}' ({', '.join(names)})"
            self.error(atom.span, f"unexpected {_show(atom)}: {what}")
            return
        hint = did_you_mean(atom.value, names) or (
            f"'{kw.name}' options: {', '.join(names)}" if names else
            f"'{kw.name}' takes no options")
        self.error(atom.span, f"unknown option '{atom.value}' for '{kw.name}'", hint)

    # ---------------------------------------------------------------------------- statements
    def keyword(self, cmd: n.Command, context: str) -> Keyword | None:
        """The keyword table entry of a statement in `context`, or None after an error."""
        if isinstance(cmd.keyword, n.ParamRef):
            self.error(cmd.keyword.span, "only preprocessing steps can be a $parameter")
            return None
        word, table = cmd.keyword.value, CONTEXTS[context]
        if word in table:
            kw = table[word]
            self._check_block(kw, cmd)
            return kw
        home = next((ctx for ctx, t in CONTEXTS.items() if word in t), None)
        hint = f"'{word}' belongs in {BLOCK_OWNERS[home]}" if home else \
            did_you_mean(word, table) or "expected one of: " + ", ".join(table)
        self.error(cmd.keyword.span, f"unknown keyword '{word}' in {BLOCK_OWNERS[context]}",
                   hint)
        return None

    def _check_block(self, kw: Keyword, cmd: n.Command) -> None:
        if cmd.body and kw.block is None:
            self.error(cmd.body[0].span, f"'{kw.name}' takes no indented block")
        elif kw.block_required and not cmd.body:
            self.error_after(cmd.span, f"'{kw.name}' needs an indented block below it")

    def commands(self, body: tuple[n.Statement, ...], context: str
                 ) -> list[tuple[Keyword, n.Command, dict[str, Any]]]:
        """The statements of a block, bound; dimensions outside `search` are errors."""
        out = []
        for stmt in body:
            if isinstance(stmt, n.Dimension):
                self.error(stmt.span, "search dimensions belong in the search block")
                continue
            kw = self.keyword(stmt, context)
            if kw is not None:
                out.append((kw, stmt, self.bind(kw, stmt)))
        return out

    def once(self, items: list[tuple[Keyword, n.Command, dict]], group: tuple[str, ...],
             what: str) -> tuple[Keyword, n.Command, dict] | None:
        """The single statement of `group`; later duplicates are errors."""
        found = [it for it in items if it[0].name in group]
        for kw, cmd, _ in found[1:]:
            self.error(cmd.keyword.span, f"{what} is already given at line "
                       f"{found[0][1].span.line}", "give it once")
        return found[0] if found else None


def _is_option(kw: Keyword, atom: n.Value) -> bool:
    return isinstance(atom, n.Name) and kw.option(atom.value) is not None


def _is_bool_word(atom: n.Value) -> bool:
    return isinstance(atom, n.ParamRef) or (isinstance(atom, n.Name) and atom.value in BOOLS)


def _show(node: n.Value) -> str:
    if isinstance(node, n.Number):
        return node.text
    if isinstance(node, n.String):
        return f'"{node.value}"'
    if isinstance(node, n.Name):
        return node.value
    if isinstance(node, n.ParamRef):
        return f"${node.name}"
    return "a range" if isinstance(node, n.Range) else "a list"
