"""The ``mcp-paginate`` console script: `mcp_paginate.cli.main`, with a Ctrl-C during its start
(while the server's dependencies load, about half a second) ending as quietly as one later on:
one line on stderr, status 130.

A KeyboardInterrupt raised inside an import can surface as another error (pydantic-core turns it
into a ``SchemaError`` while it builds a validator), so the start does not take it at all: Ctrl-C
only sets a flag until the imports are done, and the command then stops before it begins.
"""

from __future__ import annotations

import signal
import sys
from types import FrameType

__all__ = ["main"]


def main() -> None:
    interrupted = False

    def later(signum: int, frame: FrameType | None) -> None:
        nonlocal interrupted
        interrupted = True

    signal.signal(signal.SIGINT, later)
    try:
        from mcp_paginate import cli, sample  # noqa: F401  (sample: what cli's parser imports)
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    if interrupted:
        sys.stderr.write("mcp-paginate: error: interrupted\n")
        sys.exit(130)
    cli.main()
