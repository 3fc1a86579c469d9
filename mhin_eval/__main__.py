"""Entry point of `python -m mhin_eval` (see mhin_eval.cli)."""

import sys

from mhin_eval.cli import main

if __name__ == "__main__":
    sys.exit(main())
