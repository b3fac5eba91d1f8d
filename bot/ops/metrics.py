"""Prometheus metrics in a registry of their own (no global state; tests make their own)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

OUTCOMES = ("answered", "not_found", "emergency", "error", "search_unavailable")
LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 30.0, 60.0)


class Metrics:
    """The bot's counters, histogram and gauge; `render()` gives the text exposition."""

    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.updates = Counter(
            "waypoint_updates",
            "Telegram updates handled, by handler.",
            ["handler"],
            registry=self.registry,
        )
        self.answers = Counter(
            "waypoint_answers",
            "Questions answered, by outcome.",
            ["outcome"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "waypoint_answer_seconds",
            "Time from a question to its answer being sent.",
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.rate_limited = Counter(
            "waypoint_rate_limited",
            "Questions refused by the per-user rate limit.",
            registry=self.registry,
        )
        self.errors = Counter(
            "waypoint_errors",
            "Errors caught by the error handler, by exception type.",
            ["type"],
            registry=self.registry,
        )
        self.index_size = Gauge(
            "waypoint_index_chunks",
            "Chunks in the search index.",
            registry=self.registry,
        )
        for outcome in OUTCOMES:
            self.answers.labels(outcome=outcome)

    def render(self) -> bytes:
        """Return all metrics in the Prometheus text format."""
        return generate_latest(self.registry)
