"""Order manager: turn desired orders into the fewest venue commands within the tx budget."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from solbot.core.model import (
    CancelAll,
    CancelOrder,
    Command,
    Fill,
    ModifyOrder,
    OpenOrder,
    OrderStatus,
    OrderTag,
    OrderUpdate,
    PlaceOrder,
    Side,
)

NS = 1_000_000_000
NEVER = 2**63 - 1
SLOTS = ("hedge", "bid", "ask")  # hedges before quotes when the budget is short
CLIENT_ID_LIMIT = 2**48 - 1


@dataclass(frozen=True, slots=True)
class Desired:
    side: Side
    price: int
    size: int
    tag: OrderTag
    post_only: bool = True
    reduce_only: bool = False
    immediate_or_cancel: bool = False


@dataclass(frozen=True)
class OrderSettings:
    requote_tolerance_bps: float
    min_requote_interval_ns: int
    tx_per_minute: int
    tx_reserve: int
    # A modify or cancel with no word from the venue after this long is taken as lost: the
    # order is believed at its confirmed terms again and the next plan may send it again.
    confirm_timeout_ns: int = 15 * NS


class OrderManager:
    """Tracks our orders by slot and decides place / modify / cancel, budget first.

    Each order carries the venue's confirmed terms and, apart from them, the modify in flight:
    a modify the budget drops, the venue refuses or that times out leaves the confirmed terms,
    so the next plan sends it again; a late confirmation applies the venue's terms.
    """

    def __init__(self, settings: OrderSettings, client_id_base: int, size_decimals: int) -> None:
        self.settings = settings
        self._lots_per_unit = 10**size_decimals
        self.orders: dict[int, OpenOrder] = {}
        self.slot_orders: dict[str, int | None] = dict.fromkeys(SLOTS)
        self._slot_of: dict[int, str] = {}
        self._last_change_ns: dict[str, int] = dict.fromkeys(SLOTS, 0)
        self._sent: deque[int] = deque()
        self._next_id = client_id_base % CLIENT_ID_LIMIT or 1
        self.dropped = 0
        self.sent_total = 0
        self.timed_out = 0
        # when a change held back now (requote interval, tx budget) could go out: the replay
        # driver decides again then, as the live timer would
        self.retry_at_ns = NEVER
        # requests the venue adapter's account-wide budget still allows (None: no such budget);
        # it also counts what the engine does not see (dead-man re-arms, re-sends, start-up)
        self.venue_room: int | None = None

    @staticmethod
    def client_id_base(first_event_ns: int) -> int:
        """Deterministic id space derived from event time (ms), never from randomness."""
        return ((first_event_ns // 1_000_000) % (1 << 37)) << 10 or 1

    def budget_left(self, now_ns: int) -> int:
        """Txs the rolling minute still allows, never more than the venue adapter has room for."""
        sent = self._sent
        while sent and sent[0] <= now_ns - 60 * NS:
            sent.popleft()
        left = self.settings.tx_per_minute - len(sent)
        return left if self.venue_room is None else min(left, self.venue_room)

    def next_budget_release_ns(self) -> int:
        """When the oldest send of the rolling minute stops counting (NEVER when none)."""
        return self._sent[0] + 60 * NS + 1 if self._sent else NEVER

    def open_orders(self) -> list[OpenOrder]:
        return [self.orders[key] for key in sorted(self.orders)]

    def _new_id(self) -> int:
        client_id = self._next_id
        self._next_id = client_id + 1 if client_id < CLIENT_ID_LIMIT else 1
        return client_id

    def plan(
        self, now_ns: int, desired: dict[str, Desired | None], mid_ticks: float
    ) -> list[Command]:
        """Commands that move our orders toward `desired`, highest priority first."""
        urgent: list[Command] = []
        normal: list[Command] = []
        self.retry_at_ns = NEVER
        tolerance = max(1, int(mid_ticks * self.settings.requote_tolerance_bps / 1e4))
        for slot in SLOTS:
            want = desired.get(slot)
            command = self._plan_slot(now_ns, slot, want, tolerance)
            if command is None:
                continue
            if isinstance(command, CancelOrder) or slot == "hedge":
                urgent.append(command)
            else:
                normal.append(command)
        return self._within_budget(now_ns, urgent, normal)

    def _plan_slot(
        self, now_ns: int, slot: str, want: Desired | None, tolerance: int
    ) -> Command | None:
        current_id = self.slot_orders[slot]
        current = self.orders.get(current_id) if current_id is not None else None
        if current is not None and self._awaiting(now_ns, current):
            return None  # wait for the venue's word before touching it again
        if want is None:
            if current is None:
                return None
            return self._cancel(now_ns, current)
        if current is None:
            return self._place(now_ns, slot, want)
        same_side = current.side is want.side
        if (
            same_side
            and abs(current.price - want.price) <= tolerance
            and current.remaining == want.size
        ):
            return None
        if want.immediate_or_cancel or not same_side or current.tag is not want.tag:
            return self._cancel(now_ns, current)
        if (
            slot != "hedge"
            and now_ns - self._last_change_ns[slot] < self.settings.min_requote_interval_ns
        ):
            retry = self._last_change_ns[slot] + self.settings.min_requote_interval_ns
            self.retry_at_ns = min(self.retry_at_ns, retry)
            return None
        current.requested = (want.price, want.size)  # confirmed terms stay until the venue's word
        current.requested_ns = now_ns
        self._last_change_ns[slot] = now_ns
        return ModifyOrder(current.client_id, want.price, want.size)

    def _awaiting(self, now_ns: int, order: OpenOrder) -> bool:
        """Whether a command about `order` still waits for the venue's word."""
        if order.status is OrderStatus.PENDING:
            return True  # a placement: the venue acknowledges or refuses it, always
        if not order.pending_cancel and order.requested is None:
            return False
        if now_ns - order.requested_ns < self.settings.confirm_timeout_ns:
            give_up = order.requested_ns + self.settings.confirm_timeout_ns
            self.retry_at_ns = min(self.retry_at_ns, give_up)
            return True
        self.timed_out += 1  # no word in time: believe the confirmed terms and decide again
        order.pending_cancel = False
        order.requested = None
        return False

    @staticmethod
    def _cancel(now_ns: int, order: OpenOrder) -> CancelOrder:
        order.pending_cancel = True
        order.requested_ns = now_ns
        return CancelOrder(order.client_id)

    def _place(self, now_ns: int, slot: str, want: Desired) -> PlaceOrder:
        client_id = self._new_id()
        order = OpenOrder(
            client_id=client_id,
            side=want.side,
            price=want.price,
            size=want.size,
            remaining=want.size,
            tag=want.tag,
            status=OrderStatus.PENDING,
            sent_ns=now_ns,
            reduce_only=want.reduce_only,
            post_only=want.post_only,
        )
        self.orders[client_id] = order
        self.slot_orders[slot] = client_id
        self._slot_of[client_id] = slot
        self._last_change_ns[slot] = now_ns
        return PlaceOrder(
            client_id,
            want.side,
            want.price,
            want.size,
            want.tag,
            want.post_only,
            want.reduce_only,
            want.immediate_or_cancel,
        )

    def _within_budget(
        self, now_ns: int, urgent: list[Command], normal: list[Command]
    ) -> list[Command]:
        left = self.budget_left(now_ns)
        out: list[Command] = []
        for command in urgent:
            if left <= 0:
                self._undo(command)
                continue
            out.append(command)
            left -= 1
        for command in normal:
            if left <= self.settings.tx_reserve:
                self._undo(command)
                continue
            out.append(command)
            left -= 1
        for _ in out:
            self._sent.append(now_ns)
        self.sent_total += len(out)
        return out

    def _undo(self, command: Command) -> None:
        """A command that did not fit the budget is forgotten as if never planned."""
        self.dropped += 1
        if self._sent:  # the budget frees up when the oldest send leaves the rolling minute
            self.retry_at_ns = min(self.retry_at_ns, self._sent[0] + 60 * NS + 1)
        if isinstance(command, PlaceOrder):
            self._forget(command.client_id)
        elif isinstance(command, CancelOrder):
            order = self.orders.get(command.client_id)
            if order is not None:
                order.pending_cancel = False
        elif isinstance(command, ModifyOrder):
            order = self.orders.get(command.client_id)
            if order is not None:  # the venue still holds the confirmed terms
                order.requested = None

    def cancel_all(self, now_ns: int, reason: str) -> list[Command]:
        """One cancel-all for everything we have (used on halt, shutdown, kill)."""
        if not self.orders:
            return []
        for order in self.orders.values():
            order.pending_cancel = True
            order.requested_ns = now_ns
        self._sent.append(now_ns)
        self.sent_total += 1
        return [CancelAll(reason)]

    def on_update(self, update: OrderUpdate) -> None:
        """Apply the venue's word: its terms become the confirmed ones, whatever we asked."""
        order = self.orders.get(update.client_id)
        if order is None:
            return
        if update.status.is_final:
            self._forget(update.client_id)
            return
        order.status = update.status
        order.remaining = update.remaining
        if update.price is not None:
            order.price = update.price
        if update.refused:  # the command was not applied: the stated terms stand
            order.requested = None
            order.pending_cancel = False
            return
        requested = order.requested
        if requested is None:
            return
        price, size = requested
        if update.price is None:
            order.price = price  # a venue that states no terms acknowledges what was asked
        elif update.price != price or update.remaining > size:
            return  # a report of the terms before the modify: keep waiting for its outcome
        order.size = size
        order.requested = None

    def on_fill(self, fill: Fill) -> None:
        if fill.client_id is None:
            return
        order = self.orders.get(fill.client_id)
        if order is None:
            return
        order.remaining -= round(fill.size * self._lots_per_unit)
        if order.remaining <= 0:
            self._forget(fill.client_id)

    def _forget(self, client_id: int) -> None:
        self.orders.pop(client_id, None)
        slot = self._slot_of.pop(client_id, None)
        if slot is not None and self.slot_orders.get(slot) == client_id:
            self.slot_orders[slot] = None
