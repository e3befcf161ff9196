"""Serve the app with gunicorn from `python -m bot serve`."""
from __future__ import annotations

from gunicorn.app.base import BaseApplication


class _Gunicorn(BaseApplication):
    def __init__(self, options: dict):
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        from linli.app import create_app

        return create_app()


def run_gunicorn(host: str, port: int, workers: int = 2) -> None:
    """Blocking; each worker builds its own app (and database pool) after the fork."""
    _Gunicorn({"bind": f"{host}:{port}", "workers": workers, "timeout": 30,
               "accesslog": None, "graceful_timeout": 10}).run()
