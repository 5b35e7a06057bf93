"""Accept-Language negotiation, and the en/ko catalogue's completeness."""

import re
import string

import pytest

from authgate.i18n import CONTENT_LANGUAGE, negotiate, translate
from authgate.i18n.catalogue import CATALOGUE

# The stable error codes of the contract (API.md, "Errors").
CONTRACT_CODES = [
    "validation_error",
    "username_taken",
    "email_taken",
    "password_policy",
    "invalid_credentials",
    "not_authenticated",
    "token_invalid",
    "token_expired",
    "token_revoked",
    "token_reused",
    "csrf_failed",
    "forbidden",
    "not_found",
    "rate_limited",
    "precondition_failed",
    "payload_too_large",
    "unsupported_media_type",
    "service_unavailable",
]


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("ko", "ko"),
        ("en", "en"),
        ("ko-KR", "ko"),
        ("KO-kr", "ko"),
        ("en-GB", "en"),
        ("ko-KR,ko;q=0.9,en-US;q=0.8,en;q=0.7", "ko"),
        ("en-US,en;q=0.9,ko;q=0.8", "en"),
        # q-values beat order; equal q-values keep the header's order.
        ("en;q=0.5, ko;q=0.8", "ko"),
        ("ko;q=0.5, en", "en"),
        ("ko, en", "ko"),
        ("en, ko", "en"),
        ("ko;q=0.7, en;q=0.7", "ko"),
        (" ko ; q = 0.5 , en ; q=0.4 ", "ko"),
        ("ko;q=1.000", "ko"),
        # Unsupported languages are skipped.
        ("fr, de;q=0.9, ko;q=0.1", "ko"),
        ("x-klingon, ko", "ko"),
        # q=0 excludes.
        ("en;q=0, ko;q=0.1", "ko"),
        ("en;q=0", "ko"),
        ("en;q=0.0, *", "ko"),
        ("en-US;q=0, ko;q=0.5", "ko"),
        # '*' means the default (en here).
        ("*", "en"),
        ("fr, *;q=0.5", "en"),
        ("ko;q=0.4, *", "en"),
        ("*;q=0.1, ko", "ko"),
    ],
)
def test_negotiate(header, expected):
    assert negotiate(header, "en") == expected


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, "ko"),
        ("", "ko"),
        ("fr", "ko"),
        ("*", "ko"),
        ("en;q=0.4, *", "ko"),
        ("en", "en"),
        ("ko;q=0", "en"),  # the default itself refused: the other language
        ("ko;q=0, *", "en"),
        ("ko;q=0, en;q=0", "ko"),  # everything refused: a 406 would help nobody
    ],
)
def test_default_language_ko(header, expected):
    assert negotiate(header, "ko") == expected


@pytest.mark.parametrize(
    "header",
    [
        ";;;",
        ",,,",
        "q=1",
        ";q=0.5",
        "en;q=abc",
        "en;q=2",
        "en;q=-1",
        "en;q=nan",
        "en;q=inf",
        "한국어",
        "\x00\xff",
        "en;q=" + "9" * 10_000,
        ",".join(["fr"] * 10_000),
        "-",
        "*-*",
    ],
)
@pytest.mark.parametrize("default", ["en", "ko"])
def test_garbage_falls_back_to_the_default(header, default):
    assert negotiate(header, default) == default


def test_a_malformed_q_value_ignores_that_range_only():
    assert negotiate("en;q=abc, ko;q=0.1", "en") == "ko"
    assert negotiate("ko;q=abc, en;q=0.1", "ko") == "en"


def test_content_language_tags():
    assert CONTENT_LANGUAGE == {"en": "en-US", "ko": "ko-KR"}


def fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


@pytest.mark.parametrize("key", sorted(CATALOGUE))
def test_every_entry_exists_in_english_and_korean_with_the_same_placeholders(key):
    entry = CATALOGUE[key]
    assert set(entry) == {"en", "ko"}
    assert entry["en"].strip() and entry["ko"].strip()
    assert fields(entry["en"]) == fields(entry["ko"])
    assert re.search("[\uac00-\ud7a3]", entry["ko"]), "the Korean text has no Hangul"


@pytest.mark.parametrize("code", CONTRACT_CODES)
def test_every_contract_error_code_has_an_entry(code):
    assert code in CATALOGUE
    assert translate(code, "en") != translate(code, "ko")


def test_translate_fills_in_parameters_and_falls_back():
    assert (
        translate("signup_success", "ko", username="민수") == "민수님, 회원가입이 완료되었습니다."
    )
    assert (
        translate("signup_success", "en", username="bob") == "bob, your account has been created."
    )
    assert translate("not_found", "fr") == "Not found."
    assert translate("no-such-key", "en") == "no-such-key"
    # A parameter's own braces are not formatted again.
    assert (
        translate("signup_success", "en", username="{x}") == "{x}, your account has been created."
    )
