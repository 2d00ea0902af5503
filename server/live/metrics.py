"""Prometheus metrics of one server process, in a registry of the app's own (no globals)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class LiveMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.open_sockets = Gauge(
            "gnrp_ws_open_sockets", "WebSockets open on this process", registry=self.registry
        )
        self.subscriptions = Gauge(
            "gnrp_ws_subscriptions", "Stream subscriptions of open sockets", registry=self.registry
        )
        self.events_delivered = Counter(
            "gnrp_events_delivered", "Event frames queued to sockets", registry=self.registry
        )
        self.queue_overflows = Counter(
            "gnrp_ws_queue_overflows",
            "Sockets closed with 1013 because they did not keep up",
            registry=self.registry,
        )
        self.gaps_filled = Counter(
            "gnrp_event_gaps_filled",
            "Events read from the database because the bus lost them",
            registry=self.registry,
        )
        self.redis_reconnects = Counter(
            "gnrp_redis_reconnects", "Times the bus connection came back", registry=self.registry
        )
        self.deliver_latency = Histogram(
            "gnrp_publish_to_deliver_seconds",
            "From an event's commit to its fan-out on this process",
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
            registry=self.registry,
        )
