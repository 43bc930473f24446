"""The wheel carries everything a normal install needs: shipped profiles, rules, sample data."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ("pyproject.toml", "setup.py", "README.md", "solbot", "profiles", "rules")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    """The wheel built from a copy of the checkout (no build/ left behind in the repo)."""
    work = tmp_path_factory.mktemp("wheel")
    source = work / "src"
    source.mkdir()
    for name in SOURCES:
        origin = ROOT / name
        if origin.is_dir():
            shutil.copytree(origin, source / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(origin, source / name)
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
         "-w", str(work / "dist"), str(source)],
        capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "deprecat" not in (result.stdout + result.stderr).lower()
    (built,) = (work / "dist").glob("solbot-*.whl")
    return zipfile.ZipFile(built)


def shipped_files() -> list[tuple[str, Path]]:
    """(path inside the wheel, file in the checkout) for every shipped profile, rule, sample."""
    pairs = [
        (f"solbot/_shipped/{folder}/{path.name}", path)
        for folder in ("profiles", "rules")
        for path in sorted((ROOT / folder).glob("*.yaml"))
    ]
    resources = ROOT / "solbot" / "resources"
    pairs += [
        (f"solbot/{path.relative_to(ROOT / 'solbot').as_posix()}", path)
        for path in sorted(resources.rglob("*"))
        if path.is_file() and "__pycache__" not in path.parts
    ]
    return pairs


def test_every_shipped_profile_rule_and_sample_is_in_the_wheel_byte_identical(
    wheel: zipfile.ZipFile,
) -> None:
    pairs = shipped_files()
    assert {p.parent.name for _, p in pairs} >= {"profiles", "rules", "sample"}
    names = set(wheel.namelist())
    missing = [inside for inside, _ in pairs if inside not in names]
    assert missing == []
    for inside, path in pairs:
        assert wheel.read(inside) == path.read_bytes(), inside


def test_the_wheel_holds_no_stray_files(wheel: zipfile.ZipFile) -> None:
    top = {name.split("/")[0] for name in wheel.namelist()}
    assert top == {"solbot", "solbot-0.1.0.dist-info"}
    assert not [name for name in wheel.namelist() if "__pycache__" in name]


def test_the_wheel_declares_the_spdx_license(wheel: zipfile.ZipFile) -> None:
    metadata = wheel.read("solbot-0.1.0.dist-info/METADATA").decode()
    assert "License-Expression: MIT" in metadata


def test_an_installed_package_reads_its_own_shipped_profiles(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from solbot.config import loader

    packaged = tmp_path / "solbot" / "_shipped"
    shutil.copytree(ROOT / "profiles", packaged / "profiles")
    shutil.copytree(ROOT / "rules", packaged / "rules")
    monkeypatch.setattr(loader, "PACKAGED_DIR", packaged)
    monkeypatch.chdir(tmp_path)  # no profiles/ here
    folder = loader.ConfigDir.find()
    assert folder.root == packaged
    assert loader.resolve_profile("defensive", folder).name == "defensive"


def test_a_checkout_reads_the_repository_profiles() -> None:
    from solbot.config import loader

    assert not loader.PACKAGED_DIR.exists()  # the checkout has no solbot/_shipped
    assert loader.shipped_config_dir() == ROOT
