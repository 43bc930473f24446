"""Pure trading logic: no I/O, no wall clock, no asyncio."""
