"""What every peer shares: the dataset, the request counter, and loopback servers run in a thread.

A peer is a real web framework written by others, serving the same ``DATASET`` on 127.0.0.1. Each
counts the requests it answers, so a test can say how many a drain took.
"""

from __future__ import annotations

import socket
import textwrap
import threading
import time
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Protocol

__all__ = [
    "DATASET",
    "RECORDS",
    "ASGIServer",
    "CountingASGI",
    "CountingWSGI",
    "Peer",
    "RequestCounter",
    "Style",
    "WSGIServer",
    "wait_for_port",
]

RECORDS = 237
"""Records every peer serves: not a multiple of any page size the styles use."""

DATASET: list[dict[str, Any]] = [{"id": number, "name": f"item {number}"} for number in range(1, RECORDS + 1)]
"""The records every peer serves, in id order."""

START_TIMEOUT_SECONDS = 20.0


def wait_for_port(port: int, alive: Callable[[], bool], timeout: float = START_TIMEOUT_SECONDS) -> None:
    """Return once 127.0.0.1:port accepts a connection; raise if ``alive()`` turns false or time runs out."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            if not alive():
                raise RuntimeError(f"the peer on port {port} stopped before it listened") from None
            if time.monotonic() > deadline:
                raise RuntimeError(f"the peer on port {port} did not listen within {timeout}s") from None
            time.sleep(0.02)  # polling a server's readiness, not synchronising tests


class RequestCounter:
    """A thread-safe count of the requests a peer answered."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._count = 0

    def add(self) -> None:
        with self._lock:
            self._count += 1

    @property
    def count(self) -> int:
        with self._lock:
            return self._count


WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
Scope = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]], Awaitable[None]]


class CountingWSGI:
    """WSGI middleware: counts each request, then hands it to the framework's app."""

    def __init__(self, app: WSGIApp, counter: RequestCounter) -> None:
        self.app = app
        self.counter = counter

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        self.counter.add()
        return self.app(environ, start_response)


class CountingASGI:
    """ASGI middleware: counts each HTTP request, then hands it to the framework's app."""

    def __init__(self, app: ASGIApp, counter: RequestCounter) -> None:
        self.app = app
        self.counter = counter

    async def __call__(
        self, scope: Scope, receive: Callable[[], Awaitable[Any]], send: Callable[[Any], Awaitable[None]]
    ) -> None:
        if scope["type"] == "http":
            self.counter.add()
        await self.app(scope, receive, send)


class Peer(Protocol):
    """A running peer: where it listens, how many requests it answered, which ids it serves."""

    url: str

    @property
    def requests(self) -> int: ...

    @property
    def expected_ids(self) -> list[Any]: ...


class _ThreadedServer:
    """Shared lifecycle: start on a free port in a thread, wait until it listens, stop cleanly."""

    def __init__(self) -> None:
        self.counter = RequestCounter()
        self.port = 0
        self.url = ""
        self._thread: threading.Thread | None = None

    @property
    def requests(self) -> int:
        return self.counter.count

    @property
    def expected_ids(self) -> list[Any]:
        return [record["id"] for record in DATASET]

    def _serve(self) -> None:
        raise NotImplementedError

    def _shutdown(self) -> None:
        raise NotImplementedError

    def start(self) -> None:
        self._thread = threading.Thread(target=self._serve, name=type(self).__name__, daemon=True)
        self._thread.start()
        wait_for_port(self.port, self._thread.is_alive)
        self.url = f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        thread, self._thread = self._thread, None
        if thread is not None:
            self._shutdown()
            thread.join(timeout=10)

    def __enter__(self) -> _ThreadedServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


class WSGIServer(_ThreadedServer):
    """A WSGI app (Django, Flask) behind werkzeug's threaded server on a free loopback port."""

    def __init__(self, app: WSGIApp) -> None:
        from werkzeug.serving import WSGIRequestHandler, make_server

        class QuietHandler(WSGIRequestHandler):
            def log(self, type: str, message: str, *args: Any) -> None:
                """No access log: the counter says how many requests came."""

        super().__init__()
        counted = CountingWSGI(app, self.counter)
        self._server = make_server("127.0.0.1", 0, counted, threaded=True, request_handler=QuietHandler)
        self.port = self._server.server_port

    def _serve(self) -> None:
        self._server.serve_forever(poll_interval=0.05)

    def _shutdown(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class ASGIServer(_ThreadedServer):
    """An ASGI app (FastAPI) under uvicorn on a free loopback port."""

    def __init__(self, app: ASGIApp) -> None:
        import uvicorn

        super().__init__()
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.bind(("127.0.0.1", 0))
        self.port = int(self._socket.getsockname()[1])
        config = uvicorn.Config(CountingASGI(app, self.counter), log_level="warning", lifespan="off")
        self._server = uvicorn.Server(config)

    def _serve(self) -> None:
        self._server.run(sockets=[self._socket])

    def _shutdown(self) -> None:
        self._server.should_exit = True


@dataclass(frozen=True)
class Style:
    """One pagination style of one framework, as a user would meet it.

    ``configured`` is the TOML a user would write for the source (``[sources.peer]`` and its
    pagination; ``@BASE@`` stands for the peer's URL), or None; ``auto_path`` is the path of the
    bare URL given to an ad-hoc ``auto`` request, or None. A reason in ``configured_xfail`` /
    ``auto_xfail`` marks a case that fails today (issue 14).
    """

    framework: str
    name: str
    peer: str
    configured: str | None
    auto_path: str | None
    configured_xfail: str | None = None
    auto_xfail: str | None = None

    @property
    def id(self) -> str:
        return f"{self.framework}: {self.name}"

    def source_toml(self, base_url: str) -> str:
        """The source's TOML, with the peer's URL in it."""
        if self.configured is None:
            raise ValueError(f"{self.id} has no configured source")
        return textwrap.dedent(self.configured).strip().replace("@BASE@", base_url)
