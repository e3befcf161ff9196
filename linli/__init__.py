"""Wiring: the app factory, the server and the `linli` / `python -m linli` entry point."""
