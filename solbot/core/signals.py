"""Incremental signal state, updated from market events, fills and the bot's own state.

Everything runs on event time. Expensive work happens on sample boundaries (1 s for returns,
sigma and trend; `vol_sample` for the volatility EMA), not on every book event.
"""

from __future__ import annotations

import bisect
import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

from solbot.core.catalog import DEFAULT_FILL_WINDOWS, DEFAULT_REALIZED_WINDOWS, SignalCatalog
from solbot.core.seed import SeedPoint, pnl_day, seed_since_ns

NS = 1_000_000_000
DAY_NS = 86_400 * NS


@dataclass(frozen=True)
class SignalSettings:
    vol_halflife_s: float = 35.0
    vol_sample_s: float = 5.0
    vol_percentile_window_s: float = 3600.0
    sigma_window_s: float = 300.0
    trend_halflife_s: float = 45.0
    returns: tuple[tuple[str, float], ...] = (("ret_45s_bps", 45.0),)
    realized_windows: tuple[tuple[str, float], ...] = DEFAULT_REALIZED_WINDOWS
    fill_windows: tuple[tuple[str, float], ...] = DEFAULT_FILL_WINDOWS
    pnl_day_start_s: float = 0.0  # the PnL day starts this long after 00:00 UTC
    max_position_units: float = 0.3  # 0: no limit in units
    max_position_usd: float = 0.0  # 0: no limit in USD
    exposure_trigger_units: float = 0.05
    vol_warmup_samples: int = 2
    sigma_warmup_samples: int = 30
    percentile_warmup_samples: int = 12


class _Rolling:
    """A time-windowed sum of (time, value) pairs."""

    __slots__ = ("items", "total", "window_ns")

    def __init__(self, window_ns: int) -> None:
        self.window_ns = window_ns
        self.items: deque[tuple[int, float]] = deque()
        self.total = 0.0

    def add(self, ts_ns: int, value: float) -> None:
        self.items.append((ts_ns, value))
        self.total += value

    def expire(self, now_ns: int) -> float:
        items = self.items
        limit = now_ns - self.window_ns
        while items and items[0][0] <= limit:
            self.total -= items.popleft()[1]
        if not items:
            self.total = 0.0  # keep float drift from accumulating
        return self.total


class _Drawdown:
    """Peak of an equity curve within a period; drawdown = peak - current, never negative."""

    __slots__ = ("peak", "period")

    def __init__(self) -> None:
        self.period = -1
        self.peak = 0.0

    def update(self, period: int, equity: float) -> float:
        if period != self.period:  # a new period starts with the peak where equity is now
            self.period = period
            self.peak = equity
        elif equity > self.peak:
            self.peak = equity
        return self.peak - equity


class SignalState:
    """Values and readiness of every catalog signal; `values` is read by the compiled rules."""

    def __init__(self, catalog: SignalCatalog, settings: SignalSettings, lot: float) -> None:
        self.catalog = catalog
        self.settings = settings
        self.lot = lot
        index = catalog.index()
        self.index = index
        self.values: list[float] = [0.0] * len(catalog)
        self.ready = 0
        self._bit = {name: 1 << position for name, position in index.items()}
        self._always_ready(
            "inventory_units",
            *(name for name, _ in settings.realized_windows),
            "realized_day_usd",
            "realized_total_usd",
            "cash_flow_usd",
            "unrealized_usd",
            "fees_usd",
            *(name for name, _ in settings.fill_windows),
            "exposure_s",
            "over_trigger_s",
            "drawdown_usd",
            "drawdown_day_usd",
            "guard_block_s",
            "regime_aggressive",
            "regime_age_s",
            "tx_budget_left",
            "book_valid",
        )
        self.mid = 0.0
        self.last_event_ns = 0
        # bar replays: the feed counts as alive until this time (see Engine.vouch_feed)
        self.feed_vouched_until_ns = 0
        self._next_second_ns = 0
        self._next_vol_ns = 0
        self._vol_last_mid = 0.0
        self._vol_samples = 0
        self._vol_ema = 0.0
        self._vol_history: deque[tuple[int, float]] = deque()
        self._vol_sorted: list[float] = []
        self._second_mids: deque[tuple[int, float]] = deque()
        self._returns: deque[float] = deque()
        self._return_sum = 0.0
        self._return_sq = 0.0
        self._trend_ema = 0.0
        self._max_return_window_ns = int(
            max([window for _, window in settings.returns] + [settings.sigma_window_s]) * NS
        )
        self._return_slots = [
            (index[name], int(window * NS), self._bit[name]) for name, window in settings.returns
        ]
        self._realized = {
            name: _Rolling(int(window * NS)) for name, window in settings.realized_windows
        }
        self._day_start_ns = int(settings.pnl_day_start_s * NS)
        self._fills = {name: _Rolling(int(window * NS)) for name, window in settings.fill_windows}
        self._rollings = (*self._realized.values(), *self._fills.values())
        self._window_slots = self._slots_of_windows()
        self._next_day_start_ns = 0  # next_day_start_ns's last answer (0: none yet)
        self._day_asked_ns = 0  # ... and the time it was asked for
        self._day = -1
        self._drawdown = _Drawdown()  # since the session started: one period
        self._drawdown_day = _Drawdown()  # period = PnL day
        self._exposure_since = 0
        self._over_trigger_since = 0
        self._over_trigger_low = 0.0  # lowest |inventory| (units) since the clock started
        self._inventory_lots = 0
        self.set("book_valid", 1.0)
        self.set("tx_budget_left", 0.0)

    # ----- helpers -------------------------------------------------------------------------------

    def _always_ready(self, *names: str) -> None:
        for name in names:
            self.ready |= self._bit[name]

    def set(self, name: str, value: float) -> None:
        self.values[self.index[name]] = value
        self.ready |= self._bit[name]

    def unset(self, name: str) -> None:
        self.ready &= ~self._bit[name]

    def get(self, name: str) -> float | None:
        if self.ready & self._bit[name]:
            return self.values[self.index[name]]
        return None

    def as_dict(self) -> dict[str, float | None]:
        return {name: self.get(name) for name in self.catalog.names}

    # ----- market data ---------------------------------------------------------------------------

    def on_book(self, ts_ns: int, exchange_ts_ns: int, bid: float, ask: float) -> None:
        """A new best bid/ask (as prices)."""
        if bid <= 0.0 or ask <= 0.0:
            return
        mid = (bid + ask) * 0.5
        self.mid = mid
        values = self.values
        index = self.index
        values[index["mid"]] = mid
        values[index["spread_bps"]] = (ask - bid) / mid * 1e4
        values[index["feed_latency_ms"]] = (ts_ns - exchange_ts_ns) / 1e6
        if self.last_event_ns == 0:
            self._start(ts_ns)
        self.last_event_ns = ts_ns
        if ts_ns >= self._next_second_ns:
            self._sample_second(ts_ns, mid)
        if ts_ns >= self._next_vol_ns:
            self._sample_vol(ts_ns, mid)

    def _start(self, ts_ns: int) -> None:
        for name in (
            "mid",
            "spread_bps",
            "feed_latency_ms",
            "feed_age_s",
            "inventory_usd",
            "inventory_ratio",
        ):
            self.ready |= self._bit[name]
        self._next_second_ns = ts_ns
        self._next_vol_ns = ts_ns

    def _sample_second(self, ts_ns: int, mid: float) -> None:
        self._next_second_ns = (ts_ns // NS + 1) * NS
        mids = self._second_mids
        if mids:
            previous = mids[-1][1]
            change = mid / previous - 1.0
            self._returns.append(change)
            self._return_sum += change
            self._return_sq += change * change
            halflife = self.settings.trend_halflife_s
            alpha = 1.0 - math.exp(-math.log(2.0) * (ts_ns - mids[-1][0]) / NS / halflife)
            self._trend_ema += alpha * (mid - self._trend_ema)
        else:
            self._trend_ema = mid
        mids.append((ts_ns, mid))
        horizon = ts_ns - self._max_return_window_ns - NS
        while len(mids) > 2 and mids[1][0] <= horizon:
            mids.popleft()
        sigma_samples = max(2, int(self.settings.sigma_window_s))
        while len(self._returns) > sigma_samples:
            old = self._returns.popleft()
            self._return_sum -= old
            self._return_sq -= old * old
        self._update_returns(ts_ns, mid)
        self._update_sigma()
        values = self.values
        values[self.index["trend_ema_bps"]] = (mid / self._trend_ema - 1.0) * 1e4
        self.ready |= self._bit["trend_ema_bps"]

    def _update_returns(self, ts_ns: int, mid: float) -> None:
        mids = self._second_mids
        first_ts = mids[0][0]
        for slot, window_ns, bit in self._return_slots:
            target = ts_ns - window_ns
            if first_ts > target:
                continue  # not enough history yet
            position = bisect.bisect_right(mids, target, key=_first) - 1
            base = mids[max(position, 0)][1]
            self.values[slot] = (mid / base - 1.0) * 1e4
            self.ready |= bit

    def _update_sigma(self) -> None:
        count = len(self._returns)
        if count < self.settings.sigma_warmup_samples:
            return
        mean = self._return_sum / count
        variance = max(0.0, self._return_sq / count - mean * mean)
        self.values[self.index["sigma_1m_bps"]] = math.sqrt(variance * 60.0) * 1e4
        self.ready |= self._bit["sigma_1m_bps"]

    def _sample_vol(self, ts_ns: int, mid: float) -> None:
        settings = self.settings
        step_ns = int(settings.vol_sample_s * NS)
        last_ts = self._next_vol_ns - step_ns
        self._next_vol_ns = ts_ns + step_ns
        if self._vol_last_mid <= 0.0:
            self._vol_last_mid = mid
            return
        change = abs(mid / self._vol_last_mid - 1.0) * 1e4
        self._vol_last_mid = mid
        dt_s = max(1.0, (ts_ns - last_ts) / NS)
        alpha = 1.0 - math.exp(-math.log(2.0) * dt_s / max(1.0, settings.vol_halflife_s))
        self._vol_ema = (
            change if self._vol_samples == 0 else self._vol_ema + alpha * (change - self._vol_ema)
        )
        self._vol_samples += 1
        if self._vol_samples >= settings.vol_warmup_samples:
            self.values[self.index["vol_ema_bps"]] = self._vol_ema
            self.ready |= self._bit["vol_ema_bps"]
        self._update_percentile(ts_ns, self._vol_ema)

    def _update_percentile(self, ts_ns: int, value: float) -> None:
        history = self._vol_history
        ordered = self._vol_sorted
        history.append((ts_ns, value))
        bisect.insort(ordered, value)
        limit = ts_ns - int(self.settings.vol_percentile_window_s * NS)
        while history and history[0][0] <= limit:
            old = history.popleft()[1]
            del ordered[bisect.bisect_left(ordered, old)]
        if len(ordered) >= self.settings.percentile_warmup_samples:
            below = bisect.bisect_left(ordered, value)
            equal = bisect.bisect_right(ordered, value) - below
            self.values[self.index["vol_percentile"]] = 100.0 * (below + 0.5 * equal) / len(ordered)
            self.ready |= self._bit["vol_percentile"]

    # ----- own state -----------------------------------------------------------------------------

    def on_fill(self, ts_ns: int, inventory_lots: int, realized_delta_usd: float) -> None:
        """After a fill: the new inventory and the FIFO realized PnL it produced."""
        for rolling in self._realized.values():
            rolling.add(ts_ns, realized_delta_usd)
        for rolling in self._fills.values():
            rolling.add(ts_ns, 1.0)
        self._roll_day(ts_ns)
        index = self.index
        self.values[index["realized_day_usd"]] += realized_delta_usd
        self.values[index["realized_total_usd"]] += realized_delta_usd
        self.set_inventory(ts_ns, inventory_lots)

    def set_inventory(self, ts_ns: int, inventory_lots: int) -> None:
        """Absolute inventory (also from venue position snapshots)."""
        self._inventory_lots = inventory_lots
        units = inventory_lots * self.lot
        self.values[self.index["inventory_units"]] = units
        held = abs(units)
        if held > self.settings.exposure_trigger_units + 1e-12:
            if self._exposure_since == 0:
                self._exposure_since = ts_ns
            self._track_over_trigger(ts_ns, held)
        else:
            self._exposure_since = 0
            self._over_trigger_since = 0

    def _track_over_trigger(self, ts_ns: int, held: float) -> None:
        """Restart the over-trigger clock only on net progress: a new low of |inventory|.

        A reduction that merely undoes a later increase (0.3 -> 0.4 -> 0.3) is no progress, and a
        position snapshot repeating the same size is no reduction; both leave the clock running.
        """
        if self._over_trigger_since == 0 or held < self._over_trigger_low - 1e-12:
            self._over_trigger_since = ts_ns
            self._over_trigger_low = held

    def set_pnl(self, cash_flow_usd: float, unrealized_usd: float, fees_usd: float) -> None:
        values = self.values
        index = self.index
        values[index["cash_flow_usd"]] = cash_flow_usd
        values[index["unrealized_usd"]] = unrealized_usd
        values[index["fees_usd"]] = fees_usd

    def update_drawdown(self, now_ns: int, unrealized_usd: float) -> None:
        """Drawdowns of realized + unrealized PnL from their running peaks (at each decision)."""
        values = self.values
        index = self.index
        session = values[index["realized_total_usd"]] + unrealized_usd
        day = values[index["realized_day_usd"]] + unrealized_usd
        values[index["drawdown_usd"]] = self._drawdown.update(0, session)
        values[index["drawdown_day_usd"]] = self._drawdown_day.update(self.pnl_day(now_ns), day)

    def seed(self, now_ns: int, points: Sequence[SeedPoint]) -> None:
        """Fills of earlier sessions (from the ledger): realized windows, fill counts, day peak.

        The day's peak is rebuilt from realized + unrealized PnL right after each of today's fills
        (at the fill price): the ledger has no PnL between fills, so the seeded peak can only be
        at or below the true one.
        """
        today = self.pnl_day(now_ns)
        self._roll_day(now_ns)
        day_slot = self.index["realized_day_usd"]
        tracker = self._drawdown_day
        for point in points:
            if point.ts_ns > now_ns:
                continue
            for rolling in self._realized.values():
                rolling.add(point.ts_ns, point.realized_usd)
            for rolling in self._fills.values():
                rolling.add(point.ts_ns, 1.0)
            if self.pnl_day(point.ts_ns) == today:
                self.values[day_slot] += point.realized_usd
                tracker.update(today, self.values[day_slot] + point.unrealized_usd)

    def carry_own_state(self, old: SignalState) -> None:
        """Take over PnL windows, drawdown peaks and inventory clocks (hot reload of `signals:`).

        Market-data state restarts with the new settings; what our fills built must not, or a
        reload would reset the daily kill.
        """
        self._realized = {
            name: _carried(rolling, old._realized) for name, rolling in self._realized.items()
        }
        self._fills = {name: _carried(rolling, old._fills) for name, rolling in self._fills.items()}
        self._rollings = (*self._realized.values(), *self._fills.values())
        self._window_slots = self._slots_of_windows()
        self._day = old._day
        self._drawdown, self._drawdown_day = old._drawdown, old._drawdown_day
        if old._day_start_ns != self._day_start_ns and old._day >= 0:
            # A moved day start renumbers the days: the day's PnL and peak carry on until the
            # next start under the new setting, rather than resetting the daily kill now.
            self._day = self.pnl_day(old.last_event_ns)
            self._drawdown_day.period = self._day
        self._exposure_since = old._exposure_since
        self._over_trigger_since = old._over_trigger_since
        self._over_trigger_low = old._over_trigger_low
        for name in ("realized_day_usd", "realized_total_usd", "drawdown_usd", "drawdown_day_usd"):
            self.values[self.index[name]] = old.values[old.index[name]]
        self.set_inventory(old.last_event_ns, old._inventory_lots)

    def _slots_of_windows(self) -> tuple[tuple[int, _Rolling], ...]:
        """(signal slot, window) of every realized and fill window, in refresh order."""
        windows = (*self._realized.items(), *self._fills.items())
        return tuple((self.index[name], rolling) for name, rolling in windows)

    def pnl_day(self, ts_ns: int) -> int:
        """The number of the PnL day holding `ts_ns` (days start at signals.pnl_day_start_utc)."""
        return pnl_day(ts_ns, self._day_start_ns)

    def next_day_start_ns(self, now_ns: int) -> int:
        """When the next PnL day starts (strictly after now)."""
        start = self._next_day_start_ns
        # the answer for an earlier time holds until that day start is reached
        if not start or now_ns >= start or now_ns < self._day_asked_ns:
            start = (self.pnl_day(now_ns) + 1) * DAY_NS + self._day_start_ns
            self._next_day_start_ns = start
        self._day_asked_ns = now_ns
        return start

    def _roll_day(self, ts_ns: int) -> None:
        day = self.pnl_day(ts_ns)
        if day != self._day:
            self._day = day
            self.values[self.index["realized_day_usd"]] = 0.0

    def _position_limit_units(self) -> float:
        """The tighter of the unit and USD position limits, in units (inf when neither)."""
        limit = self.settings.max_position_units or math.inf
        if self.settings.max_position_usd and self.mid > 0:
            limit = min(limit, self.settings.max_position_usd / self.mid)
        return limit

    def refresh(self, now_ns: int) -> None:
        """Bring time-derived signals up to `now_ns` before the rules read them."""
        values = self.values
        index = self.index
        for slot, rolling in self._window_slots:
            # an empty window's total is 0.0 (expire leaves it so): no call needed
            values[slot] = rolling.expire(now_ns) if rolling.items else 0.0
        if (now_ns - self._day_start_ns) // DAY_NS != self._day:
            self._roll_day(now_ns)
        last_event = self.last_event_ns
        if last_event:
            origin = max(last_event, self.feed_vouched_until_ns)  # feed_origin_ns
            values[index["feed_age_s"]] = max(0, now_ns - origin) / NS
        units = values[index["inventory_units"]]
        values[index["inventory_usd"]] = units * self.mid
        values[index["inventory_ratio"]] = units / self._position_limit_units()
        since = self._exposure_since
        values[index["exposure_s"]] = (now_ns - since) / NS if since else 0.0
        since = self._over_trigger_since
        values[index["over_trigger_s"]] = (now_ns - since) / NS if since else 0.0

    @property
    def feed_origin_ns(self) -> int:
        """Where feed age counts from: the last market event, or later while vouched for."""
        return max(self.last_event_ns, self.feed_vouched_until_ns)

    @property
    def over_trigger_since_ns(self) -> int:
        """When |inventory| last made a new low above the hedger trigger (0 at or below it)."""
        return self._over_trigger_since

    @property
    def exposure_since_ns(self) -> int:
        """When |inventory| went above the exposure trigger (0 while below)."""
        return self._exposure_since

    def seed_since_ns(self, now_ns: int) -> int:
        """The oldest ledger fill the windows read at `now_ns` (PnL day start, longest window)."""
        rolling = (*self._realized.values(), *self._fills.values())
        longest = max((window.window_ns for window in rolling), default=0)
        return seed_since_ns(now_ns, longest, self._day_start_ns)

    def next_expiry_ns(self) -> int:
        """When the oldest entry of a rolling window (realized PnL, fill counts) drops out."""
        best: int | None = None
        for rolling in self._rollings:
            items = rolling.items
            if items:
                at = items[0][0] + rolling.window_ns
                if best is None or at < best:
                    best = at
        return 0 if best is None else best


def _carried(fresh: _Rolling, old: dict[str, _Rolling]) -> _Rolling:
    """A rolling window after a reload: the old one of the same length, else rebuilt from the
    entries of the longest old window (a window longer than all old ones starts short)."""
    for rolling in old.values():
        if rolling.window_ns == fresh.window_ns:
            return rolling
    if old:
        longest = max(old.values(), key=lambda rolling: rolling.window_ns)
        for ts_ns, value in longest.items:
            fresh.add(ts_ns, value)
    return fresh


def _first(item: tuple[int, float]) -> int:
    return item[0]


def readiness(state: SignalState, names: Sequence[str]) -> dict[str, bool]:
    """Which of `names` are ready (for explain output)."""
    return {name: state.get(name) is not None for name in names}
