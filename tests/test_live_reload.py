"""`solbot run` hot reload: full check, atomic swap, the running policy stays on a bad edit."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

from solbot.app.live import LiveRunner, RunRequest, status_snapshot
from solbot.app.session import Session
from solbot.cli.live_view import render
from solbot.config.loader import shipped_config_dir
from solbot.config.markets import resolve_market

NS = 1_000_000_000


def runner_in(tmp_path: Path) -> LiveRunner:
    root = tmp_path / "config"
    for folder in ("profiles", "rules"):
        shutil.copytree(shipped_config_dir() / folder, root / folder)
    request = RunRequest(
        profile="defensive",
        rest_url="http://127.0.0.1:9",
        ws_url="ws://127.0.0.1:9/stream",
        db=tmp_path / "ledger.db",
        config_dir=root,
    )
    runner = LiveRunner(request, on_status=lambda status: None)
    market = resolve_market("lighter:SOL").spec
    runner._resolved, policy = runner._policy(market)
    runner.session = Session(policy, market_key=market.symbol)
    runner._watch_files()
    return runner


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


class FakeMonotonic:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_valid_edit_is_swapped_in_keeping_inventory_and_latches(tmp_path: Path) -> None:
    runner = runner_in(tmp_path)
    session = runner.session
    assert session is not None
    session.engine.set_position(1 * NS, 25)
    session.engine.machines.latched.add("pnl.daily_kill")
    before = session.policy.profile_sha256
    profile = tmp_path / "config" / "profiles" / "defensive.yaml"
    clock = FakeMonotonic()
    runner._monotonic = clock
    edit(profile, "trend_down_cooldown_s: 90", "trend_down_cooldown_s: 75")
    runner._files_changed()  # seen changed; reloaded once it held still for the settle time
    clock.now += 1.5
    assert runner._files_changed()
    assert runner.reload() is True
    assert session.policy.profile_sha256 != before
    assert session.engine.policy is session.policy
    assert session.engine.inventory_lots == 25
    assert "pnl.daily_kill" in session.engine.machines.latched
    assert not runner._files_changed()


def test_a_bad_edit_is_refused_and_the_running_policy_stays(tmp_path: Path) -> None:
    runner = runner_in(tmp_path)
    session = runner.session
    assert session is not None
    running = session.policy
    rules = tmp_path / "config" / "rules" / "guards.yaml"
    edit(rules, "ret_5m_bps < p.trend_down_trigger_bps", "ret_5m_bsp < p.trend_down_trigger_bps")
    assert runner.reload() is False
    assert session.policy is running and session.engine.policy is running
    assert not runner._files_changed()  # reported once, not every 100 ms


def test_status_and_terminal_view_render_a_fresh_session(tmp_path: Path) -> None:
    runner = runner_in(tmp_path)
    session = runner.session
    assert session is not None
    session.on_book(1 * NS, 1 * NS, 149_990, 10, 150_010, 10)
    status = status_snapshot(
        session, {"connected": True, "book_valid": True, "feed_age_s": 0.2}, False, ""
    )
    assert status["mid"] == 150.0 and status["state"] == "STARTING"  # no venue attached yet
    assert render(status) is not None


def test_a_latin1_byte_in_a_comment_is_refused_not_fatal(tmp_path: Path) -> None:
    runner = runner_in(tmp_path)
    session = runner.session
    assert session is not None
    running = session.policy
    profile = tmp_path / "config" / "profiles" / "defensive.yaml"
    profile.write_bytes(
        profile.read_bytes().replace(b"# Defensive", "# Défensive".encode("latin-1"))
    )
    assert runner.reload() is False  # was a UnicodeDecodeError that ended the timer loop
    assert session.engine.policy is running


def test_an_infinite_timer_is_refused_before_the_swap(tmp_path: Path) -> None:
    runner = runner_in(tmp_path)
    session = runner.session
    assert session is not None
    running = session.policy
    edit(tmp_path / "config" / "profiles" / "defensive.yaml", "min_dwell: 120s", "min_dwell: .inf")
    assert runner.reload() is False  # was an OverflowError that ended the timer loop
    assert session.engine.policy is running


def test_an_alias_bomb_saved_during_a_run_is_refused(tmp_path: Path) -> None:
    runner = runner_in(tmp_path)
    session = runner.session
    assert session is not None
    running = session.policy
    bomb = ["x0: &l0 [" + ", ".join(["lol"] * 10) + "]"]
    bomb += [f"x{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 10) + "]" for i in range(1, 9)]
    profile = tmp_path / "config" / "profiles" / "defensive.yaml"
    profile.write_text(profile.read_text() + "\n".join(bomb) + "\n")
    assert runner.reload() is False
    assert session.engine.policy is running


def test_any_error_while_building_the_new_policy_is_refused(tmp_path: Path) -> None:
    runner = runner_in(tmp_path)
    session = runner.session
    assert session is not None
    running = session.policy

    def broken(market: object) -> None:
        raise KeyError("an unexpected bug in a loader")

    runner._policy = broken  # type: ignore[assignment,method-assign]
    assert runner.reload() is False
    assert session.engine.policy is running


def test_a_policy_that_fails_its_dry_run_is_never_swapped_in(tmp_path: Path) -> None:
    runner = runner_in(tmp_path)
    session = runner.session
    assert session is not None
    running = session.policy
    original = runner._policy

    def exploding_program(market: object) -> object:
        resolved, policy = original(running.market)

        def program(*args: object) -> list[object]:
            raise RuntimeError("the program raises at run time")

        return resolved, replace(policy, program=program)

    runner._policy = exploding_program  # type: ignore[assignment,method-assign]
    assert runner.reload() is False
    assert session.engine.policy is running


def test_a_reload_is_noted_in_the_trace_and_the_next_step_is_a_full_snapshot(
    tmp_path: Path,
) -> None:
    from solbot.adapters.storage.trace import StepEncoder, TraceWriter, read_trace

    runner = runner_in(tmp_path)
    old = runner.session
    assert old is not None
    trace = TraceWriter(tmp_path / "trace.jsonl", {"profile": "defensive"}, flush_bytes=0)
    session = Session(old.policy, market_key="SOL", trace=trace)
    runner.session = session
    encoder = session._steps
    assert isinstance(encoder, StepEncoder)
    encoder.encode(1, session.engine.inputs(0))  # a first step: the next one would be a delta
    edit(
        tmp_path / "config" / "profiles" / "defensive.yaml",
        "trend_down_cooldown_s: 90",
        "trend_down_cooldown_s: 75",
    )
    assert runner.reload() is True
    records = list(read_trace(tmp_path / "trace.jsonl"))  # written through: no close needed
    assert records[-1]["type"] == "reload"
    assert records[-1]["profile_sha256"] == session.policy.profile_sha256
    assert session._steps is not None and session._steps is not encoder
    assert session._steps.encode(2, session.engine.inputs(0)).get("full") is True
    trace.close()
