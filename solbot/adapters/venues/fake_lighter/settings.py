"""Configuration of the fake Lighter venue and its run-time fault knobs."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from solbot.core.model import MarketSpec
from solbot.errors import UsageError

LOOPBACK_HOST = "127.0.0.1"

# The market the fake serves, as Lighter lists it (LIGHTER.md §4.1): SOL perp is market 2.
SOL_MARKET = MarketSpec(
    symbol="SOL",
    venue="lighter",
    market_id=2,
    price_decimals=3,
    size_decimals=3,
    min_base_amount=0.050,
    min_quote_amount=10.0,
)
MARKETS: Mapping[str, MarketSpec] = {"SOL": SOL_MARKET}

# Account tiers (LIGHTER.md §4.2): requests per rolling minute and maker/taker fees in bps.
TIER_LIMITS: Mapping[str, int | None] = {"standard": 60, "premium": None}
TIER_TX_LIMITS: Mapping[str, int | None] = {"standard": None, "premium": 4000}  # own bucket
# Lighter's WebSocket limits per client (apidocs rate-limits): the defaults of the CLI knobs.
WS_CONNECTIONS_PER_MINUTE = 80
WS_MESSAGES_PER_MINUTE = 200
TIER_FEES_BPS: Mapping[str, tuple[float, float]] = {"standard": (0.0, 0.0), "premium": (0.4, 2.8)}


class FaultError(ValueError):
    """A fault knob or its value is not understood."""


@dataclass
class FaultSettings:
    """Fault knobs; one-shot knobs fire at the next tick that has something to act on."""

    drop_socket_every_s: float | None = None
    drop_socket_now: bool = False
    skip_book_nonce: int = 0
    resend_old_trades: int = 0
    rate_limit_after: int | None = None
    nonce_error_once: bool = False
    delay_ms: int = 0
    shutdown_close_in_ms: int | None = None
    stop_pings: bool = False
    no_pong_close_s: float | None = None
    ping_interval_s: float | None = None
    frozen_book: bool = False
    close_after_greeting: bool = False

    def as_dict(self) -> dict[str, Any]:
        """Current knob values, for `/_fake/state`."""
        return {
            "drop_socket_every_s": self.drop_socket_every_s,
            "drop_socket_now": self.drop_socket_now,
            "skip_book_nonce": self.skip_book_nonce,
            "resend_old_trades": self.resend_old_trades,
            "rate_limit_after": self.rate_limit_after,
            "nonce_error_once": self.nonce_error_once,
            "delay_ms": self.delay_ms,
            "shutdown_close_in_ms": self.shutdown_close_in_ms,
            "stop_pings": self.stop_pings,
            "no_pong_close_s": self.no_pong_close_s,
            "ping_interval_s": self.ping_interval_s,
            "frozen_book": self.frozen_book,
            "close_after_greeting": self.close_after_greeting,
        }


_OFF_WORDS = frozenset({"off", "none", "null", "false", "no"})
_ON_WORDS = frozenset({"on", "true", "yes", "1"})


def _is_off(value: Any) -> bool:
    return (
        value is None or value is False or (isinstance(value, str) and value.lower() in _OFF_WORDS)
    )


def _as_bool(knob: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        lowered = value.lower()
        if lowered in _ON_WORDS:
            return True
        if lowered in _OFF_WORDS or lowered == "0":
            return False
    raise FaultError(f"{knob}: expected true or false, found {value!r}")


def _as_number(knob: str, value: Any, *, minimum: float) -> float:
    if isinstance(value, bool):
        raise FaultError(f"{knob}: expected a number, found {value!r}")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise FaultError(f"{knob}: expected a number, found {value!r}") from None
    if not math.isfinite(number) or number < minimum:
        raise FaultError(f"{knob}: expected a number >= {minimum:g}, found {value!r}")
    return number


def _as_int(knob: str, value: Any, *, minimum: int) -> int:
    number = _as_number(knob, value, minimum=minimum)
    if number != int(number):
        raise FaultError(f"{knob}: expected a whole number, found {value!r}")
    return int(number)


def _set_drop_socket(faults: FaultSettings, value: Any) -> None:
    if _is_off(value):
        faults.drop_socket_every_s = None
        return
    if value is True or (isinstance(value, str) and value.lower() == "now"):
        faults.drop_socket_now = True
        return
    seconds = _as_number("drop_socket", value, minimum=0)
    if seconds == 0:
        faults.drop_socket_now = True
    else:
        faults.drop_socket_every_s = seconds


def _set_skip_book_nonce(faults: FaultSettings, value: Any) -> None:
    if isinstance(value, bool) or (
        isinstance(value, str) and value.lower() in _ON_WORDS | _OFF_WORDS
    ):
        faults.skip_book_nonce = 1 if _as_bool("skip_book_nonce", value) else 0
        return
    faults.skip_book_nonce = _as_int("skip_book_nonce", value, minimum=0)


def _set_resend_old_trades(faults: FaultSettings, value: Any) -> None:
    faults.resend_old_trades = _as_int("resend_old_trades", value, minimum=1)


def _set_rate_limit_after(faults: FaultSettings, value: Any) -> None:
    faults.rate_limit_after = (
        None if _is_off(value) else _as_int("rate_limit_after", value, minimum=0)
    )


def _set_nonce_error_once(faults: FaultSettings, value: Any) -> None:
    faults.nonce_error_once = _as_bool("nonce_error_once", value)


def _set_delay_ms(faults: FaultSettings, value: Any) -> None:
    faults.delay_ms = 0 if _is_off(value) else _as_int("delay_ms", value, minimum=0)


def _set_shutdown(faults: FaultSettings, value: Any) -> None:
    if _is_off(value):
        faults.shutdown_close_in_ms = None
        return
    close_in_ms = 1000 if value is True else _as_int("shutdown", value, minimum=0)
    faults.shutdown_close_in_ms = close_in_ms


def _set_stop_pings(faults: FaultSettings, value: Any) -> None:
    faults.stop_pings = _as_bool("stop_pings", value)


def _set_no_pong_close_s(faults: FaultSettings, value: Any) -> None:
    if _is_off(value):
        faults.no_pong_close_s = None
        return
    seconds = _as_number("no_pong_close_s", value, minimum=0)
    if seconds == 0:
        raise FaultError("no_pong_close_s: expected a number > 0 (or off)")
    faults.no_pong_close_s = seconds


def _set_ping_interval_s(faults: FaultSettings, value: Any) -> None:
    if _is_off(value):
        faults.ping_interval_s = None
        return
    seconds = _as_number("ping_interval_s", value, minimum=0)
    if seconds == 0:
        raise FaultError("ping_interval_s: expected a number > 0")
    faults.ping_interval_s = seconds


def _set_frozen_book(faults: FaultSettings, value: Any) -> None:
    faults.frozen_book = _as_bool("frozen_book", value)


def _set_close_after_greeting(faults: FaultSettings, value: Any) -> None:
    faults.close_after_greeting = _as_bool("close_after_greeting", value)


KNOBS: Mapping[str, Callable[[FaultSettings, Any], None]] = {
    "close_after_greeting": _set_close_after_greeting,
    "frozen_book": _set_frozen_book,
    "drop_socket": _set_drop_socket,
    "skip_book_nonce": _set_skip_book_nonce,
    "resend_old_trades": _set_resend_old_trades,
    "rate_limit_after": _set_rate_limit_after,
    "nonce_error_once": _set_nonce_error_once,
    "delay_ms": _set_delay_ms,
    "shutdown": _set_shutdown,
    "stop_pings": _set_stop_pings,
    "no_pong_close_s": _set_no_pong_close_s,
    "ping_interval_s": _set_ping_interval_s,
}


def apply_fault(faults: FaultSettings, knob: str, value: Any) -> None:
    """Set one knob; raises FaultError naming the knob when the name or value is wrong."""
    setter = KNOBS.get(knob)
    if setter is None:
        known = ", ".join(sorted(KNOBS))
        raise FaultError(f"unknown fault knob {knob!r}; known knobs: {known}")
    setter(faults, value)


def parse_fault_assignment(text: str) -> tuple[str, str]:
    """Split `KNOB=VALUE` (a bare `KNOB` means `KNOB=true`)."""
    knob, separator, value = text.partition("=")
    knob = knob.strip()
    if not knob:
        raise FaultError(f"expected KNOB=VALUE, found {text!r}")
    return knob, value.strip() if separator else "true"


def faults_from_assignments(assignments: list[str]) -> FaultSettings:
    """Build the start-up fault settings from `--fault KNOB=VALUE` options."""
    faults = FaultSettings()
    for text in assignments:
        knob, value = parse_fault_assignment(text)
        apply_fault(faults, knob, value)
    return faults


@dataclass(frozen=True)
class ListedStats:
    """Public figures of one market as the venue lists them (orderBookDetails, funding-rates).

    For a market other than the traded one they are all the fake knows of it: its book is one
    level a side at `mark_price` -/+ half of `spread_bps`.
    """

    mark_price: float
    funding_rate: float = 0.0  # fraction per funding period, as `/api/v1/funding-rates` lists it
    open_interest: float = 0.0  # base units
    spread_bps: float = 2.0
    default_initial_margin_fraction: int = 1000  # 1e-4 units: 1000 = 10 % (LIGHTER.md §4.1)
    min_initial_margin_fraction: int = 400
    maintenance_margin_fraction: int = 240


@dataclass(frozen=True)
class FakeVenueConfig:
    """Everything the fake venue needs at start; validated on construction."""

    host: str = LOOPBACK_HOST
    port: int = 0
    data_paths: tuple[Path, ...] = ()
    synthetic: bool = False
    market: MarketSpec = SOL_MARKET
    start_price: float = 150.0
    speed: float = 1.0
    loop: bool = False
    seed: int = 0
    account_index: int = 1
    api_keys: Mapping[int, str] = field(default_factory=dict)
    initial_nonce: int = 0
    collateral_usd: float = 1000.0
    tier: str = "standard"
    ping_interval_s: float = 20.0
    book_interval_ms: int = 50
    depth_levels: int = 5
    depth_step_ticks: int = 10
    depth_unit_lots: int = 20_000
    min_spread_ticks: int = 5
    trade_snapshot_size: int = 50
    public_trade_history: int = 5_000
    min_scheduled_cancel_ms: int = 300_000
    funding_rate: float = 0.0
    faults: FaultSettings = field(default_factory=FaultSettings)
    require_auth: bool = False  # refuse account subscriptions without a valid auth token
    # More markets of the same account: orders there rest without matching (no feed), so a
    # test can check that cancels scoped to `market` leave another strategy's orders alone.
    other_markets: tuple[MarketSpec, ...] = ()
    # Listed figures by market id (the traded market or one of `other_markets`): open interest,
    # funding, margin fractions and, for other markets, a price and a spread. Lets `markets rank`
    # and `size` run end to end against the fake.
    market_stats: Mapping[int, ListedStats] = field(default_factory=dict)
    # As strict as the real venue (LIGHTER.md §4.2): txs take effect after these latencies
    # (Standard: 200 ms maker and cancel, 300 ms taker; 0 = at once), and a client may open
    # `ws_connections_per_minute` connections and send `ws_messages_per_minute` messages a
    # rolling minute (None: no limit).
    order_latency_ms: int = 0
    cancel_latency_ms: int = 0
    taker_latency_ms: int = 0
    ws_connections_per_minute: int | None = None
    ws_messages_per_minute: int | None = None

    def __post_init__(self) -> None:
        _check_config(self)

    @property
    def market_with_fees(self) -> MarketSpec:
        """The market spec carrying the fees of the configured tier."""
        maker_bps, taker_bps = TIER_FEES_BPS[self.tier]
        return replace(self.market, maker_fee_bps=maker_bps, taker_fee_bps=taker_bps)

    @property
    def requests_per_minute(self) -> int | None:
        return TIER_LIMITS[self.tier]


def _check_config(config: FakeVenueConfig) -> None:
    problems: list[str] = []
    if config.host != LOOPBACK_HOST:
        problems.append(f"host: the fake venue binds {LOOPBACK_HOST} only, found {config.host!r}")
    if not 0 <= config.port <= 65535:
        problems.append(f"port: expected 0..65535, found {config.port}")
    if config.tier not in TIER_LIMITS:
        problems.append(f"tier: expected one of {sorted(TIER_LIMITS)}, found {config.tier!r}")
    positive = {
        "start_price": config.start_price,
        "speed": config.speed,
        "ping_interval_s": config.ping_interval_s,
        "book_interval_ms": config.book_interval_ms,
        "depth_levels": config.depth_levels,
        "depth_step_ticks": config.depth_step_ticks,
        "depth_unit_lots": config.depth_unit_lots,
        "min_spread_ticks": config.min_spread_ticks,
        "trade_snapshot_size": config.trade_snapshot_size,
        "public_trade_history": config.public_trade_history,
    }
    for name, value in positive.items():
        if not (math.isfinite(value) and value > 0):
            problems.append(f"{name}: expected a number > 0, found {value}")
    if not 0 <= config.account_index <= 2**48 - 2:
        problems.append(f"account_index: expected 0..{2**48 - 2}, found {config.account_index}")
    for key_index in config.api_keys:
        if not 0 <= key_index <= 254:
            problems.append(f"api_keys: key index must be 0..254, found {key_index}")
    if config.initial_nonce < 0 or config.min_scheduled_cancel_ms < 0:
        problems.append("initial_nonce and min_scheduled_cancel_ms must be >= 0")
    other_ids = [market.market_id for market in config.other_markets]
    if len(set(other_ids)) != len(other_ids) or config.market.market_id in other_ids:
        problems.append(
            f"other_markets: market ids must differ from each other and from "
            f"{config.market.market_id}, found {other_ids}"
        )
    if any(not 0 <= market_id <= 254 for market_id in other_ids):
        problems.append(f"other_markets: market ids must be 0..254, found {other_ids}")
    listed = {config.market.market_id, *other_ids}
    for market_id, stats in config.market_stats.items():
        if market_id not in listed:
            problems.append(
                f"market_stats: market {market_id} is neither the traded market nor one of "
                f"other_markets {other_ids}"
            )
        numbers = (stats.mark_price, stats.funding_rate, stats.open_interest, stats.spread_bps)
        if not all(math.isfinite(value) for value in numbers):
            problems.append(f"market_stats: market {market_id} has a non-finite figure")
        elif stats.mark_price <= 0 or stats.open_interest < 0 or stats.spread_bps <= 0:
            problems.append(
                f"market_stats: market {market_id} needs mark_price > 0, open_interest >= 0 "
                f"and spread_bps > 0"
            )
    latencies = (config.order_latency_ms, config.cancel_latency_ms, config.taker_latency_ms)
    if any(not 0 <= value <= 60_000 for value in latencies):
        problems.append(f"order/cancel/taker latency: expected 0..60000 ms, found {latencies}")
    for name in ("ws_connections_per_minute", "ws_messages_per_minute"):
        value = getattr(config, name)
        if value is not None and value < 1:
            problems.append(f"{name}: expected at least 1, found {value}")
    if config.synthetic and config.data_paths:
        problems.append("data_paths: a synthetic feed takes no data files")
    if problems:
        raise UsageError("invalid fake venue settings: " + "; ".join(problems))
