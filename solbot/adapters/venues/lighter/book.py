"""L2 book from `order_book/{market}`: snapshot, absolute-size diffs, nonce continuity."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from solbot.adapters.venues.lighter.numbers import parse_scaled
from solbot.core.model import BookTop, MarketSpec


class OrderBook:
    """Price levels in integer ticks → size in lots; INVALID until a snapshot, and after any gap."""

    def __init__(self, spec: MarketSpec) -> None:
        self.spec = spec
        self.bids: dict[int, int] = {}
        self.asks: dict[int, int] = {}
        self.nonce: int | None = None
        self.valid = False
        self.invalid_reason = "no snapshot yet"
        self.gaps = 0

    def apply_snapshot(self, payload: dict[str, Any]) -> None:
        """Replace the whole book with a `subscribed/order_book` payload."""
        bids = self._parse_levels(payload.get("bids", []), self.spec.price_decimals)
        asks = self._parse_levels(payload.get("asks", []), self.spec.price_decimals)
        self.bids = {price: size for price, size in bids if size > 0}
        self.asks = {price: size for price, size in asks if size > 0}
        self.nonce = _int_field(payload, "nonce")
        self.valid = True
        self.invalid_reason = ""
        self._check_crossed()

    def apply_update(self, payload: dict[str, Any]) -> bool:
        """Apply an `update/order_book` diff; False when it broke continuity (book now INVALID)."""
        if not self.valid:
            return False  # waiting for a fresh snapshot: diffs on a stale base mean nothing
        begin = _int_field(payload, "begin_nonce")
        if begin != self.nonce:
            self.gaps += 1
            self.invalidate(f"nonce gap: begin_nonce {begin} != previous nonce {self.nonce}")
            return False
        bids = self._parse_levels(payload.get("bids", []), self.spec.price_decimals)
        asks = self._parse_levels(payload.get("asks", []), self.spec.price_decimals)
        _apply_levels(self.bids, bids)
        _apply_levels(self.asks, asks)
        self.nonce = _int_field(payload, "nonce")
        return self._check_crossed()

    def invalidate(self, reason: str) -> None:
        """Mark the book unusable until the next snapshot."""
        self.valid = False
        self.invalid_reason = reason

    def best_bid(self) -> tuple[int, int] | None:
        """(price ticks, size lots) of the best bid, or None."""
        if not self.bids:
            return None
        price = max(self.bids)
        return price, self.bids[price]

    def best_ask(self) -> tuple[int, int] | None:
        """(price ticks, size lots) of the best ask, or None."""
        if not self.asks:
            return None
        price = min(self.asks)
        return price, self.asks[price]

    def top(self, ts_ns: int, exchange_ts_ns: int) -> BookTop:
        """L1 view in the core model's units (0 price and size for an empty side)."""
        bid = self.best_bid() or (0, 0)
        ask = self.best_ask() or (0, 0)
        return BookTop(ts_ns, exchange_ts_ns, bid[0], bid[1], ask[0], ask[1])

    def _parse_levels(self, raw: Iterable[Any], price_decimals: int) -> list[tuple[int, int]]:
        levels: list[tuple[int, int]] = []
        for entry in raw:
            if not isinstance(entry, dict):
                raise ValueError(f"book level must be an object, found {entry!r}")
            price = parse_scaled(entry.get("price"), price_decimals)
            size = parse_scaled(entry.get("size"), self.spec.size_decimals)
            if price <= 0 or size < 0:
                raise ValueError(f"book level out of range: {entry!r}")
            levels.append((price, size))
        return levels

    def _check_crossed(self) -> bool:
        bid, ask = self.best_bid(), self.best_ask()
        if bid is not None and ask is not None and bid[0] >= ask[0]:
            # A crossed book is never the venue's state: our copy is out of sync.
            self.gaps += 1
            self.invalidate(f"crossed book: bid {bid[0]} >= ask {ask[0]}")
            return False
        return True


def _apply_levels(side: dict[int, int], levels: list[tuple[int, int]]) -> None:
    for price, size in levels:
        if size == 0:
            side.pop(price, None)
        else:
            side[price] = size


def _int_field(payload: dict[str, Any], name: str) -> int:
    value = payload.get(name)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"order_book.{name} must be an integer, found {value!r}")
    return value
