"""``python -m delvia_ledger`` and the ``delvia-ledger`` command: start the command line, with a
Ctrl-C during start-up ending as quietly as one during a command (one line, exit 130)."""

import sys


def run() -> int:
    """Import the command line and run it; returns the exit code."""
    try:
        from .cli import main
    except KeyboardInterrupt:  # the imports are the start-up: nothing was read or written yet
        sys.stderr.write("delvia-ledger: interrupted; nothing was written\n")
        return 130
    return main()


if __name__ == "__main__":
    sys.exit(run())
