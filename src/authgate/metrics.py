"""Prometheus metrics: HTTP requests by route template, log-ins, refreshes.

With several workers, `authgate serve` points `PROMETHEUS_MULTIPROC_DIR` at a fresh folder
before any worker starts; prometheus-client, imported anew by each worker, then keeps every
worker's values in files there, and a scrape of any worker sums them all
(`MultiProcessCollector`). Otherwise (one process, tests, an application embedding authgate)
the values live in this app's own registry.

Per request: one dictionary look-up for the label children, a counter increment and a
histogram observation; per log-in or refresh, a look-up and an increment.
"""

import os
from collections.abc import Iterable

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    ProcessCollector,
    generate_latest,
    values,
)
from prometheus_client.metrics_core import Metric
from prometheus_client.multiprocess import MultiProcessCollector

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
# The label of a request that matched no route: never its raw path, which is unbounded.
UNMATCHED = "unmatched"
# Methods clients may send are unbounded too: the rest share one label.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
LOGIN_OUTCOMES = ("succeeded", "failed", "rate_limited")
REFRESH_OUTCOMES = ("rotated", "invalid", "reused")


class Metrics:
    def __init__(self) -> None:
        self.directory = os.environ.get(MULTIPROC_ENV) or None
        if self.directory and values.ValueClass is values.MutexValue:
            # Set after prometheus-client was imported, which reads it once: it counts in
            # memory, so this process's own registry is the truth.
            self.directory = None
        self.registry = CollectorRegistry()
        if self.directory is None:
            ProcessCollector(registry=self.registry)
        self.requests = Counter(
            "authgate_http_requests", "HTTP requests answered, by route template",
            ["method", "route", "status"], registry=self.registry,
        )  # fmt: skip
        self.duration = Histogram(
            "authgate_http_request_duration_seconds", "Time to answer, by route template",
            ["method", "route"], registry=self.registry,
        )  # fmt: skip
        self.logins = Counter(
            "authgate_logins", "Log-in attempts by outcome", ["outcome"], registry=self.registry
        )
        self.refreshes = Counter(
            "authgate_refreshes", "Refresh-token uses by outcome", ["outcome"],
            registry=self.registry,
        )  # fmt: skip
        self._children: dict[tuple[str, str, int], tuple[object, object]] = {}
        # Every outcome from the start (at 0, so that a rate over it is defined from the start),
        # and one look-up per count.
        self._logins = {outcome: self.logins.labels(outcome) for outcome in LOGIN_OUTCOMES}
        self._refreshes = {outcome: self.refreshes.labels(outcome) for outcome in REFRESH_OUTCOMES}

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        key = (method, route, status)
        children = self._children.get(key)
        if children is None:
            label = method if method in METHODS else "other"
            children = (
                self.requests.labels(label, route, str(status)),
                self.duration.labels(label, route),
            )
            self._children[key] = children
        counter, histogram = children
        counter.inc()  # type: ignore[attr-defined]
        histogram.observe(seconds)  # type: ignore[attr-defined]

    def login(self, outcome: str) -> None:
        self._logins[outcome].inc()

    def refresh(self, outcome: str) -> None:
        self._refreshes[outcome].inc()

    def exposition(self, extra: Iterable[Metric] = ()) -> bytes:
        """The text a scrape gets: every worker's values when they share a folder, plus
        `extra` (values computed at scrape time, such as live sessions)."""
        if self.directory is None:
            registry = self.registry
        else:
            registry = CollectorRegistry()
            MultiProcessCollector(registry, path=self.directory)
            ProcessCollector(registry=registry)  # this worker's
        text = generate_latest(registry)
        scraped = CollectorRegistry()
        scraped.register(_Fixed(list(extra)))
        return text + generate_latest(scraped)


class _Fixed:
    """A collector of metric families computed before the scrape."""

    def __init__(self, families: list[Metric]) -> None:
        self._families = families

    def collect(self) -> list[Metric]:
        return self._families
