"""solbot.adapters.storage.

sqlite-utils imports pandas and numpy at import time when they are installed (polars and the
`bench` extra bring them), only to map their scalar types to column types when rows are inserted
through its table API, which solbot never does (the ledger writes with plain SQL). Those imports
cost 0.3-0.8 s of every command that opens a ledger, so sqlite-utils is imported here with both
hidden; they stay importable for anyone who asks for them afterwards.
"""

from __future__ import annotations

import sys

_HIDDEN = ("pandas", "numpy")


def _import_sqlite_utils_alone() -> None:
    if "sqlite_utils" in sys.modules:
        return
    hidden = [name for name in _HIDDEN if name not in sys.modules]
    for name in hidden:
        sys.modules[name] = None  # type: ignore[assignment]  # `import name` raises ImportError
    try:
        import sqlite_utils  # noqa: F401
    finally:
        for name in hidden:
            del sys.modules[name]


_import_sqlite_utils_alone()
