"""Where the ledger is when no --db is given (no imports: the CLI reads it for its help)."""

DEFAULT_DB = "solbot.db"
DB_ENV = "SOLBOT_DB"
LATEST_RUN = "latest"  # `--run latest`: the run recorded last (solbot.app.metrics.LATEST)
