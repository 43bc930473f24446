"""Order manager bookkeeping when the tx budget drops commands (never lose a resting order)."""

from __future__ import annotations

from solbot.core.model import Fill, OrderStatus, OrderTag, OrderUpdate, PlaceOrder, Role, Side
from solbot.core.orders import Desired, OrderManager, OrderSettings

NS = 1_000_000_000
T0_NS = 1_700_000_000 * NS


def _manager(tx_per_minute: int, reserve: int) -> OrderManager:
    return OrderManager(OrderSettings(1.5, 0, tx_per_minute, reserve), 1000, 3)


def _bid(size: int, price: int = 139_916) -> dict[str, Desired | None]:
    return {"bid": Desired(Side.BID, price, size, OrderTag.QUOTE)}


def _resting_bid(manager: OrderManager, size: int) -> int:
    (command,) = manager.plan(T0_NS, _bid(size), 140_000.0)
    assert isinstance(command, PlaceOrder)
    manager.on_update(OrderUpdate(T0_NS, command.client_id, OrderStatus.OPEN, size))
    return command.client_id


def test_a_modify_that_fits_the_budget_is_sent() -> None:
    manager = _manager(tx_per_minute=3, reserve=1)
    client_id = _resting_bid(manager, 80)
    commands = manager.plan(T0_NS + NS, _bid(60), 140_000.0)
    assert len(commands) == 1 and commands[0].client_id == client_id


def test_a_dropped_modify_is_planned_again_when_budget_returns() -> None:
    manager = _manager(tx_per_minute=2, reserve=1)
    client_id = _resting_bid(manager, 80)
    assert manager.plan(T0_NS + NS, _bid(60), 140_000.0) == []  # only the reserve is left
    assert manager.dropped == 1
    retried = manager.plan(T0_NS + 61 * NS, _bid(60), 140_000.0)
    assert [command.client_id for command in retried] == [client_id]


def test_a_dropped_modify_keeps_the_order_until_the_venue_says_it_is_gone() -> None:
    manager = _manager(tx_per_minute=2, reserve=1)
    client_id = _resting_bid(manager, 80)
    assert manager.plan(T0_NS + NS, _bid(60), 140_000.0) == []
    # the venue still holds 80 lots: a 60-lot fill leaves 20 resting
    manager.on_fill(
        Fill(
            "test", "1", T0_NS + 2 * NS, "SOL", Side.BID, 139.916, 0.06, Role.MAKER, 0.0, client_id
        )
    )
    assert client_id in manager.orders
    assert manager.orders[client_id].remaining == 20


def test_the_engine_plans_no_more_than_the_venue_adapter_has_room_for() -> None:
    """The adapter's budget also counts txs the engine never sees (dead-man re-arms, re-sends,
    start-up calls): with room for none, nothing is planned, whatever the engine's own count."""
    manager = _manager(60, 0)
    manager.venue_room = 0
    assert manager.budget_left(0) == 0
    assert manager.plan(0, _bid(100), 139_916.0) == []
    manager.venue_room = 5
    assert manager.budget_left(0) == 5
    assert len(manager.plan(0, _bid(100), 139_916.0)) == 1
