"""Typer command-line interface: parse, call one app/config function, render."""
