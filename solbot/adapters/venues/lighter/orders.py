"""Our orders as the adapter tracks them: client id → venue order index, tag and state."""

from __future__ import annotations

from dataclasses import dataclass

from solbot.adapters.venues.lighter.events import VenueOrder
from solbot.core.model import ModifyOrder, OrderStatus, OrderTag, OrderUpdate, PlaceOrder, Side


@dataclass(slots=True)
class TrackedOrder:
    """One live order of ours; `order_index` is known once the venue reported it."""

    client_id: int
    side: Side
    price: int
    size: int
    remaining: int
    tag: OrderTag
    status: OrderStatus
    order_index: int | None = None


class OrderTable:
    """Live orders by client id; final orders leave the table (memory stays bounded)."""

    def __init__(self) -> None:
        self._orders: dict[int, TrackedOrder] = {}

    def __len__(self) -> int:
        return len(self._orders)

    def __contains__(self, client_id: int) -> bool:
        return client_id in self._orders

    def get(self, client_id: int) -> TrackedOrder | None:
        """The tracked order, if live."""
        return self._orders.get(client_id)

    def live_ids(self) -> list[int]:
        """Client ids of every order not known to be final, in id order."""
        return sorted(self._orders)

    def on_place(self, command: PlaceOrder) -> None:
        """Track an order we are about to send."""
        self._orders[command.client_id] = TrackedOrder(
            command.client_id,
            command.side,
            command.price,
            command.size,
            command.size,
            command.tag,
            OrderStatus.PENDING,
        )

    def adopt(self, venue_order: VenueOrder, tag: OrderTag = OrderTag.QUOTE) -> None:
        """Track an order found resting at start-up that the caller says is its own."""
        self._orders[venue_order.client_id] = TrackedOrder(
            venue_order.client_id,
            venue_order.side,
            venue_order.price,
            venue_order.initial_size,
            venue_order.remaining,
            tag,
            OrderStatus.OPEN,
            venue_order.order_index,
        )

    def on_modified(self, command: ModifyOrder) -> None:
        """A modify was accepted by the venue: expect the new terms."""
        order = self._orders.get(command.client_id)
        if order is not None:
            order.price, order.size, order.remaining = command.price, command.size, command.size

    def on_venue_order(self, venue_order: VenueOrder) -> bool:
        """Learn the venue's index and remaining size; False for an order we do not know."""
        order = self._orders.get(venue_order.client_id)
        if order is None:
            return False
        order.order_index = venue_order.order_index
        order.remaining = venue_order.remaining
        order.price = venue_order.price
        return True

    def on_update(self, update: OrderUpdate) -> None:
        """Apply a status; final orders are forgotten."""
        order = self._orders.get(update.client_id)
        if order is None:
            return
        if update.status.is_final:
            del self._orders[update.client_id]
            return
        order.status = update.status
        order.remaining = update.remaining

    def forget(self, client_id: int) -> TrackedOrder | None:
        """Remove an order (rejected before it reached the venue)."""
        return self._orders.pop(client_id, None)

    def index_for(self, client_id: int) -> int:
        """Index to name the order in cancel/modify: the venue's if known, else our client id
        (Lighter accepts either; the ranges are disjoint)."""
        order = self._orders.get(client_id)
        if order is not None and order.order_index is not None:
            return order.order_index
        return client_id

    def tag_of(self, client_id: int) -> OrderTag | None:
        """Why the order exists, if tracked."""
        order = self._orders.get(client_id)
        return order.tag if order is not None else None
