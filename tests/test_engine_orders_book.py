"""The order manager's believed book equals the venue's, whatever happens to its commands.

A model venue applies only the commands that reach it and reports back in order (one stream,
like the adapter's event queue). Each command the manager sends meets one outcome: accepted,
dropped before sending (reported as refused), refused by the venue, accepted but first reported
as failed and confirmed later (a transport timeout that did land), or lost without a word. The
manager's own tx budget drops commands too (small budgets). Whenever no report is in flight,
every order the manager believes in must rest at the venue at exactly the believed price and
size, and nothing else may rest there.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from enum import Enum

from hypothesis import given, settings
from hypothesis import strategies as st

from solbot.core.model import (
    CancelOrder,
    Command,
    ModifyOrder,
    OrderStatus,
    OrderTag,
    OrderUpdate,
    PlaceOrder,
    Side,
)
from solbot.core.orders import Desired, OrderManager, OrderSettings

NS = 1_000_000_000
T0_NS = 1_700_000_000 * NS
TIMEOUT_NS = 5 * NS


class Outcome(Enum):
    ACCEPTED = "accepted"
    DROPPED = "dropped"  # never sent (send queue, rate limit): the adapter reports it refused
    REFUSED = "refused"  # the venue said no: the order keeps its terms
    LATE = "late"  # reported failed, but it landed: the venue's report follows
    LOST = "lost"  # no word at all: only the manager's timeout resolves it


Terms = tuple[Side, int, int]  # side, price, remaining


@dataclass
class ModelVenue:
    """Applies what reaches it; reports every change, in order, on one stream."""

    book: dict[int, Terms]
    stream: deque[OrderUpdate]

    def handle(self, command: Command, outcome: Outcome, now_ns: int) -> None:
        if isinstance(command, PlaceOrder):
            self._place(command, outcome, now_ns)
            return
        assert isinstance(command, ModifyOrder | CancelOrder)
        terms = self.book.get(command.client_id)
        if terms is None:  # gone already (a late cancel): "order inactive", as the adapter says
            self.stream.append(OrderUpdate(now_ns, command.client_id, OrderStatus.CANCELED, 0))
            return
        if outcome in (Outcome.DROPPED, Outcome.REFUSED, Outcome.LATE):
            self._refused(command.client_id, terms, now_ns)
        if outcome in (Outcome.DROPPED, Outcome.REFUSED, Outcome.LOST):
            return
        if isinstance(command, CancelOrder):
            del self.book[command.client_id]
            self.stream.append(OrderUpdate(now_ns, command.client_id, OrderStatus.CANCELED, 0))
            return
        side = terms[0]
        self.book[command.client_id] = (side, command.price, command.size)
        self.stream.append(
            OrderUpdate(
                now_ns, command.client_id, OrderStatus.OPEN, command.size, price=command.price
            )
        )

    def _place(self, command: PlaceOrder, outcome: Outcome, now_ns: int) -> None:
        if outcome in (Outcome.DROPPED, Outcome.REFUSED):
            self.stream.append(OrderUpdate(now_ns, command.client_id, OrderStatus.REJECTED, 0))
            return
        # the adapter always reports a placement's fate: late and lost ones end up confirmed
        self.book[command.client_id] = (command.side, command.price, command.size)
        self.stream.append(
            OrderUpdate(
                now_ns, command.client_id, OrderStatus.OPEN, command.size, price=command.price
            )
        )

    def _refused(self, client_id: int, terms: Terms, now_ns: int) -> None:
        _, price, remaining = terms
        update = OrderUpdate(
            now_ns, client_id, OrderStatus.OPEN, remaining, "x", price=price, refused=True
        )
        self.stream.append(update)


def believed_book(manager: OrderManager) -> dict[int, Terms]:
    return {
        client_id: (order.side, order.price, order.remaining)
        for client_id, order in manager.orders.items()
    }


_price = st.integers(149_700, 149_900)
_size = st.sampled_from([60, 70, 80])
_quote = st.one_of(st.none(), st.tuples(_price, _size))
_step = st.one_of(
    st.tuples(
        st.just("plan"),
        st.sampled_from([0, NS // 2, NS, 3 * NS, 2 * TIMEOUT_NS, 61 * NS]),
        _quote,
        _quote,
        st.lists(st.sampled_from(list(Outcome)), min_size=3, max_size=3),
    ),
    st.tuples(st.just("deliver"), st.integers(1, 4)),
)


@settings(deadline=None, max_examples=300)
@given(st.lists(_step, min_size=1, max_size=40), st.integers(2, 8))
def test_the_believed_book_equals_the_venue_book_whenever_no_report_is_in_flight(
    steps: list[tuple[object, ...]], tx_per_minute: int
) -> None:
    manager = OrderManager(
        OrderSettings(0.01, 0, tx_per_minute, 1, confirm_timeout_ns=TIMEOUT_NS), 1000, 3
    )
    venue = ModelVenue({}, deque())
    now = T0_NS
    for step in steps:
        if step[0] == "plan":
            _, dt, bid, ask, outcomes = step
            assert isinstance(dt, int) and isinstance(outcomes, list)
            now += dt
            desired = {
                "bid": None if bid is None else Desired(Side.BID, *bid, OrderTag.QUOTE),  # type: ignore[misc]
                "ask": None if ask is None else Desired(Side.ASK, *ask, OrderTag.QUOTE),  # type: ignore[misc]
            }
            for command, outcome in zip(
                manager.plan(now, desired, 149_800.0), outcomes, strict=False
            ):
                venue.handle(command, outcome, now)
        else:
            count = step[1]
            assert isinstance(count, int)
            for _ in range(min(count, len(venue.stream))):
                manager.on_update(venue.stream.popleft())
        if not venue.stream:
            assert believed_book(manager) == venue.book
    while venue.stream:
        manager.on_update(venue.stream.popleft())
    assert believed_book(manager) == venue.book


def test_a_refused_modify_is_sent_again_by_the_next_plan() -> None:
    manager = OrderManager(OrderSettings(0.01, 0, 60, 1), 1000, 3)
    (place,) = manager.plan(T0_NS, {"bid": Desired(Side.BID, 149_864, 70, OrderTag.QUOTE)}, 1.5e5)
    manager.on_update(OrderUpdate(T0_NS, place.client_id, OrderStatus.OPEN, 70, price=149_864))
    meant = {"bid": Desired(Side.BID, 149_790, 70, OrderTag.QUOTE)}
    (modify,) = manager.plan(T0_NS + NS, meant, 1.5e5)
    refusal = OrderUpdate(T0_NS + NS, place.client_id, OrderStatus.OPEN, 70, "21734", 149_864, True)
    manager.on_update(refusal)
    assert manager.orders[place.client_id].price == 149_864
    assert manager.plan(T0_NS + 2 * NS, meant, 1.5e5) == [modify]


def test_a_modify_without_an_answer_is_sent_again_after_the_timeout() -> None:
    manager = OrderManager(OrderSettings(0.01, 0, 60, 1, confirm_timeout_ns=TIMEOUT_NS), 1000, 3)
    (place,) = manager.plan(T0_NS, {"bid": Desired(Side.BID, 149_864, 70, OrderTag.QUOTE)}, 1.5e5)
    manager.on_update(OrderUpdate(T0_NS, place.client_id, OrderStatus.OPEN, 70, price=149_864))
    meant = {"bid": Desired(Side.BID, 149_790, 70, OrderTag.QUOTE)}
    (modify,) = manager.plan(T0_NS + NS, meant, 1.5e5)
    assert manager.plan(T0_NS + NS + TIMEOUT_NS - 1, meant, 1.5e5) == []  # still waiting
    assert manager.plan(T0_NS + NS + TIMEOUT_NS, meant, 1.5e5) == [modify]
    assert manager.timed_out == 1


def test_a_late_confirmation_applies_the_venue_terms() -> None:
    manager = OrderManager(OrderSettings(0.01, 0, 60, 1), 1000, 3)
    (place,) = manager.plan(T0_NS, {"bid": Desired(Side.BID, 149_864, 70, OrderTag.QUOTE)}, 1.5e5)
    client_id = place.client_id
    manager.on_update(OrderUpdate(T0_NS, client_id, OrderStatus.OPEN, 70, price=149_864))
    meant = {"bid": Desired(Side.BID, 149_790, 60, OrderTag.QUOTE)}
    manager.plan(T0_NS + NS, meant, 1.5e5)
    manager.on_update(OrderUpdate(T0_NS + NS, client_id, OrderStatus.OPEN, 70, "", 149_864, True))
    manager.on_update(OrderUpdate(T0_NS + 2 * NS, client_id, OrderStatus.OPEN, 60, price=149_790))
    order = manager.orders[client_id]
    assert (order.price, order.remaining) == (149_790, 60)
    assert manager.plan(T0_NS + 3 * NS, meant, 1.5e5) == []  # nothing left to change
