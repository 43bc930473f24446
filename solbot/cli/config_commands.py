"""Configuration commands: init, rules check, profiles, diff-profiles, schema, explain."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from solbot.cli.completion import complete_profile
from solbot.errors import UsageError

ConfigDirOption = Annotated[
    Path | None,
    typer.Option(
        "--config-dir",
        help="Folder with profiles/ and rules/ (default: the current directory when it has "
        "profiles/, else the shipped set).",
    ),
]

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]

rules_app = typer.Typer(help="Check and migrate rule files and profiles.", no_args_is_help=True)
profiles_app = typer.Typer(help="List and show resolved profiles.", no_args_is_help=True)


@rules_app.command("check")
def rules_check(
    profile: Annotated[str | None, typer.Option(help="Check only this profile.")] = None,
    as_json: JsonOption = False,
    config_dir: ConfigDirOption = None,
) -> None:
    """Validate every profile and rule file; exit 3 with one `path:line:col` line per problem."""
    from solbot.config.check import check
    from solbot.config.loader import ConfigDir

    folder = ConfigDir.find(config_dir)
    names = check(folder, profile)
    if as_json:
        payload = {"ok": True, "config_dir": str(folder.root), "profiles": names}
        typer.echo(json.dumps(payload, indent=2))
        return
    typer.echo(f"ok: {len(names)} profile(s) checked in {folder.root}: {', '.join(names)}")


@rules_app.command("migrate")
def rules_migrate(
    files: Annotated[
        list[Path] | None,
        typer.Argument(help="Files to migrate (default: every profile and rule file)."),
    ] = None,
    write_files: Annotated[
        bool, typer.Option("--write", help="Rewrite the files in place (comments kept).")
    ] = False,
    config_dir: ConfigDirOption = None,
) -> None:
    """Upgrade older-schema files to the current schema; without --write, show the diff only."""
    from solbot.config.loader import ConfigDir
    from solbot.config.migrate import config_files, plan_file, write

    folder = ConfigDir.find(config_dir)
    paths = list(files) if files else config_files(folder.root)
    plans = [plan_file(path, folder.display(path)) for path in paths]
    pending = [plan for plan in plans if plan.needed]
    for plan in pending:
        typer.echo(f"{plan.shown}: schema {plan.old_version} -> current")
        for change in plan.changes:
            typer.echo(f"  {change.describe()}")
        if not write_files:
            typer.echo(plan.diff(), nl=False)
    if write_files:
        for plan in pending:
            write(plan)
    verb = "migrated" if write_files else "to migrate (run again with --write)"
    typer.echo(f"{len(pending)} of {len(plans)} file(s) {verb}")


@profiles_app.command("list")
def profiles_list(as_json: JsonOption = False, config_dir: ConfigDirOption = None) -> None:
    """List the profiles in the config folder."""
    from solbot.config.loader import ConfigDir

    folder = ConfigDir.find(config_dir)
    if as_json:
        payload = {"config_dir": str(folder.root), "profiles": folder.profile_names()}
        typer.echo(json.dumps(payload, indent=2))
        return
    for name in folder.profile_names():
        typer.echo(name)


@profiles_app.command("show")
def profiles_show(
    name: Annotated[str, typer.Argument(autocompletion=complete_profile)],
    as_json: JsonOption = False,
    config_dir: ConfigDirOption = None,
) -> None:
    """Show a resolved profile (extends applied), each value with its origin; secrets redacted."""
    from solbot.config.loader import ConfigDir, resolve_profile

    resolved = resolve_profile(name, ConfigDir.find(config_dir))
    payload = {
        "profile": resolved.data,
        "origins": dict(sorted(resolved.origins.items())),
        "rules": [rule.resolved() | {"origin": rule.origin()} for rule in resolved.rules],
        "files": list(resolved.files),
        "profile_sha256": resolved.profile_sha256,
        "ruleset_sha256": resolved.ruleset_sha256,
    }
    if as_json:
        typer.echo(json.dumps(payload, indent=2, sort_keys=True))
        return
    from solbot.config.diff import flatten

    typer.echo(f"profile {name}  sha256 {resolved.profile_sha256}")
    typer.echo(f"rules   sha256 {resolved.ruleset_sha256}  files: {', '.join(resolved.files)}")
    for path, value in flatten(resolved.data).items():
        origin = _origin(resolved.origins, path)
        typer.echo(f"{path} = {value!r}    # {origin}")
    for rule in resolved.rules:
        state = "" if rule.rule.enabled else " (disabled)"
        typer.echo(f"rule {rule.rule.id}{state}: {rule.rule.when}    # {rule.origin()}")


def _origin(origins: dict[str, str], path: str) -> str:
    # Only the value's own line: a key no file sets holds solbot's default, even when its
    # section appears in a file (the section's line would claim a value it does not hold).
    return origins.get(path, "default")


def diff_command(
    old: Annotated[
        str, typer.Argument(help="Profile to compare from.", autocompletion=complete_profile)
    ],
    new: Annotated[
        str, typer.Argument(help="Profile to compare to.", autocompletion=complete_profile)
    ],
    as_json: Annotated[
        bool, typer.Option("--json", help="Print a JSON list of differences.")
    ] = False,
    exit_code: Annotated[
        bool, typer.Option("--exit-code", help="Exit 1 when the profiles differ (like git diff).")
    ] = False,
    config_dir: ConfigDirOption = None,
) -> int:
    """Every resolved difference between two profiles, with file:line on both sides."""
    from solbot.config.diff import diff_profiles, render_text
    from solbot.config.loader import ConfigDir, resolve_profile

    folder = ConfigDir.find(config_dir)
    differences = diff_profiles(resolve_profile(old, folder), resolve_profile(new, folder))
    if as_json:
        typer.echo(json.dumps([item.to_json() for item in differences], indent=2))
    else:
        typer.echo(render_text(differences, old, new), nl=False)
    if exit_code and differences:
        raise typer.Exit(1)
    return 0


def schema_command(
    kind: Annotated[str, typer.Argument(help="profile or ruleset")] = "profile",
) -> None:
    """Print the JSON Schema of profile or rule files (for editor validation)."""
    from pydantic import BaseModel

    from solbot.config.schema import Profile, RulesetFile

    models: dict[str, type[BaseModel]] = {"profile": Profile, "ruleset": RulesetFile}
    if kind not in models:
        raise UsageError(f"schema kind must be profile or ruleset, found {kind!r}")
    schema = models[kind].model_json_schema(by_alias=True)
    typer.echo(json.dumps(schema, indent=2, sort_keys=True))


def explain_command(
    profile: Annotated[
        str | None,
        typer.Option(
            "--profile", help="Profile to evaluate (with --state).", autocompletion=complete_profile
        ),
    ] = None,
    state: Annotated[
        Path | None, typer.Option("--state", help="JSON file with a 'signals' object.")
    ] = None,
    run: Annotated[
        Path | None,
        typer.Option(
            "--run", help="A simulate run folder (or a trace file) to explain (with --at)."
        ),
    ] = None,
    at: Annotated[
        str | None,
        typer.Option("--at", help="Moment of the run: ISO-8601 (UTC) or epoch s/ms/us/ns."),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Explain even if the profile changed since the run.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    config_dir: ConfigDirOption = None,
) -> None:
    """Explain a decision: on a signal state, or the one in force at a moment of a run.

    --profile P --state FILE evaluates the rules on one signal state (no timers). --run DIR
    --at TIME redoes, with the engine itself, the decision in force at TIME in a simulate run
    (or a `run --trace` file), from the inputs the trace recorded.
    """
    if run is not None or at is not None:
        if run is None or at is None or profile is not None or state is not None:
            raise UsageError("give --run DIR --at TIME, or --profile P --state FILE")
        from solbot.app.explain_run import explain_at, render_at

        report = explain_at(run, at, config_dir, force)
        text = render_at(report) if not as_json else ""
    else:
        if profile is None or state is None:
            raise UsageError("give --profile P --state FILE, or --run DIR --at TIME")
        from solbot.app.explain import explain, render

        report = explain(profile, state, config_dir)
        text = render(report) if not as_json else ""
    if as_json:
        typer.echo(json.dumps(report, indent=2, default=str))
    else:
        typer.echo(text, nl=False)


def init_command(
    directory: Annotated[Path, typer.Argument(help="Folder to write profiles/ and rules/ into.")],
    force: Annotated[bool, typer.Option(help="Overwrite existing files.")] = False,
) -> None:
    """Write the shipped profiles and rules into DIRECTORY for editing."""
    from solbot.config.check import init_config

    written = init_config(directory, force)
    typer.echo(
        f"wrote {len(written)} files under {directory}; use --config-dir {directory} "
        "or run solbot from there"
    )


def register(app: typer.Typer) -> None:
    """Add the configuration commands."""
    app.command("init")(init_command)
    app.add_typer(rules_app, name="rules")
    app.add_typer(profiles_app, name="profiles")
    app.command("diff-profiles")(diff_command)
    app.command("schema")(schema_command)
    app.command("explain")(explain_command)
