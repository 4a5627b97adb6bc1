"""``mcp-paginate import airbyte``: TOML sources from an Airbyte low-code manifest.

Each stream becomes one ``[sources.NAME]`` table: URL (``url_base`` + ``path``), method,
query/headers/body, records path, auth and pagination. What a stream reads from the connector's
config becomes a ``{param}`` the assistant supplies, or, for secrets and auth, an ``${ENV}``
variable the server reads; each such choice is said in a comment. Nothing is dropped silently:
a stream that cannot be expressed is listed with the reason (`SkippedStream`), and a field left
out of an imported stream is listed in its `ImportedSource.omitted`.

Example::

    result = import_manifest(Path("manifest.yaml").read_text(), prefix="GITHUB")
    print(render_toml(result))
    sys.exit(0 if result.complete else 1)
"""

from __future__ import annotations

import ast
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from jinja2 import TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from mcp_paginate.errors import InputError
from mcp_paginate.importers.airbyte_paging import (
    Untranslatable,
    request_option,
    token_placement,
    translate_paginator,
)
from mcp_paginate.importers.jinja_reading import chain_of, expression_of, split_blocks, variables_of
from mcp_paginate.importers.manifest import ManifestStream, load_manifest, manifest_streams

__all__ = ["ImportResult", "ImportedSource", "SkippedStream", "import_manifest", "translate_stream"]

_SECRET_WORDS = re.compile(r"key|token|secret|password|passwd|credential|auth|bearer|cookie", re.I)
_NOT_IDENTIFIER = re.compile(r"[^A-Za-z0-9_]+")
_PARTITION_ROOTS = {"stream_partition", "stream_slice"}
_INCREMENTAL_ROOTS = {"stream_interval", "stream_state"}
_JSON_DECODERS = {None, "JsonDecoder"}
_CONSTANT = ImmutableSandboxedEnvironment()
_AUTH_PREFERENCE = (
    "BearerAuthenticator",
    "ApiKeyAuthenticator",
    "BasicHttpAuthenticator",
    "OAuthAuthenticator",
)


@dataclass
class ImportedSource:
    """One stream as a source table, with what was translated (comments) and left out."""

    name: str
    stream: str
    table: dict[str, Any]
    comments: list[str] = field(default_factory=list)
    omitted: list[str] = field(default_factory=list)


@dataclass
class SkippedStream:
    """A stream our config cannot express, and why."""

    name: str
    reason: str


@dataclass
class ImportResult:
    """Everything one manifest gave: sources, and the streams that could not be imported."""

    manifest: str
    sources: list[ImportedSource] = field(default_factory=list)
    skipped: list[SkippedStream] = field(default_factory=list)
    order: list[str] = field(default_factory=list)
    """Every stream's source name, imported or not, in the manifest's order."""

    @property
    def complete(self) -> bool:
        """True when every stream was imported with nothing left out."""
        return not self.skipped and not any(source.omitted for source in self.sources)


def import_manifest(
    text: str,
    *,
    prefix: str,
    streams: Sequence[str] | None = None,
    where: str = "the manifest",
) -> ImportResult:
    """Translate every stream of a manifest (or only those named in ``streams``).

    Raises:
        InputError: the manifest cannot be read, or a stream asked for does not exist.
    """
    manifest = load_manifest(text, where)
    found = list(manifest_streams(manifest))
    if streams:
        known = {stream.name for stream in found}
        unknown = [name for name in streams if name not in known]
        if unknown:
            listing = ", ".join(sorted(known)) or "none"
            raise InputError(f"{where} has no stream {', '.join(map(repr, unknown))}; its streams: {listing}")
        found = [stream for stream in found if stream.name in streams]
    result = ImportResult(where)
    used: set[str] = set()
    for stream in found:
        name = _unique_name(stream, used)
        result.order.append(name)
        try:
            result.sources.append(translate_stream(stream, name, prefix=prefix, manifest=manifest))
        except Untranslatable as exc:
            result.skipped.append(SkippedStream(name, str(exc)))
    return result


def _unique_name(stream: ManifestStream, used: set[str]) -> str:
    base = stream.name
    if stream.kind.endswith("incremental_stream"):
        base += "_incremental"
    name, number = base, 2
    while name in used:
        name, number = f"{base}_{number}", number + 1
    used.add(name)
    return name


def translate_stream(
    stream: ManifestStream, name: str, *, prefix: str, manifest: Mapping[str, Any]
) -> ImportedSource:
    """One stream as a source.

    Raises:
        Untranslatable: the stream cannot be expressed (custom code, a paginator we lack...).
    """
    retriever = stream.component.get("retriever") or {}
    kind = retriever.get("type", "SimpleRetriever")
    if kind != "SimpleRetriever":
        raise Untranslatable(
            f"retriever {kind} ({'Python code' if kind.startswith('Custom') else 'async jobs'})"
        )
    requester = retriever.get("requester") or {}
    _check_decoders(retriever, requester)
    work = _Stream(prefix=prefix, manifest=manifest)
    if requester.get("type", "HttpRequester") != "HttpRequester":
        work.omitted.append(
            f"requester {requester.get('class_name') or requester.get('type')} (Python code): only its "
            "URL, values, auth and paginator are imported; what its code adds to requests is not"
        )
    table: dict[str, Any] = {"description": f"Airbyte stream {stream.name!r}"}
    table["url"] = work.url(requester)
    method = str(requester.get("http_method") or "GET").upper()
    if method != "GET":
        table["method"] = method
    placed = work.request_values(requester, table)
    records = work.records(retriever.get("record_selector") or {})
    if records is not None:
        table["records"] = records
    work.auth(requester.get("authenticator"), table)
    work.partitions(retriever.get("partition_router"), stream.component.get("incremental_sync"), table)
    table["pagination"] = translate_paginator(retriever.get("paginator"), placed, work.size_of, work.comments)
    if work.params:
        table["params"] = work.params
    return ImportedSource(name, stream.name, table, work.comments, work.omitted)


def _check_decoders(retriever: Mapping[str, Any], requester: Mapping[str, Any]) -> None:
    for owner in (retriever, requester, retriever.get("paginator") or {}):
        decoder = owner.get("decoder")
        kind = decoder.get("type") if isinstance(decoder, dict) else decoder
        if kind not in _JSON_DECODERS:
            raise Untranslatable(f"decoder {kind} (responses that are not JSON)")


@dataclass
class _Stream:
    """The translation of one stream under way: its params, comments and omissions."""

    prefix: str
    manifest: Mapping[str, Any]
    params: dict[str, dict[str, Any]] = field(default_factory=dict)
    comments: list[str] = field(default_factory=list)
    omitted: list[str] = field(default_factory=list)

    # -- values ------------------------------------------------------------------------------

    def text(self, value: Any, where: str, *, secret: bool = False, in_url: bool = False) -> Any:
        """A requester value with its templates translated: config to ``{param}``/``${ENV}``,
        partition and incremental values to params; anything else makes the whole value a param."""
        if not isinstance(value, str) or "{{" not in value and "{%" not in value:
            return value
        pieces = split_blocks(value)
        out: list[str] = []
        for position, piece in enumerate(pieces):
            if not piece.startswith(("{{", "{%")):
                out.append(piece)
                continue
            chain = chain_of(expression_of(piece))
            if (
                chain is None
                or not chain.keys
                or chain.root not in {"config", *_PARTITION_ROOTS, *_INCREMENTAL_ROOTS}
            ):
                return self._computed(value, where)
            leading = in_url and position == 0
            out.append(self._placeholder(chain.root, chain.keys, chain.default, secret=secret or leading))
        return "".join(out)

    def _placeholder(self, root: str, keys: tuple[str | int, ...], default: Any, *, secret: bool) -> str:
        dotted = ".".join(str(key) for key in keys)
        if root == "config":
            if secret or _SECRET_WORDS.search(dotted):
                variable = self.env_name(dotted)
                self._say(f"${{{variable}}} is Airbyte's config['{dotted}']")
                return "${" + variable + "}"
            name = self._param(keys, f"Airbyte config['{dotted}']", default)
            self._say(f"param {name!r} is Airbyte's config['{dotted}']")
            return "{" + name + "}"
        if root in _PARTITION_ROOTS:
            name = self._param(
                keys, f"Airbyte partition value {root}['{dotted}'] (one per parent record)", None
            )
            self._say(
                f"param {name!r} is the partition value {root}['{dotted}']: call the source once per value"
            )
            return "{" + name + "}"
        name = self._param(
            keys, f"Airbyte incremental window {root}['{dotted}'] (optional)", None, required=False
        )
        self._omit(f"incremental sync: {root}['{dotted}'] is left to the optional param {name!r}")
        return "{" + name + "}"

    def _computed(self, value: str, where: str) -> str:
        name = self._param(
            (where.rsplit(".", 1)[-1],), f"computed by Airbyte as: {value}", None, required=False
        )
        self._say(f"param {name!r} (optional) stands for the Airbyte template {value!r}")
        return "{" + name + "}"

    def _param(
        self, keys: tuple[str | int, ...], description: str, default: Any, *, required: bool = True
    ) -> str:
        name = _NOT_IDENTIFIER.sub("_", str(keys[-1])).strip("_") or "value"
        if name[0].isdigit():
            name = "p_" + name
        existing = self.params.get(name)
        if existing is not None and existing["description"] != description:
            name = _NOT_IDENTIFIER.sub("_", "_".join(str(key) for key in keys)).strip("_")
        spec: dict[str, Any] = {"description": description}
        if default not in (None, "", {}, []):
            spec["default"] = default
        elif not required:
            spec["required"] = False
        self.params.setdefault(name, spec)
        return name

    def env_name(self, dotted: str) -> str:
        return _NOT_IDENTIFIER.sub("_", f"{self.prefix}_{dotted}").strip("_").upper()

    def _say(self, comment: str) -> None:
        if comment not in self.comments:
            self.comments.append(comment)

    def _omit(self, reason: str) -> None:
        if reason not in self.omitted:
            self.omitted.append(reason)

    def size_of(self, value: Any, what: str) -> int | None:
        """A page size: a number as it is, a config template from the spec's default if any."""
        if value is None or value == "":
            return None
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        text = str(value).strip()
        if text.isdigit():
            return int(text)
        chain = chain_of(expression_of(text))
        if chain is not None and chain.root == "config" and chain.keys:
            properties = ((self.manifest.get("spec") or {}).get("connection_specification") or {}).get(
                "properties"
            ) or {}
            default = (properties.get(str(chain.keys[0])) or {}).get("default", chain.default)
            if isinstance(default, int) and not isinstance(default, bool):
                self._say(f"{what} {default} is the default of Airbyte's config['{chain.keys[0]}']")
                return default
        self._omit(f"{what} {text!r} is not known before a run: left to the source's default")
        return None

    # -- parts of the request ----------------------------------------------------------------

    def url(self, requester: Mapping[str, Any]) -> str:
        base, path = requester.get("url_base"), requester.get("path")
        if not base:
            base = requester.get("url")
        if not isinstance(base, str) or not base:
            raise Untranslatable("the requester has no url_base or url")
        head = self._url_base(base)
        if not isinstance(path, str) or not path or path == base:
            return head
        if path.startswith(("http://", "https://")):
            return self._url_base(path)
        return head.rstrip("/") + "/" + self._url_path(path).lstrip("/")

    def _url_base(self, base: str) -> str:
        """A base URL; one that Airbyte computes (a choice over the config) is an ``${ENV}``."""
        pieces = split_blocks(base)
        computed = any(piece.startswith(("{{", "{%")) and _simple_chain(piece) is None for piece in pieces)
        if computed:
            variable = self.env_name("url_base")
            self._say(f"${{{variable}}} is the base URL Airbyte computes as {base!r}")
            return "${" + variable + "}"
        translated = str(self.text(base, "url", in_url=True))
        if not re.match(r"(https?://|\$\{)", translated):
            raise Untranslatable(f"the URL {base!r} has no scheme")
        return translated

    def _url_path(self, path: str) -> str:
        """A URL path; each part Airbyte computes is a required param."""
        out = []
        for piece in split_blocks(path):
            if not piece.startswith(("{{", "{%")):
                out.append(piece)
            elif _simple_chain(piece) is not None:
                out.append(str(self.text(piece, "path")))
            else:
                found = re.findall(r"\[\s*['\"](\w+)['\"]\s*\]|\.get\(\s*['\"](\w+)['\"]|\.(\w+)\b", piece)
                keys = [next(part for part in match if part) for match in found]
                name = self._param(
                    (keys[-1] if keys else "path_part",),
                    f"Airbyte computes this part of the URL as: {piece}",
                    None,
                )
                self._say(f"param {name!r} stands for the URL part Airbyte computes as {piece!r}")
                out.append("{" + name + "}")
        return "".join(out)

    def request_values(self, requester: Mapping[str, Any], table: dict[str, Any]) -> dict[str, Any] | None:
        """query/headers/body into table; returns the request option a value over the page token
        amounts to, if one does."""
        placed: dict[str, Any] | None = None
        for key, where in (("request_parameters", "query"), ("request_headers", "header")):
            values = _literal_mapping(requester.get(key), key)
            kept: dict[str, Any] = {}
            for name, value in (values or {}).items():
                if isinstance(value, str) and "next_page_token" in value:
                    placed = self._placed(placed, str(name), where, value)
                elif isinstance(value, dict | list):
                    self._omit(f"{key}.{name}: a structured value (QueryProperties) is not translated")
                else:
                    kept[str(name)] = self.text(value, f"{key}.{name}", secret=where == "header")
            if kept:
                table["query" if where == "query" else "headers"] = kept
        body, body_placed = self._body(requester)
        if body is not None:
            table["body"] = body
        return body_placed or placed

    def _placed(self, placed: dict[str, Any] | None, key_path: str, where: str, value: str) -> dict[str, Any]:
        option = token_placement(key_path, where, value)
        if option is None or placed is not None:
            raise Untranslatable("other request values depend on next_page_token (conditional params)")
        self._say(f"the page token goes where the requester's {key_path!r} put next_page_token")
        return option

    def _body(self, requester: Mapping[str, Any]) -> tuple[Any, dict[str, Any] | None]:
        body: Any = requester.get("request_body_json")
        typed = requester.get("request_body")
        if requester.get("request_body_data"):
            raise Untranslatable("request_body_data (a form-encoded or text body)")
        if isinstance(typed, dict) and body is None:
            if typed.get("type") not in ("RequestBodyJsonObject", "RequestBodyGraphQL"):
                raise Untranslatable(f"request_body {typed.get('type')} (a form-encoded or text body)")
            body = typed.get("value")
        if body is None:
            return None, None
        if isinstance(body, str):
            raise Untranslatable("request_body_json given as one template")
        placed: list[dict[str, Any]] = []
        translated = self._body_value(body, "", placed)
        if len(placed) > 1:
            raise Untranslatable("other request values depend on next_page_token (conditional params)")
        return translated, placed[0] if placed else None

    def _body_value(self, value: Any, path: str, placed: list[dict[str, Any]]) -> Any:
        if isinstance(value, dict):
            out = {}
            for key, item in value.items():
                inner = f"{path}.{key}" if path else str(key)
                if isinstance(item, str) and "next_page_token" in item:
                    placed.append(self._placed(None, inner, "body", item))
                    continue
                out[str(key)] = self._body_value(item, inner, placed)
            return out
        if isinstance(value, list):
            return [self._body_value(item, path, placed) for item in value]
        if isinstance(value, str) and "next_page_token" in value:
            raise Untranslatable("page token used in requester templates with other values")
        return self.text(value, path or "body")

    def records(self, selector: Mapping[str, Any]) -> str | None:
        extractor = selector.get("extractor") or {}
        if selector.get("record_filter"):
            self._omit("record_filter (Airbyte drops some records client-side): all records are returned")
        if extractor.get("type", "DpathExtractor") != "DpathExtractor":
            self._omit(
                f"extractor {extractor.get('type')} (Python code): records path left to auto-detection"
            )
            return None
        if extractor.get("record_expander"):
            self._omit("record_expander: records are returned unexpanded")
        path = extractor.get("field_path") or []
        if not isinstance(path, list):
            path = [path]
        if any(not isinstance(part, str | int) or "{{" in str(part) for part in path):
            self._omit(f"records field_path {path!r} is a template: left to auto-detection")
            return None
        return _records_path([str(part) for part in path])

    def auth(self, authenticator: Any, table: dict[str, Any]) -> None:
        if not isinstance(authenticator, dict) or authenticator.get("type") in (None, "NoAuth"):
            return
        kind = authenticator["type"]
        if kind == "SelectiveAuthenticator":
            members = {
                str(name): member
                for name, member in (authenticator.get("authenticators") or {}).items()
                if isinstance(member, dict)
            }
            ranked = sorted(members.items(), key=lambda item: _rank(item[1].get("type")))
            if not ranked or _rank(ranked[0][1].get("type")) >= len(_AUTH_PREFERENCE):
                self._omit(
                    f"auth: SelectiveAuthenticator with no member we can translate ({', '.join(members)})"
                )
                return
            chosen, member = ranked[0]
            if len(ranked) > 1:
                self._omit(f"auth: SelectiveAuthenticator: only its {chosen!r} member is imported")
            self.auth(member, table)
            return
        headers = table.setdefault("headers", {})
        if kind == "BearerAuthenticator":
            headers["Authorization"] = "Bearer " + self._secret(authenticator.get("api_token"), "api_key")
        elif kind == "ApiKeyAuthenticator":
            self._api_key(authenticator, table)
        elif kind == "BasicHttpAuthenticator":
            variable = self.env_name("basic_auth")
            headers["Authorization"] = "Basic ${" + variable + "}"
            self._say(f"${{{variable}}} is base64 of 'username:password' (printf '%s:%s' U P | base64)")
        elif kind == "OAuthAuthenticator":
            variable = self.env_name("access_token")
            headers["Authorization"] = "Bearer ${" + variable + "}"
            self._omit(
                f"auth: OAuth token refresh is not translated; put a current access token in ${variable}"
            )
        else:
            self._omit(f"auth: {kind} is not translated; add the credentials to headers yourself")
        if not headers:
            del table["headers"]

    def _secret(self, value: Any, fallback: str) -> str:
        if isinstance(value, str) and ("{{" in value or "{%" in value):
            translated = self.text(value, fallback, secret=True)
            if isinstance(translated, str) and "{" + fallback + "}" not in translated:
                return translated
        if isinstance(value, str) and value and "{{" not in value:
            variable = self.env_name(fallback)
            self._say(f"${{{variable}}} holds the credential the manifest wrote inline")
            return "${" + variable + "}"
        variable = self.env_name(fallback)
        self._say(f"${{{variable}}} is the API credential")
        return "${" + variable + "}"

    def _api_key(self, authenticator: Mapping[str, Any], table: dict[str, Any]) -> None:
        token = self._secret(authenticator.get("api_token"), "api_key")
        option = authenticator.get("inject_into")
        if isinstance(option, dict):
            translated = request_option(option, "ApiKeyAuthenticator.inject_into")
            if translated is None:
                self._omit("auth: ApiKeyAuthenticator's field name is a template over the config")
                return
        else:
            translated = {"in": "header", "name": str(authenticator.get("header") or "Authorization")}
        if translated["in"] == "query":
            table.setdefault("query", {})[translated["name"]] = token
        elif translated["in"] == "header":
            table.setdefault("headers", {})[translated["name"]] = token
        else:
            self._omit("auth: an API key in the JSON body is not translated")

    def partitions(self, router: Any, incremental: Any, table: dict[str, Any]) -> None:
        routers = router if isinstance(router, list) else [router] if isinstance(router, dict) else []
        for item in routers:
            kind = item.get("type")
            if kind == "CustomPartitionRouter":
                self._omit(f"partition router {item.get('class_name', kind)} (Python code): not translated")
            elif kind == "ListPartitionRouter" and isinstance(item.get("request_option"), dict):
                field_name = str(item.get("cursor_field") or "partition")
                values = item.get("values")
                self._inject(
                    item["request_option"], field_name, f"one of {values!r} (Airbyte loops over them)", table
                )
            elif kind == "SubstreamPartitionRouter":
                for parent in item.get("parent_stream_configs") or []:
                    if isinstance(parent, dict) and isinstance(parent.get("request_option"), dict):
                        field_name = str(parent.get("partition_field") or "parent_id")
                        self._inject(parent["request_option"], field_name, "a parent record's key", table)
            elif kind not in ("ListPartitionRouter", "SubstreamPartitionRouter"):
                self._omit(f"partition router {kind} is not translated")
        if isinstance(incremental, dict) and incremental.get("type"):
            if incremental["type"] != "DatetimeBasedCursor":
                self._omit(f"incremental sync {incremental['type']} is not translated: full reads only")
                return
            for option_key in ("start_time_option", "end_time_option"):
                option = incremental.get(option_key)
                if isinstance(option, dict) and option.get("inject_into"):
                    self._inject(
                        option, option_key.removesuffix("_option"), "incremental window (optional)", table
                    )
            self._omit("incremental sync (DatetimeBasedCursor): no state is kept; every read is a full read")

    def _inject(self, option: Mapping[str, Any], name: str, description: str, table: dict[str, Any]) -> None:
        translated = request_option(option, name)
        if translated is None:
            return
        param = self._param((name,), f"Airbyte {description}", None, required="optional" not in description)
        placeholder = "{" + param + "}"
        if translated["in"] == "query":
            table.setdefault("query", {})[translated["name"]] = placeholder
        elif translated["in"] == "header":
            table.setdefault("headers", {})[translated["name"]] = placeholder
        else:
            body = table.setdefault("body", {})
            *parents, last = translated["name"].split(".")
            for part in parents:
                body = body.setdefault(part, {})
            body[last] = placeholder
        self._say(f"param {param!r} is sent as {translated['in']} {translated['name']!r} ({description})")


def _literal_mapping(values: Any, key: str) -> Any:
    """request_parameters written as one string: a constant one (``'{}'``, ``"{{ {'a': 'b'} }}"``)
    is the mapping Airbyte reads it as; one over run-time values cannot be translated."""
    if not isinstance(values, str):
        return values
    if variables_of(values):
        raise Untranslatable(f"{key} given as one template over run-time values ({values[:60]!r})")
    try:
        rendered = _CONSTANT.from_string(values).render() if "{{" in values else values
        parsed = ast.literal_eval(rendered.strip())
    except (ValueError, SyntaxError, TemplateError):
        raise Untranslatable(f"{key} given as one string that is not a mapping ({values[:60]!r})") from None
    if not isinstance(parsed, dict):
        raise Untranslatable(f"{key} given as one string that is not a mapping ({values[:60]!r})")
    return parsed


def _simple_chain(block: str) -> Any:
    """The chain a ``{{ }}`` block reads when it is a plain config/partition/window path."""
    chain = chain_of(expression_of(block))
    if (
        chain is None
        or not chain.keys
        or chain.root not in {"config", *_PARTITION_ROOTS, *_INCREMENTAL_ROOTS}
    ):
        return None
    return chain


def _rank(kind: Any) -> int:
    return _AUTH_PREFERENCE.index(kind) if kind in _AUTH_PREFERENCE else len(_AUTH_PREFERENCE)


def _records_path(parts: list[str]) -> str:
    """A DpathExtractor field_path as a JMESPath; ``*`` takes every item (of a list, or the
    values of an object when it ends the path)."""
    from mcp_paginate.importers.jinja_reading import jmespath_of

    if not parts:
        return "@"
    if parts.count("*") == 1 and parts[-1] == "*" and len(parts) > 1:
        head = jmespath_of(tuple(parts[:-1]))
        return f"({head}.* || {head}[])"
    out = ""
    for part in parts:
        if part == "*":
            out = (out or "@") + "[]"
        else:
            name = jmespath_of((part,))
            out = f"{out}.{name}" if out else name
    return out
