"""Transaction signing: the lighter-sdk native signer, and an unsigned twin for the fake venue.

Crypto is never hand-rolled: `LighterSdkSigner` calls the Go signer shipped in lighter-sdk
(optional extra `solbot[lighter]`). `UnsignedTestSigner` writes the same tx_info fields with a
placeholder signature and refuses any non-loopback URL.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol
from urllib.parse import urlsplit

from solbot.adapters.venues.lighter.errors import LighterError, SignatureError

TX_CREATE_ORDER = 14
TX_CANCEL_ORDER = 15
TX_CANCEL_ALL = 16
TX_MODIFY_ORDER = 17

ORDER_TYPE_LIMIT = 0
TIF_IMMEDIATE_OR_CANCEL = 0
TIF_GOOD_TILL_TIME = 1
TIF_POST_ONLY = 2
CANCEL_ALL_IMMEDIATE = 0
CANCEL_ALL_SCHEDULED = 1
CANCEL_ALL_ABORT = 2
# Cancel-all scope: every market of the account (the SDK default), or one market. The venue
# scopes only the immediate cancel-all; scheduled and abort are account-wide (the native signer
# refuses a market with them: "Cancel all for market index can't be scheduled").
ALL_MARKETS = 255
L2_ATTRIBUTE_CANCEL_ALL_MARKET = "5"  # where the native signer writes the market (checked)
DEFAULT_ORDER_EXPIRY = -1  # the signer writes now + 28 days
IOC_ORDER_EXPIRY = 0
MAX_CLIENT_ORDER_INDEX = 2**48 - 1
# Not a signature: a marker the loopback fake accepts (it rejects an absent or empty Sig, which
# catches code that forgets to sign) and that no real venue could ever verify.
UNSIGNED_SIG = "unsigned"
TX_EXPIRY_MS = 10 * 60 * 1000
ORDER_EXPIRY_28_DAYS_MS = 28 * 24 * 3600 * 1000


class SignedTx(NamedTuple):
    """What sendTx takes: the tx type and the tx_info JSON text."""

    tx_type: int
    tx_info: str


class SigningError(LighterError):
    """The signer refused the transaction (client-side validation); it is never sent."""


@dataclass(frozen=True, slots=True)
class CreateOrderRequest:
    """A limit order in venue integers (base_amount in lots, price in ticks)."""

    market_index: int
    client_order_index: int
    base_amount: int
    price: int
    is_ask: bool
    time_in_force: int
    reduce_only: bool = False
    order_expiry: int = DEFAULT_ORDER_EXPIRY
    order_type: int = ORDER_TYPE_LIMIT


class Signer(Protocol):
    """Builds signed tx_info for one account and API key."""

    account_index: int
    api_key_index: int

    def sign_create_order(self, order: CreateOrderRequest, nonce: int) -> SignedTx: ...

    def sign_modify(
        self, market_index: int, order_index: int, base_amount: int, price: int, nonce: int
    ) -> SignedTx: ...

    def sign_cancel(self, market_index: int, order_index: int, nonce: int) -> SignedTx: ...

    def sign_cancel_all(
        self, time_in_force: int, time_ms: int, nonce: int, market_index: int = ALL_MARKETS
    ) -> SignedTx: ...

    def create_auth_token(self, deadline_s: int) -> str: ...


class ClientOrderIds:
    """Deterministic client order indexes from event time: (ms << 8) | counter, < 2^48.

    Strictly increasing within a run; unique across runs started at different milliseconds
    because the millisecond is part of the id (wraps after ~34 years).
    """

    def __init__(self) -> None:
        self._last = 0

    def next(self, now_ns: int) -> int:
        """The next id for an order decided at event time `now_ns`."""
        base = ((now_ns // 1_000_000) % 2**40) << 8
        candidate = max(base, self._last + 1)
        if candidate > MAX_CLIENT_ORDER_INDEX:
            candidate = 1  # wrapped: restart the sequence (ids of 2^48 ms ago are long dead)
        self._last = candidate
        return candidate


def is_loopback_url(url: str) -> bool:
    """True for http(s)/ws(s) URLs whose host is 127.0.0.0/8, ::1 or localhost."""
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class UnsignedTestSigner:
    """Same tx_info fields as the real signer, placeholder `Sig`: for loopback fake venues only."""

    def __init__(
        self,
        url: str,
        account_index: int,
        api_key_index: int,
        *,
        now_ms: Callable[[], int] | None = None,
    ) -> None:
        if not is_loopback_url(url):
            raise ValueError(f"UnsignedTestSigner only talks to loopback URLs, not {url!r}")
        self.account_index = account_index
        self.api_key_index = api_key_index
        self._now_ms = now_ms or (lambda: time.time_ns() // 1_000_000)

    def sign_create_order(self, order: CreateOrderRequest, nonce: int) -> SignedTx:
        _check_order(order)
        expiry = order.order_expiry
        if expiry == DEFAULT_ORDER_EXPIRY:
            expiry = self._now_ms() + ORDER_EXPIRY_28_DAYS_MS
        fields = {
            "MarketIndex": order.market_index,
            "ClientOrderIndex": order.client_order_index,
            "BaseAmount": order.base_amount,
            "Price": order.price,
            "IsAsk": int(order.is_ask),
            "Type": order.order_type,
            "TimeInForce": order.time_in_force,
            "ReduceOnly": int(order.reduce_only),
            "TriggerPrice": 0,
            "OrderExpiry": expiry,
        }
        return SignedTx(TX_CREATE_ORDER, self._info(fields, nonce))

    def sign_modify(
        self, market_index: int, order_index: int, base_amount: int, price: int, nonce: int
    ) -> SignedTx:
        fields = {
            "MarketIndex": market_index,
            "Index": order_index,
            "BaseAmount": base_amount,
            "Price": price,
            "TriggerPrice": 0,
        }
        return SignedTx(TX_MODIFY_ORDER, self._info(fields, nonce))

    def sign_cancel(self, market_index: int, order_index: int, nonce: int) -> SignedTx:
        fields = {"MarketIndex": market_index, "Index": order_index}
        return SignedTx(TX_CANCEL_ORDER, self._info(fields, nonce))

    def sign_cancel_all(
        self, time_in_force: int, time_ms: int, nonce: int, market_index: int = ALL_MARKETS
    ) -> SignedTx:
        fields = {"TimeInForce": time_in_force, "Time": time_ms}
        if market_index == ALL_MARKETS:
            return SignedTx(TX_CANCEL_ALL, self._info(fields, nonce))
        if time_in_force != CANCEL_ALL_IMMEDIATE:
            raise SigningError("Cancel all for market index can't be scheduled")
        attributes = {L2_ATTRIBUTE_CANCEL_ALL_MARKET: market_index}
        return SignedTx(TX_CANCEL_ALL, self._info(fields, nonce, attributes))

    def create_auth_token(self, deadline_s: int) -> str:
        expiry_s = self._now_ms() // 1000 + deadline_s
        return f"{expiry_s}:{self.account_index}:{self.api_key_index}:{'0' * 160}"

    def _info(
        self, fields: dict[str, Any], nonce: int, attributes: dict[str, int] | None = None
    ) -> str:
        body = {"AccountIndex": self.account_index, "ApiKeyIndex": self.api_key_index, **fields}
        body.update(
            {
                "ExpiredAt": self._now_ms() + TX_EXPIRY_MS,
                "Nonce": nonce,
                "Sig": UNSIGNED_SIG,
                "L2TxAttributes": attributes,
            }
        )
        return json.dumps(body, separators=(",", ":"))


class LighterSdkSigner:
    """lighter-sdk's native signer (Go, via ctypes). Construct inside a running event loop."""

    def __init__(
        self,
        url: str,
        account_index: int,
        api_key_index: int,
        private_key: str,
        chain_id: int,
    ) -> None:
        try:
            from lighter.signer_client import SignerClient  # optional extra: solbot[lighter]
        except ImportError as exc:
            raise LighterError(
                "lighter-sdk is not installed; install it with: pip install 'solbot[lighter]'"
            ) from exc
        self.account_index = account_index
        self.api_key_index = api_key_index
        # The SDK builds an aiohttp session, hence the running-loop requirement; we only sign.
        self._client: Any = SignerClient(
            url=url,
            account_index=account_index,
            api_private_keys={api_key_index: private_key},
            chain_id=chain_id,
        )

    def check_client(self) -> str | None:
        """Compare our key with the registered one (blocking HTTP: use asyncio.to_thread)."""
        result: str | None = self._client.check_client()
        return result

    async def verify(self) -> None:
        """Raise SignatureError unless the venue has our public key in this slot (21120 early)."""
        problem = await asyncio.to_thread(self.check_client)  # blocking HTTP inside the SDK
        if problem:
            raise SignatureError(f"API key {self.api_key_index} does not match: {problem}")

    async def close(self) -> None:
        """Close the SDK's HTTP session."""
        await self._client.close()

    def sign_create_order(self, order: CreateOrderRequest, nonce: int) -> SignedTx:
        _check_order(order)
        return self._unpack(
            self._client.sign_create_order(
                order.market_index,
                order.client_order_index,
                order.base_amount,
                order.price,
                order.is_ask,
                order.order_type,
                order.time_in_force,
                order.reduce_only,
                0,
                order.order_expiry,
                nonce=nonce,
                api_key_index=self.api_key_index,
            )
        )

    def sign_modify(
        self, market_index: int, order_index: int, base_amount: int, price: int, nonce: int
    ) -> SignedTx:
        return self._unpack(
            self._client.sign_modify_order(
                market_index, order_index, base_amount, price, 0,
                nonce=nonce, api_key_index=self.api_key_index,
            )
        )  # fmt: skip

    def sign_cancel(self, market_index: int, order_index: int, nonce: int) -> SignedTx:
        return self._unpack(
            self._client.sign_cancel_order(
                market_index, order_index, nonce=nonce, api_key_index=self.api_key_index
            )
        )

    def sign_cancel_all(
        self, time_in_force: int, time_ms: int, nonce: int, market_index: int = ALL_MARKETS
    ) -> SignedTx:
        return self._unpack(
            self._client.sign_cancel_all_orders(
                time_in_force,
                time_ms,
                market_index,
                nonce=nonce,
                api_key_index=self.api_key_index,
            )
        )

    def create_auth_token(self, deadline_s: int) -> str:
        token, error = self._client.create_auth_token_with_expiry(
            deadline_s, api_key_index=self.api_key_index
        )
        if error or not token:
            raise SigningError(f"auth token: {error}")
        return str(token)

    @staticmethod
    def _unpack(result: tuple[Any, Any, Any, Any]) -> SignedTx:
        tx_type, tx_info, _tx_hash, error = result
        if error is not None:
            raise SigningError(f"signer refused the transaction: {error}")
        return SignedTx(int(tx_type), str(tx_info))


def _check_order(order: CreateOrderRequest) -> None:
    if not 1 <= order.client_order_index <= MAX_CLIENT_ORDER_INDEX:
        raise SigningError(f"client_order_index {order.client_order_index} outside 1..2^48-1")
    if not 1 <= order.price <= 2**32 - 1:
        raise SigningError(f"price {order.price} outside 1..2^32-1 ticks")
    if not 1 <= order.base_amount <= 2**48 - 1:
        raise SigningError(f"base_amount {order.base_amount} outside 1..2^48-1 lots")
    ioc = order.time_in_force == TIF_IMMEDIATE_OR_CANCEL
    if ioc != (order.order_expiry == IOC_ORDER_EXPIRY):
        raise SigningError("IOC orders need order_expiry 0; resting orders need a later expiry")
