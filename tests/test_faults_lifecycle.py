"""Starting and stopping `solbot run --live` for real: Ctrl-C, SIGTERM, a second Ctrl-C,
kill -9 and a restart on the same ledger, missing credentials, a latched kill rule.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fault_support import (
    ACCOUNT,
    KEY_INDEX,
    TX_PER_MINUTE,
    BotRun,
    FakeVenue,
    StateSampler,
    active_orders,
    assert_fills_agree,
    assert_no_unknown_orders,
    assert_nothing_rests,
    bot_environment,
    config_dir,
    finish,
    ledger_fills,
    venue_fills,
    wait_until,
)

from solbot.adapters.storage.ledger import Ledger

pytestmark = pytest.mark.integration


@pytest.fixture
def venue() -> Iterator[FakeVenue]:
    with FakeVenue() as fake:
        yield fake


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    config_dir(tmp_path)
    return tmp_path


def fills_on(venue: FakeVenue) -> int:
    return len(venue.state()["fills"])


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_stop_signal_cancels_everything_and_exits_0(
    venue: FakeVenue, workdir: Path, stop_signal: int
) -> None:
    with BotRun(venue, workdir) as bot, StateSampler(venue) as sampler:
        bot.wait_quoting()
        wait_until(lambda: fills_on(venue) >= 1, 30, "a fill", interval_s=0.25)
        assert active_orders(venue.state())
        bot.signal(stop_signal)
        code = bot.wait()
    bot.assert_clean()
    assert code == 0
    state = venue.state()
    assert active_orders(state) == []
    assert assert_fills_agree(state, workdir / "ledger.db") >= 1
    assert_no_unknown_orders(sampler.samples, [bot.trace_records()])
    assert sampler.max_txs_per_minute() <= TX_PER_MINUTE
    final = bot.statuses()[-1]
    assert final["type"] == "final" and final["stop_reason"] == "signal"


class MissedFill(AssertionError):
    """A fill the venue made while no bot ran, which the restarted bot did not book."""


def test_kill_9_then_restart_cancels_the_orphans(venue: FakeVenue, workdir: Path) -> None:
    db = workdir / "ledger.db"
    with BotRun(venue, workdir, name="first", db=db) as first:
        first.wait_quoting()
        wait_until(lambda: fills_on(venue) >= 1, 30, "a fill", interval_s=0.25)
        resting = {o["client_order_index"] for o in active_orders(venue.state())}
        time.sleep(1.5)  # the trace is flushed at least once a second
        first.kill9()
    orphans = {o["client_order_index"] for o in active_orders(venue.state())}
    assert orphans, "kill -9 left nothing resting: nothing to reconcile"
    # what kill -9 left of the trace is usable: it reaches the orders that rested at the kill
    first_placed = {r["id"] for r in first.trace_records() if r.get("op") == "place"}
    assert resting and resting <= first_placed, "the trace lost the orders resting at the kill"
    # an orphan that fills while no bot runs: the restart should book that fill
    filled_before = fills_on(venue)
    wait_until(lambda: fills_on(venue) > filled_before, 30, "an orphan to fill", interval_s=0.2)
    orphans = {o["client_order_index"] for o in active_orders(venue.state())} or orphans
    with BotRun(venue, workdir, name="second", db=db) as second:
        wait_until(
            lambda: not orphans & {o["client_order_index"] for o in active_orders(venue.state())},
            15,
            "the restarted bot to cancel the orphans",
        )
        second.wait_quoting()
        second.interrupt()
    second.assert_clean()
    state = venue.state()
    assert_nothing_rests(state)
    second_placed = {r["id"] for r in second.trace_records() if r.get("op") == "place"}
    assert not orphans & second_placed  # they were the first run's
    missed = set(venue_fills(state)) - set(ledger_fills(db))
    if missed:
        raise MissedFill(f"the restart did not book {sorted(missed)}")
    # a backfill from the venue (docs/run.md) finds nothing left to book
    with Ledger(db) as ledger:
        since = str(ledger.runs()[0]["started_ns"] // 10**9 - 1)
    command = ["fetch-trades", "--account", str(ACCOUNT), "--since", since, "--db", str(db)]
    backfill = subprocess.run(
        [sys.executable, "-m", "solbot", *command, "--rest-url", venue.base_url, "--json"],
        env=bot_environment(),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert backfill.returncode == 0, backfill.stderr
    assert json.loads(backfill.stdout)["inserted"] == 0
    assert_fills_agree(state, db)


def test_second_ctrl_c_exits_130_at_once(venue: FakeVenue, workdir: Path) -> None:
    with BotRun(venue, workdir) as bot:
        bot.wait_quoting()
        venue.faults(delay_ms=4000)  # the shutdown cancel-all now takes 4 s
        bot.signal(signal.SIGINT)
        time.sleep(0.5)
        started = time.monotonic()
        bot.signal(signal.SIGINT)
        code = bot.wait(10)
    assert code == 130
    assert time.monotonic() - started < 3
    bot.assert_clean()
    # whatever it could not cancel is covered by the dead-man switch (<= 6 min ahead)
    state = venue.state()
    if active_orders(state):
        assert state["scheduled_cancel_all_ms"] <= state["now_ms"] + 6 * 60_000


def run_once(
    env: dict[str, str], *args: str, timeout_s: float = 30
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "solbot", "run", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout_s,
        stdin=subprocess.DEVNULL,
    )


def test_live_without_credentials_exits_2_naming_them(venue: FakeVenue, workdir: Path) -> None:
    secret = "0x5ecret5ecret"
    env = bot_environment(LIGHTER_ACCOUNT_INDEX=None, LIGHTER_API_PRIVATE_KEY=secret)
    args = ["--live", "--rest-url", venue.base_url, "--ws-url", venue.ws_url]
    result = run_once(env, *args, "--db", str(workdir / "ledger.db"))
    assert result.returncode == 2
    output = result.stdout + result.stderr
    assert "Traceback" not in output
    assert "LIGHTER_ACCOUNT_INDEX" in output
    assert secret not in output
    assert venue.state()["txs"]["accepted"] == 0


def test_latched_kill_exits_10_until_acknowledged(venue: FakeVenue, workdir: Path) -> None:
    db = workdir / "ledger.db"
    with Ledger(db) as ledger:
        ledger.latch("pnl.daily_kill", time.time_ns(), "daily realized loss limit")
    env = bot_environment()
    common = [
        "--live",
        "--profile",
        "naive",
        "--rest-url",
        venue.base_url,
        "--ws-url",
        venue.ws_url,
        "--db",
        str(db),
    ]
    latched = run_once(env, *common)
    assert latched.returncode == 10
    assert "Traceback" not in latched.stdout + latched.stderr
    wrong = run_once(env, *common, "--ack-kill", "risk.inventory_breach")
    assert wrong.returncode == 2
    assert venue.state()["txs"]["accepted"] == 0  # neither run sent anything
    with BotRun(venue, workdir, extra=["--ack-kill", "pnl.daily_kill"]) as bot:
        bot.wait_quoting()
        finish(bot)
    with Ledger(db) as ledger:
        assert ledger.latched() == []


def test_real_signer_checks_the_key_then_trades_and_stops_clean(workdir: Path) -> None:
    lighter = pytest.importorskip("lighter")
    private_key, public_key, error = lighter.create_api_key()
    assert not error
    with FakeVenue(api_keys={KEY_INDEX: public_key}) as venue:
        real = bot_environment(SOLBOT_TEST_SIGNER=None, LIGHTER_API_PRIVATE_KEY=private_key)
        with BotRun(venue, workdir, env=real) as bot:
            bot.wait_quoting()
            finish(bot)
        wrong_slot = dict(real, LIGHTER_API_KEY_INDEX=str(KEY_INDEX + 1))
        args = ["--live", "--rest-url", venue.base_url, "--ws-url", venue.ws_url]
        refused = run_once(wrong_slot, *args, "--db", str(workdir / "other.db"))
        assert refused.returncode == 1  # runtime failure: the venue does not know that key
        assert "Traceback" not in refused.stdout + refused.stderr
        assert private_key not in refused.stdout + refused.stderr
