"""`python -m runtime` is the `nnspec` command."""
import sys

from runtime.cli.command import main

sys.exit(main())
