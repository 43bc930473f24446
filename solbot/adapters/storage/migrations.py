"""Ledger schema, built and evolved by sqlite-utils' own `Migrations` (sqlite-utils >= 4.0).

Append new steps at the end, never edit an applied one: each name is recorded in
`_sqlite_migrations` once applied, and a database holding names we do not know comes from a newer
solbot.
"""

from __future__ import annotations

from sqlite_utils import Database, Migrations

MIGRATION_SET = "solbot.ledger"

migrations = Migrations(MIGRATION_SET)


@migrations()
def m001_initial(db: Database) -> None:
    """Fills, orders, decisions, marks, funding, latches and runs."""
    db.table("fills").create(
        {
            "venue": str,
            "trade_id": str,
            "market": str,
            "ts_ns": int,
            "side": str,
            "price": float,
            "size": float,
            "role": str,
            "fee_usd": float,
            "client_id": int,
            "tag": str,
            "mid": float,
            "source": str,
            "run_id": str,
        },
        pk=("venue", "trade_id"),
        not_null={"venue", "trade_id", "market", "ts_ns", "side", "price", "size", "role"},
    )
    db.table("fills").create_index(["market", "ts_ns"])
    db.table("fills").create_index(["ts_ns"])
    db.table("orders").create(
        {
            "run_id": str,
            "client_id": int,
            "market": str,
            "side": str,
            "price": float,
            "size": float,
            "tag": str,
            "status": str,
            "reason": str,
            "created_ns": int,
            "updated_ns": int,
        },
        pk=("run_id", "client_id"),
        not_null={"run_id", "client_id"},
    )
    db.table("decisions").create(
        {
            "id": int,
            "run_id": str,
            "ts_ns": int,
            "state": str,
            "active_rules": str,
            "regime": str,
            "reasons": str,
        },
        pk="id",
    )
    db.table("decisions").create_index(["run_id", "ts_ns"])
    db.table("marks").create(
        {"market": str, "ts_ns": int, "mid": float},
        pk=("market", "ts_ns"),
        not_null={"market", "ts_ns", "mid"},
    )
    db.table("funding").create(
        {
            "venue": str,
            "market": str,
            "ts_ns": int,
            "rate": float,
            "position": float,
            "mark": float,
            "amount_usd": float,
        },
        pk=("venue", "market", "ts_ns"),
        not_null={"venue", "market", "ts_ns", "amount_usd"},
    )
    db.table("latches").create(
        {
            "id": int,
            "rule_id": str,
            "latched_ns": int,
            "reason": str,
            "acknowledged_ns": int,
        },
        pk="id",
        not_null={"rule_id", "latched_ns"},
    )
    db.table("latches").create_index(["rule_id"])
    db.table("runs").create(
        {
            "run_id": str,
            "kind": str,
            "started_ns": int,
            "profile": str,
            "profile_sha256": str,
            "ruleset_sha256": str,
            "meta": str,
        },
        pk="run_id",
    )


# Rows written before runs were tracked everywhere belong to the newest run that had started by
# their time; with no such run, to the oldest run; with no run at all, to the empty run id ''
# (shown only by `--run all`). Fills without a run came from imports and backfills: they go to
# the newest *live* run started by their time (an order resting on the venue while the bot was
# down belongs to the run that placed it), else to ''.
_RUN_AT = (
    "COALESCE((SELECT r.run_id FROM runs r WHERE r.started_ns <= {table}.ts_ns "
    "ORDER BY r.started_ns DESC, r.run_id DESC LIMIT 1), "
    "(SELECT r.run_id FROM runs r ORDER BY r.started_ns, r.run_id LIMIT 1), '')"
)
_LIVE_RUN_AT = (
    "COALESCE((SELECT r.run_id FROM runs r WHERE r.kind = 'run' AND r.started_ns <= fills.ts_ns "
    "ORDER BY r.started_ns DESC, r.run_id DESC LIMIT 1), '')"
)


@migrations()
def m002_run_everywhere(db: Database) -> None:
    """Every fill, mark and funding payment carries its run; marks are keyed per run."""
    db.execute(f"UPDATE fills SET run_id = {_LIVE_RUN_AT} WHERE run_id IS NULL")
    db.table("funding").add_column("run_id", str)
    db.execute(f"UPDATE funding SET run_id = {_RUN_AT.format(table='funding')}")
    db.table("marks").add_column("run_id", str)
    db.execute(f"UPDATE marks SET run_id = {_RUN_AT.format(table='marks')}")
    # Two runs replaying the same data used to overwrite each other's marks.
    db.table("marks").transform(pk=("run_id", "market", "ts_ns"), not_null={"run_id"})
    db.table("fills").create_index(["run_id", "ts_ns"])
    db.table("funding").create_index(["run_id", "ts_ns"])


@migrations()
def m_budget_venue_requests(db: Database) -> None:
    """Requests sent to a venue account, kept a few minutes: a restart's budget counts them."""
    db.table("venue_requests").create(
        {"account_index": int, "at_ns": int},
        not_null={"account_index", "at_ns"},
    )
    db.table("venue_requests").create_index(["account_index", "at_ns"])


@migrations()
def m004_fill_totals(db: Database) -> None:
    """FIFO running totals per fill stream (see fill_totals.py), backfilled from every fill."""
    from solbot.adapters.storage.fill_totals import FillTotals

    stream = {"market": str, "all_runs": int, "run_id": str}
    db.table("fill_checkpoints").create(
        {
            **stream,
            "fills": int,
            "ts_ns": int,
            "fill_rowid": int,
            "position": float,
            "realized_usd": float,
            "fees_usd": float,
            "cash_flow_usd": float,
            "volume_usd": float,
            "maker_volume_usd": float,
            "taker_volume_usd": float,
            "maker_fills": int,
            "taker_fills": int,
            "mid_fills": int,
            "lots": bytes,
        },
        pk=("market", "all_runs", "run_id", "fills"),
    )
    db.table("fill_checkpoints").create_index(["market", "all_runs", "run_id", "ts_ns", "fills"])
    db.table("fill_streams").create(
        {
            **stream,
            "fills": int,
            "first_ns": int,
            "last_ns": int,
            "last_rowid": int,
            "valid": int,
            "same_as": str,  # all-runs stream of a market whose fills are all of this run
        },
        pk=("market", "all_runs", "run_id"),
    )
    db.table("fill_sync").create({"fills_rowid": int}, not_null={"fills_rowid"})
    db.execute("INSERT INTO fill_sync (fills_rowid) VALUES (0)")
    # Marks of one market across runs, by time (fills have (market, ts_ns) already; one more
    # index on fills would cost every insert ~20 %).
    db.table("marks").create_index(["market", "ts_ns"])
    FillTotals().rebuild_all(db.conn)
