"""The published order book: a few levels of depth around L1, our resting orders, nonce diffs."""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass

Levels = dict[int, int]  # price ticks -> size lots


@dataclass(frozen=True, slots=True)
class BookDiff:
    """Changed levels (absolute sizes, 0 = delete) between two published books."""

    bids: list[tuple[int, int]]
    asks: list[tuple[int, int]]

    @property
    def empty(self) -> bool:
        return not self.bids and not self.asks


class DepthModel:
    """Builds full levels from an L1 quote: deeper levels sit on a fixed price grid.

    Grid levels keep their price while L1 wiggles and their size is a pure function of the
    price, so a one-tick move of the touch changes one or two levels, not the whole book.
    """

    def __init__(self, levels: int, step_ticks: int, unit_lots: int, seed: int) -> None:
        self._levels = levels
        self._step = step_ticks
        self._unit = unit_lots
        self._salt = seed * 7919 + 17

    def compose(
        self,
        top: tuple[int, int, int, int] | None,
        own_bids: Mapping[int, int],
        own_asks: Mapping[int, int],
    ) -> tuple[Levels, Levels]:
        """(bids, asks) of the public book plus ours; public levels crossing ours are dropped."""
        bids: Levels = {}
        asks: Levels = {}
        if top is not None:
            bid, bid_size, ask, ask_size = top
            if bid > 0 and bid_size > 0:
                bids[bid] = bid_size
            if ask > 0 and ask_size > 0:
                asks[ask] = ask_size
            self._add_grid(bids, bid, -1)
            self._add_grid(asks, ask, +1)
        if own_asks:
            lowest_ask = min(own_asks)
            bids = {price: size for price, size in bids.items() if price < lowest_ask}
        if own_bids:
            highest_bid = max(own_bids)
            asks = {price: size for price, size in asks.items() if price > highest_bid}
        for price, size in own_bids.items():
            bids[price] = bids.get(price, 0) + size
        for price, size in own_asks.items():
            asks[price] = asks.get(price, 0) + size
        return bids, asks

    def _add_grid(self, levels: Levels, touch: int, direction: int) -> None:
        if touch <= 0:
            return
        if direction < 0:
            price = ((touch - 1) // self._step) * self._step
        else:
            price = (touch // self._step + 1) * self._step
        for _ in range(self._levels - 1):
            if price <= 0:
                break
            levels[price] = self._grid_size(price)
            price += direction * self._step

    def _grid_size(self, price: int) -> int:
        mixed = (price * 2654435761 + self._salt) % 1000
        return max(1, self._unit * (500 + mixed) // 1000)


class BookPublisher:
    """What clients have been sent: levels, nonce and offset; produces snapshots and diffs."""

    def __init__(self, seed: int) -> None:
        self._rng = random.Random(seed * 31 + 5)
        self.bids: Levels = {}
        self.asks: Levels = {}
        self.nonce = 9_000_000_000 + self._rng.randint(0, 10**8)
        self.begin_nonce = 0
        self.offset = 1_000_000 + self._rng.randint(0, 10**5)
        self.updates = 0
        self.gaps_injected = 0

    def publish(self, bids: Levels, asks: Levels, *, skip_nonce: bool) -> BookDiff:
        """Adopt new levels; returns the diff and advances nonce/offset when anything changed."""
        diff = BookDiff(_changes(self.bids, bids), _changes(self.asks, asks))
        if diff.empty:
            return diff
        self.bids, self.asks = dict(bids), dict(asks)
        previous = self.nonce
        if skip_nonce:
            # The client sees begin_nonce ahead of the nonce it holds: a gap it must detect.
            previous += self._rng.randint(1, 5)
            self.gaps_injected += 1
        self.begin_nonce = previous
        self.nonce = previous + self._rng.randint(1, 25)  # one diff spans a range of nonces
        self.offset += self._rng.randint(1, 9)  # per-server counter, never contiguous
        self.updates += 1
        return diff

    def sorted_levels(self) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        """(bids best first, asks best first)."""
        return (sorted(self.bids.items(), reverse=True), sorted(self.asks.items()))

    def best(self) -> tuple[tuple[int, int] | None, tuple[int, int] | None]:
        """Best (price, size) on each side, None for an empty side."""
        bid = max(self.bids.items()) if self.bids else None
        ask = min(self.asks.items()) if self.asks else None
        return bid, ask


def _changes(old: Levels, new: Levels) -> list[tuple[int, int]]:
    changed = [(price, size) for price, size in new.items() if old.get(price) != size]
    changed.extend((price, 0) for price in old if price not in new)
    return sorted(changed)
