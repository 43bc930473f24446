"""Bar-mode fill symmetry: maker fills by side and bar direction, on candles and their mirror.

    PYTHONPATH=. .venv/bin/python scripts/bar_symmetry.py [CANDLES.csv.gz] [--profile naive]

The mirror replaces every price p by 2*p0 - p (p0 = the middle of the file's price range; high and
low swap roles), so rising bars become falling ones. A bar expansion without a directional bias
gives about as many bid fills on one file as ask fills on the other, and maker fills on falling
bars as well as on rising ones. Prints one JSON object per file.
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

from solbot.adapters.data import sample_candles_path
from solbot.adapters.data.bars import mirror_candles
from solbot.adapters.storage.ledger import Ledger
from solbot.app.simulate import SimulationRequest, run_simulation
from solbot.core.model import Role, Side


def fill_counts(candles: Path, profile: str, out_dir: Path) -> dict[str, object]:
    """Replay one candle file; maker fills by side and by the direction of the bar they fell in."""
    result = run_simulation(SimulationRequest(profile=profile, data=(candles,), out_dir=out_dir))
    with Ledger(result.db_path) as ledger:
        makers = [fill for fill in ledger.fills() if fill.role is Role.MAKER]
    bars = np.genfromtxt(candles, delimiter=",", names=True, dtype=None, encoding="utf-8")
    open_ms = np.asarray(bars["open_time_ms"], dtype=np.int64)
    direction = np.sign(np.asarray(bars["close"]) - np.asarray(bars["open"]))
    index = np.searchsorted(open_ms, [fill.ts_ns // 1_000_000 for fill in makers], "right") - 1
    counts = {"rising": [0, 0], "falling": [0, 0], "unchanged": [0, 0]}
    for fill, bar in zip(makers, index, strict=True):
        kind = {1: "rising", -1: "falling", 0: "unchanged"}[int(direction[bar])]
        counts[kind][0 if fill.side is Side.BID else 1] += 1
    return {
        "file": candles.name,
        "maker_fills": len(makers),
        "maker_bid_fills": sum(fill.side is Side.BID for fill in makers),
        "maker_ask_fills": sum(fill.side is Side.ASK for fill in makers),
        "bars": {kind: int((direction == sign).sum()) for kind, sign in _SIGNS.items()},
        "fills_by_bar_direction_bid_ask": counts,
    }


_SIGNS = {"rising": 1, "falling": -1, "unchanged": 0}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("candles", nargs="?", type=Path, default=sample_candles_path())
    parser.add_argument("--profile", default="naive")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        plain = work / args.candles.name.removesuffix(".gz")
        mirror = work / "mirror" / plain.name
        mirror.parent.mkdir()
        plain.write_bytes(_read(args.candles))
        mirror_candles(plain, mirror)
        for path, name in ((plain, "plain"), (mirror, "mirror")):
            print(json.dumps(fill_counts(path, args.profile, work / f"run-{name}")))
    return 0


def _read(path: Path) -> bytes:
    data = path.read_bytes()
    return gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data


if __name__ == "__main__":
    sys.exit(main())
