"""Reading the Set-Cookie headers of a response, attributes included."""

import httpx

Attributes = dict[str, str | bool]


def set_cookies(response: httpx.Response) -> dict[str, Attributes]:
    """`{name: {"value": ..., "max-age": "3600", "httponly": True, ...}}`, keys in lower case."""
    cookies: dict[str, Attributes] = {}
    for header in response.headers.get_list("set-cookie"):
        name_value, *attributes = (part.strip() for part in header.split(";"))
        name, _, value = name_value.partition("=")
        parsed: Attributes = {"value": value.strip('"')}
        for attribute in attributes:
            key, has_value, attribute_value = attribute.partition("=")
            parsed[key.lower()] = attribute_value if has_value else True
        cookies[name] = parsed
    return cookies
