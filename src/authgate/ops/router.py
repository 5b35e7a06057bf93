"""Operations: liveness, readiness and Prometheus metrics."""

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from authgate.openapi import responses

router = APIRouter(tags=["operations"], responses=responses(413))


@router.get("/health")
async def health() -> dict[str, str]:
    """Liveness: the process answers."""
    return {"status": "ok"}


@router.get("/ready", responses={503: {"description": "The database is unreachable"}})
async def ready(request: Request) -> JSONResponse:
    """Readiness: the database (and Redis, when configured) answer."""
    state = request.app.state
    checks = {"database": "ok", "redis": "disabled"}
    try:
        async with state.db.reader() as db:
            await db.execute(text("SELECT 1"))
    except Exception:
        checks["database"] = "error"
    redis = getattr(state, "redis", None)
    if redis is not None:
        try:
            await redis.ping()
            checks["redis"] = "ok"
        except Exception:
            checks["redis"] = "error"
    return JSONResponse(checks, status_code=200 if checks["database"] == "ok" else 503)


@router.get("/metrics", response_class=Response)
async def metrics(request: Request) -> Response:
    """Prometheus metrics of this process."""
    return Response(generate_latest(request.app.state.metrics), media_type=CONTENT_TYPE_LATEST)
