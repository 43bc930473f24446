#!/usr/bin/env python3
"""CPU per decision: `Session.step` timed in process on a real replay (issue 10, branch decide).

Runs `run_simulation` (exactly what `solbot simulate` runs: trace, ledger and summary included)
with a CPU timer (`time.process_time`) around every `Session.step` call, and prints the decisions,
the step CPU in all and per decision, and the whole run's CPU. Compare two checkouts by running
each one's copy of this script, alternately (`PYTHONPATH` is set to the script's own checkout).
Usage: python scripts/bench_step.py [--profile defensive] --data FILE [--data FILE ...]
[--data-market binance-usdm:ETHUSDT]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from benchlib import load_note  # noqa: E402

from solbot.app import session as session_module  # noqa: E402
from solbot.app.simulate import SimulationRequest, run_simulation  # noqa: E402


def timed_steps() -> list[float]:
    """Wrap `Session.step` with a CPU timer; the returned list holds the seconds spent in it."""
    spent = [0.0]
    step = session_module.Session.step

    def timed(self: session_module.Session, now_ns: int) -> Any:
        started = time.process_time()
        try:
            return step(self, now_ns)
        finally:
            spent[0] += time.process_time() - started

    session_module.Session.step = timed  # type: ignore[method-assign]
    return spent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--profile", default="defensive")
    parser.add_argument("--data", type=Path, action="append", required=True)
    parser.add_argument("--data-market")
    args = parser.parse_args()
    spent = timed_steps()
    with tempfile.TemporaryDirectory(prefix="bench-step-") as scratch:
        request = SimulationRequest(
            profile=args.profile,
            data=tuple(args.data),
            data_market=args.data_market,
            out_dir=Path(scratch) / "run",
        )
        started = time.process_time()
        result = run_simulation(request)
        total = time.process_time() - started
    decisions = result.session.stats.decisions
    per_decision = spent[0] / decisions * 1e6 if decisions else 0.0
    print(
        f"{args.profile}: {decisions:,} decisions, Session.step {spent[0]:.2f} s CPU = "
        f"{per_decision:.1f} us per decision; whole run {total:.2f} s CPU ({ROOT})"
    )
    print(load_note())
    return 0


if __name__ == "__main__":
    sys.exit(main())
