"""The `nnspec` command and the checks `nnspec check` runs. The top of the import graph: it may
import every other subpackage, and none imports it."""
from runtime.cli.command import entry, main

__all__ = ["entry", "main"]
