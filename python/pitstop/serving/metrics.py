"""Prometheus metrics, kept cheap on the hot path.

A request adds to plain dict counters and one histogram bucket (a bisect on
a short list): no locks, no label lookups in prometheus-client's registry,
about a microsecond. `prometheus_client` is used where it matters, at scrape
time: a custom collector turns the counters into metric families and
``generate_latest`` writes the text format. The server is one event loop, so
the counters need no lock; lookups in worker threads report back on it.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from pitstop.serving.lookups import _Layout, layout_of

if TYPE_CHECKING:
    from pitstop.online.lookup import OnlineFeatures

__all__ = ["LATENCY_BUCKETS", "Metrics"]

# seconds; fine-grained below a millisecond, where lookups are
LATENCY_BUCKETS: tuple[float, ...] = (
    0.0001, 0.00025, 0.0005, 0.00075, 0.001, 0.0015, 0.002, 0.003, 0.005, 0.0075,
    0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
)  # fmt: skip


_MAX_PENDING = 4096  # distinct (layout, statuses) pairs held before folding


class _Histogram:
    __slots__ = ("counts", "total")

    def __init__(self) -> None:
        self.counts = [0] * (len(LATENCY_BUCKETS) + 1)
        self.total = 0.0


class Metrics:
    """The server's counters and the collector that exposes them.

    Args:
        ages: called at scrape time; view -> seconds since its materialization ``as_of``.
        models: called at scrape time; ``(name, version, alias)`` of each served model.
    """

    def __init__(
        self,
        ages: Callable[[], Mapping[str, float]] = dict,
        models: Callable[[], list[tuple[str, str, str]]] = list,
    ) -> None:
        from prometheus_client import CollectorRegistry
        from prometheus_client.process_collector import ProcessCollector

        self.requests: dict[tuple[str, str, int], int] = {}
        self.latency: dict[str, _Histogram] = {}
        self.lookups: dict[str, int] = {}
        self.statuses: dict[tuple[str, str], int] = {}
        # (layout, statuses of one entity) -> count, folded at scrape time
        self._pending: dict[tuple[_Layout, tuple[Any, ...]], int] = {}
        self.reloads: dict[str, int] = {}
        self._ages = ages
        self._models = models
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(_Collector(self))
        self.registry.register(ProcessCollector(registry=None))

    def request(self, route: str, method: str, status: int, seconds: float) -> None:
        """Count one request and its latency."""
        key = (route, method, status)
        requests = self.requests
        requests[key] = requests.get(key, 0) + 1
        hist = self.latency.get(route)
        if hist is None:
            hist = self.latency[route] = _Histogram()
        hist.counts[bisect_left(LATENCY_BUCKETS, seconds)] += 1
        hist.total += seconds

    def lookup(self, result: OnlineFeatures) -> None:
        """Count the entity lookups per view and the value statuses per view.

        A single-entity lookup (the common serving call) only bumps a counter
        keyed by its layout and its tuple of statuses; `fold` spreads those
        over views and statuses at scrape time, so the per-request cost does
        not grow with the number of features.
        """
        n = len(result)
        all_statuses = result.statuses
        layout = layout_of(result.refs)
        if n == 1:
            key = (layout, tuple([all_statuses[ref][0] for ref in layout.grouped]))
            pending = self._pending
            pending[key] = pending.get(key, 0) + 1
            if len(pending) > _MAX_PENDING:
                self.fold()
            return
        lookups = self.lookups
        statuses = self.statuses
        for view, _, items in layout.views:
            lookups[view] = lookups.get(view, 0) + n
            for ref, _, _ in items:
                for status, count in Counter(all_statuses[ref]).items():
                    skey = (view, status)
                    statuses[skey] = statuses.get(skey, 0) + count

    def fold(self) -> None:
        """Move the pending single-entity counts into the per-view counters."""
        pending, self._pending = self._pending, {}
        lookups = self.lookups
        statuses = self.statuses
        for (layout, row), count in pending.items():
            i = 0
            for view, _, items in layout.views:
                lookups[view] = lookups.get(view, 0) + count
                for _ in items:
                    skey = (view, row[i])
                    statuses[skey] = statuses.get(skey, 0) + count
                    i += 1

    def reload(self, what: str) -> None:
        """Count a hot reload (``registry``, ``store`` or ``model``)."""
        self.reloads[what] = self.reloads.get(what, 0) + 1

    def render(self) -> tuple[bytes, str]:
        """The Prometheus text exposition and its content type."""
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        return generate_latest(self.registry), CONTENT_TYPE_LATEST


class _Collector:
    """Turns `Metrics`' counters into prometheus-client metric families."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import (
            CounterMetricFamily,
            GaugeMetricFamily,
            HistogramMetricFamily,
        )

        m = self.metrics
        m.fold()
        requests = CounterMetricFamily(
            "pitstop_http_requests",
            "HTTP requests by route template, method and status",
            labels=["route", "method", "status"],
        )
        for (route, method, status), count in sorted(m.requests.items()):
            requests.add_metric([route, method, str(status)], count)
        yield requests

        latency = HistogramMetricFamily(
            "pitstop_http_request_duration_seconds",
            "Time from the first byte of the request to the end of the response, by route",
            labels=["route"],
        )
        for route, hist in sorted(m.latency.items()):
            buckets = []
            running = 0
            for bound, count in zip(LATENCY_BUCKETS, hist.counts, strict=False):
                running += count
                buckets.append((repr(bound), running))
            running += hist.counts[-1]
            buckets.append(("+Inf", running))
            latency.add_metric([route], buckets, hist.total)
        yield latency

        lookups = CounterMetricFamily(
            "pitstop_online_lookups",
            "Entity rows looked up, per feature view",
            labels=["view"],
        )
        for view, count in sorted(m.lookups.items()):
            lookups.add_metric([view], count)
        yield lookups

        statuses = CounterMetricFamily(
            "pitstop_online_values",
            "Feature values served, per view and status (PRESENT, NOT_FOUND, NULL, EXPIRED)",
            labels=["view", "status"],
        )
        for (view, value_status), count in sorted(m.statuses.items()):
            statuses.add_metric([view, str(value_status)], count)
        yield statuses

        ages = GaugeMetricFamily(
            "pitstop_materialization_age_seconds",
            "Seconds since the as_of of each online view's last materialization",
            labels=["view"],
        )
        for view, age in sorted(m._ages().items()):
            ages.add_metric([view], age)
        yield ages

        reloads = CounterMetricFamily(
            "pitstop_reloads", "Hot reloads applied, by what changed", labels=["what"]
        )
        for what, count in sorted(m.reloads.items()):
            reloads.add_metric([what], count)
        yield reloads

        models = GaugeMetricFamily(
            "pitstop_model_info",
            "The model version each served model answers with (1 per name/version/alias)",
            labels=["model", "version", "alias"],
        )
        for name, version, alias in m._models():
            models.add_metric([name, version, alias], 1)
        yield models
