"""Simulated exchange: our orders matched locally against L1 quotes and public trades.

Serves `solbot simulate` (recorded ticks) and the paper venue of `solbot run` (live ticks). It only
sees market events with their receive time (`ts_ns`, what the bot saw) and exchange time
(`exchange_ts_ns`); matching happens in exchange time, reports carry the receive time of the event
that caused them. Commands sent at bot time t reach matching at exchange time t + latency.
The modelling choices are written down in docs/simulated_exchange.md.
"""

from __future__ import annotations

import bisect
import heapq
import random
from collections.abc import Sequence

from solbot.adapters.venues.simulated_orders import (
    UNKNOWN_QUEUE,
    SimOrder,
    TxBudget,
    probability_ahead,
    taker_fills,
)
from solbot.adapters.venues.simulated_settings import FillModelSettings
from solbot.core.model import (
    CancelAll,
    CancelOrder,
    Command,
    Fill,
    FundingPayment,
    MarketSpec,
    ModifyOrder,
    OrderStatus,
    OrderUpdate,
    PlaceOrder,
    Role,
    Side,
)
from solbot.core.venue import VenueSink

__all__ = ["FillModelSettings", "SimulatedExchange"]

NEVER_NS = 1 << 62
NO_BID = -1
NO_ASK = 1 << 62
BUDGET_REASON = "tx budget exceeded"
POST_ONLY_REASON = "canceled-post-only"
REDUCE_ONLY_REASON = "canceled-reduce-only"
MINIMUM_REASON = "21706 below minimum"
NO_LIQUIDITY_REASON = "canceled-not-enough-liquidity"
DUPLICATE_REASON = "21728 duplicate client order index"
NOT_AT_VENUE_REASON = "rejected: order not at venue yet"
_OPEN = OrderStatus.OPEN
_PENDING = OrderStatus.PENDING

Arrival = tuple[int, int, Command, SimOrder | None]


def _ms_to_ns(milliseconds: float) -> int:
    return round(milliseconds * 1_000_000)


class SimulatedExchange:
    """A Venue that matches our orders locally: latency, L1 queue position, fees, tx budget."""

    def __init__(
        self,
        market: MarketSpec,
        settings: FillModelSettings,
        sink: VenueSink,
        venue_name: str = "sim",
    ) -> None:
        self.market = market
        self.settings = settings
        self.venue_name = venue_name
        self.tx_rejected = 0
        self._sink = sink
        self._order_latency_ns = _ms_to_ns(settings.order_latency_ms)
        self._cancel_latency_ns = _ms_to_ns(settings.cancel_latency_ms)
        self._taker_latency_ns = _ms_to_ns(settings.taker_latency_ms)
        self._jitter_ns = _ms_to_ns(settings.latency_jitter_ms)
        # Two streams so that turning jitter on does not reshuffle the queue model's draws.
        self._queue_rng = random.Random(settings.seed)
        self._latency_rng = random.Random(settings.seed + 1_000_003)
        self._probabilistic = settings.queue_model == "probabilistic"
        self._budget = TxBudget(settings.tx_per_minute)
        self._orders: dict[int, SimOrder] = {}  # pending and resting, by client id
        self._bids: list[SimOrder] = []  # resting, best first
        self._asks: list[SimOrder] = []
        self._our_bid = NO_BID  # cached best of ours: the hot path's only test
        self._our_ask = NO_ASK
        self._arrivals: list[Arrival] = []  # heap by (arrival exchange time, sequence)
        self._next_arrival_ns = NEVER_NS
        self._feed_delay_ns = 0  # receive minus exchange time of the latest event (signed)
        self._sequence = 0
        self._fill_sequence = 0
        self._position = 0
        self._bid_price = self._bid_size = self._ask_price = self._ask_size = 0
        self._bid_taken = self._ask_taken = 0  # L1 size our taker orders consumed since the quote
        self._taken_dirty = False
        self._bid_traded = self._ask_traded = (
            0  # trades at the best since the quote (probabilistic)
        )
        self._counts = {"maker_fills": 0, "taker_fills": 0, "maker_lots": 0, "taker_lots": 0}
        self._fees_usd = 0.0
        self._funding_usd = 0.0
        self._reason_counts: dict[str, int] = {}
        self._unknown_order_commands = 0

    def open_with_position(self, lots: int) -> None:
        """Start from a position held before this session (a paper account that restarted)."""
        if self._counts["maker_fills"] or self._counts["taker_fills"]:
            raise ValueError("the starting position must be set before the first fill")
        self._position = lots

    # ----------------------------------------------------------------- queries

    @property
    def position_lots(self) -> int:
        """Signed position in lots: the opening position plus our fills."""
        return self._position

    def tx_used(self, now_ns: int) -> int:
        """Commands counted in the rolling 60 s window ending at now_ns (send time)."""
        return self._budget.used(now_ns)

    def stats(self) -> dict[str, object]:
        """Counters for reports and the end-of-run summary."""
        return {
            "venue": self.venue_name,
            "position_lots": self._position,
            "resting_orders": len(self._bids) + len(self._asks),
            "pending_commands": len(self._arrivals),
            "maker_fills": self._counts["maker_fills"],
            "taker_fills": self._counts["taker_fills"],
            "maker_volume_lots": self._counts["maker_lots"],
            "taker_volume_lots": self._counts["taker_lots"],
            "fees_usd": self._fees_usd,
            "funding_usd": self._funding_usd,
            "tx_rejected": self.tx_rejected,
            "reason_counts": dict(sorted(self._reason_counts.items())),
            "unknown_order_commands": self._unknown_order_commands,
        }

    # ----------------------------------------------------------------- commands

    def submit(self, commands: Sequence[Command], now_ns: int) -> None:
        """Send commands at bot time now_ns; each costs a tx and reaches matching after latency."""
        for command in commands:
            if self._budget.try_consume(now_ns):
                self._accept(command, now_ns)
            else:
                self.tx_rejected += 1
                self._refuse(command, now_ns, BUDGET_REASON)

    def _accept(self, command: Command, now_ns: int) -> None:
        if isinstance(command, PlaceOrder):
            self._accept_place(command, now_ns)
        elif isinstance(command, ModifyOrder):
            problem = self._size_problem(command.price, command.size)
            if problem:
                self._refuse(command, now_ns, problem)
            else:
                self._schedule(now_ns, self._order_latency_ns, command, None)
        elif isinstance(command, CancelOrder | CancelAll):
            self._schedule(now_ns, self._cancel_latency_ns, command, None)
        else:
            raise TypeError(f"not a venue command: {command!r}")

    def _accept_place(self, command: PlaceOrder, now_ns: int) -> None:
        if command.client_id in self._orders:
            problem = DUPLICATE_REASON
        else:
            problem = self._size_problem(command.price, command.size)
        if problem:
            self._refuse(command, now_ns, problem)
            return
        order = SimOrder(
            command.client_id,
            int(command.side),
            command.price,
            command.size,
            command.tag,
            command.post_only,
            command.reduce_only,
            command.immediate_or_cancel,
        )
        self._orders[command.client_id] = order
        taker = command.immediate_or_cancel and not command.post_only
        latency_ns = self._taker_latency_ns if taker else self._order_latency_ns
        self._schedule(now_ns, latency_ns, command, order)

    def _size_problem(self, price: int, size: int) -> str:
        """The venue's synchronous validation (sendTx answers at once): '' when acceptable."""
        if size <= 0:
            return "21701 invalid base amount"
        if price <= 0:
            return "21702 invalid price"
        if size < self.market.min_lots_at(price):
            return MINIMUM_REASON
        return ""

    def _refuse(self, command: Command, now_ns: int, reason: str) -> None:
        """Report a command refused at send time; refused cancels and modifies leave orders live."""
        self._reason_counts[reason] = self._reason_counts.get(reason, 0) + 1
        if isinstance(command, PlaceOrder):
            rejected = OrderStatus.REJECTED
            self._sink.on_order_update(
                OrderUpdate(now_ns, command.client_id, rejected, command.size, reason)
            )
            return
        if isinstance(command, CancelAll):
            targets = list(self._orders.values())
        else:
            order = self._orders.get(command.client_id)
            targets = [order] if order is not None else []
        for order in targets:
            self._sink.on_order_update(
                OrderUpdate(
                    now_ns,
                    order.client_id,
                    order.status,
                    order.remaining,
                    reason,
                    price=order.price,
                    refused=True,
                )
            )

    def _schedule(
        self, now_ns: int, latency_ns: int, command: Command, order: SimOrder | None
    ) -> None:
        if self._jitter_ns:
            latency_ns += int(self._latency_rng.random() * self._jitter_ns)
        self._sequence += 1
        heapq.heappush(self._arrivals, (now_ns + latency_ns, self._sequence, command, order))
        self._next_arrival_ns = self._arrivals[0][0]

    # ----------------------------------------------------------------- market events

    def next_due_ns(self) -> int:
        """Bot time at which the next command in flight reaches matching (NEVER when none)."""
        if not self._arrivals:
            return NEVER_NS
        return self._arrivals[0][0] + self._feed_delay_ns

    def advance(self, now_ns: int) -> None:
        """Apply the commands due by bot time now_ns, mapped to exchange time with the feed delay.

        Market events apply what is due by their exact exchange time themselves; this call is
        for stretches without events (and the end of a replay). The latest event's receive minus
        exchange time maps the bot clock onto the exchange clock.
        """
        exchange_now_ns = now_ns - self._feed_delay_ns
        if exchange_now_ns >= self._next_arrival_ns:
            self._arrive_due(exchange_now_ns, now_ns)

    # ----------------------------------------------------------------- fast forward (replay)

    def reach(self) -> tuple[int, int, int]:
        """What decides which market events can touch our orders here.

        (our best bid, our best ask, next command arrival in exchange time). A book event with
        both sides shown, its bid above our best bid and its ask below our best ask, at unchanged
        prices; a trade that cannot reach our prices; both before the next arrival (in exchange
        and in bot time): such events change nothing here but what `fast_forward` sets.
        """
        return self._our_bid, self._our_ask, self._next_arrival_ns

    @property
    def feed_delay_ns(self) -> int:
        """Receive minus exchange time of the latest event seen (maps bot time to matching)."""
        return self._feed_delay_ns

    def fast_forward(self, feed_delay_ns: int, bid_size: int, ask_size: int) -> None:
        """The effect of events that `reach` says cannot touch us, skipped by a replay: the
        last one's feed delay and, if any was a book event at unchanged prices (sizes >= 0),
        the last displayed sizes and the reset of what our taker orders took from them."""
        self._feed_delay_ns = feed_delay_ns
        if bid_size >= 0:
            self._bid_size = bid_size
            self._ask_size = ask_size
            if self._taken_dirty:
                self._bid_taken = self._ask_taken = 0
                self._taken_dirty = False

    def on_book(
        self,
        ts_ns: int,
        exchange_ts_ns: int,
        bid_price: int,
        bid_size: int,
        ask_price: int,
        ask_size: int,
    ) -> None:
        """A new L1 quote (size 0 = empty side); re-measures the queue of orders it shows."""
        self._feed_delay_ns = ts_ns - exchange_ts_ns
        if exchange_ts_ns >= self._next_arrival_ns:
            self._arrive_due(exchange_ts_ns, ts_ns)
        if self._our_bid >= bid_price or bid_size == 0:
            self._requeue(
                self._bids,
                1,
                bid_price,
                bid_size,
                self._bid_price,
                self._bid_size,
                self._bid_traded,
            )
            self._bid_traded = 0
        if self._our_ask <= ask_price or ask_size == 0:
            self._requeue(
                self._asks,
                -1,
                ask_price,
                ask_size,
                self._ask_price,
                self._ask_size,
                self._ask_traded,
            )
            self._ask_traded = 0
        self._bid_price = bid_price
        self._bid_size = bid_size
        self._ask_price = ask_price
        self._ask_size = ask_size
        if self._taken_dirty:
            self._bid_taken = self._ask_taken = 0
            self._taken_dirty = False

    def on_trade(
        self, ts_ns: int, exchange_ts_ns: int, price: int, size: int, aggressor: int
    ) -> None:
        """A public trade; aggressor +1 = a buy lifted asks, -1 = a sell hit bids."""
        self._feed_delay_ns = ts_ns - exchange_ts_ns
        if exchange_ts_ns >= self._next_arrival_ns:
            self._arrive_due(exchange_ts_ns, ts_ns)
        if aggressor < 0:
            if self._our_bid >= price:
                self._match(self._bids, 1, price, size, exchange_ts_ns, ts_ns)
        elif aggressor > 0 and self._our_ask <= price:
            self._match(self._asks, -1, price, size, exchange_ts_ns, ts_ns)

    def on_funding(self, ts_ns: int, rate: float, mark: float) -> None:
        """Funding settles on held inventory: longs pay positive rates (amount = -pos*mark*rate)."""
        if self._position == 0:
            return
        position = self.market.lots_to_size(self._position)
        amount_usd = -position * mark * rate
        self._funding_usd += amount_usd
        self._sink.on_funding(
            FundingPayment(
                self.venue_name, ts_ns, self.market.symbol, rate, position, mark, amount_usd
            )
        )

    # ----------------------------------------------------------------- arrivals

    def _arrive_due(self, exchange_ns: int, report_ns: int) -> None:
        arrivals = self._arrivals
        while arrivals and arrivals[0][0] <= exchange_ns:
            arrival_ns, _, command, order = heapq.heappop(arrivals)
            self._next_arrival_ns = arrivals[0][0] if arrivals else NEVER_NS
            if order is not None:
                self._arrive_place(order, arrival_ns, report_ns)
            elif isinstance(command, ModifyOrder):
                self._arrive_modify(command, arrival_ns, report_ns)
            elif isinstance(command, CancelOrder):
                self._arrive_cancel(command.client_id, report_ns)
            elif isinstance(command, CancelAll):
                self._arrive_cancel_all(command.reason, report_ns)
        self._next_arrival_ns = arrivals[0][0] if arrivals else NEVER_NS

    def _arrive_place(self, order: SimOrder, arrival_ns: int, report_ns: int) -> None:
        self._sequence += 1
        order.sequence = self._sequence
        order.live_from_ns = arrival_ns
        self._enter(order, report_ns, OrderStatus.REJECTED)

    def _arrive_modify(self, command: ModifyOrder, arrival_ns: int, report_ns: int) -> None:
        """Cancel + new at arrival: the order keeps its client id but loses queue priority."""
        order = self._orders.get(command.client_id)
        if order is None:
            self._unknown_order_commands += 1
            return
        if order.status is not _OPEN:
            self._report(order, report_ns, f"modify {NOT_AT_VENUE_REASON}", refused=True)
            return
        self._unrest(order)
        order.price = command.price
        order.remaining = command.size
        self._sequence += 1
        order.sequence = self._sequence
        order.live_from_ns = arrival_ns
        self._enter(order, report_ns, OrderStatus.CANCELED)

    def _arrive_cancel(self, client_id: int, report_ns: int) -> None:
        order = self._orders.get(client_id)
        if order is None:  # already final (filled while the cancel flew) or never ours
            self._unknown_order_commands += 1
            return
        if order.status is not _OPEN:
            self._report(order, report_ns, f"cancel {NOT_AT_VENUE_REASON}", refused=True)
            return
        self._finish(order, OrderStatus.CANCELED, "", report_ns)

    def _arrive_cancel_all(self, reason: str, report_ns: int) -> None:
        # Only what rests now: orders still in flight arrive later and live (as on the venue).
        resting = sorted(self._bids + self._asks, key=lambda order: order.sequence)
        for order in resting:
            self._finish(order, OrderStatus.CANCELED, reason or "canceled-all", report_ns)

    def _enter(self, order: SimOrder, report_ns: int, refusal: OrderStatus) -> None:
        """Checks and matching of an order reaching the engine; it rests, fills or dies."""
        if order.reduce_only and not self._clip_reduce_only(order):
            self._finish(order, refusal, REDUCE_ONLY_REASON, report_ns)
            return
        if order.side > 0:
            crosses = self._ask_size > 0 and order.price >= self._ask_price
        else:
            crosses = self._bid_size > 0 and order.price <= self._bid_price
        if crosses:
            if order.post_only:
                self._finish(order, refusal, POST_ONLY_REASON, report_ns)
                return
            self._take(order, report_ns)
            if order.status.is_final:
                return
        if order.immediate_or_cancel:
            self._finish(order, OrderStatus.CANCELED, NO_LIQUIDITY_REASON, report_ns)
            return
        self._rest(order)
        self._report(order, report_ns, "")

    def _clip_reduce_only(self, order: SimOrder) -> bool:
        """Shrink a reduce-only order to the position; False when it would not reduce at all."""
        allowed = -self._position * order.side
        if allowed <= 0:
            return False
        if order.remaining > allowed:
            order.remaining = allowed
        return True

    # ----------------------------------------------------------------- book keeping

    def _rest(self, order: SimOrder) -> None:
        """Put an order on our book with its queue ahead measured from the displayed L1."""
        side = order.side
        book_price, book_size = (
            (self._bid_price, self._bid_size) if side > 0 else (self._ask_price, self._ask_size)
        )
        if book_size == 0 or side * (order.price - book_price) > 0:
            order.ahead = 0  # inside the spread (or an empty side): front of a new level
        elif order.price == book_price:
            order.ahead = book_size  # risk averse: everyone displayed is ahead of us
        else:
            order.ahead = UNKNOWN_QUEUE  # behind the best: fills only through our price
        order.status = _OPEN
        bisect.insort(self._bids if side > 0 else self._asks, order, key=SimOrder.priority)
        self._refresh_best()

    def _unrest(self, order: SimOrder) -> None:
        (self._bids if order.side > 0 else self._asks).remove(order)
        order.status = _PENDING
        self._refresh_best()

    def _refresh_best(self) -> None:
        self._our_bid = self._bids[0].price if self._bids else NO_BID
        self._our_ask = self._asks[0].price if self._asks else NO_ASK

    def _finish(self, order: SimOrder, status: OrderStatus, reason: str, report_ns: int) -> None:
        if order.status is _OPEN:
            self._unrest(order)
        order.status = status
        self._orders.pop(order.client_id, None)
        if status is not OrderStatus.FILLED and reason:
            self._reason_counts[reason] = self._reason_counts.get(reason, 0) + 1
        self._report(order, report_ns, reason)

    def _report(
        self, order: SimOrder, report_ns: int, reason: str, *, refused: bool = False
    ) -> None:
        self._sink.on_order_update(
            OrderUpdate(
                report_ns,
                order.client_id,
                order.status,
                order.remaining,
                reason,
                price=order.price,
                refused=refused,
            )
        )

    def _requeue(
        self,
        orders: list[SimOrder],
        side: int,
        price: int,
        size: int,
        previous_price: int,
        previous_size: int,
        traded: int,
    ) -> None:
        """New L1 on our side: the queue ahead can never exceed what the level displays."""
        if size == 0:
            for order in orders:
                order.ahead = 0
            return
        level_key = side * price
        for order in orders:
            key = side * order.price
            if key < level_key:
                break
            if key > level_key:
                order.ahead = 0  # nobody displayed at our price any more
                continue
            if self._probabilistic and previous_price == price and order.ahead < UNKNOWN_QUEUE:
                # Trades already advanced us; only the rest of the decrease is cancels.
                self._maybe_advance(order, previous_size, previous_size - size - traded)
            if order.ahead > size:
                order.ahead = size

    def _maybe_advance(self, order: SimOrder, level_before: int, decrease: int) -> None:
        """Probabilistic model: a cancel at our level was ahead of us with chance f(x, y)."""
        if decrease <= 0 or order.ahead <= 0:
            return
        behind = level_before - order.ahead
        if self._queue_rng.random() < probability_ahead(
            order.ahead, behind, self.settings.queue_power
        ):
            order.ahead = max(0, order.ahead - decrease)

    # ----------------------------------------------------------------- matching

    def _match(
        self,
        orders: list[SimOrder],
        side: int,
        price: int,
        size: int,
        exchange_ns: int,
        report_ns: int,
    ) -> None:
        """Spend one public trade on our orders in price-time priority, each lot at most once."""
        if self._probabilistic:
            if side > 0 and price == self._bid_price:
                self._bid_traded += size
            elif side < 0 and price == self._ask_price:
                self._ask_traded += size
        trade_key = side * price
        left = size
        others = 0  # trade quantity spent on other participants queued ahead at the trade price
        for order in tuple(orders):
            key = side * order.price
            if key < trade_key:
                break
            if order.status is not _OPEN or order.live_from_ns > exchange_ns:
                continue
            if key == trade_key:
                if order.ahead >= UNKNOWN_QUEUE:
                    continue
                waiting = order.ahead - others
                if waiting > 0:
                    used = waiting if waiting < left else left
                    left -= used
                    others += used
                order.ahead = order.ahead - others if order.ahead > others else 0
            if left > 0:
                wanted = order.remaining if order.remaining < left else left
                left -= self._maker_fill(order, wanted, report_ns)

    def _maker_fill(self, order: SimOrder, lots: int, report_ns: int) -> int:
        done = self._apply_fill(order, order.price, lots, Role.MAKER, report_ns)
        if order.remaining == 0:
            self._finish(order, OrderStatus.FILLED, "", report_ns)
        elif order.reduce_only and -self._position * order.side <= 0:
            self._finish(order, OrderStatus.CANCELED, REDUCE_ONLY_REASON, report_ns)
        elif done:
            self._report(order, report_ns, "")
        return done

    def _take(self, order: SimOrder, report_ns: int) -> None:
        """Execute a crossing order against the opposite L1 (and beyond at an impact price)."""
        if order.side > 0:
            best, displayed, taken = self._ask_price, self._ask_size, self._ask_taken
        else:
            best, displayed, taken = self._bid_price, self._bid_size, self._bid_taken
        executions = taker_fills(
            order.side,
            order.price,
            order.remaining,
            best,
            displayed,
            taken,
            self.settings.impact_bps_per_l1,
        )
        for price, lots in executions:
            done = self._apply_fill(order, price, lots, Role.TAKER, report_ns)
            if price == best and done:
                self._taken_dirty = True
                if order.side > 0:
                    self._ask_taken += done
                else:
                    self._bid_taken += done
            if done < lots:
                break
        if order.remaining == 0:
            self._finish(order, OrderStatus.FILLED, "", report_ns)
        elif order.reduce_only and -self._position * order.side <= 0:
            self._finish(order, OrderStatus.CANCELED, REDUCE_ONLY_REASON, report_ns)

    def _apply_fill(
        self, order: SimOrder, price: int, lots: int, role: Role, report_ns: int
    ) -> int:
        """Book one execution and report it; reduce-only orders never grow |position|."""
        if order.reduce_only:
            allowed = -self._position * order.side
            if lots > allowed:
                lots = max(0, allowed)
        if lots <= 0:
            return 0
        order.remaining -= lots
        order.filled += lots
        self._position += order.side * lots
        maker = role is Role.MAKER
        fee_bps = self.settings.maker_fee_bps if maker else self.settings.taker_fee_bps
        price_usd = self.market.ticks_to_price(price)
        size = self.market.lots_to_size(lots)
        fee_usd = price_usd * size * fee_bps / 10_000.0
        self._fees_usd += fee_usd
        self._fill_sequence += 1
        self._counts["maker_fills" if maker else "taker_fills"] += 1
        self._counts["maker_lots" if maker else "taker_lots"] += lots
        fill = Fill(
            venue=self.venue_name,
            trade_id=f"{self.venue_name}-{self._fill_sequence}",
            ts_ns=report_ns,
            market=self.market.symbol,
            side=Side(order.side),
            price=price_usd,
            size=size,
            role=role,
            fee_usd=fee_usd,
            client_id=order.client_id,
            tag=order.tag.value,
            mid=self._mid(),
        )
        self._sink.on_fill(fill)
        return lots

    def _mid(self) -> float | None:
        if self._bid_size > 0 and self._ask_size > 0:
            return self.market.ticks_to_price(self._bid_price + self._ask_price) / 2.0
        return None
