"""The Claude Desktop bundle (tools/build_bundle.py): built, checked against the rules of MCP Bundle
manifest 0.4, unpacked and started exactly as its manifest's ``mcp_config`` says, with the variables
substituted as the host does (the ``@anthropic-ai/mcpb`` reference code, ``getMcpConfigForManifest``),
and asked for its tools over stdio.

Starting it runs ``uv run`` in the unpacked bundle, which installs the runtime dependencies from
PyPI into the bundle's own virtual environment, as on a user's first start (later runs take them
from uv's cache). ``.ci/run`` also checks the bundle with the official CLI (``mcpb validate``,
``unpack``, ``pack``, ``info``) when npx is there.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tomllib
import zipfile
from collections.abc import Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

import anyio
import pytest
from mcp import Client, StdioServerParameters

ROOT = Path(__file__).resolve().parents[1]
FIVE_MB = 5 * 1024 * 1024
CORE_TOOLS = {"list_sources", "list_page", "fetch_all", "read_results"}

# Fields of manifest 0.4 (src/schemas/0.4.ts of @anthropic-ai/mcpb 2.1.2, whose objects are strict:
# an unknown key is an error), and the user_config option fields and types.
MANIFEST_FIELDS = {
    "$schema", "dxt_version", "manifest_version", "name", "display_name", "version", "description",
    "long_description", "author", "repository", "homepage", "documentation", "support", "icon", "icons",
    "screenshots", "localization", "server", "tools", "tools_generated", "prompts", "prompts_generated",
    "keywords", "license", "privacy_policies", "compatibility", "user_config", "_meta",
}  # fmt: skip
OPTION_FIELDS = {"type", "title", "description", "required", "default", "multiple", "sensitive", "min", "max"}
OPTION_TYPES = {"string", "number", "boolean", "directory", "file"}
# Variables the host forwards: where uv finds certificates, proxies and an index on this machine.
NETWORK_VARIABLES = re.compile(
    r"SSL_CERT_(FILE|DIR)|(HTTPS?|ALL|NO)_PROXY|UV_(INDEX_URL|DEFAULT_INDEX|INDEX)"
)


def _load_builder() -> ModuleType:
    spec = importlib.util.spec_from_file_location("build_bundle", ROOT / "tools" / "build_bundle.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


builder = _load_builder()


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = builder.build(tmp_path_factory.mktemp("dist"))
    assert isinstance(path, Path)
    return path


def unpack(bundle: Path, target: Path) -> Path:
    """Unpack as a host does, refusing names that would land outside the target."""
    with zipfile.ZipFile(bundle) as archive:
        for name in archive.namelist():
            assert not name.startswith("/") and ".." not in Path(name).parts, name
        archive.extractall(target)
    return target


def manifest_of(bundle: Path) -> dict[str, Any]:
    with zipfile.ZipFile(bundle) as archive:
        data = json.loads(archive.read("manifest.json"))
    assert isinstance(data, dict)
    return data


def host_mcp_config(
    manifest: Mapping[str, Any], dirname: Path, user_values: Mapping[str, str], home: Path
) -> dict[str, Any]:
    """``mcp_config`` as the host runs it: the platform's override, then ``${__dirname}``, the system
    directories, the path separator and ``${user_config.KEY}`` (manifest defaults, then the user's
    values) substituted; a variable with no value is left as it is, as the reference code does."""
    base = dict(manifest["server"]["mcp_config"])
    override = base.pop("platform_overrides", {}).get(sys.platform, {})
    command: str = override.get("command") or base["command"]
    args: list[str] = override.get("args") or base.get("args") or []
    env: dict[str, str] = override.get("env") or base.get("env") or {}
    options = manifest.get("user_config", {})
    for key, option in options.items():
        assert not (option.get("required") and not user_values.get(key)), f"required {key} missing"
    variables = {"__dirname": str(dirname), "HOME": str(home), "pathSeparator": os.sep, "/": os.sep}
    merged = {key: option["default"] for key, option in options.items() if "default" in option}
    variables |= {f"user_config.{key}": str(value) for key, value in (merged | dict(user_values)).items()}

    def substitute(text: str) -> str:
        for name, value in variables.items():
            text = text.replace("${" + name + "}", value)
        return text

    return {
        "command": substitute(command),
        "args": [substitute(arg) for arg in args],
        "env": {name: substitute(value) for name, value in env.items()},
    }


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_bundle_is_named_by_the_version_and_under_5_mb(bundle: Path) -> None:
    version = builder.project()["version"]
    assert bundle.name == f"mcp-paginate-{version}.mcpb"
    assert 10_000 < bundle.stat().st_size < FIVE_MB


def test_the_same_sources_build_the_same_bytes(bundle: Path, tmp_path: Path) -> None:
    again = builder.build(tmp_path)
    assert again.read_bytes() == bundle.read_bytes()


def test_manifest_has_the_0_4_fields_the_project_metadata_and_a_png_icon(bundle: Path) -> None:
    manifest = manifest_of(bundle)
    meta = builder.project()
    assert set(manifest) <= MANIFEST_FIELDS, set(manifest) - MANIFEST_FIELDS
    assert manifest["manifest_version"] == "0.4"
    assert (manifest["name"], manifest["version"]) == (meta["name"], meta["version"])
    assert manifest["display_name"] and manifest["description"] and manifest["author"]["name"]
    assert manifest["compatibility"]["runtimes"]["python"] == meta["requires-python"]
    assert set(manifest["compatibility"]["platforms"]) == {"darwin", "win32", "linux"}
    with zipfile.ZipFile(bundle) as archive:
        icon = archive.read(manifest["icon"])
    assert png_size(icon) == (512, 512)
    assert manifest["icons"] == [{"src": manifest["icon"], "size": "512x512"}]


def test_server_is_uv_run_from_the_bundle_directory_with_the_user_config_in_its_environment(
    bundle: Path,
) -> None:
    server = manifest_of(bundle)["server"]
    assert set(server) == {"type", "entry_point", "mcp_config"}
    assert server["type"] == "uv"
    assert server["mcp_config"]["command"] == "uv"
    assert server["mcp_config"]["args"] == ["run", "--directory", "${__dirname}", "mcp-paginate", "serve"]
    with zipfile.ZipFile(bundle) as archive:
        names = set(archive.namelist())
    assert server["entry_point"] in names
    assert not any(name.startswith((".venv/", "server/lib/", "server/venv/")) for name in names)
    assert server["mcp_config"]["env"] == {
        "ALLOY_API_KEY": "${user_config.alloy_api_key}",
        "ALLOY_USER_ID": "${user_config.alloy_user_id}",
        "ALLOY_CREDENTIAL_ID": "${user_config.alloy_credential_id}",
        "MCP_PAGINATE_CONFIG": "${user_config.config_file}",
    }


def test_user_config_asks_for_the_alloy_settings_and_a_config_file_the_key_kept_secret(bundle: Path) -> None:
    options = manifest_of(bundle)["user_config"]
    assert set(options) == {"alloy_api_key", "alloy_user_id", "alloy_credential_id", "config_file"}
    for key, option in options.items():
        assert set(option) <= OPTION_FIELDS and option["type"] in OPTION_TYPES, key
        assert option["title"] and option["description"], key
        assert option.get("sensitive", False) is (key == "alloy_api_key"), key
        assert option.get("required", False) is False, key
    assert options["config_file"]["type"] == "file"


def test_with_nothing_configured_the_host_leaves_no_placeholder_for_the_server(
    bundle: Path, tmp_path: Path
) -> None:
    config = host_mcp_config(manifest_of(bundle), tmp_path, {}, tmp_path)
    everything = json.dumps(config)
    assert "${" not in everything, everything
    assert config["env"] == dict.fromkeys(
        ("ALLOY_API_KEY", "ALLOY_USER_ID", "ALLOY_CREDENTIAL_ID", "MCP_PAGINATE_CONFIG"), ""
    )
    assert config["args"] == ["run", "--directory", str(tmp_path), "mcp-paginate", "serve"]


def test_bundle_carries_every_module_of_the_package_and_a_pyproject_with_its_dependencies(
    bundle: Path,
) -> None:
    with zipfile.ZipFile(bundle) as archive:
        names = set(archive.namelist())
        bundled = tomllib.loads(archive.read("pyproject.toml").decode())
    modules = {
        path.relative_to(ROOT).as_posix()
        for path in (ROOT / "mcp_paginate").rglob("*.py")
        if "__pycache__" not in path.parts
    }
    assert modules <= names, modules - names
    assert {"mcp_paginate/py.typed", "manifest.json", "pyproject.toml", "LICENSE", "icon.png"} <= names
    meta = builder.project()
    for key in ("name", "version", "requires-python", "dependencies", "scripts"):
        assert bundled["project"][key] == meta[key], key
    assert "optional-dependencies" not in bundled["project"]


def test_tools_in_the_manifest_are_the_servers_with_their_descriptions(bundle: Path) -> None:
    tools = manifest_of(bundle)["tools"]
    names = [tool["name"] for tool in tools]
    assert set(names) >= CORE_TOOLS and len(names) == len(set(names))
    for tool in tools:
        assert tool["description"] and "\n" not in tool["description"], tool["name"]
    for prompt in manifest_of(bundle)["prompts"]:
        assert prompt["name"] and isinstance(prompt["text"], str) and prompt["text"], prompt
        for argument in prompt.get("arguments", []):
            assert "${arguments." + argument + "}" in prompt["text"], (prompt["name"], argument)


def _host_environment(home: Path, config: Mapping[str, Any]) -> dict[str, str]:
    """What the host passes: its PATH (with uv on it), a home of the test's own (no user config
    file, no state), the machine's network settings for uv, and the manifest's environment."""
    uv = shutil.which("uv")
    assert uv is not None, "uv is missing: pip install -e '.[test]' installs it"
    cache = subprocess.run([uv, "cache", "dir"], capture_output=True, text=True, check=True).stdout.strip()
    network = {name: value for name, value in os.environ.items() if NETWORK_VARIABLES.fullmatch(name)}
    return {
        **network,
        "PATH": os.pathsep.join([str(Path(uv).parent), os.environ.get("PATH", "")]),
        "HOME": str(home),
        "UV_CACHE_DIR": cache,
        "UV_PYTHON": sys.executable,  # this interpreter: no Python download in a test
        "UV_PYTHON_DOWNLOADS": "never",
        **config["env"],
    }


async def _started(config: Mapping[str, Any], env: dict[str, str]) -> tuple[list[str], dict[str, Any], str]:
    parameters = StdioServerParameters(command=config["command"], args=config["args"], env=env)
    async with Client(parameters) as client:
        tools = [tool.name for tool in (await client.list_tools()).tools]
        sources = await client.call_tool("list_sources", {})
        assert not sources.is_error, sources.content
        assert isinstance(sources.structured_content, dict)
        assert client.server_info is not None
        return tools, sources.structured_content, client.server_info.version


@pytest.mark.slow
@pytest.mark.anyio
async def test_server_starts_from_the_unpacked_bundle_as_its_manifest_says(
    bundle: Path, tmp_path: Path
) -> None:
    manifest = manifest_of(bundle)
    directory = unpack(bundle, tmp_path / "Claude Extensions" / "mcp-paginate")
    home = tmp_path / "home"
    home.mkdir()
    # Installed with nothing filled in: no Alloy source, no config file.
    config = host_mcp_config(manifest, directory, {}, home)
    with anyio.fail_after(300):  # the first start installs the dependencies
        tools, sources, version = await _started(config, _host_environment(home, config))
    assert tools == [tool["name"] for tool in manifest["tools"]]
    assert version == manifest["version"]
    assert sources == {"sources": [], "ad_hoc": {"allowed": False, "hosts": []}}
    # The user's answers: an Alloy key and ids, and the examples' config file.
    answers = {
        "alloy_api_key": "alloy-key-from-the-keychain",
        "alloy_user_id": "user-7",
        "alloy_credential_id": "cred-7",
        "config_file": str(ROOT / "examples" / "config.toml"),
    }
    config = host_mcp_config(manifest, directory, answers, home)
    with anyio.fail_after(120):
        tools, sources, _ = await _started(config, _host_environment(home, config))
    names = {source["name"] for source in sources["sources"]}
    assert {"alloy", "offset", "link", "alloy_sample"} <= names
    assert sources["ad_hoc"] == {"allowed": True, "hosts": ["127.0.0.1:8080"]}
    alloy = next(source for source in sources["sources"] if source["name"] == "alloy")
    assert "alloy-key-from-the-keychain" not in json.dumps(sources)
    assert alloy["max_page_size"] == 50
