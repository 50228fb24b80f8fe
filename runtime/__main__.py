"""`python -m runtime` is the `nnspec` command."""
import sys

from .cli import main

sys.exit(main())
