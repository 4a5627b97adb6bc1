"""How much of the Airbyte corpus `mcp-paginate import airbyte` imports, by pagination strategy.

    python tools/airbyte_coverage.py [PATH_TO_CORPUS]     # default $AIRBYTE_CORPUS, else
                                                          # /work/shared/corpus/airbyte

The corpus (``airbyte_paginators.jsonl`` + ``airbyte_coverage.jsonl``, one line per stream)
holds every stream's resolved paginator, requester and record selector, and a verdict on whether
our config can express its paginator (``as_is`` / ``mechanical`` / ``not_expressible``). For
each connector this tool rebuilds a manifest from its rows, imports it through the same code as
the command (`import_manifest`), writes the TOML, loads it with the product's config loader, and
checks each expressible stream: imported, accepted by the loader, the same mode as the
manifest's strategy and the page token in the same place (query/header/body name, or the URL).
It prints the table by strategy and the reasons for every failure. Exit status 0.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from mcp_paginate.config import load_config
from mcp_paginate.errors import ConfigError
from mcp_paginate.importers import ImportResult, import_manifest, render_toml

DEFAULT_CORPUS = "/work/shared/corpus/airbyte"
MODES = {"OffsetIncrement": "offset", "PageIncrement": "page", "CursorPagination": "cursor"}
TOKEN_FIELDS = {"offset": "offset_param", "page": "page_param", "cursor": "cursor_param"}
PLACES = {"request_parameter": "query", "header": "header", "body_json": "body", "body_data": "form"}
AUTH_TOKEN = "{{ config['api_key'] }}"


def read_rows(corpus: Path) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(paginator row, coverage row) pairs, in corpus order."""
    with (
        (corpus / "airbyte_paginators.jsonl").open() as rows,
        (corpus / "airbyte_coverage.jsonl").open() as cov,
    ):
        return [(json.loads(a), json.loads(b)) for a, b in zip(rows, cov, strict=True)]


def strategy_of(row: Mapping[str, Any]) -> str:
    paginator = row.get("paginator") or {"type": "NoPagination"}
    if paginator.get("type") != "DefaultPaginator":
        return str(paginator.get("type"))
    return str((paginator.get("pagination_strategy") or {}).get("type"))


# -- rebuilding a manifest from rows -------------------------------------------------------------


def authenticator(summary: Any) -> dict[str, Any] | None:
    if not isinstance(summary, dict) or not summary.get("type"):
        return None
    kind = summary["type"]
    if kind == "BearerAuthenticator":
        return {"type": kind, "api_token": AUTH_TOKEN}
    if kind == "ApiKeyAuthenticator":
        built: dict[str, Any] = {"type": kind, "api_token": AUTH_TOKEN}
        if summary.get("inject_into"):
            built["inject_into"] = {
                "type": "RequestOption",
                "inject_into": summary["inject_into"],
                "field_name": summary.get("header") or "api_key",
            }
        elif summary.get("header"):
            built["header"] = summary["header"]
        return built
    if kind == "BasicHttpAuthenticator":
        return {"type": kind, "username": "{{ config['username'] }}", "password": "{{ config['password'] }}"}
    if kind == "SelectiveAuthenticator":
        members = {
            name: authenticator({"type": member})
            for name, member in (summary.get("authenticators") or {}).items()
        }
        return {
            "type": kind,
            "authenticator_selection_path": ["credentials", "auth_type"],
            "authenticators": members,
        }
    return {key: value for key, value in summary.items() if value is not None}


def stream_of(row: Mapping[str, Any]) -> dict[str, Any]:
    """A DeclarativeStream rebuilt from a corpus row."""
    requester: dict[str, Any] = {"type": row.get("requester_type") or "HttpRequester"}
    for key in ("url_base", "path", "url", "http_method", "request_parameters", "request_headers"):
        if row.get(key) is not None:
            requester[key] = row[key]
    requester.update(row.get("request_body") or {})
    auth = authenticator(row.get("authenticator"))
    if auth is not None:
        requester["authenticator"] = auth
    if row.get("extractor_type") == "DpathExtractor":
        extractor: dict[str, Any] = {
            "type": "DpathExtractor",
            "field_path": row.get("record_field_path") or [],
        }
    else:
        extractor = {"type": row.get("extractor_type") or "CustomRecordExtractor", "class_name": "custom"}
    selector: dict[str, Any] = {"type": "RecordSelector", "extractor": extractor}
    if row.get("record_filter"):
        selector["record_filter"] = {"type": "RecordFilter", "condition": str(row["record_filter"])}
    kind = row.get("retriever_type") or "SimpleRetriever"
    retriever: dict[str, Any] = {"type": kind, "record_selector": selector}
    paginator = row.get("paginator")
    if kind == "AsyncRetriever":
        retriever["creation_requester"] = requester
        if paginator:
            retriever["download_paginator"] = paginator
    else:
        retriever["requester"] = requester
        if paginator:
            retriever["paginator"] = paginator
    if row.get("decoder") and row["decoder"] != "JsonDecoder":
        retriever["decoder"] = {"type": row["decoder"]}
    if row.get("partition_router"):
        retriever["partition_router"] = [{"type": kind_of} for kind_of in row["partition_router"]]
    stream: dict[str, Any] = {"type": "DeclarativeStream", "name": row["stream"], "retriever": retriever}
    if row.get("incremental_sync"):
        stream["incremental_sync"] = {"type": row["incremental_sync"]}
    return stream


def manifest_of(rows: Iterable[Mapping[str, Any]]) -> str:
    streams = [stream_of(row) for row in rows]
    return yaml.safe_dump(
        {"version": "6.44.0", "type": "DeclarativeSource", "streams": streams}, sort_keys=False
    )


# -- checking ------------------------------------------------------------------------------------


def expected_placement(row: Mapping[str, Any]) -> tuple[str, str | None] | None:
    """Where the manifest puts the page token: (in, name), or None for no token."""
    option = (row.get("paginator") or {}).get("page_token_option")
    if isinstance(option, dict):
        if option.get("type") == "RequestPath":
            return ("url", None)
        path = option.get("field_path")
        name = ".".join(map(str, path)) if isinstance(path, list) and path else option.get("field_name")
        place = str(option.get("inject_into"))
        return (PLACES.get(place, place), name)
    for key, place in (("request_parameters", "query"), ("request_headers", "header")):
        for name, value in (row.get(key) or {}).items():
            if isinstance(value, str) and "next_page_token" in value:
                return (place, name)
    body = (row.get("request_body") or {}).get("request_body_json")
    found = _body_token_path(body, "")
    return ("body", found) if found else None


def _body_token_path(value: Any, path: str) -> str | None:
    if isinstance(value, dict):
        for key, item in value.items():
            found = _body_token_path(item, f"{path}.{key}" if path else str(key))
            if found:
                return found
    elif isinstance(value, str) and "next_page_token" in value:
        return path
    return None


def check_connector(
    rows: list[tuple[dict[str, Any], dict[str, Any]]], workdir: Path
) -> list[tuple[dict[str, Any], dict[str, Any], str | None]]:
    """(row, coverage, failure reason or None) for each row of one connector."""
    connector = rows[0][0]["connector"]
    try:
        result = import_manifest(manifest_of(r for r, _ in rows), prefix=connector.upper(), where=connector)
    except Exception as exc:  # a failure of the importer itself: counted, with its text
        return [(row, cov, f"importer failed: {type(exc).__name__}: {exc}") for row, cov in rows]
    loaded = _load_each(result, workdir)
    skipped = {stream.name: stream.reason for stream in result.skipped}
    tables = {source.name: source.table for source in result.sources}
    omitted = {source.name: source.omitted for source in result.sources}
    outcomes: list[tuple[dict[str, Any], dict[str, Any], str | None]] = []
    for (row, cov), name in zip(rows, result.order, strict=True):
        if name in skipped:
            outcomes.append((row, cov, f"not imported: {skipped[name]}"))
        elif isinstance(loaded[name], str):
            outcomes.append((row, cov, f"config rejected: {loaded[name]}"))
        else:
            cov = {**cov, "omitted": omitted[name]}  # what the import says it left out
            outcomes.append((row, cov, _mismatch(row, loaded[name], tables[name])))
    return outcomes


def _load_each(result: ImportResult, workdir: Path) -> dict[str, Any]:
    """Each imported source as the config loader reads it, or the loader's error text."""
    path = workdir / "config.toml"
    path.write_text(render_toml(result))
    try:
        config = load_config(path, environ={})
        return {source.name: config.sources[source.name] for source in result.sources}
    except ConfigError:
        pass
    loaded: dict[str, Any] = {}
    for source in result.sources:
        single = ImportResult(result.manifest, [source], [], [source.name])
        path.write_text(render_toml(single))
        try:
            loaded[source.name] = load_config(path, environ={}).sources[source.name]
        except ConfigError as exc:
            loaded[source.name] = str(exc).splitlines()[-1].strip()
    return loaded


def _mismatch(row: Mapping[str, Any], source: Any, table: Mapping[str, Any]) -> str | None:
    strategy = strategy_of(row)
    expected_mode = MODES.get(strategy, "none")
    mode = source.pagination.mode
    if mode != expected_mode:
        return f"mode {mode} instead of {expected_mode}"
    if mode == "none":
        return None
    expected = expected_placement(row)
    option = getattr(source.pagination, TOKEN_FIELDS[mode])
    got = (option.in_, option.name if option.in_ != "url" else None)
    nested = (
        expected is not None
        and got[0] == expected[0] == "body"
        and str(got[1]).startswith(f"{expected[1]}.")
        and "next" in table.get("pagination", {})
    )
    if expected != got and not nested:
        # nested: Airbyte's cursor is a one-key object {key: value} put at the expected name;
        # the import puts the value at name.key, which is the same JSON body.
        return f"page token placed at {got} instead of {expected}"
    return None


# -- report --------------------------------------------------------------------------------------


def run(corpus: Path) -> list[tuple[dict[str, Any], dict[str, Any], str | None]]:
    by_connector: dict[str, list[tuple[dict[str, Any], dict[str, Any]]]] = defaultdict(list)
    for row, cov in read_rows(corpus):
        by_connector[row["connector"]].append((row, cov))
    outcomes = []
    with tempfile.TemporaryDirectory() as scratch:
        for rows in by_connector.values():
            outcomes.extend(check_connector(rows, Path(scratch)))
    return outcomes


def report(outcomes: list[tuple[dict[str, Any], dict[str, Any], str | None]], out: Any = sys.stdout) -> None:
    expressible = [(r, c, f) for r, c, f in outcomes if c.get("paginator_level") in ("as_is", "mechanical")]
    table: dict[str, Counter[str]] = defaultdict(Counter)
    for row, _cov, failure in expressible:
        strategy = strategy_of(row)
        table[strategy]["expressible"] += 1
        table[strategy]["ok" if failure is None else "failed"] += 1
    print(f"{'strategy':<26}{'expressible':>12}{'imported':>10}{'%':>8}", file=out)
    paginated = Counter[str]()
    for strategy in sorted(table, key=lambda s: -table[s]["expressible"]):
        counts = table[strategy]
        share = 100 * counts["ok"] / counts["expressible"]
        print(f"{strategy:<26}{counts['expressible']:>12}{counts['ok']:>10}{share:>7.1f}%", file=out)
        if strategy in MODES:
            paginated.update(counts)
    total = Counter[str]()
    for counts in table.values():
        total.update(counts)
    for label, counts in (("paginated (3 strategies)", paginated), ("all expressible", total)):
        if counts["expressible"]:
            share = 100 * counts["ok"] / counts["expressible"]
            print(f"{label:<26}{counts['expressible']:>12}{counts['ok']:>10}{share:>7.1f}%", file=out)
    reasons = Counter(failure for _r, _c, failure in expressible if failure is not None)
    if reasons:
        print("\nwhy expressible streams failed:", file=out)
        for reason, count in reasons.most_common(25):
            print(f"  {count:>5}  {reason}", file=out)
    partial = sum(1 for _r, _c, failure in expressible if failure is None)
    left_out = Counter(
        re.split(r"[:(']", reason, maxsplit=1)[0].strip()
        for _r, cov, failure in expressible
        if failure is None
        for reason in cov.get("omitted", [])
    )
    with_notes = sum(1 for _r, cov, failure in expressible if failure is None and cov.get("omitted"))
    print(f"\nimported with parts not translated: {with_notes} of {partial}; what was left out:", file=out)
    for reason, count in left_out.most_common(12):
        print(f"  {count:>5}  {reason}", file=out)
    not_expressible = [(r, f) for r, c, f in outcomes if c.get("paginator_level") == "not_expressible"]
    imported_anyway = sum(1 for _r, failure in not_expressible if failure is None)
    print(
        f"\nstreams: {len(outcomes)}; expressible: {len(expressible)} ({partial} imported); "
        f"marked not expressible: {len(not_expressible)} ({imported_anyway} imported anyway)",
        file=out,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("corpus", nargs="?", default=os.environ.get("AIRBYTE_CORPUS", DEFAULT_CORPUS))
    args = parser.parse_args(argv)
    corpus = Path(args.corpus)
    if not (corpus / "airbyte_paginators.jsonl").is_file():
        print(f"airbyte_coverage: no airbyte_paginators.jsonl in {corpus}", file=sys.stderr)
        return 2
    report(run(corpus))
    return 0


if __name__ == "__main__":
    sys.exit(main())
