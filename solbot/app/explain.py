"""`solbot explain`: evaluate a profile's rules on one signal state with the reference evaluator."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from solbot.config.compile import compile_policy, compiled_expressions
from solbot.config.loader import ConfigDir, resolve_profile
from solbot.config.markets import config_dir_markets, markets_with, resolve_market
from solbot.config.yamlio import decode_text
from solbot.core.decision import Decision, merge
from solbot.core.expressions import MISSING, evaluate_reference, explain_expression
from solbot.core.hedger import HedgeOutcome, plan_hedge
from solbot.core.model import MarketSpec
from solbot.core.quoting import QuoteIntent, Quotes, compute_quotes
from solbot.core.risk import RiskResult, RiskState, check_quotes
from solbot.errors import DataError, Problem

NS = 1_000_000_000
MAX_STATE_MAGNITUDE = 1e12  # beyond any price, size or PnL; keeps tick and lot maths finite


@dataclass(frozen=True)
class StateFile:
    signals: dict[str, float | None]
    regime: str | None
    bid: float | None
    ask: float | None


MAX_STATE_BYTES = 1 << 20
STATE_KEYS = ("signals", "regime", "book")


def load_state(path: Path) -> StateFile:
    """Read `{"signals": {...}, "regime": ..., "book": {"bid": .., "ask": ..}}`; anything else
    is a DataError at the offending key (JSON keeps no positions: the key's first occurrence)."""
    shown = str(path)
    text = _state_text(path)
    try:
        data = json.loads(text, parse_constant=_refuse_constant)
    except json.JSONDecodeError as error:
        problem = Problem(shown, error.lineno, error.colno, "", f"invalid JSON: {error.msg}")
        raise DataError(problem) from None
    except ValueError as error:  # NaN / Infinity, refused by _refuse_constant
        raise DataError(Problem(shown, 1, 1, "", str(error))) from None
    if not isinstance(data, dict) or not isinstance(data.get("signals"), dict):
        message = "expected an object with a 'signals' object"
        raise DataError(_at(shown, text, "signals", message))
    extra = sorted(set(data) - set(STATE_KEYS))
    if extra:
        message = f"unknown key '{extra[0]}'; expected {', '.join(STATE_KEYS)}"
        raise DataError(_at(shown, text, extra[0], message))
    signals = {
        name: _number(shown, text, f"signals.{name}", value, allow_null=True)
        for name, value in data["signals"].items()
    }
    regime = data.get("regime")
    if regime is not None and not isinstance(regime, str):
        raise DataError(_at(shown, text, "regime", f"expected a regime name, found {regime!r}"))
    book = data.get("book") or {}
    if not isinstance(book, dict) or set(book) - {"bid", "ask"}:
        message = "expected an object with 'bid' and/or 'ask' prices"
        raise DataError(_at(shown, text, "book", message))
    bid, ask = (_price(shown, text, f"book.{side}", book.get(side)) for side in ("bid", "ask"))
    return StateFile(signals, regime, bid, ask)


def _check_against_policy(path: Path, state: StateFile, regime: str, regimes: list[str]) -> None:
    text = _state_text(path)
    if regime not in regimes:
        message = f"unknown regime '{regime}'; known: {', '.join(regimes)}"
        raise DataError(_at(str(path), text, "regime", message))
    mid = state.signals.get("mid")
    if mid is not None and mid <= 0:
        raise DataError(_at(str(path), text, "signals.mid", f"mid must be positive, found {mid:g}"))


def _state_text(path: Path) -> str:
    shown = str(path)
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_STATE_BYTES + 1)
    except FileNotFoundError:
        raise DataError(Problem(shown, 1, 1, "", "file not found")) from None
    except OSError as error:
        raise DataError(Problem(shown, 1, 1, "", f"cannot read file: {error.strerror}")) from None
    if len(raw) > MAX_STATE_BYTES:
        message = f"file is over {MAX_STATE_BYTES:,} bytes; a state file is a few hundred"
        raise DataError(Problem(shown, 1, 1, "", message))
    return decode_text(raw, shown, DataError)


def _refuse_constant(name: str) -> float:
    raise ValueError(f"{name} is not a number a state may hold; use a finite number or null")


def _at(shown: str, text: str, field: str, message: str) -> Problem:
    """A problem located at the first occurrence of the field's last key in the text."""
    key = '"' + field.rsplit(".", 1)[-1] + '"'
    offset = text.find(key)
    if offset < 0:
        return Problem(shown, 1, 1, field, message)
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return Problem(shown, line, column, field, message)


def _number(shown: str, text: str, field: str, value: Any, allow_null: bool) -> float | None:
    if value is None and allow_null:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise DataError(_at(shown, text, field, f"expected a number or null, found {value!r}"))
    if not math.isfinite(value) or abs(value) > MAX_STATE_MAGNITUDE:
        message = f"expected a finite number of magnitude at most {MAX_STATE_MAGNITUDE:g}"
        raise DataError(_at(shown, text, field, f"{message}, found {value!r}"))
    return float(value)


def _price(shown: str, text: str, field: str, value: Any) -> float | None:
    price = _number(shown, text, field, value, allow_null=True)
    if price is not None and price <= 0:
        raise DataError(_at(shown, text, field, f"a price must be positive, found {value!r}"))
    return price


def explain(profile: str, state_path: Path, config_dir: Path | None = None) -> dict[str, Any]:
    """Which rules fire on this state and why, the merged decision and the resulting orders."""
    folder = ConfigDir.find(config_dir)
    resolved = resolve_profile(profile, folder)
    markets = markets_with(config_dir_markets(folder.root))
    market = resolve_market(resolved.profile.market, markets).spec
    policy = compile_policy(resolved, market)
    expressions, specs = compiled_expressions(resolved)
    state = load_state(state_path)
    unknown = sorted(set(state.signals) - set(policy.catalog.names))
    if unknown:
        raise DataError(
            Problem(str(state_path), 1, 1, "signals", f"unknown signals: {', '.join(unknown)}")
        )
    regime = state.regime or policy.default_regime
    _check_against_policy(state_path, state, regime, sorted(policy.params_by_regime))
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
        **outcome_report(market, decision, quotes, risk, hedge, mid),
    }


def outcome_report(
    market: MarketSpec,
    decision: Decision,
    quotes: Quotes,
    risk: RiskResult,
    hedge: HedgeOutcome,
    mid: float,
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
            "bid": _quote(market, risk.bid, mid),
            "ask": _quote(market, risk.ask, mid),
            "denials": list(risk.denials),
        },
        "hedge": {
            "mode": hedge.mode,
            "note": hedge.note,
            "clip_raised": None
            if hedge.clip_raised is None
            else {
                "multiplier": hedge.clip_raised.multiplier,
                "damped": market.lots_to_size(hedge.clip_raised.damped_lots),
                "sent": market.lots_to_size(hedge.clip_raised.clip_lots),
            },
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


def _quote(market: MarketSpec, quote: QuoteIntent | None, mid: float) -> dict[str, float] | None:
    if quote is None:
        return None
    price = market.ticks_to_price(quote.price)
    return {
        "price": price,
        "size": market.lots_to_size(quote.size),
        "bps_from_mid": round(abs(price - mid) / mid * 1e4, 4) if mid > 0 else 0.0,
    }


def _render_quote(quote: dict[str, float] | None) -> str:
    if quote is None:
        return "none"
    return f"{quote['price']:g} x {quote['size']:g} ({quote['bps_from_mid']:g} bps from mid)"


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
        f"  pause bid={decision['pause_bid']} ask={decision['pause_ask']}; widen moves bid "
        f"+{decision['widen_bid_bps']:g} ask +{decision['widen_ask_bps']:g} bps; scale_clip "
        f"{decision['scale_clip']:.3g}; hedge {decision['hedge_mode'] or 'default'}"
    )
    quotes = report["quotes"]
    lines.append(
        f"quotes (base full spread {quotes['spread_bps']:g} bps): "
        f"bid {_render_quote(quotes['bid'])}  ask {_render_quote(quotes['ask'])}"
    )
    for denial in quotes["denials"]:
        lines.append(f"  guard: {denial}")
    hedge = report["hedge"]
    lines.append(f"hedge: {hedge['order'] or hedge['note'] or hedge['mode']}")
    if hedge["order"] and hedge["note"]:
        lines.append(f"  note: {hedge['note']}")  # e.g. a damped clip raised to the minimum
    return "\n".join(lines) + "\n"
