"""`python -m runtime` is the `nnspec` command."""
from runtime.cli.command import entry

entry()
