"""Public market state of the fake venue and the frames of its public channels."""

from __future__ import annotations

from collections import deque
from typing import Any

from solbot.adapters.venues.fake_lighter import wire
from solbot.adapters.venues.fake_lighter.depth import BookDiff, BookPublisher, DepthModel, Levels
from solbot.adapters.venues.fake_lighter.feed import MarketEvent
from solbot.core.model import MarketSpec

# Account ids of the anonymous counterparties in public trades (never the bot's account).
OTHER_BUYER_ACCOUNT = 90_001
OTHER_SELLER_ACCOUNT = 90_002


class PublicMarket:
    """L1 from the feed, published depth, trade history, mark/index/funding."""

    def __init__(
        self,
        market: MarketSpec,
        depth: DepthModel,
        publisher: BookPublisher,
        *,
        history: int,
        funding_rate: float,
    ) -> None:
        self.market = market
        self.depth = depth
        self.publisher = publisher
        self.top: tuple[int, int, int, int] | None = None
        self.last_trade_price = 0
        self.trades: deque[dict[str, Any]] = deque(maxlen=history)
        self.trade_nonce = 1
        self.funding_rate = funding_rate
        self.volume_base_lots = 0
        self.volume_quote_usd = 0.0
        self.high = 0
        self.low = 0
        self.pending_trades: list[dict[str, Any]] = []  # not yet sent on `trade/{market}`
        self.last_trade_id = 1_000_000_000
        self._other_order_id = 2**48 + 2**40

    def apply_book(self, event: MarketEvent) -> None:
        """Adopt a new recorded/synthetic L1 quote."""
        self.top = (event.bid, event.bid_size, event.ask, event.ask_size)

    def mid_ticks(self) -> float:
        """Public mid (our own orders excluded), falling back to the last trade."""
        if self.top is not None and self.top[0] > 0 and self.top[2] > 0:
            return (self.top[0] + self.top[2]) / 2
        return float(self.last_trade_price)

    def mark_price(self) -> float:
        return self.mid_ticks() / float(10**self.market.price_decimals)

    def next_trade_id(self) -> int:
        """Trade ids are unique and increasing across public trades and ours."""
        self.last_trade_id += 1
        return self.last_trade_id

    def take_pending_trades(self) -> list[dict[str, Any]]:
        trades, self.pending_trades = self.pending_trades, []
        return trades

    def add_trade(self, trade: dict[str, Any], price: int, lots: int) -> None:
        """Record a trade (public or ours): history, daily statistics, next `trade` frame."""
        self.trades.append(trade)
        self.pending_trades.append(trade)
        self.last_trade_price = price
        self.volume_base_lots += lots
        self.volume_quote_usd += wire.quote_units(price, lots, self.market)
        self.high = max(self.high, price)
        self.low = price if self.low == 0 else min(self.low, price)

    def add_public_trade(self, event: MarketEvent, now_ns: int) -> None:
        """A feed trade between two anonymous accounts."""
        trade_id = self.next_trade_id()
        buy = event.aggressor > 0
        maker_id, taker_id = self._other_order_id, self._other_order_id + 1
        self._other_order_id += 2
        ask_id, bid_id = (maker_id, taker_id) if buy else (taker_id, maker_id)
        trade = trade_wire(
            self.market,
            trade_id,
            event.price,
            event.size,
            now_ns,
            ask_id=ask_id,
            bid_id=bid_id,
            ask_account=OTHER_SELLER_ACCOUNT,
            bid_account=OTHER_BUYER_ACCOUNT,
            is_maker_ask=buy,
        )
        self.add_trade(trade, event.price, event.size)

    def next_other_order_id(self) -> int:
        value = self._other_order_id
        self._other_order_id += 1
        return value

    def compose_levels(
        self, own_bids: dict[int, int], own_asks: dict[int, int]
    ) -> tuple[Levels, Levels]:
        return self.depth.compose(self.top, own_bids, own_asks)

    # --- frames -------------------------------------------------------------------------

    def book_frame(self, kind: str, diff: BookDiff | None, now_ns: int) -> dict[str, Any]:
        """`subscribed/order_book` (full book, diff None) or `update/order_book` (diff)."""
        publisher = self.publisher
        if diff is None:
            bids, asks = publisher.sorted_levels()
            begin_nonce = 0
        else:
            bids, asks = diff.bids, diff.asks
            begin_nonce = publisher.begin_nonce
        micros = now_ns // 1_000
        return {
            "channel": f"order_book:{self.market.market_id}",
            "offset": publisher.offset,
            "order_book": {
                "code": 0,
                "asks": [self._level(price, size) for price, size in asks],
                "bids": [self._level(price, size) for price, size in bids],
                "offset": publisher.offset,
                "nonce": publisher.nonce,
                "begin_nonce": begin_nonce,
                "last_updated_at": micros,
            },
            "timestamp": now_ns // 1_000_000,
            "last_updated_at": micros,
            "type": f"{kind}/order_book",
        }

    def _level(self, price: int, size: int) -> dict[str, str]:
        return {
            "price": wire.price_text(price, self.market),
            "size": wire.size_text(size, self.market),
        }

    def ticker_frame(self, kind: str, now_ns: int) -> dict[str, Any]:
        """`ticker/{market}`: best bid and ask of the published book."""
        best_bid, best_ask = self.publisher.best()
        return {
            "channel": f"ticker:{self.market.market_id}",
            "nonce": self.publisher.nonce,
            "ticker": {
                "s": self.market.symbol,
                "a": self._level(*(best_ask or (0, 0))),
                "b": self._level(*(best_bid or (0, 0))),
                "last_updated_at": now_ns // 1_000,
            },
            "timestamp": now_ns // 1_000_000,
            "type": f"{kind}/ticker",
        }

    def trade_frame(self, kind: str, trades: list[dict[str, Any]]) -> dict[str, Any]:
        """`trade/{market}` frame carrying `trades` (history for a snapshot)."""
        self.trade_nonce += 1
        return {
            "channel": f"trade:{self.market.market_id}",
            "liquidation_trades": [],
            "nonce": self.trade_nonce,
            "trades": trades,
            "type": f"{kind}/trade",
        }

    def stats_frame(self, kind: str, now_ns: int) -> dict[str, Any]:
        """`market_stats/{market}`: mark, index, funding and daily figures."""
        return {
            "channel": f"market_stats:{self.market.market_id}",
            "market_stats": self.stats(now_ns),
            "timestamp": now_ns // 1_000_000,
            "type": f"{kind}/market_stats",
        }

    def stats(self, now_ns: int) -> dict[str, Any]:
        """The MarketStats object (also used by orderBookDetails)."""
        decimals = self.market.price_decimals
        mark = f"{self.mark_price():.{decimals}f}"
        hour_ms = 3_600_000
        return {
            "market_id": self.market.market_id,
            "symbol": self.market.symbol,
            "index_price": mark,
            "mark_price": mark,
            "mid_price": mark,
            "open_interest": "0.000000",
            "last_trade_price": wire.price_text(self.last_trade_price, self.market),
            "current_funding_rate": f"{self.funding_rate * 100:.4f}",
            "funding_rate": f"{self.funding_rate * 100:.4f}",
            "funding_timestamp": (now_ns // 1_000_000 // hour_ms + 1) * hour_ms,
            "daily_base_token_volume": self.volume_base_lots / 10**self.market.size_decimals,
            "daily_quote_token_volume": round(self.volume_quote_usd, 6),
            "daily_price_low": self.low / 10**decimals,
            "daily_price_high": self.high / 10**decimals,
            "daily_price_change": 0.0,
        }


def trade_wire(
    market: MarketSpec,
    trade_id: int,
    price: int,
    lots: int,
    now_ns: int,
    *,
    ask_id: int,
    bid_id: int,
    ask_account: int,
    bid_account: int,
    is_maker_ask: bool,
    ask_client_id: int = 0,
    bid_client_id: int = 0,
) -> dict[str, Any]:
    """A Trade object; maker/taker fee fields are left out when zero, as Lighter does."""
    return {
        "trade_id": trade_id,
        "trade_id_str": str(trade_id),
        "tx_hash": wire.tx_hash("trade", trade_id),
        "type": "trade",
        "market_id": market.market_id,
        "size": wire.size_text(lots, market),
        "price": wire.price_text(price, market),
        "usd_amount": wire.usd_text(wire.quote_units(price, lots, market)),
        "ask_id": ask_id,
        "ask_id_str": str(ask_id),
        "bid_id": bid_id,
        "bid_id_str": str(bid_id),
        "ask_client_id": ask_client_id,
        "ask_client_id_str": str(ask_client_id),
        "bid_client_id": bid_client_id,
        "bid_client_id_str": str(bid_client_id),
        "ask_account_id": ask_account,
        "bid_account_id": bid_account,
        "is_maker_ask": is_maker_ask,
        "block_height": now_ns // 1_000_000_000,
        "timestamp": now_ns // 1_000_000,
        "transaction_time": now_ns // 1_000,
    }
