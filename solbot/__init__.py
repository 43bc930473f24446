"""solbot: a rule-driven market maker for perpetual futures on Lighter."""

__version__ = "0.1.0"
