"""`OriginPolicy`: where a session's requests may go, and what may go with them."""

from __future__ import annotations

import pytest

from mcp_paginate.errors import HostNotAllowedError
from mcp_paginate.http import OriginPolicy, origin_of
from mcp_paginate.http.policy import is_credential, is_internal
from mcp_paginate.redaction import Redactor

HOME = "https://api.example.com/v1/items"


@pytest.mark.parametrize(
    ("url", "origin"),
    [
        ("https://API.example.com/x?q=1", "https://api.example.com:443"),
        ("http://api.example.com", "http://api.example.com:80"),
        ("http://[::1]:8080/x", "http://::1:8080"),
    ],
)
def test_origin_of_makes_the_default_port_explicit(url: str, origin: str) -> None:
    assert origin_of(url) == origin


def test_the_home_origin_and_its_https_upgrade_keep_credentials() -> None:
    policy = OriginPolicy(home=origin_of("http://api.example.com/v1"))
    assert policy.check("http://api.example.com/v1?page=2") is False
    assert policy.check("https://api.example.com/v1?page=2") is False


def test_another_origin_must_be_listed_and_then_loses_its_credentials() -> None:
    with pytest.raises(HostNotAllowedError, match=r"other.example.com:443.*not in server.allowed_hosts"):
        OriginPolicy(home=origin_of(HOME)).check("https://other.example.com/next")
    listed = OriginPolicy(home=origin_of(HOME), allowed_hosts=("other.example.com",))
    assert listed.check("https://other.example.com/next") is True


@pytest.mark.parametrize("url", ["ftp://api.example.com/x", "/relative/next", "https://[::1/x"])
def test_only_absolute_http_urls_can_be_followed(url: str) -> None:
    with pytest.raises(HostNotAllowedError):
        OriginPolicy(home=origin_of(HOME)).check(url)


@pytest.mark.parametrize(
    ("entry", "url", "listed"),
    [
        ("api.example.com", "https://api.example.com:8443/x", True),
        ("api.example.com:8443", "https://api.example.com:8443/x", True),
        ("api.example.com:8443", "https://api.example.com/x", False),
        ("[::1]:8080", "http://[::1]:8080/x", True),
        ("::1", "http://[0:0::1]:9/x", True),
        ("https://api.example.com/", "https://api.example.com/x", True),
        ("example.com", "https://api.example.com/x", False),
    ],
)
def test_allowed_hosts_entries_match_host_and_optional_port(entry: str, url: str, listed: bool) -> None:
    assert OriginPolicy(home=origin_of(HOME), allowed_hosts=(entry,)).host_listed(url) is listed


def test_an_ad_hoc_start_must_be_on_an_allowed_host() -> None:
    with pytest.raises(HostNotAllowedError, match=r"allowed_hosts \(now: none\)"):
        OriginPolicy(home=origin_of(HOME), ad_hoc=True).check_start(HOME)


@pytest.mark.parametrize(
    "host", ["127.0.0.1", "127.0.0.2", "10.1.2.3", "169.254.169.254", "[::ffff:10.0.0.1]"]
)
def test_an_ad_hoc_request_that_connected_to_an_internal_address_is_refused(host: str) -> None:
    # Listed by name, not by address: the connected peer (after DNS, perhaps rebound) is checked.
    name = "internal.test"
    policy = OriginPolicy(home=origin_of(f"http://{name}/"), allowed_hosts=(name,), ad_hoc=True)
    with pytest.raises(HostNotAllowedError):
        policy.check_peer(f"http://{name}/", host.strip("[]"))


def test_an_internal_host_listed_by_address_is_allowed() -> None:
    policy = OriginPolicy(
        home=origin_of("http://127.0.0.1:8080/"), allowed_hosts=("127.0.0.1:8080",), ad_hoc=True
    )
    policy.check_start("http://127.0.0.1:8080/items")
    policy.check_peer("http://127.0.0.1:8080/items", "127.0.0.1")


@pytest.mark.parametrize(
    ("address", "internal"),
    [
        ("8.8.8.8", False),
        ("10.0.0.1", True),
        ("100.64.0.1", True),
        ("64:ff9b::a00:1", True),
        ("fe80::1", True),
    ],
)
def test_internal_addresses_include_embedded_and_shared_ones(address: str, internal: bool) -> None:
    import ipaddress

    assert is_internal(ipaddress.ip_address(address)) is internal


def test_strip_credentials_drops_what_may_carry_one_and_keeps_the_rest() -> None:
    policy = OriginPolicy(home=origin_of(HOME), secret_headers=frozenset({"x-tenant"}))
    headers = {
        "Authorization": "Bearer a",
        "Cookie": "c=1",
        "X-Api-Key": "k",
        "X-Session-Id": "s",
        "X-Tenant": "t",
        "Accept": "application/json",
        "X-Api-Version": "2025-09",
    }
    assert policy.strip_credentials(headers) == {"Accept": "application/json", "X-Api-Version": "2025-09"}
    assert is_credential("proxy-authorization") and not is_credential("content-type")


def test_a_secret_in_the_url_query_or_body_is_never_sent_to_another_origin() -> None:
    secret = "sk-live-4f9a0c2e7b"
    policy = OriginPolicy(home=origin_of(HOME))
    redactor = Redactor([secret])
    elsewhere = "https://other.example.com/next"
    policy.refuse_secrets(elsewhere, {"page": "2"}, {"q": 1}, redactor)  # nothing secret: passes
    for query, body, carried in (({"key": secret}, None, "URL"), (None, {"auth": secret}, "body")):
        with pytest.raises(HostNotAllowedError, match=f"its {carried} would carry a secret"):
            policy.refuse_secrets(elsewhere, query, body, redactor)
