"""Simulate's markouts from every book event of the data: exact, chunk boundaries included."""

from __future__ import annotations

import numpy as np
import pytest

from solbot.app.metrics_compute import PriceHistory, markouts
from solbot.app.price_path import mids_at, path_markouts
from solbot.core.model import Fill, Role, Side

NS = 1_000_000_000
MS = 1_000_000
T0 = 1_700_000_000 * NS


def chunk(events: list[tuple[float, float]]) -> tuple[np.ndarray, np.ndarray]:
    ts = np.array([T0 + round(s * NS) for s, _ in events], dtype=np.int64)
    return ts, np.array([mid for _, mid in events])


# the book: 100.00 from 0 s, 100.02 at 0.4 s, 100.10 at 5.2 s, 100.05 at 5.9 s, 100.30 at 6.0 s
CHUNKS = [
    chunk([(0.0, 100.0), (0.4, 100.02)]),
    chunk([(5.2, 100.1), (5.9, 100.05)]),
    chunk([(6.0, 100.3), (9.0, 100.3)]),
]


def test_mids_at_takes_the_last_event_at_or_before_each_time_across_chunks() -> None:
    queries = [T0 + 5_500 * MS, T0 - 1, T0 + 400 * MS, T0 + 3 * NS, T0 + 9 * NS, T0 + 9 * NS + 1]
    assert mids_at(iter(CHUNKS), queries) == [100.1, None, 100.02, 100.02, 100.3, None]


def test_5s_markout_is_the_mid_at_fill_time_plus_5s_where_marks_were_off() -> None:
    fill = Fill("sim", "1", T0 + 500 * MS, "SOL", Side.BID, 100.0, 1.0, Role.MAKER, mid=100.02)
    outs, five = path_markouts([fill], iter(CHUNKS))
    by_hand = (100.1 - 100.02) / 100.02 * 1e4  # at 5.5 s the book was at 100.10 (from 5.2 s)
    assert five == [pytest.approx(by_hand)]
    assert outs.bps["5"] == pytest.approx(by_hand) and outs.samples["5"] == 1
    assert outs.samples == {"1": 1, "5": 1, "30": 0, "60": 0}  # the data ends at 9 s
    # one mark a second (the first event of each second, as the session records them) is off:
    marks = [(T0, 100.0), (T0 + 5_200 * MS, 100.1), (T0 + 6 * NS, 100.3), (T0 + 9 * NS, 100.3)]
    from_marks = markouts([fill], PriceHistory(marks, [fill])).bps["5"]
    assert from_marks is not None and abs(from_marks - by_hand) > 1.0


def test_a_fill_without_a_recorded_mid_takes_the_path_at_its_time() -> None:
    fill = Fill("sim", "2", T0 + 5_950 * MS, "SOL", Side.ASK, 100.0, 1.0, Role.MAKER)
    outs, _ = path_markouts([fill], iter(CHUNKS))
    assert outs.bps["1"] == pytest.approx(-(100.3 - 100.05) / 100.05 * 1e4)
