"""Rank a venue's perp markets by the original optimizer's score, each component shown."""

from __future__ import annotations

from dataclasses import dataclass

from solbot.app.venue_markets import MarketFigures
from solbot.config.rank_weights import RankWeights


@dataclass(frozen=True)
class MarketScore:
    """One market's score and the numbers that made it."""

    symbol: str
    market_id: int
    price: float | None
    funding_8h_bps: float | None
    open_interest_usd: float | None
    spread_bps: float | None
    funding_component: float
    open_interest_component: float
    spread_component: float  # the penalty, negative
    score: float | None  # None = excluded
    excluded: str = ""  # why, when excluded

    def to_json(self) -> dict[str, object]:
        return {
            "symbol": self.symbol,
            "market_id": self.market_id,
            "price": self.price,
            "funding_8h_bps": self.funding_8h_bps,
            "open_interest_usd": self.open_interest_usd,
            "spread_bps": self.spread_bps,
            "components": {
                "funding": self.funding_component,
                "open_interest": self.open_interest_component,
                "spread": self.spread_component,
            },
            "score": self.score,
            "excluded": self.excluded or None,
        }


def score_market(figures: MarketFigures, weights: RankWeights) -> MarketScore:
    """score = w_f x funding_8h_bps + w_oi x OI_musd - penalty x spread_bps, or excluded."""
    details = figures.details
    price = details.mark_price or details.price
    funding = (
        None
        if figures.funding_rate is None
        else figures.funding_rate * 10_000 * 8 / weights.funding_rate_hours
    )
    oi_usd = None if price is None else details.open_interest * price
    spread = figures.top.spread_bps
    funding_part = weights.funding_weight * (funding or 0.0)
    oi_part = weights.open_interest_weight * (oi_usd or 0.0) / 1e6
    spread_part = -weights.spread_penalty_per_bps * (spread or 0.0)
    excluded = _exclusion(oi_usd, spread, weights)
    score = None if excluded else funding_part + oi_part + spread_part
    return MarketScore(
        details.symbol,
        details.market_id,
        price,
        funding,
        oi_usd,
        spread,
        funding_part,
        oi_part,
        spread_part,
        score,
        excluded,
    )


def _exclusion(oi_usd: float | None, spread: float | None, weights: RankWeights) -> str:
    if spread is None:
        return "no two-sided book"
    if spread > weights.max_spread_bps:
        return f"spread {spread:.2f} bps > max_spread_bps {weights.max_spread_bps:g}"
    if oi_usd is None:
        return "no price for the open interest"
    if oi_usd < weights.min_open_interest_usd:
        return (
            f"open interest {oi_usd:.0f} USD < min_open_interest_usd "
            f"{weights.min_open_interest_usd:g}"
        )
    return ""


def rank_markets(figures: list[MarketFigures], weights: RankWeights) -> list[MarketScore]:
    """Scored markets best first; excluded markets last; ties by market id."""
    scores = [score_market(item, weights) for item in figures]
    return sorted(
        scores,
        key=lambda s: (s.score is None, -(s.score or 0.0), s.market_id),
    )
