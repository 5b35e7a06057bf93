import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from authgate.origin import ORIGIN_PATTERN, normalise_origin


@pytest.mark.parametrize(
    ("given", "normalised"),
    [
        ("https://app.example", "https://app.example"),
        ("HTTPS://App.Example:8443", "https://app.example:8443"),
        ("http://localhost:5173", "http://localhost:5173"),
        ("http://127.0.0.1:8000", "http://127.0.0.1:8000"),
        ("https://app.example:443", "https://app.example"),
        ("http://app.example:80", "http://app.example"),
        ("http://app.example:0080", "http://app.example"),
        ("http://[::1]:3000", "http://[::1]:3000"),
        ("http://[0:0:0:0:0:0:0:1]", "http://[::1]"),
        ("https://bücher.example", "https://xn--bcher-kva.example"),
        ("  https://app.example  ", "https://app.example"),
    ],
)
def test_origins_are_normalised_as_browsers_send_them(given: str, normalised: str) -> None:
    assert normalise_origin(given) == normalised


@pytest.mark.parametrize(
    "given",
    [
        "https://app.example/",
        "https://app.example/path",
        "https://app.example?x=1",
        "https://app.example#top",
        "https://user@app.example",
        "https://user:pw@app.example",
        "ftp://app.example",
        "app.example",
        "//app.example",
        "https://",
        "https://app.example:",
        "https://app.example:0",
        "https://app.example:65536",
        "https://app..example",
        "https://-app.example",
        "https://app.example.",
        "https://app_example.com",
        "https://999.1.1.1",
        "http://[::g]",
        "null",
        "*",
        "",
        "https://a b.example",
        "https://" + "a" * 300 + ".example",
    ],
)
def test_anything_but_scheme_host_port_is_refused(given: str) -> None:
    with pytest.raises(ValueError):
        normalise_origin(given)


def _accepted(value: str) -> bool:
    try:
        normalise_origin(value)
    except ValueError:
        return False
    return True


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.from_regex(ORIGIN_PATTERN, fullmatch=True))
def test_whatever_the_documented_pattern_allows_is_an_origin(value: str) -> None:
    assert _accepted(value), value


NEAR_ORIGINS = st.text(st.sampled_from(list("htps:/[]0123456789abcdefAFx.-_@%")), max_size=40)
PREFIXES = st.sampled_from(["http://", "HTTPS://", "ftp://", "", "http://[", "http://[::"])


@settings(max_examples=2000, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    st.sampled_from(["http://", "HTTPS://", "ftp://", "", "http://[", "http://[::"]), NEAR_ORIGINS
)
def test_the_pattern_and_the_check_agree(prefix: str, rest: str) -> None:
    """On ASCII text without spaces (the API's domain: its schema's pattern comes first)."""
    value = prefix + rest
    assert bool(re.fullmatch(ORIGIN_PATTERN, value)) == _accepted(value), value
