"""Signed Lighter transactions: parse tx_info JSON and apply the stateless checks.

The fake does NOT verify `Sig` (the Schnorr/ECgFp5 scheme lives in the native signer); it only
requires the field to be present. Ranges follow lighter-go's `Validate` rules.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

TX_CREATE_ORDER = 14
TX_CANCEL_ORDER = 15
TX_CANCEL_ALL = 16
TX_MODIFY_ORDER = 17

ORDER_TYPE_LIMIT = 0
ORDER_TYPE_MARKET = 1
TIF_IOC = 0
TIF_GTT = 1
TIF_POST_ONLY = 2
CANCEL_ALL_IMMEDIATE = 0
CANCEL_ALL_SCHEDULED = 1
CANCEL_ALL_ABORT = 2
ALL_MARKETS = 255  # cancel-all of every market of the account (the SDK default)
CANCEL_ALL_MARKET_ATTRIBUTE = "5"  # L2TxAttributes key of a cancel-all's market (native signer)

MAX_CLIENT_ORDER_INDEX = 2**48 - 1
MIN_ORDER_INDEX = 2**48  # Index values at or above this are venue order indices, below are COIs
MAX_INDEX = 2**60 - 1
MAX_BASE_AMOUNT = 2**48 - 1
MAX_PRICE = 2**32 - 1


class TxRejected(Exception):
    """A transaction refused at the API layer (its nonce is not consumed)."""

    def __init__(self, code: int, message: str, http_status: int = 400) -> None:
        self.code = code
        self.message = message
        self.http_status = http_status
        super().__init__(f"{code}: {message}")


@dataclass(frozen=True, slots=True)
class TxHeader:
    """Fields every L2 transaction carries."""

    tx_type: int
    account_index: int
    api_key_index: int
    nonce: int
    expired_at_ms: int


@dataclass(frozen=True, slots=True)
class CreateOrderTx:
    header: TxHeader
    market_index: int
    client_order_index: int
    base_amount: int
    price: int
    is_ask: bool
    order_type: int
    time_in_force: int
    reduce_only: bool
    trigger_price: int
    order_expiry_ms: int


@dataclass(frozen=True, slots=True)
class CancelOrderTx:
    header: TxHeader
    market_index: int
    index: int


@dataclass(frozen=True, slots=True)
class CancelAllTx:
    header: TxHeader
    time_in_force: int
    time_ms: int
    market_index: int = ALL_MARKETS  # from L2TxAttributes; only an immediate one may name one


@dataclass(frozen=True, slots=True)
class ModifyOrderTx:
    header: TxHeader
    market_index: int
    index: int
    base_amount: int
    price: int
    trigger_price: int


Tx = CreateOrderTx | CancelOrderTx | CancelAllTx | ModifyOrderTx


def decode_tx_info(tx_info: Any) -> dict[str, Any]:
    """tx_info arrives as a JSON string (REST form) or an object (WS `jsonapi/sendtx`)."""
    if isinstance(tx_info, str):
        try:
            tx_info = json.loads(tx_info)
        except json.JSONDecodeError as error:
            raise TxRejected(21501, f"invalid tx info: not JSON ({error.msg})") from None
    if not isinstance(tx_info, dict):
        raise TxRejected(21501, "invalid tx info: expected a JSON object")
    return tx_info


def parse_tx(tx_type: int, tx_info: Any) -> Tx:
    """Parse and range-check one transaction; raises TxRejected with Lighter's code."""
    info = decode_tx_info(tx_info)
    parsers: dict[int, Callable[[TxHeader, dict[str, Any]], Tx]] = {
        TX_CREATE_ORDER: _parse_create,
        TX_CANCEL_ORDER: _parse_cancel,
        TX_CANCEL_ALL: _parse_cancel_all,
        TX_MODIFY_ORDER: _parse_modify,
    }
    parser = parsers.get(tx_type)
    if parser is None:
        raise TxRejected(21505, f"unsupported tx type {tx_type} (the fake handles 14, 15, 16, 17)")
    return parser(_header(tx_type, info), info)


def _field(info: dict[str, Any], name: str, default: int | None = None) -> int:
    value = info.get(name, default)
    if value is None:
        raise TxRejected(21501, f"invalid tx info: missing {name}")
    if isinstance(value, bool) or not isinstance(value, int):
        raise TxRejected(21501, f"invalid tx info: {name} must be an integer, found {value!r}")
    return value


def _header(tx_type: int, info: dict[str, Any]) -> TxHeader:
    if not isinstance(info.get("Sig"), str) or not info["Sig"]:
        raise TxRejected(21501, "invalid tx info: missing Sig (the fake does not verify it)")
    header = TxHeader(
        tx_type=tx_type,
        account_index=_field(info, "AccountIndex"),
        api_key_index=_field(info, "ApiKeyIndex"),
        nonce=_field(info, "Nonce"),
        expired_at_ms=_field(info, "ExpiredAt", 0),
    )
    if not 0 <= header.api_key_index <= 255:
        raise TxRejected(21110, f"invalid api key index {header.api_key_index}")
    if header.api_key_index == 255 and tx_type != TX_CANCEL_ALL:
        raise TxRejected(21110, "api key index 255 is accepted only by cancel-all")
    if header.nonce < 0:
        raise TxRejected(21104, f"invalid nonce {header.nonce}")
    return header


def _parse_create(header: TxHeader, info: dict[str, Any]) -> CreateOrderTx:
    tx = CreateOrderTx(
        header=header,
        market_index=_field(info, "MarketIndex"),
        client_order_index=_field(info, "ClientOrderIndex", 0),
        base_amount=_field(info, "BaseAmount"),
        price=_field(info, "Price"),
        is_ask=_flag(info, "IsAsk", 21703),
        order_type=_field(info, "Type", ORDER_TYPE_LIMIT),
        time_in_force=_field(info, "TimeInForce"),
        reduce_only=_flag(info, "ReduceOnly", 21501),
        trigger_price=_field(info, "TriggerPrice", 0),
        order_expiry_ms=_field(info, "OrderExpiry"),
    )
    if not 0 <= tx.client_order_index <= MAX_CLIENT_ORDER_INDEX:
        raise TxRejected(21727, f"invalid client order index {tx.client_order_index}")
    if not 1 <= tx.base_amount <= MAX_BASE_AMOUNT:
        raise TxRejected(21701, f"invalid base amount {tx.base_amount}")
    if not 1 <= tx.price <= MAX_PRICE:
        raise TxRejected(21702, f"invalid price {tx.price}")
    if tx.order_type not in (ORDER_TYPE_LIMIT, ORDER_TYPE_MARKET):
        raise TxRejected(21710, f"unsupported order type {tx.order_type} (limit 0, market 1)")
    if tx.time_in_force not in (TIF_IOC, TIF_GTT, TIF_POST_ONLY):
        raise TxRejected(21705, f"invalid time in force {tx.time_in_force}")
    if tx.order_type == ORDER_TYPE_MARKET and tx.time_in_force != TIF_IOC:
        raise TxRejected(21705, "market orders must be immediate-or-cancel")
    if tx.trigger_price != 0:
        raise TxRejected(21729, "limit and market orders take TriggerPrice 0")
    return tx


def _flag(info: dict[str, Any], name: str, code: int) -> bool:
    value = _field(info, name, 0)
    if value not in (0, 1):
        raise TxRejected(code, f"{name} must be 0 or 1, found {value}")
    return value == 1


def _parse_index(info: dict[str, Any]) -> int:
    index = _field(info, "Index")
    if not 1 <= index <= MAX_INDEX:
        raise TxRejected(21700, f"invalid order index {index}")
    return index


def _parse_cancel(header: TxHeader, info: dict[str, Any]) -> CancelOrderTx:
    return CancelOrderTx(header, _field(info, "MarketIndex"), _parse_index(info))


def _parse_cancel_all(header: TxHeader, info: dict[str, Any]) -> CancelAllTx:
    attributes = info.get("L2TxAttributes") or {}
    if not isinstance(attributes, dict):
        raise TxRejected(21501, f"invalid tx info: L2TxAttributes {attributes!r}")
    market = _field(attributes, CANCEL_ALL_MARKET_ATTRIBUTE, ALL_MARKETS)
    tx = CancelAllTx(header, _field(info, "TimeInForce"), _field(info, "Time", 0), market)
    if tx.time_in_force not in (CANCEL_ALL_IMMEDIATE, CANCEL_ALL_SCHEDULED, CANCEL_ALL_ABORT):
        raise TxRejected(21713, f"invalid cancel all time in force {tx.time_in_force}")
    if market != ALL_MARKETS and tx.time_in_force != CANCEL_ALL_IMMEDIATE:
        raise TxRejected(21713, "cancel all for a market index can't be scheduled or aborted")
    if tx.time_in_force == CANCEL_ALL_SCHEDULED and tx.time_ms < 1:
        raise TxRejected(21714, "scheduled cancel-all needs Time (ms) > 0")
    if tx.time_in_force != CANCEL_ALL_SCHEDULED and tx.time_ms != 0:
        raise TxRejected(21714, "immediate and abort cancel-all take Time 0")
    return tx


def _parse_modify(header: TxHeader, info: dict[str, Any]) -> ModifyOrderTx:
    tx = ModifyOrderTx(
        header=header,
        market_index=_field(info, "MarketIndex"),
        index=_parse_index(info),
        base_amount=_field(info, "BaseAmount", 0),
        price=_field(info, "Price"),
        trigger_price=_field(info, "TriggerPrice", 0),
    )
    if not 0 <= tx.base_amount <= MAX_BASE_AMOUNT:
        raise TxRejected(21701, f"invalid base amount {tx.base_amount}")
    if not 1 <= tx.price <= MAX_PRICE:
        raise TxRejected(21702, f"invalid price {tx.price}")
    if tx.trigger_price != 0:
        raise TxRejected(21729, "modify of a limit order takes TriggerPrice 0")
    return tx


def parse_batch(tx_types: Any, tx_infos: Any) -> list[tuple[int, Any]]:
    """Decode `sendTxBatch` fields: JSON-encoded lists (or lists already) of types and infos."""
    types = _decode_list(tx_types, "tx_types")
    infos = _decode_list(tx_infos, "tx_infos")
    if len(types) != len(infos):
        raise TxRejected(21513, "TxInfos and TxTypes should have the same length")
    if not types:
        raise TxRejected(20001, "invalid param: empty batch")
    if len(types) > 50:
        raise TxRejected(21514, "maximum 50 transactions allowed per batch")
    for tx_type in types:
        if isinstance(tx_type, bool) or not isinstance(tx_type, int):
            raise TxRejected(20001, f"invalid param: tx type {tx_type!r} is not an integer")
    return list(zip(types, infos, strict=True))


def _decode_list(raw: Any, name: str) -> list[Any]:
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError:
            raise TxRejected(20001, f"invalid param: {name} is not a JSON list") from None
    if not isinstance(raw, list):
        raise TxRejected(20001, f"invalid param: {name} must be a list")
    return raw
