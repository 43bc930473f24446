"""Turn a resolved profile into a CompiledPolicy: check every expression, compile one program."""

from __future__ import annotations

import difflib
import re
from typing import Any

from pydantic import ValidationError

from solbot.config.loader import LoadedRule, ResolvedProfile
from solbot.config.profile_market import profile_problem
from solbot.config.schema import MAX_DURATION_S, Action, Profile, Quoting, RegimeOverlay
from solbot.config.yamlio import PathKey, value_start
from solbot.core.catalog import SignalCatalog
from solbot.core.deadlines import plan_clock
from solbot.core.engine import CompiledPolicy
from solbot.core.expressions import (
    MISSING,
    CheckedExpression,
    ExpressionSource,
    check_expression,
    compile_expressions,
)
from solbot.core.expressions_types import Expect, type_problems
from solbot.core.hedger import HedgeParams
from solbot.core.model import MarketSpec
from solbot.core.quoting import QuoteParams
from solbot.core.risk import RiskParams
from solbot.core.rules import ActionSpec, RuleSpec, Value
from solbot.core.signals import SignalSettings
from solbot.errors import ConfigError, InvalidInput, Problem

NS = 1_000_000_000
NUMERIC_FIELDS = {
    "widen": ("add_full_spread_bps",),
    "skew": ("bps",),
    "scale_clip": ("factor",),
    "hedge": ("clip_multiplier", "offset_bps", "max_slippage_bps", "extra_offset_bps"),
}


class ExpressionCollector:
    """Checks expressions of all rules, collecting every problem instead of stopping at one."""

    def __init__(self, catalog: SignalCatalog, params: list[str]) -> None:
        self.catalog = catalog
        self.units = {signal.name: signal.unit for signal in catalog}
        self.params = params
        self.expressions: list[CheckedExpression] = []
        self.problems: list[Problem] = []

    def add(self, rule: LoadedRule, key: PathKey, text: str, field: str) -> int | None:
        line, column = value_start(rule.source, (*rule.key, *key))
        source = ExpressionSource(text, rule.source.path, line, column, field)
        try:
            checked = check_expression(source, self.catalog.names, self.params)
        except InvalidInput as error:
            self.problems.extend(error.problems)
            return None
        name = str(key[-1])
        expect: Expect = "condition" if name in ("when", "until") else "number"
        unit = "bps" if name == "bps" or name.endswith("_bps") else None
        type_errors = type_problems(checked, self.units, expect, unit)
        if type_errors:
            self.problems.extend(type_errors)
            return None
        self.expressions.append(checked)
        return len(self.expressions) - 1


def signal_settings(profile: Profile) -> SignalSettings:
    signals = profile.signals
    return SignalSettings(
        vol_halflife_s=signals.vol_halflife,
        vol_sample_s=signals.vol_sample,
        vol_percentile_window_s=signals.vol_percentile_window,
        sigma_window_s=signals.sigma_window,
        trend_halflife_s=signals.trend_halflife,
        returns=tuple(sorted(signals.returns.items())),
        realized_windows=tuple(sorted(signals.realized_windows.items(), key=_by_window)),
        fill_windows=tuple(sorted(signals.fill_windows.items(), key=_by_window)),
        pnl_day_start_s=signals.pnl_day_start_utc,
        max_position_units=profile.limits.max_position_units or 0.0,
        max_position_usd=profile.limits.max_position_usd or 0.0,
        exposure_trigger_units=profile.hedger.trigger_units,
        vol_warmup_samples=signals.vol_warmup_samples,
        sigma_warmup_samples=signals.sigma_warmup_samples,
        percentile_warmup_samples=signals.percentile_warmup_samples,
    )


def _by_window(item: tuple[str, float]) -> tuple[float, str]:
    return item[1], item[0]


def build_catalog(profile: Profile) -> SignalCatalog:
    signals = profile.signals
    return SignalCatalog.build(
        signals.returns.items(), signals.realized_windows.items(), signals.fill_windows.items()
    )


def compile_policy(resolved: ResolvedProfile, market: MarketSpec) -> CompiledPolicy:
    """Check and compile everything; raise ConfigError listing every problem found."""
    profile = resolved.profile
    catalog = build_catalog(profile)
    param_names = sorted(profile.params)
    collector = ExpressionCollector(catalog, param_names)
    regimes = _regime_names(profile)
    specs = [rule_spec(rule, collector, regimes) for rule in resolved.rules if rule.rule.enabled]
    problems = collector.problems + _profile_problems(resolved, regimes)
    if not problems:  # a broken rule may be the missing reader: report unread params after
        problems = unread_params(resolved)
    if problems:
        raise ConfigError(problems)
    program = compile_expressions(
        collector.expressions, catalog.index(), {name: i for i, name in enumerate(param_names)}
    )
    params_by_regime, quotes_by_regime = _regimes(resolved, market, param_names)
    timer_problems = _timer_param_problems(resolved, specs, params_by_regime, param_names)
    if timer_problems:
        raise ConfigError(timer_problems)
    return CompiledPolicy(
        profile_id=profile.id,
        profile_sha256=resolved.profile_sha256,
        ruleset_sha256=resolved.ruleset_sha256,
        market=market,
        catalog=catalog,
        signal_settings=signal_settings(profile),
        program=program.function,
        missing=MISSING,
        rules=tuple(spec for spec in specs if spec is not None),
        param_names=tuple(param_names),
        params_by_regime=params_by_regime,
        quotes_by_regime=quotes_by_regime,
        hedge=_hedge_params(profile, market),
        risk=_risk_params(profile, market),
        default_regime=profile.regimes.default,
        regime_min_dwell_ns=int(profile.regimes.min_dwell * NS),
        requote_tolerance_bps=profile.quoting.requote_tolerance_bps,
        min_requote_interval_ns=int(profile.quoting.min_requote_interval * NS),
        decision_interval_ns=int(profile.quoting.decision_interval * NS),
        tx_per_minute=profile.limits.tx_per_minute,
        tx_reserve=profile.limits.tx_reserve,
        clock=plan_clock(
            (expression.tree for expression in collector.expressions),
            param_names,
            params_by_regime,
        ),
        source=program.source,
        flagged_regime=profile.regimes.flagged,
    )


def compiled_expressions(
    resolved: ResolvedProfile,
) -> tuple[list[CheckedExpression], list[RuleSpec]]:
    """The checked expressions and rule specs (for `explain`'s reference evaluation)."""
    profile = resolved.profile
    collector = ExpressionCollector(build_catalog(profile), sorted(profile.params))
    regimes = _regime_names(profile)
    specs = [rule_spec(rule, collector, regimes) for rule in resolved.rules if rule.rule.enabled]
    if collector.problems:
        raise ConfigError(collector.problems)
    return collector.expressions, [spec for spec in specs if spec is not None]


def _regime_names(profile: Profile) -> list[str]:
    return sorted(profile.regimes.overlays) or [profile.regimes.default]


def rule_spec(
    rule: LoadedRule, collector: ExpressionCollector, regimes: list[str]
) -> RuleSpec | None:
    body = rule.rule
    before = len(collector.problems)
    when = collector.add(rule, ("when",), body.when, f"{body.id}.when")
    until = None
    if body.until is not None:
        until = collector.add(rule, ("until",), body.until, f"{body.id}.until")
    actions = []
    for position, action in enumerate(body.actions):
        spec = _action_spec(rule, position, action, collector, regimes)
        if spec is not None:
            actions.append(spec)
    if len(collector.problems) > before or when is None:
        return None
    timers = [
        _timer(rule, name, value, collector)
        for name, value in (
            ("hold", rule.hold_s),
            ("min_active", rule.min_active_s),
            ("cooldown", rule.cooldown_s),
        )
    ]
    if len(collector.problems) > before:
        return None
    return RuleSpec(
        id=body.id,
        priority=body.priority,
        hold_ns=timers[0][0],
        min_active_ns=timers[1][0],
        cooldown_ns=timers[2][0],
        timer_params=(timers[0][1], timers[1][1], timers[2][1]),
        on_error=rule.on_error,
        when_slot=when,
        until_slot=until,
        actions=tuple(actions),
        description=body.description,
    )


def _timer(
    rule: LoadedRule, name: str, value: float | str, collector: ExpressionCollector
) -> tuple[int, int]:
    """(constant ns, parameter index or -1) for one rule timer."""
    if isinstance(value, int | float):
        return int(value * NS), -1
    param = value.removeprefix("p.")
    if param not in collector.params:
        line, column = rule.source.where((*rule.key, name))
        collector.problems.append(
            Problem(
                rule.source.path,
                line,
                column,
                f"{rule.rule.id}.{name}",
                f"unknown parameter '{value}' for a timer",
            )
        )
        return 0, -1
    return 0, collector.params.index(param)


def _timer_param_problems(
    resolved: ResolvedProfile,
    specs: list[RuleSpec | None],
    params_by_regime: dict[str, tuple[float, ...]],
    param_names: list[str],
) -> list[Problem]:
    """A timer bound to a parameter must hold 0 .. 366 days of seconds in every regime."""
    problems = []
    loaded = {rule.rule.id: rule for rule in resolved.rules}
    for spec in specs:
        if spec is None:
            continue
        for name, index in zip(("hold", "min_active", "cooldown"), spec.timer_params, strict=True):
            bad = [
                (regime, values[index])
                for regime, values in sorted(params_by_regime.items())
                if index >= 0 and not 0 <= values[index] <= MAX_DURATION_S
            ]
            if bad:
                rule = loaded[spec.id]
                line, column = rule.source.where((*rule.key, name))
                regime, value = bad[0]
                message = (
                    f"timer p.{param_names[index]} is {value:g} s in regime {regime}; "
                    "a timer holds 0 .. 366 days of seconds"
                )
                problems.append(
                    Problem(rule.source.path, line, column, f"{spec.id}.{name}", message)
                )
    return problems


def _action_spec(
    rule: LoadedRule,
    position: int,
    action: Action,
    collector: ExpressionCollector,
    regimes: list[str],
) -> ActionSpec | None:
    kind = action.kind
    body: Any = action.body
    key: PathKey = ("actions", position, kind)
    values: list[tuple[str, Value]] = []
    for name in NUMERIC_FIELDS.get(kind, ()):
        raw = getattr(body, name)
        if raw is None:
            continue
        if isinstance(raw, int | float):
            values.append((name, Value(constant=float(raw))))
            continue
        slot = collector.add(rule, (*key, name), str(raw), f"{rule.rule.id}.{kind}.{name}")
        if slot is None:
            return None
        values.append((name, Value(slot=slot)))
    side = getattr(body, "side", None)
    text = ""
    level = ""
    if kind == "regime":
        text = body.name
        if text not in regimes:
            line, column = rule.source.where((*rule.key, *key, "name"))
            collector.problems.append(
                Problem(
                    rule.source.path,
                    line,
                    column,
                    f"{rule.rule.id}.regime.name",
                    f"unknown regime '{text}' (profiles define: {', '.join(regimes)})",
                )
            )
            return None
    elif kind == "hedge":
        text = body.mode or ""
    elif kind in ("kill", "flatten"):
        text = body.reason
    elif kind == "alert":
        text, level = body.message, body.level
    additive = kind == "skew" and body.combine == "add"
    return ActionSpec(
        kind=kind, side=side, values=tuple(values), text=text, level=level, additive=additive
    )


def _profile_problems(resolved: ResolvedProfile, regimes: list[str]) -> list[Problem]:
    profile = resolved.profile
    problems = []
    known = set(profile.params)
    for name, overlay in profile.regimes.overlays.items():
        for param in overlay.params:
            if param not in known:
                problems.append(
                    _at(
                        resolved,
                        f"regimes.overlays.{name}.params.{param}",
                        f"overlay sets unknown parameter '{param}' (declare it in params)",
                    )
                )
    hedger = profile.hedger
    if hedger.cross_offset_bps > hedger.max_slippage_bps:
        problems.append(
            _at(
                resolved,
                "hedger.cross_offset_bps",
                f"cross offset {hedger.cross_offset_bps:g} bps exceeds max_slippage_bps "
                f"{hedger.max_slippage_bps:g}: every aggressive hedge would be vetoed",
            )
        )
    return problems


_PARAMETER_REFERENCE = re.compile(r"\bp\.([A-Za-z_][A-Za-z0-9_]*)")


def params_read(resolved: ResolvedProfile) -> set[str]:
    """Parameters that some included rule reads (enabled or not: an override may disable one)."""
    names: set[str] = set()
    for loaded in resolved.rules:
        rule = loaded.rule
        texts = [rule.when, rule.until, loaded.hold_s, loaded.min_active_s, loaded.cooldown_s]
        for action in rule.actions:
            texts.extend(getattr(action.body, name) for name in NUMERIC_FIELDS.get(action.kind, ()))
        for text in texts:
            if isinstance(text, str):
                names.update(_PARAMETER_REFERENCE.findall(text))
    return names


def unread_params(resolved: ResolvedProfile) -> list[Problem]:
    """A parameter no rule reads is a typo or a leftover: `vol_low_pause_bpz` would otherwise
    pass and leave the rule reading `vol_low_pause_bps` on its default."""
    read = params_read(resolved)
    problems = []
    for name in sorted(set(resolved.profile.params) - read):
        hint = difflib.get_close_matches(name, sorted(read), n=1)
        message = f"parameter '{name}' is not read by any rule of this profile"
        message += f" (did you mean '{hint[0]}'?)" if hint else "; remove it or use it as p." + name
        problems.append(profile_problem(resolved, f"params.{name}", message))
    return problems


def _at(resolved: ResolvedProfile, path: str, message: str) -> Problem:
    origin = resolved.origins.get(path) or resolved.origins.get(path.rsplit(".", 1)[0], "")
    file, _, line = origin.rpartition(":")
    return Problem(file or resolved.files[0], int(line or 1), 1, path, message)


def _regimes(
    resolved: ResolvedProfile, market: MarketSpec, param_names: list[str]
) -> tuple[dict[str, tuple[float, ...]], dict[str, QuoteParams]]:
    profile = resolved.profile
    overlays: dict[str, RegimeOverlay | None] = dict(profile.regimes.overlays) or {
        profile.regimes.default: None
    }
    params: dict[str, tuple[float, ...]] = {}
    quotes: dict[str, QuoteParams] = {}
    for name, overlay in overlays.items():
        values = dict(profile.params)
        quoting = profile.quoting
        if overlay is not None:
            values.update(overlay.params)
            merged = {**profile.quoting.model_dump(), **overlay.quoting}
            try:
                quoting = Quoting.model_validate(merged)
            except ValidationError as error:
                problems = [_overlay_problem(resolved, name, item) for item in error.errors()]
                raise ConfigError(problems) from None
        params[name] = tuple(float(values[key]) for key in param_names)
        quotes[name] = quote_params(quoting, profile, market)
    return params, quotes


def _overlay_problem(resolved: ResolvedProfile, overlay: str, item: Any) -> Problem:
    """Blame the file and line that set the overlay's value (the child, not the parent)."""
    section = f"regimes.overlays.{overlay}.quoting"
    keys = [str(part) for part in item["loc"] if isinstance(part, str | int)]
    field = ".".join([section, *keys])
    message = str(item["msg"]).removeprefix("Value error, ")
    if item["type"] == "extra_forbidden" and keys:
        message = f"unknown quoting key '{keys[-1]}'"
    if field in resolved.origins:
        return profile_problem(resolved, field, message)
    return _at(resolved, section, message)


def _lots(units: float, market: MarketSpec) -> int:
    return round(units * market.size_scale)


def quote_params(quoting: Quoting, profile: Profile, market: MarketSpec) -> QuoteParams:
    band = quoting.volatility_band
    return QuoteParams(
        spread_bps=quoting.spread_bps,
        band_enabled=band.enabled,
        band_floor_mode=band.mode == "floor",
        band_low_bps=band.low_bps,
        band_high_bps=band.high_bps,
        band_min_spread_bps=band.min_spread_bps,
        band_max_spread_bps=band.max_spread_bps,
        band_min_size_multiplier=band.min_size_multiplier,
        band_max_size_multiplier=band.max_size_multiplier,
        size_min_lots=_lots(quoting.size_min_units or 0.0, market),
        size_max_lots=_lots(quoting.size_max_units or 0.0, market),
        soft_cap_lots=_lots(quoting.inventory_soft_cap_units, market),
        min_size_lots=_lots(quoting.min_size_units, market),
        clip_usd=quoting.clip_usd,
        size_multiplier=quoting.size_multiplier,
        extra_full_spread_bps=quoting.extra_full_spread_bps,
        skew_bps_at_soft_cap=quoting.skew_bps_at_soft_cap,
        skew_full_lots=None
        if quoting.skew_full_at_units is None
        else quoting.skew_full_at_units * market.size_scale,
        size_min_usd=quoting.size_min_usd,
        size_max_usd=quoting.size_max_usd,
    )


def _hedge_params(profile: Profile, market: MarketSpec) -> HedgeParams:
    hedger = profile.hedger
    return HedgeParams(
        enabled=hedger.enabled,
        trigger_lots=_lots(hedger.trigger_units, market),
        target_lots=_lots(hedger.target_units, market),
        max_clip_lots=_lots(hedger.max_clip_units, market),
        prefer_passive=hedger.prefer_passive,
        passive_offset_bps=hedger.passive_offset_bps,
        passive_timeout_ns=int(hedger.passive_timeout * NS),
        cross_offset_bps=hedger.cross_offset_bps,
        max_slippage_bps=hedger.max_slippage_bps,
        cooldown_ns=int(hedger.cooldown * NS),
        emergency_clip_multiplier=hedger.emergency_clip_multiplier,
        emergency_extra_bps=hedger.emergency_extra_bps,
        emergency_cooldown_ns=int(hedger.emergency_cooldown * NS),
        clip_usd=profile.quoting.clip_usd,
    )


def _risk_params(profile: Profile, market: MarketSpec) -> RiskParams:
    guard = profile.guard
    limits = profile.limits
    return RiskParams(
        price_band_bps=guard.price_band_bps,
        crossed_book_protection=guard.crossed_book_protection,
        backoff_ns=int(guard.backoff * NS),
        max_position_lots=None
        if limits.max_position_units is None
        else _lots(limits.max_position_units, market),
        max_position_usd=limits.max_position_usd,
        max_order_usd=limits.max_order_usd,
        stale_feed_ns=int(guard.stale_feed * NS),
    )
