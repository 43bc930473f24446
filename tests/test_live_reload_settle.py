"""Hot reload waits until an edited file is complete: held still for the settle time, or
replaced by an atomic rename."""

from __future__ import annotations

from pathlib import Path

from test_live_reload import FakeMonotonic, runner_in


def test_a_half_written_file_is_not_reloaded_until_it_holds_still(tmp_path: Path) -> None:
    runner = runner_in(tmp_path)
    clock = FakeMonotonic()
    runner._monotonic = clock
    session = runner.session
    assert session is not None
    profile = tmp_path / "config" / "profiles" / "defensive.yaml"
    full = profile.read_text().replace("trend_down_cooldown_s: 90", "trend_down_cooldown_s: 75")
    cut = full.index("trend_down_cooldown_s: 75")
    profile.write_text(full[:cut])  # the editor's first write: valid YAML, half the profile
    clock.now += 0.1
    assert not runner._files_changed()
    clock.now += 0.55
    profile.write_text(full)  # 0.65 s later the rest arrives
    clock.now += 0.05
    assert not runner._files_changed()  # it changed again: wait for it to hold still
    clock.now += 0.5
    assert not runner._files_changed()
    clock.now += 0.6
    assert runner._files_changed()
    assert runner.reload() is True
    policy = session.policy
    index = policy.param_names.index("trend_down_cooldown_s")
    assert policy.params_by_regime[session.engine.regime][index] == 75


def test_an_atomic_rename_is_reloaded_at_once(tmp_path: Path) -> None:
    runner = runner_in(tmp_path)
    runner._monotonic = FakeMonotonic()
    profile = tmp_path / "config" / "profiles" / "defensive.yaml"
    staged = profile.with_name("defensive.yaml.tmp")
    staged.write_text(
        profile.read_text().replace("trend_down_cooldown_s: 90", "trend_down_cooldown_s: 75")
    )
    staged.replace(profile)
    assert runner._files_changed()
