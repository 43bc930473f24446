"""Keep numpy from asking the kernel for transparent huge pages for the replay's big columns.

numpy advises MADV_HUGEPAGE on every array of 4 MB or more. With the kernel's common settings
(`transparent_hugepage/enabled` and `defrag` both `madvise`, the Ubuntu and Debian defaults) each
first touch of such an array then faults in a 2 MB page, compacting memory to find one when it
must. A replay of 1 M L1 events allocates a few hundred MB of such arrays, once: on the project
machine the process spent 0.3-1.4 s of system time (0.75-1.43 s in three of six runs) with the
advice and 0.27-0.35 s without it; user time was the same either way (2.33-2.44 s), so the
replay loses nothing measurable to the smaller pages (docs/performance.md, "Fixed costs").
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable

ENV = "NUMPY_MADVISE_HUGEPAGE"  # numpy's own switch: a user who sets it keeps their choice


def _switch() -> Callable[[bool], bool] | None:
    """numpy's setter (returns the previous setting); None on a numpy without it."""
    for name in ("numpy._core.multiarray", "numpy.core.multiarray"):  # numpy 2, numpy 1
        try:
            setter = getattr(importlib.import_module(name), "_set_madvise_hugepage", None)
        except ImportError:
            continue
        if callable(setter):
            return setter  # type: ignore[no-any-return]
    return None


def avoid_huge_pages() -> bool:
    """Turn numpy's huge-page advice off for this process unless the user chose it.

    Returns whether numpy advises huge pages from now on. Performance only: no result depends
    on it."""
    setter = _switch()
    if setter is None:
        return False
    if ENV in os.environ:
        previous = setter(False)
        setter(previous)  # leave the user's choice as numpy read it
        return previous
    setter(False)
    return False
