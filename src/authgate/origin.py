"""What counts as an origin: exactly `scheme://host[:port]`, in the form browsers send it."""

import ipaddress
import re

DEFAULT_PORTS = {"http": 80, "https": 443}
MAX_LENGTH = 300  # the cors_origin column
SHAPE = re.compile(
    r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://"
    r"(?P<host>\[[0-9A-Fa-f:.]+\]|[^\s:/?#@\[\]\\]+)"
    r"(?::(?P<port>[0-9]{1,5}))?$"
)
LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
SHAPE_HINT = "an origin is exactly scheme://host[:port]: no path (not even '/'), query or user-info"


def normalise_origin(value: str) -> str:
    """`value` as a browser writes it in `Origin`; ValueError when it is not one.

    Lower-case scheme and host, IDNA (punycode) host names, compressed IPv6, and no port
    when it is the scheme's default: a browser never sends `https://a.example:443`, so a
    stored origin in that form would never match.
    """
    if len(value) > MAX_LENGTH:
        raise ValueError(f"an origin is at most {MAX_LENGTH} characters")
    match = SHAPE.match(value.strip())
    if match is None:
        raise ValueError(SHAPE_HINT)
    scheme = match["scheme"].lower()
    if scheme not in DEFAULT_PORTS:
        raise ValueError("the scheme of an origin must be http or https")
    host = _host(match["host"])
    port = _port(match["port"], scheme)
    return f"{scheme}://{host}{port}"


def _host(raw: str) -> str:
    if raw.startswith("["):
        try:
            return f"[{ipaddress.IPv6Address(raw[1:-1]).compressed}]"
        except ValueError:
            raise ValueError(f"{raw!r} is not an IPv6 address") from None
    try:
        host = raw.encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise ValueError(f"{raw!r} is not a valid host name") from None
    labels = host.split(".")
    if not all(LABEL.match(label) for label in labels):
        raise ValueError(f"{raw!r} is not a valid host name")
    if all(label.isdigit() for label in labels):
        try:
            return str(ipaddress.IPv4Address(host))
        except ValueError:
            raise ValueError(f"{raw!r} is not an IPv4 address") from None
    return host


def _port(raw: str | None, scheme: str) -> str:
    if raw is None:
        return ""
    port = int(raw)
    if not 1 <= port <= 65535:
        raise ValueError("the port of an origin must be between 1 and 65535")
    return "" if port == DEFAULT_PORTS[scheme] else f":{port}"
