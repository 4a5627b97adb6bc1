"""Response bodies: JSON as ``json.loads`` reads it, bounded in depth; RFC 8288 ``Link`` headers."""

from __future__ import annotations

import json

import pytest

from mcp_paginate.http import MAX_DEPTH, TooDeepError, load_json, parse_links


@pytest.mark.parametrize("body", [b'{"a": [1, 2.5, null, true]}', b"\xef\xbb\xbf[1]", b"[NaN]", b'"x"'])
def test_load_json_reads_what_json_loads_reads(body: bytes) -> None:
    expected = json.loads(body)
    parsed = load_json(body)
    assert json.dumps(parsed) == json.dumps(expected)


def test_a_lone_surrogate_becomes_the_replacement_character_in_keys_and_values() -> None:
    assert load_json(b'{"\\ud800k": ["\\udfff"]}') == {"\ufffdk": ["\ufffd"]}


def test_nesting_deeper_than_max_depth_is_refused() -> None:
    assert load_json(b"[" * MAX_DEPTH + b"]" * MAX_DEPTH) is not None
    with pytest.raises((TooDeepError, RecursionError)):
        load_json(b"[" * (MAX_DEPTH + 1) + b"]" * (MAX_DEPTH + 1))


@pytest.mark.parametrize("body", [b"", b"not json", b"{", b"<html>oops</html>"])
def test_what_is_not_json_raises_value_error(body: bytes) -> None:
    with pytest.raises(ValueError):
        load_json(body)


def test_link_relations_are_split_lower_cased_resolved_and_first_wins() -> None:
    header = (
        '</p?page=2>; REL="next last", <https://other.test/p?page=9>; rel=last, '
        '<p?page=1>; title="a, b; c"; rel="prev"'
    )
    assert parse_links({"link": header}, "https://api.test/base/page") == {
        "next": "https://api.test/p?page=2",
        "last": "https://api.test/p?page=2",
        "prev": "https://api.test/base/p?page=1",
    }


def test_no_link_header_means_no_links() -> None:
    assert parse_links({}, "https://api.test/") == {}
    assert parse_links({"link": "garbage"}, "https://api.test/") == {}
