"""Shared helpers for the policy and engine tests: compiled shipped profiles and a small driver."""

from __future__ import annotations

import shutil
from dataclasses import replace
from functools import cache
from pathlib import Path

from solbot.config.compile import compile_policy
from solbot.config.loader import ConfigDir, resolve_profile
from solbot.config.markets import resolve_market
from solbot.core.engine import CompiledPolicy, Engine, Plan
from solbot.core.model import Fill, MarketSpec, Role, Side

REPO = Path(__file__).resolve().parent.parent
NS = 1_000_000_000
T0_NS = 1_700_000_000 * NS  # 2023-11-14 22:13 UTC: far from a UTC day boundary in every test
SOL = resolve_market("SOL").spec

# A market the seed bot would call calm: volatility between the low-vol resume line (5.5) and the
# high-vol clip line (9), above the regime line (6), no trend, low sigma, median percentile.
CALM: dict[str, float] = {
    "vol_ema_bps": 8.0,
    "ret_45s_bps": 0.0,
    "ret_5m_bps": 0.0,
    "sigma_1m_bps": 3.0,
    "vol_percentile": 50.0,
}


def at(seconds: float) -> int:
    """Event time `seconds` after the test epoch, in ns."""
    return T0_NS + round(seconds * NS)


@cache
def shipped_policy(profile: str, market: MarketSpec = SOL) -> CompiledPolicy:
    """A shipped profile compiled for `market` (cached: compiling takes a few hundred ms)."""
    return compile_policy(resolve_profile(profile, ConfigDir(REPO)), market)


def config_with_profile(root: Path, profile_id: str, text: str) -> ConfigDir:
    """A copy of the shipped profiles and rules under `root`, plus one extra profile."""
    shutil.copytree(REPO / "profiles", root / "profiles")
    shutil.copytree(REPO / "rules", root / "rules")
    (root / "profiles" / f"{profile_id}.yaml").write_text(text, encoding="utf-8")
    return ConfigDir(root)


def relaxed_sol(min_base: float = 0.001, min_quote: float = 0.0) -> MarketSpec:
    """SOL with tiny exchange minimums, to see multipliers that the real minimums hide."""
    return replace(SOL, min_base_amount=min_base, min_quote_amount=min_quote)


class Driver:
    """Drives one Engine through hand-made event-time sequences.

    Signals in `self.signals` are sticky: every `step` re-applies them after the book event
    (a book event on a sample boundary recomputes vol/returns from mids, which these tests replace
    with chosen values).
    """

    def __init__(
        self,
        profile: str = "base",
        mid: float = 140.0,
        policy: CompiledPolicy | None = None,
        half_spread_ticks: int = 5,
    ) -> None:
        self.policy = policy or shipped_policy(profile)
        self.engine = Engine(self.policy)
        self.mid = mid
        self.half_spread_ticks = half_spread_ticks
        self.signals: dict[str, float] = dict(CALM)
        self._trade = 0

    @property
    def scale(self) -> int:
        return 10**self.policy.market.price_decimals

    def book(self, seconds: float, mid: float | None = None) -> None:
        """A book event at `seconds` centred on `mid` (ticks bid/ask = mid -/+ half spread)."""
        if mid is not None:
            self.mid = mid
        center = round(self.mid * self.scale)
        half = self.half_spread_ticks
        self.engine.on_book(at(seconds), at(seconds), center - half, 1000, center + half, 1000)

    def raw_book(self, seconds: float, bid: int, ask: int) -> None:
        self.engine.on_book(at(seconds), at(seconds), bid, 1000, ask, 1000)

    def apply_signals(self) -> None:
        for name, value in self.signals.items():
            self.engine.signals.set(name, value)

    def step(self, seconds: float, *, book: bool = True, **signals: float) -> Plan:
        """Optionally a book event, then the sticky signals (updated by `signals`), then decide."""
        self.signals.update(signals)
        if book:
            self.book(seconds)
        self.apply_signals()
        return self.engine.decide(at(seconds))

    def position(self, seconds: float, units: float) -> None:
        self.engine.set_position(at(seconds), self.policy.market.size_to_lots(units))

    def fill(self, seconds: float, side: Side, price: float, units: float) -> float:
        """A maker fill of ours; returns the FIFO realized PnL it produced."""
        self._trade += 1
        return self.engine.on_fill(
            Fill(
                venue="test",
                trade_id=str(self._trade),
                ts_ns=at(seconds),
                market="SOL",
                side=side,
                price=price,
                size=units,
                role=Role.MAKER,
            )
        )


def lots(units: float) -> int:
    return SOL.size_to_lots(units)
