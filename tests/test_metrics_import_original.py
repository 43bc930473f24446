"""`metrics import-original`: the original bot's fills.jsonl booked with solbot's FIFO.

The fixture (tests/fixtures/original/fills.jsonl) holds 11 FillEvent lines: 9 SOL trades, one
trade written twice (the original's reconnect defect), one line whose `side` disagrees with its
`base_delta` (the role/side bug) and one trade of another market.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from solbot.adapters.storage.ledger import Ledger
from solbot.adapters.storage.original_fills import read_original_fills
from solbot.cli.main import main
from solbot.core.model import Role, Side
from solbot.errors import DataError

FIXTURE = Path(__file__).parent / "fixtures" / "original" / "fills.jsonl"
T0 = 1_731_240_000

# FIFO by hand, one book for longs and shorts, oldest lot first (price, signed size):
#  1 sell .10 @100  -> short lots [.10@100]
#  2 sell .10 @110  -> [.10@100, .10@110]
#  3 buy  .10 @105  closes .10@100: (100 - 105) x .10 = -0.50     (the original's LIFO: +0.50)
#  4 buy  .20 @104  closes .10@110: (110 - 104) x .10 = +0.60; long [.10@104]; fee 0.0021
#  5 buy  .10 @106  -> long [.10@104, .10@106]
#  6 sell .15 @108  (108 - 104) x .10 + (108 - 106) x .05 = +0.50; long [.05@106]
#  7 sell .10 @103  (103 - 106) x .05 = -0.15; short [.05@103]   (line repeated: booked once)
#  9 sell .05 @102  (the line says bid; base_delta -0.05 says sold) -> short [.05@103, .05@102]
# 10 buy  .05 @101  closes .05@103: (103 - 101) x .05 = +0.10; short [.05@102]
FIFO_REALIZED = -0.50 + 0.60 + 0.50 - 0.15 + 0.10  # 0.55
LIFO_REALIZED = 0.50 - 0.40 + 0.50 - 0.15 + 0.05  # 0.50: what the original reported
FEES = 0.0021


def _import(db: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, object]:
    code = main(["metrics", "import-original", str(FIXTURE), "--db", str(db), "--json"])
    out = capsys.readouterr().out
    assert code == 0, out
    result: dict[str, object] = json.loads(out)
    return result


def _window(db: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> dict[str, object]:
    code = main(["metrics", "window", "--db", str(db), "--json", *extra])
    out = capsys.readouterr().out
    assert code == 0, out
    result: dict[str, object] = json.loads(out)
    return result


def test_metrics_window_on_imported_fills_agrees_with_fifo_by_hand(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "ledger.db"
    _import(db, capsys)
    report = _window(db, capsys, "--run", "original")
    assert report["fills"] == 9
    assert report["realized_pnl_usd"] == pytest.approx(FIFO_REALIZED, abs=1e-9)
    assert report["realized_pnl_usd"] != pytest.approx(LIFO_REALIZED, abs=1e-9)
    assert report["fees_usd"] == pytest.approx(FEES)
    assert report["net_pnl_usd"] == pytest.approx(FIFO_REALIZED - FEES, abs=1e-9)
    assert report["inventory"] == pytest.approx(-0.05)


def test_the_sell_100_sell_110_buy_105_case_realizes_minus_half_not_plus_half(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "ledger.db"
    _import(db, capsys)
    report = _window(db, capsys, "--run", "original", "--until", str(T0 + 2))
    assert report["fills"] == 3
    assert report["realized_pnl_usd"] == pytest.approx(-0.5)


def test_import_original_is_idempotent_and_books_a_repeated_trade_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "ledger.db"
    first = _import(db, capsys)
    assert first["lines"] == 11
    assert first["fills"] == 9 and first["inserted"] == 9
    assert first["repeated_in_file"] == 1 and first["other_market"] == 1
    second = _import(db, capsys)
    assert second["inserted"] == 0 and second["duplicates"] == 9
    with Ledger(db) as ledger:
        assert ledger.count("fills") == 9
        runs = ledger.runs()
    assert [(run["run_id"], run["kind"], run["profile"]) for run in runs] == [
        ("original", "run", "original")
    ]


def test_side_comes_from_base_delta_and_a_wrong_side_flips_the_role_too() -> None:
    parsed = read_original_fills(FIXTURE)
    fixed = next(fill for fill in parsed.fills if fill.trade_id == "900009")
    assert fixed.side is Side.ASK  # the line said bid; base_delta -0.05
    assert fixed.role is Role.TAKER  # the line said maker, derived from the wrong side
    assert parsed.side_fixed == 1
    right = next(fill for fill in parsed.fills if fill.trade_id == "900003")
    assert (right.side, right.role) == (Side.BID, Role.MAKER)


def test_fill_event_fields_map_to_the_ledger(tmp_path: Path) -> None:
    parsed = read_original_fills(FIXTURE)
    backfill = next(fill for fill in parsed.fills if fill.trade_id == "900004")
    assert backfill.ts_ns == (T0 + 3) * 1_000_000_000
    assert (backfill.venue, backfill.market) == ("lighter", "SOL")
    assert backfill.size == pytest.approx(0.2) and backfill.price == pytest.approx(104)
    assert backfill.fee_usd == pytest.approx(FEES)
    assert backfill.mid is None and backfill.tag == "backfill"
    assert backfill.source == "original"
    assert [fill.ts_ns for fill in parsed.fills] == sorted(fill.ts_ns for fill in parsed.fills)


_OK = '"timestamp": 1, "price": 1, "trade_id": 1'


@pytest.mark.parametrize(
    ("line", "field", "message"),
    [
        ('{"timestamp": 1, "role": "maker", "side": "bid", "size": 1, "price": 1}',
         "trade_id", "missing"),
        ('{' + _OK + ', "role": "hedger", "side": "bid", "size": 1}', "role", "maker or taker"),
        ('{' + _OK + ', "role": "maker", "side": "bid", "size": "x"}', "size", "expected a number"),
        ('{' + _OK + ', "role": "maker", "size": 1, "base_delta": 2}', "size", "does not match"),
        ("[1, 2]", "", "expected a FillEvent object"),
        ("{not json", "", "invalid JSON"),
    ],
)  # fmt: skip
def test_a_bad_line_is_an_error_naming_file_line_and_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], line: str, field: str, message: str
) -> None:
    path = tmp_path / "fills.jsonl"
    path.write_text(FIXTURE.read_text().splitlines()[0] + "\n\n" + line + "\n")
    with pytest.raises(DataError) as caught:
        read_original_fills(path)
    text = str(caught.value.problems[0])
    assert text.startswith(f"{path}:3:")
    assert field in text and message in text
    code = main(["metrics", "import-original", str(path), "--db", str(tmp_path / "x.db")])
    assert code == 3
    assert "Traceback" not in capsys.readouterr().err
