"""Prometheus metrics: what operators watch, none of it personal.

Counts and durations only: no RUN, name or contact id is ever a label. Live
figures (people waiting, executives by state, calls) are read from the live
store at scrape time, so every node reports the same floor.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

# Seconds a citizen waited until answered: from seconds to the long waits of a busy morning.
WAIT_BUCKETS = (10, 30, 60, 120, 300, 600, 900, 1200, 1800, 2700, 3600, 5400, 7200)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.wait_seconds = Histogram(
            "branch_wait_seconds",
            "Seconds from joining the line to the call being answered",
            ["service"],
            buckets=WAIT_BUCKETS,
            registry=self.registry,
        )
        self.errors = Counter(
            "branch_errors",
            "Errors answered to pages and HTTP clients, by stable error code",
            ["code"],
            registry=self.registry,
        )
        self.contacts_ended = Counter(
            "branch_contacts_ended",
            "Contacts that ended, by service and how they ended",
            ["service", "reason"],
            registry=self.registry,
        )

        self.live: dict[str, Any] = {"waiting": {}, "executives": {}, "calls": 0, "pages": 0}
        self.registry.register(_LiveCollector(lambda: self.live))


class _LiveCollector(Collector):
    def __init__(self, snapshot: Callable[[], dict[str, Any]]) -> None:
        self.snapshot = snapshot

    def collect(self) -> Iterator[GaugeMetricFamily]:
        figures = self.snapshot()
        waiting = GaugeMetricFamily(
            "branch_waiting", "Citizens waiting in line, by service", labels=["service"]
        )
        for service, count in figures["waiting"].items():
            waiting.add_metric([service], count)
        yield waiting
        executives = GaugeMetricFamily(
            "branch_executives", "Executives logged in, by state", labels=["state"]
        )
        for state, count in figures["executives"].items():
            executives.add_metric([state], count)
        yield executives
        calls = GaugeMetricFamily("branch_calls_in_progress", "Calls answered and not yet ended")
        calls.add_metric([], figures["calls"])
        yield calls
        pages = GaugeMetricFamily("branch_websockets", "Open pages (websocket connections)")
        pages.add_metric([], figures["pages"])
        yield pages
