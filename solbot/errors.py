"""One error tree for solbot; the CLI maps each class to an exit code in one place."""

from __future__ import annotations

from dataclasses import dataclass


class SolbotError(Exception):
    """Base class of every error solbot reports to a user."""

    exit_code = 1


class RuntimeFailure(SolbotError):
    """Venue unreachable, storage error and other run-time failures (exit 1)."""

    exit_code = 1


class UsageError(SolbotError):
    """Bad command-line usage (exit 2)."""

    exit_code = 2


@dataclass(frozen=True)
class Problem:
    """One located problem in a user file: printed as `path:line:col: field: message`."""

    path: str
    line: int
    column: int
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}:{self.column}"
        return (
            f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"
        )


class InvalidInput(SolbotError):
    """An invalid profile, rule file or data file (exit 3); carries every problem found."""

    exit_code = 3

    def __init__(self, problems: list[Problem] | Problem | str) -> None:
        if isinstance(problems, Problem):
            problems = [problems]
        if isinstance(problems, str):
            self.problems: list[Problem] = []
            super().__init__(problems)
            return
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class ConfigError(InvalidInput):
    """An invalid profile or rule file."""


class DataError(InvalidInput):
    """An invalid or unreadable market data file."""


class SchemaVersionError(SolbotError):
    """A file needs a schema migration, or comes from a newer solbot (exit 4)."""

    exit_code = 4

    def __init__(self, problem: Problem) -> None:
        self.problems = [problem]
        super().__init__(str(problem))


class KillLatched(SolbotError):
    """A kill rule is latched; the user must acknowledge it to start again (exit 10)."""

    exit_code = 10

    def __init__(self, rule_ids: list[str]) -> None:
        self.rule_ids = rule_ids
        joined = ", ".join(rule_ids)
        super().__init__(
            f"kill rule latched: {joined}; start again with --ack-kill {rule_ids[0]} "
            "once the cause is understood"
        )


class VenueError(RuntimeFailure):
    """A venue answered with an error; `code` is the venue's own code when it gave one."""

    def __init__(self, message: str, code: int | None = None) -> None:
        self.code = code
        super().__init__(message if code is None else f"venue error {code}: {message}")


class SchemaMigrationWarning(UserWarning):
    """A file of an older schema was migrated in memory; `solbot rules migrate --write` fixes it.

    Here, not in solbot.config.migrate, so the CLI can route it without importing the schemas."""
