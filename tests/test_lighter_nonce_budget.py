"""Nonce manager, request budget and the command queue (pure, time injected)."""

from __future__ import annotations

import asyncio

import pytest

from solbot.adapters.venues.lighter.budget import (
    CommandQueue,
    Priority,
    RequestBudget,
    ScheduleCancelAll,
)
from solbot.adapters.venues.lighter.nonce import NonceManager
from solbot.core.model import CancelAll, CancelOrder, ModifyOrder, OrderTag, PlaceOrder, Side


class VenueNonces:
    """Stands in for GET nextNonce."""

    def __init__(self, value: int) -> None:
        self.value = value
        self.calls = 0

    async def __call__(self, api_key_index: int) -> int:
        self.calls += 1
        return self.value


# --- nonces ------------------------------------------------------------------------------------


async def test_nonce_fetched_once_then_counted_locally() -> None:
    venue = VenueNonces(41)
    nonces = NonceManager(venue)
    assert [await nonces.reserve(4) for _ in range(3)] == [41, 42, 43]
    assert await nonces.reserve(4, count=5) == 44
    assert nonces.peek(4) == 49 and venue.calls == 1


async def test_rollback_returns_nonces_rejected_at_the_http_layer() -> None:
    nonces = NonceManager(VenueNonces(10))
    first = await nonces.reserve(4, count=3)
    nonces.rollback(4, first)
    assert await nonces.reserve(4) == 10
    nonces.rollback(4, 50)  # never moves forward
    assert nonces.peek(4) == 11


async def test_hard_refresh_and_stale_marking() -> None:
    venue = VenueNonces(7)
    nonces = NonceManager(venue)
    assert await nonces.reserve(4) == 7
    venue.value = 20  # another writer consumed nonces: the venue answered 21104
    assert await nonces.refresh(4) == 20
    assert await nonces.reserve(4) == 20
    venue.value = 30
    nonces.mark_stale(4)  # outcome of the last send unknown
    assert await nonces.reserve(4) == 30 and venue.calls == 3


async def test_keys_are_independent_and_locked_separately() -> None:
    nonces = NonceManager(VenueNonces(0))
    assert nonces.lock(4) is nonces.lock(4) and nonces.lock(4) is not nonces.lock(5)
    order: list[str] = []

    async def send(name: str) -> None:
        async with nonces.lock(4):
            n = await nonces.reserve(4)
            await asyncio.sleep(0)
            order.append(f"{name}{n}")

    await asyncio.gather(send("a"), send("b"), send("c"))
    assert order == ["a0", "b1", "c2"]


# --- budget ------------------------------------------------------------------------------------


def test_rolling_window_counts_every_request() -> None:
    budget = RequestBudget(limit=5, window_s=60, quote_reserve=2, query_reserve=1)
    for t in range(5):
        assert budget.spend(Priority.CANCEL, float(t))
    assert budget.remaining(4.0) == 0 and not budget.spend(Priority.CANCEL, 4.0)
    assert budget.wait_s(Priority.CANCEL, 4.0) == pytest.approx(56.0)
    assert budget.remaining(60.0) == 1  # the first stamp aged out (window is rolling)
    assert budget.remaining(64.5) == 5


def test_quotes_leave_a_reserve_for_cancels_and_hedges() -> None:
    budget = RequestBudget(limit=5, window_s=60, quote_reserve=2, query_reserve=1)
    assert budget.spend(Priority.QUOTE, 0) and budget.spend(Priority.QUOTE, 0)
    assert budget.spend(Priority.QUOTE, 0)
    assert not budget.can_spend(Priority.QUOTE, 0)  # 2 left = the reserve
    assert budget.can_spend(Priority.QUERY, 0)
    assert budget.spend(Priority.HEDGE, 0) and budget.spend(Priority.CANCEL, 0)
    assert budget.fraction_remaining(0) == 0.0
    assert budget.wait_s(Priority.QUOTE, 1.0) == pytest.approx(59.0)


def test_rate_limit_cooldown_blocks_everything() -> None:
    budget = RequestBudget(limit=60, cooldown_s=60)
    budget.penalize(10.0)
    assert budget.remaining(69.9) == 0 and not budget.can_spend(Priority.CANCEL_ALL, 69.9)
    assert budget.wait_s(Priority.CANCEL, 30.0) == pytest.approx(40.0)
    assert budget.can_spend(Priority.QUOTE, 70.0)
    assert budget.rate_limited_total == 1


def test_reserves_must_fit_the_limit() -> None:
    with pytest.raises(ValueError):
        RequestBudget(limit=5, quote_reserve=5)


# --- queue -------------------------------------------------------------------------------------


def place(client_id: int, tag: OrderTag = OrderTag.QUOTE) -> PlaceOrder:
    return PlaceOrder(client_id, Side.BID, 150_000, 70, tag)


def test_cancels_and_hedges_go_before_quotes() -> None:
    queue = CommandQueue()
    queue.push(place(1), Priority.QUOTE, 0)
    queue.push(place(2, OrderTag.HEDGE_CROSS), Priority.HEDGE, 0)
    queue.push(CancelOrder(9), Priority.CANCEL, 0)
    queue.push(place(3), Priority.QUOTE, 0)
    queue.push(ScheduleCancelAll(123), Priority.CANCEL_ALL, 0)
    batch = queue.take_batch(4)
    assert [type(p.command).__name__ for p in batch] == [
        "ScheduleCancelAll",
        "CancelOrder",
        "PlaceOrder",
        "PlaceOrder",
    ]
    assert [getattr(p.command, "client_id", None) for p in batch[2:]] == [2, 1]
    assert [p.command.client_id for p in queue.take_batch(50)] == [3]  # FIFO within a priority


def test_cancel_of_an_unsent_place_drops_both() -> None:
    queue = CommandQueue()
    queue.push(place(1), Priority.QUOTE, 0)
    dropped = queue.push(CancelOrder(1), Priority.CANCEL, 0)
    assert [(d.pending.command.client_id, d.reason) for d in dropped] == [
        (1, "canceled_before_send")
    ]
    assert len(queue) == 0


def test_modify_merges_into_unsent_place_and_replaces_older_modify() -> None:
    queue = CommandQueue()
    queue.push(place(1), Priority.QUOTE, 0)
    queue.push(ModifyOrder(1, 150_500, 80), Priority.QUOTE, 0)
    queue.push(ModifyOrder(2, 1, 1), Priority.QUOTE, 0)
    queue.push(ModifyOrder(2, 151_000, 90), Priority.QUOTE, 0)
    commands = [p.command for p in queue.take_batch(50)]
    assert commands == [PlaceOrder(1, Side.BID, 150_500, 80), ModifyOrder(2, 151_000, 90)]


def test_cancel_all_supersedes_waiting_orders() -> None:
    queue = CommandQueue()
    queue.push(place(1), Priority.QUOTE, 0)
    queue.push(ModifyOrder(2, 1, 1), Priority.QUOTE, 0)
    queue.push(CancelOrder(3), Priority.CANCEL, 0)
    dropped = queue.push(CancelAll(), Priority.CANCEL_ALL, 0)
    assert [d.pending.command.client_id for d in dropped] == [1]
    assert [p.command for p in queue.take_batch(50)] == [CancelAll()]


def test_only_the_latest_dead_man_schedule_waits() -> None:
    queue = CommandQueue()
    queue.push(ScheduleCancelAll(1), Priority.CANCEL_ALL, 0)
    queue.push(ScheduleCancelAll(2), Priority.CANCEL_ALL, 0)
    assert [p.command for p in queue.take_batch(50)] == [ScheduleCancelAll(2)]


def test_stale_quotes_are_dropped_not_queued_forever() -> None:
    queue = CommandQueue(quote_max_age_s=2.0)
    queue.push(place(1), Priority.QUOTE, 0.0)
    queue.push(place(2, OrderTag.HEDGE_PASSIVE), Priority.HEDGE, 0.0)
    queue.push(place(3), Priority.QUOTE, 1.5)
    assert queue.drop_stale_quotes(1.9) == []
    dropped = queue.drop_stale_quotes(2.5)
    assert [(d.pending.command.client_id, d.reason) for d in dropped] == [(1, "budget")]
    # With 30 s to wait for budget, the younger quote cannot make it either; the hedge stays.
    assert [d.pending.command.client_id for d in queue.drop_stale_quotes(2.5, 30.0)] == [3]
    assert [p.command.client_id for p in queue.take_batch(50)] == [2]


def test_safety_margin_keeps_a_share_of_the_venue_limit_unused() -> None:
    budget = RequestBudget(60, quote_reserve=0, query_reserve=0, safety_margin=0.10)
    sent = 0
    while budget.spend(Priority.CANCEL, 0.0):
        sent += 1
    assert (budget.venue_limit, budget.limit, sent) == (60, 54, 54)


def test_a_request_counts_until_a_window_after_its_answer_not_its_send() -> None:
    """The venue counts arrivals: a request sent at 0 and answered at 0.07 s may have arrived
    at 0.07 s, so it frees its place at 60.07 s, not at 60 s (the 61-in-a-minute bug)."""
    budget = RequestBudget(2, quote_reserve=0, query_reserve=0)
    assert budget.spend(Priority.CANCEL, 0.0)
    budget.settle(0.0, 0.07)
    assert budget.spend(Priority.CANCEL, 1.0)
    assert not budget.can_spend(Priority.CANCEL, 60.01)
    assert budget.wait_s(Priority.CANCEL, 60.01) == pytest.approx(0.06)
    assert budget.can_spend(Priority.CANCEL, 60.08)


def test_requests_of_an_earlier_run_seed_the_window() -> None:
    budget = RequestBudget(10, quote_reserve=0, query_reserve=0)
    budget.seed([100.0 - 61, 100.0 - 30, 100.0 - 1], now_s=100.0)  # the first is too old
    assert budget.in_window(100.0) == 2 and budget.remaining(100.0) == 8


def test_shutdown_reserve_is_for_the_shutdown_cancel_all_only() -> None:
    budget = RequestBudget(10, quote_reserve=2, query_reserve=1, shutdown_reserve=2)
    while budget.spend(Priority.CANCEL_ALL, 0.0):  # dead-man schedules, cancels
        pass
    assert budget.remaining(0.0) == 2
    assert budget.spend(Priority.SHUTDOWN, 0.0) and budget.spend(Priority.SHUTDOWN, 0.0)
    assert not budget.spend(Priority.SHUTDOWN, 0.0)  # never past the limit


def test_only_the_shutdown_cancel_all_may_go_inside_a_429_cooldown() -> None:
    budget = RequestBudget(10, quote_reserve=2, query_reserve=1, shutdown_reserve=1)
    budget.penalize(0.0)
    assert not budget.can_spend(Priority.CANCEL_ALL, 1.0)
    assert budget.wait_s(Priority.SHUTDOWN, 1.0) == 0.0
    assert budget.spend(Priority.SHUTDOWN, 1.0)
