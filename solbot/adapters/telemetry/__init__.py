"""Telemetry for `solbot run`: Prometheus metrics, /metrics and /health, webhook alerts."""

from solbot.adapters.telemetry.alerts import AlertSender
from solbot.adapters.telemetry.metrics import Telemetry, TelemetryStatus
from solbot.adapters.telemetry.server import TelemetryServer, health_report

__all__ = ["AlertSender", "Telemetry", "TelemetryServer", "TelemetryStatus", "health_report"]
