"""Plotly charts in a report page: the library once, as a file beside the page.

plotly.js is 4.8 MB. Inlined in every page it would be most of each report (and alone nearly the
5 MB a report may weigh), so a report's folder holds one `plotly.min.js` that its pages load with
a relative `<script src>`: the page stays small (its data, downsampled) and works offline.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from solbot.errors import RuntimeFailure

LIBRARY = "plotly.min.js"


def charts_html(figures: Sequence[object], folder: Path) -> str:
    """The figures as HTML fragments; writes plotly.min.js into `folder` when it is not there."""
    import plotly.io as pio
    import plotly.offline

    library = folder / LIBRARY
    code = plotly.offline.get_plotlyjs()
    try:
        if not library.is_file() or library.stat().st_size != len(code.encode()):
            library.write_text(code, encoding="utf-8")
    except OSError as error:
        raise RuntimeFailure(f"cannot write {library}: {error}") from error
    script = f'<script src="{LIBRARY}"></script>'
    return script + "".join(
        pio.to_html(figure, full_html=False, include_plotlyjs=False) for figure in figures
    )
