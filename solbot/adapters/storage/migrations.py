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


@migrations()
def m_budget_venue_requests(db: Database) -> None:
    """Requests sent to a venue account, kept a few minutes: a restart's budget counts them."""
    db.table("venue_requests").create(
        {"account_index": int, "at_ns": int},
        not_null={"account_index", "at_ns"},
    )
    db.table("venue_requests").create_index(["account_index", "at_ns"])
