"""`solbot record` against the loopback fake venue: a readable file, clean stops, exit 1 offline."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import numpy as np
import pyarrow.parquet as pq
import pytest

from solbot.adapters.data import KIND_BOOK, KIND_TRADE, open_events, read_metadata
from solbot.adapters.venues.fake_lighter import FakeLighterVenue, FakeVenueConfig
from solbot.adapters.venues.lighter.ws import WsSettings
from solbot.app.record import RecordRequest, record
from solbot.cli.main import main
from solbot.config.markets import resolve_market

pytestmark = pytest.mark.integration
SOL = resolve_market("lighter:SOL").spec
FAST_WS = WsSettings(ping_interval_s=1.0, backoff_initial_s=0.05, backoff_max_s=0.2)


@pytest.fixture
async def venue() -> AsyncIterator[FakeLighterVenue]:
    config = FakeVenueConfig(synthetic=True, seed=7, start_price=150.0, ping_interval_s=1.0)
    async with FakeLighterVenue(config) as fake:
        yield fake


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def request(venue: FakeLighterVenue, out: Path, **overrides: object) -> RecordRequest:
    fields: dict[str, object] = {
        "market": "SOL",
        "out": out,
        "rest_url": venue.base_url,
        "ws_url": venue.ws_url,
        "duration_s": 2.0,
        "flush_events": 16,
        "connect_timeout_s": 5.0,
        "ws_settings": FAST_WS,
    }
    fields.update(overrides)
    return RecordRequest(**fields)  # type: ignore[arg-type]


async def test_two_seconds_give_a_file_open_events_reads_with_sane_ticks(
    venue: FakeLighterVenue, tmp_path: Path
) -> None:
    out = tmp_path / "lighter_SOL_rec.parquet"
    summary = await asyncio.wait_for(record(request(venue, out), asyncio.Event()), 15)
    assert summary.stop_reason == "duration" and summary.book_events > 5
    assert summary.trade_events > 0 and summary.row_groups > 1
    source = open_events([out], SOL)
    events = next(source.chunks())
    assert len(events) == summary.events == source.count()
    assert np.all(np.diff(events.ts_ns) >= 0)
    books, trades = events.kind == KIND_BOOK, events.kind == KIND_TRADE
    bid, ask = events.bid_price[books], events.ask_price[books]
    assert np.all(bid > 0) and np.all(bid < ask)
    assert np.all(np.abs(bid - 150_000) < 7_500)  # within 5 % of the 150.000 start, in ticks
    assert np.all(events.bid_size[books] > 0) and np.all(events.ask_size[books] > 0)
    assert np.all(events.trade_price[trades] > 0) and np.all(events.trade_size[trades] > 0)
    assert set(events.aggressor[trades]) <= {-1, 1} and np.all(events.trade_id[trades] > 0)
    assert len(set(events.trade_id[trades])) == summary.trade_events  # no trade twice
    recorded = events.ts_ns
    assert summary.started_ns <= recorded[0] and recorded[-1] <= summary.ended_ns
    meta = read_metadata(out)
    assert meta["market"] == {"key": "lighter:SOL", "price_decimals": 3, "size_decimals": 3}
    facts = meta["recording"]
    assert facts["source"] == "lighter-ws" and facts["ws_url"] == venue.ws_url
    assert (facts["book_events"], facts["trade_events"]) == (
        summary.book_events,
        summary.trade_events,
    )
    assert facts["started_ns"] < facts["ended_ns"] and facts["stop_reason"] == "duration"
    assert meta["sources"][0]["format"] == "lighter-ws"
    assert meta["sources"][0]["rows"] == summary.events
    assert summary.simulate_command == f"solbot simulate --data {out}"


async def test_a_stop_request_finishes_a_valid_file_before_the_duration(
    venue: FakeLighterVenue, tmp_path: Path
) -> None:
    out = tmp_path / "stopped.parquet"
    stop = asyncio.Event()
    asyncio.get_running_loop().call_later(0.8, stop.set)
    started = time.monotonic()
    summary = await asyncio.wait_for(record(request(venue, out, duration_s=30), stop), 10)
    assert time.monotonic() - started < 5
    assert summary.stop_reason == "stopped" and summary.events > 0
    assert open_events([out], SOL).count() == summary.events
    assert not out.with_name(out.name + ".partial").exists()
    assert "--data-market lighter:SOL" in summary.simulate_command


async def test_a_dropped_socket_is_survived_and_counted(
    venue: FakeLighterVenue, tmp_path: Path
) -> None:
    out = tmp_path / "drop.parquet"
    stop = asyncio.Event()

    async def drop_then_stop() -> None:
        await asyncio.sleep(0.5)
        async with httpx.AsyncClient() as client:
            answer = await client.post(
                f"{venue.base_url}/_fake/faults", json={"drop_socket": "now"}
            )
            assert answer.status_code == 200, answer.text
        await asyncio.sleep(1.5)
        stop.set()

    dropper = asyncio.create_task(drop_then_stop())
    summary = await asyncio.wait_for(record(request(venue, out, duration_s=20), stop), 15)
    await dropper
    assert summary.reconnects >= 1
    assert read_metadata(out)["recording"]["reconnects"] == summary.reconnects
    assert open_events([out], SOL).count() == summary.events > 0


def run_cli(argv: list[str]) -> int:
    return main(argv)


async def test_cli_records_and_prints_the_summary(
    venue: FakeLighterVenue, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "lighter_SOL_cli.parquet"
    argv = [
        "record",
        "--out",
        str(out),
        "--duration",
        "1s",
        "--rest-url",
        venue.base_url,
        "--ws-url",
        venue.ws_url,
    ]
    assert await asyncio.wait_for(asyncio.to_thread(run_cli, argv), 15) == 0
    text = capsys.readouterr().out
    assert f"{out}:" in text and "stopped: duration" in text
    assert f"replay: solbot simulate --data {out}" in text
    assert read_metadata(out)["recording"]["stop_reason"] == "duration"
    # An existing file is not replaced without --overwrite.
    assert await asyncio.to_thread(run_cli, argv) == 2
    assert await asyncio.wait_for(asyncio.to_thread(run_cli, [*argv, "--overwrite"]), 15) == 0


async def test_cli_json_prints_the_summary_as_one_object(
    venue: FakeLighterVenue, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "lighter_SOL_json.parquet"
    argv = ["record", "--out", str(out), "--duration", "1s", "--json",
            "--rest-url", venue.base_url, "--ws-url", venue.ws_url]  # fmt: skip
    assert await asyncio.wait_for(asyncio.to_thread(run_cli, argv), 15) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["out"] == str(out) and summary["stop_reason"] == "duration"
    assert summary["book_events"] == read_metadata(out)["recording"]["book_events"]


def test_unreachable_venue_exits_1_and_leaves_no_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    port = free_port()
    out = tmp_path / "never.parquet"
    argv = ["record", "--out", str(out), "--duration", "1s"]
    urls = ["--rest-url", f"http://127.0.0.1:{port}", "--ws-url", f"ws://127.0.0.1:{port}/stream"]
    assert main([*argv, *urls]) == 1
    assert "venue unreachable" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


async def test_websocket_that_never_answers_exits_1(
    venue: FakeLighterVenue, tmp_path: Path
) -> None:
    out = tmp_path / "no_ws.parquet"
    argv = ["record", "--out", str(out), "--rest-url", venue.base_url, "--connect-timeout", "1s"]
    argv += ["--ws-url", f"ws://127.0.0.1:{free_port()}/stream"]
    assert await asyncio.wait_for(asyncio.to_thread(run_cli, argv), 15) == 1
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        (["--duration", "soon"], "--duration"),
        (["--market", "binance-usdm:BTCUSDT"], "not a Lighter market"),
        (["--flush-events", "0"], "N >= 1"),
    ],
)
def test_bad_options_exit_2(
    extra: list[str], fragment: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    port = free_port()
    argv = [
        "record",
        "--out",
        str(tmp_path / "x.parquet"),
        "--rest-url",
        f"http://127.0.0.1:{port}",
    ]
    assert main([*argv, *extra]) == 2
    assert fragment in capsys.readouterr().err


def test_sigint_stops_the_process_with_a_complete_file(tmp_path: Path) -> None:
    """A real Ctrl-C (SIGINT) to `solbot record` as its own process: exit 0, a readable file."""
    out = tmp_path / "sigint.parquet"
    ready = tmp_path / "venue.txt"
    venue_script = (
        "import asyncio, sys\n"
        "from pathlib import Path\n"
        "from solbot.adapters.venues.fake_lighter import FakeLighterVenue, FakeVenueConfig\n"
        "async def main():\n"
        "    async with FakeLighterVenue(FakeVenueConfig(synthetic=True, seed=2)) as v:\n"
        f"        Path({str(ready)!r}).write_text(v.base_url + ' ' + v.ws_url)\n"
        "        await asyncio.sleep(30)\n"
        "asyncio.run(main())\n"
    )
    fake = subprocess.Popen([sys.executable, "-c", venue_script])
    try:
        deadline = time.monotonic() + 10
        while not ready.exists() or not ready.read_text():
            assert time.monotonic() < deadline and fake.poll() is None
            time.sleep(0.05)
        rest_url, ws_url = ready.read_text().split()
        command = [sys.executable, "-m", "solbot", "record", "--out", str(out)]
        command += ["--rest-url", rest_url, "--ws-url", ws_url]
        recorder = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
        try:
            partial = out.with_name(out.name + ".partial")
            while not partial.exists():
                assert time.monotonic() < deadline and recorder.poll() is None
                time.sleep(0.05)
            time.sleep(1.0)
            os.kill(recorder.pid, signal.SIGINT)
            assert recorder.wait(10) == 0, recorder.stderr.read() if recorder.stderr else ""
        finally:
            if recorder.poll() is None:
                recorder.kill()
    finally:
        fake.kill()
        fake.wait(5)
    meta = read_metadata(out)
    assert meta["recording"]["stop_reason"] == "stopped"
    assert (
        pq.read_table(out).num_rows
        == meta["recording"]["book_events"] + meta["recording"]["trade_events"]
        > 0
    )
