"""Deterministic misbehaviour of the sample API: a `FaultPlan`, and the means to drop a connection.

A :class:`FaultPlan` is deterministic: authorised data requests are numbered 1, 2, 3... from
the moment the plan was installed (app start, ``SampleAPI.faults = ...``, ``POST``/``DELETE
/_faults``), and ``*_every=k`` fires on the requests whose number is a multiple of ``k``. So a
client that retries drains everything exactly. When several fire on the same request, the first
in this list wins (``slow`` adds to any of them):

``reset_every``
    The connection is closed without a response (the client sees a transport error such as
    ``RemoteProtocolError: Server disconnected without sending a response``).
``truncate_every``
    The headers promise the full ``Content-Length``, half of the JSON body is sent, then the
    connection is closed (the client sees ``RemoteProtocolError: peer closed connection without
    sending complete message body``).
``status_every`` (+ ``status_code`` = 503, ``retry_after``)
    Answers ``status_code`` with ``{"error": ...}``, and a ``Retry-After`` header (verbatim: "1"
    or an HTTP-date) when ``retry_after`` is set.
``bad_json_every``
    Answers 200 with ``text/html`` body ``<html>oops</html>``.
``huge_body_bytes``
    Every data request answers 200 with a streamed JSON body of exactly this many bytes
    (``{"data": "xxx..."}``, chunked, no ``Content-Length``).
``slow_every`` (+ ``slow_seconds`` = 1.0)
    Delays that request by ``slow_seconds`` before answering.
``loop``
    Cursor styles (token, header-cursor, link, next-url, odata, hal): the 3rd page (offset
    ``2 * size``) hands out the same next cursor/link as the 1st page, so pages go 1, 2, 3, 2...
``evil_next_url``
    The next link of the first page (``/link``, ``/next-url``, ``/odata``, ``/hal``) points to
    this origin instead (path and query kept), to check credentials are not sent elsewhere.
``empty_forever``
    Styles with a has-more flag or a next cursor/link keep claiming more past the end, with
    empty pages and an advancing offset/cursor (never a repeated one).
``growing_total``
    ``/offset`` reports ``total = N + request_number * limit``; the data stays N records.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Mapping
from typing import Literal

import anyio
import pydantic
from starlette.responses import HTMLResponse, JSONResponse, StreamingResponse
from starlette.types import ASGIApp, Message, Receive, Send

__all__ = [
    "ConnectionDropped",
    "FaultKind",
    "FaultPlan",
    "drop_connection",
    "fault_response",
    "half_body_sender",
]

FaultKind = Literal["reset", "truncate", "status", "bad_json"]


@dataclasses.dataclass
class FaultPlan:
    """Deterministic misbehaviour of the sample API; all off by default. See the module docstring.

    ``*_every=k`` fires on every k-th authorised data request (numbered from 1 since the plan
    was installed). Fields may be changed while the server runs.
    """

    status_every: int | None = None
    status_code: int = 503
    retry_after: str | None = None
    reset_every: int | None = None
    truncate_every: int | None = None
    bad_json_every: int | None = None
    slow_every: int | None = None
    slow_seconds: float = 1.0
    loop: bool = False
    evil_next_url: str | None = None
    empty_forever: bool = False
    growing_total: bool = False
    huge_body_bytes: int | None = None

    @classmethod
    def from_json(cls, data: object) -> FaultPlan:
        """Build a plan from a JSON object, rejecting unknown fields and wrong types.

        Raises:
            ValueError: with a message fit for a 400 answer.
        """
        if not isinstance(data, Mapping):
            raise ValueError("the fault plan must be a JSON object")
        known = {field.name for field in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown fault fields: {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        try:
            return pydantic.TypeAdapter(cls).validate_python(dict(data))
        except pydantic.ValidationError as exc:
            raise ValueError(f"invalid fault plan: {exc}") from None

    def fault_for(self, request_number: int) -> FaultKind | None:
        """The response-replacing fault for this request number, if any."""
        candidates: tuple[tuple[FaultKind, int | None], ...] = (
            ("reset", self.reset_every),
            ("truncate", self.truncate_every),
            ("status", self.status_every),
            ("bad_json", self.bad_json_every),
        )
        for kind, every in candidates:
            if fires(every, request_number):
                return kind
        return None

    def is_slow(self, request_number: int) -> bool:
        """Whether this request is delayed by ``slow_seconds``."""
        return fires(self.slow_every, request_number)


def fires(every: int | None, request_number: int) -> bool:
    return every is not None and every > 0 and request_number % every == 0


class ConnectionDropped(RuntimeError):
    """Raised to make a non-uvicorn ASGI server close the connection (fault injection)."""


async def drop_connection(receive: Receive, send: Send, *, flush: bool) -> None:
    """Close the client's connection: flushing what was written (``flush``) or not at all.

    ASGI cannot close a connection without answering, so this reaches the uvicorn transport
    behind ``send``. Under another server it raises, which makes the server close the connection
    if a response was started (or answer 500 otherwise; with httpx's ASGITransport the client
    sees the exception).
    """
    transport = getattr(getattr(send, "__self__", None), "transport", None)
    close: object = getattr(transport, "close" if flush else "abort", None)
    if not callable(close):
        raise ConnectionDropped("fault injection: connection dropped")
    close()
    # Wait until the server has noticed, so it neither answers 500 nor logs an error.
    with anyio.move_on_after(1.0):
        while (await receive())["type"] != "http.disconnect":
            pass


async def _padded_json(size: int) -> AsyncIterator[bytes]:
    """A JSON document of exactly ``size`` bytes, produced in chunks."""
    head, tail = b'{"data": "', b'"}'
    if size < len(head) + len(tail):
        yield b" " * size
        return
    yield head
    remaining = size - len(head) - len(tail)
    chunk = b"x" * 65_536
    while remaining > 0:
        yield chunk[: min(remaining, len(chunk))]
        remaining -= len(chunk)
    yield tail


def half_body_sender(send: Send) -> Send:
    """A ``send`` that passes the headers, then only the first half of the first body part."""
    body_sent = False

    async def send_half(message: Message) -> None:
        nonlocal body_sent
        if body_sent:
            return
        if message["type"] == "http.response.body":
            body = message.get("body", b"")
            body_sent = True
            message = {"type": "http.response.body", "body": body[: len(body) // 2], "more_body": True}
        await send(message)

    return send_half


def fault_response(plan: FaultPlan, fault: FaultKind | None) -> ASGIApp | None:
    """A response standing in for the real one, if the plan calls for it."""
    if fault == "status":
        headers = {"Retry-After": plan.retry_after} if plan.retry_after else {}
        error = {"error": f"injected fault: HTTP {plan.status_code}"}
        return JSONResponse(error, status_code=plan.status_code, headers=headers)
    if fault == "bad_json":
        return HTMLResponse("<html>oops</html>")
    if plan.huge_body_bytes is not None:
        return StreamingResponse(_padded_json(plan.huge_body_bytes), media_type="application/json")
    return None
