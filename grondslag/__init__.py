"""Grondslag command-line entry point (wires the db, etl, quality and api packages together)."""
