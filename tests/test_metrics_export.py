"""`metrics export`: each bucket is valued with the state at that bucket, not the final lots."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from solbot.adapters.storage.ledger import Ledger
from solbot.app.metrics import export_buckets
from solbot.core.model import Fill, FundingPayment, Role, Side
from solbot.errors import UsageError

T0 = 1_700_000_100  # a multiple of 300 s
S = 1_000_000_000


def at(seconds: float) -> int:
    return round((T0 + seconds) * S)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "ledger.db"
    with Ledger(path) as ledger:
        ledger.record_fills(
            [
                Fill("lighter", "1", at(10), "SOL", Side.BID, 100.0, 1.0, Role.MAKER, 0.02),
                Fill("lighter", "2", at(610), "SOL", Side.ASK, 105.0, 1.0, Role.TAKER, 0.03),
            ]
        )
        for t, mid in ((200, 101.0), (400, 99.0), (700, 106.0)):
            ledger.record_mark("SOL", at(t), mid)
        ledger.record_funding(FundingPayment("lighter", at(500), "SOL", 1e-4, 1.0, 99.0, -0.01))
    return path


def rows(db: Path, tmp_path: Path, file_format: str) -> list[dict[str, object]]:
    out = tmp_path / f"buckets.{file_format}"
    result = export_buckets(db, window_s=300, file_format=file_format, out=out)
    assert result.rows == 3
    frame = pl.read_csv(out) if file_format == "csv" else pl.read_parquet(out)
    return frame.to_dicts()


@pytest.mark.parametrize("file_format", ["csv", "parquet"])
def test_buckets_use_their_own_lots_and_mark(db: Path, tmp_path: Path, file_format: str) -> None:
    first, idle, last = rows(db, tmp_path, file_format)
    assert [r["bucket_start_ms"] for r in (first, idle, last)] == [
        T0 * 1000, (T0 + 300) * 1000, (T0 + 600) * 1000,
    ]  # fmt: skip
    # Bucket 0: bought 1 @ 100, mark 101 -> inventory 1, unrealized +1 (not the final 0).
    assert first["fills"] == 1 and first["inventory_end"] == 1.0
    assert first["unrealized_pnl_usd"] == pytest.approx(1.0)
    assert first["true_pnl_usd"] == pytest.approx(1.0 - 0.02)
    assert first["cash_flow_usd"] == pytest.approx(-100.02)
    # Bucket 1: no fill, mark 99 -> unrealized -1, change -2; funding -0.01.
    assert idle["fills"] == 0 and idle["inventory_end"] == 1.0
    assert idle["unrealized_pnl_usd"] == pytest.approx(-1.0)
    assert idle["funding_usd"] == pytest.approx(-0.01)
    assert idle["true_pnl_usd"] == pytest.approx(-2.01)
    # Bucket 2: sold 1 @ 105 -> realized 5, flat; unrealized back from -1 to 0.
    assert last["realized_pnl_usd"] == pytest.approx(5.0)
    assert last["realized_cumulative_usd"] == pytest.approx(5.0)
    assert last["inventory_end"] == 0.0 and last["unrealized_pnl_usd"] == 0.0
    assert last["true_pnl_usd"] == pytest.approx(5.0 - 0.03 + 1.0)
    assert (last["mark_price"], last["mark_source"]) == (106.0, "mark")
    # The slices add up to the whole period's cash flow marked to market (flat at the end).
    total_true = sum(r["true_pnl_usd"] for r in (first, idle, last))
    assert total_true == pytest.approx(-100.02 + 104.97 - 0.01)


def test_csv_to_stdout_text_and_usage_errors(db: Path, tmp_path: Path) -> None:
    result = export_buckets(db, window_s=300)
    assert result.text is not None and result.path is None
    assert result.text.splitlines()[0].startswith("bucket_start_ms,window_seconds,market,fills")
    assert len(result.text.splitlines()) == 4
    with pytest.raises(UsageError):
        export_buckets(db, window_s=300, file_format="parquet")
    with pytest.raises(UsageError):
        export_buckets(db, window_s=0)
    with pytest.raises(UsageError):
        export_buckets(db, window_s=300, file_format="xlsx", out=tmp_path / "x")


def test_empty_ledger_exports_header_only(tmp_path: Path) -> None:
    path = tmp_path / "empty.db"
    Ledger(path).close()
    result = export_buckets(path, window_s=60)
    assert result.rows == 0
    assert result.text is not None and result.text.startswith("bucket_start_ms")


def test_funding_after_the_last_fill_and_mark_is_not_dropped(db: Path) -> None:
    with Ledger(db) as ledger:
        late = FundingPayment("lighter", at(1000), "SOL", 1e-4, 0.0, 106.0, -0.02)
        ledger.record_funding(late)
    result = export_buckets(db, window_s=300)
    assert result.text is not None
    frame = pl.read_csv(result.text.encode())
    assert frame.height == 4
    assert frame["funding_usd"].sum() == pytest.approx(-0.03)
