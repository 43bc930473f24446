"""`solbot run`: the session loop on live market data, paper (default) or live orders."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import os
import signal
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from solbot.adapters.storage.ledger import Ledger
from solbot.adapters.storage.trace import TraceWriter
from solbot.adapters.telemetry.alerts import AlertSender, BurstWindow
from solbot.adapters.telemetry.metrics import Telemetry
from solbot.adapters.telemetry.server import TelemetryServer
from solbot.adapters.venues.lighter.events import LighterEvent
from solbot.adapters.venues.lighter.public_feed import PublicFeed
from solbot.adapters.venues.lighter.settings import LighterSettings
from solbot.adapters.venues.lighter.signer import LighterSdkSigner
from solbot.adapters.venues.lighter.venue import LighterVenue
from solbot.adapters.venues.simulated import FillModelSettings, SimulatedExchange
from solbot.app.credentials import (
    Credentials,
    chain_id_for,
    dead_man_switch_from_environment,
    signer_from_environment,
)
from solbot.app.driver import Driver, SystemClock, run_clock
from solbot.app.session import Session
from solbot.config.compile import compile_policy
from solbot.config.loader import ConfigDir, ResolvedProfile, resolve_profile
from solbot.config.markets import MarketEntry, VenueTier, config_dir_markets, markets_with
from solbot.config.profile_market import profile_market, profile_tier
from solbot.core.clock import Clock
from solbot.core.engine import CompiledPolicy, Engine
from solbot.core.model import BookTop, FeedStatus, MarketSpec
from solbot.core.venue import DrivenVenue
from solbot.errors import KillLatched, RuntimeFailure, SolbotError, UsageError

log = logging.getLogger("solbot.run")
NS = 1_000_000_000
TRACE_FLUSH_S = 1.0  # a kill -9 loses at most this much of the trace
RECONNECT_BURST = 3  # reconnects within RECONNECT_WINDOW_S raise the `reconnects` alert
RECONNECT_WINDOW_S = 60.0
DEFAULT_STALE_S = 10.0  # /health's limit when the profile sets no stale-feed limit
RELOAD_SETTLE_S = 1.0  # an edited file is reloaded once its size and time held this long


@dataclass(frozen=True, slots=True)
class FileStamp:
    """What identifies one version of a watched file; inode changes on an atomic rename."""

    mtime_ns: int
    size: int
    inode: int

    @staticmethod
    def of(path: Path) -> FileStamp:
        try:
            stat = path.stat()
        except OSError:
            return FileStamp(-1, -1, -1)
        return FileStamp(stat.st_mtime_ns, stat.st_size, stat.st_ino)


@dataclass(frozen=True)
class RunRequest:
    profile: str
    rest_url: str
    ws_url: str
    db: Path
    config_dir: Path | None = None
    markets: Path | None = None  # a markets file adding to or overriding the bundled one
    live: bool = False
    chain_id: int | None = None
    market: str | None = None
    duration_s: float | None = None
    metrics_port: int | None = None
    metrics_host: str = "127.0.0.1"
    ack_kill: str | None = None
    alert_webhook: str | None = None
    flatten_on_kill: bool = False
    trace: Path | None = None
    status_interval_s: float = 1.0
    view: str = "json"  # json log lines, or "terminal" for the live table


class LiveRunner:
    """Owns the venue (live or paper), the session, telemetry and the stop logic."""

    def __init__(self, request: RunRequest, on_status: Callable[[dict[str, Any]], None]) -> None:
        self.request = request
        self.on_status = on_status
        self.stop_reason = ""
        self._stop = asyncio.Event()
        self._reload = asyncio.Event()
        self._interrupts = 0
        self.exit_code = 0
        self.session: Session | None = None
        self.paper: SimulatedExchange | None = None
        self.venue: LighterVenue | None = None
        self.feed: PublicFeed | None = None
        self.telemetry: Telemetry | None = None
        self.server: TelemetryServer | None = None
        self.alerts: AlertSender | None = None
        self._resolved: ResolvedProfile | None = None
        self._watched: dict[Path, FileStamp] = {}
        self._pending: dict[Path, FileStamp] = {}  # changed, waiting to hold still
        self._pending_since = 0.0
        self._monotonic: Callable[[], float] = time.monotonic
        self._last_reconnects = 0
        self._reconnect_burst = BurstWindow(RECONNECT_BURST, RECONNECT_WINDOW_S)
        self.trace: TraceWriter | None = None
        self._next_trace_flush = 0.0
        self._last_resyncs = 0
        self._budget_exhausted = False
        self._flattening = False
        self.clock: Clock = SystemClock()
        self.driver: Driver | None = None
        self._started = 0.0
        self._next_status = 0.0

    # ----- set-up ------------------------------------------------------------------------------

    def _policy(self, market: MarketSpec) -> tuple[ResolvedProfile, CompiledPolicy]:
        config_dir = ConfigDir.find(self.request.config_dir)
        resolved = resolve_profile(self.request.profile, config_dir)
        return resolved, compile_policy(resolved, market)

    def _entry(self) -> MarketEntry:
        """The profile's market and a check of its tier (unknown ones are errors, not defaults)."""
        config_dir = ConfigDir.find(self.request.config_dir)
        resolved = resolve_profile(self.request.profile, config_dir)
        overlays = config_dir_markets(config_dir.root)
        if self.request.markets is not None:
            overlays.append(self.request.markets)
        entry = profile_market(resolved, self.request.market, markets_with(overlays))
        profile_tier(entry, resolved)
        return entry

    def _check_latches(self, ledger: Ledger) -> None:
        latched = ledger.latched()
        ack = self.request.ack_kill
        if ack:
            if ack not in latched:
                raise UsageError(
                    f"--ack-kill {ack}: that rule is not latched (latched: "
                    f"{', '.join(latched) or 'none'})"
                )
            ledger.acknowledge(ack, time.time_ns())
            log.warning("kill rule %s acknowledged by the operator", ack)
            latched = [rule for rule in latched if rule != ack]
        if latched:
            raise KillLatched(latched)

    async def _start_live(
        self, entry: MarketEntry, ledger: Ledger
    ) -> tuple[MarketSpec, AsyncIterator[LighterEvent]]:
        credentials = Credentials.from_environment()
        chain_id = self.request.chain_id or chain_id_for(self.request.rest_url)
        settings = LighterSettings(
            account_index=credentials.account_index,
            api_key_index=credentials.api_key_index,
            rest_url=self.request.rest_url,
            ws_url=self.request.ws_url,
            chain_id=chain_id,
            market_id=entry.spec.market_id,
            dead_man_switch=dead_man_switch_from_environment(),
            account_stale_s=self._profile_stale_s(),
            requests_per_minute=self.account_tier(entry).tx_per_minute,
        )
        signer = signer_from_environment(self.request.rest_url, credentials, chain_id)
        if isinstance(signer, LighterSdkSigner):
            try:
                await signer.verify()  # the venue must know our key before anything is sent
            except SolbotError as error:
                await signer.close()
                raise RuntimeFailure(f"the venue does not accept this API key: {error}") from None
        # the budget starts with what an earlier run of this account sent in the last minute
        self.venue = LighterVenue(settings, signer, send_log=ledger)
        # fills made while we were down (after the newest one booked) are booked now
        await self.venue.start(booked_until_ns=ledger.newest_fill_ns("lighter", entry.spec.symbol))
        return self.venue.market, self.venue.events()

    def _profile_stale_s(self) -> float:
        """The profile's stale limit (guard.stale_feed), before the policy can be compiled."""
        config_dir = ConfigDir.find(self.request.config_dir)
        stale_s = resolve_profile(self.request.profile, config_dir).profile.guard.stale_feed
        return stale_s if stale_s > 0 else DEFAULT_STALE_S

    def _stale_s(self) -> float:
        """The running policy's stale limit: book and account stream freshness (/health)."""
        session = self.session
        stale_ns = session.policy.risk.stale_feed_ns if session is not None else 0
        return stale_ns / NS if stale_ns > 0 else DEFAULT_STALE_S

    async def _start_paper(
        self, entry: MarketEntry, ledger: Ledger
    ) -> tuple[MarketSpec, AsyncIterator[LighterEvent]]:
        self.feed = PublicFeed(self.request.rest_url, self.request.ws_url, entry.spec.market_id)
        await self.feed.start()
        return self.feed.market, self.feed.events()

    # ----- the run -----------------------------------------------------------------------------

    async def run(self) -> int:
        request = self.request
        entry = self._entry()
        with Ledger(request.db) as ledger:
            self._check_latches(ledger)
            start = self._start_live if request.live else self._start_paper
            try:
                market, events = await start(entry, ledger)
            except SolbotError:
                raise
            except (OSError, TimeoutError) as error:
                raise RuntimeFailure(f"venue unreachable at {request.rest_url}: {error}") from None
            self._resolved, policy = self._policy(market)
            self._watch_files()
            run_id = ledger.start_run(
                "run",
                self._resolved.name,
                policy.profile_sha256,
                policy.ruleset_sha256,
                {"rest_url": request.rest_url, "mode": "live" if request.live else "paper"},
            )
            alerts = self._resolved.profile.alerts
            self.alerts = AlertSender(
                request.alert_webhook or alerts.webhook_url,
                min_interval_s=alerts.min_interval,
                market=entry.key,
            )
            trace = None
            if request.trace is not None:
                trace = TraceWriter(
                    request.trace,
                    {
                        "profile": self._resolved.name,
                        "live": request.live,
                        "market": entry.key,
                        "market_spec": dataclasses.asdict(market),
                        "profile_sha256": policy.profile_sha256,
                        "ruleset_sha256": policy.ruleset_sha256,
                    },
                    # a plain trace is written through line by line (tail -f, crash-safe)
                    flush_bytes=0 if request.trace.suffix != ".gz" else 1 << 16,
                )
            self.trace = trace
            session = Session(
                policy,
                market_key=market.symbol,
                run_id=run_id,
                ledger=ledger,
                trace=trace,
                alerts=self.alerts,
            )
            self.session = session
            # A restart keeps the day's losses and the inventory's cost basis (issue 7 §5).
            family = "lighter" if request.live else "paper"
            seeded = session.seed_from_ledger(ledger, family, self.clock.now_ns())
            log.info("seeded from %d earlier fill(s) in the ledger", seeded.fills)
            venue: DrivenVenue
            if request.live:
                assert self.venue is not None
                venue = self.venue
            else:
                self.paper = self._paper_venue(entry, market, session, run_id)
                self.paper.open_with_position(session.engine.inventory_lots)
                venue = self.paper
            session.attach(venue)
            self.driver = Driver(session, venue, self.clock)
            self.telemetry = Telemetry(entry.key, self._resolved.name)
            server = None
            if request.metrics_port is not None:
                server = TelemetryServer(
                    self.telemetry,
                    request.metrics_host,
                    request.metrics_port,
                    stale_after_s=self._stale_s(),
                )
                self.server = server
                port = await server.start()
                log.info("metrics on http://%s:%d/metrics and /health", request.metrics_host, port)
            self._install_signal_handlers()
            tasks = [
                asyncio.create_task(self._consume(events), name="solbot-events"),
                asyncio.create_task(self._timer(), name="solbot-timer"),
                asyncio.create_task(self.alerts.run(), name="solbot-alerts"),
            ]
            try:
                await self._stop.wait()
            finally:
                await self._shutdown(tasks, server, ledger)
                if trace is not None:
                    trace.close()
        return self.exit_code

    def account_tier(self, entry: MarketEntry) -> VenueTier:
        """The account tier the profile names (an unknown name is an error, checked at start)."""
        config_dir = ConfigDir.find(self.request.config_dir)
        resolved = resolve_profile(self.request.profile, config_dir)
        return entry.tiers[profile_tier(entry, resolved)]

    def _paper_venue(
        self, entry: MarketEntry, market: MarketSpec, session: Session, run_id: str
    ) -> SimulatedExchange:
        assert self._resolved is not None
        tier = entry.tiers[profile_tier(entry, self._resolved)]
        settings = FillModelSettings(
            order_latency_ms=tier.order_latency_ms,
            cancel_latency_ms=tier.cancel_latency_ms,
            taker_latency_ms=tier.taker_latency_ms,
            maker_fee_bps=tier.maker_fee_bps,
            taker_fee_bps=tier.taker_fee_bps,
            tx_per_minute=tier.tx_per_minute,
        )
        return SimulatedExchange(market, settings, session, venue_name=f"paper-{run_id}")

    async def _consume(self, events: AsyncIterator[LighterEvent]) -> None:
        session = self.session
        driver = self.driver
        assert session is not None and driver is not None
        try:
            async for event in events:
                started = time.perf_counter()
                driver.event(event)
                if isinstance(event, BookTop) and self.telemetry is not None:
                    self.telemetry.observe_decision_latency(time.perf_counter() - started)
                if isinstance(event, FeedStatus) and not event.connected:
                    log.warning("venue connection lost: %s", event.reason)
                if session.halted and not self._stop.is_set():
                    self._halt()
        except Exception:
            log.exception("event loop failed")
            self.exit_code = 1
            self.stop_reason = "error"
            self._stop.set()
            raise

    async def _timer(self) -> None:
        """Clock ticks at the decision interval (wall time), then status, reload and stop."""
        driver = self.driver
        assert driver is not None
        self._started = self._monotonic()
        await run_clock(
            driver,
            lambda: driver.session.policy.decision_interval_ns,
            self._stop.is_set,
            self._after_tick,
        )

    def _after_tick(self, now_ns: int) -> None:
        request = self.request
        session = self.session
        assert session is not None
        if session.halted:
            self._halt()
        monotonic = self._monotonic()
        if monotonic >= self._next_status:
            self._next_status = monotonic + request.status_interval_s
            self._status(now_ns)
        if self.trace is not None and monotonic >= self._next_trace_flush:
            self._next_trace_flush = monotonic + TRACE_FLUSH_S
            self.trace.flush()
        if self._reload.is_set() or self._files_changed():
            self._reload.clear()
            self.reload()
        if request.duration_s is not None and monotonic - self._started >= request.duration_s:
            self.stop("duration")

    def _halt(self) -> None:
        self.exit_code = 10
        if self.alerts is not None and not self.stop_reason:
            session = self.session
            rules = (
                [kill.rule_id for kill in session.last_plan.decision.kills]
                if session is not None and session.last_plan is not None
                else []
            )
            self.alerts.event(
                "kill",
                "critical",
                f"kill rule latched: {', '.join(rules)}; orders "
                "cancelled, solbot stopped (restart with --ack-kill RULE)",
            )
        self.stop("kill rule latched")

    def _follow_stale_limit(self) -> None:
        """/health and the account stream's silence check use the running policy's limit (a
        hot reload may change it)."""
        stale_s = self._stale_s()
        if self.server is not None:
            self.server.stale_after_s = stale_s
        if self.venue is not None:
            self.venue.account_stale_s = stale_s

    def _account_alert(self) -> None:
        """The account stream was refused, went silent or dropped: quoting is paused, say so."""
        venue = self.venue
        if venue is None or not venue.account_alerts:
            return
        reasons, venue.account_alerts = venue.account_alerts, []
        if self.alerts is not None:
            self.alerts.event(
                "account_stream",
                "critical",
                f"{reasons[-1]}: our fills are not visible, quoting paused",
            )

    def _budget_alert(self, session: Session) -> None:
        """Edge-triggered alert when the tx budget runs out (and again after it recovered)."""
        exhausted = session.engine.tx_budget_left <= 0
        if exhausted and not self._budget_exhausted and self.alerts is not None:
            self.alerts.event("budget", "warning", "transaction budget exhausted for this minute")
        self._budget_exhausted = exhausted

    def stop(self, reason: str) -> None:
        if not self.stop_reason:
            self.stop_reason = reason
        self._stop.set()

    def _install_signal_handlers(self) -> None:
        loop = asyncio.get_running_loop()
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signal.SIGINT, self._on_interrupt)
            loop.add_signal_handler(signal.SIGTERM, self._on_interrupt)
            loop.add_signal_handler(signal.SIGHUP, self._reload.set)

    def _on_interrupt(self) -> None:
        self._interrupts += 1
        if self._interrupts >= 2:
            log.error("second interrupt: exiting at once (130)")
            os._exit(130)
        self.stop("signal")

    async def _shutdown(
        self, tasks: list[asyncio.Task[None]], server: TelemetryServer | None, ledger: Ledger
    ) -> None:
        """Cancel everything on the venue, stop tasks, flush the ledger."""
        session = self.session
        now_ns = self.clock.now_ns()
        if session is not None:
            session.shutdown(now_ns, self.stop_reason or "stop")
        if self.venue is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.venue.cancel_all_and_close(), 30)
            left = self.venue.orders.live_ids()
            if left:  # the venue refused or never confirmed the cancel-all
                log.error(
                    "%d order(s) may still rest on the venue (client ids %s); the dead-man "
                    "switch cancels them within %.0f s; check with the venue",
                    len(left),
                    left[:10],
                    self.venue.settings.dead_man_delay_s,
                )
                if self.exit_code == 0:
                    self.exit_code = 1
            if isinstance(self.venue.signer, LighterSdkSigner):
                with contextlib.suppress(Exception):  # the SDK's HTTP session, else logged open
                    await self.venue.signer.close()
        if self.paper is not None:
            self.paper.advance(now_ns + 5 * NS)
        if self.feed is not None:
            await self.feed.close()
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self.alerts is not None:
            await self.alerts.close()
        if server is not None:
            await server.stop()
        ledger.flush()
        self._status(time.time_ns(), final=True)

    # ----- hot reload ----------------------------------------------------------------------------

    def _config_files(self) -> list[Path]:
        resolved = self._resolved
        if resolved is None:
            return []
        root = resolved.config_dir.root
        files = [root / path for path in resolved.files]
        files += [root / include for include in resolved.profile.rules.include]
        return files

    def _watch_files(self) -> None:
        self._watched = {path: FileStamp.of(path) for path in self._config_files()}
        self._pending = {}

    def _files_changed(self) -> bool:
        """True once an edit is complete: the changed files were replaced by an atomic rename,
        or their size and time held still for RELOAD_SETTLE_S (an editor may still be writing
        a file that parses at half length)."""
        now = self._monotonic()
        current = {path: FileStamp.of(path) for path in self._watched}
        if current == self._watched:
            self._pending = {}
            return False
        renamed = all(
            stamp.inode not in (-1, self._watched[path].inode)
            for path, stamp in current.items()
            if stamp != self._watched[path]
        )
        if current != self._pending:
            self._pending, self._pending_since = current, now
            return renamed
        return renamed or now - self._pending_since >= RELOAD_SETTLE_S

    def reload(self) -> bool:
        """Validate the edited profile and rules fully, then swap; a bad edit keeps the old one."""
        session = self.session
        assert session is not None
        self._watch_files()  # report a bad edit once, not every 100 ms
        try:
            resolved, policy = self._policy(session.policy.market)
            dry_run(policy, session.engine, time.time_ns())
        except Exception as error:  # whatever the type: a reload must never stop the timer loop
            detail = str(error) if isinstance(error, SolbotError) else repr(error)
            log.error("reload refused, the running policy stays: %s", detail)
            return False
        session.policy = policy
        session.engine.replace_policy(policy)
        session.policy_reloaded()
        self._resolved = resolved
        self._watch_files()
        log.warning(
            "reloaded profile %s (profile %s, rules %s)",
            resolved.name,
            policy.profile_sha256[:12],
            policy.ruleset_sha256[:12],
        )
        return True

    # ----- status --------------------------------------------------------------------------------

    def _health(self) -> dict[str, Any]:
        if self.venue is not None:
            return self.venue.health()
        if self.feed is not None:
            return self.feed.health()
        return {}

    def _status(self, now_ns: int, final: bool = False) -> None:
        session = self.session
        if session is None:
            return
        health = self._health()
        if self.telemetry is not None:
            self.telemetry.update_from_session(session, now_ns)
            feed_age = health.get("feed_age_s")
            self.telemetry.set_venue(
                bool(health.get("connected")),
                bool(health.get("book_valid")),
                float("nan") if feed_age is None else feed_age,
                session.halted,
                book_age_s=health.get("book_age_s"),
                account_stream=str(health.get("account_stream", "none")),
                account_live=bool(health.get("account_live", True)),
            )
            self.telemetry.set_venue_duplicate_fills(int(health.get("duplicate_fills", 0)))
            reconnects = int(health.get("reconnects", 0))
            new = reconnects - self._last_reconnects
            for _ in range(new):
                self.telemetry.count_reconnect()
            burst = self._reconnect_burst.add(new, self._monotonic())
            if burst and self.alerts is not None:
                self.alerts.event(
                    "reconnects",
                    "warning",
                    f"{RECONNECT_BURST} or more venue reconnects within {RECONNECT_WINDOW_S:.0f} s"
                    f" ({reconnects} so far)",
                )
            self._last_reconnects = reconnects
            resyncs = int(health.get("resyncs", 0))
            for _ in range(resyncs - self._last_resyncs):
                self.telemetry.count_resync()
            self._last_resyncs = resyncs
        self._follow_stale_limit()
        self._account_alert()
        self._budget_alert(session)
        flattening = bool(session.last_plan and session.last_plan.decision.flatten)
        if flattening and not self._flattening and self.alerts is not None:
            self.alerts.event("flatten", "critical", "flatten: hedging inventory to zero")
        self._flattening = flattening
        self.on_status(status_snapshot(session, health, final, self.stop_reason))


def dry_run(policy: CompiledPolicy, running: Engine, now_ns: int) -> None:
    """Run a policy once on a scratch engine, so a reload that would fail at run time (a timer
    that overflows, a program that raises) fails here, before the swap."""
    scratch = Engine(policy)
    scratch.set_position(now_ns, running.inventory_lots)
    for params in policy.params_by_regime.values():
        scratch.machines.bind(params)  # timers bound to parameters convert to ns here
        if policy.catalog == running.policy.catalog:
            policy.program(running.signals.values, running.signals.ready, params)
    scratch.decide(now_ns)


def status_snapshot(
    session: Session, health: dict[str, Any], final: bool, reason: str
) -> dict[str, Any]:
    """What the terminal view and the JSON status lines show."""
    engine = session.engine
    market = session.policy.market
    plan = session.last_plan
    orders = session.orders.open_orders() if session.orders else []
    fifo = engine.fifo
    mid = engine.signals.mid
    return {
        "type": "final" if final else "status",
        "mid": mid,
        "bid": market.ticks_to_price(engine.best_bid) if engine.best_bid else None,
        "ask": market.ticks_to_price(engine.best_ask) if engine.best_ask else None,
        "orders": [
            {
                "side": o.side.label,
                "price": market.ticks_to_price(o.price),
                "size": market.lots_to_size(o.remaining),
                "tag": o.tag.value,
                "status": o.status.value,
            }
            for o in orders
        ],
        "inventory": market.lots_to_size(engine.inventory_lots),
        "realized_pnl_usd": round(fifo.realized_usd, 6),
        "unrealized_pnl_usd": round(fifo.unrealized(mid), 6) if mid else 0.0,
        "fees_usd": round(fifo.fees_usd, 6),
        "fills": session.stats.fills,
        "state": plan.decision.state.value if plan else "STARTING",
        "active_rules": list(plan.decision.active_rules) if plan else [],
        "regime": engine.regime,
        "tx_budget_left": engine.tx_budget_left,
        "feed_age_s": health.get("feed_age_s"),
        "connected": health.get("connected"),
        "book_valid": health.get("book_valid"),
        "halted": session.halted,
        "stop_reason": reason,
    }


def json_status_printer(stream: Any) -> Callable[[dict[str, Any]], None]:
    def emit(status: dict[str, Any]) -> None:
        stream.write(json.dumps({"ts": time.time(), **status}, default=str) + "\n")
        stream.flush()

    return emit
