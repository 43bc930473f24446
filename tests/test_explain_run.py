"""`solbot explain --run DIR --at TIME`: the decision in force at a moment, redone exactly."""

from __future__ import annotations

import dataclasses
import gzip
import json
from pathlib import Path
from typing import Any

import pytest

from solbot.adapters.data import sample_paths
from solbot.adapters.storage.trace import StepDecoder, read_trace
from solbot.app.session import step_names
from solbot.app.simulate import SimulationRequest, SimulationResult, run_simulation
from solbot.cli.main import main
from solbot.core.engine import Engine, Plan
from solbot.core.rules import RuleState

EXAMPLE_STATE = Path(__file__).resolve().parents[1] / "docs" / "examples" / "state.json"


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> SimulationResult:
    """The defensive profile (timed rules, regimes) on the bundled L1 sample."""
    out = tmp_path_factory.mktemp("defensive")
    return run_simulation(
        SimulationRequest(profile="defensive", data=tuple(sample_paths()), out_dir=out)
    )


def decisions(result: SimulationResult) -> list[dict[str, Any]]:
    return [record for record in read_trace(result.trace_path) if record["type"] == "decision"]


def outcome(plan: Plan) -> tuple[str, list[str], str]:
    return plan.decision.state.value, list(plan.decision.active_rules), plan.regime


def replay_steps(result: SimulationResult, reset_timers: bool = False) -> list[tuple[Any, ...]]:
    """Every decision step of the trace redone by a fresh engine: (t, computed, recorded)."""
    policy = result.session.policy
    decoder = StepDecoder(*step_names(policy))
    checked: list[tuple[Any, ...]] = []
    pending: tuple[int, Plan] | None = None
    last: tuple[str, list[str], str] | None = None
    for record in read_trace(result.trace_path):
        if record["type"] == "step":
            if pending is not None:
                checked.append((pending[0], outcome(pending[1]), last, None))
            decoder.apply(record)
            inputs = decoder.inputs
            if reset_timers:
                idle = tuple((int(RuleState.IDLE), 0, 0) for _ in inputs.rules)
                inputs = dataclasses.replace(inputs, rules=idle)
            engine = Engine(policy)
            engine.restore(inputs)
            pending = (record["t"], engine.evaluate(record["t"], inputs.feed_age_ns))
        elif record["type"] == "decision":
            assert pending is not None and pending[0] == record["t"]
            last = (record["state"], record["rules"], record["regime"])
            checked.append((pending[0], outcome(pending[1]), last, (pending[1], record)))
            pending = None
    if pending is not None:
        checked.append((pending[0], outcome(pending[1]), last, None))
    return checked


def test_every_decision_step_is_redone_exactly_from_the_trace(run: SimulationResult) -> None:
    """State, active rules and regime at every step; quotes at every recorded decision."""
    checked = replay_steps(run)
    assert len(checked) == run.summary["decisions"]
    market = run.session.policy.market
    for t, computed, recorded, detail in checked:
        assert computed == recorded, f"step at {t}"
        if detail is not None:
            plan, record = detail
            for side, quote in (("bid", plan.risk.bid), ("ask", plan.risk.ask)):
                expected = record["quotes"][side]
                assert (None if quote is None else [quote.price, quote.size]) == expected
                if expected is not None:
                    assert market.ticks_to_price(expected[0]) > 0


def test_rule_timers_from_the_trace_are_needed_to_redo_the_decisions(
    run: SimulationResult,
) -> None:
    """With every rule reset to IDLE (a stateless explain), some steps come out differently."""
    wrong = [row for row in replay_steps(run, reset_timers=True) if row[1] != row[2]]
    assert wrong


def explain_at(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["explain", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_explain_at_prints_the_decisions_the_trace_recorded(
    run: SimulationResult, capsys: pytest.CaptureFixture[str]
) -> None:
    records = decisions(run)
    assert len(records) >= 5
    market = run.session.policy.market
    for record in records[:: max(1, len(records) // 5)]:
        code, out, err = explain_at(
            capsys, "--run", str(run.out_dir), "--at", str(record["t"]), "--json"
        )
        assert code == 0, err
        report = json.loads(out)
        assert report["step_ns"] == record["t"]
        assert report["decision"]["state"] == record["state"]
        assert report["decision"]["active_rules"] == record["rules"]
        assert report["regime"] == record["regime"] or record["regime_changed"]
        for side in ("bid", "ask"):
            quote = record["quotes"][side]
            shown = report["quotes"][side]
            if quote is None:
                assert shown is None
            else:
                assert {key: shown[key] for key in ("price", "size")} == {
                    "price": market.ticks_to_price(quote[0]),
                    "size": market.lots_to_size(quote[1]),
                }


def test_explain_at_a_time_between_steps_uses_the_last_step_before(
    run: SimulationResult, capsys: pytest.CaptureFixture[str]
) -> None:
    steps = [r["t"] for r in read_trace(run.trace_path) if r["type"] == "step"]
    gap = next(i for i in range(len(steps) - 1) if steps[i + 1] - steps[i] > 2)
    code, out, err = explain_at(
        capsys, "--run", str(run.out_dir), "--at", str(steps[gap] + 1), "--json"
    )
    assert code == 0, err
    assert json.loads(out)["step_ns"] == steps[gap]


def test_explain_at_text_names_the_step_and_the_recorded_decision(
    run: SimulationResult, capsys: pytest.CaptureFixture[str]
) -> None:
    record = decisions(run)[1]
    code, out, _ = explain_at(capsys, "--run", str(run.out_dir), "--at", str(record["t"]))
    assert code == 0
    assert "decision step at 2024-08-08T" in out
    assert f"decision: {record['state']}" in out
    assert "trace: last recorded decision at" in out


def test_explain_at_before_the_first_decision_exits_3(
    run: SimulationResult, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = explain_at(capsys, "--run", str(run.out_dir), "--at", "2024-08-08T00:00:00")
    assert code == 3
    assert "no decision step at or before that time" in err


def test_explain_refuses_a_run_of_a_changed_profile_unless_forced(
    run: SimulationResult, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = gzip.decompress(run.trace_path.read_bytes()).decode().splitlines(keepends=True)
    header = json.loads(lines[0])
    header["profile_sha256"] = "0" * 64
    altered = tmp_path / "trace.jsonl.gz"
    altered.write_bytes(gzip.compress((json.dumps(header) + "\n" + "".join(lines[1:])).encode()))
    at = str(decisions(run)[1]["t"])
    code, _, err = explain_at(capsys, "--run", str(tmp_path), "--at", at)
    assert code == 3
    assert "profile 'defensive' has changed since this run" in err and "--force" in err
    code, _, err = explain_at(capsys, "--run", str(tmp_path), "--at", at, "--force")
    assert code == 0, err


def test_explain_needs_one_mode_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert explain_at(capsys, "--at", "2024-08-08T00:00:00")[0] == 2
    assert explain_at(capsys, "--profile", "defensive")[0] == 2


def test_explain_of_a_folder_without_trace_exits_3(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = explain_at(capsys, "--run", str(tmp_path), "--at", "1723161256")
    assert code == 3
    assert "no trace here" in err


def test_the_shipped_example_state_file_runs(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = explain_at(
        capsys, "--profile", "defensive", "--state", str(EXAMPLE_STATE), "--json"
    )
    assert code == 0, err
    report = json.loads(out)
    assert report["decision"]["state"] in ("QUOTING", "REDUCING", "HALTED")
    assert any(rule["fires"] for rule in report["rules"])


def test_explain_checks_the_hashes_in_force_after_a_reload(
    run: SimulationResult, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A `reload` record (run's hot reload) changes the hashes explain compares from then on."""
    lines = gzip.decompress(run.trace_path.read_bytes()).decode().splitlines(keepends=True)
    first, second = decisions(run)[1:3]
    cut = next(i for i, line in enumerate(lines) if f'"t":{second["t"]},' in line)
    reload = {"t": second["t"], "type": "reload", "profile_sha256": "f" * 64,
              "ruleset_sha256": "f" * 64}  # fmt: skip
    lines.insert(cut, json.dumps(reload, sort_keys=True, separators=(",", ":")) + "\n")
    (tmp_path / "trace.jsonl.gz").write_bytes(gzip.compress("".join(lines).encode()))
    code, _, err = explain_at(capsys, "--run", str(tmp_path), "--at", str(first["t"]))
    assert code == 0, err
    code, _, err = explain_at(capsys, "--run", str(tmp_path), "--at", str(second["t"]))
    assert code == 3 and "ffffffffffff in the run" in err


def test_a_trace_still_being_written_explains_what_is_readable(
    run: SimulationResult, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A cut-off gzip stream (a live run writing it) ends where it can no longer be read."""
    data = run.trace_path.read_bytes()
    (tmp_path / "trace.jsonl.gz").write_bytes(data[: len(data) // 2])
    at = str(decisions(run)[1]["t"])
    code, out, err = explain_at(capsys, "--run", str(tmp_path), "--at", at, "--json")
    assert code == 0, err
    assert json.loads(out)["step_ns"] == int(at)


def test_a_file_that_is_not_a_trace_exits_3(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "trace.jsonl.gz").write_bytes(b"not gzip at all")
    code, _, err = explain_at(capsys, "--run", str(tmp_path), "--at", "1723161256")
    assert code == 3 and "unreadable trace" in err
    (tmp_path / "trace.jsonl.gz").unlink()
    (tmp_path / "trace.jsonl").write_text('{"type": "fill"}\n')
    code, _, err = explain_at(capsys, "--run", str(tmp_path), "--at", "1723161256")
    assert code == 3 and "not a solbot trace" in err
