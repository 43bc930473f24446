"""`solbot explain`: evaluate a profile's rules on one signal state with the reference evaluator."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from solbot.config.compile import compile_policy, compiled_expressions
from solbot.config.loader import ConfigDir, resolve_profile
from solbot.config.markets import resolve_market
from solbot.core.decision import Decision, merge
from solbot.core.expressions import MISSING, evaluate_reference, explain_expression
from solbot.core.hedger import HedgeOutcome, plan_hedge
from solbot.core.model import MarketSpec
from solbot.core.quoting import Quotes, compute_quotes
from solbot.core.risk import RiskResult, RiskState, check_quotes
from solbot.errors import DataError, Problem

NS = 1_000_000_000


@dataclass(frozen=True)
class StateFile:
    signals: dict[str, float | None]
    regime: str | None
    bid: float | None
    ask: float | None


def load_state(path: Path) -> StateFile:
    """Read `{"signals": {...}, "regime": ..., "book": {"bid": .., "ask": ..}}`."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError(Problem(str(path), 1, 1, "", "file not found")) from None
    except json.JSONDecodeError as error:
        raise DataError(
            Problem(str(path), error.lineno, error.colno, "", f"invalid JSON: {error.msg}")
        ) from None
    if not isinstance(data, dict) or not isinstance(data.get("signals"), dict):
        raise DataError(
            Problem(str(path), 1, 1, "signals", "expected an object with a 'signals' object")
        )
    signals: dict[str, float | None] = {}
    for name, value in data["signals"].items():
        if value is not None and not isinstance(value, int | float):
            raise DataError(
                Problem(
                    str(path),
                    1,
                    1,
                    f"signals.{name}",
                    f"expected a number or null, found {value!r}",
                )
            )
        signals[name] = None if value is None else float(value)
    book = data.get("book") or {}
    return StateFile(signals, data.get("regime"), book.get("bid"), book.get("ask"))


def explain(profile: str, state_path: Path, config_dir: Path | None = None) -> dict[str, Any]:
    """Which rules fire on this state and why, the merged decision and the resulting orders."""
    resolved = resolve_profile(profile, ConfigDir.find(config_dir))
    market = resolve_market(resolved.profile.market).spec
    policy = compile_policy(resolved, market)
    expressions, specs = compiled_expressions(resolved)
    state = load_state(state_path)
    unknown = sorted(set(state.signals) - set(policy.catalog.names))
    if unknown:
        raise DataError(
            Problem(str(state_path), 1, 1, "signals", f"unknown signals: {', '.join(unknown)}")
        )
    regime = state.regime or policy.default_regime
    params = dict(zip(policy.param_names, policy.params_by_regime[regime], strict=True))
    signals = {name: state.signals.get(name) for name in policy.catalog.names}
    results = [evaluate_reference(expression, signals, params) for expression in expressions]
    rules_out = []
    active = []
    for index, rule in enumerate(specs):
        when = results[rule.when_slot]
        fires = bool(when) if when is not MISSING else rule.on_error == "trigger"
        if fires:
            active.append(index)
        rules_out.append(
            {
                "id": rule.id,
                "priority": rule.priority,
                "fires": fires,
                "when": _value(when),
                "on_error": rule.on_error,
                "why": [
                    [text, _value(value)]
                    for text, value in explain_expression(
                        expressions[rule.when_slot], signals, params
                    )
                ],
            }
        )
    inventory_units = state.signals.get("inventory_units") or 0.0
    inventory = round(inventory_units * market.size_scale)
    decision = merge(specs, active, results, inventory)
    mid = state.signals.get("mid") or 0.0
    bid = market.price_to_ticks(state.bid) if state.bid else market.price_to_ticks(mid * (1 - 1e-4))
    ask = market.price_to_ticks(state.ask) if state.ask else market.price_to_ticks(mid * (1 + 1e-4))
    quotes = compute_quotes(
        policy.quotes_by_regime[regime],
        decision,
        market,
        mid,
        bid,
        ask,
        inventory,
        state.signals.get("vol_ema_bps"),
    )
    risk = check_quotes(
        policy.risk, RiskState(), 0, market, mid, bid, ask, inventory, quotes.bid, quotes.ask
    )
    exposure = int((state.signals.get("exposure_s") or 0.0) * NS)
    hedge = plan_hedge(
        policy.hedge, decision, market, mid, bid, ask, inventory, 10**12, 0, exposure
    )
    return {
        "profile": resolved.name,
        "regime": regime,
        "note": "one instant, stateless: hold/min_active/cooldown timers are not applied",
        "rules": rules_out,
        **outcome_report(market, decision, quotes, risk, hedge),
    }


def outcome_report(
    market: MarketSpec,
    decision: Decision,
    quotes: Quotes,
    risk: RiskResult,
    hedge: HedgeOutcome,
) -> dict[str, Any]:
    """The decision, the quotes the guards let through and the hedge, as plain data."""
    return {
        "decision": {
            "state": decision.state.value,
            "active_rules": list(decision.active_rules),
            "pause_bid": decision.pause_bid,
            "pause_ask": decision.pause_ask,
            "widen_bid_bps": decision.widen_bid_bps,
            "widen_ask_bps": decision.widen_ask_bps,
            "skew_bps": decision.skew_bps,
            "scale_clip": decision.scale_clip,
            "hedge_mode": decision.hedge_mode,
            "regime": decision.regime,
            "flatten": decision.flatten,
            "kill": decision.kill,
        },
        "quotes": {
            "spread_bps": round(quotes.spread_bps, 4),
            "bid": _quote(market, risk.bid),
            "ask": _quote(market, risk.ask),
            "denials": list(risk.denials),
        },
        "hedge": {
            "mode": hedge.mode,
            "note": hedge.note,
            "order": None
            if hedge.intent is None
            else {
                "side": hedge.intent.side.label,
                "price": market.ticks_to_price(hedge.intent.price),
                "size": market.lots_to_size(hedge.intent.size),
                "passive": hedge.intent.passive,
                "reason": hedge.intent.reason,
            },
        },
    }


def _quote(market: MarketSpec, quote: Any) -> dict[str, float] | None:
    if quote is None:
        return None
    return {"price": market.ticks_to_price(quote.price), "size": market.lots_to_size(quote.size)}


def _value(value: object) -> object:
    return "MISSING" if value is MISSING else value


def render(report: dict[str, Any]) -> str:
    lines = [f"profile {report['profile']}, regime {report['regime']} ({report['note']})", ""]
    for rule in report["rules"]:
        mark = "FIRES" if rule["fires"] else "  -  "
        lines.append(f"{mark} {rule['id']} (priority {rule['priority']}): when = {rule['when']}")
        if rule["fires"]:
            for text, value in rule["why"]:
                lines.append(f"        {text} -> {value}")
    decision = report["decision"]
    lines += [
        "",
        f"decision: {decision['state']}, active: {', '.join(decision['active_rules']) or 'none'}",
    ]
    lines.append(
        f"  pause bid={decision['pause_bid']} ask={decision['pause_ask']}; widen bid "
        f"{decision['widen_bid_bps']:g} ask {decision['widen_ask_bps']:g} bps; scale_clip "
        f"{decision['scale_clip']:.3g}; hedge {decision['hedge_mode'] or 'default'}"
    )
    quotes = report["quotes"]
    lines.append(
        f"quotes (spread {quotes['spread_bps']:g} bps): bid {quotes['bid']}  ask {quotes['ask']}"
    )
    for denial in quotes["denials"]:
        lines.append(f"  guard: {denial}")
    hedge = report["hedge"]
    lines.append(f"hedge: {hedge['order'] or hedge['note'] or hedge['mode']}")
    return "\n".join(lines) + "\n"
