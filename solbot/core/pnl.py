"""FIFO position accounting: realized and unrealized PnL, cash flow, fees, funding and volume.

One `FifoBook` per market. Open inventory is a deque of lots, oldest first; a fill on the other side
closes lots from the front (FIFO for longs AND shorts), and what is left of it opens a new lot at
the back. Realized PnL is kept gross of fees, fees separately, so both views are available:

    realized_usd - fees_usd + unrealized(mark) == cash_flow_usd + position * mark

(cash flow includes fees, excludes funding). Floats throughout; round only for display.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

from solbot.core.model import Fill, Role

# Residual lot sizes below this (base units) are float noise from partial closes, not inventory.
SIZE_EPSILON = 1e-12


@dataclass(frozen=True, slots=True)
class Lot:
    """An open piece of inventory: signed size (+ long, - short), entry price and entry time."""

    size: float
    price: float
    ts_ns: int


@dataclass(frozen=True, slots=True)
class BookTotals:
    """A copy of a book's running totals at one moment (for window and bucket deltas)."""

    position: float
    realized_usd: float
    fees_usd: float
    funding_usd: float
    cash_flow_usd: float
    volume_usd: float
    maker_volume_usd: float
    taker_volume_usd: float
    fills: int
    maker_fills: int
    taker_fills: int


class FifoBook:
    """FIFO lots and running PnL totals of one market, fed fill by fill in event order."""

    __slots__ = (
        "_lots",
        "cash_flow_usd",
        "fees_usd",
        "fills",
        "funding_usd",
        "maker_fills",
        "maker_volume_usd",
        "market",
        "position",
        "realized_usd",
        "taker_fills",
        "taker_volume_usd",
        "volume_usd",
    )

    def __init__(self, market: str = "") -> None:
        self.market = market
        self._lots: deque[Lot] = deque()
        self.position = 0.0
        self.realized_usd = 0.0  # FIFO, gross of fees
        self.fees_usd = 0.0
        self.funding_usd = 0.0
        self.cash_flow_usd = 0.0  # quote in minus quote out, fees included, funding excluded
        self.volume_usd = 0.0
        self.maker_volume_usd = 0.0
        self.taker_volume_usd = 0.0
        self.fills = 0
        self.maker_fills = 0
        self.taker_fills = 0

    @classmethod
    def restore(cls, market: str, totals: BookTotals, lots: tuple[Lot, ...]) -> FifoBook:
        """A book in exactly the state `totals` and `lots` describe (a stored checkpoint)."""
        book = cls(market)
        book._lots.extend(lots)
        book.position = totals.position
        book.realized_usd = totals.realized_usd
        book.fees_usd = totals.fees_usd
        book.funding_usd = totals.funding_usd
        book.cash_flow_usd = totals.cash_flow_usd
        book.volume_usd = totals.volume_usd
        book.maker_volume_usd = totals.maker_volume_usd
        book.taker_volume_usd = totals.taker_volume_usd
        book.fills = totals.fills
        book.maker_fills = totals.maker_fills
        book.taker_fills = totals.taker_fills
        return book

    @property
    def lots(self) -> tuple[Lot, ...]:
        """Open lots, oldest first."""
        return tuple(self._lots)

    @property
    def net_realized_usd(self) -> float:
        """FIFO realized PnL after fees (funding not included)."""
        return self.realized_usd - self.fees_usd

    def apply(self, fill: Fill) -> float:
        """Book one fill; return its realized PnL net of its own fee (gross = result + fee)."""
        _check_fill(fill, self.market)
        gross = self._match(fill)
        notional = fill.price * fill.size
        self.realized_usd += gross
        self.fees_usd += fill.fee_usd
        self.cash_flow_usd += fill.cash_flow_usd
        self.volume_usd += notional
        self.fills += 1
        if fill.role is Role.MAKER:
            self.maker_volume_usd += notional
            self.maker_fills += 1
        else:
            self.taker_volume_usd += notional
            self.taker_fills += 1
        return gross - fill.fee_usd

    def open_lots(self, lots: tuple[Lot, ...]) -> None:
        """Start from inventory bought before this book (a restarted session), oldest lot first.

        The lots' cost is booked as cash flow, so realized - fees + unrealized(mark) ==
        cash_flow + position * mark keeps holding; realized PnL, fees and volume stay at zero.
        """
        if self._lots or self.fills:
            raise ValueError("opening lots go into an empty book, before any fill")
        if len({math.copysign(1.0, lot.size) for lot in lots}) > 1:
            raise ValueError("opening lots must all be long or all short")
        self._lots.extend(lots)
        self.position = sum(lot.size for lot in lots)
        self.cash_flow_usd -= sum(lot.size * lot.price for lot in lots)

    def apply_funding(self, amount_usd: float) -> None:
        """Book a funding payment (received > 0, paid < 0)."""
        self.funding_usd += amount_usd

    def unrealized(self, mark: float) -> float:
        """Unrealized PnL of the open lots at `mark`."""
        return sum(lot.size * (mark - lot.price) for lot in self._lots)

    def average_entry_price(self) -> float | None:
        """Size-weighted entry price of the open lots, None when flat."""
        if not self._lots:
            return None
        return sum(lot.size * lot.price for lot in self._lots) / self.position

    def totals(self) -> BookTotals:
        """A frozen copy of the running totals."""
        return BookTotals(
            position=self.position,
            realized_usd=self.realized_usd,
            fees_usd=self.fees_usd,
            funding_usd=self.funding_usd,
            cash_flow_usd=self.cash_flow_usd,
            volume_usd=self.volume_usd,
            maker_volume_usd=self.maker_volume_usd,
            taker_volume_usd=self.taker_volume_usd,
            fills=self.fills,
            maker_fills=self.maker_fills,
            taker_fills=self.taker_fills,
        )

    def _match(self, fill: Fill) -> float:
        """Close opposite lots oldest first; open a lot with any remainder. Returns gross PnL."""
        sign = int(fill.side)
        remaining = fill.size
        realized = 0.0
        lots = self._lots
        while remaining > SIZE_EPSILON and lots and lots[0].size * sign < 0:
            lot = lots[0]
            matched = min(remaining, abs(lot.size))
            # A long lot closed by a sell gains (fill - entry); a short closed by a buy the reverse.
            realized += matched * (fill.price - lot.price) * -sign
            remaining -= matched
            left = abs(lot.size) - matched
            if left > SIZE_EPSILON:
                lots[0] = Lot(math.copysign(left, lot.size), lot.price, lot.ts_ns)
            else:
                lots.popleft()
        if remaining > SIZE_EPSILON:
            lots.append(Lot(remaining * sign, fill.price, fill.ts_ns))
        # Snap to exactly flat so float drift cannot leave a phantom position.
        self.position = self.position + fill.size * sign if lots else 0.0
        return realized


def _check_fill(fill: Fill, market: str) -> None:
    """Refuse fills that would corrupt the book silently."""
    if not (fill.size > 0 and math.isfinite(fill.size)):
        raise ValueError(f"fill {fill.trade_id}: size must be a positive number, got {fill.size}")
    if not (fill.price > 0 and math.isfinite(fill.price)):
        raise ValueError(f"fill {fill.trade_id}: price must be a positive number, got {fill.price}")
    if not math.isfinite(fill.fee_usd):
        raise ValueError(f"fill {fill.trade_id}: fee_usd must be finite, got {fill.fee_usd}")
    if market and fill.market != market:
        raise ValueError(f"fill {fill.trade_id}: market {fill.market!r}, book is {market!r}")
