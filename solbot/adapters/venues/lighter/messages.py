"""Parse Lighter WebSocket frames (SOL shapes, LIGHTER.md §3) into solbot events."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from solbot.adapters.venues.lighter.book import OrderBook
from solbot.adapters.venues.lighter.dedupe import RecentIds
from solbot.adapters.venues.lighter.events import (
    ChannelError,
    FeedStatus,
    LighterEvent,
    MarkPrice,
    PositionSnapshot,
    VenueOrder,
)
from solbot.adapters.venues.lighter.numbers import ms_or_s_to_ns, parse_decimal, parse_scaled
from solbot.core.model import (
    BookTop,
    Fill,
    FundingPayment,
    MarketSpec,
    OrderStatus,
    OrderUpdate,
    Role,
    Side,
    TradePrint,
)

VENUE = "lighter"
ALREADY_SUBSCRIBED = 30003
ACCOUNT_KINDS = (
    "account_all",
    "account_all_trades",
    "account_all_positions",
    "account_all_orders",
    "account_orders",
    "account_market",
)


@dataclass
class ParseResult:
    """What one frame produced: events for the session, and work for the connection."""

    events: list[LighterEvent] = field(default_factory=list)
    orders: list[VenueOrder] = field(default_factory=list)
    errors: list[ChannelError] = field(default_factory=list)
    resync_channels: list[str] = field(default_factory=list)


def map_order_status(text: str) -> tuple[OrderStatus, str]:
    """Venue status string → (model status, reason); accepts `_` and `-` spellings."""
    normal = text.strip().lower().replace("_", "-")
    if normal in ("in-progress", "pending"):
        return OrderStatus.PENDING, ""
    if normal == "open":
        return OrderStatus.OPEN, ""
    if normal == "filled":
        return OrderStatus.FILLED, ""
    for prefix in ("canceled", "cancelled"):
        if normal.startswith(prefix):
            return OrderStatus.CANCELED, normal[len(prefix) :].lstrip("-")
    raise ValueError(f"unknown order status {text!r}")


def parse_error_envelope(frame: dict[str, Any]) -> ChannelError | None:
    """Both error forms: `{"error": {code, message}}` and `{"type": "error", ...}`."""
    body: Any = None
    if isinstance(frame.get("error"), dict):
        body = frame["error"]
    elif frame.get("type") == "error":
        body = frame.get("data") if isinstance(frame.get("data"), dict) else frame
    if body is None:
        return None
    code = body.get("code")
    return ChannelError(code if isinstance(code, int) else None, str(body.get("message", "")))


class FrameParser:
    """Stateful parser: owns the book, trade and fill dedupe, and our account's attribution."""

    def __init__(
        self,
        spec: MarketSpec,
        account_index: int,
        *,
        history_cutoff_ns: int | None = None,
        dedupe_capacity: int = 50_000,
    ) -> None:
        self.spec = spec
        self.account_index = account_index
        self.book = OrderBook(spec)
        # Snapshot trades newer than this we have not seen are fills missed while disconnected;
        # None = every snapshot trade is history.
        self.history_cutoff_ns = history_cutoff_ns
        self._prints_seen = RecentIds(dedupe_capacity)
        self._fills_seen = RecentIds(dedupe_capacity)
        self._last_top: tuple[int, int, int, int] | None = None
        self._funding_paid: float | None = None
        self.duplicate_trades = 0  # public prints and our fills the venue sent again
        self.duplicate_fills = 0  # of those, our own fills
        self.last_book_ns = 0  # receive time of the last order book frame applied

    @property
    def market_key(self) -> str:
        return str(self.spec.market_id)

    def parse(self, frame: dict[str, Any], recv_ns: int) -> ParseResult:
        """Turn one decoded frame into events; a malformed frame raises ValueError."""
        result = ParseResult()
        error = parse_error_envelope(frame)
        if error is not None:
            self._on_error(error, result)
            return result
        kind, _, channel_kind = str(frame.get("type", "")).partition("/")
        if kind not in ("subscribed", "update"):
            return result
        if not self._is_our_channel(frame, channel_kind):
            return result
        snapshot = kind == "subscribed"
        handler = _HANDLERS.get(channel_kind)
        if handler is not None:
            handler(self, frame, snapshot, recv_ns, result)
        elif channel_kind in ACCOUNT_KINDS:
            self._on_account(frame, snapshot, recv_ns, result)
        return result

    def _is_our_channel(self, frame: dict[str, Any], channel_kind: str) -> bool:
        channel = str(frame.get("channel", ""))
        parts = channel.replace("/", ":").split(":")
        if channel_kind in ("order_book", "ticker", "trade"):
            return len(parts) < 2 or parts[1] == self.market_key
        if channel_kind in ACCOUNT_KINDS:
            return len(parts) < 2 or parts[-1] == str(self.account_index)
        return True

    # --- market data -----------------------------------------------------------------------

    def _on_order_book(
        self, frame: dict[str, Any], snapshot: bool, recv_ns: int, result: ParseResult
    ) -> None:
        payload = frame.get("order_book")
        if not isinstance(payload, dict):
            raise ValueError("order_book frame without an order_book object")
        was_valid = self.book.valid
        try:
            if snapshot:
                self.book.apply_snapshot(payload)
                applied = self.book.valid
            else:
                applied = self.book.apply_update(payload)
        except ValueError as exc:
            self.book.invalidate(f"bad order_book frame: {exc}")
            applied = False
        if not applied:
            if was_valid or snapshot:
                result.events.append(FeedStatus(recv_ns, True, False, self.book.invalid_reason))
                result.resync_channels.append(f"order_book/{self.market_key}")
            return
        self.last_book_ns = recv_ns
        if not was_valid:
            result.events.append(FeedStatus(recv_ns, True, True, "book snapshot"))
        exchange_ns = _frame_time_ns(frame, recv_ns)
        top = self.book.top(recv_ns, exchange_ns)
        key = (top.bid_price, top.bid_size, top.ask_price, top.ask_size)
        if key != self._last_top or not was_valid:
            self._last_top = key
            result.events.append(top)

    def _on_ticker(
        self, frame: dict[str, Any], snapshot: bool, recv_ns: int, result: ParseResult
    ) -> None:
        ticker = frame.get("ticker")
        if not isinstance(ticker, dict):
            raise ValueError("ticker frame without a ticker object")
        bid, ask = ticker.get("b") or {}, ticker.get("a") or {}
        result.events.append(
            BookTop(
                recv_ns,
                _frame_time_ns(frame, recv_ns),
                self._ticks(bid.get("price", "0")),
                self._lots(bid.get("size", "0")),
                self._ticks(ask.get("price", "0")),
                self._lots(ask.get("size", "0")),
            )
        )

    def _on_trade(
        self, frame: dict[str, Any], snapshot: bool, recv_ns: int, result: ParseResult
    ) -> None:
        trades = list(frame.get("trades") or []) + list(frame.get("liquidation_trades") or [])
        for trade in trades:
            if int(trade.get("market_id", self.spec.market_id)) != self.spec.market_id:
                continue
            trade_id = _trade_id(trade)
            if not self._prints_seen.add(trade_id):
                self.duplicate_trades += 1
                continue
            if snapshot:
                continue  # history replayed by the snapshot
            aggressor = Side.BID if trade.get("is_maker_ask") else Side.ASK
            result.events.append(
                TradePrint(
                    recv_ns,
                    _trade_time_ns(trade, recv_ns),
                    self._ticks(trade["price"]),
                    self._lots(trade["size"]),
                    aggressor,
                    trade_id,
                )
            )

    def _on_market_stats(
        self, frame: dict[str, Any], snapshot: bool, recv_ns: int, result: ParseResult
    ) -> None:
        stats = frame.get("market_stats")
        if not isinstance(stats, dict):
            raise ValueError("market_stats frame without a market_stats object")
        if "market_id" not in stats:  # `market_stats/all`: keyed by market id
            stats = stats.get(self.market_key) or {}
            if not stats:
                return
        if int(stats.get("market_id", -1)) != self.spec.market_id:
            return
        funding = stats.get("current_funding_rate", stats.get("funding_rate"))
        funding_ts = stats.get("funding_timestamp")
        result.events.append(
            MarkPrice(
                self.spec.symbol,
                recv_ns,
                parse_decimal(stats["mark_price"]),
                _optional_decimal(stats.get("index_price")),
                _optional_decimal(funding),
                ms_or_s_to_ns(funding_ts) if funding_ts else None,
            )
        )

    # --- account ---------------------------------------------------------------------------

    def _on_account(
        self, frame: dict[str, Any], snapshot: bool, recv_ns: int, result: ParseResult
    ) -> None:
        for trade in _trades_of(frame.get("trades"), self.market_key):
            result.events.extend(self._fills_of(trade, snapshot, recv_ns))
        for order in _orders_of(frame.get("orders"), self.market_key):
            self._on_order(order, recv_ns, result)
        found, entry = self._position_entry(frame)
        if found:
            result.events.append(self.position_from(entry, recv_ns))
            funding = self._funding_of(entry, recv_ns)
            if funding is not None:
                result.events.append(funding)

    def _fills_of(self, trade: dict[str, Any], snapshot: bool, recv_ns: int) -> list[Fill]:
        if int(trade.get("market_id", self.spec.market_id)) != self.spec.market_id:
            return []
        sides = [
            side
            for side, key in ((Side.ASK, "ask_account_id"), (Side.BID, "bid_account_id"))
            if _as_int(trade.get(key)) == self.account_index
        ]
        if not sides:
            return []
        trade_id = _trade_id(trade)
        ts_ns = _trade_time_ns(trade, recv_ns)
        if trade_id in self._fills_seen:
            self.duplicate_trades += 1
            self.duplicate_fills += 1
            return []
        if snapshot and (self.history_cutoff_ns is None or ts_ns <= self.history_cutoff_ns):
            self._fills_seen.add(trade_id)  # history before this session: never a new fill
            return []
        self._fills_seen.add(trade_id)
        suffix = len(sides) > 1  # self-trade: one fill per side, ids kept unique
        return [self._fill(trade, side, trade_id, ts_ns, suffix) for side in sides]

    def fills_from_rest(self, trade: dict[str, Any], recv_ns: int) -> list[Fill]:
        """Our fills in one trade read from REST (reconciliation): deduped with the stream's."""
        return self._fills_of(trade, False, recv_ns)

    def _fill(
        self, trade: dict[str, Any], side: Side, trade_id: str, ts_ns: int, suffix: bool
    ) -> Fill:
        maker_is_ask = bool(trade.get("is_maker_ask"))
        maker = maker_is_ask == (side is Side.ASK)
        fee_millionths = _as_int(trade.get("maker_fee" if maker else "taker_fee")) or 0
        price = self.spec.ticks_to_price(self._ticks(trade["price"]))
        size = self.spec.lots_to_size(self._lots(trade["size"]))
        client_key = "ask_client_id" if side is Side.ASK else "bid_client_id"
        mid = self._mid()
        return Fill(
            venue=VENUE,
            trade_id=f"{trade_id}:{side.label}" if suffix else trade_id,
            ts_ns=ts_ns,
            market=self.spec.symbol,
            side=side,
            price=price,
            size=size,
            role=Role.MAKER if maker else Role.TAKER,
            fee_usd=price * size * fee_millionths / 1_000_000,
            client_id=_as_int(trade.get(client_key)),
            mid=mid,
        )

    def _on_order(self, order: dict[str, Any], recv_ns: int, result: ParseResult) -> None:
        venue_order = self.parse_order(order)
        if venue_order.market_id != self.spec.market_id:
            return
        status, reason = map_order_status(venue_order.status)
        result.orders.append(venue_order)
        result.events.append(
            OrderUpdate(
                recv_ns,
                venue_order.client_id,
                status,
                venue_order.remaining,
                reason,
                price=venue_order.price,
            )
        )

    def parse_order(self, order: dict[str, Any]) -> VenueOrder:
        """One REST/WS `Order` object → VenueOrder in ticks and lots."""
        return VenueOrder(
            order_index=int(order["order_index"]),
            client_id=int(order.get("client_order_index", 0)),
            side=Side.ASK if order.get("is_ask") else Side.BID,
            price=self._ticks(order["price"]),
            initial_size=self._lots(order.get("initial_base_amount", "0")),
            remaining=self._lots(order.get("remaining_base_amount", "0")),
            status=str(order.get("status", "open")),
            market_id=int(order.get("market_index", self.spec.market_id)),
        )

    def _position_of(self, frame: dict[str, Any], recv_ns: int) -> PositionSnapshot | None:
        found, entry = self._position_entry(frame)
        return self.position_from(entry, recv_ns) if found else None

    def _funding_of(self, entry: dict[str, Any] | None, ts_ns: int) -> FundingPayment | None:
        """Funding settled since the last frame, from the position's cumulative funding paid.

        The first value seen is the baseline (funding before this session is not ours to book);
        a later change is one payment: paid out > 0 is money we paid (a negative amount).
        """
        if entry is None or entry.get("total_funding_paid_out") is None:
            return None
        paid = float(entry["total_funding_paid_out"])
        previous, self._funding_paid = self._funding_paid, paid
        if previous is None or paid == previous:
            return None
        size = self.spec.lots_to_size(
            (_as_int(entry.get("sign")) or 1) * self._lots(entry.get("position", "0"))
        )
        mark = _optional_decimal(entry.get("avg_entry_price")) or 0.0
        return FundingPayment(VENUE, ts_ns, self.spec.symbol, 0.0, size, mark, previous - paid)

    def _position_entry(self, frame: dict[str, Any]) -> tuple[bool, dict[str, Any] | None]:
        """(frame carries positions, our market's entry or None = flat)."""
        if isinstance(frame.get("positions"), dict):
            return True, frame["positions"].get(self.market_key)
        if isinstance(frame.get("position"), dict):  # account_market: one object
            return True, frame["position"]
        if isinstance(frame.get("position"), list):  # account_market as documented: array
            market_id = self.spec.market_id
            entries = [p for p in frame["position"] if _as_int(p.get("market_id")) == market_id]
            return True, entries[0] if entries else None
        return False, None  # no positions object: says nothing about inventory (original bug)

    def position_from(self, entry: dict[str, Any] | None, ts_ns: int) -> PositionSnapshot:
        """A `Position` object (or None = flat) → signed PositionSnapshot."""
        if entry is None:
            return PositionSnapshot(self.spec.symbol, 0.0, ts_ns)
        sign = _as_int(entry.get("sign"))
        if sign not in (-1, 0, 1):
            raise ValueError(f"position.sign must be 1, -1 or 0, found {entry.get('sign')!r}")
        lots = self._lots(entry.get("position", "0"))
        entry_price = _optional_decimal(entry.get("avg_entry_price"))
        return PositionSnapshot(
            self.spec.symbol, self.spec.lots_to_size(sign * lots), ts_ns, entry_price or None
        )

    # --- helpers ---------------------------------------------------------------------------

    def _on_error(self, error: ChannelError, result: ParseResult) -> None:
        result.errors.append(error)
        duplicate = error.code == ALREADY_SUBSCRIBED and "order_book" in error.message
        if duplicate and not self.book.valid:  # a duplicate subscribe sends no snapshot
            result.resync_channels.append(f"order_book/{self.market_key}")

    def _ticks(self, value: object) -> int:
        return parse_scaled(value, self.spec.price_decimals)

    def _lots(self, value: object) -> int:
        return parse_scaled(value, self.spec.size_decimals)

    def _mid(self) -> float | None:
        bid, ask = self.book.best_bid(), self.book.best_ask()
        if not self.book.valid or bid is None or ask is None:
            return None
        return self.spec.ticks_to_price(bid[0] + ask[0]) / 2


_HANDLERS = {
    "order_book": FrameParser._on_order_book,
    "ticker": FrameParser._on_ticker,
    "trade": FrameParser._on_trade,
    "market_stats": FrameParser._on_market_stats,
}


def _trades_of(raw: Any, market_key: str) -> list[dict[str, Any]]:
    if isinstance(raw, dict):
        return list(raw.get(market_key) or [])
    if isinstance(raw, list):  # account_all_trades updates may be a flat list
        return [t for t in raw if isinstance(t, dict)]
    return []


def _orders_of(raw: Any, market_key: str) -> list[dict[str, Any]]:
    if isinstance(raw, dict):
        return list(raw.get(market_key) or [])
    if isinstance(raw, list):
        return [o for o in raw if isinstance(o, dict)]
    return []


def _trade_id(trade: dict[str, Any]) -> str:
    value = trade.get("trade_id_str") or trade.get("trade_id")
    if value is None or value == "":
        raise ValueError("trade without trade_id")
    return str(value)


def _trade_time_ns(trade: dict[str, Any], default_ns: int) -> int:
    value = trade.get("timestamp")
    return ms_or_s_to_ns(value) if value else default_ns


def _frame_time_ns(frame: dict[str, Any], default_ns: int) -> int:
    value = frame.get("timestamp")
    return ms_or_s_to_ns(value) if value else default_ns


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _optional_decimal(value: Any) -> float | None:
    if value is None or value == "":
        return None
    return parse_decimal(value)
