"""A hostile-file corpus: broken, malicious and absurd profile and rule files, generated from the
shipped ones. Each case runs through `rules check` and through `simulate`'s config load, and must
end in a clean refusal: exit 3 or 4, a `file:line:col` in the message, no traceback, within 5 s."""

from __future__ import annotations

import random
import re
import shutil
import signal
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

import pytest
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from solbot.cli.main import main
from solbot.config.loader import shipped_config_dir

SHIPPED = shipped_config_dir()
LOCATED = re.compile(r"^\S+\.yaml:\d+:\d+: ", re.MULTILINE)
DURATION_KEYS = {
    "hold", "min_active", "cooldown", "min_dwell", "decision_interval", "min_requote_interval",
    "passive_timeout", "emergency_cooldown", "backoff", "stale_feed", "vol_halflife",
    "vol_sample", "vol_percentile_window", "sigma_window", "trend_halflife", "min_interval",
    "ret_45s_bps", "ret_5m_bps",
}  # fmt: skip
NON_FINITE = (".nan", ".inf", "-.inf", ".NaN", "1e400")
BAD_DURATIONS = ("1e300", ".inf", ".nan", "'99999999999999999999999d'", "-1", "'-5s'", "1e400")


@dataclass(frozen=True)
class Case:
    """One hostile file: `file` (relative to the config folder) rewritten by `mutate`."""

    name: str
    file: str
    mutate: Callable[[str], str | bytes]
    profile: str = "defensive"


# ----- building blocks ----------------------------------------------------------------------------


def alias_bomb(levels: int = 9, width: int = 10) -> str:
    """The "billion laughs": each level is `width` aliases of the one before."""
    lines = ["x_bomb_0: &l0 [" + ", ".join(["lol"] * width) + "]"]
    for level in range(1, levels):
        items = ", ".join([f"*l{level - 1}"] * width)
        lines.append(f"x_bomb_{level}: &l{level} [{items}]")
    return "\n".join(lines) + "\n"


def with_comment_bytes(raw: bytes) -> Callable[[str], bytes]:
    def mutate(text: str) -> bytes:
        first, rest = text.split("\n", 1)
        return first.encode() + b" " + raw + b"\n" + rest.encode()

    return mutate


def replace_value(line: int, column: int, new: str) -> Callable[[str], str]:
    """Replace the scalar token starting at (line, column), 1-based, with `new`."""

    def mutate(text: str) -> str:
        lines = text.split("\n")
        current = lines[line - 1]
        start = column - 1
        end = start
        quote = current[start] if current[start] in "'\"" else ""
        if quote:
            end = current.index(quote, start + 1) + 1
        else:
            while end < len(current) and current[end] not in ",}]#" and current[end] != "\n":
                end += 1
            while end > start and current[end - 1] == " ":
                end -= 1
        lines[line - 1] = current[:start] + new + current[end:]
        return "\n".join(lines)

    return mutate


def numeric_leaves(relative: str) -> Iterator[tuple[str, str, int, int]]:
    """(dotted key, last key, line, column) of every number or duration in a shipped file."""
    data = YAML(typ="rt").load((SHIPPED / relative).read_text(encoding="utf-8"))
    pending: list[tuple[object, str]] = [(data, "")]
    while pending:
        node, path = pending.pop()
        if isinstance(node, CommentedMap):
            for key, value in node.items():
                child = f"{path}.{key}" if path else str(key)
                if isinstance(value, CommentedMap | CommentedSeq):
                    pending.append((value, child))
                    continue
                is_number = isinstance(value, int | float) and not isinstance(value, bool)
                is_duration = key in DURATION_KEYS and isinstance(value, str)
                if is_number or (is_duration and not value.startswith("p.")):
                    line, column = node.lc.value(key)
                    yield child, str(key), line + 1, column + 1
        elif isinstance(node, CommentedSeq):
            pending.extend((item, f"{path}[{index}]") for index, item in enumerate(node))


# ----- the corpus ---------------------------------------------------------------------------------


def structural_cases(file: str, profile: str) -> list[Case]:
    stem = file.replace("/", "_").removesuffix(".yaml")
    noise = random.Random(file).randbytes(4096)
    return [
        Case(f"{stem}-alias-bomb", file, lambda t: t + alias_bomb(), profile),
        Case(f"{stem}-alias-bomb-top", file, lambda t: alias_bomb() + t, profile),
        Case(f"{stem}-random-bytes", file, lambda t: noise, profile),
        Case(f"{stem}-invalid-utf8-comment", file, with_comment_bytes(b"\xff\xfe oops"), profile),
        Case(f"{stem}-latin1-comment", file, with_comment_bytes("café".encode("latin-1")), profile),
        Case(f"{stem}-utf16", file, lambda t: t.encode("utf-16"), profile),
        Case(f"{stem}-utf16-no-bom", file, lambda t: t.encode("utf-16-le"), profile),
        Case(f"{stem}-nul-byte", file, lambda t: t.replace("kind:", "kind:\x00", 1), profile),
        Case(
            f"{stem}-python-tag",
            file,
            lambda t: t.replace("\nkind:", "\nx: !!python/object/apply:os.system ['true']\nkind:"),
            profile,
        ),
        Case(f"{stem}-custom-tag", file, lambda t: t.replace("kind: ", "kind: !include "), profile),
        Case(f"{stem}-binary-tag", file, lambda t: t + "x: !!binary aGVsbG8=\n", profile),
        Case(f"{stem}-set-tag", file, lambda t: t + "x: !!set {a, b}\n", profile),
        Case(f"{stem}-deep-nesting", file, lambda t: t + "x: " + "[" * 5000 + "]" * 5000, profile),
        Case(f"{stem}-nesting-100", file, lambda t: t + "x: " + "[" * 100 + "]" * 100, profile),
        Case(f"{stem}-empty", file, lambda t: "", profile),
        Case(f"{stem}-only-comments", file, lambda t: "# nothing here\n", profile),
        Case(f"{stem}-two-documents", file, lambda t: t + "\n---\n" + t, profile),
        Case(f"{stem}-top-level-list", file, lambda t: "- " + t.replace("\n", "\n  "), profile),
        Case(f"{stem}-tab-indent", file, lambda t: t.replace("\nkind:", "\n\tkind:"), profile),
        Case(f"{stem}-unterminated-quote", file, lambda t: t + 'x: "open\n', profile),
        Case(f"{stem}-over-size-cap", file, lambda t: t + "#" * (1 << 20) + "\n", profile),
    ]


def huge_file_case() -> Case:
    return Case("huge-50mb", "profiles/base.yaml", lambda t: t + ("# " + "x" * 98 + "\n") * 500_000)


def value_cases(file: str, profile: str) -> list[Case]:
    """Every number and duration of a shipped file, one at a time, made non-finite or absurd."""
    stem = file.replace("/", "_").removesuffix(".yaml")
    cases = []
    for index, (path, key, line, column) in enumerate(numeric_leaves(file)):
        values = BAD_DURATIONS if key in DURATION_KEYS else NON_FINITE
        value = values[index % len(values)]
        cases.append(
            Case(f"{stem}-{path}={value}", file, replace_value(line, column, value), profile)
        )
    return cases


def range_cases() -> list[Case]:
    """Values that are finite but mean nothing: the rule using them would silently never fire."""

    def param(name: str, value: str) -> Case:
        return Case(
            f"param-{name}={value}",
            "profiles/base.yaml",
            lambda t: re.sub(rf"(\n  {name}:) *[^ \n]+", rf"\1 {value}", t, count=1),
            "base",
        )

    def rules(name: str, old: str, new: str) -> Case:
        return Case(name, "rules/guards.yaml", lambda t: t.replace(old, new, 1))

    return [
        param("vol_low_pause_bps", "-5"),
        param("vol_high_clip_multiplier", "-0.5"),
        param("clip_curve_start_percentile", "150"),
        param("kill_inventory_ratio", "-1"),
        param("pnl_confirm_s", "-3"),
        param("hedge_emergency_after_s", "1e12"),
        rules("scale-clip-negative", "factor: p.vol_high_clip_multiplier", "factor: -5"),
        rules(
            "widen-nan",
            "add_full_spread_bps: p.trend_down_extra_bps",
            "add_full_spread_bps: .nan",
        ),
        rules(
            "widen-negative",
            "add_full_spread_bps: p.trend_down_extra_bps",
            "add_full_spread_bps: -3",
        ),
        rules("hold-inf", "min_active: p.trend_down_cooldown_s", "min_active: .inf"),
        rules("hold-huge", "min_active: p.trend_down_cooldown_s", "min_active: 1e300"),
        Case(
            "overlay-param-nan",
            "profiles/defensive.yaml",
            lambda t: t.replace("params: {trend_down_cooldown_s: 90}", "params: {x: .nan}"),
        ),
        Case(
            "overlay-min-dwell-inf",
            "profiles/defensive.yaml",
            lambda t: t.replace("min_dwell: 120s", "min_dwell: .inf"),
        ),
        Case(
            "naive-decision-interval-zero",
            "profiles/base.yaml",
            lambda t: t.replace("quoting:\n", "quoting:\n  decision_interval: 0\n", 1),
        ),
    ]


def corpus() -> list[Case]:
    cases = [huge_file_case(), *range_cases()]
    for file, profile in (
        ("profiles/base.yaml", "defensive"),
        ("profiles/defensive.yaml", "defensive"),
        ("rules/guards.yaml", "defensive"),
        ("rules/pnl.yaml", "base"),
    ):
        cases += structural_cases(file, profile)
    cases += value_cases("profiles/base.yaml", "base")
    cases += value_cases("profiles/defensive.yaml", "defensive")
    cases += value_cases("rules/guards.yaml", "aggressive")
    return cases


CORPUS = corpus()


# ----- running one case ---------------------------------------------------------------------------


class TookTooLong(Exception):
    pass


def _alarm(signum: int, frame: FrameType | None) -> None:
    raise TookTooLong


def run_bounded(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, float]:
    """Run the CLI in-process; a hang becomes a test failure after 20 s instead of a stuck run."""
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(20)
    started = time.perf_counter()
    try:
        code = main(argv)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    elapsed = time.perf_counter() - started
    return code, capsys.readouterr().err, elapsed


def hostile_config(case: Case, root: Path) -> Path:
    for folder in ("profiles", "rules"):
        shutil.copytree(SHIPPED / folder, root / folder)
    target = root / case.file
    content = case.mutate(target.read_text(encoding="utf-8"))
    if isinstance(content, str):
        target.write_text(content, encoding="utf-8", errors="surrogateescape")
    else:
        target.write_bytes(content)
    return root


def assert_clean_refusal(code: int, err: str, elapsed: float) -> None:
    assert code in (3, 4), err
    assert LOCATED.search(err), err
    assert "Traceback" not in err
    assert elapsed < 5.0


def test_the_corpus_is_large_and_its_names_are_unique() -> None:
    assert len(CORPUS) >= 150
    assert len({case.name for case in CORPUS}) == len(CORPUS)


@pytest.mark.parametrize("case", CORPUS, ids=lambda case: case.name)
def test_hostile_file_is_refused_by_rules_check_and_simulate(
    case: Case, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = hostile_config(case, tmp_path / "config")
    assert_clean_refusal(*run_bounded(["rules", "check", "--config-dir", str(root)], capsys))
    argv = ["simulate", "--profile", case.profile, "--config-dir", str(root),
            "--out", str(tmp_path / "out"), "--json"]  # fmt: skip
    assert_clean_refusal(*run_bounded(argv, capsys))


# ----- focused checks of the messages -------------------------------------------------------------


def refusal(case: Case, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> str:
    root = hostile_config(case, tmp_path / "config")
    code, err, _ = run_bounded(["rules", "check", "--config-dir", str(root)], capsys)
    assert code == 3
    return err


def test_invalid_utf8_is_refused_with_its_byte_offset(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    case = Case("x", "rules/guards.yaml", with_comment_bytes(b"\xff"))
    first_line = (SHIPPED / "rules/guards.yaml").read_text(encoding="utf-8").split("\n", 1)[0]
    offset = len(first_line.encode()) + 1
    err = refusal(case, tmp_path, capsys)
    assert (
        f"rules/guards.yaml:1:{offset + 1}: not UTF-8 text: byte 0xff at byte offset {offset}"
        in err
    )


def test_utf16_is_refused_as_utf16(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    case = Case("x", "profiles/base.yaml", lambda t: t.encode("utf-16"))
    assert "profiles/base.yaml:1:1: file is UTF-16" in refusal(case, tmp_path, capsys)


def test_alias_bomb_is_refused_at_the_anchor_that_overflows(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    case = Case("x", "rules/guards.yaml", lambda t: t + alias_bomb())
    err = refusal(case, tmp_path, capsys)
    assert re.search(r"rules/guards\.yaml:\d+:\d+: more than 50,000 values once aliases", err)


def test_python_tag_is_refused_as_an_unsupported_tag(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    case = Case(
        "x", "profiles/base.yaml", lambda t: t + "x: !!python/object/apply:os.system [id]\n"
    )
    err = refusal(case, tmp_path, capsys)
    assert "unsupported YAML tag '!!python/object/apply:os.system'" in err


def test_a_merge_key_keeps_working(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    def merge(text: str) -> str:
        text = text.replace("quoting:\n", "quoting: &quoting\n", 1)
        return text + "x_copy: {<<: *quoting, spread_bps: 99}\n"

    err = refusal(Case("x", "profiles/base.yaml", merge), tmp_path, capsys)
    assert "unknown key 'x_copy'" in err  # positions of merged keys no longer crash the loader


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1e300", "a duration must be at most 366d"),
        (".inf", "a duration must be a finite number of seconds"),
        (".nan", "a duration must be a finite number of seconds"),
        ("'99999999999999999999999d'", "a duration must be at most 366d"),
    ],
)
def test_absurd_durations_are_refused_at_their_line(
    value: str, expected: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    case = Case(
        "x",
        "profiles/defensive.yaml",
        lambda t: t.replace("min_dwell: 120s", f"min_dwell: {value}"),
    )
    line = next(
        number
        for number, text in enumerate((SHIPPED / case.file).read_text().splitlines(), 1)
        if "min_dwell" in text
    )
    err = refusal(case, tmp_path, capsys)
    assert f"profiles/defensive.yaml:{line}:14: regimes.min_dwell: " in err and expected in err


def test_a_negative_volatility_threshold_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    case = Case(
        "x",
        "profiles/defensive.yaml",
        lambda t: t.replace("vol_low_pause_bps: 1.0", "vol_low_pause_bps: -5"),
    )
    err = refusal(case, tmp_path, capsys)
    assert "params.vol_low_pause_bps: vol_low_pause_bps is a volatility: must be at least 0" in err
    assert err.startswith("profiles/defensive.yaml:")


def test_unknown_tier_in_a_profile_names_the_known_tiers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    case = Case("x", "profiles/base.yaml", lambda t: t.replace("tier: standard", "tier: premuim"))
    err = refusal(case, tmp_path, capsys)
    assert re.search(r"profiles/base\.yaml:\d+:7: tier: market lighter:SOL has no tier 'premuim' "
                     r"\(did you mean 'premium'\?\); known: premium, standard", err)  # fmt: skip


def test_unknown_tier_on_the_command_line_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["simulate", "--profile", "naive", "--tier", "premuim", "--out", str(tmp_path)]
    code, err, _ = run_bounded(argv, capsys)
    assert code == 2
    assert "--tier: market lighter:SOL has no tier 'premuim'" in err


def test_unknown_market_is_reported_at_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    case = Case(
        "x",
        "profiles/base.yaml",
        lambda t: t.replace("market: lighter:SOL", "market: lighter:SOLX"),
    )
    err = refusal(case, tmp_path, capsys)
    assert re.search(
        r"^profiles/base\.yaml:\d+:9: market: unknown market 'lighter:SOLX'", err, re.M
    )
    assert "?:1:1" not in err


def test_a_duplicated_secret_is_never_echoed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    secret = "https://hooks.example.com/services/T000/B000/SECRETTOKEN"
    alerts = f"alerts:\n  webhook_url: {secret}1\n  webhook_url: {secret}2\n"
    root = hostile_config(Case("x", "profiles/defensive.yaml", lambda t: t + alerts), tmp_path)
    line = len((SHIPPED / "profiles/defensive.yaml").read_text().splitlines()) + 3
    for argv in (
        ["rules", "check", "--config-dir", str(root)],
        ["profiles", "show", "defensive", "--config-dir", str(root)],
        ["simulate", "--profile", "defensive", "--config-dir", str(root), "--out", str(tmp_path)],
    ):
        code = main(argv)
        captured = capsys.readouterr()
        assert code == 3
        assert "SECRETTOKEN" not in captured.out + captured.err
        expected = f"duplicate key 'webhook_url' (first at line {line - 1})"
        assert f"profiles/defensive.yaml:{line}:3: {expected}" in captured.err
