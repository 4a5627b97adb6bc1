"""Build the Claude Desktop bundle: ``dist/mcp-paginate-<version>.mcpb``.

An MCP Bundle (https://github.com/modelcontextprotocol/mcpb, manifest 0.4) is a zip file with a
``manifest.json`` at its root. Ours has ``server.type = "uv"``: it carries the package's source and a
``pyproject.toml``, not its dependencies, and the host runs the server with ``uv run``, which installs
the dependencies (pydantic-core and other compiled wheels for the user's own platform) into a virtual
environment inside the unpacked bundle on the first start. So one small bundle serves macOS, Windows
and Linux; the first start needs the package index, later ones do not.

The manifest's ``tools`` and ``prompts`` are read from the server itself (created in-process and
asked over MCP), so they cannot drift from the code. The build is deterministic: the same sources
give the same bytes (fixed timestamps and order), so ``server.json`` can carry the file's SHA-256.

Usage (in the project's environment, after ``pip install -e .``)::

    python tools/build_bundle.py                 # dist/mcp-paginate-<version>.mcpb, server.json's hash
    python tools/build_bundle.py --out-dir /tmp  # elsewhere; server.json left alone
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import struct
import sys
import tomllib
import zipfile
import zlib
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import anyio

ROOT = Path(__file__).resolve().parents[1]
DIST = ROOT / "dist"
PACKAGE = "mcp_paginate"
MANIFEST_VERSION = "0.4"
MAX_BUNDLE_BYTES = 5 * 1024 * 1024
ZIP_TIMESTAMP = (1980, 1, 1, 0, 0, 0)
RELEASES = "https://github.com/mcp-paginate/mcp-paginate/releases/download"

USER_CONFIG: dict[str, dict[str, Any]] = {
    "alloy_api_key": {
        "type": "string",
        "title": "Alloy API key",
        "description": "Alloy Connectivity API key. When set, the built-in 'alloy' source is available. "
        "Leave empty to use only the sources of your config file.",
        "sensitive": True,
        "required": False,
        "default": "",
    },
    "alloy_user_id": {
        "type": "string",
        "title": "Alloy user id",
        "description": "Default Alloy user id, sent as the x-alloy-userid header (the user_id param).",
        "required": False,
        "default": "",
    },
    "alloy_credential_id": {
        "type": "string",
        "title": "Alloy credential id",
        "description": "Default Alloy credential id for the 'alloy' source (its credential_id param).",
        "required": False,
        "default": "",
    },
    "config_file": {
        "type": "file",
        "title": "Config file",
        "description": "A TOML config file with your own sources, allowed hosts and limits (see the README). "
        "Leave empty for ~/.config/mcp-paginate/config.toml if it exists, else none.",
        "required": False,
        "default": "",
    },
}
"""What the host asks at install. Every optional value has a default ("" = unset for the server), so
the host substitutes it: an unset value without a default would reach the server as the literal
``${user_config.…}`` (an Alloy key that is not one, a config file that does not exist)."""

ENVIRONMENT = {
    "ALLOY_API_KEY": "${user_config.alloy_api_key}",
    "ALLOY_USER_ID": "${user_config.alloy_user_id}",
    "ALLOY_CREDENTIAL_ID": "${user_config.alloy_credential_id}",
    "MCP_PAGINATE_CONFIG": "${user_config.config_file}",
}
"""The server's environment variables the host fills from ``user_config``."""


def project() -> dict[str, Any]:
    """The ``[project]`` table of pyproject.toml."""
    data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    table = data["project"]
    assert isinstance(table, dict)
    return table


def bundle_name(version: str) -> str:
    """The bundle's file name for a version."""
    return f"mcp-paginate-{version}.mcpb"


async def _inventory() -> tuple[list[dict[str, str]], list[dict[str, Any]]]:
    sys.path.insert(0, str(ROOT))  # inspect this checkout's server, not another installed copy
    from mcp import Client

    from mcp_paginate.config import AppConfig
    from mcp_paginate.server import create_server

    async with Client(create_server(AppConfig(), "memory://", environ={})) as client:
        tools = [
            {"name": tool.name, "description": _first_paragraph(tool.description or tool.title or "")}
            for tool in (await client.list_tools()).tools
        ]
        prompts = []
        for prompt in (await client.list_prompts()).prompts:
            names = [argument.name for argument in prompt.arguments or []]
            rendered = await client.get_prompt(
                prompt.name, {name: f"${{arguments.{name}}}" for name in names}
            )
            text = "\n\n".join(
                message.content.text for message in rendered.messages if message.content.type == "text"
            )
            entry: dict[str, Any] = {"name": prompt.name}
            if prompt.description:
                entry["description"] = _first_paragraph(prompt.description)
            if names:
                entry["arguments"] = names
            prompts.append({**entry, "text": text})
    return tools, prompts


def server_inventory() -> tuple[list[dict[str, str]], list[dict[str, Any]]]:
    """The tools (name, one-paragraph description) and prompts (name, description, arguments and
    text with ``${arguments.NAME}`` placeholders) the server offers, asked over MCP in-process."""
    return anyio.run(_inventory)


def _first_paragraph(text: str) -> str:
    return " ".join(text.strip().split("\n\n", 1)[0].split())


def build_manifest(
    meta: Mapping[str, Any], tools: list[dict[str, str]], prompts: list[dict[str, Any]]
) -> dict[str, Any]:
    """The manifest for the project metadata and the server's tools and prompts."""
    python = meta["requires-python"]
    manifest: dict[str, Any] = {
        "manifest_version": MANIFEST_VERSION,
        "name": meta["name"],
        "display_name": "mcp-paginate: page through REST APIs",
        "version": meta["version"],
        "description": "Page through REST APIs one page at a time, or drain them, with resumable cursors.",
        "long_description": meta["description"],
        "author": {"name": meta["authors"][0]["name"]},
        "repository": {"type": "git", "url": "https://github.com/mcp-paginate/mcp-paginate"},
        "homepage": "https://github.com/mcp-paginate/mcp-paginate",
        "documentation": "https://github.com/mcp-paginate/mcp-paginate#readme",
        "icon": "icon.png",
        "icons": [{"src": "icon.png", "size": "512x512"}],
        "server": {
            "type": "uv",
            "entry_point": f"{PACKAGE}/__main__.py",
            "mcp_config": {
                "command": "uv",
                "args": ["run", "--directory", "${__dirname}", "mcp-paginate", "serve"],
                "env": dict(ENVIRONMENT),
            },
        },
        "tools": tools,
        "tools_generated": False,
        "prompts": prompts,
        "prompts_generated": False,
        "keywords": list(meta.get("keywords", [])),
        "license": meta["license"],
        "compatibility": {"platforms": ["darwin", "win32", "linux"], "runtimes": {"python": python}},
        "user_config": USER_CONFIG,
    }
    return manifest


def bundle_pyproject(meta: Mapping[str, Any]) -> str:
    """The bundle's pyproject.toml: what ``uv run`` needs to install the package and its runtime
    dependencies, without the README, the test extra or the tool settings of the repository's."""
    lines = [
        "# Written by tools/build_bundle.py for the MCP Bundle; the project's own is in its repository.",
        "[build-system]",
        'requires = ["setuptools>=77", "wheel"]',
        'build-backend = "setuptools.build_meta"',
        "",
        "[project]",
    ]
    for key in ("name", "version", "description", "requires-python", "license"):
        lines.append(f"{key} = {json.dumps(meta[key])}")
    authors = ", ".join("{ name = " + json.dumps(author["name"]) + " }" for author in meta["authors"])
    lines.append(f"authors = [{authors}]")
    lines.append("dependencies = [")
    lines.extend(f"    {json.dumps(requirement)}," for requirement in meta["dependencies"])
    lines += ["]", "", "[project.scripts]"]
    lines.extend(f"{name} = {json.dumps(target)}" for name, target in meta["scripts"].items())
    lines += [
        "",
        "[tool.setuptools.packages.find]",
        f'include = ["{PACKAGE}*"]',
        "",
        "[tool.setuptools.package-data]",
        f'{PACKAGE} = ["py.typed"]',
        "",
    ]
    text = "\n".join(lines)
    written = tomllib.loads(text)["project"]
    assert written["dependencies"] == meta["dependencies"] and written["version"] == meta["version"]
    return text


def icon_png(size: int = 512) -> bytes:
    """A plain icon drawn here: three stacked pages on a blue rounded square, and a forward arrow."""
    background, page, edge, arrow = (37, 99, 235), (255, 255, 255), (191, 219, 254), (250, 204, 21)
    radius = size // 8

    def pixel(x: int, y: int) -> tuple[int, int, int, int]:
        cx = min(max(x, radius), size - 1 - radius)
        cy = min(max(y, radius), size - 1 - radius)
        if (x - cx) ** 2 + (y - cy) ** 2 > radius**2:
            return (0, 0, 0, 0)
        u, v = x * 16 // size, y * 16 // size  # a 16 x 16 grid
        for shift in (0, 1, 2):  # front to back: the first page that covers the pixel shows
            left, top = 2 + shift, 2 + shift
            if left <= u < left + 7 and top <= v < top + 9:
                inner = left < u < left + 6 and top < v < top + 8
                ruled = shift == 0 and inner and v % 2 == 0 and v > top + 1
                return (*(edge if not inner or ruled else page), 255)
        if 11 <= u <= 12 and 7 <= v <= 8 or u == 13 and 5 <= v <= 10 or u == 14 and 6 <= v <= 9:
            return (*arrow, 255)
        return (*background, 255)

    rows = b"".join(b"\x00" + bytes(c for x in range(size) for c in pixel(x, y)) for y in range(size))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)  # 8-bit RGBA
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows, 9))
        + chunk(b"IEND", b"")
    )


def package_files() -> Iterator[tuple[str, bytes]]:
    """The package's files as the wheel ships them: its modules and the typing marker."""
    base = ROOT / PACKAGE
    for path in sorted(base.rglob("*")):
        if (
            path.is_file()
            and (path.suffix == ".py" or path.name == "py.typed")
            and "__pycache__" not in path.parts
        ):
            yield path.relative_to(ROOT).as_posix(), path.read_bytes()


def bundle_contents(manifest: Mapping[str, Any], meta: Mapping[str, Any]) -> dict[str, bytes]:
    """Every file of the bundle, by its path inside it."""
    files = {
        "manifest.json": (json.dumps(manifest, indent=2, ensure_ascii=False) + "\n").encode(),
        "pyproject.toml": bundle_pyproject(meta).encode(),
        "LICENSE": (ROOT / "LICENSE").read_bytes(),
        "icon.png": icon_png(),
    }
    files.update(package_files())
    return files


def write_zip(files: Mapping[str, bytes], target: Path) -> None:
    """A zip with the same bytes for the same files: sorted, fixed timestamps and permissions."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, date_time=ZIP_TIMESTAMP)
            info.create_system = 3  # unix, so the permissions below are read
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, files[name], compresslevel=9)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(buffer.getvalue())


def build(out_dir: Path = DIST) -> Path:
    """Build the bundle into ``out_dir`` and return its path.

    Raises:
        SystemExit: the bundle is over the size limit.
    """
    meta = project()
    tools, prompts = server_inventory()
    manifest = build_manifest(meta, tools, prompts)
    target = out_dir / bundle_name(meta["version"])
    write_zip(bundle_contents(manifest, meta), target)
    size = target.stat().st_size
    if size > MAX_BUNDLE_BYTES:
        raise SystemExit(f"{target} is {size:,} bytes, over the {MAX_BUNDLE_BYTES:,}-byte limit")
    return target


def sha256(path: Path) -> str:
    """The file's SHA-256, hex."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def update_server_json(bundle: Path, version: str) -> bool:
    """Point server.json's mcpb package at this bundle (release URL, version, SHA-256); True if changed."""
    path = ROOT / "server.json"
    text = path.read_text(encoding="utf-8")
    data = json.loads(text)
    for package in data["packages"]:
        if package["registryType"] == "mcpb":
            package["identifier"] = f"{RELEASES}/v{version}/{bundle.name}"
            package["version"] = version
            package["fileSha256"] = sha256(bundle)
    updated = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    if updated != text:
        path.write_text(updated, encoding="utf-8")
    return updated != text


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python tools/build_bundle.py", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "--out-dir", type=Path, help="write the bundle here instead of dist/ (server.json untouched)"
    )
    args = parser.parse_args(argv)
    bundle = build(args.out_dir or DIST)
    print(f"{bundle} ({bundle.stat().st_size:,} bytes, sha256 {sha256(bundle)})")
    if args.out_dir is None and update_server_json(bundle, project()["version"]):
        print("server.json: the mcpb package now names this bundle and its SHA-256")


if __name__ == "__main__":
    main()
