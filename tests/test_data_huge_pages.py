"""`simulate` turns numpy's transparent-huge-page advice off (system time, not results), unless
the user set numpy's own NUMPY_MADVISE_HUGEPAGE (see adapters/data/huge_pages.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from solbot.adapters.data import sample_paths
from solbot.adapters.data.huge_pages import ENV, _switch, avoid_huge_pages
from solbot.app.simulate import SimulationRequest, run_simulation


@pytest.fixture
def setter() -> Iterator[Callable[[bool], bool]]:
    """numpy's switch, set to advise huge pages (numpy's default) and restored afterwards."""
    found = _switch()
    if found is None:
        pytest.skip("this numpy has no _set_madvise_hugepage")
    before = found(True)
    yield found
    found(before)


def test_simulate_stops_numpy_advising_huge_pages(
    setter: Callable[[bool], bool], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv(ENV, raising=False)
    run_simulation(
        SimulationRequest(profile="defensive", data=tuple(sample_paths()), out_dir=tmp_path)
    )
    assert setter(True) is False  # what the run left numpy with


def test_a_user_who_set_numpys_variable_keeps_the_advice(
    setter: Callable[[bool], bool], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ENV, "1")
    assert avoid_huge_pages() is True
    assert setter(True) is True


def test_without_the_variable_the_advice_is_turned_off(
    setter: Callable[[bool], bool], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(ENV, raising=False)
    assert avoid_huge_pages() is False
    assert setter(True) is False
