"""`solbot data info` and `solbot data convert`, and every data error path's exit code."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from solbot.adapters.data import format_time_ns, sample_paths
from solbot.cli.main import main
from solbot.core.times import parse_time_ns
from solbot.errors import UsageError

BOOK = "local_ts_ns,update_id,event_time_ms,transaction_time_ms,bid_price,bid_qty,ask_price,ask_qty"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def book_file(tmp_path: Path, rows: list[str], name: str = "binance_usdm_ETHUSDT_x.csv") -> Path:
    path = tmp_path / name
    path.write_text("\n".join([BOOK, *rows]) + "\n")
    return path


GOOD_ROW = "1723161255088165267,1,1723161256311,1723161256310,2681.62,1.165,2681.63,73.077"


def test_info_json_reports_format_rows_span_shift_and_sha(
    capsys: pytest.CaptureFixture[str],
) -> None:
    paths = [str(path) for path in sample_paths()]
    code, out, _ = run(capsys, "data", "info", *paths, "--json")
    assert code == 0
    infos = json.loads(out)
    assert [info["format"] for info in infos] == ["binance_bookticker", "binance_trades"]
    assert [info["rows"] for info in infos] == [53_992, 14_076]
    assert infos[0]["clock_shift_ns"] == infos[1]["clock_shift_ns"] == 1_272_512_496
    assert infos[0]["first_utc"] == "2024-08-08T23:54:16.360Z"
    assert len(infos[0]["sha256"]) == 64


def test_info_text(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "data", "info", str(sample_paths()[1]))
    assert code == 0
    assert "binance_trades" in out and "14,076" in out and "+1.272229 s" in out  # its own gaps only


def test_convert_writes_parquet_with_window(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "eth.parquet"
    argv = ["data", "convert", *map(str, sample_paths()), "--out", str(out)]
    window = ["--from", "2024-08-08T23:55:00Z", "--to", "1723161310000"]
    code, text, err = run(capsys, *argv, *window, "--json")
    assert code == 0, err
    written = json.loads(text)
    code, text, _ = run(capsys, "data", "info", str(out), "--json")
    info = json.loads(text)[0]
    assert info["format"] == "solbot_parquet"
    assert (info["rows"], info["sha256"]) == (written["rows"], written["sha256"])
    assert info["first_ts_ns"] >= 1_723_161_300_000_000_000
    assert info["last_ts_ns"] < 1_723_161_310_000_000_000


def test_convert_json_names_the_market(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "eth.parquet"
    code, text, _ = run(
        capsys, "data", "convert", *map(str, sample_paths()), "-o", str(out), "--json"
    )
    assert code == 0
    assert json.loads(text)["market"] == "binance-usdm:ETHUSDT"


def test_unknown_header_exits_3(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "mystery.csv"
    path.write_text("when,what\n1,2\n")
    code, _, err = run(capsys, "data", "info", str(path))
    assert code == 3
    assert err.startswith(f"{path}:1:1: header: unrecognised header 'when,what'")


def test_bad_number_exits_3_with_line_and_column(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = [GOOD_ROW] * 5 + [GOOD_ROW.replace(",2681.62,", ",26x1.62,")] + [GOOD_ROW]
    path = book_file(tmp_path, rows)
    code, _, err = run(capsys, "data", "convert", str(path), "-o", str(tmp_path / "o.parquet"))
    assert code == 3
    assert err.strip() == f"{path}:7:5: bid_price: expected a number, found '26x1.62'"
    assert not (tmp_path / "o.parquet").exists()


def test_bad_integer_in_gzip_exits_3(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rows = [GOOD_ROW, GOOD_ROW.replace("1723161255088165267,", "17231612550881652.5,")]
    path = tmp_path / "binance_usdm_ETHUSDT_x.csv.gz"
    path.write_bytes(gzip.compress(("\n".join([BOOK, *rows]) + "\n").encode()))
    code, _, err = run(capsys, "data", "info", str(path))
    assert code == 3
    assert (
        err.strip() == f"{path}:3:1: local_ts_ns: expected an integer, found '17231612550881652.5'"
    )


@pytest.mark.parametrize(
    ("row", "where", "words"),
    [
        (GOOD_ROW + ",extra", ":3:9: ", "expected 8 fields, found 9"),
        (GOOD_ROW.replace(",2681.63,", ",,"), ":3:7: ask_price: ", "missing value"),
        (GOOD_ROW.replace(",2681.63,", ",-2681.63,"), ":3:7: ask_price: ", "> 0"),
        (GOOD_ROW.replace(",2681.63,", ",nan,"), ":3:7: ask_price: ", "finite"),
    ],
)
def test_malformed_rows_exit_3(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], row: str, where: str, words: str
) -> None:
    path = book_file(tmp_path, [GOOD_ROW, row])
    code, _, err = run(capsys, "data", "info", str(path))
    assert code == 3
    assert err.startswith(f"{path}{where}"), err
    assert words in err


def test_missing_file_exits_3(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "binance_usdm_ETHUSDT_absent.csv.gz"
    code, _, err = run(capsys, "data", "convert", str(path), "-o", str(tmp_path / "o.parquet"))
    assert code == 3
    assert err.strip() == f"{path}:1:1: file not found"


def test_depth_gap_exits_3(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    snapshot = tmp_path / "binance_usdm_ETHUSDT_s_depth_snapshot.csv"
    snapshot.write_text(
        "local_ts_ns,last_update_id,event_time_ms,transaction_time_ms,side,price,qty\n"
        "1000,100,1,1,bid,10.00,1\n1000,100,1,1,ask,10.01,1\n"
    )
    updates = tmp_path / "binance_usdm_ETHUSDT_s_depth_updates.csv"
    updates.write_text(
        "local_ts_ns,event_time_ms,transaction_time_ms,first_update_id,final_update_id,"
        "prev_final_update_id,side,price,qty\n"
        "2000,1,1,99,101,98,bid,10.00,2\n"
        "3000,1,1,105,107,104,bid,10.00,3\n"
    )
    code, _, err = run(
        capsys, "data", "convert", str(snapshot), str(updates), "-o", str(tmp_path / "o.parquet")
    )
    assert code == 3
    assert err.startswith(f"{updates}:3:6: prev_final_update_id: expected 101")


def test_unknown_market_exits_3_and_bad_time_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    paths = [str(path) for path in sample_paths()]
    out = str(tmp_path / "o.parquet")
    code, _, err = run(capsys, "data", "convert", *paths, "-o", out, "--market", "DOGE")
    assert code == 3 and "unknown market 'DOGE'" in err
    code, _, err = run(capsys, "data", "convert", *paths, "-o", out, "--from", "yesterday")
    assert code == 2 and "cannot read time 'yesterday'" in err


@pytest.mark.parametrize(
    ("text", "ns"),
    [
        ("2024-08-08T23:55:00Z", 1_723_161_300_000_000_000),
        ("2024-08-08T23:55:00", 1_723_161_300_000_000_000),
        ("2024-08-09T01:55:00+02:00", 1_723_161_300_000_000_000),
        ("2024-08-08 23:55:00.250Z", 1_723_161_300_250_000_000),
        ("1723161300000", 1_723_161_300_000_000_000),
        ("2024-08-08", 1_723_075_200_000_000_000),
    ],
)
def test_parse_time(text: str, ns: int) -> None:
    assert parse_time_ns(text) == ns


@pytest.mark.parametrize("text", ["1723161300", "1723161300000000", "1723161300000000000"])
def test_parse_time_reads_epoch_seconds_micro_and_nanoseconds(text: str) -> None:
    assert parse_time_ns(text) == 1_723_161_300_000_000_000


@pytest.mark.parametrize("text", ["12:00 tomorrow", "yesterday", "-5"])
def test_parse_time_refuses_nonsense(text: str) -> None:
    with pytest.raises(UsageError):
        parse_time_ns(text)


def test_unwritable_output_is_a_runtime_failure(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "missing-folder" / "o.parquet"
    code, _, err = run(capsys, "data", "convert", *map(str, sample_paths()), "-o", str(out))
    assert code == 1 and f"cannot write {out}" in err


def test_format_time() -> None:
    assert format_time_ns(1_723_161_300_250_000_000) == "2024-08-08T23:55:00.250Z"
