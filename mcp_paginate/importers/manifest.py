"""Reading an Airbyte low-code manifest the way the Airbyte CDK reads it.

Three steps, each the CDK's own rule:

1. References (`resolve_references`, as ``ManifestReferenceResolver``): a string ``"#/a/b"``
   is replaced by the value it points to; ``$ref: "#/a/b"`` merges the referenced object under
   the local keys (the local keys win); a path ``a/b/c`` is tried first as one whole key, then
   one segment at a time.
2. Types and parameters (`propagate`, as ``ManifestComponentTransformer``): a component without
   a ``type`` gets the default type its field implies (a retriever is a ``SimpleRetriever``);
   ``$parameters`` flow from every component to the ones inside it (inner values win) and fill
   every missing or empty field of a typed component (a requester's ``path`` from the stream's
   ``$parameters``).
3. `substitute_parameters`: templates that read only ``parameters`` (``{{ parameters.path }}``,
   ``{{ parameters.get('data_field') or parameters['name'] }}``) are rendered with the
   component's own ``$parameters``, as Airbyte renders them before any request.

`manifest_streams` then lists the streams as Airbyte declares them.

Example::

    manifest = load_manifest(Path("manifest.yaml").read_text())
    for stream in manifest_streams(manifest):
        print(stream.name, stream.component["retriever"]["type"])
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import yaml
from jinja2 import StrictUndefined, TemplateError, meta
from jinja2.sandbox import ImmutableSandboxedEnvironment

from mcp_paginate.errors import InputError

__all__ = [
    "ManifestStream",
    "load_manifest",
    "manifest_streams",
    "propagate",
    "resolve_references",
    "substitute_parameters",
]

_REF = "$ref"
_PARAMETERS = "$parameters"

# The CDK's default component types by "ParentType.field" (declarative_component_schema.yaml).
_DEFAULT_TYPES: Mapping[str, str] = {
    "CursorPagination.decoder": "JsonDecoder",
    "DatetimeBasedCursor.end_datetime": "MinMaxDatetime",
    "DatetimeBasedCursor.end_time_option": "RequestOption",
    "DatetimeBasedCursor.start_datetime": "MinMaxDatetime",
    "DatetimeBasedCursor.start_time_option": "RequestOption",
    "DeclarativeSource.check": "CheckStream",
    "DeclarativeSource.spec": "Spec",
    "DeclarativeSource.streams": "DeclarativeStream",
    "DeclarativeStream.retriever": "SimpleRetriever",
    "DeclarativeStream.schema_loader": "JsonFileSchemaLoader",
    "DynamicDeclarativeStream.stream_template": "DeclarativeStream",
    "DynamicDeclarativeStream.components_resolver": "ConfigComponentResolver",
    "HttpComponentsResolver.retriever": "SimpleRetriever",
    "DefaultErrorHandler.response_filters": "HttpResponseFilter",
    "CompositeErrorHandler.error_handlers": "DefaultErrorHandler",
    "DefaultPaginator.decoder": "JsonDecoder",
    "DefaultPaginator.page_size_option": "RequestOption",
    "DpathExtractor.decoder": "JsonDecoder",
    "HttpRequester.error_handler": "DefaultErrorHandler",
    "ListPartitionRouter.request_option": "RequestOption",
    "ParentStreamConfig.request_option": "RequestOption",
    "ParentStreamConfig.stream": "DeclarativeStream",
    "RecordSelector.extractor": "DpathExtractor",
    "RecordSelector.record_filter": "RecordFilter",
    "SimpleRetriever.paginator": "NoPagination",
    "SimpleRetriever.record_selector": "RecordSelector",
    "SimpleRetriever.requester": "HttpRequester",
    "SubstreamPartitionRouter.parent_stream_configs": "ParentStreamConfig",
    "CustomPartitionRouter.parent_stream_configs": "ParentStreamConfig",
    "StreamGroup.streams": "DeclarativeStream",
}

# A component with a class_name and no type is a custom one of the type its field implies.
_CUSTOM_TYPES: Mapping[str, str] = {
    "DeclarativeStream.retriever": "CustomRetriever",
    "DefaultPaginator.pagination_strategy": "CustomPaginationStrategy",
    "HttpRequester.authenticator": "CustomAuthenticator",
    "RecordSelector.extractor": "CustomRecordExtractor",
    "SimpleRetriever.partition_router": "CustomPartitionRouter",
}

_PARAMETER_ONLY = ImmutableSandboxedEnvironment(undefined=StrictUndefined)
_EXPRESSION = re.compile(r"{{|{%")


@dataclass(frozen=True)
class ManifestStream:
    """One stream of a manifest: its name, how it is listed, and its resolved component."""

    name: str
    kind: str
    component: dict[str, Any]


def load_manifest(text: str, where: str = "the manifest") -> dict[str, Any]:
    """Parse manifest YAML and resolve it (references, types, parameters).

    Raises:
        InputError: not YAML, not a mapping, or a reference that points nowhere (or in a circle).
    """
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" (line {mark.line + 1})" if mark is not None else ""
        raise InputError(f"{where} is not valid YAML{line}: {getattr(exc, 'problem', exc)}") from None
    if not isinstance(data, dict):
        raise InputError(f"{where} is not an Airbyte manifest: expected a YAML mapping with 'streams'")
    if not isinstance(data.get("streams"), list) and not isinstance(data.get("dynamic_streams"), list):
        raise InputError(f"{where} has no 'streams' list: is it an Airbyte low-code manifest.yaml?")
    resolved = resolve_references(data)
    config_overrides = data.get("config_overrides")  # copied as written, as the CDK does
    if config_overrides is not None:
        resolved["config_overrides"] = copy.deepcopy(config_overrides)
    resolved.setdefault("type", "DeclarativeSource")
    substituted: dict[str, Any] = substitute_parameters(propagate("", resolved, {}))
    return substituted


def resolve_references(manifest: dict[str, Any]) -> dict[str, Any]:
    """Every ``"#/..."`` string and ``$ref`` of the manifest replaced by what it points to.

    Raises:
        InputError: a reference to nothing, or a circle of references.
    """
    resolved = _resolve(manifest, manifest, ())
    assert isinstance(resolved, dict)
    return resolved


def _resolve(node: Any, manifest: Mapping[str, Any], visiting: tuple[str, ...]) -> Any:
    if isinstance(node, dict):
        local = {key: _resolve(value, manifest, visiting) for key, value in node.items() if key != _REF}
        if _REF not in node:
            return local
        referenced = _resolve(node[_REF], manifest, visiting)
        return {**referenced, **local} if isinstance(referenced, dict) else referenced
    if isinstance(node, list):
        return [_resolve(item, manifest, visiting) for item in node]
    if isinstance(node, str) and node.startswith("#/"):
        if node in visiting:
            raise InputError(f"the manifest's references go in a circle: {' -> '.join((*visiting, node))}")
        return _resolve(_lookup(node, manifest), manifest, (*visiting, node))
    return node


def _lookup(reference: str, manifest: Mapping[str, Any]) -> Any:
    path = reference[2:]
    node: Any = manifest
    try:
        while path:
            if isinstance(node, Mapping) and path in node:
                return node[path]
            head, _, path = path.partition("/")
            node = node[int(head)] if isinstance(node, list) else node[head]
    except (KeyError, IndexError, TypeError, ValueError):
        raise InputError(f"the manifest's reference {reference!r} points to nothing") from None
    return node


def propagate(field: str, component: dict[str, Any], parent_parameters: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of component with default types filled in and ``$parameters`` propagated.

    ``field`` is "ParentType.field_name" of where the component sits ("" at the top).
    """
    result = copy.deepcopy(component)
    if "type" not in result:
        found = (_CUSTOM_TYPES if "class_name" in result else _DEFAULT_TYPES).get(field)
        if found:
            result["type"] = found
    parameters = {**parent_parameters, **(result.pop(_PARAMETERS, None) or {})}
    if result.get("type") in ("object", ["null", "object"]):
        return result  # a JSON schema, not a component
    if "type" not in result:
        for key, value in result.items():
            if isinstance(value, dict) and value.get("type"):
                result[key] = propagate(field, value, parameters)
        return result
    for key, value in parameters.items():
        result[key] = result.get(key) or value
    kind = result.get("type")
    for key, value in list(result.items()):
        if key == _PARAMETERS:
            continue
        inner = {name: item for name, item in parameters.items() if name != key}
        if isinstance(value, dict):
            result[key] = propagate(f"{kind}.{key}", value, inner)
        elif isinstance(value, list):
            result[key] = [
                propagate(f"{kind}.{key}", item, inner) if isinstance(item, dict) else item for item in value
            ]
    if parameters:
        result[_PARAMETERS] = parameters
    return result


def substitute_parameters(node: Any, parameters: Mapping[str, Any] | None = None) -> Any:
    """Render the templates that read nothing but ``parameters`` with the nearest component's
    ``$parameters``; every other template is kept as written."""
    if isinstance(node, dict):
        own = node.get(_PARAMETERS)
        scope = own if isinstance(own, dict) else (parameters or {})
        return {key: substitute_parameters(value, scope) for key, value in node.items()}
    if isinstance(node, list):
        return [substitute_parameters(item, parameters) for item in node]
    if isinstance(node, str) and parameters is not None and _EXPRESSION.search(node):
        return _render_parameters(node, parameters)
    return node


def _render_parameters(text: str, parameters: Mapping[str, Any]) -> Any:
    try:
        tree = _PARAMETER_ONLY.parse(text)
        if meta.find_undeclared_variables(tree) != {"parameters"}:
            return text
        return _PARAMETER_ONLY.from_string(text).render(parameters=parameters)
    except (TemplateError, TypeError, ValueError, LookupError):
        return text  # Airbyte would fail on it at run time; the translation says why later


def manifest_streams(manifest: Mapping[str, Any]) -> Iterator[ManifestStream]:
    """The streams a manifest declares, in order: ``streams`` entries (a ``StateDelegatingStream``
    as its two halves, a ``ConditionalStreams`` as its members) and each ``dynamic_streams``
    template."""
    for item in manifest.get("streams") or []:
        yield from _expand(item, "streams")
    for dynamic in manifest.get("dynamic_streams") or []:
        if isinstance(dynamic, dict) and isinstance(dynamic.get("stream_template"), dict):
            yield from _expand(dynamic["stream_template"], "dynamic_streams.stream_template")


def _expand(item: Any, kind: str) -> Iterator[ManifestStream]:
    if not isinstance(item, dict):
        return
    kind_of = item.get("type")
    if kind_of == "StateDelegatingStream":
        for half in ("full_refresh_stream", "incremental_stream"):
            if isinstance(item.get(half), dict):
                name = str(item.get("name") or item[half].get("name") or "stream")
                yield ManifestStream(name, f"{kind}:StateDelegatingStream.{half}", item[half])
    elif kind_of == "ConditionalStreams":
        for member in item.get("streams") or []:
            yield from _expand(member, f"{kind}:ConditionalStreams")
    else:
        yield ManifestStream(str(item.get("name") or "stream"), kind, item)
