"""The budgeted sender: queue → nonce → sign → sendTx/sendTxBatch → outcome.

Signing happens here, never in the decision path. Every command ends in exactly one of: sent,
re-queued (transient), or reported back as an OrderUpdate (dropped or rejected).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable, Sequence
from typing import Any

from solbot.adapters.venues.lighter.backoff import BackoffPolicy
from solbot.adapters.venues.lighter.budget import (
    AbortScheduledCancelAll,
    CommandQueue,
    Dropped,
    Pending,
    Priority,
    QueuedCommand,
    ScheduleCancelAll,
)
from solbot.adapters.venues.lighter.errors import (
    ORDER_INACTIVE_CODES,
    LighterError,
    NonceError,
    QuantizationError,
    RateLimited,
    SignatureError,
    TransportError,
)
from solbot.adapters.venues.lighter.events import LighterEvent
from solbot.adapters.venues.lighter.nonce import NonceManager
from solbot.adapters.venues.lighter.orders import OrderTable
from solbot.adapters.venues.lighter.rest import LighterRest
from solbot.adapters.venues.lighter.signer import (
    CANCEL_ALL_ABORT,
    CANCEL_ALL_IMMEDIATE,
    CANCEL_ALL_SCHEDULED,
    DEFAULT_ORDER_EXPIRY,
    IOC_ORDER_EXPIRY,
    MAX_CLIENT_ORDER_INDEX,
    TIF_GOOD_TILL_TIME,
    TIF_IMMEDIATE_OR_CANCEL,
    TIF_POST_ONLY,
    CreateOrderRequest,
    SignedTx,
    Signer,
    SigningError,
)
from solbot.core.model import (
    CancelAll,
    CancelOrder,
    Command,
    MarketSpec,
    ModifyOrder,
    OrderStatus,
    OrderTag,
    OrderUpdate,
    PlaceOrder,
)

INACTIVE = ORDER_INACTIVE_CODES  # the venue says the order no longer rests
log = logging.getLogger(__name__)

Emit = Callable[[LighterEvent], None]
HEDGE_TAGS = frozenset({OrderTag.HEDGE_PASSIVE, OrderTag.HEDGE_CROSS, OrderTag.FLATTEN})


class TxSender:
    """Owns the command queue and the one path by which txs reach the venue."""

    def __init__(
        self,
        spec: MarketSpec,
        rest: LighterRest,
        signer: Signer,
        nonces: NonceManager,
        orders: OrderTable,
        emit: Emit,
        *,
        quote_max_age_s: float = 2.0,
        batch_max: int = 50,
        max_attempts: int = 3,
        resting_order_lifetime_ms: int | None = None,
        retry: BackoffPolicy | None = None,
        shutdown_wait_s: float = 5.0,
        rng: random.Random | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        wall_ns: Callable[[], int] = time.time_ns,
    ) -> None:
        self.spec = spec
        self.rest = rest
        self.signer = signer
        self.nonces = nonces
        self.orders = orders
        self.emit = emit
        self.queue = CommandQueue(quote_max_age_s)
        self.batch_max = batch_max
        self.max_attempts = max_attempts
        self.resting_order_lifetime_ms = resting_order_lifetime_ms  # None: the SDK's 28 days
        self._monotonic = monotonic
        self._wall_ns = wall_ns
        self._wake = asyncio.Event()
        self._stopping = False
        self._isolate = 0  # after an ambiguous batch error, send this many txs one by one
        self.retry = retry or BackoffPolicy()
        self.shutdown_wait_s = shutdown_wait_s
        self._rng = rng or random.Random(0)
        self._failures = 0  # consecutive requests that failed in transit or were refused 429
        self.retry_not_before_s = -1.0
        self.counters = {
            "tx_sent": 0,
            "tx_rejected": 0,
            "requests_sent": 0,
            "dropped": 0,
            "nonce_resyncs": 0,
            "rate_limited": 0,
            "transport_errors": 0,
        }
        self.last_error = ""
        self.signature_failed = False

    # --- intake (synchronous; called from the decision path) -------------------------------

    def submit(self, commands: Sequence[Command], now_ns: int) -> None:
        """Validate and queue commands; rejects and coalesced drops come back as OrderUpdates."""
        now_s = self._monotonic()
        for command in commands:
            if isinstance(command, PlaceOrder):
                problem = self._invalid_place(command)
                if problem:
                    log.error("lighter: order %d rejected locally: %s", command.client_id, problem)
                    self._report(command.client_id, OrderStatus.REJECTED, 0, problem, now_ns)
                    continue
                self.orders.on_place(command)
            elif isinstance(command, ModifyOrder) and command.client_id not in self.orders:
                self._report(command.client_id, OrderStatus.CANCELED, 0, "modify_unknown", now_ns)
                continue
            self._push(command, self._priority_of(command), now_s)
        self._wake.set()

    def schedule_cancel_all(self, time_ms: int) -> None:
        """Queue the dead-man switch: everything is cancelled at `time_ms` unless refreshed."""
        self._push(ScheduleCancelAll(time_ms), Priority.CANCEL_ALL, self._monotonic())
        self._wake.set()

    def abort_scheduled_cancel_all(self) -> None:
        """Queue the removal of the dead-man switch's schedule (clean stop)."""
        self._push(AbortScheduledCancelAll(), Priority.CANCEL_ALL, self._monotonic())
        self._wake.set()

    def _push(self, command: QueuedCommand, priority: Priority, now_s: float) -> None:
        self._report_dropped(self.queue.push(command, priority, now_s))

    def _priority_of(self, command: Command) -> Priority:
        if isinstance(command, CancelAll):
            return Priority.CANCEL_ALL
        if isinstance(command, CancelOrder):
            return Priority.CANCEL
        if isinstance(command, PlaceOrder):
            tag: OrderTag | None = command.tag
        else:
            tag = self.orders.tag_of(command.client_id)
        return Priority.HEDGE if tag in HEDGE_TAGS else Priority.QUOTE

    def _invalid_place(self, command: PlaceOrder) -> str:
        if not 1 <= command.client_id <= MAX_CLIENT_ORDER_INDEX:
            return f"client_id {command.client_id} outside 1..2^48-1"
        if command.price <= 0 or command.price > 2**32 - 1:
            return f"price {command.price} ticks out of range"
        minimum = self.spec.min_lots_at(command.price)
        if command.size < minimum:
            return f"below_minimum: size {command.size} lots < {minimum} lots at {command.price}"
        return ""

    # --- the loop --------------------------------------------------------------------------

    async def run(self) -> None:
        """Send whenever there is work and budget, until `stop()` (never mid-request)."""
        while not self._stopping:
            sent = await self.flush()
            if sent:
                continue
            timeout = self._idle_wait_s()
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout)

    def stop(self) -> None:
        """Ask `run()` to return after the request in flight, if any."""
        self._stopping = True
        self._wake.set()

    def _idle_wait_s(self) -> float:
        head = self.queue.head_priority()
        if head is None:
            return 1.0
        now_s = self._monotonic()
        wait = max(self.rest.budget.wait_s(head, now_s), self.retry_not_before_s - now_s)
        return min(1.0, max(0.01, wait))

    def wait_s(self) -> float:
        """Seconds until the head of the queue may go (budget, cooldown and retry backoff)."""
        head = self.queue.head_priority()
        if head is None:
            return 0.0
        now_s = self._monotonic()
        return max(0.0, self.rest.budget.wait_s(head, now_s), self.retry_not_before_s - now_s)

    @property
    def consecutive_failures(self) -> int:
        """Requests in a row that failed in transit or were refused with a 429."""
        return self._failures

    def _note_outcome(self, failed: bool) -> None:
        """Back off after a failure (exponential, jittered, capped; never before the cooldown)."""
        if not failed:
            self._failures = 0
            self.retry_not_before_s = -1.0
            return
        now_s = self._monotonic()
        cooldown_s = self.rest.budget.cooldown_left_s(now_s)
        self.retry_not_before_s = now_s + self.retry.delay_s(self._failures, self._rng, cooldown_s)
        self._failures += 1

    async def flush(self, *, force: bool = False) -> bool:
        """Send one batch if the budget allows; True when a request went out.

        `force` (shutdown) spends the reserve the budget keeps for the shutdown cancel-all and
        waits up to `shutdown_wait_s` for it; it never goes past the budget.
        """
        budget = self.rest.budget
        now_s = self._monotonic()
        self._report_dropped(self.queue.drop_stale_quotes(now_s))
        head = self.queue.head_priority()
        if head is None:
            return False
        if not force and now_s < self.retry_not_before_s:
            return False
        if not force and not budget.can_spend(head, now_s):
            if head is Priority.QUOTE:  # only quotes wait: drop those that would go stale
                self._report_dropped(
                    self.queue.drop_stale_quotes(now_s, budget.wait_s(head, now_s))
                )
            return False
        size = 1 if self._isolate > 0 else self.batch_max
        batch = self.queue.take_batch(size)
        self._isolate = max(0, self._isolate - 1)
        await self._send(batch, force=force)
        return True

    # --- one request -----------------------------------------------------------------------

    async def _send(self, batch: list[Pending], *, force: bool) -> None:
        key = self.signer.api_key_index
        async with self.nonces.lock(key):
            for attempt in range(2):
                try:
                    first = await self.nonces.reserve(key, len(batch))
                except LighterError as exc:
                    self._note_error(exc)
                    self._requeue(batch, count_attempt=isinstance(exc, TransportError))
                    return
                # The native signer takes ~3 ms per tx: keep it off the event loop.
                signed, items, refused = await asyncio.to_thread(self._sign_all, batch, first)
                self.nonces.rollback(key, first + len(signed))  # unused after local refusals
                for pending, error in refused:
                    self._fail([pending], error)
                if not signed:
                    return
                try:
                    await self._post(signed, items, force=force)
                except NonceError as exc:
                    self.nonces.rollback(key, first)
                    self.counters["nonce_resyncs"] += 1
                    await self._refresh_nonce(key, exc)
                    if attempt == 0:
                        batch = items
                        continue  # re-sign with the fresh nonce, once
                    self._fail(items, exc)
                except TransportError as exc:
                    self._note_outcome(failed=True)
                    self._on_unknown_outcome(items, exc)
                except LighterError as exc:
                    self.nonces.rollback(key, first)
                    self._note_outcome(failed=isinstance(exc, RateLimited))
                    self._on_rejected(items, exc)
                else:
                    self._note_outcome(failed=False)
                    self._on_accepted(items)
                return

    async def _refresh_nonce(self, key: int, cause: LighterError) -> None:
        self._note_error(cause)
        try:
            await self.nonces.refresh(key)
        except LighterError as exc:
            self._note_error(exc)
            self.nonces.mark_stale(key)

    def _sign_all(
        self, batch: list[Pending], first: int
    ) -> tuple[list[SignedTx], list[Pending], list[tuple[Pending, SigningError]]]:
        """Sign in a worker thread: touches no event-loop state."""
        signed: list[SignedTx] = []
        items: list[Pending] = []
        refused: list[tuple[Pending, SigningError]] = []
        for pending in batch:
            try:
                signed.append(self._sign(pending.command, first + len(signed)))
            except SigningError as exc:
                refused.append((pending, exc))
                continue
            items.append(pending)
        return signed, items, refused

    def _sign(self, command: QueuedCommand, nonce: int) -> SignedTx:
        market = self.spec.market_id
        if isinstance(command, PlaceOrder):
            return self.signer.sign_create_order(self._order_request(command), nonce)
        if isinstance(command, ModifyOrder):
            index = self.orders.index_for(command.client_id)
            return self.signer.sign_modify(market, index, command.size, command.price, nonce)
        if isinstance(command, CancelOrder):
            index = self.orders.index_for(command.client_id)
            return self.signer.sign_cancel(market, index, nonce)
        if isinstance(
            command, CancelAll
        ):  # our market only: other strategies may share the account
            return self.signer.sign_cancel_all(CANCEL_ALL_IMMEDIATE, 0, nonce, market)
        # The venue runs scheduled cancel-alls (and their abort) for the whole account only.
        if isinstance(command, AbortScheduledCancelAll):
            return self.signer.sign_cancel_all(CANCEL_ALL_ABORT, 0, nonce)
        return self.signer.sign_cancel_all(CANCEL_ALL_SCHEDULED, command.time_ms, nonce)

    def _order_request(self, command: PlaceOrder) -> CreateOrderRequest:
        if command.immediate_or_cancel:
            tif, expiry = TIF_IMMEDIATE_OR_CANCEL, IOC_ORDER_EXPIRY
        else:
            tif = TIF_POST_ONLY if command.post_only else TIF_GOOD_TILL_TIME
            lifetime_ms = self.resting_order_lifetime_ms
            if lifetime_ms is None:
                expiry = DEFAULT_ORDER_EXPIRY
            else:  # the order dies by itself unless solbot, alive, places it again
                expiry = self._wall_ns() // 1_000_000 + lifetime_ms
        return CreateOrderRequest(
            market_index=self.spec.market_id,
            client_order_index=command.client_id,
            base_amount=command.size,
            price=command.price,
            is_ask=command.side.value < 0,
            time_in_force=tif,
            reduce_only=command.reduce_only,
            order_expiry=expiry,
        )

    async def _post(self, signed: list[SignedTx], items: list[Pending], *, force: bool) -> None:
        priority = min(p.priority for p in items)
        wait_s = None
        if force:  # shutdown: the reserve kept for it, and no long wait
            priority, wait_s = Priority.SHUTDOWN, self.shutdown_wait_s
        self.counters["requests_sent"] += 1
        if len(signed) == 1:
            body: dict[str, Any] = await self.rest.send_tx(
                *signed[0], priority=priority, max_wait_s=wait_s
            )
        else:
            types = [tx.tx_type for tx in signed]
            infos = [tx.tx_info for tx in signed]
            body = await self.rest.send_tx_batch(types, infos, priority=priority, max_wait_s=wait_s)
        log.debug("lighter: sent %d tx(s): %s", len(signed), body)

    # --- outcomes --------------------------------------------------------------------------

    def _on_accepted(self, items: list[Pending]) -> None:
        self.counters["tx_sent"] += len(items)
        placed_now = {p.command.client_id for p in items if isinstance(p.command, PlaceOrder)}
        for pending in items:
            command = pending.command
            if isinstance(command, ModifyOrder):
                self.orders.on_modified(command)
            elif isinstance(command, CancelAll):
                # Atomic at the sequencer: everything live before this batch is gone.
                for client_id in self.orders.live_ids():
                    if client_id not in placed_now:
                        self._report(client_id, OrderStatus.CANCELED, 0, "cancel_all")

    def _on_rejected(self, items: list[Pending], exc: LighterError) -> None:
        self._note_error(exc)
        if isinstance(exc, RateLimited):
            self.counters["rate_limited"] += 1
            self._requeue(items, count_attempt=False)
            return
        if len(items) > 1:
            # Which tx the venue objected to is unknown: retry them one by one.
            self._isolate = len(items)
            self._requeue(items, count_attempt=True)
            return
        if isinstance(exc, SignatureError):
            self.signature_failed = True
        if isinstance(exc, QuantizationError):
            log.error("lighter: QUANTIZATION error, order dropped (never retried): %s", exc)
        self._fail(items, exc)

    def _on_unknown_outcome(self, items: list[Pending], exc: TransportError) -> None:
        self._note_error(exc)
        self.counters["transport_errors"] += 1
        self.nonces.mark_stale(self.signer.api_key_index)
        retry: list[Pending] = []
        for pending in items:
            command = pending.command
            if isinstance(command, PlaceOrder):
                # It may rest on the book: cancel by client id; a "not active" answer settles it.
                self._push(CancelOrder(command.client_id), Priority.CANCEL, self._monotonic())
            else:
                retry.append(pending)
        self._requeue(retry, count_attempt=True)

    def _fail(self, items: list[Pending], exc: LighterError) -> None:
        """Final outcome for commands the venue refused."""
        reason = f"{exc.code}: {exc}" if exc.code is not None else str(exc)
        for pending in items:
            command = pending.command
            self.counters["tx_rejected"] += 1
            if isinstance(command, PlaceOrder):
                self._report(command.client_id, OrderStatus.REJECTED, 0, reason)
            elif (
                isinstance(command, ModifyOrder | CancelOrder) and exc.code in ORDER_INACTIVE_CODES
            ):
                # the order no longer rests (filled or cancelled): final, or the manager would
                # re-send the modify forever; a fill arrives by trade id on the account stream
                self._report(command.client_id, OrderStatus.CANCELED, 0, "inactive")
            elif isinstance(command, ModifyOrder):
                self._report_refused(command.client_id, reason)  # still at its old terms
            elif pending.attempts + 1 < self.max_attempts and not isinstance(exc, SigningError):
                self._requeue([pending], count_attempt=True)
            else:
                log.error("lighter: giving up on %s after %s", command, reason)
                if isinstance(command, CancelOrder):
                    self._report_refused(command.client_id, reason)

    def _requeue(self, items: list[Pending], *, count_attempt: bool) -> None:
        kept: list[Pending] = []
        for pending in items:
            if count_attempt:
                pending.attempts += 1
            if pending.attempts < self.max_attempts:
                kept.append(pending)
                continue
            command = pending.command
            self.last_error = f"gave up after {pending.attempts} attempts: {command}"
            log.error("lighter: %s", self.last_error)
            if isinstance(command, PlaceOrder):
                self._report(command.client_id, OrderStatus.REJECTED, 0, "send_failed")
            elif isinstance(command, ModifyOrder | CancelOrder):
                # The order stands at its last known terms; the caller decides again (a cancel
                # given up on is also covered by the dead-man switch while one is armed).
                self._report_refused(command.client_id, "send_failed")
        self.queue.push_front(kept)
        self._wake.set()

    def _report_dropped(self, dropped: list[Dropped]) -> None:
        for drop in dropped:
            command = drop.pending.command
            if not isinstance(command, PlaceOrder | ModifyOrder):
                continue
            self.counters["dropped"] += 1
            if isinstance(command, PlaceOrder):
                canceled = drop.reason.startswith("canceled")
                status = OrderStatus.CANCELED if canceled else OrderStatus.REJECTED
                self._report(command.client_id, status, 0, drop.reason)
            else:
                self._report_refused(command.client_id, drop.reason)

    def _report_refused(self, client_id: int, reason: str) -> None:
        """A modify or cancel that did not reach the venue: the order keeps its known terms."""
        order = self.orders.get(client_id)
        if order is not None:
            self._report(
                client_id, order.status, order.remaining, reason, price=order.price, refused=True
            )

    def _report(
        self,
        client_id: int,
        status: OrderStatus,
        remaining: int,
        reason: str,
        ts_ns: int | None = None,
        *,
        price: int | None = None,
        refused: bool = False,
    ) -> None:
        ts = self._wall_ns() if ts_ns is None else ts_ns
        update = OrderUpdate(ts, client_id, status, remaining, reason, price, refused)
        self.orders.on_update(update)
        self.emit(update)

    def _note_error(self, exc: LighterError) -> None:
        self.last_error = f"{type(exc).__name__}: {exc}"
        log.warning("lighter: %s", self.last_error)
