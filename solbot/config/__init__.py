"""solbot.config."""
