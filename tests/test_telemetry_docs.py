"""docs/telemetry.md and docs/grafana-dashboard.json stay honest about what Telemetry exports."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from solbot.adapters.telemetry import Telemetry
from solbot.app.session import Session
from solbot.config.compile import compile_policy
from solbot.config.loader import ConfigDir, resolve_profile
from solbot.config.markets import resolve_market
from solbot.core.model import Command, Fill, Role, Side

REPO = Path(__file__).resolve().parent.parent
DOC = REPO / "docs" / "telemetry.md"
DASHBOARD = REPO / "docs" / "grafana-dashboard.json"
NS = 1_000_000_000
T0_NS = 1_700_000_000 * NS
METRIC_NAME = re.compile(r"\bsolbot_[a-z0-9_]+")
HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")


class NullVenue:
    def submit(self, commands: Sequence[Command], now_ns: int) -> None:
        pass


@pytest.fixture(scope="module")
def exported() -> set[str]:
    """Every metric family name a busy Telemetry exports (counters with their _total)."""
    entry = resolve_market("SOL")
    policy = compile_policy(resolve_profile("base", ConfigDir(REPO)), entry.spec)
    session = Session(policy, market_key=entry.key)
    session.attach(NullVenue())
    for second in range(5):
        ts = T0_NS + second * NS
        session.on_book(ts, ts, 139_990, 1000, 140_010, 1000)
    session.on_fill(Fill("t", "1", T0_NS + 5 * NS, "SOL", Side.BID, 140.0, 0.1, Role.MAKER))
    telemetry = Telemetry(entry.key, "base", CollectorRegistry())
    telemetry.update_from_session(session, T0_NS + 6 * NS)
    telemetry.observe_decision_latency(0.001)
    names = set()
    for family in text_string_to_metric_families(telemetry.render().decode()):
        names.add(family.name + "_total" if family.type == "counter" else family.name)
    return names


@pytest.fixture(scope="module")
def dashboard() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    return data


def family_of(series: str) -> str:
    for suffix in HISTOGRAM_SUFFIXES:
        if series.endswith(suffix) and series.removesuffix(suffix).endswith("_seconds"):
            return series.removesuffix(suffix)
    return series


def test_the_doc_lists_exactly_the_exported_metrics(exported: set[str]) -> None:
    documented = set(METRIC_NAME.findall(DOC.read_text(encoding="utf-8")))
    ours = {name for name in exported if name.startswith("solbot_")}
    assert ours - documented == set(), "exported but not documented"
    assert documented - ours == set(), "documented but not exported"


def test_the_doc_lists_every_original_gauge_name_exported(exported: set[str]) -> None:
    text = DOC.read_text(encoding="utf-8")
    originals = {name for name in exported if not name.startswith("solbot_")}
    assert {
        "maker_regime_state",
        "maker_fifo_realized_quote",
        "hedger_guard_emergency",
    } <= originals
    assert {name for name in originals if f"`{name}`" not in text} == set()


def test_the_dashboard_is_a_grafana_dashboard_with_a_prometheus_variable(
    dashboard: dict[str, Any],
) -> None:
    assert 36 <= dashboard["schemaVersion"] <= 41
    variables = {item["name"]: item for item in dashboard["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    assert "market" in variables
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    for panel in dashboard["panels"]:
        assert {"x", "y", "w", "h"} <= set(panel["gridPos"])
        if panel["type"] == "row":
            continue
        assert panel["datasource"]["uid"] == "${datasource}"
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert target["expr"].count("(") == target["expr"].count(")"), target["expr"]
            assert 'market=~"$market"' in target["expr"]


def test_the_dashboard_queries_only_exported_series(
    dashboard: dict[str, Any], exported: set[str]
) -> None:
    queried = {
        family_of(name)
        for panel in dashboard["panels"]
        for target in panel.get("targets", [])
        for name in METRIC_NAME.findall(target["expr"])
    }
    assert queried - exported == set()
    wanted = {
        "solbot_fifo_realized_usd", "solbot_unrealized_usd", "solbot_fees_usd",
        "solbot_inventory_units", "solbot_regime", "solbot_rule_active", "solbot_hedger_mode",
        "solbot_volatility_bps", "solbot_tx_budget_left", "solbot_ws_reconnects_total",
        "solbot_book_resyncs_total", "solbot_decision_latency_seconds", "solbot_feed_age_seconds",
    }  # fmt: skip
    assert wanted <= queried
