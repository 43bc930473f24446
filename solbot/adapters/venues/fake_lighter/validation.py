"""API-layer checks of signed txs against the account's state; a refused tx keeps its nonce."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from solbot.adapters.venues.fake_lighter import wire
from solbot.adapters.venues.fake_lighter.account import AccountLedger, FakeOrder, OrderIds
from solbot.adapters.venues.fake_lighter.other_markets import OtherMarkets
from solbot.adapters.venues.fake_lighter.settings import FakeVenueConfig, FaultSettings
from solbot.adapters.venues.fake_lighter.txs import (
    ALL_MARKETS,
    CANCEL_ALL_ABORT,
    CANCEL_ALL_IMMEDIATE,
    MIN_ORDER_INDEX,
    TIF_IOC,
    CancelAllTx,
    CancelOrderTx,
    CreateOrderTx,
    ModifyOrderTx,
    Tx,
    TxHeader,
    TxRejected,
    parse_batch,
    parse_tx,
)
from solbot.core.model import MarketSpec

MS_NS = 1_000_000
DAY_MS = 86_400_000
MIN_ORDER_EXPIRY_MS = 5 * 60_000  # GTT/post-only expiry at least 5 min ahead (lighter-go)
MAX_ORDER_EXPIRY_MS = 30 * DAY_MS
DEFAULT_ORDER_EXPIRY_MS = 28 * DAY_MS  # OrderExpiry -1 means "28 days" in the SDK
MAX_SCHEDULED_CANCEL_MS = 15 * DAY_MS
# A client that computes now+5 min loses a few ms before the venue reads it: allow for that.
EXPIRY_GRACE_MS = 5_000


@dataclass
class BatchContext:
    """What earlier txs of the same request did, so later ones validate against it."""

    created: dict[int, FakeOrder] = field(default_factory=dict)  # by order index
    created_by_client: dict[int, int] = field(default_factory=dict)
    canceled: set[int] = field(default_factory=set)
    cancel_all: bool = False


@dataclass(frozen=True, slots=True)
class PlaceAction:
    order: FakeOrder
    other_market: int | None = None  # None: the traded market


@dataclass(frozen=True, slots=True)
class CancelAction:
    order_index: int
    other_market: int | None = None


@dataclass(frozen=True, slots=True)
class ModifyAction:
    order_index: int
    price: int
    size: int
    other_market: int | None = None


@dataclass(frozen=True, slots=True)
class CancelAllAction:
    time_in_force: int
    time_ms: int
    market_index: int = ALL_MARKETS


Action = PlaceAction | CancelAction | ModifyAction | CancelAllAction


@dataclass(frozen=True, slots=True)
class Accepted:
    """Validated txs ready to execute; `next_nonce` is the key's nonce after them."""

    api_key_index: int
    next_nonce: int
    actions: list[Action]
    hashes: list[str]


class TxValidator:
    """Everything the API server checks before a tx reaches the engine."""

    def __init__(
        self,
        config: FakeVenueConfig,
        market: MarketSpec,
        ledger: AccountLedger,
        nonces: dict[int, int],
        faults: FaultSettings,
        other: OtherMarkets | None = None,
    ) -> None:
        self.config = config
        self.market = market
        self.ledger = ledger
        self.nonces = nonces
        self.faults = faults
        self.other = other or OtherMarkets((), config.account_index)
        self.order_ids = OrderIds()

    def next_nonce(self, api_key_index: int) -> int:
        return self.nonces.get(api_key_index, self.config.initial_nonce)

    def single(self, tx_type: int, tx_info: Any, now_ns: int) -> Accepted:
        """Validate one `sendTx`."""
        tx = parse_tx(tx_type, tx_info)
        self._check_header(tx.header)
        action = self._validate(tx, now_ns, BatchContext())
        return Accepted(tx.header.api_key_index, tx.header.nonce + 1, [action], [_hash(tx)])

    def batch(self, tx_types: Any, tx_infos: Any, now_ns: int) -> Accepted:
        """Validate a `sendTxBatch`: in order, all or nothing."""
        pairs = parse_batch(tx_types, tx_infos)
        txs: list[Tx] = []
        for position, (tx_type, info) in enumerate(pairs):
            with _numbered(position):
                txs.append(parse_tx(tx_type, info))
        first = txs[0].header
        self._check_header(first)
        context = BatchContext()
        actions: list[Action] = []
        for position, tx in enumerate(txs):
            header = tx.header
            if (header.account_index, header.api_key_index) != (
                first.account_index,
                first.api_key_index,
            ):
                raise TxRejected(
                    21121, "all transactions in the batch must use the same account and api key"
                )
            if header.nonce != first.nonce + position:
                raise TxRejected(
                    21105,
                    f"tx {position}: batch nonces must increase by 1: expected "
                    f"{first.nonce + position}, found {header.nonce}",
                )
            with _numbered(position):
                actions.append(self._validate(tx, now_ns, context))
        return Accepted(
            first.api_key_index, txs[-1].header.nonce + 1, actions, [_hash(tx) for tx in txs]
        )

    def _check_header(self, header: TxHeader) -> None:
        if header.account_index != self.config.account_index:
            raise TxRejected(
                21102,
                f"invalid account index {header.account_index}: this fake serves account "
                f"{self.config.account_index}",
            )
        keys = self.config.api_keys
        if keys and header.api_key_index not in keys:
            raise TxRejected(21109, f"api key not found: index {header.api_key_index}")
        if self.faults.nonce_error_once:
            self.faults.nonce_error_once = False
            raise TxRejected(21104, "invalid nonce (injected by nonce_error_once)")
        expected = self.next_nonce(header.api_key_index)
        if header.nonce != expected:
            raise TxRejected(21104, f"invalid nonce: expected {expected}, found {header.nonce}")

    def _validate(self, tx: Tx, now_ns: int, context: BatchContext) -> Action:
        now_ms = now_ns // MS_NS
        expired_at = tx.header.expired_at_ms
        if expired_at and expired_at < now_ms:
            raise TxRejected(21000, f"invalid expired time: ExpiredAt {expired_at} < now {now_ms}")
        if isinstance(tx, CancelAllTx):
            return self._cancel_all(tx, now_ms, context)
        if tx.market_index in self.other.markets:
            return self._other_market(tx, now_ns)
        if isinstance(tx, CreateOrderTx):
            return self._create(tx, now_ns, context)
        if isinstance(tx, CancelOrderTx):
            self._check_market(tx.market_index)
            order = self._resolve(tx.index, context)
            context.canceled.add(order.order_index)
            return CancelAction(order.order_index)
        self._check_market(tx.market_index)
        order = self._resolve(tx.index, context)
        size = tx.base_amount or order.remaining  # BaseAmount 0 keeps the size
        self._check_amounts(tx.price, size)
        return ModifyAction(order.order_index, tx.price, size)

    def _other_market(
        self, tx: CreateOrderTx | CancelOrderTx | ModifyOrderTx, now_ns: int
    ) -> Action:
        """Orders on the account's other markets: they rest, nothing matches them."""
        market_id = tx.market_index
        market = self.other.markets[market_id]
        if isinstance(tx, CreateOrderTx):
            self._check_amounts(tx.price, tx.base_amount, market)
            if tx.client_order_index and self.other.find(market_id, tx.client_order_index):
                raise TxRejected(
                    21728, f"client order index already exists: {tx.client_order_index}"
                )
            order = self._new_order(tx, self._order_expiry(tx, now_ns // MS_NS), now_ns)
            return PlaceAction(order, market_id)
        found = self.other.find(market_id, tx.index)
        if found is None:
            raise TxRejected(21600, f"given order is not an active limit order: index {tx.index}")
        if isinstance(tx, CancelOrderTx):
            return CancelAction(found.order_index, market_id)
        size = tx.base_amount or found.remaining
        self._check_amounts(tx.price, size, market)
        return ModifyAction(found.order_index, tx.price, size, market_id)

    def _check_market(self, market_index: int) -> None:
        if market_index != self.market.market_id:
            raise TxRejected(
                21602,
                f"invalid market index {market_index}: the fake serves {self.market.symbol} "
                f"= {self.market.market_id}",
            )

    def _check_amounts(self, price: int, lots: int, market: MarketSpec | None = None) -> None:
        market = market or self.market
        min_lots = market.size_to_lots(market.min_base_amount)
        notional = wire.quote_units(price, lots, market)
        if lots < min_lots or notional < market.min_quote_amount:
            raise TxRejected(
                21706,
                f"invalid order base or quote amount: {lots} lots at {price} ticks = "
                f"${notional:.6f}; minimum {min_lots} lots and ${market.min_quote_amount:.2f}",
            )

    def _order_expiry(self, tx: CreateOrderTx, now_ms: int) -> int:
        expiry = tx.order_expiry_ms
        if tx.time_in_force == TIF_IOC:
            if expiry != 0:
                raise TxRejected(21711, "invalid expiry: immediate-or-cancel takes OrderExpiry 0")
            return 0
        if expiry == -1:
            return now_ms + DEFAULT_ORDER_EXPIRY_MS
        if expiry < now_ms + MIN_ORDER_EXPIRY_MS - EXPIRY_GRACE_MS:
            raise TxRejected(
                21711,
                f"invalid expiry {expiry}: GTT and post-only orders need -1 or at least "
                f"now+5 min ({now_ms + MIN_ORDER_EXPIRY_MS})",
            )
        if expiry > now_ms + MAX_ORDER_EXPIRY_MS:
            raise TxRejected(21711, f"invalid expiry {expiry}: more than 30 days ahead")
        return expiry

    def _create(self, tx: CreateOrderTx, now_ns: int, context: BatchContext) -> PlaceAction:
        self._check_market(tx.market_index)
        expiry = self._order_expiry(tx, now_ns // MS_NS)
        self._check_amounts(tx.price, tx.base_amount)
        client = tx.client_order_index
        if client and self._is_live(client, context):
            raise TxRejected(21728, f"client order index already exists: {client}")
        if tx.reduce_only:
            side = -1 if tx.is_ask else 1
            position = self.ledger.position.lots
            if position == 0 or (position > 0) == (side > 0):
                raise TxRejected(21732, "reduce only increases position")
        order = self._new_order(tx, expiry, now_ns)
        context.created[order.order_index] = order
        if client:
            context.created_by_client[client] = order.order_index
        return PlaceAction(order)

    def _new_order(self, tx: CreateOrderTx, expiry: int, now_ns: int) -> FakeOrder:
        return FakeOrder(
            order_index=self.order_ids.next(),
            client_order_index=tx.client_order_index,
            api_key_index=tx.header.api_key_index,
            nonce=tx.header.nonce,
            is_ask=tx.is_ask,
            order_type=tx.order_type,
            time_in_force=tx.time_in_force,
            reduce_only=tx.reduce_only,
            price=tx.price,
            initial_base=tx.base_amount,
            remaining=tx.base_amount,
            order_expiry_ms=expiry,
            created_ns=now_ns,
            updated_ns=now_ns,
        )

    def _is_live(self, client: int, context: BatchContext) -> bool:
        """Whether an active order (or one created earlier in this batch) has this COI."""
        index = context.created_by_client.get(client, self.ledger.by_client.get(client))
        if index is None or index in context.canceled or context.cancel_all:
            return False
        order = self.ledger.orders.get(index) or context.created[index]
        return order.active

    def _resolve(self, index: int, context: BatchContext) -> FakeOrder:
        """Index >= 2^48 is a venue order index, below it a client order index."""
        orders = self.ledger.orders
        if index < MIN_ORDER_INDEX:
            found = context.created_by_client.get(index, self.ledger.by_client.get(index))
            index = found if found is not None else -1
        order = orders.get(index) or context.created.get(index)
        if order is None:
            raise TxRejected(21600, f"given order is not an active limit order: index {index}")
        if not order.active or order.order_index in context.canceled or context.cancel_all:
            raise TxRejected(21709, f"order is inactive: index {index} ({order.status})")
        return order

    def _cancel_all(self, tx: CancelAllTx, now_ms: int, context: BatchContext) -> CancelAllAction:
        if tx.time_in_force == CANCEL_ALL_IMMEDIATE:
            if tx.market_index in (ALL_MARKETS, self.market.market_id):
                context.cancel_all = True
            elif tx.market_index not in self.other.markets:
                self._check_market(tx.market_index)
        elif tx.time_in_force != CANCEL_ALL_ABORT:
            minimum = self.config.min_scheduled_cancel_ms
            earliest = now_ms + minimum - (EXPIRY_GRACE_MS if minimum else 0)
            latest = now_ms + MAX_SCHEDULED_CANCEL_MS
            if not earliest <= tx.time_ms <= latest:
                raise TxRejected(
                    21714,
                    f"invalid cancel all time {tx.time_ms}: expected {now_ms + minimum}.."
                    f"{latest} (ms)",
                )
        return CancelAllAction(tx.time_in_force, tx.time_ms, tx.market_index)


def _hash(tx: Tx) -> str:
    header = tx.header
    return wire.tx_hash(header.account_index, header.api_key_index, header.nonce, header.tx_type)


@contextmanager
def _numbered(position: int) -> Iterator[None]:
    """Prefix a refusal with the tx's position in the batch."""
    try:
        yield
    except TxRejected as rejected:
        raise TxRejected(rejected.code, f"tx {position}: {rejected.message}") from None
