"""LighterVenue: market data, account state and order entry for one market, composed."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import math
import random
import time
from collections.abc import AsyncIterator, Callable, Collection, Sequence
from typing import Any, Protocol

from solbot.adapters.venues.lighter.account_stream import AccountState, AccountStream
from solbot.adapters.venues.lighter.auth import AuthTokens
from solbot.adapters.venues.lighter.backoff import GaveUp
from solbot.adapters.venues.lighter.budget import Priority, RequestBudget
from solbot.adapters.venues.lighter.errors import LighterError
from solbot.adapters.venues.lighter.events import FeedStatus, LighterEvent
from solbot.adapters.venues.lighter.messages import ALREADY_SUBSCRIBED, FrameParser
from solbot.adapters.venues.lighter.nonce import NonceManager
from solbot.adapters.venues.lighter.orders import OrderTable
from solbot.adapters.venues.lighter.rest import LighterRest
from solbot.adapters.venues.lighter.sender import TxSender
from solbot.adapters.venues.lighter.settings import LighterSettings
from solbot.adapters.venues.lighter.signer import Signer
from solbot.adapters.venues.lighter.ws import Subscription, WsConnection
from solbot.core.model import CancelAll, CancelOrder, Command, Fill, MarketSpec, OrderUpdate
from solbot.errors import RuntimeFailure

log = logging.getLogger(__name__)
SHUTDOWN_ATTEMPTS = 3  # forced cancel-all requests at close (a refused one is re-queued)
SHUTDOWN_DRAIN_S = 3.0  # how long the stream may take to report our orders final at close


NEVER_NS = 1 << 62
MINUTE_NS = 60_000_000_000


class SendLog(Protocol):
    """Where the account's requests of the last minute outlive the process (the ledger)."""

    def record_request(self, account_index: int, at_ns: int) -> None: ...

    def requests_since(self, account_index: int, since_ns: int) -> list[int]: ...


class LighterVenue:
    """The live venue. `start()` reconciles before anything is quoted; `submit()` only queues."""

    market: MarketSpec

    def __init__(
        self,
        settings: LighterSettings,
        signer: Signer,
        *,
        rng: random.Random | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        wall_ns: Callable[[], int] = time.time_ns,
        send_log: SendLog | None = None,
    ) -> None:
        self.settings = settings
        self.signer = signer
        self._monotonic = monotonic
        self._wall_ns = wall_ns
        self._send_log = send_log
        self._rng = rng or random.Random(settings.account_index)
        self.budget = RequestBudget(
            settings.requests_per_minute,
            quote_reserve=settings.quote_reserve,
            query_reserve=settings.query_reserve,
            cooldown_s=settings.rate_limit_cooldown_s,
            safety_margin=settings.rate_limit_margin,
            shutdown_reserve=settings.shutdown_reserve,
        )
        self.seeded_requests = self._seed_budget()
        self.tokens = AuthTokens(signer, settings.auth_token_lifetime_s, monotonic)
        self.rest = LighterRest(
            settings.rest_url,
            self.budget,
            auth_token=self.tokens.current,
            timeout_s=settings.http_timeout_s,
            monotonic=monotonic,
            on_request=self._journal if send_log is not None else None,
            wall_ns=wall_ns,
        )
        self.nonces = NonceManager(self._fetch_nonce)
        self.orders = OrderTable()
        self._events: asyncio.Queue[LighterEvent | None] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []
        self._rearm = asyncio.Event()
        self.parser: FrameParser | None = None
        self.ws: WsConnection | None = None
        self.sender: TxSender | None = None
        self.started = False
        self.bad_frames = 0
        self.last_error = ""
        self.failed_task = ""
        self.dead_man_armed = False  # a schedule was queued: abort it on a clean stop
        self.account = AccountStream(known_good_ns=wall_ns())
        self.account_stale_s = settings.account_stale_s  # the profile's stale limit
        self.account_alerts: list[str] = []  # why the account stream went bad, for the runner
        self.rest_fills = 0  # fills found by reading trades back from REST

    def _seed_budget(self) -> int:
        """Requests an earlier run of this account sent in the last minute still count."""
        if self._send_log is None:
            return 0
        now_ns, now_s = self._wall_ns(), self._monotonic()
        sent = self._send_log.requests_since(self.settings.account_index, now_ns - MINUTE_NS)
        self.budget.seed([now_s - (now_ns - at_ns) / 1e9 for at_ns in sent], now_s)
        if sent:
            log.info("lighter: %d request(s) of an earlier run still count this minute", len(sent))
        return len(sent)

    def _journal(self, at_ns: int) -> None:
        assert self._send_log is not None
        try:
            self._send_log.record_request(self.settings.account_index, at_ns)
        except RuntimeFailure as error:  # the request went: a ledger hiccup must not undo that
            log.warning("lighter: request not journalled: %s", error)

    def tx_room(self) -> int:
        """Requests the budget still allows cancels and hedges now (the engine plans within)."""
        return self.budget.available(Priority.CANCEL, self._monotonic())

    # --- life cycle ------------------------------------------------------------------------

    async def start(
        self, known_client_ids: Collection[int] = (), booked_until_ns: int | None = None
    ) -> None:
        """Market details, nonce, reconcile (orders + position), then subscribe and send.

        `booked_until_ns` is the time of the newest fill already booked (in the ledger): account
        trades after it in the first snapshot are fills made while we were down, so they are
        reported as fills; older ones are history. Without it, history ends at start.
        """
        settings = self.settings
        self.market = await self.rest.market_spec(settings.market_id)
        start_ns = self._wall_ns()
        cutoff = start_ns if booked_until_ns is None else min(start_ns, booked_until_ns)
        self.parser = FrameParser(self.market, settings.account_index, history_cutoff_ns=cutoff)
        self.account = AccountStream(known_good_ns=cutoff)
        self.sender = TxSender(
            self.market,
            self.rest,
            self.signer,
            self.nonces,
            self.orders,
            self._emit,
            quote_max_age_s=settings.quote_max_age_s,
            batch_max=settings.batch_max,
            resting_order_lifetime_ms=self._resting_order_lifetime_ms(),
            retry=settings.retry,
            rng=self._rng,
            monotonic=self._monotonic,
            wall_ns=self._wall_ns,
        )
        await self.nonces.refresh(self.signer.api_key_index)
        await self._reconcile(set(known_client_ids), start_ns)
        self.ws = WsConnection(
            settings.ws_url,
            self._subscriptions(),
            self._on_frame,
            auth_token=self.tokens.fresh,
            on_state=self._on_ws_state,
            settings=settings.ws,
            rng=self._rng,
        )
        self._tasks = [
            asyncio.create_task(self.ws.run(), name="lighter-ws"),
            asyncio.create_task(self.sender.run(), name="lighter-sender"),
            asyncio.create_task(self._fill_reconcile_loop(), name="lighter-fill-reconcile"),
        ]
        if settings.dead_man_switch == "schedule":
            self._tasks.append(asyncio.create_task(self._dead_man_loop(), name="lighter-dead-man"))
        for task in self._tasks:
            task.add_done_callback(self._on_task_done)
        self.started = True

    def _resting_order_lifetime_ms(self) -> int | None:
        if self.settings.dead_man_switch != "order_expiry":
            return None
        return int(self.settings.dead_man_delay_s * 1000)

    async def _reconcile(self, known: set[int], now_ns: int) -> None:
        """Position and resting orders BEFORE quoting; cancel orders we do not know."""
        assert self.parser is not None and self.sender is not None
        account = await self.rest.account(self.settings.account_index)
        entries = [
            p for p in account.get("positions") or [] if p.get("market_id") == self.market.market_id
        ]
        self._emit(self.parser.position_from(entries[0] if entries else None, now_ns))
        active = await self.rest.active_orders(self.settings.account_index, self.market.market_id)
        resting = [self.parser.parse_order(o) for o in active]
        for venue_order in resting:
            if venue_order.client_id in known:
                self.orders.adopt(venue_order)  # the caller's: modify/cancel by its venue index
        unknown = [o for o in resting if o.client_id not in known]
        if not unknown:
            return
        log.warning("lighter: cancelling %d order(s) this session does not know", len(unknown))
        if len(unknown) == len(active):
            self.sender.submit([CancelAll("reconcile")], now_ns)
        else:
            self.sender.submit([CancelOrder(o.client_id or o.order_index) for o in unknown], now_ns)
        try:
            await self._send_queued(f"cancel {len(unknown)} leftover order(s)")
        except GaveUp as error:
            raise RuntimeFailure(f"lighter start-up: {error}") from None

    async def _send_queued(self, what: str) -> None:
        """Send what is queued now, within the budget; back off and give up on refusals."""
        assert self.sender is not None
        sender, limit = self.sender, self.settings.retry.max_attempts
        while len(sender.queue):
            if sender.consecutive_failures >= limit:
                raise GaveUp(what, sender.consecutive_failures, sender.last_error)
            if not await sender.flush():
                await asyncio.sleep(max(0.01, sender.wait_s()))

    def _subscriptions(self) -> list[Subscription]:
        market, account = self.settings.market_id, self.settings.account_index
        channels = [
            Subscription(f"order_book/{market}"),
            # Lighter serves account_all without a token today, but a venue that wants one
            # refuses it (20001) and we would be blind to our own fills: always send it.
            Subscription(self.account_channel, private=True),
        ]
        if self.settings.subscribe_account_orders:
            channels.append(Subscription(f"account_orders/{market}/{account}", private=True))
        if self.settings.subscribe_trades:
            channels.append(Subscription(f"trade/{market}"))
        if self.settings.subscribe_market_stats:
            channels.append(Subscription(f"market_stats/{market}"))
        if self.settings.subscribe_ticker:
            channels.append(Subscription(f"ticker/{market}"))
        return channels

    @property
    def account_channel(self) -> str:
        return f"account_all/{self.settings.account_index}"

    async def cancel_all_and_close(self) -> None:
        """Cancel our market's orders now (even past the budget), then stop and close.

        The stream keeps running until the venue has reported every order of ours final (or
        `SHUTDOWN_DRAIN_S` passed): a fill that happened before the cancel-all still arrives.
        When all of ours are gone, the dead-man schedule is aborted: it is account-wide at the
        venue and would otherwise fire minutes later on whatever rests then (other strategies'
        orders, or ours from a restart). While orders of ours may still rest, it stays armed.
        """
        try:
            if self.sender is not None:
                self.sender.submit([CancelAll("shutdown")], self._wall_ns())
                await self._stop_tasks(keep_stream=True)
                await self._flush_forced()
                await self._drain_stream()
                if self.dead_man_armed and not len(self.sender.queue) and not len(self.orders):
                    self.sender.abort_scheduled_cancel_all()
                    await self._flush_forced()
                    self.dead_man_armed = bool(len(self.sender.queue))
        finally:
            await self._stop_tasks()
            await self.rest.aclose()
            self._events.put_nowait(None)

    async def _flush_forced(self) -> None:
        assert self.sender is not None
        for _ in range(SHUTDOWN_ATTEMPTS):  # bounded: never hammer a refusing venue
            if not len(self.sender.queue) or not await self.sender.flush(force=True):
                break

    async def _drain_stream(self) -> None:
        deadline = self._monotonic() + SHUTDOWN_DRAIN_S
        while len(self.orders) and self.ws is not None and self.ws.connected:
            if self._monotonic() >= deadline:
                log.warning("lighter: %d order(s) not reported final at close", len(self.orders))
                return
            await asyncio.sleep(0.02)

    async def _stop_tasks(self, keep_stream: bool = False) -> None:
        if self.ws is not None and not keep_stream:
            await self.ws.stop()
        if self.sender is not None:
            self.sender.stop()  # let a request in flight finish: its outcome must be known
        stopping = [t for t in self._tasks if not (keep_stream and t.get_name() == "lighter-ws")]
        for task in stopping:
            if task.get_name() != "lighter-sender":
                task.cancel()
        grace_s = self.settings.http_timeout_s * 2 + 1
        if stopping:  # asyncio.wait: a task that failed was reported by its done-callback
            _, late = await asyncio.wait(stopping, timeout=grace_s)
            for task in late:
                task.cancel()
            if late:
                await asyncio.wait(late)
        self._tasks = [t for t in self._tasks if t not in stopping]

    # --- the Venue seam --------------------------------------------------------------------

    def submit(self, commands: Sequence[Command], now_ns: int) -> None:
        """Queue commands for the budgeted sender (never blocks, never signs)."""
        if self.sender is None:
            raise RuntimeFailure("LighterVenue.submit before start()")
        self.sender.submit(commands, now_ns)

    def advance(self, now_ns: int) -> None:
        """The venue matches and reports on its own stream; here only the account stream's
        silence is timed (a subscribe the venue never answers)."""
        wall_ns = self._wall_ns()
        if self.account.check_silence(wall_ns, int(self.account_stale_s * 1e9)):
            self._account_changed(wall_ns)

    def next_due_ns(self) -> int:
        return NEVER_NS

    def on_book(
        self, ts_ns: int, exchange_ts_ns: int, bid: int, bid_size: int, ask: int, ask_size: int
    ) -> None:
        """Market data needs no local matching on the real venue."""

    def on_trade(
        self, ts_ns: int, exchange_ts_ns: int, price: int, size: int, aggressor: int
    ) -> None:
        """Market data needs no local matching on the real venue."""

    async def events(self) -> AsyncIterator[LighterEvent]:
        """Model events in arrival order until `cancel_all_and_close()`."""
        while True:
            event = await self._events.get()
            if event is None:
                return
            yield event

    def health(self) -> dict[str, Any]:
        """Connection, book and sender state for telemetry and the session's guards."""
        now_ns = self._wall_ns()
        ws, parser, sender = self.ws, self.parser, self.sender
        last_frame = ws.last_frame_ns if ws is not None else 0
        errors = [e for e in (self.last_error, sender.last_error if sender else "") if e]
        last_book = parser.last_book_ns if parser is not None else 0
        account = self.account
        return {
            "connected": bool(ws and ws.connected) and not self.failed_task,
            "book_valid": bool(parser and parser.book.valid),
            "feed_age_s": (now_ns - last_frame) / 1e9 if last_frame else None,
            "book_age_s": (now_ns - last_book) / 1e9 if last_book else None,
            "account_live": account.live,
            "account_stream": account.state.value,
            "account_reason": account.reason,
            "budget_remaining": self.budget.remaining(self._monotonic()),
            "signature_failed": bool(sender and sender.signature_failed),
            "failed_task": self.failed_task,
            "last_error": errors[-1] if errors else (ws.last_error if ws else ""),
            **self.counters(),
        }

    def counters(self) -> dict[str, int]:
        """Monotonic counters: reconnects, book resyncs, txs sent and rejected, and more."""
        ws, sender = self.ws, self.sender
        counts = {
            "reconnects": ws.reconnects if ws else 0,
            "resyncs": ws.resyncs if ws else 0,
            "book_gaps": self.parser.book.gaps if self.parser else 0,
            "duplicate_trades": self.parser.duplicate_trades if self.parser else 0,
            "duplicate_fills": self.parser.duplicate_fills if self.parser else 0,
            "rest_fills": self.rest_fills,
            "bad_frames": self.bad_frames + (ws.bad_frames if ws else 0),
            "rest_requests": self.rest.requests_sent,
        }
        if sender is not None:
            counts.update(sender.counters)
        return counts

    # --- plumbing --------------------------------------------------------------------------

    def _emit(self, event: LighterEvent) -> None:
        if isinstance(event, FeedStatus):  # every status carries the account stream's state
            event = dataclasses.replace(event, account_live=self.account.live)
        self._events.put_nowait(event)

    def _account_changed(self, now_ns: int) -> None:
        """The account stream became live or stopped being live: tell the session."""
        account = self.account
        ws, parser = self.ws, self.parser
        reason = f"account stream {account.state.value}" + (
            f": {account.reason}" if account.reason else ""
        )
        if account.state in (AccountState.REFUSED, AccountState.SILENT):
            self.last_error = reason
            self.account_alerts = [*self.account_alerts[-9:], reason]  # bounded if nobody reads
            log.error("lighter: %s; quoting paused", reason)
        elif account.live:
            log.info("lighter: account stream live")
        connected = bool(ws and ws.connected) and not self.failed_task
        self._emit(FeedStatus(now_ns, connected, bool(parser and parser.book.valid), reason))

    def _on_frame(self, frame: dict[str, Any], recv_ns: int) -> None:
        assert self.parser is not None and self.ws is not None
        kind = str(frame.get("type", ""))
        if kind.endswith("/account_all") and self.account.confirmed(recv_ns):
            self._account_changed(recv_ns)
        try:
            result = self.parser.parse(frame, recv_ns)
        except (ValueError, KeyError, TypeError) as exc:
            self.bad_frames += 1
            self.last_error = f"bad frame {frame.get('type')!r}: {exc!r}"
            log.error("lighter: %s", self.last_error)
            return
        for venue_order in result.orders:
            self.orders.on_venue_order(venue_order)
        for event in result.events:
            if isinstance(event, OrderUpdate):
                self.orders.on_update(event)
            self._emit(event)
        for error in result.errors:
            self.last_error = f"ws error {error.code}: {error.message}"
            log.warning("lighter: %s", self.last_error)
            refused = error.code != ALREADY_SUBSCRIBED and self._about_account(error.message)
            if refused and self.account.refused(recv_ns, f"ws error {error.code}: {error.message}"):
                self._account_changed(recv_ns)

        for channel in result.resync_channels:
            self.ws.request_resync(channel)

    def _about_account(self, message: str) -> bool:
        channel = self.account_channel
        return channel in message or channel.replace("/", ":") in message

    def _on_ws_state(self, connected: bool, reason: str) -> None:
        if self.parser is None:
            return
        now_ns = self._wall_ns()
        if not connected:
            self.parser.book.invalidate(f"disconnected: {reason}")
            self.account.disconnected(now_ns, reason)
        else:
            self._rearm.set()
            self.account.subscribed(now_ns)  # the subscribes went out before this callback
        self._emit(FeedStatus(self._wall_ns(), connected, self.parser.book.valid, reason))

    def _on_task_done(self, task: asyncio.Task[None]) -> None:
        """A background task must never die quietly: say so and make quoting unsafe."""
        if task.cancelled() or task.exception() is None:
            return
        error = task.exception()
        self.failed_task = f"{task.get_name()}: {type(error).__name__}: {error}"
        self.last_error = self.failed_task
        log.error("lighter: background task failed: %s", self.failed_task, exc_info=error)
        if self.parser is not None:
            self.parser.book.invalidate(self.failed_task)
        self._emit(FeedStatus(self._wall_ns(), False, False, self.failed_task))

    async def _fill_reconcile_loop(self) -> None:
        """While the account stream has a gap, read our trades back from REST: every
        `fill_reconcile_s` while it stays down, and once more after it is live again."""
        while True:
            await asyncio.sleep(self.settings.fill_reconcile_s)
            since_ns = self.account.gap_since_ns
            if since_ns is None:
                continue
            try:
                await self.reconcile_fills(since_ns)
            except (LighterError, ValueError, KeyError, TypeError) as error:  # next round again
                log.warning("lighter: fill reconciliation from REST failed: %s", error)
                continue
            self.account.reconciled(since_ns)

    async def reconcile_fills(self, since_ns: int) -> list[Fill]:
        """Our trades since `since_ns` from REST, as fills the stream has not delivered."""
        assert self.parser is not None
        since_ms = max(0, since_ns // 1_000_000 - 1_000)  # a second early: clocks differ
        trades = await self.rest.trades(
            self.settings.account_index, self.market.market_id, since_ms=since_ms
        )
        now_ns = self._wall_ns()
        found: list[Fill] = []
        for trade in reversed(trades):  # oldest first, as they happened
            found.extend(self.parser.fills_from_rest(trade, now_ns))
        for fill in found:
            self._emit(fill)
        if found:
            self.rest_fills += len(found)
            log.warning(
                "lighter: %d fill(s) the stream missed were read back from REST", len(found)
            )
        return found

    async def _fetch_nonce(self, api_key_index: int) -> int:
        return await self.rest.next_nonce(self.settings.account_index, api_key_index)

    async def _dead_man_loop(self) -> None:
        """Keep a scheduled cancel-all ahead of now while healthy; stop refreshing when not.

        Armed every `dead_man_refresh_s`, and at once on a (re)connect when the last arming is
        older than that: the schedule survives a reconnect at the venue, and re-arming on every
        one would spend a tx of the 60/min budget per reconnect.
        """
        assert self.sender is not None
        delay_ms = int(self.settings.dead_man_delay_s * 1000)
        refresh_s = self.settings.dead_man_refresh_s
        armed_s = -math.inf
        due = True
        while True:
            if self._healthy() and (due or self._monotonic() - armed_s >= refresh_s):
                self.sender.schedule_cancel_all(self._wall_ns() // 1_000_000 + delay_ms)
                self.dead_man_armed = True
                armed_s = self._monotonic()
            self._rearm.clear()
            try:
                await asyncio.wait_for(self._rearm.wait(), refresh_s)
                due = False  # woken by a (re)connect
            except TimeoutError:
                due = True

    def _healthy(self) -> bool:
        sender = self.sender
        if self.failed_task or sender is None or sender.signature_failed:
            return False
        return bool(self.ws and self.ws.connected)
