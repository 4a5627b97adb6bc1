"""`Redactor`: secrets masked in every form text may carry them, concealed and revealed by name."""

from __future__ import annotations

from urllib.parse import quote, quote_plus

import pytest

from mcp_paginate.redaction import Redactor

SECRET = "sk+live/AbC9=="


@pytest.mark.parametrize(
    "form",
    [
        SECRET,
        quote(SECRET, safe=""),
        "sk%2blive%2fAbC9%3d%3d",  # escapes in lower case
        quote(SECRET),
        quote_plus(SECRET),
        "sk+live\\/AbC9==",
    ],
)
def test_every_form_of_a_secret_is_masked(form: str) -> None:
    assert Redactor([SECRET]).redact(f"GET /x?key={form}&page=2") == "GET /x?key=[REDACTED]&page=2"


def test_short_values_are_not_treated_as_secrets() -> None:
    redactor = Redactor(["on"])
    assert redactor.redact("only one") == "only one" and not redactor.found("on")


def test_shorten_never_shows_part_of_a_secret_cut_through() -> None:
    redactor = Redactor([SECRET])
    text = "error: " + SECRET + " was refused"
    shortened = redactor.shorten(text, 12)  # the cut falls inside the secret
    assert "sk+" not in shortened and shortened.startswith("error: [REDACTED]")


def test_a_longer_secret_containing_another_is_masked_whole() -> None:
    assert Redactor(["abcd", "abcdefgh"]).redact("x abcdefgh y") == "x [REDACTED] y"


def test_conceal_and_reveal_round_trip_named_secrets_only() -> None:
    redactor = Redactor()
    redactor.add("token-12345", name="API_TOKEN")
    redactor.add("anonymous-999")
    text = "https://api.test/x?t=token-12345&u=anonymous-999"
    concealed = redactor.conceal(text)
    assert concealed == "https://api.test/x?t={secret:API_TOKEN}&u=anonymous-999"
    assert redactor.reveal(concealed) == text
    assert redactor.reveal("{secret:UNKNOWN}") == "{secret:UNKNOWN}"


def test_found_in_tests_raw_bodies_cheaply() -> None:
    redactor = Redactor([SECRET])
    assert redactor.found_in(b'{"echo": "sk+live\\/AbC9=="}')
    assert not redactor.found_in(b'{"records": []}')
    assert Redactor().found_in(b"anything") is False


def test_redact_any_walks_keys_and_values() -> None:
    redactor = Redactor([SECRET])
    assert redactor.redact_any({SECRET: [SECRET, 1, None]}) == {"[REDACTED]": ["[REDACTED]", 1, None]}
