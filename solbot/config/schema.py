"""Strict, frozen pydantic models of profile and rule files (unknown keys are errors)."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    WithJsonSchema,
    field_validator,
    model_validator,
)

SCHEMA_VERSION = 2
OLDEST_MIGRATABLE_SCHEMA = 1  # older files migrate in memory (solbot/config/migrate.py)

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, None: 1.0}
MAX_DURATION_S = 366 * 86400.0  # a year: longer timers are typos, and overflow nanosecond clocks


def _duration_seconds(seconds: float, found: Any) -> float:
    if not math.isfinite(seconds):
        raise ValueError(f"a duration must be a finite number of seconds, found {found!r}")
    if seconds < 0:
        raise ValueError("a duration cannot be negative")
    if seconds > MAX_DURATION_S:
        raise ValueError(f"a duration must be at most 366d, found {found!r}")
    return seconds


def parse_duration(value: Any) -> Any:
    """Accept `45s`, `2m`, `500ms`, `1h` or a plain number of seconds."""
    if isinstance(value, bool):
        raise ValueError("expected a duration such as 45s, 2m or 500ms")
    if isinstance(value, int | float):
        return _duration_seconds(float(value), value)
    if isinstance(value, str):
        match = _DURATION.match(value)
        if match:
            return _duration_seconds(float(match.group(1)) * _UNIT_SECONDS[match.group(2)], value)
    raise ValueError(f"expected a duration such as 45s, 2m or 500ms, found {value!r}")


_DURATION_SCHEMA = {
    "anyOf": [
        {"type": "number", "minimum": 0},
        {"type": "string", "pattern": r"^\s*\d+(\.\d+)?\s*(ms|s|m|h|d)?\s*$"},
    ],
    "description": "seconds, or a duration such as 45s, 2m, 500ms, 1h",
}
Seconds = Annotated[float, BeforeValidator(parse_duration), WithJsonSchema(_DURATION_SCHEMA)]


def parse_timer(value: Any) -> Any:
    """A duration, or `p.<name>`: a parameter (in seconds) so regimes can change the timer."""
    if isinstance(value, str) and re.fullmatch(r"\s*p\.[a-z_][a-z0-9_]*\s*", value):
        return value.strip()
    return parse_duration(value)


_TIMER_SCHEMA = {
    "anyOf": [
        *_DURATION_SCHEMA["anyOf"],
        {"type": "string", "pattern": r"^\s*p\.[a-z_][a-z0-9_]*\s*$"},
    ],
    "description": "a duration, or p.<parameter> holding seconds",
}
Timer = Annotated[float | str, BeforeValidator(parse_timer), WithJsonSchema(_TIMER_SCHEMA)]


def finite_number(minimum: float | None = None, above: bool = False) -> Callable[[Any], Any]:
    """A validator refusing NaN, ±inf and numbers below `minimum` (strings pass: expressions)."""

    def check(value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, int | float):
            return value
        if not math.isfinite(value):
            raise ValueError(f"expected a finite number, found {value!r}")
        if minimum is not None and (value <= minimum if above else value < minimum):
            relation = "above" if above else "at least"
            raise ValueError(f"must be {relation} {minimum:g}, found {value!r}")
        return value

    return check


# A number or an expression string (checked by the expression compiler); constants must be finite.
Number = Annotated[float | str, BeforeValidator(finite_number())]
NonNegative = Annotated[float | str, BeforeValidator(finite_number(0.0))]
Positive = Annotated[float | str, BeforeValidator(finite_number(0.0, above=True))]
SideName = Literal["bid", "ask", "both", "adding"]


class Strict(BaseModel):
    # allow_inf_nan=False: every float field refuses NaN and ±inf (`.nan` disables a threshold).
    model_config = ConfigDict(extra="forbid", frozen=True, strict=False, allow_inf_nan=False)


# ----- rule files -------------------------------------------------------------------------------


class PauseAction(Strict):
    side: SideName = "both"


class WidenAction(Strict):
    """Widen the full spread by `add_full_spread_bps`; each named side moves by half of it."""

    side: SideName = "both"
    add_full_spread_bps: NonNegative


class SkewAction(Strict):
    """Shift both quotes by `bps` (positive = up: leans to sell less / buy more).

    `combine`: how this skew merges with the other active rules' skews. `priority` (the default
    when left out) is the highest-priority such skew alone; `add` sums every `add` skew on top of
    it, so a trend rule's skew and an inventory rule's skew both count. Unset is kept out of the
    canonical data, so a rule file without it keeps its hash.
    """

    bps: Number
    combine: Literal["priority", "add"] | None = None


class ScaleClipAction(Strict):
    factor: NonNegative


class HedgeAction(Strict):
    mode: Literal["passive", "aggressive", "emergency"] | None = None
    clip_multiplier: Positive | None = None
    offset_bps: Number | None = None
    max_slippage_bps: NonNegative | None = None
    extra_offset_bps: NonNegative | None = None


class RegimeAction(Strict):
    name: str


class FlattenAction(Strict):
    reason: str = ""


class KillAction(Strict):
    reason: str = ""


class AlertAction(Strict):
    level: Literal["info", "warning", "error", "critical"] = "warning"
    message: str


ACTION_TYPES: dict[str, type[Strict]] = {
    "pause": PauseAction,
    "widen": WidenAction,
    "skew": SkewAction,
    "scale_clip": ScaleClipAction,
    "hedge": HedgeAction,
    "regime": RegimeAction,
    "flatten": FlattenAction,
    "kill": KillAction,
    "alert": AlertAction,
}


class Action(Strict):
    """Exactly one of the action kinds."""

    pause: PauseAction | None = None
    widen: WidenAction | None = None
    skew: SkewAction | None = None
    scale_clip: ScaleClipAction | None = None
    hedge: HedgeAction | None = None
    regime: RegimeAction | None = None
    flatten: FlattenAction | None = None
    kill: KillAction | None = None
    alert: AlertAction | None = None

    @model_validator(mode="before")
    @classmethod
    def _one_kind(cls, value: Any) -> Any:
        if isinstance(value, str) and value in ("flatten", "kill", "pause"):
            return {value: {}}
        if isinstance(value, dict):
            if len(value) != 1:
                kinds = ", ".join(sorted(ACTION_TYPES))
                raise ValueError(f"an action has exactly one kind ({kinds}); found {len(value)}")
            ((name, body),) = value.items()
            if body is None:
                return {name: {}}
        return value

    @property
    def kind(self) -> str:
        for name in ACTION_TYPES:
            if getattr(self, name) is not None:
                return name
        raise ValueError("empty action")

    @property
    def body(self) -> Strict:
        result: Strict = getattr(self, self.kind)
        return result


class RuleDefaults(Strict):
    hold: Seconds = 0.0
    min_active: Seconds = 0.0
    cooldown: Seconds = 0.0
    on_error: Literal["trigger", "ignore", "hold"] = "trigger"


class Rule(Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$")
    description: str
    priority: int = Field(default=50, ge=0, le=1000)
    enabled: bool = True
    when: str
    until: str | None = None
    hold: Timer | None = None
    min_active: Timer | None = None
    cooldown: Timer | None = None
    on_error: Literal["trigger", "ignore", "hold"] | None = None
    actions: list[Action] = Field(min_length=1)
    origin: str | None = None  # where the rule's numbers came from (seed notes, original config)


class RulesetFile(Strict):
    schema_: int = Field(alias="schema")
    kind: Literal["ruleset"]
    id: str = Field(pattern=r"^[a-z][a-z0-9_.-]*$")
    revision: int = Field(ge=1)
    description: str = ""
    defaults: RuleDefaults = RuleDefaults()
    rules: list[Rule]


# ----- profiles ---------------------------------------------------------------------------------


class VolatilityBand(Strict):
    enabled: bool = True
    mode: Literal["floor", "replace"] = "floor"
    low_bps: float = Field(default=6.0, ge=0)
    high_bps: float = Field(default=22.0, ge=0)
    min_spread_bps: float = Field(default=7.0, ge=0)
    max_spread_bps: float = Field(default=13.0, ge=0)
    min_size_multiplier: float = Field(default=0.7, gt=0)
    max_size_multiplier: float = Field(default=1.1, gt=0)


class Quoting(Strict):
    spread_bps: float = Field(default=12.0, gt=0)
    volatility_band: VolatilityBand = VolatilityBand()
    # Ends of the inventory size curve, each in units or in USD (converted at the mid of each
    # decision); one form per end. Without either, 0.061 / 0.072 units (the original's).
    size_min_units: float | None = Field(default=None, gt=0)
    size_min_usd: float | None = Field(default=None, gt=0)
    size_max_units: float | None = Field(default=None, gt=0)
    size_max_usd: float | None = Field(default=None, gt=0)
    inventory_soft_cap_units: float = Field(default=0.05, gt=0)
    min_size_units: float = Field(default=0.061, ge=0)
    clip_usd: float = Field(default=10.5, ge=0)
    size_multiplier: float = Field(default=1.0, gt=0)
    extra_full_spread_bps: float = Field(default=0.0, ge=0)  # added to the full spread
    skew_bps_at_soft_cap: float = Field(default=0.0, ge=0)
    # The |inventory| at which the skew reaches skew_bps_at_soft_cap (linear below, capped
    # above); unset: the soft cap, as before this key existed.
    skew_full_at_units: float | None = Field(default=None, gt=0)
    requote_tolerance_bps: float = Field(default=1.5, ge=0)
    min_requote_interval: Seconds = 2.0
    decision_interval: Seconds = Field(default=0.25, gt=0)

    @model_validator(mode="before")
    @classmethod
    def _default_sizes(cls, value: Any) -> Any:
        if isinstance(value, dict):
            value = dict(value)
            for end, default in SIZE_DEFAULTS.items():
                if value.get(f"{end}_units") is None and value.get(f"{end}_usd") is None:
                    value[f"{end}_units"] = default
        return value

    @model_validator(mode="after")
    def _one_form_per_size(self) -> Quoting:
        for end in SIZE_DEFAULTS:
            if (
                getattr(self, f"{end}_units") is not None
                and getattr(self, f"{end}_usd") is not None
            ):
                raise ValueError(f"give {end}_units or {end}_usd, not both (set the other to null)")
        return self


SIZE_DEFAULTS = {"size_min": 0.061, "size_max": 0.072}


class Hedger(Strict):
    enabled: bool = True
    trigger_units: float = Field(default=0.05, gt=0)
    target_units: float = Field(default=0.02, ge=0)
    max_clip_units: float = Field(default=0.06, gt=0)
    prefer_passive: bool = True
    passive_offset_bps: float = Field(default=2.0, ge=0)
    passive_timeout: Seconds = 6.0
    cross_offset_bps: float = Field(default=10.0, ge=0)
    max_slippage_bps: float = Field(default=12.0, ge=0)
    cooldown: Seconds = 1.5
    emergency_clip_multiplier: float = Field(default=1.4, gt=0)
    emergency_extra_bps: float = Field(default=6.0, ge=0)
    emergency_cooldown: Seconds = 0.5


class Guard(Strict):
    price_band_bps: float = Field(default=35.0, gt=0)
    crossed_book_protection: bool = True
    backoff: Seconds = 5.0
    stale_feed: Seconds = 5.0


class Limits(Strict):
    """Hard limits. A position limit in units, in USD (at the current mid), or both (the tighter
    of the two binds); null switches a form off."""

    max_position_units: float | None = Field(default=None, gt=0)
    max_position_usd: float | None = Field(default=50.0, gt=0)
    max_order_usd: float = Field(default=25.0, gt=0)
    tx_per_minute: int = Field(default=60, gt=0)
    tx_reserve: int = Field(default=6, ge=0)

    @model_validator(mode="after")
    def _some_position_limit(self) -> Limits:
        if self.max_position_units is None and self.max_position_usd is None:
            raise ValueError(
                "limits.max_position_usd: set a position limit (max_position_usd and/or "
                "max_position_units); both are null"
            )
        return self


class Signals(Strict):
    vol_halflife: Seconds = Field(default=35.0, gt=0)
    vol_sample: Seconds = Field(default=5.0, gt=0)
    vol_percentile_window: Seconds = Field(default=3600.0, gt=0)
    sigma_window: Seconds = Field(default=300.0, gt=0)
    trend_halflife: Seconds = Field(default=45.0, gt=0)
    returns: dict[str, Seconds] = Field(default_factory=lambda: {"ret_45s_bps": 45.0})
    # Rolling realized-PnL windows: signal name -> window; the name carries its window.
    realized_windows: dict[str, Seconds] = Field(
        default_factory=lambda: {"realized_5m_usd": 300.0, "realized_1h_usd": 3600.0}
    )
    # Rolling counts of our fills: signal name -> window; the name carries its window.
    fill_windows: dict[str, Seconds] = Field(
        default_factory=lambda: {"fills_1m": 60.0, "fills_5m": 300.0}
    )
    # Where the PnL day (realized_day_usd, drawdown_day_usd) starts: an offset from 00:00 UTC.
    pnl_day_start_utc: Seconds = Field(default=0.0, ge=0, lt=86400)
    # Samples a signal needs before it counts as ready (MISSING until then: rules fail closed).
    vol_warmup_samples: int = Field(default=2, ge=1)
    sigma_warmup_samples: int = Field(default=30, ge=2)
    percentile_warmup_samples: int = Field(default=12, ge=1)

    @model_validator(mode="after")
    def _return_names(self) -> Signals:
        for name in self.returns:
            if not re.fullmatch(r"ret_[a-z0-9_]+_bps", name):
                raise ValueError(f"return signal names look like ret_<window>_bps, found {name!r}")
        return self

    @field_validator("realized_windows")
    @classmethod
    def _realized_names(cls, windows: dict[str, float]) -> dict[str, float]:
        return _named_windows(windows, "realized_", "_usd", "realized window")

    @field_validator("fill_windows")
    @classmethod
    def _fill_names(cls, windows: dict[str, float]) -> dict[str, float]:
        return _named_windows(windows, "fills_", "", "fill-count window")


def _named_windows(
    windows: dict[str, float], prefix: str, suffix: str, kind: str
) -> dict[str, float]:
    for name, window in windows.items():
        problem = window_name_problem(name, window, prefix, suffix, kind)
        if problem is not None:
            raise ValueError(problem)
    return windows


def window_name_problem(
    name: str, window: float, prefix: str, suffix: str, kind: str
) -> str | None:
    """Why `name: window` is no `<prefix><window><suffix>` signal (`realized_5m_usd: 5m`)."""
    pattern = re.escape(prefix) + r"([0-9]+(?:\.[0-9]+)?(?:ms|s|m|h|d))" + re.escape(suffix)
    match = re.fullmatch(pattern, name)
    if match is None:
        return f"{kind} names look like {prefix}<window>{suffix}, found {name!r}"
    if window <= 0:
        return f"{name}: a {kind} must be longer than 0 s"
    named = parse_duration(match.group(1))
    if abs(named - window) > 1e-9:
        return f"{name} names a {named:g} s window but is set to {window:g} s"
    return None


# Ranges of profile parameters, by what their name says they hold (docs/profiles.md). A negative
# volatility threshold or multiplier can never be meant: it silently disables the rule using it.
PARAM_RANGES: tuple[tuple[str, float, float, str], ...] = (
    (r"_s$", 0.0, MAX_DURATION_S, "seconds"),
    (r"_percentile$", 0.0, 100.0, "a percentile"),
    (r"_multiplier$", 0.0, math.inf, "a multiplier"),
    (r"_units$", 0.0, math.inf, "a size in units"),
    (r"_ratio$", 0.0, math.inf, "a ratio"),
    (r"^vol_.*_bps$|_sigma_bps$", 0.0, math.inf, "a volatility"),
    (r"_(extra|widen|offset|slippage)_bps$", 0.0, math.inf, "a spread or price offset"),
)


def param_range_problem(name: str, value: float) -> str | None:
    """Why `value` is out of range for a parameter named `name`, or None when it is fine."""
    for pattern, low, high, meaning in PARAM_RANGES:
        if re.search(pattern, name) and not low <= value <= high:
            upper = "" if math.isinf(high) else f" and at most {high:g}"
            return f"{name} is {meaning}: must be at least {low:g}{upper}, found {value:g}"
    return None


def _check_param_ranges(params: dict[str, float], prefix: str) -> None:
    for name, value in params.items():
        problem = param_range_problem(name, value)
        if problem is not None:
            raise ValueError(f"{prefix}{name}: {problem}")


class RegimeOverlay(Strict):
    params: dict[str, float] = Field(default_factory=dict)
    quoting: dict[str, Any] = Field(default_factory=dict)


class Regimes(Strict):
    default: str = "aggressive"
    # The regime the `regime_aggressive` signal and the solbot_regime_aggressive gauge report.
    flagged: str = "aggressive"
    min_dwell: Seconds = 60.0
    overlays: dict[str, RegimeOverlay] = Field(default_factory=dict)


class RuleOverride(Strict):
    enabled: bool | None = None
    priority: int | None = Field(default=None, ge=0, le=1000)
    hold: Timer | None = None
    min_active: Timer | None = None
    cooldown: Timer | None = None


class RuleSelection(Strict):
    include: list[str] = Field(default_factory=list)
    override: dict[str, RuleOverride] = Field(default_factory=dict)


class Alerts(Strict):
    """Where alerts go. The webhook URL is a secret: shown redacted, left out of hashes."""

    webhook_url: str | None = None
    min_interval: Seconds = 60.0


REDACTED = "***redacted***"

# Keys added to schema 2 after profiles were hashed with it: left out of a profile's canonical
# data (its hash, `profiles show`, `diff-profiles`) while unset, so every existing profile and
# recorded trace keeps its hash. Each is (section, key); a key here must default to None.
ADDED_WHEN_SET: tuple[tuple[str, str], ...] = (("quoting", "skew_full_at_units"),)


def canonical_data(profile: Profile) -> dict[str, Any]:
    """A resolved profile as canonical data: defaults included, secrets redacted, and the keys
    of ADDED_WHEN_SET only when set."""
    data = profile.model_dump(mode="json", by_alias=True)
    for section, key in ADDED_WHEN_SET:
        part = data.get(section)
        if isinstance(part, dict) and part.get(key) is None:
            part.pop(key, None)
    return redact(data)


def redact(data: dict[str, Any]) -> dict[str, Any]:
    """A resolved profile's data with secret values replaced (for show, diff and hashes)."""
    alerts = data.get("alerts")
    if isinstance(alerts, dict) and alerts.get("webhook_url"):
        data = {**data, "alerts": {**alerts, "webhook_url": REDACTED}}
    return data


class Profile(Strict):
    """A fully resolved profile (after `extends` merging)."""

    schema_: int = Field(alias="schema")
    kind: Literal["profile"]
    id: str = Field(pattern=r"^[a-z][a-z0-9_-]*$")
    description: str = ""
    extends: str | None = None
    market: str = "lighter:SOL"
    tier: str = "standard"
    params: dict[str, float] = Field(default_factory=dict)
    signals: Signals = Signals()
    quoting: Quoting = Quoting()
    hedger: Hedger = Hedger()
    guard: Guard = Guard()
    limits: Limits = Limits()
    regimes: Regimes = Regimes()
    rules: RuleSelection = RuleSelection()
    alerts: Alerts = Alerts()

    @model_validator(mode="after")
    def _consistent(self) -> Profile:
        quoting = self.quoting
        for form in ("units", "usd"):
            low, high = getattr(quoting, f"size_min_{form}"), getattr(quoting, f"size_max_{form}")
            if low is not None and high is not None and low > high:
                raise ValueError(
                    f"quoting.size_min_{form}: must not exceed quoting.size_max_{form}"
                )
        if self.hedger.target_units >= self.hedger.trigger_units:
            raise ValueError("hedger.target_units: must be below hedger.trigger_units")
        if self.regimes.default not in self.regimes.overlays and self.regimes.overlays:
            raise ValueError(f"regimes.default: {self.regimes.default!r} is not an overlay name")
        regimes = self.regimes
        names = set(regimes.overlays) or {regimes.default}
        if "flagged" in regimes.model_fields_set and regimes.flagged not in names:
            raise ValueError(f"regimes.flagged: {regimes.flagged!r} is not an overlay name")
        _check_param_ranges(self.params, "params.")
        for name, overlay in self.regimes.overlays.items():
            _check_param_ranges(overlay.params, f"regimes.overlays.{name}.params.")
        return self


def known_keys() -> set[str]:
    """Every key any profile or rule file may use (for "did you mean" on unknown keys)."""
    names: set[str] = set()
    pending: list[type[BaseModel]] = [Profile, RulesetFile]
    seen: set[type[BaseModel]] = set()
    while pending:
        model = pending.pop()
        if model in seen:
            continue
        seen.add(model)
        for name, info in model.model_fields.items():
            names.add(info.alias or name)
            for candidate in _models_in(info.annotation):
                pending.append(candidate)
    return names


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    found: list[type[BaseModel]] = []
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    for argument in getattr(annotation, "__args__", ()) or ():
        found.extend(_models_in(argument))
    return found
