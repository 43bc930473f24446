"""Harness for the live-path fault suite: a fake Lighter venue in a thread, `solbot run --live`
as a real subprocess, a sampler of `/_fake/state`, and the cross-checks every fault test ends
with (ledger fills == venue fills, no order the bot does not know about, tx budget, exit code).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from solbot.adapters.venues.fake_lighter import FakeLighterVenue, FakeVenueConfig
from solbot.adapters.venues.fake_lighter.feed import MarketEvent
from solbot.adapters.venues.fake_lighter.feeds import build_feed
from solbot.adapters.venues.fake_lighter.wire import ACTIVE_STATUSES

REPO = Path(__file__).resolve().parent.parent
ACCOUNT = 7
KEY_INDEX = 4
SPEED = 20.0  # recorded sample at 20x: quotes move and fill within seconds
TX_PER_MINUTE = 60  # Lighter standard account; also the shipped profiles' tx_per_minute
# The fake is as strict as Lighter (docs/fake-venue.md): Standard order/cancel/taker latency,
# request weights, 80 WebSocket connections and 200 messages a minute, and account channels that
# refuse a subscription without a valid auth token.
REQUIRE_AUTH = True
STRICT_VENUE: dict[str, Any] = {
    "order_latency_ms": 200,
    "cancel_latency_ms": 200,
    "taker_latency_ms": 300,
    "ws_connections_per_minute": 80,
    "ws_messages_per_minute": 200,
    "require_auth": REQUIRE_AUTH,
}
TRACEBACK = "Traceback (most recent call last)"

# Shipped `defensive` with a 1 s volatility sample, so its rules (feed.stale at stale_feed_s 5 s
# included) warm up in ~2 s instead of ~10 s, and without the low-volatility pause, which on
# 1 s samples of the bundled capture would keep it from quoting for most of a test.
FAULTS_PROFILE = """\
schema: 2
kind: profile
id: faults
extends: defensive
description: Fault suite - shipped defensive, 1 s volatility sample, no low-vol pause.
signals:
  vol_sample: 1s
rules:
  override:
    vol.low_pause: {enabled: false}
"""


def config_dir(root: Path) -> Path:
    """The repository's profiles and rules (as they are now) plus the `faults` profile."""
    target = root / "config"
    shutil.copytree(REPO / "profiles", target / "profiles")
    shutil.copytree(REPO / "rules", target / "rules")
    (target / "profiles" / "faults.yaml").write_text(FAULTS_PROFILE, encoding="utf-8")
    return target


def record_figures(**figures: Any) -> None:
    """Append this test's figures to $SOLBOT_FAULT_REPORT (scripts/fault_report.py reads it)."""
    path = os.environ.get("SOLBOT_FAULT_REPORT")
    if not path:
        return
    test = os.environ.get("PYTEST_CURRENT_TEST", "?").split(" ")[0]
    with open(path, "a", encoding="utf-8") as report:
        report.write(json.dumps({"test": test, **figures}) + "\n")


def wait_until(
    predicate: Callable[[], Any], timeout_s: float, what: str, interval_s: float = 0.1
) -> Any:
    """Poll until `predicate()` is truthy; fail naming `what` after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        time.sleep(interval_s)


# ----- the fake venue, in a thread ---------------------------------------------------------------


class FeedGate:
    """Wraps a feed; after `close()` the feed ends (the venue stops publishing market data)."""

    def __init__(self) -> None:
        self._open = threading.Event()
        self._open.set()

    def close(self) -> None:
        self._open.clear()

    def wrap(self, events: Any) -> Iterator[MarketEvent]:
        for event in events:
            if not self._open.is_set():
                return
            yield event


class FakeVenue:
    """`FakeLighterVenue` on an ephemeral loopback port, served from its own event-loop thread."""

    def __init__(self, gate: FeedGate | None = None, **overrides: Any) -> None:
        settings: dict[str, Any] = {
            "account_index": ACCOUNT,
            "speed": SPEED,
            "loop": True,
            "seed": 3,
            **STRICT_VENUE,
        }
        settings.update(overrides)
        self.config = FakeVenueConfig(**settings)
        self.gate = gate
        self.venue: FakeLighterVenue | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._main, name="fake-venue", daemon=True)
        self.http = httpx.Client(timeout=10)

    def __enter__(self) -> FakeVenue:
        self._thread.start()
        if not self._ready.wait(15):
            raise AssertionError("the fake venue did not start within 15 s")
        if self._error is not None:
            raise AssertionError(f"the fake venue failed to start: {self._error!r}")
        return self

    def __exit__(self, *exc_info: object) -> None:
        with contextlib.suppress(httpx.HTTPError, AssertionError):
            http = self.state()["http"]
            record_figures(
                max_requests_per_minute=http["max_requests_per_minute"],
                refused_429=http["refused_429"],
            )
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(15)
        self.http.close()
        if self._error is not None and exc_info[0] is None:
            raise AssertionError(f"the fake venue failed: {self._error!r}")

    def _main(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as error:  # reported to the test thread
            self._error = error
            self._ready.set()

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        events = None
        if self.gate is not None:
            events = self.gate.wrap(build_feed(self.config).events)
        async with FakeLighterVenue(self.config, events=events) as venue:
            self.venue = venue
            self._ready.set()
            await self._stop.wait()
            if venue.failure is not None:
                self._error = venue.failure

    @property
    def base_url(self) -> str:
        assert self.venue is not None
        return self.venue.base_url

    @property
    def ws_url(self) -> str:
        assert self.venue is not None
        return self.venue.ws_url

    def state(self) -> dict[str, Any]:
        """GET /_fake/state."""
        response = self.http.get(f"{self.base_url}/_fake/state")
        response.raise_for_status()
        body: dict[str, Any] = response.json()
        return body

    def faults(self, **knobs: Any) -> dict[str, Any]:
        """POST /_fake/faults; the knobs act now."""
        response = self.http.post(f"{self.base_url}/_fake/faults", json=knobs)
        response.raise_for_status()
        body: dict[str, Any] = response.json()
        return body


def active_orders(state: dict[str, Any]) -> list[dict[str, Any]]:
    """The account's orders the venue still holds (in progress, pending or resting)."""
    return [order for order in state["orders"] if order["status"] in ACTIVE_STATUSES]


def txs_total(state: dict[str, Any]) -> int:
    """Accepted plus refused txs (a refused batch counts once)."""
    return int(state["txs"]["accepted"]) + len(state["txs"]["rejected"])


# ----- sampling /_fake/state while the bot runs --------------------------------------------------


@dataclass(frozen=True)
class Sample:
    wall_ns: int
    txs: int
    requests_last_minute: int
    refused_429: int
    active_client_ids: frozenset[int]


class StateSampler:
    """Polls /_fake/state every `interval_s` in a thread (tx budget and orphan checks)."""

    def __init__(self, venue: FakeVenue, interval_s: float = 0.25) -> None:
        self.venue = venue
        self.interval_s = interval_s
        self.samples: list[Sample] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="state-sampler", daemon=True)
        self._http = httpx.Client(timeout=5)

    def __enter__(self) -> StateSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join(10)
        self._http.close()

    def _run(self) -> None:
        url = f"{self.venue.base_url}/_fake/state"
        while not self._stop.is_set():
            with contextlib.suppress(httpx.HTTPError):
                state = self._http.get(url).json()
                self.samples.append(
                    Sample(
                        time.time_ns(),
                        txs_total(state),
                        int(state["http"]["requests_last_minute"]),
                        int(state["http"]["refused_429"]),
                        frozenset(o["client_order_index"] for o in active_orders(state)),
                    )
                )
            self._stop.wait(self.interval_s)

    def max_txs_per_minute(self) -> int:
        """Most txs between two samples at most 60 s apart (a rolling-minute count)."""
        best = 0
        samples = self.samples
        start = 0
        for last in samples:
            while last.wall_ns - samples[start].wall_ns > 60 * 10**9:
                start += 1
            best = max(best, last.txs - samples[start].txs)
        return best

    def max_requests_per_minute(self) -> int:
        """Most requests the venue counted in one rolling minute, at any sample."""
        return max((s.requests_last_minute for s in self.samples), default=0)

    def span_s(self) -> float:
        if len(self.samples) < 2:
            return 0.0
        return (self.samples[-1].wall_ns - self.samples[0].wall_ns) / 1e9


# ----- the bot, as a subprocess ------------------------------------------------------------------


def bot_environment(**overrides: str | None) -> dict[str, str]:
    """Credentials for the fake venue and the unsigned test signer (loopback only)."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("LIGHTER_", "SOLBOT_"))
    }
    env.update(
        {
            "LIGHTER_ACCOUNT_INDEX": str(ACCOUNT),
            "LIGHTER_API_KEY_INDEX": str(KEY_INDEX),
            "LIGHTER_API_PRIVATE_KEY": "not-a-real-key",
            "SOLBOT_TEST_SIGNER": "unsigned",
            "PYTHONUNBUFFERED": "1",
        }
    )
    for key, value in overrides.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


@dataclass
class BotRun:
    """One `python -m solbot run --live` subprocess with its stdout/stderr in files."""

    venue: FakeVenue
    workdir: Path
    name: str = "bot"
    profile: str = "naive"
    db: Path | None = None
    extra: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=bot_environment)
    process: subprocess.Popen[bytes] | None = None

    def __post_init__(self) -> None:
        self.db = self.db or self.workdir / "ledger.db"
        self.trace = self.workdir / f"{self.name}.trace.jsonl"
        self.stdout_path = self.workdir / f"{self.name}.stdout"
        self.stderr_path = self.workdir / f"{self.name}.stderr"

    def command(self) -> list[str]:
        return [
            sys.executable,
            "-m",
            "solbot",
            "run",
            "--live",
            "--profile",
            self.profile,
            "--config-dir",
            str(self.workdir / "config"),
            "--rest-url",
            self.venue.base_url,
            "--ws-url",
            self.venue.ws_url,
            "--db",
            str(self.db),
            "--trace",
            str(self.trace),
            "--log-format",
            "json",
            *self.extra,
        ]

    def start(self) -> BotRun:
        with self.stdout_path.open("wb") as out, self.stderr_path.open("wb") as err:
            self.process = subprocess.Popen(
                self.command(),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                env=self.env,
                cwd=self.workdir,
                start_new_session=True,  # signals reach only the bot, never pytest
            )
        return self

    def __enter__(self) -> BotRun:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        process = self.process
        if process is not None and process.poll() is None:
            process.kill()
            process.wait(10)

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def signal(self, number: int) -> None:
        assert self.process is not None
        self.process.send_signal(number)

    def wait(self, timeout_s: float = 40.0) -> int:
        """Exit code; kills the bot and fails if it does not exit in time."""
        assert self.process is not None
        try:
            return self.process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)
            raise AssertionError(f"{self.name} did not exit within {timeout_s} s") from None

    def interrupt(self, timeout_s: float = 40.0) -> int:
        """SIGINT (Ctrl-C) and the exit code."""
        self.signal(signal.SIGINT)
        return self.wait(timeout_s)

    def kill9(self) -> None:
        self.signal(signal.SIGKILL)
        self.wait(10)

    def stderr(self) -> str:
        return self.stderr_path.read_text(encoding="utf-8", errors="replace")

    def statuses(self) -> list[dict[str, Any]]:
        """The JSON status lines printed so far."""
        lines = self.stdout_path.read_text(encoding="utf-8", errors="replace").splitlines()
        return [json.loads(line) for line in lines if line.startswith("{")]

    def last_status(self) -> dict[str, Any] | None:
        statuses = self.statuses()
        return statuses[-1] if statuses else None

    def trace_records(self) -> list[dict[str, Any]]:
        if not self.trace.exists():
            return []
        text = self.trace.read_text(encoding="utf-8")
        return [json.loads(line) for line in text.splitlines() if line.endswith("}")]

    def wait_quoting(self, timeout_s: float = 20.0) -> None:
        """Until the bot has an order resting on the venue."""
        wait_until(
            lambda: not self.alive or active_orders(self.venue.state()),
            timeout_s,
            f"{self.name} to rest an order",
        )
        assert self.alive, f"{self.name} exited early:\n{self.stderr()[-3000:]}"

    def assert_clean(self) -> None:
        """No traceback anywhere in the bot's output."""
        text = self.stderr()
        assert TRACEBACK not in text, f"{self.name} printed a traceback:\n{text[-4000:]}"


def free_port() -> int:
    """An ephemeral loopback port for the bot's /metrics (closed again before the bot binds)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def scrape(port: int) -> dict[str, float]:
    """The bot's /metrics as {name{labels}: value} (comments dropped)."""
    response = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5)
    response.raise_for_status()
    values: dict[str, float] = {}
    for line in response.text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            values[name] = float(value)
    return values


# ----- cross-checks ------------------------------------------------------------------------------

FillKey = tuple[str, str, float, float]  # side, trade id, price, size


def ledger_fills(db: Path) -> list[FillKey]:
    """Our fills as the ledger holds them (every row, so a double would show)."""
    with contextlib.closing(sqlite3.connect(db)) as connection:
        rows = connection.execute(
            "SELECT side, trade_id, price, size FROM fills WHERE venue = 'lighter'"
        ).fetchall()
    return sorted((str(side), str(trade), float(p), float(s)) for side, trade, p, s in rows)


def venue_fills(state: dict[str, Any]) -> list[FillKey]:
    """Our account's fills as the venue holds them."""
    account = int(state["account_index"])
    fills: list[FillKey] = []
    for trade in state["fills"]:
        side = "bid" if int(trade["bid_account_id"]) == account else "ask"
        fills.append((side, str(trade["trade_id"]), float(trade["price"]), float(trade["size"])))
    return sorted(fills)


def assert_fills_agree(state: dict[str, Any], db: Path) -> int:
    """Same trade ids, sides, prices and sizes; none lost, none doubled. Returns the count."""
    venue, ledger = venue_fills(state), ledger_fills(db)
    record_figures(venue_fills=len(venue), ledger_fills=len(ledger))
    lost = sorted(set(venue) - set(ledger))
    extra = sorted(set(ledger) - set(venue))
    assert not lost, f"fills on the venue missing from the ledger: {lost}"
    assert not extra, f"fills in the ledger the venue never made: {extra}"
    assert len(ledger) == len(venue), f"doubled fills: {len(ledger)} rows for {len(venue)}"
    return len(venue)


def known_orders(traces: list[list[dict[str, Any]]]) -> dict[int, int | None]:
    """client id -> when the bot last heard the order was gone (None: it believes it is live)."""
    gone = {"filled", "canceled", "rejected"}
    known: dict[int, int | None] = {}
    for records in traces:
        for record in records:
            if record.get("type") == "command" and record.get("op") == "place":
                known.setdefault(int(record["id"]), None)
            elif record.get("type") == "update" and record.get("status") in gone:
                known[int(record["id"])] = int(record["t"])
    return known


def assert_no_unknown_orders(
    samples: list[Sample], traces: list[list[dict[str, Any]]], grace_s: float = 3.0
) -> None:
    """Every order resting on the venue was placed by the bot and not yet given up by it.

    An order the bot heard was gone more than `grace_s` ago but that still rests is an orphan.
    """
    known = known_orders(traces)
    for sample in samples:
        for client_id in sample.active_client_ids:
            assert client_id in known, f"venue rests order {client_id} the bot never placed"
            gone_ns = known[client_id]
            if gone_ns is not None:
                late_s = (sample.wall_ns - gone_ns) / 1e9
                assert late_s <= grace_s, (
                    f"order {client_id} still rests {late_s:.1f} s after the bot wrote it off"
                )


def assert_nothing_rests(state: dict[str, Any]) -> None:
    left = [
        {key: order[key] for key in ("client_order_index", "status", "created_at", "updated_at")}
        for order in active_orders(state)
    ]
    assert not left, f"orders left on the venue at {state['now_ms']}: {left}"


def finish(bot: BotRun, sampler: StateSampler | None = None) -> dict[str, Any]:
    """SIGINT, then the checks every clean stop must pass; returns the venue's final state."""
    code = bot.interrupt()
    if sampler is not None:
        sampler.__exit__(None, None, None)
    bot.assert_clean()
    assert code == 0, f"exit code {code} after SIGINT:\n{bot.stderr()[-3000:]}"
    state = bot.venue.state()
    record_figures(orphans=len(active_orders(state)))
    assert_nothing_rests(state)
    assert bot.db is not None
    assert_fills_agree(state, bot.db)
    return state
