"""Peers written in JavaScript: a node script in ``tests/peers/node/`` as a subprocess.

The packages are pinned by ``tests/peers/node/package-lock.json`` and installed by
``npm ci --prefix tests/peers/node``. Without node or the packages the tests that need them are
skipped locally, but fail when ``$CI`` is set (``.ci/run`` installs them), as the Redis tests do.

Every script takes the dataset's JSON file (``{"items": [...]}``) as its last argument, prints
``{"port": N}`` on its first line once it listens on 127.0.0.1, and answers ``GET /__requests`` with
``{"requests": N}`` (not counted).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx2

from tests.peers.base import DATASET, START_TIMEOUT_SECONDS, wait_for_port
from tests.support import stop_process

__all__ = ["NODE_DIR", "NodePeer", "node_missing"]

NODE_DIR = Path(__file__).parent / "node"


def node_missing(packages: Sequence[str]) -> str | None:
    """Why these npm packages cannot run here (no node, not installed), or None."""
    if shutil.which("node") is None:
        return "node is not installed"
    for package in packages:
        if not (NODE_DIR / "node_modules" / package / "package.json").is_file():
            return f"{package} is not installed (npm ci --prefix tests/peers/node)"
    return None


class NodePeer:
    """``node SCRIPT ARGS… db.json`` on a port the system chose, told on its first line of output.

    Example::

        with NodePeer("FeathersJS", ["feathers.mjs"]) as peer:
            httpx2.get(peer.url + "/items?$limit=25")
    """

    def __init__(self, name: str, command: Sequence[str]) -> None:
        self.name = name
        self.command = list(command)
        self.url = ""
        self._dir: tempfile.TemporaryDirectory[str] | None = None
        self._process: subprocess.Popen[str] | None = None
        self._log = Path()

    @property
    def requests(self) -> int:
        """Requests answered so far (the counter's own endpoint is not counted)."""
        return int(httpx2.get(self.url + "/__requests", timeout=10).json()["requests"])

    @property
    def expected_ids(self) -> list[Any]:
        return [record["id"] for record in DATASET]

    def start(self) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="mcp-paginate-node-peer-")
        database = Path(self._dir.name) / "db.json"
        database.write_text(json.dumps({"items": DATASET}), encoding="utf-8")
        self._log = Path(self._dir.name) / "stderr.log"
        script, *arguments = self.command
        with self._log.open("wb") as log:  # a file, not a pipe nobody reads: it can never fill up
            self._process = subprocess.Popen(
                ["node", str(NODE_DIR / script), *arguments, str(database)],
                cwd=self._dir.name,  # json-server 1.x serves ./public if there is one: there is none here
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
            )
        port = self._read_port()
        wait_for_port(port, lambda: self._process is not None and self._process.poll() is None)
        self.url = f"http://127.0.0.1:{port}"

    def _read_port(self) -> int:
        """The port from the first line of output, read in a thread so a silent child cannot hang us."""
        process = self._process
        assert process is not None and process.stdout is not None
        lines: list[str] = []
        reader = threading.Thread(target=lambda: lines.append(process.stdout.readline()), daemon=True)  # type: ignore[union-attr]
        reader.start()
        reader.join(START_TIMEOUT_SECONDS)
        if not lines or not lines[0].strip():
            process.kill()
            process.wait(timeout=10)
            errors = self._log.read_text(errors="replace")[-2000:]
            self.stop()
            raise RuntimeError(f"{self.name} did not start:\n{errors}")
        return int(json.loads(lines[0])["port"])

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None:
            stop_process(process)
            if process.stdout is not None:
                process.stdout.close()
        if self._dir is not None:
            self._dir.cleanup()
            self._dir = None

    def __enter__(self) -> NodePeer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
