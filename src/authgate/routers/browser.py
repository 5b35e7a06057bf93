"""The seed's browser routes: sign-up, log-in and log-out with cookie sessions, and service info."""

from fastapi import APIRouter, Request, Response

from authgate.accounts.schemas import Credentials, UserCreate, UserRead
from authgate.bodies import parse_body
from authgate.browser.schemas import LoginResult, ServiceInfo, SignupResult
from authgate.errors import CsrfFailed
from authgate.handlers import language_of
from authgate.i18n import translate
from authgate.openapi import LOGIN_401, form_or_json, responses
from authgate.routers.credentials import SIGNUP_CODES, log_in_request, register_request
from authgate.routing import LeanRoute
from authgate.schemas import Message
from authgate.security.csrf import CSRF_HEADER, is_valid
from authgate.sessions import service as sessions
from authgate.sessions.dependencies import event_context
from authgate.sessions.opening import SessionOpening
from authgate.sessions.service import hash_secret
from authgate.sessions.transport import (
    clear_session_cookies,
    csrf_cookie,
    session_cookie,
    set_session_cookies,
)

router = APIRouter(tags=["browser"], responses=responses(413), route_class=LeanRoute)


def cookie_opening(
    request: Request, user_id: int | None, amr: str = "pwd", method: str | None = None
) -> SessionOpening:
    state = request.app.state
    return SessionOpening(
        user_id, "cookie", now=state.clock(), lifetime=state.settings.session_cookie_age,
        absolute=state.settings.session_absolute_lifetime,
        user_agent=request.headers.get("user-agent", ""), ip=state.clients.client_ip(request),
        amr=amr, context=event_context(request), method=method,
    )  # fmt: skip


@router.post(
    "/signup",
    status_code=201,
    response_model=SignupResult,
    openapi_extra=form_or_json(UserCreate),
    responses=responses(400, 413, 415, 422, 429, codes=SIGNUP_CODES),
)
async def signup(request: Request, response: Response) -> SignupResult:
    """Create an account and log it in with a cookie session."""
    data = await parse_body(request, UserCreate)
    opening = cookie_opening(request, None)
    user = await register_request(request, data, opening=opening)
    set_session_cookies(response, request, opening.secret)
    message = translate("signup_success", language_of(request), username=user.username)
    return SignupResult(message=message, user=UserRead.model_validate(user))


@router.post(
    "/login",
    response_model=LoginResult,
    openapi_extra=form_or_json(Credentials),
    responses=responses(401, 413, 415, 422, 429, codes={401: LOGIN_401}),
)
async def login(request: Request, response: Response) -> LoginResult:
    """Log in with username and password; sets the session and CSRF cookies."""
    data = await parse_body(request, Credentials)
    user, opening = await log_in_request(
        request, data.username, data.password, kind="cookie",
        new_session=lambda user_id: cookie_opening(request, user_id),
    )  # fmt: skip
    set_session_cookies(response, request, opening.secret)
    message = translate("login_success", language_of(request))
    return LoginResult(message=message, user=UserRead.model_validate(user))


@router.post("/logout", response_model=Message, responses=responses(403))
async def logout(request: Request, response: Response) -> Message:
    """End the cookie session (idempotent) and clear both cookies."""
    state = request.app.state
    secret = session_cookie(request)
    if secret:
        session = await state.sessions.by_secret_hash(hash_secret(secret))
        if session is not None and session.is_live(state.clock()):
            if not is_valid(
                state.secret_key,
                secret,
                csrf_cookie(request),
                request.headers.get(CSRF_HEADER),
            ):
                raise CsrfFailed()
            ended, now, context = [session.id], state.clock(), event_context(request)
            await state.db.write(lambda c: sessions.end_sessions(c, ended, now, context))
    clear_session_cookies(response, request)
    return Message(message=translate("logout_success", language_of(request)))


@router.get("/api/info", response_model=ServiceInfo)
async def info(request: Request) -> ServiceInfo:
    """Describe the service and its API version."""
    return ServiceInfo(
        service="authgate",
        description=translate("service_description", language_of(request)),
        status="operational",
        version=request.app.version,
    )
