"""A real ``redis-server`` on a free loopback port, for the redis store tests.

If the binary is missing the tests are skipped locally, but fail when ``$CI`` is set:
in CI the Redis tests must run (``.ci/run`` installs Debian's ``redis-server``).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType

import pytest

from tests.support import stop_process

__all__ = ["RedisServer", "free_port", "redis_url", "require_redis_server"]

START_TIMEOUT_SECONDS = 10.0


def free_port() -> int:
    """A TCP port that was free on 127.0.0.1 a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def require_redis_server() -> str:
    """The path of ``redis-server``; skip the test if missing (fail instead under ``$CI``)."""
    binary = shutil.which("redis-server")
    if binary is None:
        message = "redis-server is not installed (apt-get install redis-server)"
        if os.environ.get("CI"):
            pytest.fail(f"{message}; Redis tests must not be skipped in CI", pytrace=False)
        pytest.skip(message)
    return binary


class RedisServer:
    """Start ``redis-server`` (no persistence, temp dir) on a free port; stop it on exit.

    Example::

        with RedisServer() as server:
            store = RedisStore(server.url)
    """

    def __init__(self, binary: str | None = None, port: int | None = None) -> None:
        self.binary = binary or require_redis_server()
        self.port = port or free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._dir: tempfile.TemporaryDirectory[str] | None = None
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="mcp-paginate-redis-")
        log = Path(self._dir.name) / "redis.log"
        self._process = subprocess.Popen(
            [
                self.binary,
                "--port", str(self.port),
                "--bind", "127.0.0.1",
                "--save", "",
                "--appendonly", "no",
                "--dir", self._dir.name,
                "--logfile", str(log),
                "--daemonize", "no",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while not self._answers_ping():
            if self._process.poll() is not None:
                text = log.read_text(errors="replace")[-2000:] if log.exists() else ""
                self.stop()
                raise RuntimeError(f"redis-server exited on start (port {self.port}):\n{text}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"redis-server did not answer PING within {START_TIMEOUT_SECONDS}s")
            time.sleep(0.02)  # polling a child process's readiness, not synchronising tests

    def _answers_ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as connection:
                connection.sendall(b"PING\r\n")
                return connection.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None:
            stop_process(process)
        if self._dir is not None:
            self._dir.cleanup()
            self._dir = None

    def __enter__(self) -> RedisServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """The URL of a real redis-server shared by the whole run (tests use fresh ids, not FLUSHALL)."""
    with RedisServer() as server:
        yield server.url
