"""``python -m delvia_ledger`` and the ``delvia-ledger`` command: start the command line, with a
Ctrl-C during start-up ending as quietly as one during a command (one line, exit 130)."""

import sys


def run() -> int:
    """Import the command line and run it; returns the exit code."""
    try:
        from .cli import main

        return main()
    except KeyboardInterrupt:  # while it starts (its imports), or past a command's own handler
        import signal

        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C cannot cut this short
        sys.stderr.write("delvia-ledger: interrupted; nothing more was written\n")
        return 130


if __name__ == "__main__":
    sys.exit(run())
