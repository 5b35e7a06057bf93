"""/ui pages where e-mailed links land when no front end's URL is configured.

Server-rendered, no script: a form posts back here and the outcome is a page. A link is checked
when the page opens, so a used or expired one says so at once. Not part of the API's schema.
"""

from importlib.resources import files

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from authgate.accounts.policy import PasswordPolicyError
from authgate.handlers import language_of
from authgate.i18n import translate
from authgate.recovery import service
from authgate.recovery.dependencies import confirm_email, reset_password
from authgate.recovery.errors import LinkTokenInvalid
from authgate.routing import LeanRoute
from authgate.ui.pages import SECURITY_HEADERS, note, page, reset_form, verify_form

router = APIRouter(prefix="/ui", include_in_schema=False, route_class=LeanRoute)
STYLE = files("authgate.ui").joinpath("static/ui.css").read_bytes()


def _html(text: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(text, status_code=status, headers=SECURITY_HEADERS)


def _message(
    language: str, title_key: str, key: str, kind: str, status: int, **params: str
) -> HTMLResponse:
    return _html(page(language, title_key, note(translate(key, language, **params), kind)), status)


@router.get("/reset-password")
async def reset_password_page(request: Request, token: str = "") -> HTMLResponse:
    """The form to choose a new password, or why the link no longer works."""
    language = language_of(request)
    try:
        await service.check_reset(request.app.state.db, token, request.app.state.clock())
    except LinkTokenInvalid:
        key = "link_invalid" if token else "ui_link_missing"
        return _message(language, "ui_reset_title", key, "error", 400)
    return _html(reset_form(language, token))


@router.post("/reset-password")
async def reset_password_submit(request: Request) -> HTMLResponse:
    """Apply the form: the new password, or the reason it was refused."""
    language = language_of(request)
    form = await request.form()
    token, new, repeat = (str(form.get(name) or "") for name in
                          ("token", "new_password", "repeat_password"))  # fmt: skip
    if new != repeat:
        return _html(reset_form(language, token, translate("ui_passwords_differ", language)), 400)
    try:
        await reset_password(request, token, new)
    except LinkTokenInvalid:
        return _message(language, "ui_reset_title", "link_invalid", "error", 400)
    except PasswordPolicyError as exc:
        return _html(reset_form(language, token, exc.detail(language)), 400)
    return _message(language, "ui_reset_title", "ui_reset_done", "ok", 200)


@router.get("/verify-email")
async def verify_email_page(request: Request, token: str = "") -> HTMLResponse:
    """A button that confirms the address (mail scanners that open links confirm nothing)."""
    language = language_of(request)
    try:
        await service.check_verification(request.app.state.db, token, request.app.state.clock())
    except LinkTokenInvalid:
        key = "link_invalid" if token else "ui_link_missing"
        return _message(language, "ui_verify_title", key, "error", 400)
    return _html(verify_form(language, token))


@router.post("/verify-email")
async def verify_email_submit(request: Request) -> HTMLResponse:
    """Confirm the address, and say so."""
    language = language_of(request)
    form = await request.form()
    try:
        user = await confirm_email(request, str(form.get("token") or ""))
    except LinkTokenInvalid:
        return _message(language, "ui_verify_title", "link_invalid", "error", 400)
    return _message(
        language, "ui_verify_title", "ui_verify_done", "ok", 200, email=user.email or ""
    )


@router.get("/static/ui.css")
async def stylesheet() -> Response:
    """The pages' only style sheet."""
    return Response(STYLE, media_type="text/css", headers={"Cache-Control": "max-age=3600"})
