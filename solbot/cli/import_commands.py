"""`solbot import`: bring configuration over from the original bot."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from solbot.app.original_config import KeyRow

import_app = typer.Typer(
    name="import",
    help="Bring configuration over from the original bot (config.yaml -> profile).",
    no_args_is_help=True,
)

_OUTCOMES = {
    "override": "written (differs from base)",
    "same_as_base": "= base",
    "dead": "dead in the original",
    "not_needed": "not needed",
    "absent": "not in the file",
    "unknown": "unknown key",
}


@import_app.command("original-config")
def original_config_command(
    config: Annotated[Path, typer.Argument(help="The original bot's config.yaml.")],
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Profile to write, e.g. profiles/mine.yaml (its id is the file name). "
            "Without it only the table is printed.",
        ),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing --out file.")] = (
        False
    ),
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Write a profile extending base from the original's config.yaml; print where keys went.

    Only values that differ from base are written, each commented with its original key. The
    table gives every original key's solbot key, or "dead in the original" / "not needed" with
    the reason."""
    from solbot.app.original_config import check_profile, import_original_config, write_profile

    profile_id = out.stem if out is not None else "imported"
    imported = import_original_config(config, profile_id)
    if out is not None:
        write_profile(imported, out, force=force)
    else:
        check_profile(imported, Path(f"{profile_id}.yaml"))
    if as_json:
        payload: dict[str, Any] = {
            "config": str(config),
            "out": str(out) if out is not None else None,
            "profile": imported.profile_id,
            "overrides": [
                {"path": list(path), "value": value, "comment": comment}
                for path, value, comment in imported.overrides
            ],
            "keys": [_row_json(row) for row in imported.rows],
        }
        typer.echo(json.dumps(payload, indent=2))
        return
    _print_table(imported.rows)
    written = len(imported.overrides)
    if out is not None:
        typer.echo(f"wrote {out}: extends base, {written} value(s) differ from base")
    else:
        typer.echo(f"{written} value(s) differ from base; pass --out FILE to write the profile")


def _row_json(row: KeyRow) -> dict[str, Any]:
    return {
        "key": row.key,
        "value": row.value,
        "solbot": row.solbot or None,
        "solbot_value": row.solbot_value,
        "outcome": row.outcome,
        "note": row.note,
    }


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "-" if value is None else str(value)


def _print_table(rows: list[KeyRow]) -> None:
    header = ("original key", "value", "solbot key", "solbot value", "outcome / reason")
    lines = [header]
    for row in rows:
        outcome = _OUTCOMES[row.outcome]
        reason = f"{outcome}: {row.note}" if row.note else outcome
        solbot_value = _text(row.solbot_value) if row.solbot else ""
        lines.append((row.key, _text(row.value), row.solbot, solbot_value, reason))
    widths = [max(len(line[i]) for line in lines) for i in range(4)]
    for line in lines:
        cells = [cell.ljust(width) for cell, width in zip(line[:4], widths, strict=True)]
        typer.echo("  ".join([*cells, line[4]]).rstrip())


def register(app: typer.Typer) -> None:
    """Add the `import` group."""
    app.add_typer(import_app, name="import")
