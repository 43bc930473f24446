"""Bar mode has no directional bias: `simulate` on candles and their mirror (p -> 2*p0 - p)."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from solbot.adapters.data import sample_candles_path
from solbot.adapters.data.bars import mirror_candles
from solbot.adapters.storage.ledger import Ledger
from solbot.app.simulate import SimulationRequest, SimulationResult, run_simulation
from solbot.core.model import Role, Side

NAME = "binance_usdm_perp_SOLUSDT_1m_20250519.csv"  # the name tells simulate the market
HEADER = "open_time_ms,open_time_utc,open,high,low,close,volume"
T0_MS = 1_747_612_800_000


def simulate(candles: Path, out: Path) -> SimulationResult:
    result = run_simulation(SimulationRequest(profile="naive", data=(candles,), out_dir=out))
    assert any(note.startswith("bar mode is coarse") for note in result.notes)
    return result


def maker_fills(candles: Path, out: Path) -> dict[Side, int]:
    """Maker fills of the naive profile on one candle file, by our side."""
    with Ledger(simulate(candles, out).db_path) as ledger:
        makers = [fill.side for fill in ledger.fills() if fill.role is Role.MAKER]
    return {side: makers.count(side) for side in Side}


def test_mirrored_day_swaps_bid_and_ask_fills(tmp_path: Path) -> None:
    """The bundled SOL day and its mirror: bid fills of one are the ask fills of the other."""
    plain = tmp_path / "plain" / NAME
    mirror = tmp_path / "mirror" / NAME
    plain.parent.mkdir()
    mirror.parent.mkdir()
    plain.write_bytes(gzip.decompress(sample_candles_path().read_bytes()))
    mirror_candles(plain, mirror)
    a = maker_fills(plain, tmp_path / "run-plain")
    b = maker_fills(mirror, tmp_path / "run-mirror")
    # the residue is the bot's own price dependence (clips are sized in USD), not the bars
    assert b[Side.ASK] == pytest.approx(a[Side.BID], rel=0.05)
    assert b[Side.BID] == pytest.approx(a[Side.ASK], rel=0.05)
    assert min(a.values()) > 500  # both sides trade on a whole day


def falling_bars(path: Path) -> Path:
    """Two hours of bars that each close below their open (and the next opens at that close)."""
    rows = []
    for minute in range(120):
        open_ = 170.0 - 0.2 * minute
        high, low, close = open_ + 0.05, open_ - 0.3, open_ - 0.2
        rows.append(
            f"{T0_MS + minute * 60_000},x,{open_:.2f},{high:.2f},{low:.2f},{close:.2f},5000"
        )
    path.write_text("\n".join([HEADER, *rows]) + "\n")
    return path


def test_strictly_falling_bars_fill_our_bid(tmp_path: Path) -> None:
    """Every bar closes below its open: prints at the lows still reach our resting bids."""
    fills = maker_fills(falling_bars(tmp_path / NAME), tmp_path / "run")
    assert fills[Side.BID] > 0


def test_bar_mode_replay_is_byte_identical(tmp_path: Path) -> None:
    path = falling_bars(tmp_path / NAME)
    first = simulate(path, tmp_path / "first")
    second = simulate(path, tmp_path / "second")
    assert first.trace_path.read_bytes() == second.trace_path.read_bytes()
