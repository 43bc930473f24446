"""`metrics window` numbers on a hand-made ledger, every expected value worked out by hand."""

from __future__ import annotations

from pathlib import Path

import pytest

from solbot.adapters.storage.ledger import Ledger
from solbot.app.metrics import dump_report, parse_time_ns, window_report
from solbot.core.model import Fill, FundingPayment, Role, Side
from solbot.errors import RuntimeFailure, UsageError

T0 = 1_700_000_100  # seconds
S = 1_000_000_000


def at(seconds: float) -> int:
    return round((T0 + seconds) * S)


def fill(n: int, t: float, side: Side, price: float, size: float, role: Role, fee: float,
         mid: float | None = None) -> Fill:  # fmt: skip
    return Fill("lighter", str(n), at(t), "SOL", side, price, size, role, fee_usd=fee, mid=mid)


FILLS = [
    fill(1, 0, Side.BID, 100.0, 1.0, Role.MAKER, 0.01, mid=100.05),
    fill(2, 100, Side.BID, 102.0, 1.0, Role.TAKER, 0.02),
    fill(3, 4000, Side.ASK, 105.0, 1.5, Role.MAKER, 0.015, mid=105.1),
    fill(4, 4010, Side.ASK, 104.0, 1.0, Role.MAKER, 0.01),  # flips: closes 0.5, opens -0.5
]
MARKS = [
    (0, 100.0), (1, 100.2), (5, 99.9), (30, 100.5), (60, 101.0), (3960, 103.0),
    (4000, 105.0), (4001, 105.3), (4005, 104.8), (4010, 104.0), (4011, 103.9), (4015, 104.5),
    (4032, 103.0), (4040, 103.2), (4062, 102.8), (4070, 102.5),
]  # fmt: skip
FUNDING = [(3000, -0.10, 2.0), (4050, -0.05, -0.5)]


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "ledger.db"
    with Ledger(path, batch_size=7) as ledger:
        ledger.record_fills(FILLS)
        for t, mid in MARKS:
            ledger.record_mark("SOL", at(t), mid)
        for t, amount, position in FUNDING:
            ledger.record_funding(
                FundingPayment("lighter", at(t), "SOL", 1e-4, position, 0, amount)
            )
    return path


def test_last_100_seconds_with_lots_opened_before_the_window(db: Path) -> None:
    report = window_report(db, seconds=100)
    assert (report.window_start_ns, report.window_end_ns) == (at(3970), at(4070))
    assert (report.fills, report.maker_fills, report.taker_fills) == (2, 2, 0)
    assert report.volume_usd == pytest.approx(1.5 * 105 + 104)
    assert report.maker_volume_usd == pytest.approx(261.5)
    assert report.taker_volume_usd == 0
    # FIFO: 1 @ 100 -> +5, 0.5 @ 102 -> +1.5 (fill 3); 0.5 @ 102 -> +1 (fill 4).
    assert report.realized_pnl_usd == pytest.approx(7.5)
    assert report.fees_usd == pytest.approx(0.025)
    assert report.funding_usd == pytest.approx(-0.05)
    assert report.net_pnl_usd == pytest.approx(7.5 - 0.025 - 0.05)
    assert report.cash_flow_usd == pytest.approx(157.5 - 0.015 + 104 - 0.01)
    assert (report.inventory_start, report.inventory) == (pytest.approx(2.0), pytest.approx(-0.5))
    assert (report.mark_price, report.mark_source) == (102.5, "mark")
    assert report.unrealized_pnl_usd == pytest.approx(-0.5 * (102.5 - 104))
    # Opening lots valued at the 3960 s mark: 1 * (103 - 100) + 1 * (103 - 102) = 4.
    assert report.total_pnl_usd == pytest.approx(7.425 + 0.75 - 4.0)
    # Same total from cash flow: 261.475 - 0.05 + (-0.5 * 102.5) - 2 * 103.
    assert report.total_pnl_usd == pytest.approx(261.475 - 0.05 - 51.25 - 206)


def test_markouts_by_hand(db: Path) -> None:
    report = window_report(db, seconds=100)
    # Fill 3 sold with recorded mid 105.1; fill 4 sold, no mid, reference = mark at 4010 (104.0).
    expected = {
        "1": ((105.1 - 105.3) / 105.1 + (104.0 - 103.9) / 104.0) / 2 * 1e4,
        "5": ((105.1 - 104.8) / 105.1 + (104.0 - 104.5) / 104.0) / 2 * 1e4,
        "30": ((105.1 - 103.0) / 105.1 + (104.0 - 103.2) / 104.0) / 2 * 1e4,
        "60": ((105.1 - 102.8) / 105.1 + (104.0 - 102.5) / 104.0) / 2 * 1e4,
    }
    assert report.markouts_bps == pytest.approx(expected)
    assert report.markout_samples == {"1": 2, "5": 2, "30": 2, "60": 2}


def test_markouts_missing_without_a_late_enough_mark(db: Path) -> None:
    with Ledger(db) as ledger:
        ledger.record_fill(fill(5, 4068, Side.ASK, 102.6, 0.1, Role.MAKER, 0.0, mid=102.6))
    report = window_report(db, seconds=5)
    assert report.fills == 1
    # 1 s later (4069 s): halfway between the fill's own mid at 4068 s (102.6) and the 4070 s
    # mark (102.5), so 102.55; 5 s and later: no mark that late.
    assert report.markouts_bps == {"1": pytest.approx((102.6 - 102.55) / 102.6 * 1e4),
                                   "5": None, "30": None, "60": None}  # fmt: skip
    assert report.markout_samples == {"1": 1, "5": 0, "30": 0, "60": 0}
    empty = window_report(db, seconds=1)
    assert empty.fills == 0
    assert empty.markouts_bps == {"1": None, "5": None, "30": None, "60": None}


def test_all_time_and_dump(db: Path) -> None:
    total = window_report(db)
    assert total.window_start_ns == at(0)
    assert total.fills == 4
    assert total.realized_pnl_usd == pytest.approx(7.5)
    assert total.fees_usd == pytest.approx(0.055)
    assert total.funding_usd == pytest.approx(-0.15)
    assert total.net_pnl_usd == pytest.approx(7.5 - 0.055 - 0.15)
    assert total.total_pnl_usd == pytest.approx(total.net_pnl_usd + 0.75)
    # Fill 1 (mid 100.05): 1 s later the mark is 100.2, 5 s later 99.9, 30 s 100.5, 60 s 101.
    assert total.markout_samples == {"1": 3, "5": 3, "30": 3, "60": 3}
    reports = dump_report(db)
    assert reports["total"] == total
    assert reports["last_6h"].fills == 4
    assert reports["last_6h"].window_start_ns == at(4070 - 6 * 3600)


def test_window_ending_before_a_fill_uses_the_state_then(db: Path) -> None:
    report = window_report(db, hours=1, until=str(T0 + 3999))
    assert report.fills == 0
    assert report.inventory == pytest.approx(2.0)
    assert report.unrealized_pnl_usd == pytest.approx(1 * 3 + 1 * 1)  # mark 103 at 3960 s
    assert report.funding_usd == pytest.approx(-0.10)


def test_fill_price_values_inventory_when_no_mark_is_newer(tmp_path: Path) -> None:
    path = tmp_path / "imported.db"
    with Ledger(path) as ledger:
        ledger.record_fills([FILLS[0], FILLS[1]])
    report = window_report(path)
    assert (report.mark_price, report.mark_source) == (102.0, "fill_price")
    assert report.unrealized_pnl_usd == pytest.approx(2.0)


def test_several_markets_need_market(db: Path) -> None:
    with Ledger(db) as ledger:
        ledger.record_fill(Fill("lighter", "e1", at(5), "ETH", Side.BID, 3000, 0.01, Role.MAKER))
    with pytest.raises(UsageError):
        window_report(db)
    assert window_report(db, market="ETH").fills == 1
    assert window_report(db, market="SOL").fills == 4


def test_bad_arguments_and_missing_db(db: Path, tmp_path: Path) -> None:
    with pytest.raises(UsageError):
        window_report(db, hours=1, seconds=5)
    with pytest.raises(UsageError):
        window_report(db, hours=-1)
    with pytest.raises(UsageError):
        window_report(db, since="yesterday-ish")
    with pytest.raises(RuntimeFailure):
        window_report(tmp_path / "absent.db")
    assert not (tmp_path / "absent.db").exists()


def test_empty_ledger_reports_zeros(tmp_path: Path) -> None:
    path = tmp_path / "empty.db"
    Ledger(path).close()
    report = window_report(path, hours=1)
    assert (report.fills, report.window_end_ns, report.market) == (0, None, None)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("2023-11-14T22:15:00Z", 1_700_000_100 * S), ("2023-11-14T22:15:00", 1_700_000_100 * S),
     ("2023-11-14T23:15:00+01:00", 1_700_000_100 * S), ("1700000100", 1_700_000_100 * S),
     ("1700000100500", 1_700_000_100_500_000_000), (str(1_700_000_100 * S), 1_700_000_100 * S)],
)  # fmt: skip
def test_time_arguments(text: str, expected: int) -> None:
    assert parse_time_ns(text, "--since") == expected
