"""Markouts read off the full price path of a replay: the mid after every book event.

The ledger keeps one mark a second, so a markout from it has to guess the mid between marks
(docs/ledger-and-metrics.md). A simulate run still has its data: streaming the book events once
more gives the exact mid the engine saw at any time x — the mid after the last book event at or
before x. Bounded memory: the query times are sorted and answered chunk by chunk.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from solbot.app.metrics_compute import MARKOUT_HORIZONS_S, Markouts
from solbot.core.model import Fill

NS = 1_000_000_000
MidChunk = tuple[np.ndarray, np.ndarray]  # (ts_ns, mid) of the book events of one chunk


def mids_at(chunks: Iterable[MidChunk], queries: Sequence[int]) -> list[float | None]:
    """The mid after the last book event at or before each query time (queries in any order).

    None before the first book event and after the last one (the data does not reach there).
    Event times are taken as non-decreasing (replay time never goes back: a running maximum).
    """
    order = sorted(range(len(queries)), key=queries.__getitem__)
    answers: list[float | None] = [None] * len(queries)
    pending = 0  # index into `order` of the next query to answer
    last_mid: float | None = None
    last_ts: int | None = None
    for raw_ts, mids in chunks:
        if len(raw_ts) == 0:
            continue
        ts = np.maximum.accumulate(raw_ts)
        if last_ts is not None:
            ts = np.maximum(ts, last_ts)
        # queries before this chunk's first event: the mid left by the previous chunks
        while pending < len(order) and queries[order[pending]] < ts[0]:
            answers[order[pending]] = last_mid
            pending += 1
        inside = pending
        while inside < len(order) and queries[order[inside]] <= ts[-1]:
            inside += 1
        if inside > pending:
            wanted = np.fromiter((queries[i] for i in order[pending:inside]), dtype=np.int64)
            found = np.searchsorted(ts, wanted, side="right") - 1
            for i, row in zip(order[pending:inside], found.tolist(), strict=True):
                answers[i] = float(mids[row])
            pending = inside
        last_mid, last_ts = float(mids[-1]), int(ts[-1])
    return answers  # the rest lie after the last event: None


def path_markouts(
    fills: Sequence[Fill], chunks: Iterable[MidChunk]
) -> tuple[Markouts, list[float | None]]:
    """Markouts at MARKOUT_HORIZONS_S from the exact path, and each fill's 5 s markout.

    The reference is the fill's recorded mid, else the path at the fill's time.
    """
    queries = [f.ts_ns for f in fills]
    queries += [f.ts_ns + h * NS for h in MARKOUT_HORIZONS_S for f in fills]
    found = mids_at(chunks, queries)
    count = len(fills)
    sums = dict.fromkeys(MARKOUT_HORIZONS_S, 0.0)
    counts = dict.fromkeys(MARKOUT_HORIZONS_S, 0)
    five: list[float | None] = [None] * count
    for n, fill in enumerate(fills):
        reference = fill.mid if fill.mid is not None else found[n]
        if reference is None or reference <= 0:
            continue
        for k, horizon in enumerate(MARKOUT_HORIZONS_S):
            later = found[count * (k + 1) + n]
            if later is None:
                continue
            value = int(fill.side) * (later - reference) / reference * 1e4
            sums[horizon] += value
            counts[horizon] += 1
            if horizon == 5:
                five[n] = value
    outs = Markouts(
        bps={str(h): (sums[h] / counts[h] if counts[h] else None) for h in MARKOUT_HORIZONS_S},
        samples={str(h): counts[h] for h in MARKOUT_HORIZONS_S},
    )
    return outs, five
