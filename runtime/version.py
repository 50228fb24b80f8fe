"""The version of nnspec (one place: the package, the CLI and the run provenance read it)."""

__version__ = "0.2.0"
