#!/usr/bin/env python3
"""Run the live-path fault suite and print its figures (the numbers docs/run.md records).

    python scripts/fault_report.py                 # every tests/test_faults_*.py
    python scripts/fault_report.py tests/test_faults_rate_limits.py --json

Figures: scenarios survived (tests passed of run), fills on the venue vs in the ledger (summed
over the tests that compare them), orphan orders (resting on the venue after a clean stop), the
most requests the venue counted in any rolling minute, and the 429s it answered. The harness
(tests/fault_support.py) appends one JSON line per figure to $SOLBOT_FAULT_REPORT.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ElementTree
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
VENUE_LIMIT = 60  # a Standard account's requests per rolling minute


@dataclass(frozen=True)
class FaultFigures:
    scenarios: int
    survived: int
    venue_fills: int
    ledger_fills: int
    orphan_orders: int
    max_requests_per_minute: int
    refused_429: int
    seconds: float


def run_suite(files: list[str]) -> FaultFigures:
    """Run pytest on `files` and gather the harness's figures."""
    with tempfile.TemporaryDirectory() as scratch:
        figures_path = Path(scratch) / "figures.jsonl"
        junit_path = Path(scratch) / "junit.xml"
        env = dict(os.environ, SOLBOT_FAULT_REPORT=str(figures_path))
        env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
        command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
        subprocess.run(
            [*command, f"--junitxml={junit_path}", *files], cwd=REPO, env=env, check=False
        )
        records = _records(figures_path)
        scenarios, failed, seconds = _junit(junit_path)
    return FaultFigures(
        scenarios=scenarios,
        survived=scenarios - failed,
        venue_fills=sum(int(r.get("venue_fills", 0)) for r in records),
        ledger_fills=sum(int(r.get("ledger_fills", 0)) for r in records),
        orphan_orders=sum(int(r.get("orphans", 0)) for r in records),
        max_requests_per_minute=max(
            (int(r.get("max_requests_per_minute", 0)) for r in records), default=0
        ),
        refused_429=sum(int(r.get("refused_429", 0)) for r in records),
        seconds=seconds,
    )


def _records(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def _junit(path: Path) -> tuple[int, int, float]:
    """(tests run, failed or errored, seconds); skipped tests are not scenarios."""
    if not path.exists():
        return 0, 0, 0.0
    suite = ElementTree.parse(path).getroot()
    suite = suite if suite.tag == "testsuite" else suite[0]
    tests, skipped = int(suite.get("tests", 0)), int(suite.get("skipped", 0))
    failed = int(suite.get("failures", 0)) + int(suite.get("errors", 0))
    return tests - skipped, failed, float(suite.get("time", 0.0))


def render(figures: FaultFigures) -> str:
    """The figures as the lines docs/run.md quotes."""
    return "\n".join(
        [
            f"scenarios survived         {figures.survived}/{figures.scenarios}",
            f"fills venue / ledger       {figures.venue_fills} / {figures.ledger_fills}",
            f"orphan orders              {figures.orphan_orders}",
            f"max requests in a minute   {figures.max_requests_per_minute} "
            f"(venue limit {VENUE_LIMIT})",
            f"429 answers                {figures.refused_429} (the 429 scenario forces some)",
            f"suite time                 {figures.seconds:.0f} s",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="*", help="fault test files (default: all)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    files = args.files or sorted(
        str(p.relative_to(REPO)) for p in REPO.glob("tests/test_faults_*.py")
    )
    figures = run_suite(files)
    print(json.dumps(asdict(figures)) if args.json else render(figures))
    return 0 if figures.scenarios and figures.survived == figures.scenarios else 1


if __name__ == "__main__":
    raise SystemExit(main())
