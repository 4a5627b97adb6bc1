"""Running the sample API: `SampleAPI` in a background thread (tests, the demo, benchmarks), or
`serve` in the foreground (``mcp-paginate sample-api``, ``python -m mcp_paginate.sample``)."""

from __future__ import annotations

import argparse
import contextlib
import socket
import threading
import time
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import Any, Self

import uvicorn
from starlette.types import ASGIApp
from uvicorn.config import LOGGING_CONFIG

from mcp_paginate.sample.app import create_app
from mcp_paginate.sample.faults import FaultPlan
from mcp_paginate.sample.records import DEFAULT_RECORDS
from mcp_paginate.sample.stats import Stats

__all__ = ["SampleAPI", "base_url", "listening_socket", "main", "serve"]


def listening_socket(host: str, port: int) -> socket.socket:
    """A socket bound and listening, so clients can connect as soon as its URL is known."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP explicitly: asyncio only sets TCP_NODELAY on accepted sockets whose proto says
    # TCP, and without it every response waits ~40 ms for a delayed ACK (Nagle).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(2048)
    except OSError:
        sock.close()
        raise
    return sock


def _server(app: ASGIApp, host: str, *, log_config: dict[str, Any] | None) -> uvicorn.Server:
    config = uvicorn.Config(
        app,
        host=host,
        http="h11",  # the connection-dropping faults rely on its transport handling
        ws="none",
        loop="asyncio",
        lifespan="off",
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=1,
        log_config=log_config,
    )
    return uvicorn.Server(config)


def base_url(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


class SampleAPI:
    """The sample API served by uvicorn in a background thread, for sync and async callers.

    Example::

        with SampleAPI(records=100, latency=0.01) as api:
            response = httpx2.get(f"{api.url}/offset", params={"limit": 50})
            assert api.stats.requests == 1

    Args:
        records, latency, api_key, faults: as for :func:`create_app`.
        host: interface to listen on.
        port: port to listen on; 0 picks a free one.
        startup_timeout: seconds to wait for the server to accept connections.
    """

    def __init__(
        self,
        records: int = DEFAULT_RECORDS,
        latency: float = 0.0,
        api_key: str | None = None,
        faults: FaultPlan | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        startup_timeout: float = 10.0,
    ) -> None:
        self.app = create_app(records=records, latency=latency, api_key=api_key, faults=faults)
        self.host = host
        self.records = records
        self._requested_port = port
        self._startup_timeout = startup_timeout
        self._port: int | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:54321`` (no trailing slash)."""
        if self._port is None:
            raise RuntimeError("the sample API is not running; use `with SampleAPI() as api:`")
        return base_url(self.host, self._port)

    @property
    def port(self) -> int:
        """The port listened on."""
        if self._port is None:
            raise RuntimeError("the sample API is not running")
        return self._port

    @property
    def stats(self) -> Stats:
        """The app's live :class:`Stats`."""
        return self.app.data.stats

    @property
    def faults(self) -> FaultPlan:
        """The live :class:`FaultPlan`; mutate it, or assign a new one to restart the numbering."""
        return self.app.data.faults

    @faults.setter
    def faults(self, plan: FaultPlan) -> None:
        self.app.data.faults = plan

    def start(self) -> Self:
        """Start serving and return once the server accepts connections.

        Raises:
            RuntimeError: the server failed to start.
            TimeoutError: it did not start within ``startup_timeout``.
        """
        if self._thread is not None:
            raise RuntimeError("the sample API is already running")
        sock = listening_socket(self.host, self._requested_port)
        server = _server(self.app, self.host, log_config=None)
        thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name="sample-api", daemon=True
        )
        thread.start()
        deadline = time.monotonic() + self._startup_timeout
        while not server.started:
            if not thread.is_alive():
                sock.close()
                raise RuntimeError("the sample API failed to start; see the uvicorn log")
            if time.monotonic() > deadline:
                server.should_exit = True
                thread.join(timeout=5)
                sock.close()
                raise TimeoutError(f"the sample API did not start within {self._startup_timeout} s")
            time.sleep(0.005)
        self._server, self._thread, self._socket = server, thread, sock
        self._port = sock.getsockname()[1]
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop serving (in-flight requests get about a second to finish). Idempotent."""
        server, thread, sock = self._server, self._thread, self._socket
        if server is None or thread is None or sock is None:
            return
        server.should_exit = True
        thread.join(timeout)
        if thread.is_alive():
            server.force_exit = True
            thread.join(timeout)
        sock.close()  # uvicorn closes it too; this covers a server that would not stop
        self._server = self._thread = self._socket = None
        self._port = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def serve(
    *,
    records: int = DEFAULT_RECORDS,
    latency: float = 0.0,
    api_key: str | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
    on_listening: Callable[[str], None] | None = None,
) -> None:
    """Serve the sample API in the foreground until interrupted (Ctrl-C or SIGTERM).

    ``on_listening`` is called with the base URL once the socket listens, before serving starts
    (clients may connect from then on); by default the URL is printed on one line.

    Raises:
        OSError: the address cannot be listened on (port in use...).
        ValueError: ``records`` is negative.
    """
    app = create_app(records=records, latency=latency, api_key=api_key)
    sock = listening_socket(host, port)
    try:
        url = base_url(host, sock.getsockname()[1])
        if on_listening is None:
            print(url, flush=True)
        else:
            on_listening(url)
        server = _server(app, host, log_config=LOGGING_CONFIG)
        # uvicorn shuts down gracefully on Ctrl-C, then raises the signal it caught again.
        with contextlib.suppress(KeyboardInterrupt):
            server.run(sockets=[sock])
    finally:
        sock.close()


def main(argv: Sequence[str] | None = None) -> None:
    """Serve the sample API in the foreground; print its URL on one line, then serve until killed."""
    parser = argparse.ArgumentParser(
        prog="python -m mcp_paginate.sample",
        description="Serve mcp-paginate's sample REST API (every pagination style, fault injection).",
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port (default 0: a free one)")
    parser.add_argument("--records", type=int, default=DEFAULT_RECORDS, help="records served (default 237)")
    parser.add_argument("--latency", type=float, default=0.0, help="milliseconds added to each request")
    parser.add_argument("--api-key", default=None, help="require Authorization: Bearer <KEY>")
    args = parser.parse_args(argv)
    serve(
        records=args.records,
        latency=args.latency / 1000,
        api_key=args.api_key,
        host=args.host,
        port=args.port,
    )
