"""`solbot explain`: which rules fire on a state, why, and what the engine would quote."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from solbot.cli.main import main

STATE = {
    "signals": {
        "mid": 150.0,
        "vol_ema_bps": 35.0,
        "ret_5m_bps": -8.0,
        "ret_45s_bps": -1.0,
        "inventory_units": 0.03,
        "realized_5m_usd": 0.0,
        "sigma_1m_bps": 5.0,
        "vol_percentile": 50,
        "feed_age_s": 0.1,
        "book_valid": 1,
        "trend_ema_bps": 0.0,
        "exposure_s": 0,
        "guard_block_s": 0,
    },
    "book": {"bid": 149.99, "ask": 150.01},
    "regime": "defensive",
}


def explain(tmp_path: Path, capsys: pytest.CaptureFixture[str], state: object, *extra: str):
    path = tmp_path / "state.json"
    path.write_text(json.dumps(state) if not isinstance(state, str) else state)
    code = main(["explain", "--profile", "defensive", "--state", str(path), *extra])
    captured = capsys.readouterr()
    return code, captured.out, captured.err, path


def test_explains_which_rules_fire_and_the_resulting_orders(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _, _ = explain(tmp_path, capsys, STATE, "--json")
    assert code == 0
    report = json.loads(out)
    fired = {rule["id"] for rule in report["rules"] if rule["fires"]}
    assert {"trend.down", "vol.high_pause", "inventory.one_sided"} <= fired
    assert "trend.up" not in fired
    trend = next(rule for rule in report["rules"] if rule["id"] == "trend.down")
    assert ["ret_5m_bps < p.trend_down_trigger_bps", True] in trend["why"]
    decision = report["decision"]
    assert decision["pause_bid"] and not decision["pause_ask"]  # long 0.03: the bid adds
    # trend.down's 8 bps full-spread extra beats the inventory tiers; the ask moves by half
    assert decision["widen_ask_bps"] == 4.0
    assert report["quotes"]["bid"] is None
    assert report["quotes"]["ask"]["price"] > 150.0


def test_text_output_names_the_reasons(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _, _ = explain(tmp_path, capsys, STATE)
    assert code == 0
    assert "FIRES trend.down" in out and "ret_5m_bps < p.trend_down_trigger_bps -> True" in out


def test_unknown_signal_in_the_state_exits_3(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = {"signals": {"mid": 150.0, "ret_5m_bsp": -8.0}}
    code, _, err, path = explain(tmp_path, capsys, state)
    assert code == 3
    assert f"{path}:1:1: signals: unknown signals: ret_5m_bsp" in err


def test_malformed_state_json_exits_3_with_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err, path = explain(tmp_path, capsys, '{"signals": {\n "mid": }\n}')
    assert code == 3
    assert err.startswith(f"{path}:2:9: invalid JSON")


BAD_STATES: list[tuple[str, str | bytes]] = [
    ("invalid-utf8", b'{"signals": {"mid": 150.0}} \xff'),
    ("utf16", json.dumps(STATE).encode("utf-16")),
    ("random-bytes", bytes(range(256)) * 4),
    ("nan", '{"signals": {"mid": NaN}}'),
    ("infinity", '{"signals": {"mid": Infinity}}'),
    ("overflow", '{"signals": {"mid": 1e400}}'),
    ("huge-inventory", '{"signals": {"mid": 150.0, "inventory_units": 1e300}}'),
    ("book-a-list", '{"signals": {"mid": 150.0}, "book": [149.9, 150.1]}'),
    ("book-text", '{"signals": {"mid": 150.0}, "book": {"bid": "cheap", "ask": 150.1}}'),
    ("book-negative", '{"signals": {"mid": 150.0}, "book": {"bid": -1, "ask": 150.1}}'),
    ("unknown-regime", '{"signals": {"mid": 150.0}, "regime": "panic"}'),
    ("regime-number", '{"signals": {"mid": 150.0}, "regime": 5}'),
    ("mid-zero", '{"signals": {"mid": 0}}'),
    ("mid-negative", '{"signals": {"mid": -150.0}}'),
    ("signal-text", '{"signals": {"mid": "150"}}'),
    ("signal-bool", '{"signals": {"mid": 150.0, "book_valid": true}}'),
    ("unknown-top-key", '{"signals": {"mid": 150.0}, "sginals": {}}'),
    ("signals-list", '{"signals": [1, 2]}'),
    ("top-list", "[]"),
    ("empty", ""),
    ("truncated", '{"signals": {"mid": 15'),
]


@pytest.mark.parametrize(("name", "content"), BAD_STATES, ids=[name for name, _ in BAD_STATES])
def test_a_bad_state_file_is_refused_with_its_position(
    name: str, content: str | bytes, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "state.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    code = main(["explain", "--profile", "defensive", "--state", str(path)])
    err = capsys.readouterr().err
    assert code == 3, err
    assert err.startswith(f"{path}:") and re.match(rf"^{re.escape(str(path))}:\d+:\d+: ", err)
    assert "Traceback" not in err


def test_a_state_folder_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["explain", "--profile", "defensive", "--state", str(tmp_path)])
    assert code == 3
    assert f"{tmp_path}:1:1: cannot read file" in capsys.readouterr().err
