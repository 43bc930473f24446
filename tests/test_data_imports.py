"""Reading CSV captures does not import pyarrow (only Parquet files need it)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _modules_after(code: str) -> set[str]:
    probe = f"import sys\n{code}\nprint(' '.join(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return set(out.stdout.split())


def test_opening_a_csv_capture_imports_no_pyarrow() -> None:
    code = (
        "from solbot.adapters.data import open_events, sample_paths\n"
        "from solbot.config.markets import resolve_market\n"
        "open_events(sample_paths(), resolve_market('binance-usdm:ETHUSDT').spec)"
    )
    assert "pyarrow" not in _modules_after(code)


def test_the_parquet_schema_is_still_importable_by_name() -> None:
    code = "from solbot.adapters.data.parquet_io import SCHEMA\nassert len(SCHEMA) == 11"
    assert "pyarrow" in _modules_after(code)
