"""What ``mcp-paginate import`` prints: the TOML, and a summary of what was not imported.

Every translation choice is a comment above its source (``param 'subdomain' is Airbyte's
config['subdomain']``), every field left out a ``NOT TRANSLATED`` comment, and every stream
not imported a ``NOT IMPORTED`` comment with the reason, so the file itself says what it lacks.
"""

from __future__ import annotations

from mcp_paginate.importers.airbyte import ImportResult
from mcp_paginate.importers.toml_writer import toml_comment, toml_table

__all__ = ["render_toml", "summary_lines"]


def render_toml(result: ImportResult) -> str:
    """The sources of result as a TOML config file, with comments."""
    blocks = [
        toml_comment(
            f"Imported from the Airbyte manifest {result.manifest} by `mcp-paginate import airbyte`.\n"
            f"{len(result.sources)} stream(s) imported, {len(result.skipped)} not imported"
            + (" (listed at the end)." if result.skipped else ".")
        )
    ]
    for source in result.sources:
        notes = [f"Airbyte stream {source.stream!r}"]
        notes += [f"  {comment}" for comment in source.comments]
        notes += [f"  NOT TRANSLATED: {reason}" for reason in source.omitted]
        table = toml_table(["sources", source.name], source.table, subtables=("params", "pagination"))
        blocks.append(toml_comment("\n".join(notes)) + "\n" + table)
    if result.skipped:
        lines = [f"NOT IMPORTED: stream {stream.name!r}: {stream.reason}" for stream in result.skipped]
        blocks.append(toml_comment("\n".join(lines)))
    return "\n\n".join(blocks) + "\n"


def summary_lines(result: ImportResult) -> list[str]:
    """What was not imported, one line each, then a one-line count (for stderr)."""
    lines = [f"not imported: stream {stream.name!r}: {stream.reason}" for stream in result.skipped]
    for source in result.sources:
        lines += [f"not translated: stream {source.name!r}: {reason}" for reason in source.omitted]
    partial = sum(1 for source in result.sources if source.omitted)
    lines.append(
        f"{len(result.sources)} of {len(result.sources) + len(result.skipped)} stream(s) imported"
        f" ({partial} with fields not translated), {len(result.skipped)} not imported"
    )
    return lines
