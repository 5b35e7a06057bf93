import pytest

from authgate.origin import normalise_origin


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
