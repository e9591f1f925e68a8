"""`experience-daemon`: the JSON-RPC server on stdio (placeholder until the server lands)."""

from __future__ import annotations

import sys


def main() -> int:
    """Start the daemon."""
    sys.stderr.write("experience-daemon: the JSON-RPC server is not built yet (see issue: the daemon)\n")
    return 1


if __name__ == "__main__":
    sys.exit(main())
