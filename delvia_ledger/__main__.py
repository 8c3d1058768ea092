"""``python -m delvia_ledger``: the same command as ``delvia-ledger``."""

import sys

from .cli import main

sys.exit(main())
