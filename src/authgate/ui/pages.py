"""The landing pages' HTML: one small layout, every text from the catalogue, escaped."""

from html import escape

from authgate.i18n import translate

SECURITY_HEADERS = {
    # Nothing from elsewhere, no script at all, forms only to authgate, never in a frame.
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'none'; style-src 'self'; img-src 'self'; "
        "form-action 'self'; connect-src 'self'; base-uri 'none'; frame-ancestors 'none'"
    ),
    # The token is in the URL: no Referer may carry it anywhere.
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}


def page(language: str, title_key: str, body: str) -> str:
    title = escape(translate(title_key, language))
    return (
        f'<!DOCTYPE html>\n<html lang="{language}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<title>{title}</title><link rel="stylesheet" href="/ui/static/ui.css"></head>'
        f"<body><main><h1>{title}</h1>{body}</main></body></html>\n"
    )


def note(text: str, kind: str) -> str:
    return f'<p class="{kind}" id="outcome" role="status">{escape(text)}</p>'


def reset_form(language: str, token: str, problem: str | None = None) -> str:
    t = {key: escape(translate(key, language))
         for key in ("ui_new_password", "ui_repeat_password", "ui_reset_submit")}  # fmt: skip
    return page(
        language,
        "ui_reset_title",
        (note(problem, "error") if problem else "")
        + '<form method="post" action="/ui/reset-password">'
        f'<input type="hidden" name="token" value="{escape(token, quote=True)}">'
        f'<label for="new_password">{t["ui_new_password"]}</label>'
        '<input type="password" id="new_password" name="new_password" required '
        'autocomplete="new-password">'
        f'<label for="repeat_password">{t["ui_repeat_password"]}</label>'
        '<input type="password" id="repeat_password" name="repeat_password" required '
        'autocomplete="new-password">'
        f'<button type="submit">{t["ui_reset_submit"]}</button></form>',
    )


def verify_form(language: str, token: str) -> str:
    return page(
        language,
        "ui_verify_title",
        f"<p>{escape(translate('ui_verify_prompt', language))}</p>"
        '<form method="post" action="/ui/verify-email">'
        f'<input type="hidden" name="token" value="{escape(token, quote=True)}">'
        f'<button type="submit">{escape(translate("mail_verify_action", language))}</button>'
        "</form>",
    )
