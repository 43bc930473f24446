"""The signal catalog: every name an expression may read, with its unit and how it is computed."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class SignalInfo:
    name: str
    unit: str
    description: str
    computed: str


STATIC_SIGNALS: tuple[SignalInfo, ...] = (
    SignalInfo(
        "mid", "usd", "Mid price of the best bid and ask.", "(bid + ask) / 2 per book event"
    ),
    SignalInfo("spread_bps", "bps", "Market spread.", "(ask - bid) / mid * 1e4 per book event"),
    SignalInfo(
        "vol_ema_bps",
        "bps",
        "Volatility: EMA of absolute mid returns between samples.",
        "every signals.vol_sample (5 s): |mid/last - 1|*1e4; EMA, half-life signals.vol_halflife",
    ),
    SignalInfo(
        "sigma_1m_bps",
        "bps",
        "One-minute sigma of mid returns.",
        "stdev of 1 s returns over signals.sigma_window, scaled by sqrt(60)",
    ),
    SignalInfo(
        "vol_percentile",
        "percent",
        "Percentile of vol_ema_bps within its own rolling window.",
        "rank of the current vol_ema_bps among samples of the last signals.vol_percentile_window",
    ),
    SignalInfo(
        "trend_ema_bps",
        "bps",
        "Distance of mid from its EMA (positive = above trend).",
        "EMA of 1 s mid samples with half-life signals.trend_halflife",
    ),
    SignalInfo("inventory_units", "units", "Signed position (long > 0).", "sum of fills"),
    SignalInfo("inventory_usd", "usd", "Signed position at mid.", "inventory_units * mid"),
    SignalInfo(
        "inventory_ratio",
        "ratio",
        "Signed position as a fraction of the position limit (tighter of units and USD at mid).",
        "inventory_units / position limit in units",
    ),
    SignalInfo(
        "exposure_s",
        "s",
        "How long |inventory| has stayed above hedger.trigger_units (0 below).",
        "event time since |inventory| first exceeded the trigger",
    ),
    SignalInfo(
        "over_trigger_s",
        "s",
        "How long |inventory| has stayed above hedger.trigger_units without being reduced "
        "(0 at or below the trigger).",
        "event time since |inventory| crossed the trigger or last reached a new low above it",
    ),
    SignalInfo(
        "realized_day_usd",
        "usd",
        "FIFO realized PnL of the PnL day (earlier sessions' fills included).",
        "since signals.pnl_day_start_utc (00:00 UTC), seeded from the ledger at start",
    ),
    SignalInfo("realized_total_usd", "usd", "FIFO realized PnL of the session.", "running sum"),
    SignalInfo(
        "cash_flow_usd",
        "usd",
        "Cash flow of the session (NOT PnL: buying reads as a loss).",
        "sum of -signed size * price - fees",
    ),
    SignalInfo(
        "drawdown_usd",
        "usd",
        "Drop of realized + unrealized PnL from its peak since the session started (>= 0).",
        "running max of (realized_total_usd + unrealized_usd) at each decision and fill, minus now",
    ),
    SignalInfo(
        "drawdown_day_usd",
        "usd",
        "Drop of realized + unrealized PnL from its peak of the PnL day (>= 0); survives restarts.",
        "running max of (realized_day_usd + unrealized_usd) at each decision and fill, reset at "
        "signals.pnl_day_start_utc (00:00 UTC), seeded from the ledger's fills of the day",
    ),
    SignalInfo("unrealized_usd", "usd", "Unrealized PnL of open FIFO lots at mid.", "lots at mid"),
    SignalInfo("fees_usd", "usd", "Fees paid in the session (negative = rebates).", "sum of fees"),
    SignalInfo(
        "feed_age_s", "s", "Time since the last market data event.", "now - last event time"
    ),
    SignalInfo(
        "feed_latency_ms",
        "ms",
        "Receive time minus exchange time of the last market event.",
        "per book event",
    ),
    SignalInfo(
        "guard_block_s",
        "s",
        "How long the risk guard has continuously blocked quoting on some side.",
        "event time since the first blocked decision of the current block",
    ),
    SignalInfo(
        "tx_budget_left",
        "count",
        "Transactions left in the venue's rolling one-minute budget.",
        "limits.tx_per_minute - txs sent in the last 60 s",
    ),
    SignalInfo(
        "regime_aggressive", "flag", "1 when the aggressive regime is active, else 0.", "engine"
    ),
    SignalInfo("regime_age_s", "s", "Time since the last regime switch.", "engine"),
    SignalInfo("book_valid", "flag", "1 when the order book is consistent and fresh.", "venue"),
)


STATIC_INDEX = {info.name: position for position, info in enumerate(STATIC_SIGNALS)}

# The realized-PnL windows of a profile that does not set signals.realized_windows.
DEFAULT_REALIZED_WINDOWS: tuple[tuple[str, float], ...] = (
    ("realized_5m_usd", 300.0),
    ("realized_1h_usd", 3600.0),
)
# The fill-count windows of a profile that does not set signals.fill_windows.
DEFAULT_FILL_WINDOWS: tuple[tuple[str, float], ...] = (("fills_1m", 60.0), ("fills_5m", 300.0))
# The configured windows sit just before these static signals, as they always have.
_REALIZED_BEFORE = "realized_day_usd"
_FILLS_BEFORE = "tx_budget_left"


def fill_signal(name: str, window_s: float) -> SignalInfo:
    text = "minute" if window_s == 60.0 else _window_text(window_s)
    return SignalInfo(name, "count", f"Our fills in the last {text}.", "rolling count")


def realized_signal(name: str, window_s: float) -> SignalInfo:
    return SignalInfo(
        name,
        "usd",
        f"FIFO realized PnL, last {_window_text(window_s)} (earlier sessions' fills included).",
        "rolling sum, seeded from the ledger at start",
    )


def _window(item: tuple[str, float]) -> tuple[float, str]:
    return item[1], item[0]


def _window_text(window_s: float) -> str:
    if window_s == 3600.0:
        return "hour"
    if window_s % 3600 == 0:
        return f"{window_s / 3600:g} hours"
    if window_s % 60 == 0:
        return f"{window_s / 60:g} minutes"
    return f"{window_s:g} s"


@dataclass(frozen=True)
class SignalCatalog:
    """The catalog of one profile: static signals plus its configured windows."""

    signals: tuple[SignalInfo, ...]

    @classmethod
    def build(
        cls,
        return_windows: Iterable[tuple[str, float]],
        realized_windows: Iterable[tuple[str, float]] = DEFAULT_REALIZED_WINDOWS,
        fill_windows: Iterable[tuple[str, float]] = DEFAULT_FILL_WINDOWS,
    ) -> SignalCatalog:
        """Static signals, the realized and fill windows (shortest first), the return windows."""
        realized = tuple(
            realized_signal(name, window) for name, window in sorted(realized_windows, key=_window)
        )
        fills = tuple(
            fill_signal(name, window) for name, window in sorted(fill_windows, key=_window)
        )
        returns = tuple(
            SignalInfo(
                name,
                "bps",
                f"Mid return over the last {window:g} s.",
                "(mid / mid sampled window seconds ago - 1) * 1e4 on 1 s samples",
            )
            for name, window in sorted(return_windows)
        )
        cut, fill_cut = STATIC_INDEX[_REALIZED_BEFORE], STATIC_INDEX[_FILLS_BEFORE]
        static = STATIC_SIGNALS
        return cls(
            static[:cut] + realized + static[cut:fill_cut] + fills + static[fill_cut:] + returns
        )

    @property
    def names(self) -> Sequence[str]:
        return [info.name for info in self.signals]

    def index(self) -> dict[str, int]:
        return {info.name: position for position, info in enumerate(self.signals)}

    def __iter__(self) -> Iterator[SignalInfo]:
        return iter(self.signals)

    def __len__(self) -> int:
        return len(self.signals)
