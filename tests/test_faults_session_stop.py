"""After `Session.shutdown()` (Ctrl-C) the session places nothing new, while the venue still
reports what happened before the cancel-all: fills and cancels keep being booked.

In a live run the stream stays open after the cancel-all until the venue has reported every order
final; the timer and book events keep calling the session meanwhile. A new quote decided then
would go out after the cancel-all and stay on the venue when solbot exits.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from solbot.app.session import Session
from solbot.config.compile import compile_policy
from solbot.config.loader import ConfigDir, resolve_profile
from solbot.config.markets import resolve_market
from solbot.core.model import (
    CancelAll,
    Command,
    Fill,
    OrderStatus,
    OrderUpdate,
    PlaceOrder,
    Role,
    Side,
)

REPO = Path(__file__).resolve().parent.parent
NS = 1_000_000_000
T0_NS = 1_700_000_000 * NS
MARKET = resolve_market("SOL")


class AckingVenue:
    """Keeps the commands; the test acknowledges them as the venue would."""

    def __init__(self) -> None:
        self.commands: list[Command] = []

    def submit(self, commands: Sequence[Command], now_ns: int) -> None:
        self.commands.extend(commands)

    def take(self) -> list[Command]:
        taken, self.commands = self.commands, []
        return taken


def at(seconds: float) -> int:
    return T0_NS + round(seconds * NS)


def quoting_session() -> tuple[Session, AckingVenue, list[PlaceOrder]]:
    """A naive session with both quotes resting on the venue."""
    policy = compile_policy(resolve_profile("naive", ConfigDir(REPO)), MARKET.spec)
    session = Session(policy, market_key=MARKET.key)
    venue = AckingVenue()
    session.attach(venue)
    session.on_book(at(0), at(0), 149_990, 1000, 150_010, 1000)
    places = [c for c in venue.take() if isinstance(c, PlaceOrder)]
    assert len(places) == 2
    for place in places:
        session.on_order_update(OrderUpdate(at(0.1), place.client_id, OrderStatus.OPEN, place.size))
    return session, venue, places


def test_no_new_order_after_shutdown_even_when_the_cancels_come_back() -> None:
    session, venue, places = quoting_session()
    assert session.shutdown(at(1), "signal") == [CancelAll("signal")]
    for place in places:  # the venue reports the cancel-all
        session.on_order_update(OrderUpdate(at(1.1), place.client_id, OrderStatus.CANCELED, 0))
    venue.take()
    for second in range(2, 6):  # the stream and the timer keep running during the drain
        session.on_book(at(second), at(second), 149_980 + second, 1000, 150_020, 1000)
        session.tick(at(second + 0.5))
    assert venue.take() == []


def test_a_fill_reported_after_shutdown_is_still_booked() -> None:
    session, venue, places = quoting_session()
    session.shutdown(at(1), "signal")
    bid = places[0] if places[0].side is Side.BID else places[1]
    fill = Fill(
        venue="lighter",
        trade_id="1000000001",
        ts_ns=at(0.9),
        market="SOL",
        side=Side.BID,
        price=bid.price / 1000,
        size=bid.size / 1000,
        role=Role.MAKER,
        fee_usd=0.0,
        client_id=bid.client_id,
    )
    session.on_fill(fill)
    assert session.stats.fills == 1
    assert session.engine.inventory_lots == bid.size
    session.tick(at(2))
    assert not [c for c in venue.take() if isinstance(c, PlaceOrder)]
