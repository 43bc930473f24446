"""A bar-mode run converted to Parquet replays like the candles it came from.

Synthetic ticks are 15 s apart (4 per 1m bar), longer than `guard.stale_feed`: each bar vouches
for the feed for a bar's length. That promise has to survive `solbot data convert`, or the
converted file replays with the stale-feed guard pausing the quotes between ticks.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pytest

from solbot.adapters.data import open_events, sample_candles_path, write_parquet
from solbot.app.simulate import SimulationRequest, prepare_policy, run_simulation
from solbot.errors import DataError

HOURS_NS = 3 * 3_600_000_000_000  # three hours of the bundled day keep the runs short
SAME = (
    "events",
    "decisions",
    "fills",
    "maker_fills",
    "volume_usd",
    "net_pnl_usd",
    "tx_sent",
    "quoting_denied_pct",
    "quoting_denied_reason",
)


def source_spec() -> object:
    request = SimulationRequest(profile="naive", data=(sample_candles_path(),))
    return prepare_policy(request).source_entry.spec


def converted(tmp_path: Path) -> tuple[Path, int]:
    candles = sample_candles_path()
    spec = source_spec()
    source = open_events([candles], spec, end_ns=None)  # type: ignore[arg-type]
    start = source.files[0].first_ts_ns
    window = open_events([candles], spec, end_ns=start + HOURS_NS)  # type: ignore[arg-type]
    out = tmp_path / "day.parquet"
    write_parquet(window, out)
    return out, start + HOURS_NS


def test_a_converted_bar_file_vouches_for_the_feed_for_a_bar(tmp_path: Path) -> None:
    out, _ = converted(tmp_path)
    spec = source_spec()
    candles = open_events([sample_candles_path()], spec)  # type: ignore[arg-type]
    assert candles.feed_heartbeat_ns == 60_000_000_000
    assert open_events([out], spec).feed_heartbeat_ns == candles.feed_heartbeat_ns  # type: ignore[arg-type]


def test_simulating_a_converted_bar_file_gives_the_candle_run(tmp_path: Path) -> None:
    out, end_ns = converted(tmp_path)
    from_candles = run_simulation(
        SimulationRequest(
            profile="defensive",
            data=(sample_candles_path(),),
            end_ns=end_ns,
            out_dir=tmp_path / "candles",
        )
    ).summary
    from_parquet = run_simulation(
        SimulationRequest(profile="defensive", data=(out,), out_dir=tmp_path / "parquet")
    ).summary
    assert from_candles["fills"] > 0
    assert {key: from_parquet[key] for key in SAME} == {key: from_candles[key] for key in SAME}


def test_a_coarse_file_without_its_bar_length_is_refused(tmp_path: Path) -> None:
    """Files converted before the bar length was recorded cannot replay honestly: say so."""
    out, _ = converted(tmp_path)
    table = pq.read_table(out)
    metadata = dict(table.schema.metadata)
    stored = metadata[b"solbot"].decode()
    assert '"feed_heartbeat_ns"' in stored
    old = stored.replace('"feed_heartbeat_ns"', '"unused_key"')
    older = tmp_path / "older.parquet"
    pq.write_table(table.replace_schema_metadata({**metadata, b"solbot": old.encode()}), older)
    with pytest.raises(DataError) as caught:
        open_events([older], source_spec())  # type: ignore[arg-type]
    problem = caught.value.problems[0]
    assert problem.field == "feed_heartbeat_ns"
    assert "convert it again" in problem.message


def test_a_bar_mode_file_is_not_mixed_with_tick_files(tmp_path: Path) -> None:
    """One bar's vouching would hide real silences in tick data: refuse the mix."""
    from solbot.adapters.data import sample_paths

    out, _ = converted(tmp_path)
    with pytest.raises(DataError, match="bar-mode event files cannot be mixed with tick files"):
        open_events([out, *sample_paths()], source_spec())  # type: ignore[arg-type]
