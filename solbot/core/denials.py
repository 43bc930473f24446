"""Why the guard denied all quoting: per-decision reasons, a run's tally, sentences with numbers."""

from __future__ import annotations

from dataclasses import dataclass, field

from solbot.core.model import MarketSpec
from solbot.core.quoting import Quotes
from solbot.core.risk import Denial, DenialReason, RiskResult


def quoting_denial(quotes: Quotes, result: RiskResult) -> Denial | None:
    """The guard's reason when the rules wanted to quote but the guard left no quote at all.

    A side in backoff only repeats an earlier denial, so a real reason is preferred to it.
    """
    if (quotes.bid is None and quotes.ask is None) or result.bid or result.ask:
        return None
    if not result.denied:
        return None
    for denial in result.denied:
        if denial.reason is not DenialReason.BACKOFF:
            return denial
    return result.denied[0]


@dataclass
class DenialTally:
    """Decisions in which the guard denied all quoting, by reason, with one example of each."""

    counts: dict[DenialReason, int] = field(default_factory=dict)
    examples: dict[DenialReason, Denial] = field(default_factory=dict)

    def add(self, quotes: Quotes, result: RiskResult) -> None:
        denial = quoting_denial(quotes, result)
        if denial is None:
            return
        self.counts[denial.reason] = self.counts.get(denial.reason, 0) + 1
        self.examples.setdefault(denial.reason, denial)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def dominant(self) -> Denial | None:
        """The example of the most frequent reason (ties: the reason named first)."""
        if not self.counts:
            return None
        reason = max(self.counts, key=lambda item: (self.counts[item], -_ORDER.index(item)))
        return self.examples[reason]


_ORDER = list(DenialReason)


def describe_denial(denial: Denial, market: MarketSpec) -> str:
    """One sentence with the numbers, e.g. why the position limit leaves no room to quote."""
    mid = denial.mid
    symbol = market.symbol

    def amount(lots: int) -> str:
        size = market.lots_to_size(lots)
        return f"{size:g} {symbol} (${size * mid:,.2f})"

    if denial.reason in (DenialReason.POSITION_LIMIT, DenialReason.ORDER_LIMIT):
        limit = (
            f"the position limit {_limit_text(denial, market, mid)}"
            if denial.reason is DenialReason.POSITION_LIMIT
            else "limits.max_order_usd"
        )
        return (
            f"at mid ${mid:,.2f} {limit} leaves room for {amount(denial.allowed_lots)}, below "
            f"the venue minimum order {amount(denial.minimum_lots)} (the quote wanted "
            f"{amount(denial.wanted_lots)})"
        )
    return _PLAIN[denial.reason]


def _limit_text(denial: Denial, market: MarketSpec, mid: float) -> str:
    parts = []
    if denial.limit_units is not None:
        parts.append(f"{denial.limit_units:g} {market.symbol}")
    if denial.limit_usd is not None:
        parts.append(f"${denial.limit_usd:g}")
    return " and ".join(parts)


_PLAIN = {
    DenialReason.STALE_FEED: "market data older than guard.stale_feed",
    DenialReason.CROSSED_BOOK: "the market's book was crossed",
    DenialReason.SELF_CROSS: "own bid would cross own ask",
    DenialReason.PRICE_BAND: "quotes outside guard.price_band_bps",
    DenialReason.POSITION_LIMIT: "",
    DenialReason.ORDER_LIMIT: "",
    DenialReason.EXCHANGE_MINIMUM: "quote size below the exchange minimum",
    DenialReason.BACKOFF: "guard backoff after an earlier denial",
}


def quoting_denied_summary(
    tally: DenialTally, decisions: int, market: MarketSpec
) -> dict[str, object]:
    """Share of decisions in which the guard denied all quoting, by reason, and the main why."""
    dominant = tally.dominant()
    return {
        "quoting_denied_pct": round(100.0 * tally.total / decisions, 2) if decisions else 0.0,
        "quoting_denied": {reason.value: count for reason, count in sorted(tally.counts.items())},
        "quoting_denied_reason": describe_denial(dominant, market) if dominant else None,
    }
