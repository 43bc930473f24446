"""The live terminal view of `solbot run` (rich), shown when stdout is a terminal."""

from __future__ import annotations

from types import TracebackType
from typing import Any

from rich.console import Group
from rich.live import Live
from rich.table import Table


class LiveView:
    """Quotes, inventory, PnL, active rules, regime, tx budget and feed age, each second."""

    def __init__(self) -> None:
        self._live = Live(Table(), refresh_per_second=2, transient=False)

    def __enter__(self) -> LiveView:
        self._live.__enter__()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._live.__exit__(kind, error, trace)

    def update(self, status: dict[str, Any]) -> None:
        self._live.update(render(status))


def render(status: dict[str, Any]) -> Group:
    head = Table(
        show_header=False, title="solbot run" + (" (final)" if status["type"] == "final" else "")
    )
    age = status.get("feed_age_s")
    rows = [
        ("market", f"bid {status['bid']}  ask {status['ask']}  mid {status['mid']:.4f}"),
        (
            "state",
            f"{status['state']}  regime {status['regime']}"
            + ("  HALTED" if status["halted"] else ""),
        ),
        ("inventory", f"{status['inventory']:g}"),
        (
            "PnL",
            f"realized {status['realized_pnl_usd']:+.4f}  unrealized "
            f"{status['unrealized_pnl_usd']:+.4f}  fees {status['fees_usd']:.4f}  "
            f"fills {status['fills']}",
        ),
        ("active rules", ", ".join(status["active_rules"]) or "none"),
        ("tx budget left", str(status["tx_budget_left"])),
        (
            "feed",
            f"connected {status['connected']}  book valid {status['book_valid']}  "
            f"age {'-' if age is None else f'{age:.1f} s'}",
        ),
    ]
    if status.get("stop_reason"):
        rows.append(("stopping", status["stop_reason"]))
    for name, value in rows:
        head.add_row(name, value)
    orders = Table(title="our orders")
    for column in ("side", "price", "size", "tag", "status"):
        orders.add_column(column)
    for order in status["orders"]:
        orders.add_row(
            order["side"], str(order["price"]), f"{order['size']:g}", order["tag"], order["status"]
        )
    return Group(head, orders)
