"""The one ``${ENV}`` expander and the one credential heuristic."""

from __future__ import annotations

import pytest

from mcp_paginate.credentials import (
    Secret,
    UnsetVariableError,
    env_references,
    expand_env,
    looks_like_credential,
)


def test_expand_env_replaces_every_reference_and_reports_what_it_expanded() -> None:
    found: list[Secret] = []
    text = expand_env("${A}:${B}/${A}", {"A": "one", "B": "two"}, found=found)
    assert text == "one:two/one"
    assert found == [Secret("one", "A"), Secret("two", "B"), Secret("one", "A")]


def test_an_unset_variable_raises_unless_a_default_is_given() -> None:
    with pytest.raises(UnsetVariableError) as caught:
        expand_env("Bearer ${TOKEN}", {})
    assert caught.value.name == "TOKEN"
    assert expand_env("${TOKEN}", {}, default="") == ""


def test_only_well_formed_references_are_expanded() -> None:
    assert expand_env("$A ${1X} {A} ${A", {"A": "v"}) == "$A ${1X} {A} ${A"
    assert env_references(["${A}-${B_2}", "{C}", "${A}"]) == {"A", "B_2"}


@pytest.mark.parametrize(
    ("name", "credential"),
    [
        ("Authorization", True),
        ("X-API-Key", True),
        ("x-auth-token", True),
        ("Cookie", True),
        ("X-Session-Id", True),
        ("X-Password", True),
        ("Accept", False),
        ("X-Api-Version", False),
        ("Content-Type", False),
    ],
)
def test_looks_like_credential(name: str, credential: bool) -> None:
    assert looks_like_credential(name) is credential
