"""An Alloy session's first request when the API refuses a body that carries both forms' fields.

With ``form = "auto"`` the first request carries the Pagination guide's fields (``actionId``,
``input``) beside the API reference's (``queryParameters``, ``requestBody``, …), and each form
reads its own. An Alloy that refuses the other form's fields as unknown answers that request
with a 400 (or 422): `single_form_first_page` then sends it once in each form alone, the API
reference's first (the form Alloy documents today), and keeps the first that is answered. The
session is stored with that form pinned, so its cursors send the same request again; a note
says what happened. When both are refused too, the error gives all three answers: the API's own
words on each say which part of the request it did not take.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from mcp_paginate.errors import UpstreamStatusError
from mcp_paginate.paginators import AlloyPagination

if TYPE_CHECKING:
    from mcp_paginate.engine import Engine, Outgoing, Page, Plan

__all__ = ["refused_both_forms", "single_form_first_page"]

REFUSALS = frozenset({400, 422})
"""Answers that may refuse the other form's fields (anything else is the error it says)."""

FORMS: tuple[Literal["reference", "guide"], ...] = ("reference", "guide")


def refused_both_forms(plan: Plan, outgoing: Outgoing, error: UpstreamStatusError) -> bool:
    """Whether ``error`` answers an Alloy first request that carried both forms' fields."""
    pagination = plan.pagination
    return (
        outgoing.number == 0
        and error.status in REFUSALS
        and isinstance(pagination, AlloyPagination)
        and pagination.form == "auto"
        and pagination.request_form(outgoing.state) == "both"
    )


async def single_form_first_page(
    engine: Engine, plan: Plan, outgoing: Outgoing, error: UpstreamStatusError
) -> Page:
    """The first page, asked for in one form at a time (see the module).

    Raises:
        UpstreamStatusError: neither form alone is answered either (with the three answers).
        PaginateError: any other failure of a single-form request.
    """
    original = plan.session
    pagination = original.pagination
    assert isinstance(pagination, AlloyPagination)
    refusals: list[str] = []
    try:
        for form in FORMS:
            plan.session = original.model_copy(
                update={"pagination": pagination.model_copy(update={"form": form})}
            )
            single = engine.prepare(plan, 0, outgoing.state, outgoing.records_so_far)
            single.log = outgoing.log
            try:
                response = await engine.send(plan, single)
            except UpstreamStatusError as exc:
                if exc.status not in REFUSALS:
                    raise
                refusals.append(f"the {form} form alone: {exc.said or exc.message}")
                continue
            page = engine.interpret(plan, single, response)
            page.detected = plan.session  # stored: the session's cursors send this form again
            page.found = page.found or {"mode": "alloy", "form": form}
            page.notes.insert(
                0,
                f"alloy: the first request, carrying both forms' fields, was refused (HTTP {error.status}); "
                f"the {form} form alone was answered, and this session keeps to it (pin it: "
                f"pagination = {{mode = 'alloy', form = '{form}'}})",
            )
            return page
    except BaseException:
        plan.session = original  # nothing was answered in a single form: the session is as it was
        raise
    plan.session = original
    raise UpstreamStatusError(
        f"{error.message}; asked again in each form alone, Alloy refused {'; and '.join(refusals)}",
        status=error.status,
        source=error.source,
        url=error.url,
    )
