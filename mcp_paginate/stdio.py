"""Serve MCP over stdin/stdout through the event loop's own pipe transports.

The SDK's stdio transport reads and writes the standard streams through worker threads
(``anyio.wrap_file``): three thread hand-offs for every request and its response, about
0.4 ms of each tool call's round trip on a small machine. MCP hosts start a server with
pipes for stdin and stdout; on POSIX, pipes (and sockets) can be served by asyncio directly,
so `run_stdio` does that. Anything else (a terminal, a file, Windows, an SDK without the
hook this needs) is served by the SDK's transport, unchanged.

The server's dispatcher reads each message straight from the pipe and each response is
written straight to it, with no reader and writer tasks in between (the SDK's transport hands
every message from task to task through a stream: an event-loop pass each way).

Like the SDK, it keeps the wire to itself while serving: fd 0 reads /dev/null and fd 1
writes to stderr, so a stray ``print`` or a child process cannot corrupt a message. Both are
restored on exit.
"""

from __future__ import annotations

import asyncio
import os
import stat
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from typing import Any, cast

import anyio
from mcp import types
from mcp.server.mcpserver import MCPServer
from mcp.shared.message import SessionMessage

if sys.platform != "win32":  # Windows has no fcntl; it is served by the SDK's transport
    import fcntl

__all__ = ["run_stdio"]

_READ_LIMIT = 1 << 30
"""Longest message line accepted (the SDK's own transport has no limit at all)."""


def run_stdio(server: MCPServer[Any]) -> None:
    """Serve ``server`` over stdin/stdout until the host closes stdin."""
    if _served_natively(server):
        anyio.run(_serve, server, backend="asyncio")
    else:
        server.run("stdio")


def _served_natively(server: MCPServer[Any]) -> bool:
    if sys.platform == "win32" or not hasattr(server, "_lowlevel_server"):
        return False
    return all(_is_pipe_or_socket(fd) for fd in (0, 1))


def _is_pipe_or_socket(fd: int) -> bool:
    try:
        mode = os.fstat(fd).st_mode
    except OSError:
        return False
    return stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)


async def _serve(server: MCPServer[Any]) -> None:
    lowlevel = server._lowlevel_server  # what MCPServer.run_stdio_async runs; checked by _served_natively
    async with _wire() as (incoming, outgoing):
        await lowlevel.run(cast(Any, incoming), cast(Any, outgoing), lowlevel.create_initialization_options())


@asynccontextmanager
async def _wire() -> AsyncIterator[tuple[_Incoming, _Outgoing]]:
    """The host's pipes on private descriptors, served by asyncio; fd 0 and 1 diverted meanwhile."""
    # The transports close their descriptors when done (the reader at end of input), so fd 0
    # and 1 are restored from duplicates of their own.
    saved = [fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 3) for fd in (0, 1)]
    wire_in, wire_out = (fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 3) for fd in (0, 1))
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    os.dup2(2, 1)
    transports: list[asyncio.BaseTransport] = []
    try:
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader(limit=_READ_LIMIT)
        read_transport, _ = await loop.connect_read_pipe(
            lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(wire_in, "rb", buffering=0)
        )
        transports.append(read_transport)
        write_transport, protocol = await loop.connect_write_pipe(
            asyncio.streams.FlowControlMixin, os.fdopen(wire_out, "wb", buffering=0)
        )
        transports.append(write_transport)
        # flush() waits until the pipe took every byte, as the SDK's blocking write does.
        write_transport.set_write_buffer_limits(high=0)
        yield _Incoming(reader), _Outgoing(asyncio.StreamWriter(write_transport, protocol, None, loop))
    finally:
        for transport in transports:
            transport.close()
        _flush_stdout()  # what a stray print left in sys.stdout's buffer goes to stderr, not the wire
        for fd, duplicate in zip((0, 1), saved, strict=True):
            os.dup2(duplicate, fd)
            os.close(duplicate)
            os.set_blocking(fd, True)  # the transports made the pipes non-blocking


def _flush_stdout() -> None:
    with suppress(AttributeError, OSError, ValueError):
        sys.stdout.flush()


class _Incoming:
    """The messages from the host, one JSON text per line, parsed as the server reads them.

    What the SDK's transport delivers, in the same order: a `SessionMessage`, or the parse
    error in its place (the server answers it and reads on).
    """

    def __init__(self, reader: asyncio.StreamReader) -> None:
        self.reader = reader

    async def receive(self) -> SessionMessage | Exception:
        line = await self.reader.readline()
        if not line:
            raise anyio.EndOfStream
        try:
            message = types.jsonrpc_message_adapter.validate_json(
                line.decode("utf-8", "replace"), by_name=False
            )
        except Exception as exc:  # the SDK's transport hands any parse failure on as well
            return exc
        return SessionMessage(message)

    def __aiter__(self) -> _Incoming:
        return self

    async def __anext__(self) -> SessionMessage | Exception:
        try:
            return await self.receive()
        except anyio.EndOfStream:
            raise StopAsyncIteration from None

    async def aclose(self) -> None:
        pass  # the pipe is closed when the transport is (see `_wire`)

    async def __aenter__(self) -> _Incoming:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()


class _Outgoing:
    """The messages to the host: each one written as a line by the task that sends it, then
    waited on while the pipe is full (as the SDK's blocking write does)."""

    def __init__(self, writer: asyncio.StreamWriter) -> None:
        self.writer = writer
        self.closed = False

    async def send(self, message: SessionMessage) -> None:
        if self.closed or self.writer.is_closing():
            raise anyio.ClosedResourceError
        text = message.message.model_dump_json(by_alias=True, exclude_unset=True)
        try:
            self.writer.write((text + "\n").encode("utf-8"))  # one write: lines never interleave
            await self.writer.drain()
        except ConnectionError as exc:  # the host closed its end: what the dispatcher expects
            raise anyio.BrokenResourceError from exc

    async def aclose(self) -> None:
        self.closed = True

    async def __aenter__(self) -> _Outgoing:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()
