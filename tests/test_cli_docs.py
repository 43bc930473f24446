"""The user docs stay honest: generated parts match the code, tables match the shipped profiles.

`.venv/bin/python tests/test_cli_docs.py` rewrites the generated parts: docs/schema/*.json, the
signal table in docs/signals.md and the value columns of the knob tables in docs/rules.md (the
"where it came from" column is kept; new knobs are listed to be added by hand).
"""

from __future__ import annotations

import io
import json
import re
import sys
from collections.abc import Iterator
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

import pytest

from solbot.cli.main import main
from solbot.config.diff import flatten
from solbot.config.loader import ConfigDir, ResolvedProfile, resolve_profile, shipped_config_dir
from solbot.core.catalog import STATIC_SIGNALS, SignalCatalog

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
PROFILES = ("base", "defensive", "aggressive", "naive")  # the column order of docs/rules.md
SCHEMA_KINDS = ("profile", "ruleset")
SIGNALS_BEGIN = "<!-- generated: signal catalog (tests/test_cli_docs.py) -->"
SIGNALS_END = "<!-- end of generated signal catalog -->"
KNOB_ROW = re.compile(r"^\| `([a-z0-9_.]+)` \|(.*)\|$")
# Not knobs: identity, file plumbing and the rule selection (docs/rules.md covers rules per rule).
NOT_KNOBS = ("schema", "kind", "id", "description", "extends", "rules", "secrets")


def resolved_profiles() -> dict[str, ResolvedProfile]:
    folder = ConfigDir(shipped_config_dir())
    return {name: resolve_profile(name, folder) for name in PROFILES}


def show(value: Any) -> str:
    """A resolved value as docs/rules.md writes it (durations are in seconds)."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else f"{value:g}"
    return str(value)


def knob_values(profiles: dict[str, ResolvedProfile]) -> dict[str, list[str]]:
    """Every knob of every shipped profile -> its shown value in each profile (— if absent)."""
    flat = {name: flatten(resolved.data) for name, resolved in profiles.items()}
    paths = {
        path
        for values in flat.values()
        for path, value in values.items()
        if path.split(".")[0] not in NOT_KNOBS and value != {}
    }
    return {path: [show(flat[name].get(path)) for name in PROFILES] for path in sorted(paths)}


def documented_knobs(text: str) -> dict[str, list[str]]:
    """Knob rows of docs/rules.md (a path, one cell per profile, where it came from)."""
    rows: dict[str, list[str]] = {}
    for line in text.splitlines():
        match = KNOB_ROW.match(line)
        cells = [cell.strip() for cell in match.group(2).split(" | ")] if match else []
        if match and len(cells) == len(PROFILES) + 1:
            rows[match.group(1)] = cells
    return rows


def _escape(text: str) -> str:
    return text.replace("|", "\\|")


def signal_table(profiles: dict[str, ResolvedProfile]) -> str:
    returns = sorted(
        {
            item
            for resolved in profiles.values()
            for item in resolved.profile.signals.returns.items()
        }
    )
    realized = sorted(
        {
            item
            for resolved in profiles.values()
            for item in resolved.profile.signals.realized_windows.items()
        }
    )
    fills = sorted(
        {
            item
            for resolved in profiles.values()
            for item in resolved.profile.signals.fill_windows.items()
        }
    )
    lines = ["| signal | unit | meaning | how it is computed |", "|---|---|---|---|"]
    for info in SignalCatalog.build(returns, realized, fills):
        cells = (f"`{info.name}`", info.unit, info.description, info.computed)
        lines.append("| " + " | ".join(_escape(cell) for cell in cells) + " |")
    return "\n".join(lines)


def generated_section(text: str) -> str:
    start = text.index(SIGNALS_BEGIN) + len(SIGNALS_BEGIN)
    return text[start : text.index(SIGNALS_END)].strip()


def schema_text(kind: str) -> str:
    out = io.StringIO()
    with redirect_stdout(out):
        assert main(["schema", kind]) == 0
    return out.getvalue()


def shipped_rules(profiles: dict[str, ResolvedProfile]) -> Iterator[tuple[str, str, str | None]]:
    seen: set[str] = set()
    for resolved in profiles.values():
        for loaded in resolved.rules:
            rule = loaded.rule
            if rule.id not in seen:
                seen.add(rule.id)
                yield rule.id, rule.when, rule.until


def _squash(text: str) -> str:
    return " ".join(text.split())


def rule_sections(text: str) -> dict[str, str]:
    """`### \\`rule.id\\`` headings of docs/rules.md -> the text up to the next heading."""
    parts = re.split(r"^### `([a-z0-9_.]+)`.*$", text, flags=re.MULTILINE)
    return {parts[i]: parts[i + 1] for i in range(1, len(parts) - 1, 2)}


# ----- tests -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def profiles() -> dict[str, ResolvedProfile]:
    return resolved_profiles()


@pytest.mark.parametrize("kind", SCHEMA_KINDS)
def test_schema_files_are_up_to_date(kind: str) -> None:
    committed = (DOCS / "schema" / f"{kind}.json").read_text(encoding="utf-8")
    assert committed == schema_text(kind), (
        f"docs/schema/{kind}.json is stale: run `solbot schema {kind} > docs/schema/{kind}.json`"
    )


def test_shipped_files_validate_against_the_editor_schema() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    from ruamel.yaml import YAML

    yaml = YAML(typ="safe")
    problems = []
    for kind, folder in (("profile", "profiles"), ("ruleset", "rules")):
        schema = json.loads((DOCS / "schema" / f"{kind}.json").read_text(encoding="utf-8"))
        validator = jsonschema.Draft202012Validator(schema)
        for path in sorted((shipped_config_dir() / folder).glob("*.yaml")):
            for error in validator.iter_errors(yaml.load(path.read_text(encoding="utf-8"))):
                where = "/".join(str(part) for part in error.path)
                problems.append(f"{folder}/{path.name}: {where}: {error.message}")
    assert not problems, "\n".join(problems)


def test_the_editor_schema_rejects_mistakes() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads((DOCS / "schema" / "ruleset.json").read_text(encoding="utf-8"))
    validator = jsonschema.Draft202012Validator(schema)
    rule = {"id": "a.b", "description": "d", "when": "mid > 0", "actions": [{"pause": {}}]}
    good = {"schema": 1, "kind": "ruleset", "id": "x", "revision": 1, "rules": [rule]}
    assert list(validator.iter_errors(good)) == []
    for broken in (
        {**good, "rulez": []},
        {**good, "kind": "profile"},
        {**good, "rules": [{**rule, "actions": [{"pause": {"side": "buy"}}]}]},
        {**good, "rules": [{**rule, "on_error": "skip"}]},
    ):
        assert list(validator.iter_errors(broken)), broken


def test_signal_table_matches_the_catalog(profiles: dict[str, ResolvedProfile]) -> None:
    text = (DOCS / "signals.md").read_text(encoding="utf-8")
    assert generated_section(text) == signal_table(profiles), (
        "docs/signals.md is stale: run `.venv/bin/python tests/test_cli_docs.py`"
    )


def test_every_signal_has_a_warm_up_entry() -> None:
    text = (DOCS / "signals.md").read_text(encoding="utf-8")
    warm_up = text[text.index("## Warm-up") :]
    for info in STATIC_SIGNALS:
        assert f"`{info.name}`" in warm_up, f"docs/signals.md: no warm-up entry for {info.name}"


def test_every_knob_is_documented_with_its_values(profiles: dict[str, ResolvedProfile]) -> None:
    rows = documented_knobs((DOCS / "rules.md").read_text(encoding="utf-8"))
    expected = knob_values(profiles)
    missing = sorted(set(expected) - set(rows))
    stale = sorted(set(rows) - set(expected))
    assert not missing, f"docs/rules.md has no row for {missing}"
    assert not stale, f"docs/rules.md documents knobs that no longer exist: {stale}"
    wrong = {
        path: (rows[path][: len(PROFILES)], values)
        for path, values in expected.items()
        if rows[path][: len(PROFILES)] != values
    }
    assert not wrong, "docs/rules.md values differ from the profiles (documented, actual):\n" + (
        "\n".join(f"{path}: {pair}" for path, pair in wrong.items())
    )
    for path, cells in rows.items():
        assert len(cells[-1]) > 10, f"docs/rules.md: {path} does not say where it came from"


def test_every_rule_is_documented_with_its_conditions(
    profiles: dict[str, ResolvedProfile],
) -> None:
    sections = rule_sections((DOCS / "rules.md").read_text(encoding="utf-8"))
    for rule_id, when, until in shipped_rules(profiles):
        assert rule_id in sections, f"docs/rules.md has no `### \\`{rule_id}\\`` section"
        body = _squash(sections[rule_id])
        assert _squash(when) in body, f"{rule_id}: its `when` is not quoted in docs/rules.md"
        if until is not None:
            assert _squash(until) in body, f"{rule_id}: its `until` is not quoted"


def test_docs_link_only_to_files_that_exist() -> None:
    for name in ("rules.md", "profiles.md", "signals.md", "editor.md"):
        text = (DOCS / name).read_text(encoding="utf-8")
        for target in re.findall(r"\]\((?!https?:|#)([^)#]+)", text):
            assert (DOCS / target).resolve().exists(), f"docs/{name} links to missing {target}"


# ----- regeneration ------------------------------------------------------------------------------


def regenerate() -> None:
    """Rewrite the generated parts of the docs from the code and the shipped profiles."""
    profiles = resolved_profiles()
    for kind in SCHEMA_KINDS:
        (DOCS / "schema" / f"{kind}.json").write_text(schema_text(kind), encoding="utf-8")
    signals = DOCS / "signals.md"
    text = signals.read_text(encoding="utf-8")
    start = text.index(SIGNALS_BEGIN) + len(SIGNALS_BEGIN)
    end = text.index(SIGNALS_END)
    text = f"{text[:start]}\n{signal_table(profiles)}\n{text[end:]}"
    signals.write_text(text, encoding="utf-8")
    rules = DOCS / "rules.md"
    values = knob_values(profiles)
    lines = []
    for line in rules.read_text(encoding="utf-8").splitlines():
        match = KNOB_ROW.match(line)
        cells = [cell.strip() for cell in match.group(2).split(" | ")] if match else []
        if match and match.group(1) in values and len(cells) == len(PROFILES) + 1:
            origin = cells[-1]
            line = f"| `{match.group(1)}` | " + " | ".join([*values[match.group(1)], origin]) + " |"
        lines.append(line)
    rules.write_text("\n".join(lines) + "\n", encoding="utf-8")
    documented = documented_knobs(rules.read_text(encoding="utf-8"))
    for path in sorted(set(values) - set(documented)):
        print(f"add a row to docs/rules.md: | `{path}` | {' | '.join(values[path])} | <origin> |")


if __name__ == "__main__":
    regenerate()
    sys.exit(0)
