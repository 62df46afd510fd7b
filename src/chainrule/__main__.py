"""``python -m chainrule`` and the ``chainrule`` console script: the command line in tools/cli.py."""

import sys

from .tools.cli import main

if __name__ == "__main__":
    sys.exit(main())
