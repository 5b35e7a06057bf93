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

# The same rules as one pattern, for the API's schema: the ASCII forms (host names punycoded,
# as browsers send them) that `normalise_origin` accepts, and only those. No lookahead, so
# that every regex engine reading the schema can use it.
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])"
_IPV4 = rf"{_OCTET}(?:\.{_OCTET}){{3}}"
_H16 = r"[0-9A-Fa-f]{1,4}"
_LS32 = rf"(?:{_H16}:{_H16}|{_IPV4})"
_IPV6 = "|".join([  # RFC 3986, section 3.2.2
    rf"(?:{_H16}:){{6}}{_LS32}",
    rf"::(?:{_H16}:){{5}}{_LS32}",
    rf"(?:{_H16})?::(?:{_H16}:){{4}}{_LS32}",
    rf"(?:(?:{_H16}:){{0,1}}{_H16})?::(?:{_H16}:){{3}}{_LS32}",
    rf"(?:(?:{_H16}:){{0,2}}{_H16})?::(?:{_H16}:){{2}}{_LS32}",
    rf"(?:(?:{_H16}:){{0,3}}{_H16})?::{_H16}:{_LS32}",
    rf"(?:(?:{_H16}:){{0,4}}{_H16})?::{_LS32}",
    rf"(?:(?:{_H16}:){{0,5}}{_H16})?::{_H16}",
    rf"(?:(?:{_H16}:){{0,6}}{_H16})?::",
])  # fmt: skip
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_TOP_LABEL = r"[A-Za-z](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_PORT = "|".join([  # 1 to 65535, leading zeros allowed up to five digits
    r"0{0,4}[1-9]", r"0{0,3}[1-9][0-9]", r"0{0,2}[1-9][0-9]{2}", r"0?[1-9][0-9]{3}",
    r"[1-5][0-9]{4}", r"6[0-4][0-9]{3}", r"65[0-4][0-9]{2}", r"655[0-2][0-9]", r"6553[0-5]",
])  # fmt: skip
ORIGIN_PATTERN = (
    rf"^[Hh][Tt][Tt][Pp][Ss]?://(?:{_IPV4}|\[(?:{_IPV6})\]|(?:{_LABEL}\.)*{_TOP_LABEL})"
    rf"(?::(?:{_PORT}))?$"
)


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
    if not labels[-1][0].isalpha():  # no top-level domain starts with a digit
        raise ValueError(f"{raw!r} is not a valid host name")
    return host


def _port(raw: str | None, scheme: str) -> str:
    if raw is None:
        return ""
    port = int(raw)
    if not 1 <= port <= 65535:
        raise ValueError("the port of an origin must be between 1 and 65535")
    return "" if port == DEFAULT_PORTS[scheme] else f":{port}"
