"""Profile and rule YAML is parsed once per text within a process (issue 10, start-up)."""

from __future__ import annotations

from pathlib import Path

import pytest

import solbot.config.yamlio as yamlio
from solbot.cli.main import main
from solbot.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The `shown` name of every real ruamel parse, starting from an empty cache."""
    monkeypatch.setattr(yamlio, "_PARSED", type(getattr(yamlio, "_PARSED", {}))(), raising=False)
    seen: list[str] = []
    real = yamlio._yaml

    def counting(shown: str = "?"):  # type: ignore[no-untyped-def]
        seen.append(shown)
        return real(shown)

    monkeypatch.setattr(yamlio, "_yaml", counting)
    return seen


def test_rules_check_parses_each_yaml_file_once(
    parses: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    assert main(["rules", "check"]) == 0
    files = len(list((ROOT / "profiles").glob("*.yaml")) + list((ROOT / "rules").glob("*.yaml")))
    assert len(parses) <= files, sorted(parses)


def test_an_edited_text_is_parsed_afresh_and_copies_are_independent(parses: list[str]) -> None:
    first = yamlio.parse_yaml_text("a:\n  b: [1, 2]\n", "one.yaml")
    first.data["a"]["b"].append(3)
    again = yamlio.parse_yaml_text("a:\n  b: [1, 2]\n", "two.yaml")
    assert again.data == {"a": {"b": [1, 2]}}  # the caller's change did not leak into the cache
    assert again.path == "two.yaml" and again.where(("a", "b", 1)) == (2, 10)
    edited = yamlio.parse_yaml_text("a:\n  b: [1, 5]\n", "one.yaml")
    assert edited.data == {"a": {"b": [1, 5]}}
    assert parses == ["one.yaml", "one.yaml"]  # the second text was served from the cache


def test_a_bad_text_names_its_own_file_every_time(parses: list[str]) -> None:
    for shown in ("first.yaml", "second.yaml"):
        with pytest.raises(ConfigError) as caught:
            yamlio.parse_yaml_text("a: [1\n", shown)
        assert caught.value.problems[0].path == shown
