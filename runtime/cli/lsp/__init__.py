"""`nnspec lsp`: the language server of `.spec` files over stdio (diagnostics, completion, hover,
definition and references, formatting, the outline), on pygls (the `editor` extra). Only
`server` imports pygls; `findings` holds what `nnspec check` says about a document. It may
import what `runtime.cli` may (the language, the checks)."""
