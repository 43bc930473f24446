"""Markets the user brings: Binance spot captures, `--markets FILE` and a config dir's markets."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from solbot.adapters.data import sample_candles_path
from solbot.cli.main import main
from solbot.config.markets import infer_market_from_filename, markets_with, resolve_market
from solbot.errors import ConfigError

DOGE = """\
schema: 1
markets:
  - key: binance-spot:DOGEUSDT
    venue: binance-spot
    symbol: DOGEUSDT
    market_id: 0
    price_decimals: 5
    size_decimals: 0
    min_base_amount: 1
    min_quote_amount: 5
"""


@pytest.mark.parametrize(
    ("key", "decimals"),
    [("binance-spot:BTCUSDT", (2, 5)), ("binance-spot:ETHUSDT", (2, 4))],
)
def test_binance_spot_markets_have_spot_tick_and_lot(key: str, decimals: tuple[int, int]) -> None:
    spec = resolve_market(key).spec
    assert (spec.price_decimals, spec.size_decimals) == decimals
    assert (spec.maker_fee_bps, spec.taker_fee_bps) == (10.0, 10.0)


def test_binance_spot_capture_names_are_recognised() -> None:
    name = Path("binance_spot_BTCUSDT_20240808T2354-20240808T2359_bookticker.csv.gz")
    entry = infer_market_from_filename(name)
    assert entry is not None and entry.key == "binance-spot:BTCUSDT"


def test_a_markets_file_adds_a_market_on_a_bundled_venue(tmp_path: Path) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text(DOGE)
    table = markets_with([path])
    assert table["binance-spot:DOGEUSDT"].spec.price_decimals == 5
    assert table["binance-spot:DOGEUSDT"].file_prefixes == ("binance_spot",)
    assert "lighter:SOL" in table  # the bundled markets stay
    entry = infer_market_from_filename(Path("binance_spot_DOGEUSDT_1m_2024.csv.gz"), table)
    assert entry is not None and entry.key == "binance-spot:DOGEUSDT"


def test_a_markets_file_overrides_a_bundled_market(tmp_path: Path) -> None:
    path = tmp_path / "mine.yaml"
    text = DOGE.replace("DOGEUSDT", "SOLUSDT").replace("price_decimals: 5", "price_decimals: 3")
    path.write_text(text)
    assert markets_with([path])["binance-spot:SOLUSDT"].spec.price_decimals == 3


def test_a_markets_file_is_validated_with_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text(DOGE.replace("venue: binance-spot", "venue: binance-moon"))
    with pytest.raises(ConfigError) as caught:
        markets_with([path])
    problem = caught.value.problems[0]
    assert (problem.path, problem.line, problem.column) == (str(path), 4, 12)
    assert problem.field == "markets[0].venue" and "unknown venue" in problem.message
    path.write_text(DOGE.replace("price_decimals: 5", "price_decimals: lots"))
    with pytest.raises(ConfigError) as caught:
        markets_with([path])
    assert str(caught.value.problems[0]).startswith(f"{path}:7:21: markets[0].price_decimals")


def _doge_candles(tmp_path: Path) -> Path:
    """The bundled SOL candles under a DOGE spot file name (prices fit a 5-decimal tick)."""
    target = tmp_path / "binance_spot_DOGEUSDT_1m_20250519.csv.gz"
    shutil.copy(sample_candles_path(), target)
    return target


def test_simulate_takes_markets_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = _doge_candles(tmp_path)
    argv = ["simulate", "--profile", "naive", "--data", str(data), "--json"]
    assert main([*argv, "--out", str(tmp_path / "a")]) == 2  # unknown market without the file
    capsys.readouterr()
    markets = tmp_path / "mine.yaml"
    markets.write_text(DOGE)
    assert main([*argv, "--out", str(tmp_path / "b"), "--markets", str(markets)]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["events"] > 0


def test_simulate_reads_markets_yaml_of_the_config_dir(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from solbot.config.loader import shipped_config_dir

    config = tmp_path / "config"
    shutil.copytree(shipped_config_dir(), config)
    (config / "markets.yaml").write_text(DOGE)
    data = _doge_candles(tmp_path)
    argv = ["simulate", "--profile", "naive", "--data", str(data), "--json"]
    assert main([*argv, "--out", str(tmp_path / "o"), "--config-dir", str(config)]) == 0
    assert json.loads(capsys.readouterr().out)["events"] > 0


def test_rules_check_knows_markets_of_the_config_dir(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from solbot.config.loader import shipped_config_dir

    config = tmp_path / "config"
    shutil.copytree(shipped_config_dir() / "profiles", config / "profiles")
    shutil.copytree(shipped_config_dir() / "rules", config / "rules")
    naive = config / "profiles" / "naive.yaml"
    naive.write_text(
        naive.read_text().replace("market: lighter:SOL", "market: DOGEUSDT\ntier: regular")
    )  # a Binance market has Binance tiers
    assert main(["rules", "check", "--config-dir", str(config)]) == 3  # unknown market
    capsys.readouterr()
    (config / "markets.yaml").write_text(DOGE)
    assert main(["rules", "check", "--config-dir", str(config)]) == 0
