"""`solbot analyze`: the notes' loop on the honest ledger (PnL windows by regime, volatility)."""
