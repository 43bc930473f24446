"""Hand-made Lighter frames in the SOL shapes of LIGHTER.md §3 (market 2, 3-dp strings)."""

from __future__ import annotations

from typing import Any

from solbot.core.model import MarketSpec

SOL = MarketSpec("SOL", "lighter", 2, 3, 3, 0.050, 10.0)
ACCOUNT = 411813
OTHER = 999001
MS = 1_000_000


def levels(*pairs: tuple[str, str]) -> list[dict[str, str]]:
    return [{"price": price, "size": size} for price, size in pairs]


def book_snapshot(nonce: int, bids: list[Any], asks: list[Any], ts_ms: int = 1_760_000_000_000):
    return {
        "channel": "order_book:2",
        "type": "subscribed/order_book",
        "offset": 5,
        "timestamp": ts_ms,
        "order_book": {
            "code": 0,
            "asks": asks,
            "bids": bids,
            "offset": 5,
            "nonce": nonce,
            "begin_nonce": 0,
            "last_updated_at": ts_ms * 1000,
        },
    }


def book_update(begin: int, nonce: int, bids: list[Any], asks: list[Any], offset: int = 9):
    return {
        "channel": "order_book:2",
        "type": "update/order_book",
        "offset": offset,
        "timestamp": 1_760_000_000_050,
        "order_book": {
            "code": 0,
            "asks": asks,
            "bids": bids,
            "offset": offset,
            "nonce": nonce,
            "begin_nonce": begin,
        },
    }


def trade(
    trade_id: int,
    *,
    price: str = "150.120",
    size: str = "0.070",
    ask_account: int = OTHER,
    bid_account: int = OTHER + 1,
    is_maker_ask: bool = True,
    ts_ms: int = 1_760_000_000_000,
    **extra: Any,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "trade_id": trade_id,
        "trade_id_str": str(trade_id),
        "tx_hash": "ab" * 40,
        "type": "trade",
        "market_id": 2,
        "size": size,
        "price": price,
        "usd_amount": f"{float(price) * float(size):.6f}",
        "ask_id": 281474976710700 + trade_id,
        "bid_id": 281474976710800 + trade_id,
        "ask_client_id": 7001,
        "bid_client_id": 7002,
        "ask_account_id": ask_account,
        "bid_account_id": bid_account,
        "is_maker_ask": is_maker_ask,
        "block_height": 100 + trade_id,
        "timestamp": ts_ms,
        "transaction_time": ts_ms * 1000,
    }
    body.update(extra)
    return body


def trade_frame(trades: list[dict[str, Any]], snapshot: bool = False) -> dict[str, Any]:
    kind = "subscribed" if snapshot else "update"
    return {"channel": "trade:2", "type": f"{kind}/trade", "trades": trades, "nonce": 1}


def position(sign: int, size: str, market_id: int = 2) -> dict[str, Any]:
    return {
        "market_id": market_id,
        "symbol": "SOL",
        "initial_margin_fraction": "10.00",
        "open_order_count": 0,
        "pending_order_count": 0,
        "position_tied_order_count": 0,
        "sign": sign,
        "position": size,
        "avg_entry_price": "150.000",
        "position_value": "0.000000",
        "unrealized_pnl": "0.000000",
        "realized_pnl": "0.000000",
        "liquidation_price": "0",
        "margin_mode": 0,
        "allocated_margin": "0.000000",
    }


def account_frame(
    *,
    snapshot: bool = False,
    positions: dict[str, Any] | None = None,
    trades: list[dict[str, Any]] | None = None,
    orders: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    kind = "subscribed" if snapshot else "update"
    frame: dict[str, Any] = {"channel": f"account_all:{ACCOUNT}", "type": f"{kind}/account_all"}
    frame["account"] = ACCOUNT
    if positions is not None:
        frame["positions"] = positions
    if trades is not None:
        frame["trades"] = {"2": trades}
    if orders is not None:
        frame["orders"] = {"2": orders}
    return frame


def order(
    client_id: int,
    status: str,
    *,
    order_index: int = 281474976710656,
    is_ask: bool = False,
    price: str = "150.000",
    initial: str = "0.070",
    remaining: str = "0.070",
) -> dict[str, Any]:
    return {
        "order_index": order_index,
        "client_order_index": client_id,
        "order_id": str(order_index),
        "client_order_id": str(client_id),
        "market_index": 2,
        "owner_account_index": ACCOUNT,
        "initial_base_amount": initial,
        "price": price,
        "nonce": 1,
        "remaining_base_amount": remaining,
        "is_ask": is_ask,
        "type": "limit",
        "time_in_force": "post-only",
        "reduce_only": False,
        "status": status,
    }


def order_book_details_row() -> dict[str, Any]:
    return {
        "symbol": "SOL",
        "market_id": 2,
        "market_type": "perp",
        "status": "active",
        "taker_fee": "0.0000",
        "maker_fee": "0.0000",
        "min_base_amount": "0.050",
        "min_quote_amount": "10.000000",
        "supported_size_decimals": 3,
        "supported_price_decimals": 3,
        "supported_quote_decimals": 6,
        "size_decimals": 3,
        "price_decimals": 3,
        "default_initial_margin_fraction": 1000,
        "min_initial_margin_fraction": 400,
        "maintenance_margin_fraction": 240,
        "last_trade_price": "150.120",
        "mark_price": "150.118",
        "index_price": "150.110",
    }
