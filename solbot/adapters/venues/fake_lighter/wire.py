"""Lighter's wire formats: fixed-decimal strings, channel names, error bodies, tx hashes."""

from __future__ import annotations

import hashlib
from typing import Any

from solbot.core.model import MarketSpec

# Lighter order status strings (LIGHTER.md §2, "Order status").
STATUS_OPEN = "open"
STATUS_FILLED = "filled"
STATUS_CANCELED = "canceled"
STATUS_CANCELED_POST_ONLY = "canceled-post-only"
STATUS_CANCELED_REDUCE_ONLY = "canceled-reduce-only"
STATUS_CANCELED_NOT_ENOUGH_LIQUIDITY = "canceled-not-enough-liquidity"
STATUS_CANCELED_EXPIRED = "canceled-expired"
STATUS_CANCELED_SELF_TRADE = "canceled-self-trade"
ACTIVE_STATUSES = frozenset({"in-progress", "pending", STATUS_OPEN})

TIME_IN_FORCE_NAMES = {0: "immediate-or-cancel", 1: "good-till-time", 2: "post-only"}
ORDER_TYPE_NAMES = {0: "limit", 1: "market"}


def scaled(units: int, decimals: int) -> str:
    """Integer units of 10^-decimals as a string with exactly `decimals` places."""
    sign = "-" if units < 0 else ""
    whole, fraction = divmod(abs(units), 10**decimals)
    if decimals == 0:
        return f"{sign}{whole}"
    return f"{sign}{whole}.{fraction:0{decimals}d}"


def price_text(ticks: int, market: MarketSpec) -> str:
    """Price ticks as Lighter prints them ("150.123")."""
    return scaled(ticks, market.price_decimals)


def size_text(lots: int, market: MarketSpec) -> str:
    """Size lots as Lighter prints them ("0.050")."""
    return scaled(lots, market.size_decimals)


def usd_text(value: float) -> str:
    """USDC amounts carry six decimals on Lighter."""
    return f"{value:.6f}"


def quote_units(price_ticks: int, size_lots: int, market: MarketSpec) -> float:
    """Notional in USD of `size_lots` at `price_ticks`."""
    scale = float(10 ** (market.price_decimals + market.size_decimals))
    return price_ticks * size_lots / scale


def wire_channel(channel: str) -> str:
    """Subscribe names use '/', frames carry ':' (`order_book/2` -> `order_book:2`)."""
    return channel.replace("/", ":")


def error_body(code: int, message: str) -> dict[str, Any]:
    """The business-error envelope of REST answers."""
    return {"code": code, "message": message}


def ws_error(code: int, message: str) -> dict[str, Any]:
    """A WebSocket error frame; carries both envelopes clients have been seen to parse."""
    return {"type": "error", "error": {"code": code, "message": message}}


def tx_hash(*parts: object) -> str:
    """An 80-hex-character hash, deterministic in its inputs (the signer's hash length)."""
    digest = hashlib.blake2b(":".join(str(part) for part in parts).encode(), digest_size=40)
    return digest.hexdigest()
