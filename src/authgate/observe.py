"""What each answered request leaves behind: its metrics and one log line.

`RequestObserver` is `StandardHeadersMiddleware`'s observer. The route label is the template
of the route that matched (`/items/{item_id}`), which routing leaves in `scope["route"]`; a
request that matched none is `unmatched`, never its raw path.
"""

import logging

from starlette.types import Scope

from authgate import logs
from authgate.metrics import UNMATCHED, Metrics
from authgate.middleware.headers import USER_ID

log = logging.getLogger("authgate.request")


class RequestObserver:
    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    def __call__(self, scope: Scope, status: int, seconds: float) -> None:
        # `path_format`: the template as documented, without a convertor (`{passkey_id:uuid}`).
        route = getattr(scope.get("route"), "path_format", None) or UNMATCHED
        method = scope["method"]
        self.metrics.observe_request(method, route, status, seconds)
        if log.isEnabledFor(logging.INFO):
            state = scope.get("state") or {}
            logs.request_line(log, method, route, status, seconds,
                              state.get("request_id"), state.get(USER_ID))  # fmt: skip
