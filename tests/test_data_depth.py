"""Depth snapshot + diff updates rebuilt into L1: hand-made book, continuity rules, gaps."""

from __future__ import annotations

from pathlib import Path

import pytest

from solbot.adapters.data import EventChunk, open_events
from solbot.core.model import MarketSpec
from solbot.errors import DataError

MARKET = MarketSpec("ETHUSDT", "binance-usdm", 0, 2, 3, 0.001, 20.0)
SNAPSHOT = "local_ts_ns,last_update_id,event_time_ms,transaction_time_ms,side,price,qty"
UPDATES = (
    "local_ts_ns,event_time_ms,transaction_time_ms,first_update_id,final_update_id,"
    "prev_final_update_id,side,price,qty"
)
S = 1_000_000_000


def snapshot_rows() -> list[str]:
    levels = [
        ("bid", "100.00", "1"),
        ("bid", "99.99", "2"),
        ("ask", "100.01", "3"),
        ("ask", "100.02", "4"),
    ]
    return [f"{10 * S},100,9900,9900,{side},{price},{qty}" for side, price, qty in levels]


# (receive s, first id, final id, previous final id, [(side, price, qty)])
MESSAGES = {
    "A": (9.0, 90, 95, 89, [("bid", "100.00", "5")]),  # inside the snapshot: dropped
    "B": (9.5, 96, 101, 95, [("bid", "100.00", "1.5")]),  # straddles the snapshot id: applied
    "C": (11.0, 102, 104, 101, [("ask", "100.01", "0"), ("bid", "99.98", "7")]),
    "D": (12.0, 105, 106, 104, [("bid", "99.50", "1")]),  # deep level: top unchanged
    "E": (
        13.0,
        107,
        110,
        106,
        [("bid", "100.00", "0"), ("bid", "99.99", "0"), ("ask", "100.00", "2")],
    ),
}


def update_rows(
    messages: dict[str, tuple[float, int, int, int, list[tuple[str, str, str]]]],
) -> list[str]:
    rows = []
    for seconds, first, final, previous, levels in messages.values():
        local = int(seconds * S)
        event_ms = local // 1_000_000 - 100  # capture clock ahead: no clock shift
        for side, price, qty in levels:
            rows.append(
                f"{local},{event_ms},{event_ms},{first},{final},{previous},{side},{price},{qty}"
            )
    return rows


def write(path: Path, header: str, rows: list[str]) -> Path:
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


def rebuild(
    tmp_path: Path, messages: dict[str, tuple[float, int, int, int, list[tuple[str, str, str]]]]
) -> EventChunk:
    snapshot = write(tmp_path / "x_depth_snapshot.csv", SNAPSHOT, snapshot_rows())
    updates = write(tmp_path / "x_depth_updates.csv", UPDATES, update_rows(messages))
    source = open_events([updates, snapshot], MARKET)
    return EventChunk.concat(list(source.chunks()))


def tops(events: EventChunk) -> list[tuple[int, int, int, int]]:
    return list(
        zip(
            events.bid_price.tolist(),
            events.bid_size.tolist(),
            events.ask_price.tolist(),
            events.ask_size.tolist(),
            strict=True,
        )
    )


def test_l1_from_snapshot_and_updates(tmp_path: Path) -> None:
    events = rebuild(tmp_path, MESSAGES)
    assert tops(events) == [
        (10000, 1000, 10001, 3000),  # the snapshot
        (10000, 1500, 10001, 3000),  # B
        (10000, 1500, 10002, 4000),  # C: best ask deleted, next level takes over
        (9998, 7000, 10000, 2000),  # E: two best bids deleted, new best ask
    ]
    # B arrived before the snapshot: the bot can only use it once the snapshot is in
    assert events.ts_ns.tolist() == [10 * S, 10 * S, 11 * S, 13 * S]
    assert events.exchange_ts_ns.tolist()[1:] == [
        10 * S - 100 * 1_000_000 + s for s in (-S // 2, S, 3 * S)
    ]
    assert set(events.kind.tolist()) == {0}


def test_gap_in_update_ids_names_file_line_and_field(tmp_path: Path) -> None:
    broken = dict(MESSAGES)
    seconds, first, final, _, levels = broken["C"]
    broken["C"] = (seconds, first, final, 100, levels)  # should be 101
    with pytest.raises(DataError) as caught:
        rebuild(tmp_path, broken)
    problem = caught.value.problems[0]
    assert problem.path.endswith("x_depth_updates.csv")
    assert (problem.line, problem.column, problem.field) == (4, 6, "prev_final_update_id")
    assert "expected 101" in problem.message and "found 100" in problem.message


def test_updates_starting_after_the_snapshot_are_a_gap(tmp_path: Path) -> None:
    missing_b = {name: message for name, message in MESSAGES.items() if name != "B"}
    with pytest.raises(DataError) as caught:
        rebuild(tmp_path, missing_b)
    problem = caught.value.problems[0]
    assert (problem.line, problem.column, problem.field) == (3, 4, "first_update_id")


def test_rows_of_one_message_must_share_ids(tmp_path: Path) -> None:
    rows = update_rows(MESSAGES)
    rows[3] = rows[3].replace(",102,104,101,", ",103,104,101,")  # second row of message C
    snapshot = write(tmp_path / "x_depth_snapshot.csv", SNAPSHOT, snapshot_rows())
    updates = write(tmp_path / "x_depth_updates.csv", UPDATES, rows)
    with pytest.raises(DataError) as caught:
        open_events([snapshot, updates], MARKET)
    problem = caught.value.problems[0]
    assert (problem.line, problem.field) == (5, "first_update_id")


def test_updates_without_their_snapshot_are_refused(tmp_path: Path) -> None:
    updates = write(tmp_path / "x_depth_updates.csv", UPDATES, update_rows(MESSAGES))
    with pytest.raises(DataError, match="need their snapshot"):
        open_events([updates], MARKET)


def test_snapshot_ids_must_agree(tmp_path: Path) -> None:
    rows = snapshot_rows()
    rows[3] = rows[3].replace(",100,", ",101,")
    snapshot = write(tmp_path / "x_depth_snapshot.csv", SNAPSHOT, rows)
    with pytest.raises(DataError) as caught:
        open_events([snapshot], MARKET)
    assert (caught.value.problems[0].line, caught.value.problems[0].field) == (5, "last_update_id")


def test_snapshot_alone_gives_its_top(tmp_path: Path) -> None:
    snapshot = write(tmp_path / "x_depth_snapshot.csv", SNAPSHOT, snapshot_rows())
    events = EventChunk.concat(list(open_events([snapshot], MARKET).chunks()))
    assert tops(events) == [(10000, 1000, 10001, 3000)]
