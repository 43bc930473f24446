"""The `solbot` command: one typer app, every command group registered here, one error boundary."""

from __future__ import annotations

import sys
import warnings
from importlib import import_module
from typing import Any, TextIO

import click
import typer

from solbot import __version__
from solbot.errors import SchemaMigrationWarning, SolbotError

try:  # recent typer ships its own copy of click: catch both families of exceptions
    from typer._click import exceptions as _typer_click

    _TYPER_ERRORS: tuple[type[Exception], ...] = (_typer_click.ClickException,)
    _TYPER_USAGE: tuple[type[Exception], ...] = (_typer_click.UsageError,)
except ImportError:  # pragma: no cover - older typer raises click's own exceptions
    _TYPER_ERRORS = _TYPER_USAGE = ()

_ABORT = (click.exceptions.Abort, typer.Abort)
_EXIT = (click.exceptions.Exit, typer.Exit)
_CLICK_ERRORS: tuple[type[Exception], ...] = (click.ClickException, *_TYPER_ERRORS)
_USAGE_ERRORS: tuple[type[Exception], ...] = (click.UsageError, *_TYPER_USAGE)

# Each module exposes register(app); the order here is the order of `solbot --help`.
COMMAND_MODULES = (
    "solbot.cli.config_commands",
    "solbot.cli.simulate",
    "solbot.cli.sweep",
    "solbot.cli.compare",
    "solbot.cli.metrics",
    "solbot.cli.import_commands",
    "solbot.cli.analyze",
    "solbot.cli.data",
    "solbot.cli.run",
    "solbot.cli.sizing",
    "solbot.cli.venue",
)
# The top-level commands and groups each module registers (tests/test_cli_startup.py checks this
# against the modules): a command line naming one of them loads only that module, which saves
# importing and building the other ten (~0.05 s of every command; `--help` loads them all).
COMMAND_OWNERS = {
    "init": "solbot.cli.config_commands",
    "profiles": "solbot.cli.config_commands",
    "rules": "solbot.cli.config_commands",
    "explain": "solbot.cli.config_commands",
    "diff-profiles": "solbot.cli.config_commands",
    "schema": "solbot.cli.config_commands",
    "simulate": "solbot.cli.simulate",
    "sweep": "solbot.cli.sweep",
    "compare": "solbot.cli.compare",
    "metrics": "solbot.cli.metrics",
    "import": "solbot.cli.import_commands",
    "analyze": "solbot.cli.analyze",
    "data": "solbot.cli.data",
    "run": "solbot.cli.run",
    "markets": "solbot.cli.sizing",
    "size": "solbot.cli.sizing",
    "fake-venue": "solbot.cli.venue",
    "fetch-trades": "solbot.cli.venue",
    "record": "solbot.cli.venue",
}


def _version(value: bool) -> None:
    if value:
        typer.echo(f"solbot {__version__}")
        raise typer.Exit()


def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Rule-driven market maker for SOL-PERP on Lighter."""


HELP = "Rule-driven market maker for SOL-PERP on Lighter; policy lives in YAML profiles/rules."


def build_app(modules: tuple[str, ...] = COMMAND_MODULES) -> typer.Typer:
    """The `solbot` app with the commands of `modules` registered."""
    built = typer.Typer(
        name="solbot",
        help=HELP,
        no_args_is_help=True,
        add_completion=True,
        pretty_exceptions_enable=False,
    )
    built.callback()(_root)
    for name in modules:
        import_module(name).register(built)
    return built


_FULL: list[typer.Typer] = []


def full_app() -> typer.Typer:
    """The app with every command (built once)."""
    if not _FULL:
        _FULL.append(build_app())
    return _FULL[0]


def app_for(args: list[str]) -> typer.Typer:
    """Only the module owning the command `args` names; everything for anything else
    (no arguments, root options such as --help or --version, an unknown or mistyped name)."""
    owner = COMMAND_OWNERS.get(args[0]) if args else None
    return full_app() if owner is None else build_app((owner,))


def __getattr__(name: str) -> Any:
    """`solbot.cli.main.app`: the full app, built on first use (tests and tools import it)."""
    if name == "app":
        return full_app()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def run(argv: list[str] | None = None) -> None:
    """Entry point: run the CLI and turn solbot errors into messages and exit codes."""
    code = main(argv)
    sys.exit(code)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI and return the exit code instead of exiting (used by tests and `run`)."""
    with warnings.catch_warnings():
        warnings.simplefilter("always", SchemaMigrationWarning)  # deduplicated by _show_warning
        original = warnings.showwarning
        warnings.showwarning = _show_warning(original)
        return _main(argv)


def _show_warning(original: Any) -> Any:
    """Schema-migration warnings print like problems (`path:line:col: ...`), each file once."""
    shown: set[str] = set()  # a file is loaded once per profile that includes it

    def show(
        message: Warning | str,
        category: type[Warning],
        filename: str,
        lineno: int,
        file: TextIO | None = None,
        line: str | None = None,
    ) -> None:
        if issubclass(category, SchemaMigrationWarning):
            if str(message) not in shown:
                shown.add(str(message))
                typer.echo(str(message), err=True)
            return
        original(message, category, filename, lineno, file, line)

    return show


def _main(argv: list[str] | None) -> int:
    chosen = app_for(sys.argv[1:] if argv is None else list(argv))
    try:
        result = chosen(args=argv, prog_name="solbot", standalone_mode=False)
    except SolbotError as error:
        _print_error(error)
        return error.exit_code
    except _ABORT:
        typer.echo("aborted", err=True)
        return 130
    except _EXIT as done:
        return int(done.exit_code)
    except _CLICK_ERRORS as error:
        error.show()  # type: ignore[attr-defined]
        return 2 if isinstance(error, _USAGE_ERRORS) else int(getattr(error, "exit_code", 1))
    return result if isinstance(result, int) else 0


def _print_error(error: SolbotError) -> None:
    problems = getattr(error, "problems", None)
    if problems:
        for problem in problems:
            typer.echo(str(problem), err=True)
    else:
        typer.echo(f"error: {error}", err=True)
