"""The ``mcp-paginate`` command: serve, demo, fetch, sources, sample-api, import.

Errors a user can fix are printed as one clear line on stderr with exit status 2
(never a traceback); secrets are redacted from everything printed.
"""

from __future__ import annotations

import argparse
import gc
import ipaddress
import json
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

import anyio

from mcp_paginate.config import AppConfig, default_config_path, load_config
from mcp_paginate.errors import InputError, PaginateError
from mcp_paginate.store import default_store_url
from mcp_paginate.terminal import Invocation, cli_message

__all__ = ["main"]


def _load(args: argparse.Namespace) -> AppConfig:
    path = Path(args.config).expanduser() if args.config else default_config_path()
    return load_config(path)


def _store_url(args: argparse.Namespace) -> str:
    return str(getattr(args, "store", None) or default_store_url())


def cmd_serve(args: argparse.Namespace) -> int:
    from mcp_paginate.server import create_server

    _plain_logging()
    config = _load(args)
    server = create_server(config, _store_url(args))
    _settle_heap()
    if args.transport == "stdio":
        from mcp_paginate.stdio import run_stdio

        run_stdio(server)
        return 0
    from mcp_paginate.http_app import auth_tokens, run_http

    if not auth_tokens(config):
        if not _is_loopback(args.host):
            raise InputError(
                f"serving over HTTP on {args.host} needs a bearer token, or anyone who reaches the port "
                "can call the tools with this server's API keys: set MCP_PAGINATE_AUTH_TOKEN (or "
                "server.auth_token in the config)"
            )
        print(
            "mcp-paginate: warning: no bearer token set; any process on this machine can call the tools "
            f"at http://{args.host}:{args.port}/mcp (set MCP_PAGINATE_AUTH_TOKEN to require one)",
            file=sys.stderr,
        )
    run_http(server, config, store_url=_store_url(args), host=args.host, port=args.port)
    return 0


class _OneLine(logging.Formatter):
    """``time level logger: message``, a traceback folded onto the same line."""

    def format(self, record: logging.LogRecord) -> str:
        return super().format(record).replace("\n", " | ")


def _plain_logging() -> None:
    """One plain line per event on stderr, which a host's MCP log file keeps searchable. Set
    before the server is built: the SDK's own setup (boxed rich output) then leaves it alone."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_OneLine("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=logging.INFO, handlers=[handler])


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a name: it may resolve to anything


def cmd_sources(args: argparse.Namespace) -> int:
    from rich.table import Table

    from mcp_paginate.terminal import alloy_hint, cli_console, no_config_steps

    config = _load(args)
    console = cli_console()
    where = config.path or "built-in defaults (no config file)"
    console.print(f"config: {where}", markup=False)
    table = Table("source", "mode", "max page size", "params", "description")
    problems = []
    for name, source in sorted(config.sources.items()):
        params = ", ".join(
            f"{key}{'' if spec.required and spec.default is None else '?'}"
            for key, spec in source.params.items()
        )
        table.add_row(
            name, source.pagination.mode, str(source.max_page_size or "-"), params, source.description
        )
        missing = sorted(v for v in source.env_references() if not os.environ.get(v))
        if missing:
            problems.append(
                f"source {name!r} needs environment variables that are not set: {', '.join(missing)}"
            )
    if config.sources:
        console.print(table)
    else:
        console.print("no sources configured")
    hosts = ", ".join(config.server.allowed_hosts) or "none (ad-hoc requests disabled)"
    console.print(f"ad-hoc requests may reach: {hosts}", markup=False)
    if args.check:
        from mcp_paginate.checks import check_sources

        ok = anyio.run(check_sources, config, console)
        if not ok:
            return 1
    for problem in problems:
        console.print(f"[yellow]warning:[/] {problem}")
    alloy = alloy_hint(os.environ)
    if alloy and ("alloy" not in config.sources or os.environ.get("ALLOY_API_KEY")):
        console.print(f"note: {alloy}", markup=False, highlight=False)
    if config.path is None:
        for line in no_config_steps():
            console.print(line, markup=False, highlight=False)
    return 0


def cmd_fetch(args: argparse.Namespace) -> int:
    from mcp_paginate.fetch_cli import run_fetch

    config = _load(args)
    params = _parse_params(args.param or [])
    _settle_heap()
    return run_fetch(
        config,
        source=args.source,
        params=params,
        out=args.out,
        max_records=args.max_records,
        fields=_parse_fields(args.fields),
        cursor=args.cursor,
        store_url=_store_url(args),
    )


def _settle_heap() -> None:
    """Take what start-up allocated (modules, schemas, the config) out of the garbage collector's
    sight: otherwise every full collection walks all of it again, up to ~60 ms in the middle of a
    drain (six 5,000-record fetch_alls in one server: 134 ms of collections without, 10 ms with)."""
    gc.collect()
    gc.freeze()


def cmd_demo(args: argparse.Namespace) -> int:
    from mcp_paginate.demo import run_demo

    return run_demo()


def cmd_sample_api(args: argparse.Namespace) -> int:
    """Serve the built-in sample API on 127.0.0.1 until Ctrl-C."""
    from mcp_paginate.sample import serve, style_endpoints

    if args.records < 0:
        raise InputError(f"--records must be 0 or more, got {args.records}")
    if args.latency < 0:
        raise InputError(f"--latency must be 0 or more milliseconds, got {args.latency:g}")
    if not 0 <= args.port <= 65535:
        raise InputError(f"--port must be between 0 and 65535, got {args.port}")

    def announce(url: str) -> None:
        lines = [f"sample API: {url}  ({args.records} records, {args.latency:g} ms latency)", "styles:"]
        for style, endpoints in style_endpoints().items():
            lines.append(f"  {style:<8} {', '.join(endpoints)}")
        lines.append("press Ctrl-C to stop")
        print("\n".join(lines), flush=True)

    try:
        serve(records=args.records, latency=args.latency / 1000, port=args.port, on_listening=announce)
    except OSError as exc:
        raise InputError(f"cannot listen on 127.0.0.1:{args.port}: {exc.strerror or exc}") from None
    print("sample API stopped", flush=True)
    return 0


def _add_sample_api(commands: Any) -> None:
    from mcp_paginate.sample import DEFAULT_RECORDS

    sample = commands.add_parser(
        "sample-api",
        help="serve the built-in sample API on 127.0.0.1 (every paging style), for trying things out",
    )
    sample.add_argument(
        "--records", type=int, default=DEFAULT_RECORDS, help=f"records served (default {DEFAULT_RECORDS})"
    )
    sample.add_argument(
        "--latency", type=float, default=0.0, help="milliseconds added to each request (default 0)"
    )
    sample.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default 0: a free one)")
    sample.set_defaults(handler=cmd_sample_api)


def cmd_import(args: argparse.Namespace) -> int:
    """``import airbyte MANIFEST.yaml``: TOML sources on stdout (or --out); what was not
    imported on stderr; 0 when everything was, 1 otherwise."""
    from mcp_paginate.importers import import_manifest, render_toml, summary_lines

    path = Path(args.manifest).expanduser()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"manifest {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read manifest {path}: {exc}") from None
    stem = path.parent.name if path.stem == "manifest" else path.stem
    prefix = stem.removeprefix("source-").replace("-", "_").upper() or "AIRBYTE"
    result = import_manifest(text, prefix=prefix, streams=args.stream, where=str(path))
    output = render_toml(result)
    if args.out:
        try:
            Path(args.out).expanduser().write_text(output, encoding="utf-8")
        except OSError as exc:
            raise InputError(f"cannot write {args.out}: {exc}") from None
    else:
        sys.stdout.write(output)
    for line in summary_lines(result):
        print(f"mcp-paginate import: {line}", file=sys.stderr)
    return 0 if result.complete else 1


def _parse_fields(text: str | None) -> list[str] | None:
    if text is None:
        return None
    fields = [name.strip() for name in text.split(",")]
    if not all(fields):
        raise InputError(
            f"--fields takes comma-separated dotted field names, e.g. id,name,owner.email; got {text!r}"
        )
    return fields


def _parse_params(pairs: Sequence[str]) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise PaginateError(f"-p takes name=value, got {pair!r}")
        try:
            params[name] = json.loads(value) if value[:1] in "{[" else value
        except ValueError:
            raise PaginateError(
                f"-p {name}: the value looks like JSON but does not parse: {value!r}"
            ) from None
    return params


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mcp-paginate",
        description="An MCP server that pages through REST APIs one page at a time, or drains them.",
    )
    from mcp_paginate import __version__

    parser.add_argument("--version", action="version", version=f"mcp-paginate {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    def with_config(sub: argparse.ArgumentParser) -> None:
        sub.add_argument(
            "--config",
            help="config file (default: $MCP_PAGINATE_CONFIG or ~/.config/mcp-paginate/config.toml)",
        )

    serve = commands.add_parser("serve", help="run the MCP server (stdio by default, as MCP hosts expect)")
    with_config(serve)
    serve.add_argument(
        "--store",
        help="memory://, sqlite:///PATH or redis://HOST:PORT/DB (default: $MCP_PAGINATE_STORE, else sqlite)",
    )
    serve.add_argument("--transport", choices=["stdio", "http"], default="stdio")
    serve.add_argument("--host", default="127.0.0.1", help="HTTP bind address (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="HTTP port (default 8000)")
    serve.set_defaults(handler=cmd_serve)

    demo = commands.add_parser("demo", help="run a self-contained demo against the built-in sample API")
    demo.set_defaults(handler=cmd_demo)

    fetch = commands.add_parser("fetch", help="drain a source from the terminal to JSON Lines")
    with_config(fetch)
    fetch.add_argument("source", help="a configured source name (see: mcp-paginate sources)")
    fetch.add_argument(
        "-p", "--param", action="append", metavar="NAME=VALUE", help="a source param (repeatable)"
    )
    fetch.add_argument("--out", help="write JSON Lines here (default: stdout)")
    fetch.add_argument("--max-records", type=int, help="stop after this many records")
    fetch.add_argument("--fields", help="comma-separated dotted fields to keep, e.g. id,name,owner.email")
    fetch.add_argument("--cursor", help="resume from a cursor printed by an interrupted fetch")
    fetch.add_argument("--store", help="store URL, to resume cursors across runs (default: the sqlite store)")
    fetch.set_defaults(handler=cmd_fetch)

    sources = commands.add_parser("sources", help="list configured sources and check the config")
    with_config(sources)
    sources.add_argument("--check", action="store_true", help="fetch one page of each source and report")
    sources.set_defaults(handler=cmd_sources)

    _add_sample_api(commands)
    importer = commands.add_parser("import", help="TOML sources from another tool's paging config")
    kinds = importer.add_subparsers(dest="kind", metavar="KIND", required=True)
    airbyte = kinds.add_parser("airbyte", help="from an Airbyte low-code manifest.yaml")
    airbyte.add_argument("manifest", metavar="MANIFEST.yaml", help="the connector's manifest.yaml")
    airbyte.add_argument(
        "--stream", action="append", metavar="NAME", help="import only this stream (repeatable)"
    )
    airbyte.add_argument("--out", metavar="FILE", help="write the TOML here (default: stdout)")
    airbyte.set_defaults(handler=cmd_import)
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    parser = build_parser()
    args = parser.parse_args(_cursor_values_attached(sys.argv[1:] if argv is None else argv))
    if args.command is None:
        parser.print_help()
        sys.exit(2)
    try:
        code = args.handler(args)
    except PaginateError as exc:
        config = getattr(args, "config", None)
        _error(cli_message(exc, Invocation(config_path=config, config_flag=config)))
        code = 2
    except KeyboardInterrupt:
        _error("interrupted")
        code = 130
    except BrokenPipeError:
        # The reader closed the pipe (``| head -2``, ``grep -m1``): stop quietly with success, as
        # they expect; stdout goes to devnull so that the flush at exit cannot fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        code = 0
    sys.exit(code)


def _cursor_values_attached(argv: Sequence[str]) -> list[str]:
    """``--cursor VALUE`` as ``--cursor=VALUE``: a cursor minted before ids avoided a leading
    ``-`` would otherwise read as an option ("expected one argument")."""
    out: list[str] = []
    values = iter(argv)
    for arg in values:
        if arg == "--cursor":
            value = next(values, None)
            out.append(arg if value is None else f"--cursor={value}")
        else:
            out.append(arg)
    return out


def _error(message: str, stream: TextIO | None = None) -> None:
    print(f"mcp-paginate: error: {message}", file=stream or sys.stderr)
