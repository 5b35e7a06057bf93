"""Operations: liveness, readiness and Prometheus metrics."""

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST
from prometheus_client.core import GaugeMetricFamily

from authgate.mail.outbox import count_pending
from authgate.openapi import responses
from authgate.routing import LeanRoute
from authgate.sessions.service import count_live_sessions

router = APIRouter(tags=["operations"], responses=responses(413), route_class=LeanRoute)


@router.get("/health")
async def health() -> dict[str, str]:
    """Liveness: the process answers."""
    return {"status": "ok"}


@router.get("/ready", responses={503: {"description": "The database is unreachable or read-only"}})
async def ready(request: Request) -> JSONResponse:
    """Readiness: the database answers and takes writes; Redis, when configured, answers."""
    state = request.app.state
    checks = {"database": "ok", "redis": "disabled"}
    try:
        await state.db.check_writable()
    except Exception:
        checks["database"] = "error"
    if state.settings.redis_url:
        checks["redis"] = "ok" if await state.limits.is_storage_up() else "error"
    return JSONResponse(checks, status_code=200 if checks["database"] == "ok" else 503)


@router.get("/metrics", response_class=Response)
async def metrics(request: Request) -> Response:
    """Prometheus metrics: requests, log-ins and refreshes of every worker; live sessions and
    the mail outbox's depth."""
    state = request.app.state
    now = state.clock()
    live = GaugeMetricFamily("authgate_active_sessions", "Log-in sessions live now")
    live.add_metric([], await state.db.read(lambda c: count_live_sessions(c, now)))
    pending = GaugeMetricFamily("authgate_mail_outbox_pending", "Mails queued, not sent yet")
    pending.add_metric([], await state.db.read(count_pending))
    return Response(state.metrics.exposition([live, pending]), media_type=CONTENT_TYPE_LATEST)
