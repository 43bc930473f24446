"""`solbot rules migrate [--write]`: schema 1 -> 2 on disk with comments kept (issue 8)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from policy_helpers import REPO

from solbot.cli.main import main
from solbot.config.loader import ConfigDir, resolve_profile
from solbot.config.migrate import SchemaMigrationWarning, migrate_document
from solbot.config.schema import SCHEMA_VERSION


def schema_1_config(root: Path) -> Path:
    """The shipped files as schema 1 wrote them (commit 6f894a2, before the rename)."""
    for folder in ("profiles", "rules"):
        (root / folder).mkdir(parents=True)
    for path in sorted((REPO / "profiles").glob("*.yaml")) + sorted(
        (REPO / "rules").glob("*.yaml")
    ):
        text = path.read_text()
        text = text.replace("schema: 2", "schema: 1")
        text = text.replace("add_full_spread_bps:", "add_bps:")
        text = text.replace("extra_full_spread_bps:", "extra_spread_bps:")
        (root / path.parent.name / path.name).write_text(text)
    return root


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_dry_run_shows_the_changes_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = schema_1_config(tmp_path)
    before = {path: path.read_text() for path in config.rglob("*.yaml")}
    code, out, _ = run(capsys, "rules", "migrate", "--config-dir", str(config))
    assert code == 0
    assert {path: path.read_text() for path in config.rglob("*.yaml")} == before
    assert "-      - widen: {side: ask, add_bps: p.trend_down_extra_bps}" in out
    assert "+      - widen: {side: ask, add_full_spread_bps: 2 * (p.trend_down_extra_bps)}" in out
    assert out.splitlines()[-1].startswith("9 of 9 file(s) to migrate")


def test_write_migrates_in_place_keeping_comments_and_layout(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = schema_1_config(tmp_path)
    old = (config / "rules" / "guards.yaml").read_text().splitlines()
    code, out, _ = run(capsys, "rules", "migrate", "--write", "--config-dir", str(config))
    assert code == 0 and out.splitlines()[-1] == "9 of 9 file(s) migrated"
    new = (config / "rules" / "guards.yaml").read_text().splitlines()
    changed = [(a, b) for a, b in zip(old, new, strict=True) if a != b]
    assert len(old) == len(new)  # only lines with a renamed key or the schema differ
    assert changed[0] == ("schema: 1", "schema: 2")
    assert all("add_bps" in a and "add_full_spread_bps: 2 * (" in b for a, b in changed[1:])
    assert len(changed) == 4
    assert new[:3] == old[:3]  # the file's leading comments
    assert "# the 5-minute return needs 5 minutes of data" in "\n".join(new)
    base = (config / "profiles" / "base.yaml").read_text()
    assert "quoting: {size_multiplier: 0.7, extra_full_spread_bps: 2.0}" in base
    code, out, err = run(capsys, "rules", "check", "--config-dir", str(config))
    assert (code, err) == (0, "")  # migrated files load without a warning
    code, out, _ = run(capsys, "rules", "migrate", "--config-dir", str(config))
    assert out.splitlines() == ["0 of 9 file(s) to migrate (run again with --write)"]


def test_on_disk_and_in_memory_migrations_load_the_same_policy(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    in_memory = schema_1_config(tmp_path / "memory")
    on_disk = schema_1_config(tmp_path / "disk")
    assert run(capsys, "rules", "migrate", "--write", "--config-dir", str(on_disk))[0] == 0
    with pytest.warns(SchemaMigrationWarning):
        migrated = resolve_profile("defensive", ConfigDir(in_memory))
    written = resolve_profile("defensive", ConfigDir(on_disk))
    assert migrated.profile_sha256 == written.profile_sha256
    assert migrated.ruleset_sha256 == written.ruleset_sha256


def test_rules_check_warns_per_old_file_and_passes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = schema_1_config(tmp_path)
    code, out, err = run(capsys, "rules", "check", "--config-dir", str(config))
    assert code == 0 and out.startswith("ok: 4 profile(s) checked")
    lines = err.splitlines()
    assert all(re.match(r"^[a-z/]+\.yaml:\d+:9: schema: ", line) for line in lines), lines
    files = {f"{path.parent.name}/{path.name}" for path in config.rglob("*.yaml")}
    assert sorted(line.split(":")[0] for line in lines) == sorted(files)  # each file once


def test_migrating_a_newer_schema_exits_4(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = schema_1_config(tmp_path)
    path = config / "profiles" / "naive.yaml"
    path.write_text(path.read_text().replace("schema: 1", f"schema: {SCHEMA_VERSION + 1}"))
    code, _, err = run(capsys, "rules", "migrate", "--write", "--config-dir", str(config))
    assert code == 4
    assert err.startswith("profiles/naive.yaml:4:9: schema: ")
    assert "schema: 1" in (config / "rules" / "guards.yaml").read_text()  # nothing written


def test_shipped_files_are_at_the_current_schema(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copytree(REPO / "profiles", tmp_path / "profiles")
    shutil.copytree(REPO / "rules", tmp_path / "rules")
    code, out, _ = run(capsys, "rules", "migrate", "--config-dir", str(tmp_path))
    assert (code, out) == (0, "0 of 9 file(s) to migrate (run again with --write)\n")


@pytest.mark.parametrize(
    ("old", "new"),
    [(3, 6), (2.5, 5.0), ("p.x", "2 * (p.x)"), ("min(p.a, p.b)", "2 * (min(p.a, p.b))")],
)
def test_a_per_side_add_becomes_twice_its_value_on_the_full_spread(
    old: object, new: object
) -> None:
    document = {
        "schema": 1,
        "kind": "ruleset",
        "rules": [{"id": "r", "actions": [{"widen": {"side": "ask", "add_bps": old}}]}],
    }
    (change,) = migrate_document(document, "ruleset")
    assert document["rules"][0]["actions"][0] == {
        "widen": {"side": "ask", "add_full_spread_bps": new}
    }
    assert document["schema"] == SCHEMA_VERSION
    assert change.old_key == ("rules", 0, "actions", 0, "widen", "add_bps")


def test_only_the_named_files_are_migrated(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = schema_1_config(tmp_path)
    pnl = config / "rules" / "pnl.yaml"
    arguments = ("rules", "migrate", "--write", "--config-dir", str(config), str(pnl))
    code, out, _ = run(capsys, *arguments)
    assert code == 0 and out.splitlines()[-1] == "1 of 1 file(s) migrated"
    assert "schema: 2" in pnl.read_text()
    assert "schema: 1" in (config / "rules" / "guards.yaml").read_text()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\xff\xfe\x00binary", "cannot read file"),
        (b"schema: 1\nkind: profile\nid: [unclosed\n", "invalid YAML"),
        (b"- a list\n", "expected kind: profile or ruleset"),
        (b"schema: one\nkind: ruleset\n", "schema must be an integer"),
    ],
)
def test_unreadable_files_exit_3_with_their_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes, message: str
) -> None:
    config = schema_1_config(tmp_path)
    (config / "rules" / "zz_broken.yaml").write_bytes(content)
    code, _, err = run(capsys, "rules", "migrate", "--config-dir", str(config))
    assert code == 3
    assert err.startswith("rules/zz_broken.yaml:") and message in err
    assert "Traceback" not in err


def test_a_schema_1_root_profile_keeps_the_defaults_it_relied_on(tmp_path: Path) -> None:
    config = schema_1_config(tmp_path)  # naive is standalone and sets no limits or max clip
    with pytest.warns(SchemaMigrationWarning):
        naive = resolve_profile("naive", ConfigDir(config)).profile
    assert (naive.limits.max_position_units, naive.hedger.max_clip_units) == (0.3, 0.08)
    shipped = resolve_profile("naive", ConfigDir(REPO)).profile
    assert (shipped.limits.max_position_units, shipped.hedger.max_clip_units) == (None, 0.06)
    child = {"schema": 1, "kind": "profile", "id": "child", "extends": "base"}
    assert migrate_document(child, "profile") == []  # defaults come from the root of the chain
    assert "limits" not in child and "hedger" not in child
