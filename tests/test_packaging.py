"""Packaging: server.json fits the MCP Registry and agrees with pyproject, the README, the code and
the Claude Desktop bundle (tools/build_bundle.py); a built wheel installs into a fresh venv and its
console script serves MCP over stdio."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from types import ModuleType
from typing import Any

import anyio
import pytest
from mcp import Client, StdioServerParameters

ROOT = Path(__file__).resolve().parents[1]
SCHEMA_URL = "https://static.modelcontextprotocol.io/schemas/2025-12-11/server.schema.json"
SERVER_NAME = "io.github.mcp-paginate/mcp-paginate"
SECRETS = {"ALLOY_API_KEY", "MCP_PAGINATE_AUTH_TOKEN"}

# Field names of the 2025-12-11 server.json schema (ServerDetail, Package, KeyValueInput,
# Argument): the schema cannot be downloaded at test time, so its structure is checked here.
SERVER_FIELDS = {
    "$schema",
    "_meta",
    "name",
    "title",
    "description",
    "version",
    "repository",
    "websiteUrl",
    "icons",
    "packages",
    "remotes",
}
PACKAGE_FIELDS = {
    "registryType",
    "registryBaseUrl",
    "identifier",
    "version",
    "fileSha256",
    "runtimeHint",
    "transport",
    "runtimeArguments",
    "packageArguments",
    "environmentVariables",
}
INPUT_FIELDS = {
    "description",
    "isRequired",
    "format",
    "value",
    "isSecret",
    "default",
    "placeholder",
    "choices",
}
VARIABLE_FIELDS = INPUT_FIELDS | {"name", "variables"}
ARGUMENT_FIELDS = INPUT_FIELDS | {"type", "name", "valueHint", "isRepeated", "variables"}
VERSION_RANGE = re.compile(r"^[\^~<>=*]|[xX*]$|^latest$")


def load_server_json() -> dict[str, Any]:
    data = json.loads((ROOT / "server.json").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def pyproject() -> dict[str, Any]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert isinstance(project, dict)
    return project


def package_of(registry_type: str) -> dict[str, Any]:
    """The one package of that registry type in server.json."""
    packages = [p for p in load_server_json()["packages"] if p["registryType"] == registry_type]
    assert len(packages) == 1, f"{len(packages)} {registry_type} packages"
    package = packages[0]
    assert isinstance(package, dict)
    return package


def the_package() -> dict[str, Any]:
    return package_of("pypi")


def bundle_builder() -> ModuleType:
    spec = importlib.util.spec_from_file_location("build_bundle", ROOT / "tools" / "build_bundle.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_server_json_has_the_registry_schema_shape() -> None:
    data = load_server_json()
    assert data["$schema"] == SCHEMA_URL
    assert set(data) <= SERVER_FIELDS, set(data) - SERVER_FIELDS
    for required in ("name", "description", "version"):
        assert isinstance(data.get(required), str) and data[required], required
    assert re.fullmatch(r"[a-zA-Z0-9.-]+/[a-zA-Z0-9._-]+", data["name"]) and 3 <= len(data["name"]) <= 200
    assert 1 <= len(data["description"]) <= 100
    assert 1 <= len(data.get("title", "x")) <= 100
    assert data["repository"]["source"] == "github"
    assert data["repository"]["url"].startswith("https://github.com/")
    assert [package["registryType"] for package in data["packages"]] == ["pypi", "mcpb"]
    for package in data["packages"]:
        assert set(package) <= PACKAGE_FIELDS, set(package) - PACKAGE_FIELDS
        for required in ("registryType", "transport", "identifier", "version"):
            assert required in package, required
        assert not VERSION_RANGE.search(package["version"])
        for argument in package.get("packageArguments", []):
            assert set(argument) <= ARGUMENT_FIELDS, set(argument) - ARGUMENT_FIELDS
            assert argument["type"] in {"positional", "named"}
            if argument["type"] == "positional":
                assert "value" in argument or "valueHint" in argument
        for variable in package["environmentVariables"]:
            assert set(variable) <= VARIABLE_FIELDS, set(variable) - VARIABLE_FIELDS
            assert re.fullmatch(r"[A-Z][A-Z0-9_]*", variable["name"])
            assert isinstance(variable.get("isSecret", False), bool)
            assert isinstance(variable.get("isRequired", False), bool)
            assert variable.get("format", "string") in {"string", "number", "boolean", "filepath"}
            assert all(isinstance(variable[k], str) for k in ("description", "default") if k in variable)


def test_server_json_names_the_pypi_package_run_with_uvx_over_stdio() -> None:
    data = load_server_json()
    assert data["name"] == SERVER_NAME
    package = the_package()
    assert package["registryType"] == "pypi"
    assert package["identifier"] == pyproject()["name"] == "mcp-paginate"
    assert package["runtimeHint"] == "uvx"
    assert package["transport"] == {"type": "stdio"}
    # `uvx mcp-paginate serve`: the console script needs the subcommand.
    assert [a.get("value") for a in package["packageArguments"] if a["type"] == "positional"] == ["serve"]
    assert "mcp-paginate" in pyproject()["scripts"]


def test_server_json_versions_equal_pyproject_version() -> None:
    version = pyproject()["version"]
    assert load_server_json()["version"] == version
    assert the_package()["version"] == version
    assert package_of("mcpb")["version"] == version


def test_server_json_names_the_bundle_of_this_version_on_the_github_release() -> None:
    version = pyproject()["version"]
    package = package_of("mcpb")
    repository = load_server_json()["repository"]["url"]
    # The registry takes MCPB files from GitHub or GitLab releases, with "mcp" in the URL.
    assert package["identifier"] == f"{repository}/releases/download/v{version}/mcp-paginate-{version}.mcpb"
    assert package["transport"] == {"type": "stdio"}
    assert re.fullmatch(r"[0-9a-f]{64}", package["fileSha256"])
    assert "runtimeHint" not in package and "registryBaseUrl" not in package


def test_server_json_bundle_hash_is_the_built_bundles_when_built() -> None:
    """`python tools/build_bundle.py` writes the hash; a bundle in dist/ must be the one listed."""
    version = pyproject()["version"]
    built = ROOT / "dist" / f"mcp-paginate-{version}.mcpb"
    if not built.exists():
        pytest.skip(f"{built.relative_to(ROOT)} is not built (python tools/build_bundle.py)")
    digest = hashlib.sha256(built.read_bytes()).hexdigest()
    assert package_of("mcpb")["fileSha256"] == digest, (
        f"server.json's fileSha256 is not {built.name}'s: run python tools/build_bundle.py"
    )


def test_server_json_bundle_environment_is_the_manifests_user_config() -> None:
    builder = bundle_builder()
    variables = {v["name"]: v for v in package_of("mcpb")["environmentVariables"]}
    assert set(variables) == set(builder.ENVIRONMENT)
    for name, reference in builder.ENVIRONMENT.items():
        [key] = re.fullmatch(r"\$\{user_config\.(\w+)\}", reference).groups()  # type: ignore[union-attr]
        option = builder.USER_CONFIG[key]
        assert variables[name]["isSecret"] is option.get("sensitive", False), name
        assert variables[name]["isRequired"] is option.get("required", False), name
        assert (variables[name].get("format") == "filepath") is (option["type"] == "file"), name
        assert variables[name]["description"].strip(), name
    pypi = {v["name"]: v for v in the_package()["environmentVariables"]}
    for name, variable in variables.items():  # the same server reads them: the same secrecy
        assert variable["isSecret"] is pypi[name]["isSecret"], name


def test_server_json_lists_exactly_the_environment_variables_the_code_reads() -> None:
    variables = {v["name"]: v for v in the_package()["environmentVariables"]}
    assert len(variables) == len(the_package()["environmentVariables"]), "duplicate names"
    read = set()
    pattern = re.compile(
        r"""(?:environ(?:ment)?(?:\.get\(|\[)|_env_default\()\s*["']((?:ALLOY|MCP_PAGINATE)_\w+)"""
    )
    for path in (ROOT / "mcp_paginate").rglob("*.py"):
        if path.name not in {"sample_api.py", "demo.py"}:
            read.update(pattern.findall(path.read_text(encoding="utf-8")))
    assert read == set(variables)
    for name, variable in variables.items():
        assert variable["description"].strip(), name
        assert variable.get("isSecret", False) is (name in SECRETS), name


def test_readme_carries_the_mcp_name_marker_of_server_json() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    markers = re.findall(r"<!--\s*mcp-name:\s*(\S+)\s*-->", readme)
    assert markers == [load_server_json()["name"]]


def test_readme_debugging_section_shows_the_inspector_cli() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert re.search(r"^## Debugging", readme, re.MULTILINE)
    assert "npx @modelcontextprotocol/inspector --cli mcp-paginate serve --method tools/list" in readme


def test_installed_version_is_pyproject_version() -> None:
    from mcp_paginate import __version__

    assert __version__ == pyproject()["version"]


@pytest.mark.slow
@pytest.mark.anyio
async def test_built_wheel_installs_in_a_fresh_venv_and_serves_tools_over_stdio(tmp_path: Path) -> None:
    def run(*command: str | Path, cwd: Path = ROOT, timeout: float = 600) -> str:
        done = subprocess.run(
            [str(part) for part in command], cwd=cwd, capture_output=True, text=True, timeout=timeout
        )
        assert done.returncode == 0, f"{command}:\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}"
        return done.stdout

    wheels = tmp_path / "wheels"
    run(sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", wheels, ".")
    [wheel] = list(wheels.glob("mcp_paginate-*.whl"))
    assert wheel.name.startswith(f"mcp_paginate-{pyproject()['version']}-")
    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", venv)
    python = venv / "bin" / "python"
    run(python, "-m", "pip", "install", "-q", "--disable-pip-version-check", wheel)
    script = venv / "bin" / "mcp-paginate"
    assert run(script, "--version").strip() == f"mcp-paginate {pyproject()['version']}"
    # The installed package, not this source tree: no tests, and the typing marker ships.
    files = run(
        python,
        "-c",
        "import mcp_paginate, pathlib; print(pathlib.Path(mcp_paginate.__file__).parent)",
        cwd=tmp_path,  # not the source tree, whose mcp_paginate/ would shadow the installed one
    )
    installed = Path(files.strip())
    assert installed.is_relative_to(venv) and (installed / "py.typed").exists()
    parameters = StdioServerParameters(
        command=str(script),
        args=["serve", "--store", "memory://"],
        env={"PATH": str(venv / "bin"), "HOME": str(tmp_path), "MCP_PAGINATE_CONFIG": ""},
    )
    with anyio.fail_after(60):
        async with Client(parameters) as client:
            tools = await client.list_tools()
            assert sorted(tool.name for tool in tools.tools) == [
                "fetch_all",
                "list_page",
                "list_sources",
                "read_results",
            ]
            sources = await client.call_tool("list_sources", {})
            assert not sources.is_error
            assert sources.structured_content == {"sources": [], "ad_hoc": {"allowed": False, "hosts": []}}
