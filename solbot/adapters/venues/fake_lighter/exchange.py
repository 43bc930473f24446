"""The fake venue's engine: runs the feed, drives the simulated matcher, queues frames.

Everything here is synchronous and takes `now_ns` as an argument; the aiohttp server owns the
clock, the sockets and the timers. Matching is the shared SimulatedExchange, fed with the public
feed; this package only speaks Lighter around it.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Sequence
from typing import Any, Protocol

from solbot.adapters.venues.fake_lighter import wire
from solbot.adapters.venues.fake_lighter.account import AccountLedger
from solbot.adapters.venues.fake_lighter.depth import BookPublisher, DepthModel
from solbot.adapters.venues.fake_lighter.feed import KIND_BOOK, MarketEvent, ReplaySchedule
from solbot.adapters.venues.fake_lighter.market import PublicMarket
from solbot.adapters.venues.fake_lighter.other_markets import OtherMarkets
from solbot.adapters.venues.fake_lighter.settings import FakeVenueConfig, FaultSettings
from solbot.adapters.venues.fake_lighter.txs import (
    ALL_MARKETS,
    CANCEL_ALL_ABORT,
    CANCEL_ALL_IMMEDIATE,
    ORDER_TYPE_MARKET,
    TIF_IOC,
    TIF_POST_ONLY,
    TxRejected,
)
from solbot.adapters.venues.fake_lighter.validation import (
    Accepted,
    Action,
    CancelAction,
    CancelAllAction,
    ModifyAction,
    PlaceAction,
    TxValidator,
)
from solbot.adapters.venues.simulated import FillModelSettings, SimulatedExchange
from solbot.core.model import (
    CancelAll,
    CancelOrder,
    Command,
    MarketSpec,
    ModifyOrder,
    PlaceOrder,
)
from solbot.core.venue import VenueSink

MS_NS = 1_000_000
STATS_INTERVAL_NS = 1_000_000_000
REJECTIONS_KEPT = 200


class Matcher(Protocol):
    """The part of SimulatedExchange the fake drives."""

    def submit(self, commands: Sequence[Command], now_ns: int) -> None: ...

    def on_book(
        self, ts_ns: int, exchange_ts_ns: int, bid: int, bid_size: int, ask: int, ask_size: int
    ) -> None: ...

    def on_trade(
        self, ts_ns: int, exchange_ts_ns: int, price: int, size: int, aggressor: int
    ) -> None: ...

    def advance(self, now_ns: int) -> None: ...


def simulated_matcher(market: MarketSpec, sink: VenueSink, seed: int) -> Matcher:
    """The shared simulated exchange with zero latency and no tx budget (the fake limits REST)."""
    settings = FillModelSettings(
        order_latency_ms=0,
        cancel_latency_ms=0,
        taker_latency_ms=0,
        tx_per_minute=10**9,
        maker_fee_bps=market.maker_fee_bps,
        taker_fee_bps=market.taker_fee_bps,
        seed=seed,
    )
    matcher: Matcher = SimulatedExchange(market, settings, sink, venue_name="lighter-fake")
    return matcher


class FakeExchange:
    """State of the fake venue: public market, the bot's account, nonces, queued frames."""

    def __init__(
        self,
        config: FakeVenueConfig,
        events: Iterable[MarketEvent],
        start_ns: int,
        matcher: Matcher | None = None,
    ) -> None:
        self.config = config
        self.market = config.market_with_fees
        # A private copy: knobs change at run time and one config may start several venues.
        self.faults: FaultSettings = copy.copy(config.faults)
        depth = DepthModel(
            config.depth_levels, config.depth_step_ticks, config.depth_unit_lots, config.seed
        )
        self.public = PublicMarket(
            self.market,
            depth,
            BookPublisher(config.seed),
            history=config.public_trade_history,
            funding_rate=config.funding_rate,
        )
        self.ledger = AccountLedger(self.market, config.account_index, self.public)
        self.other = OtherMarkets(config.other_markets, config.account_index)
        self.nonces: dict[int, int] = {}
        self.validator = TxValidator(
            config, self.market, self.ledger, self.nonces, self.faults, self.other
        )
        self.schedule = ReplaySchedule(events, start_ns, config.speed)
        self.scheduled_cancel_ms: int | None = None
        self.cancel_all_fired_ms: list[int] = []
        self.txs_accepted = 0
        self.rejections: list[dict[str, Any]] = []
        self.outbox: list[tuple[str, dict[str, Any]]] = []
        self._sim_ns = start_ns
        self._last_ticker: tuple[Any, Any] | None = None
        self._last_stats_ns = 0
        self.matcher = matcher or simulated_matcher(self.market, self.ledger, config.seed)

    # --- time and the public feed ----------------------------------------------------------

    def _sim_time(self, now_ns: int) -> int:
        """Matcher time never runs backwards, whatever order events and requests arrive in."""
        self._sim_ns = max(self._sim_ns, now_ns)
        return self._sim_ns

    def tick(self, now_ns: int) -> None:
        """Release due feed events, run the timers, queue every frame that became due."""
        for event in self.schedule.due(now_ns):
            self._apply_event(event, self.schedule.release_time(event))
        self._expire_orders(now_ns)
        self._fire_scheduled_cancel(now_ns)
        self.matcher.advance(self._sim_time(now_ns))
        self.flush(now_ns)

    def _apply_event(self, event: MarketEvent, release_ns: int) -> None:
        # The fake IS the exchange: receive and exchange time coincide (zero feed delay), and
        # never fall behind a command already sent, so the matcher sees one monotone clock.
        ts = self._sim_time(release_ns)
        if event.kind == KIND_BOOK:
            self.public.apply_book(event)
            self.matcher.on_book(ts, ts, event.bid, event.bid_size, event.ask, event.ask_size)
            return
        self.public.add_public_trade(event, ts)
        self.matcher.on_trade(ts, ts, event.price, event.size, event.aggressor)

    def _expire_orders(self, now_ns: int) -> None:
        now_ms = now_ns // MS_NS
        for order in self.ledger.active_orders():
            if order.order_expiry_ms and order.order_expiry_ms <= now_ms:
                order.fake_cancel_reason = wire.STATUS_CANCELED_EXPIRED
                self.matcher.submit([CancelOrder(order.order_index)], self._sim_time(now_ns))

    def _fire_scheduled_cancel(self, now_ns: int) -> None:
        due = self.scheduled_cancel_ms
        if due is None or now_ns // MS_NS < due:
            return
        self.scheduled_cancel_ms = None
        self.cancel_all_fired_ms.append(now_ns // MS_NS)
        self.other.cancel_all(ALL_MARKETS)  # the schedule covers the whole account
        command = CancelAll("scheduled cancel-all (dead man's switch)")
        self.matcher.submit([command], self._sim_time(now_ns))

    # --- frames ----------------------------------------------------------------------------

    def flush(self, now_ns: int) -> None:
        """Queue account, book, ticker, trade and stats frames for whatever changed."""
        self._flush_account()
        self._flush_book(now_ns)
        trades = self.public.take_pending_trades()
        if trades:
            self._emit("trade", self.public.trade_frame("update", trades))
        if self.faults.resend_old_trades:
            self._resend_old_trades(self.faults.resend_old_trades)
            self.faults.resend_old_trades = 0
        if now_ns - self._last_stats_ns >= STATS_INTERVAL_NS:
            self._last_stats_ns = now_ns
            self._emit("market_stats", self.public.stats_frame("update", now_ns))

    def _emit(self, kind: str, frame: dict[str, Any]) -> None:
        self.outbox.append((kind, frame))

    def take_outbox(self) -> list[tuple[str, dict[str, Any]]]:
        frames, self.outbox = self.outbox, []
        return frames

    def _flush_book(self, now_ns: int) -> None:
        own_bids, own_asks = self.ledger.resting_levels()
        bids, asks = self.public.compose_levels(own_bids, own_asks)
        skip = self.faults.skip_book_nonce > 0
        diff = self.public.publisher.publish(bids, asks, skip_nonce=skip)
        if diff.empty:
            return
        if skip:
            self.faults.skip_book_nonce -= 1
        self._emit("order_book", self.public.book_frame("update", diff, now_ns))
        best = self.public.publisher.best()
        if best != self._last_ticker:
            self._last_ticker = best
            self._emit("ticker", self.public.ticker_frame("update", now_ns))

    def _flush_account(self) -> None:
        orders, trades = self.ledger.take_changes()
        if not orders and not trades:
            return
        self._emit("account", self.ledger.account_frame("update", orders, trades))
        if orders:
            nonce = self.public.publisher.nonce
            self._emit("account_orders", self.ledger.account_orders_frame("update", orders, nonce))

    def _resend_old_trades(self, count: int) -> None:
        """Fault: re-send the last `count` trades as if new (clients must dedupe by trade_id)."""
        old_public = list(self.public.trades)[-count:]
        if old_public:
            self._emit("trade", self.public.trade_frame("update", old_public))
        old_account = self.ledger.trades[-count:]
        if old_account:
            self._emit("account", self.ledger.account_frame("update", [], old_account))

    def snapshot(self, kind: str, now_ns: int) -> dict[str, Any]:
        """The `subscribed/...` frame of a channel kind (history for trades and account)."""
        ledger = self.ledger
        if kind == "order_book":
            return self.public.book_frame("subscribed", None, now_ns)
        if kind == "ticker":
            return self.public.ticker_frame("subscribed", now_ns)
        if kind == "trade":
            recent = list(self.public.trades)[-self.config.trade_snapshot_size :]
            return self.public.trade_frame("subscribed", recent)
        if kind == "market_stats":
            return self.public.stats_frame("subscribed", now_ns)
        if kind == "account":
            # Recent history only, as Lighter does; older fills are on /api/v1/trades.
            history = ledger.trades[-self.config.trade_snapshot_size :]
            return ledger.account_frame("subscribed", ledger.active_orders(), history)
        if kind == "account_orders":
            nonce = self.public.publisher.nonce
            return ledger.account_orders_frame("subscribed", ledger.active_orders(), nonce)
        raise KeyError(kind)

    # --- signed transactions ---------------------------------------------------------------

    def send_tx(self, tx_type: int, tx_info: Any, now_ns: int) -> dict[str, Any]:
        """`sendTx`: raises TxRejected (nonce untouched) or executes and returns the 200 body."""
        try:
            accepted = self.validator.single(tx_type, tx_info, now_ns)
        except TxRejected as rejected:
            self._record_rejection(tx_type, rejected)
            raise
        self._execute(accepted, now_ns)
        return self._accepted_body(now_ns, accepted.hashes[0])

    def send_tx_batch(self, tx_types: Any, tx_infos: Any, now_ns: int) -> dict[str, Any]:
        """`sendTxBatch`: every tx validates (in order) or none is applied."""
        try:
            accepted = self.validator.batch(tx_types, tx_infos, now_ns)
        except TxRejected as rejected:
            self._record_rejection(-1, rejected)
            raise
        self._execute(accepted, now_ns)
        return self._accepted_body(now_ns, accepted.hashes)

    def _accepted_body(self, now_ns: int, hashes: str | list[str]) -> dict[str, Any]:
        return {
            "code": 200,
            "message": "ok",
            "tx_hash": hashes,
            "predicted_execution_time_ms": now_ns // MS_NS + 1,
            "volume_quota_remaining": 1_000_000,
        }

    def _record_rejection(self, tx_type: int, rejected: TxRejected) -> None:
        entry = {"tx_type": tx_type, "code": rejected.code, "message": rejected.message}
        self.rejections.append(entry)
        del self.rejections[:-REJECTIONS_KEPT]

    def _execute(self, accepted: Accepted, now_ns: int) -> None:
        self.nonces[accepted.api_key_index] = accepted.next_nonce
        self.txs_accepted += len(accepted.actions)
        now = self._sim_time(now_ns)
        for action in accepted.actions:
            command = self._command_for(action)
            if command is not None:
                self.matcher.submit([command], now)
        self.matcher.advance(now)
        self.flush(now_ns)

    def _command_for(self, action: Action) -> Command | None:
        if not isinstance(action, CancelAllAction) and action.other_market is not None:
            self._other_market_action(action)
            return None
        if isinstance(action, PlaceAction):
            order = action.order
            self.ledger.add(order)
            immediate = order.time_in_force == TIF_IOC or order.order_type == ORDER_TYPE_MARKET
            return PlaceOrder(
                client_id=order.order_index,
                side=order.side,
                price=order.price,
                size=order.initial_base,
                post_only=order.time_in_force == TIF_POST_ONLY,
                reduce_only=order.reduce_only,
                immediate_or_cancel=immediate,
            )
        if isinstance(action, CancelAction):
            return CancelOrder(action.order_index)
        if isinstance(action, ModifyAction):
            self.ledger.orders[action.order_index].price = action.price
            return ModifyOrder(action.order_index, action.price, action.size)
        if action.time_in_force == CANCEL_ALL_IMMEDIATE:
            self.other.cancel_all(action.market_index)
            if action.market_index in (ALL_MARKETS, self.market.market_id):
                return CancelAll("cancel-all tx")
            return None
        abort = action.time_in_force == CANCEL_ALL_ABORT
        self.scheduled_cancel_ms = None if abort else action.time_ms
        return None

    def _other_market_action(self, action: PlaceAction | CancelAction | ModifyAction) -> None:
        if isinstance(action, PlaceAction):
            assert action.other_market is not None
            self.other.add(action.other_market, action.order)
        elif isinstance(action, CancelAction):
            self.other.cancel(action.order_index)
        else:
            self.other.modify(action.order_index, action.price, action.size)

    # --- test and operator view ------------------------------------------------------------

    def state(self, now_ns: int) -> dict[str, Any]:
        """Everything a test asserts on: orders, fills, position, nonces, book, txs."""
        ledger = self.ledger
        position = ledger.position
        publisher = self.public.publisher
        best_bid, best_ask = publisher.best()
        return {
            "now_ms": now_ns // MS_NS,
            "account_index": self.config.account_index,
            "market": {"symbol": self.market.symbol, "market_id": self.market.market_id},
            "orders": [ledger.order_wire(order) for order in ledger.orders.values()],
            "other_market_orders": self.other.all_wire(),
            "active_orders": ledger.active_count(),
            "fills": list(ledger.trades),
            "position": {
                "lots": position.lots,
                "size": wire.size_text(position.lots, self.market),
                "avg_entry_price": position.avg_entry_price,
                "realized_pnl_usd": round(position.realized_pnl_usd, 9),
                "fees_usd": round(position.fees_usd, 9),
            },
            "nonces": {str(key): value for key, value in self.nonces.items()},
            "book": {
                "nonce": publisher.nonce,
                "offset": publisher.offset,
                "updates": publisher.updates,
                "gaps_injected": publisher.gaps_injected,
                "best_bid": list(best_bid) if best_bid else None,
                "best_ask": list(best_ask) if best_ask else None,
                "public_top": list(self.public.top) if self.public.top else None,
            },
            "feed": {"released": self.schedule.released, "exhausted": self.schedule.exhausted},
            "public_trades": len(self.public.trades),
            "last_trade_id": self.public.last_trade_id,
            "scheduled_cancel_all_ms": self.scheduled_cancel_ms,
            "cancel_all_fired_ms": list(self.cancel_all_fired_ms),
            "txs": {"accepted": self.txs_accepted, "rejected": list(self.rejections)},
            "funding_payments": len(ledger.funding),
            "anomalies": list(ledger.anomalies),
            "faults": self.faults.as_dict(),
        }
