"""Options that several commands share, declared once (same flag, same help everywhere)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

ConfigDirOption = Annotated[
    Path | None, typer.Option("--config-dir", help="Folder with profiles/ and rules/.")
]
StartOption = Annotated[
    str | None, typer.Option("--from", help="Start time (ISO-8601 UTC or unix ms).")
]
EndOption = Annotated[str | None, typer.Option("--to", help="End time (ISO-8601 UTC or unix ms).")]
