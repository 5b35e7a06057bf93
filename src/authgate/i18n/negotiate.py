"""Pick `en` or `ko` from an Accept-Language header, honouring q-values."""

from functools import lru_cache

SUPPORTED = ("en", "ko")
CONTENT_LANGUAGE = {"en": "en-US", "ko": "ko-KR"}
MAX_RANGES = 32


@lru_cache(maxsize=1024)
def negotiate(header: str | None, default: str = "en") -> str:
    """The best supported language for `header`: highest q first, then header order.

    `*` stands for the default language, `q=0` excludes a language, and when nothing
    acceptable remains the default is used anyway (a 406 would help nobody).
    """
    if not header:
        return default
    ranked: list[tuple[float, int, str]] = []
    excluded: set[str] = set()
    for index, part in enumerate(header.split(",")[:MAX_RANGES]):
        tag, _, params = part.strip().partition(";")
        tag = tag.strip().lower()
        language = default if tag == "*" else tag.split("-", 1)[0]
        q = _quality(params)
        if language not in SUPPORTED or q is None:
            continue
        if q == 0:
            if tag != "*":
                excluded.add(language)
            continue
        ranked.append((-q, index, language))
    for _, _, language in sorted(ranked):
        if language not in excluded:
            return language
    # The caller refused the default explicitly: answer in a language it did not refuse.
    if default in excluded:
        return next((lang for lang in SUPPORTED if lang not in excluded), default)
    return default


def _quality(params: str) -> float | None:
    """A range's q-value: 1 when absent, None when malformed (the range is then ignored)."""
    for param in params.split(";"):
        name, _, value = param.strip().partition("=")
        if name.strip().lower() == "q":
            try:
                q = float(value)
            except ValueError:
                return None
            return q if 0.0 <= q <= 1.0 else None
    return 1.0
