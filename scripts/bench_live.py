"""Live-path latency per WebSocket frame: received -> orders decided -> signed tx ready.

1. Captures frames from the fake Lighter venue (in-process, fast feed) over a real loopback
   WebSocket, subscribed like the live adapter (order_book, account_all, trade, market_stats),
   with each frame's receive time.
2. Replays them through what `solbot run --live` runs per frame: json.loads, the adapter's
   FrameParser, the session (signals, rules, quotes, risk, order manager; ledger marks), up to
   the commands handed to the venue (decided, before signing); then signs each create, modify
   and cancel with lighter-sdk's native signer when importable (a fresh offline key from
   lighter.create_api_key()), else with the unsigned test signer - the output says which.
   Orders are acknowledged back to the session between frames (untimed), as the venue would.
3. Prints p50/p99 against the targets (decision p99 <= 1 ms, with signing p99 <= 5 ms) and a
   floor measured in the same run: json.loads of the same frames.

The session paces decisions in event time (quoting.decision_interval, min_requote_interval, the
60 tx/min budget), so only a few frames per second send orders; the replay is repeated
(--repeat, fresh session each pass, same decisions) to pool enough samples for a p99.

Run: .venv/bin/python scripts/bench_live.py [--frames 12000] [--profile defensive] [--repeat 5]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import websockets

from solbot.adapters.storage.ledger import Ledger
from solbot.adapters.venues.fake_lighter import FakeLighterVenue, FakeVenueConfig
from solbot.adapters.venues.lighter.budget import RequestBudget
from solbot.adapters.venues.lighter.messages import FrameParser
from solbot.adapters.venues.lighter.rest import LighterRest
from solbot.adapters.venues.lighter.signer import (
    DEFAULT_ORDER_EXPIRY,
    IOC_ORDER_EXPIRY,
    TIF_GOOD_TILL_TIME,
    TIF_IMMEDIATE_OR_CANCEL,
    TIF_POST_ONLY,
    CreateOrderRequest,
    Signer,
    UnsignedTestSigner,
)
from solbot.app.driver import Driver, SystemClock
from solbot.app.session import Session
from solbot.config.compile import compile_policy
from solbot.config.loader import ConfigDir, resolve_profile
from solbot.core.model import (
    CancelAll,
    CancelOrder,
    Command,
    MarketSpec,
    ModifyOrder,
    OrderStatus,
    OrderUpdate,
    PlaceOrder,
)

REPO = Path(__file__).resolve().parent.parent
ACCOUNT = 7
KEY_INDEX = 4
DECISION_TARGET_MS = 1.0
SIGNED_TARGET_MS = 5.0


# ----- 1. capture --------------------------------------------------------------------------------


async def capture(count: int, speed: float) -> tuple[MarketSpec, list[tuple[int, str]]]:
    """`count` market and account frames from the fake venue, with their receive times."""
    config = FakeVenueConfig(account_index=ACCOUNT, speed=speed, loop=True, book_interval_ms=2)
    frames: list[tuple[int, str]] = []
    async with FakeLighterVenue(config) as venue:
        rest = LighterRest(venue.base_url, RequestBudget(1000, quote_reserve=0, query_reserve=0))
        market = await rest.market_spec(config.market.market_id)
        await rest.aclose()
        async with websockets.connect(venue.ws_url, max_size=None) as socket:
            for channel in ("order_book/2", f"account_all/{ACCOUNT}", "trade/2", "market_stats/2"):
                await socket.send(json.dumps({"type": "subscribe", "channel": channel}))
            while len(frames) < count:
                raw = await socket.recv()
                received_ns = time.time_ns()
                text = raw if isinstance(raw, str) else raw.decode()
                kind = json.loads(text).get("type")
                if kind == "ping":
                    await socket.send('{"type":"pong"}')
                elif kind not in ("connected", "pong"):
                    frames.append((received_ns, text))
    return market, frames


# ----- 2. replay ---------------------------------------------------------------------------------


@dataclass
class AckingVenue:
    """Collects the session's commands; acknowledges them later as the venue would."""

    commands: list[Command] = field(default_factory=list)
    resting: dict[int, int] = field(default_factory=dict)  # client id -> remaining lots

    def submit(self, commands: Sequence[Command], now_ns: int) -> None:
        self.commands.extend(commands)

    def advance(self, now_ns: int) -> None:
        """The real venue reports on its own stream: nothing is due locally."""

    def next_due_ns(self) -> int:
        return 1 << 62

    def on_book(self, *book: int) -> None:
        """The real venue matches; market data needs no local work."""

    def on_trade(self, *trade: int) -> None:
        """The real venue matches; market data needs no local work."""

    def acknowledge(self, session: Session, commands: list[Command], now_ns: int) -> None:
        for command in commands:
            for client_id, status, remaining in self._outcomes(command):
                session.on_order_update(OrderUpdate(now_ns, client_id, status, remaining))

    def _outcomes(self, command: Command) -> list[tuple[int, OrderStatus, int]]:
        if isinstance(command, PlaceOrder):
            if command.immediate_or_cancel:
                return [(command.client_id, OrderStatus.CANCELED, 0)]
            self.resting[command.client_id] = command.size
            return [(command.client_id, OrderStatus.OPEN, command.size)]
        if isinstance(command, ModifyOrder):
            self.resting[command.client_id] = command.size
            return [(command.client_id, OrderStatus.OPEN, command.size)]
        if isinstance(command, CancelOrder):
            self.resting.pop(command.client_id, None)
            return [(command.client_id, OrderStatus.CANCELED, 0)]
        assert isinstance(command, CancelAll)
        gone = [(client_id, OrderStatus.CANCELED, 0) for client_id in self.resting]
        self.resting.clear()
        return gone


def build_session(profile: str, market: MarketSpec, ledger: Ledger) -> Session:
    """The session `solbot run` builds (no trace file, as by default)."""
    resolved = resolve_profile(profile, ConfigDir(REPO))
    policy = compile_policy(resolved, market)
    return Session(policy, market_key=market.symbol, run_id="bench", ledger=ledger)


def dispatch(driver: Driver, events: list[Any]) -> None:
    """What LiveRunner._consume does with each adapter event in a live run."""
    for event in events:
        driver.event(event)


def sign(signer: Signer, market_id: int, command: Command, nonce: int) -> None:
    """Sign as TxSender does (cancel and modify name the order by client id here)."""
    if isinstance(command, PlaceOrder):
        ioc = command.immediate_or_cancel
        tif = TIF_IMMEDIATE_OR_CANCEL if ioc else (
            TIF_POST_ONLY if command.post_only else TIF_GOOD_TILL_TIME
        )  # fmt: skip
        order = CreateOrderRequest(
            market_id,
            command.client_id,
            command.size,
            command.price,
            command.side.value < 0,
            tif,
            command.reduce_only,
            IOC_ORDER_EXPIRY if ioc else DEFAULT_ORDER_EXPIRY,
        )
        signer.sign_create_order(order, nonce)
    elif isinstance(command, ModifyOrder):
        signer.sign_modify(market_id, command.client_id, command.size, command.price, nonce)
    elif isinstance(command, CancelOrder):
        signer.sign_cancel(market_id, command.client_id, nonce)
    else:
        signer.sign_cancel_all(0, 0, nonce)


def sign_batch(signer: Signer, market_id: int, commands: list[Command], nonce: int) -> int:
    """Sign a batch in order (as TxSender._sign_all does); returns when the first was ready."""
    first = 0
    for offset, command in enumerate(commands):
        sign(signer, market_id, command, nonce + offset)
        first = first or time.perf_counter_ns()
    return first


signing_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="bench-signer")


@dataclass
class Timings:
    decided_ns: list[int] = field(default_factory=list)  # every frame: received -> decided
    decided_step_ns: list[int] = field(default_factory=list)  # frames where the policy ran
    decided_orders_ns: list[int] = field(default_factory=list)  # frames that sent orders
    first_signed_ns: list[int] = field(default_factory=list)  # -> their first tx signed
    signed_ns: list[int] = field(default_factory=list)  # -> all their txs signed
    floor_ns: list[int] = field(default_factory=list)  # json.loads of each frame
    decisions: int = 0
    commands: int = 0


def replay(
    frames: list[tuple[int, str]],
    market: MarketSpec,
    session: Session,
    signer: Signer,
    timings: Timings,
) -> None:
    """One pass over the frames with a fresh parser and the given session."""
    venue = AckingVenue()
    session.attach(venue)  # type: ignore[arg-type]  # a stub with the Venue's submit
    driver = Driver(session, venue, SystemClock())  # type: ignore[arg-type]
    parser = FrameParser(market, ACCOUNT, history_cutoff_ns=frames[0][0])
    clock = time.perf_counter_ns
    nonce = 0
    for received_ns, raw in frames:
        floor_start = clock()  # the floor, interleaved so it meets the same machine load
        json.loads(raw)
        start = clock()
        timings.floor_ns.append(start - floor_start)
        decisions = session.stats.decisions
        result = parser.parse(json.loads(raw), received_ns)
        dispatch(driver, result.events)
        decided = clock()
        commands, venue.commands = venue.commands, []
        first_signed = 0
        if commands:
            # TxSender signs a batch in one worker thread (asyncio.to_thread), never on the
            # event loop's thread: lighter-sdk's native signer costs ~3x more on the main thread.
            marks = signing_thread.submit(sign_batch, signer, market.market_id, commands, nonce)
            first_signed = marks.result()
            nonce += len(commands)
        signed = clock()
        timings.decided_ns.append(decided - start)
        if session.stats.decisions > decisions:
            timings.decisions += session.stats.decisions - decisions
            timings.decided_step_ns.append(decided - start)
        if commands:
            timings.commands += len(commands)
            timings.decided_orders_ns.append(decided - start)
            timings.first_signed_ns.append(first_signed - start)
            timings.signed_ns.append(signed - start)
        venue.acknowledge(session, commands, received_ns)


# ----- 3. report ---------------------------------------------------------------------------------


def quantiles_ms(values_ns: list[int]) -> tuple[float, float]:
    """(p50, p99) in milliseconds."""
    if len(values_ns) < 2:
        return (values_ns[0] / 1e6, values_ns[0] / 1e6) if values_ns else (float("nan"),) * 2
    cuts = statistics.quantiles(values_ns, n=100, method="inclusive")
    return cuts[49] / 1e6, cuts[98] / 1e6


def line(label: str, values_ns: list[int], floor: tuple[float, float], target_ms: float) -> str:
    """One result row: p50/p99, ratios to the floor's p50/p99, verdict against the target."""
    p50, p99 = quantiles_ms(values_ns)
    verdict = "MET" if p99 <= target_ms else "MISSED"
    return (
        f"{label:<36} n={len(values_ns):>6}  p50 {p50:7.3f} ms  p99 {p99:7.3f} ms  "
        f"({p50 / floor[0]:6.1f}x / {p99 / floor[1]:5.1f}x floor)  "
        f"target p99 <= {target_ms:g} ms: {verdict}"
    )


async def make_signer(unsigned: bool) -> tuple[Signer, str, Any]:
    """lighter-sdk's signer with a fresh offline key if importable, else the unsigned one."""
    if unsigned:
        signer = UnsignedTestSigner("http://127.0.0.1:9", ACCOUNT, KEY_INDEX)
        return signer, "UNSIGNED test signer (--unsigned: same tx_info, no crypto)", None
    try:
        import lighter

        from solbot.adapters.venues.lighter.signer import LighterSdkSigner

        private_key, _, error = lighter.create_api_key()  # type: ignore[attr-defined,no-untyped-call]
        if error:
            raise RuntimeError(error)
        sdk = LighterSdkSigner("http://127.0.0.1:9", ACCOUNT, KEY_INDEX, private_key, 304)
        return sdk, "lighter-sdk native signer (fresh offline key)", sdk
    except Exception as error:  # no SDK, or its native library does not load here
        reason = f"{type(error).__name__}: {error}"
        fallback = UnsignedTestSigner("http://127.0.0.1:9", ACCOUNT, KEY_INDEX)
        return fallback, f"UNSIGNED test signer (lighter-sdk unavailable: {reason})", None


async def main(arguments: argparse.Namespace) -> int:
    started = time.perf_counter()
    market, frames = await capture(arguments.frames, arguments.speed)
    capture_s = time.perf_counter() - started
    signer, signer_name, closable = await make_signer(arguments.unsigned)
    timings = Timings()
    with tempfile.TemporaryDirectory() as folder:
        for number in range(arguments.repeat):  # the same frames, a fresh session each pass
            with Ledger(Path(folder) / f"bench{number}.db") as ledger:
                session = build_session(arguments.profile, market, ledger)
                replay(frames, market, session, signer, timings)
    if closable is not None:
        await closable.close()
    kinds: dict[str, int] = {}
    for _, raw in frames:
        kind = str(json.loads(raw).get("type"))
        kinds[kind] = kinds.get(kind, 0) + 1
    floor = quantiles_ms(timings.floor_ns)
    sizes = sorted(len(raw) for _, raw in frames)
    print(f"frames: {len(frames)} captured in {capture_s:.1f} s from the fake venue "
          f"(speed {arguments.speed:g}x): {json.dumps(kinds, sort_keys=True)}; size p50 "
          f"{sizes[len(sizes) // 2]} B, p99 {sizes[len(sizes) * 99 // 100]} B")  # fmt: skip
    print(f"profile: {arguments.profile}; {arguments.repeat} passes; decisions: "
          f"{timings.decisions}; frames that sent orders: {len(timings.signed_ns)} "
          f"({timings.commands} commands)")  # fmt: skip
    print(f"signer: {signer_name}")
    print(f"{'floor: json.loads of the same frames':<36} n={len(timings.floor_ns):>6}  "
          f"p50 {floor[0]:7.3f} ms  p99 {floor[1]:7.3f} ms")  # fmt: skip
    target = DECISION_TARGET_MS
    print(line("received -> decided (every frame)", timings.decided_ns, floor, target))
    print(line("received -> decided (policy ran)", timings.decided_step_ns, floor, target))
    print(line("received -> decided (sent orders)", timings.decided_orders_ns, floor, target))
    first, every = timings.first_signed_ns, timings.signed_ns
    print(line("received -> first signed tx ready", first, floor, SIGNED_TARGET_MS))
    print(line("received -> all its txs signed", every, floor, SIGNED_TARGET_MS))
    if not timings.signed_ns:
        print("no frame produced orders: signing not measured (try --profile naive)")
        return 1
    return 0


def parse_arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=12_000, help="frames to capture (>= 10k)")
    parser.add_argument("--speed", type=float, default=50.0, help="fake venue replay speed")
    parser.add_argument("--profile", default="defensive", help="shipped profile to run")
    parser.add_argument("--repeat", type=int, default=5, help="replay passes (pooled samples)")
    parser.add_argument("--unsigned", action="store_true", help="use the unsigned test signer")
    return parser.parse_args(argv)


if __name__ == "__main__":
    sys.exit(asyncio.run(main(parse_arguments(sys.argv[1:]))))
