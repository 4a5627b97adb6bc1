"""Prompts: workflows a user picks in the host (so they cost no tool context until picked).

Each is a plain function of its arguments returning the text of the user message the host
inserts; `mcp_paginate.server` registers them and completes their ``source`` argument from the
configured sources. Prompt arguments are strings, so structured ones (params, fields) are JSON
text or a comma-separated list.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

__all__ = ["PROMPTS", "SOURCE_ARGUMENT", "answer_from_results", "browse_source", "export_source"]

SOURCE_ARGUMENT = "source"
"""The argument every prompt that reads a source takes, completed with the source names."""

Source = Annotated[str, Field(description="A source from list_sources.")]
Params = Annotated[str, Field(description='The source\'s params as JSON, e.g. {"connector": "hubspot"}.')]
Fields = Annotated[str, Field(description="Fields to keep, comma-separated (e.g. id, name, owner.email).")]


def browse_source(source: Source, params: Params = "", fields: Fields = "") -> str:
    """Page through a source one page at a time, asking before each next page."""
    return (
        f"Browse the {source!r} source of the mcp-paginate server one page at a time.\n"
        f"1. Call list_sources and check which params {source!r} needs; ask me for any required one "
        "that is missing below.\n"
        f"2. Call list_page with source={source!r}{_arguments(params, fields)}.\n"
        "3. Show the page's records as a compact table, with the page number and how many records "
        "were seen so far (and the total, when the result gives one).\n"
        "4. If has_more is true, ask me whether to go on; when I say yes, call list_page with only "
        "cursor=<next_cursor> from the last result. Calling again with the same cursor re-reads a "
        "page, so a failed call can simply be retried.\n"
        "Stop when next_cursor is null, and say why paging ended."
    )


def export_source(source: Source, params: Params = "", fields: Fields = "") -> str:
    """Fetch every record of a source and say where the whole set is kept."""
    return (
        f"Export every record of the {source!r} source of the mcp-paginate server.\n"
        f"1. Call list_sources and check which params {source!r} needs; ask me for any required one "
        "that is missing below.\n"
        f"2. Call fetch_all with source={source!r}{_arguments(params, fields)}.\n"
        "3. If the result is not complete and has a next_cursor (it stopped at a deadline, a limit "
        "or an error), call fetch_all again with only cursor=<next_cursor>, until complete is true "
        "or it stops with no next_cursor.\n"
        "4. Report the number of records, whether the export is complete (and stop_reason if not), "
        "and results_uri, where every record is kept; show the first few records as a sample. Do "
        "not repeat all the records in the conversation."
    )


def answer_from_results(
    results_uri: Annotated[str, Field(description="results_uri of a fetch_all result.")],
    question: Annotated[str, Field(description="What to find out from the stored records.")],
) -> str:
    """Answer a question from the records a fetch_all stored, reading only what it needs."""
    return (
        f"Answer this question from the records stored at {results_uri}: {question}\n"
        "Read only what the answer needs. With the read_results tool, "
        f"pass results_uri={results_uri!r} and a JMESPath query that filters, projects or counts "
        "(e.g. \"[?status=='open'].id\", 'length(@)', \"max_by(@, &amount)\"), paging with "
        "offset and limit; otherwise read the MCP resource "
        f"{results_uri} (or {results_uri}/0, /1, … one stored page at a time). "
        "Say how many records the answer is based on, and whether the stored result is complete."
    )


PROMPTS = (browse_source, export_source, answer_from_results)
"""Every prompt, in the order hosts list them."""


def _arguments(params: str, fields: str) -> str:
    """The extra arguments a prompt asks the assistant to pass, as text: params as given (JSON
    text), fields as a list."""
    text = ""
    if params.strip():
        text += f", params={params.strip()}"
    names = [name.strip() for name in fields.split(",") if name.strip()]
    if names:
        text += f", fields={names!r}"
    return text
