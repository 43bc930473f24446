"""Public market feeds for the fake venue: recorded ticks rescaled onto SOL, or a seeded walk."""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

KIND_BOOK = 0
KIND_TRADE = 1


@dataclass(frozen=True, slots=True)
class MarketEvent:
    """One public event in the fake's own market units; `offset_ns` counts from the feed start."""

    offset_ns: int
    kind: int
    bid: int = 0
    bid_size: int = 0
    ask: int = 0
    ask_size: int = 0
    price: int = 0
    size: int = 0
    aggressor: int = 0  # +1 a buy lifted the ask, -1 a sell hit the bid


class EventChunkLike(Protocol):
    """The columns of `solbot.adapters.data` EventChunk that the fake reads."""

    ts_ns: Any
    kind: Any
    bid_price: Any
    bid_size: Any
    ask_price: Any
    ask_size: Any
    trade_price: Any
    trade_size: Any
    aggressor: Any


ChunkSource = Callable[[], Iterable[EventChunkLike]]


class SyntheticFeed:
    """A seeded random walk of L1 quotes and trades around `start_price_ticks`."""

    def __init__(
        self,
        start_price_ticks: int,
        *,
        seed: int,
        min_spread_ticks: int,
        events_per_second: float = 40.0,
        trade_share: float = 0.3,
        step_ticks: float = 1.5,
    ) -> None:
        self._rng = random.Random(seed)
        self._mid = float(start_price_ticks)
        self._min_spread = min_spread_ticks
        self._rate = events_per_second
        self._trade_share = trade_share
        self._step = step_ticks
        self._offset_ns = 0
        self._bid = 0
        self._ask = 0

    def __iter__(self) -> Iterator[MarketEvent]:
        while True:
            yield self._next()

    def _next(self) -> MarketEvent:
        rng = self._rng
        self._offset_ns += max(1, int(rng.expovariate(self._rate) * 1e9))
        if self._bid and rng.random() < self._trade_share:
            buy = rng.random() < 0.5
            size = max(1, int(rng.lognormvariate(math.log(400), 1.0)))
            price = self._ask if buy else self._bid
            return MarketEvent(
                self._offset_ns, KIND_TRADE, price=price, size=size, aggressor=1 if buy else -1
            )
        self._mid = max(self._mid + rng.gauss(0.0, self._step), 10.0 * self._min_spread)
        spread = self._min_spread + rng.randint(0, 3)
        self._bid = math.floor(self._mid - spread / 2)
        self._ask = self._bid + spread
        bid_size = rng.randint(500, 60_000)
        ask_size = rng.randint(500, 60_000)
        return MarketEvent(self._offset_ns, KIND_BOOK, self._bid, bid_size, self._ask, ask_size)


class RecordedFeed:
    """Recorded ticks mapped onto the fake market, keeping relative moves.

    Prices are multiplied by `start_price / first recorded mid`, so the feed starts at the
    configured price and every move keeps its size in bps; sizes are divided by the same ratio
    so notional stays what it was. A spread narrower than `min_spread_ticks` is widened around
    its middle (a recorded BTC spread would otherwise round to zero SOL ticks). With `loop`, the
    recording restarts where the last pass ended, re-anchored on its last mid.
    """

    def __init__(
        self,
        source: ChunkSource,
        start_price_ticks: int,
        *,
        min_spread_ticks: int,
        loop: bool = False,
    ) -> None:
        self._source = source
        self._anchor_ticks = float(start_price_ticks)
        self._min_spread = min_spread_ticks
        self._loop = loop
        self._ratio: float | None = None
        self._bid = 0
        self._ask = 0
        self._last_mid = float(start_price_ticks)
        self.passes = 0

    def __iter__(self) -> Iterator[MarketEvent]:
        base_offset = 0
        while True:
            last_offset = base_offset
            emitted = False
            for event in self._one_pass(base_offset):
                emitted = True
                last_offset = event.offset_ns
                yield event
            self.passes += 1
            if not (self._loop and emitted):
                return
            # Next pass: 1 ms after the last event, anchored on the price where it ended.
            base_offset = last_offset + 1_000_000
            self._anchor_ticks = self._last_mid
            self._ratio = None

    def _one_pass(self, base_offset: int) -> Iterator[MarketEvent]:
        first_ts: int | None = None
        for chunk in self._source():
            columns = _chunk_columns(chunk)
            for ts, kind, bid, bid_size, ask, ask_size, price, size, aggressor in zip(
                *columns, strict=True
            ):
                if first_ts is None:
                    first_ts = ts
                offset = base_offset + max(0, ts - first_ts)
                event = self._map(
                    offset, kind, bid, bid_size, ask, ask_size, price, size, aggressor
                )
                if event is not None:
                    yield event

    def _map(
        self,
        offset: int,
        kind: int,
        bid: int,
        bid_size: int,
        ask: int,
        ask_size: int,
        price: int,
        size: int,
        aggressor: int,
    ) -> MarketEvent | None:
        if kind == KIND_BOOK:
            return self._map_book(offset, bid, bid_size, ask, ask_size)
        if kind == KIND_TRADE and price > 0 and size > 0 and aggressor in (1, -1):
            return self._map_trade(offset, price, size, aggressor)
        return None

    def _ensure_ratio(self, reference_ticks: float) -> float:
        if self._ratio is None:
            self._ratio = self._anchor_ticks / reference_ticks
        return self._ratio

    def _map_book(
        self, offset: int, bid: int, bid_size: int, ask: int, ask_size: int
    ) -> MarketEvent | None:
        if bid <= 0 or ask <= 0 or ask < bid:
            return None  # a one-sided or crossed recorded quote says nothing usable
        ratio = self._ensure_ratio((bid + ask) / 2)
        new_bid, new_ask = round(bid * ratio), round(ask * ratio)
        deficit = self._min_spread - (new_ask - new_bid)
        if deficit > 0:
            new_bid -= deficit // 2
            new_ask += deficit - deficit // 2
        if new_bid <= 0:
            return None
        self._bid, self._ask = new_bid, new_ask
        self._last_mid = (new_bid + new_ask) / 2
        return MarketEvent(
            offset,
            KIND_BOOK,
            new_bid,
            _scale_size(bid_size, ratio),
            new_ask,
            _scale_size(ask_size, ratio),
        )

    def _map_trade(self, offset: int, price: int, size: int, aggressor: int) -> MarketEvent:
        ratio = self._ensure_ratio(float(price))
        mapped = round(price * ratio)
        # A widened spread would leave recorded touch trades inside it: trade at the touch.
        if aggressor > 0 and self._ask:
            mapped = max(mapped, self._ask)
        elif aggressor < 0 and self._bid:
            mapped = min(mapped, self._bid)
        return MarketEvent(
            offset,
            KIND_TRADE,
            price=max(1, mapped),
            size=_scale_size(size, ratio),
            aggressor=aggressor,
        )


def _scale_size(lots: int, ratio: float) -> int:
    return max(1, round(lots / ratio)) if lots > 0 else 0


def _chunk_columns(chunk: EventChunkLike) -> tuple[list[int], ...]:
    """Columns as Python ints, converted once per chunk rather than per element."""
    names = (
        "ts_ns",
        "kind",
        "bid_price",
        "bid_size",
        "ask_price",
        "ask_size",
        "trade_price",
        "trade_size",
        "aggressor",
    )
    columns = []
    for name in names:
        values = getattr(chunk, name)
        columns.append(
            [int(value) for value in (values.tolist() if hasattr(values, "tolist") else values)]
        )
    return tuple(columns)


class ReplaySchedule:
    """Releases feed events when the wall clock reaches their (speed-scaled) time."""

    def __init__(self, events: Iterable[MarketEvent], start_ns: int, speed: float) -> None:
        self._events = iter(events)
        self._start_ns = start_ns
        self._speed = speed
        self._pending: MarketEvent | None = None
        self._first_offset_ns: int | None = None
        self.exhausted = False
        self.released = 0

    def due(self, now_ns: int, limit: int = 100_000) -> list[MarketEvent]:
        """Every event whose time has come, oldest first (at most `limit` per call)."""
        ready: list[MarketEvent] = []
        while len(ready) < limit:
            event = self._peek()
            if event is None or self.release_time(event) > now_ns:
                break
            ready.append(event)
            self._pending = None
        self.released += len(ready)
        return ready

    def release_time(self, event: MarketEvent) -> int:
        """Wall-clock time of `event`: the first event is due at start, the rest keep spacing."""
        if self._first_offset_ns is None:
            self._first_offset_ns = event.offset_ns
        return self._start_ns + int((event.offset_ns - self._first_offset_ns) / self._speed)

    def _peek(self) -> MarketEvent | None:
        if self._pending is None and not self.exhausted:
            self._pending = next(self._events, None)
            self.exhausted = self._pending is None
        return self._pending
