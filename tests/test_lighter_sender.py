"""The budgeted sender against a scripted REST stub: batching, nonce recovery, error outcomes."""

from __future__ import annotations

import json
from typing import Any

from lighter_support import ACCOUNT, SOL

from solbot.adapters.venues.lighter.budget import Priority, RequestBudget
from solbot.adapters.venues.lighter.errors import (
    LighterError,
    NonceError,
    QuantizationError,
    RateLimited,
    TransportError,
)
from solbot.adapters.venues.lighter.nonce import NonceManager
from solbot.adapters.venues.lighter.orders import OrderTable
from solbot.adapters.venues.lighter.sender import TxSender
from solbot.adapters.venues.lighter.signer import UnsignedTestSigner
from solbot.core.model import (
    CancelAll,
    CancelOrder,
    ModifyOrder,
    OrderStatus,
    OrderTag,
    OrderUpdate,
    PlaceOrder,
    Side,
)
from solbot.core.orders import Desired, OrderManager, OrderSettings


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class ScriptedRest:
    """Answers sends from a script (None = accepted); tracks the venue's expected nonce."""

    def __init__(self, budget: RequestBudget, clock: Clock) -> None:
        self.budget = budget
        self.clock = clock
        self.requests: list[list[dict[str, Any]]] = []
        self.priorities: list[Priority] = []
        self.script: list[Exception | None] = []
        self.venue_nonce = 100
        self.nonce_fetches = 0

    async def next_nonce(self, api_key_index: int) -> int:
        self.nonce_fetches += 1
        return self.venue_nonce

    async def send_tx(
        self, tx_type: int, tx_info: str, priority: Priority, *, max_wait_s: float | None = None
    ) -> dict[str, Any]:
        return self._answer([json.loads(tx_info) | {"type": tx_type}], priority)

    async def send_tx_batch(
        self,
        tx_types: list[int],
        tx_infos: list[str],
        priority: Priority,
        *,
        max_wait_s: float | None = None,
    ) -> dict[str, Any]:
        txs = [json.loads(i) | {"type": t} for t, i in zip(tx_types, tx_infos, strict=True)]
        return self._answer(txs, priority)

    def _answer(self, txs: list[dict[str, Any]], priority: Priority) -> dict[str, Any]:
        if not self.budget.spend(priority, self.clock()):  # as LighterRest after its wait
            raise RateLimited("request budget exhausted", 429)
        self.priorities.append(priority)
        self.requests.append(txs)
        outcome = self.script.pop(0) if self.script else None
        if isinstance(outcome, RateLimited):
            self.budget.penalize(self.clock())
        if outcome is not None:
            raise outcome
        self.venue_nonce = txs[-1]["Nonce"] + 1
        return {"code": 200}


def make_sender(
    limit: int = 60, shutdown_reserve: int = 0
) -> tuple[TxSender, ScriptedRest, list[Any], Clock]:
    clock = Clock()
    budget = RequestBudget(
        limit, quote_reserve=2, query_reserve=1, shutdown_reserve=shutdown_reserve
    )
    rest = ScriptedRest(budget, clock)
    events: list[Any] = []
    sender = TxSender(
        SOL,
        rest,  # type: ignore[arg-type]
        UnsignedTestSigner("http://127.0.0.1:1", ACCOUNT, 4, now_ms=lambda: 1),
        NonceManager(rest.next_nonce),
        OrderTable(),
        events.append,
        monotonic=clock,
        wall_ns=lambda: 7,
    )
    return sender, rest, events, clock


NS = 1_000_000_000


def quote(client_id: int, side: Side = Side.BID, price: int = 150_000) -> PlaceOrder:
    return PlaceOrder(client_id, side, price, 70)


def updates(events: list[Any]) -> list[tuple[int, OrderStatus, str]]:
    return [(e.client_id, e.status, e.reason) for e in events if isinstance(e, OrderUpdate)]


async def test_one_request_carries_a_prioritised_batch_with_consecutive_nonces() -> None:
    sender, rest, events, _ = make_sender()
    sender.submit([quote(1), quote(2, Side.ASK, 150_200), CancelOrder(99)], 0)
    sender.submit([PlaceOrder(3, Side.ASK, 150_300, 70, OrderTag.HEDGE_PASSIVE)], 0)
    assert await sender.flush()
    assert len(rest.requests) == 1
    batch = rest.requests[0]
    assert [tx["type"] for tx in batch] == [15, 14, 14, 14]
    assert [tx.get("ClientOrderIndex") for tx in batch[1:]] == [3, 1, 2]  # hedge before quotes
    assert [tx["Nonce"] for tx in batch] == [100, 101, 102, 103]
    assert batch[1]["TimeInForce"] == 2 and batch[1]["IsAsk"] == 1
    assert updates(events) == [] and sender.counters["tx_sent"] == 4
    assert not await sender.flush()  # nothing left


async def test_nonce_error_resyncs_and_retries_once() -> None:
    sender, rest, events, _ = make_sender()
    rest.venue_nonce = 500  # someone else used the key
    await sender.nonces.refresh(4)
    rest.venue_nonce = 730
    rest.script = [NonceError("invalid nonce", 21104, 400)]
    sender.submit([quote(1)], 0)
    assert await sender.flush()
    assert [r[0]["Nonce"] for r in rest.requests] == [500, 730]
    assert updates(events) == [] and sender.counters["nonce_resyncs"] == 1
    assert sender.nonces.peek(4) == 731


async def test_second_nonce_error_rejects_the_order() -> None:
    sender, rest, events, _ = make_sender()
    rest.script = [NonceError("invalid nonce", 21104), NonceError("invalid nonce", 21104)]
    sender.submit([quote(1)], 0)
    await sender.flush()
    assert len(rest.requests) == 2
    assert updates(events) == [(1, OrderStatus.REJECTED, "21104: venue error 21104: invalid nonce")]


async def test_quantization_error_drops_the_order_and_never_retries() -> None:
    sender, rest, events, _ = make_sender()
    rest.script = [QuantizationError("invalid order base or quote amount", 21706, 400)]
    sender.submit([quote(1)], 0)
    await sender.flush()
    assert not await sender.flush() and len(rest.requests) == 1
    assert [(c, s) for c, s, _ in updates(events)] == [(1, OrderStatus.REJECTED)]
    assert sender.nonces.peek(4) == 100  # rejected at the HTTP layer: nonce given back


async def test_below_minimum_is_rejected_locally_without_a_request() -> None:
    sender, rest, events, _ = make_sender()
    sender.submit([PlaceOrder(1, Side.BID, 150_000, 49)], 0)  # 0.049 SOL < 0.050
    sender.submit([PlaceOrder(2, Side.BID, 100_000, 60)], 0)  # $6 < $10 notional
    assert not await sender.flush() and rest.requests == []
    assert [(c, s) for c, s, _ in updates(events)] == [
        (1, OrderStatus.REJECTED),
        (2, OrderStatus.REJECTED),
    ]


async def test_rate_limit_cools_down_keeps_cancels_and_drops_stale_quotes() -> None:
    sender, rest, events, clock = make_sender()
    rest.script = [RateLimited("too many requests", 429, 429)]
    sender.submit([quote(1), CancelOrder(50)], 0)
    await sender.flush()
    assert sender.counters["rate_limited"] == 1 and updates(events) == []
    clock.now += 30
    assert not await sender.flush()  # firewall cooldown: nothing goes
    assert updates(events) == [(1, OrderStatus.REJECTED, "budget")]  # the quote went stale
    clock.now += 31
    assert await sender.flush()
    assert [tx["type"] for tx in rest.requests[-1]] == [15]
    assert sender.nonces.peek(4) == 101


async def test_unknown_outcome_cancels_the_order_by_client_id() -> None:
    sender, rest, events, clock = make_sender()
    rest.script = [TransportError("timeout"), LighterError("order is not active", 21709, 400)]
    sender.submit([quote(1)], 0)
    await sender.flush()
    rest.venue_nonce = 101  # the place did land and consumed its nonce
    clock.now += sender.wait_s()  # the retry backs off
    assert await sender.flush()
    cancel = rest.requests[-1][0]
    assert (cancel["type"], cancel["Index"], cancel["Nonce"]) == (15, 1, 101)
    assert rest.nonce_fetches == 2  # stale after the timeout: refetched
    assert updates(events) == [(1, OrderStatus.CANCELED, "inactive")]


async def test_ambiguous_batch_error_retries_one_by_one() -> None:
    sender, rest, events, _ = make_sender()
    rest.script = [LighterError("limit price too far from mark", 21734, 400), None, None]
    rest.script.append(LighterError("limit price too far from mark", 21734, 400))
    sender.submit([quote(1), quote(2, Side.ASK, 150_100), quote(3, Side.ASK, 150_200)], 0)
    for _ in range(4):
        await sender.flush()
    assert [len(r) for r in rest.requests] == [3, 1, 1, 1]
    assert [(c, s) for c, s, _ in updates(events)] == [(3, OrderStatus.REJECTED)]


async def test_modify_uses_venue_index_and_cancel_all_reports_live_orders() -> None:
    sender, rest, events, _ = make_sender()
    sender.submit([quote(1), quote(2, Side.ASK, 150_200)], 0)
    await sender.flush()
    order = sender.orders.get(1)
    assert order is not None
    order.order_index = 281474976710999
    sender.submit([ModifyOrder(1, 150_050, 80)], 0)
    await sender.flush()
    modify = rest.requests[-1][0]
    assert (modify["type"], modify["Index"], modify["Price"], modify["BaseAmount"]) == (
        17,
        281474976710999,
        150_050,
        80,
    )
    sender.submit([CancelAll("test"), quote(3)], 0)
    await sender.flush()
    assert [tx["type"] for tx in rest.requests[-1]] == [16, 14]
    assert sorted(updates(events)) == [
        (1, OrderStatus.CANCELED, "cancel_all"),
        (2, OrderStatus.CANCELED, "cancel_all"),
    ]
    assert sender.orders.live_ids() == [3]


async def test_quotes_are_dropped_when_the_budget_is_short() -> None:
    sender, rest, events, clock = make_sender(limit=4)
    for client_id in (1, 2):
        sender.submit([quote(client_id, price=150_000 + client_id)], 0)
        assert await sender.flush()
    assert sender.rest.budget.remaining(clock()) == 2  # = the quote reserve
    sender.submit([quote(3)], 0)
    assert not await sender.flush()  # a slot frees in 60 s; the quote would be stale by then
    assert [(c, r) for c, _, r in updates(events)] == [(3, "budget")]
    sender.submit([CancelOrder(2)], 0)
    assert await sender.flush()  # cancels may use the reserve
    assert len(rest.requests) == 3


async def test_repeated_transport_failures_give_up_after_max_attempts() -> None:
    sender, rest, events, clock = make_sender()
    sender.submit([quote(6)], 0)
    await sender.flush()
    rest.script = [TransportError("timeout")] * 3
    sender.submit([ModifyOrder(6, 150_010, 70)], 0)
    for _ in range(4):
        clock.now += sender.wait_s()
        await sender.flush()
    assert len(rest.requests) == 4 and len(sender.queue) == 0
    assert "gave up after 3 attempts" in sender.last_error
    assert updates(events) == [(6, OrderStatus.PENDING, "send_failed")]  # still at old terms


async def test_a_modify_the_send_budget_drops_is_sent_again_by_the_next_plan() -> None:
    """Seen live: meant 149.790, the modify was dropped, the quote rested at 149.864 and filled."""
    sender, _rest, events, clock = make_sender(limit=4)
    manager = OrderManager(OrderSettings(0.1, 0, 60, 0), 1000, SOL.size_decimals)
    bid = {"bid": Desired(Side.BID, 149_864, 70, OrderTag.QUOTE)}
    (place,) = manager.plan(0, bid, 149_900.0)
    sender.submit([place], 0)
    assert await sender.flush()
    ack = OrderUpdate(0, place.client_id, OrderStatus.OPEN, 70, price=149_864)
    sender.orders.on_update(ack)  # the venue's stream reaches the adapter and the manager
    manager.on_update(ack)
    sender.submit([quote(900, Side.ASK, 150_500)], 0)
    assert await sender.flush()  # the budget is now down to its quote reserve
    meant = {"bid": Desired(Side.BID, 149_790, 70, OrderTag.QUOTE)}
    modify = manager.plan(NS, meant, 149_900.0)
    assert modify == [ModifyOrder(place.client_id, 149_790, 70)]
    sender.submit(modify, NS)
    assert not await sender.flush()  # dropped: it would be stale before the budget returns
    for event in events:
        manager.on_update(event)
    assert manager.orders[place.client_id].price == 149_864  # what the venue still holds
    clock.now += 61
    assert manager.plan(62 * NS, meant, 149_900.0) == modify


async def test_a_modify_of_an_order_the_venue_says_is_inactive_ends_it_not_a_retry_loop() -> None:
    """Seen in the fault suite: the quote filled, the modify sent meanwhile was refused with 21709
    (order inactive: filled) every 2 s, and the bid side never quoted again."""
    sender, rest, events, _ = make_sender()
    manager = OrderManager(OrderSettings(0.1, 0, 60, 0), 1000, SOL.size_decimals)
    bid = {"bid": Desired(Side.BID, 149_864, 70, OrderTag.QUOTE)}
    (place,) = manager.plan(0, bid, 149_900.0)
    sender.submit([place], 0)
    assert await sender.flush()
    ack = OrderUpdate(0, place.client_id, OrderStatus.OPEN, 70, price=149_864)
    sender.orders.on_update(ack)
    manager.on_update(ack)
    meant = {"bid": Desired(Side.BID, 149_790, 70, OrderTag.QUOTE)}
    modify = manager.plan(NS, meant, 149_900.0)
    assert modify == [ModifyOrder(place.client_id, 149_790, 70)]
    rest.script = [LighterError("order is inactive: filled", 21709, 400)]
    sender.submit(modify, NS)
    await sender.flush()
    for event in events:
        manager.on_update(event)
    assert updates(events)[-1] == (place.client_id, OrderStatus.CANCELED, "inactive")
    assert place.client_id not in manager.orders  # gone: the next plan places a fresh bid
    (again,) = manager.plan(3 * NS, meant, 149_900.0)
    assert isinstance(again, PlaceOrder) and again.price == 149_790


async def test_a_failed_request_is_retried_after_a_growing_jittered_backoff() -> None:
    """No retry path re-sends at once: transport errors back off exponentially (capped)."""
    sender, rest, _, clock = make_sender()
    rest.script = [TransportError("timeout")] * 2
    sender.submit([CancelOrder(9)], 0)
    await sender.flush()
    first_wait = sender.wait_s()
    assert 0.25 <= first_wait <= 0.5
    assert not await sender.flush()  # too soon: nothing goes
    clock.now += first_wait
    assert await sender.flush()
    assert 0.5 <= sender.wait_s() <= 1.0
    assert len(rest.requests) == 2


async def test_a_429_waits_out_the_venue_cooldown_before_any_retry() -> None:
    sender, rest, _, clock = make_sender()
    rest.script = [RateLimited("Too Many Requests!", 23000, 429)]
    sender.submit([CancelOrder(9)], 0)
    await sender.flush()
    assert sender.wait_s() >= 60.0  # the firewall cooldown, not the 0.5 s backoff
    clock.now += 30
    assert not await sender.flush()
    clock.now += sender.wait_s()
    assert await sender.flush() and len(rest.requests) == 2


async def test_shutdown_cancel_all_fits_the_reserve_kept_for_it() -> None:
    sender, rest, _, clock = make_sender(10, shutdown_reserve=1)
    budget = rest.budget
    while budget.spend(Priority.CANCEL, clock.now):  # the minute spent on cancels and hedges
        pass
    assert budget.in_window(clock.now) == 9  # one kept back
    sender.submit([CancelAll("shutdown")], 0)
    assert not await sender.flush()  # an ordinary cancel-all may not take it
    assert await sender.flush(force=True)
    assert rest.priorities == [Priority.SHUTDOWN]
    assert budget.in_window(clock.now) == 10  # within the budget, never past it
