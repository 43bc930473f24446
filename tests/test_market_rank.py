"""The market score (the original optimizer's) and its weights file."""

from __future__ import annotations

from pathlib import Path

import pytest

from solbot.app.market_rank import rank_markets, score_market
from solbot.app.venue_markets import MarketDetails, MarketFigures, TopOfBook, parse_details
from solbot.cli.main import main
from solbot.config.rank_weights import RankWeights, load_weights
from solbot.errors import ConfigError, SchemaVersionError, VenueError

WEIGHTS = load_weights()


def figures(
    symbol: str,
    market_id: int,
    *,
    price: float = 100.0,
    open_interest: float = 10_000.0,
    funding: float | None = 0.0001,
    bid: float | None = 99.99,
    ask: float | None = 100.01,
) -> MarketFigures:
    details = MarketDetails(
        symbol, market_id, 3, 3, 0.05, 10.0, 0.1, 0.024, price, price, open_interest
    )
    return MarketFigures(details, funding, TopOfBook(bid, ask))


def test_bundled_weights_are_the_original_optimizers() -> None:
    assert (WEIGHTS.funding_weight, WEIGHTS.open_interest_weight) == (1.0, 0.2)
    assert (WEIGHTS.spread_penalty_per_bps, WEIGHTS.max_spread_bps) == (0.02, 25)
    assert WEIGHTS.min_open_interest_usd == 0


def test_score_is_the_sum_of_its_components() -> None:
    score = score_market(figures("A", 1), WEIGHTS)
    assert score.funding_8h_bps == pytest.approx(1.0)
    assert score.open_interest_usd == pytest.approx(1_000_000)
    assert score.spread_bps == pytest.approx(2.0)
    assert score.funding_component == pytest.approx(1.0)
    assert score.open_interest_component == pytest.approx(0.2)
    assert score.spread_component == pytest.approx(-0.04)
    assert score.score == pytest.approx(1.16)


def test_funding_rate_hours_rescale_to_eight_hours() -> None:
    hourly = WEIGHTS.model_copy(update={"funding_rate_hours": 1.0})
    assert score_market(figures("A", 1), hourly).funding_8h_bps == pytest.approx(8.0)


def test_markets_below_min_open_interest_or_without_a_book_are_excluded_and_last() -> None:
    weights = WEIGHTS.model_copy(update={"min_open_interest_usd": 500_000})
    ranked = rank_markets(
        [
            figures("THIN", 1, open_interest=1_000),
            figures("EMPTY", 2, bid=None),
            figures("GOOD", 3),
            figures("BETTER", 4, funding=0.0003),
        ],
        weights,
    )
    assert [s.symbol for s in ranked] == ["BETTER", "GOOD", "THIN", "EMPTY"]
    assert "min_open_interest_usd" in ranked[2].excluded
    assert ranked[3].excluded == "no two-sided book"


def test_missing_funding_counts_as_zero_and_is_shown_as_unknown() -> None:
    score = score_market(figures("A", 1, funding=None), WEIGHTS)
    assert score.funding_8h_bps is None
    assert score.funding_component == 0.0


def test_a_malformed_venue_row_names_the_market_and_field() -> None:
    row = {
        "symbol": "SOL",
        "market_id": 2,
        "size_decimals": 3,
        "price_decimals": 3,
        "default_initial_margin_fraction": 1000,
        "maintenance_margin_fraction": 240,
    }
    with pytest.raises(VenueError, match=r"market 2 \(SOL\): field min_base_amount is missing"):
        parse_details(row)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("schema: 1\nkind: market-rank\nfunding_wieght: 2\n", "3:17: funding_wieght: unknown key"),
        ("schema: 1\nkind: market-rank\nmax_spread_bps: -1\n", "3:17: max_spread_bps:"),
        ("schema: 1\nkind: market-rank\nfunding_weight: .nan\n", "3:17: funding_weight:"),
        ("schema: 1\nkind: profile\n", "2:7: kind: expected kind: market-rank"),
    ],
)
def test_weights_file_errors_name_file_line_and_column(
    tmp_path: Path, text: str, expected: str
) -> None:
    path = tmp_path / "rank.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_weights(path)
    assert f"{path}:{expected}" in str(caught.value)


def test_weights_from_a_newer_schema_exit_4(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "rank.yaml"
    path.write_text("schema: 9\nkind: market-rank\n", encoding="utf-8")
    with pytest.raises(SchemaVersionError):
        load_weights(path)
    assert main(["markets", "rank", "--weights", str(path)]) == 4
    assert f"{path}:1:9: schema: schema 9 is newer" in capsys.readouterr().err


def test_invalid_weights_exit_3_before_any_request(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "rank.yaml"
    path.write_text("schema: 1\nkind: market-rank\nmax_spread_bps: 0\n", encoding="utf-8")
    code = main(["markets", "rank", "--weights", str(path), "--rest-url", "http://127.0.0.1:9"])
    assert code == 3
    assert f"{path}:3:17: max_spread_bps:" in capsys.readouterr().err


def test_weights_model_forbids_unknown_keys() -> None:
    with pytest.raises(ValueError, match="extra"):
        RankWeights.model_validate({"schema": 1, "kind": "market-rank", "w_oi": 1})
