"""Market metadata and public figures read from Lighter's REST API, as typed values.

`orderBookDetails` gives decimals, minimums, margin fractions, prices and open interest;
`funding-rates` gives funding; `orderBookOrders` the best bid and ask (the spread).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from solbot.errors import VenueError

FRACTION_UNIT = 10_000  # margin fractions are listed in 1e-4 units: 1000 = 10 %


@dataclass(frozen=True)
class MarketDetails:
    """One perp market as `orderBookDetails` lists it."""

    symbol: str
    market_id: int
    size_decimals: int
    price_decimals: int
    min_base_amount: float
    min_quote_amount: float
    initial_margin_fraction: float  # default IMF as a fraction (0.10 = 10x)
    maintenance_margin_fraction: float
    last_trade_price: float | None
    mark_price: float | None
    open_interest: float  # base units

    @property
    def lot(self) -> float:
        return 10.0**-self.size_decimals

    @property
    def price(self) -> float | None:
        """The last trade price, else the mark price (the seed sized at the last price)."""
        for value in (self.last_trade_price, self.mark_price):
            if value is not None and value > 0:
                return value
        return None


@dataclass(frozen=True)
class TopOfBook:
    bid: float | None
    ask: float | None

    @property
    def spread_bps(self) -> float | None:
        if self.bid is None or self.ask is None or self.bid <= 0 or self.ask < self.bid:
            return None
        return (self.ask - self.bid) / ((self.ask + self.bid) / 2) * 10_000


def _number(row: dict[str, Any], name: str, where: str, *, optional: bool = False) -> float | None:
    value = row.get(name)
    if value is None or value == "":
        if optional:
            return None
        raise VenueError(f"{where}: field {name} is missing")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise VenueError(f"{where}: field {name} is not a number: {value!r}") from None
    if not math.isfinite(number):
        raise VenueError(f"{where}: field {name} is not finite: {value!r}")
    return number


def parse_details(row: dict[str, Any]) -> MarketDetails:
    """One `order_book_details` row; a missing or malformed field is a VenueError naming it."""
    where = f"orderBookDetails market {row.get('market_id', '?')} ({row.get('symbol', '?')})"

    def required(name: str) -> float:
        value = _number(row, name, where)
        assert value is not None
        return value

    imf = required("default_initial_margin_fraction") / FRACTION_UNIT
    if imf <= 0:
        raise VenueError(f"{where}: default_initial_margin_fraction must be > 0")
    details = MarketDetails(
        symbol=str(row.get("symbol", "")),
        market_id=int(required("market_id")),
        size_decimals=int(required("size_decimals")),
        price_decimals=int(required("price_decimals")),
        min_base_amount=required("min_base_amount"),
        min_quote_amount=required("min_quote_amount"),
        initial_margin_fraction=imf,
        maintenance_margin_fraction=required("maintenance_margin_fraction") / FRACTION_UNIT,
        last_trade_price=_number(row, "last_trade_price", where, optional=True),
        mark_price=_number(row, "mark_price", where, optional=True),
        open_interest=_number(row, "open_interest", where, optional=True) or 0.0,
    )
    if details.min_base_amount < 0 or details.min_quote_amount < 0:
        raise VenueError(f"{where}: negative minimum amount")
    return details


def parse_top(body: dict[str, Any]) -> TopOfBook:
    """Best bid and ask from an `orderBookOrders` body (None for an empty side)."""

    def best(side: str, pick: Any) -> float | None:
        prices = []
        for order in body.get(side) or []:
            try:
                prices.append(float(order["price"]))
            except (KeyError, TypeError, ValueError):
                continue
        return pick(prices) if prices else None

    return TopOfBook(bid=best("bids", max), ask=best("asks", min))


def lighter_funding(rows: list[dict[str, Any]]) -> dict[int, float]:
    """Lighter's own rows of `/api/v1/funding-rates`, by market id."""
    rates: dict[int, float] = {}
    for row in rows:
        if str(row.get("exchange", "lighter")).lower() != "lighter":
            continue
        try:
            rate = float(row["rate"])
            market_id = int(row["market_id"])
        except (KeyError, TypeError, ValueError):
            continue
        if math.isfinite(rate):
            rates[market_id] = rate
    return rates


async def fetch_details(rest_url: str, market_id: int) -> MarketDetails:
    """`orderBookDetails` of one market from the venue at `rest_url`."""
    from solbot.adapters.venues.lighter.budget import RequestBudget
    from solbot.adapters.venues.lighter.rest import LighterRest

    rest = LighterRest(rest_url, RequestBudget(60))
    try:
        rows = await rest.order_book_details(market_id)
    finally:
        await rest.aclose()
    matching = [row for row in rows if row.get("market_id") == market_id]
    if not matching:
        raise VenueError(f"{rest_url}: orderBookDetails lists no perp market {market_id}")
    return parse_details(matching[0])


@dataclass(frozen=True)
class MarketFigures:
    """What the ranking needs of one market."""

    details: MarketDetails
    funding_rate: float | None
    top: TopOfBook


async def fetch_all_figures(rest_url: str) -> list[MarketFigures]:
    """Every perp market's details, Lighter funding rate and best bid/ask."""
    from solbot.adapters.venues.lighter.budget import RequestBudget
    from solbot.adapters.venues.lighter.rest import LighterRest

    rest = LighterRest(rest_url, RequestBudget(60))
    try:
        rows = await rest.order_book_details(255)
        funding = lighter_funding(await rest.funding_rates())
        figures = []
        for row in rows:
            if row.get("market_type", "perp") != "perp" or row.get("status", "active") != "active":
                continue
            details = parse_details(row)
            top = parse_top(await rest.order_book_orders(details.market_id, 1))
            figures.append(MarketFigures(details, funding.get(details.market_id), top))
    finally:
        await rest.aclose()
    return figures
