"""Signing in to the console as each kind of staff account: over the app's test client
(fast tier) or over real HTTP (end to end)."""
from __future__ import annotations

import re
from functools import lru_cache

import requests
from sqlalchemy import select
from werkzeug.security import generate_password_hash

from core.db import make_engine, make_session_factory, transaction
from models import Community, Grid, StaffUser

PASSWORD = "console-test-pass"
# username: (role, community, grid)
ACCOUNTS = {
    "t-admin": ("admin", None, None),
    "t-staff": ("staff", "金宁社区", None),
    "t-grid": ("grid_worker", "金宁社区", "金宁第一网格"),
    "t-viewer": ("viewer", "金宁社区", None),
    "t-other": ("staff", "仙湖社区", None),
}


@lru_cache(maxsize=1)
def _hash() -> str:
    return generate_password_hash(PASSWORD, method="scrypt")  # once: scrypt is slow on purpose


def add_accounts_to(session) -> dict[str, int]:
    """One account per role (plus staff of another community); returns their ids."""
    ids = {}
    for username, (role, community, grid) in ACCOUNTS.items():
        user = StaffUser(
            username=username, display_name=username, password_hash=_hash(), role=role,
            community_id=session.scalar(select(Community.id).where(Community.name == community)),
            grid_id=session.scalar(select(Grid.id).where(Grid.name == grid)), active=True,
            failed_logins=0, session_version=0)
        session.add(user)
        session.flush()
        ids[username] = user.id
    return ids


def add_accounts(config) -> dict[str, int]:
    """The same, committed (end-to-end tests)."""
    engine = make_engine(config.database.url)
    try:
        with transaction(make_session_factory(engine)) as session:
            return add_accounts_to(session)
    finally:
        engine.dispose()


class Console:
    """A browser-like session against /console: cookies kept, CSRF token read from pages.
    `target` is a base URL (real HTTP) or a Flask test client (in-process)."""

    def __init__(self, target):
        self.remote = isinstance(target, str)
        self.base, self.http = (target, requests.Session()) if self.remote else ("", target)

    def get(self, path: str, **kwargs):
        if self.remote:
            return self.http.get(self.base + path, allow_redirects=False, timeout=10, **kwargs)
        return self.http.get(path, **kwargs)

    def token(self, path: str = "/console/login") -> str:
        page = self.http.get(self.base + path, **({"timeout": 10} if self.remote else
                                                   {"follow_redirects": True})).text
        return re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)

    def post(self, path: str, data: dict | None = None, csrf: bool = True, **kwargs):
        data = dict(data or {})
        if csrf:
            data["csrf_token"] = self.token()
        if self.remote:
            return self.http.post(self.base + path, data=data, allow_redirects=False, timeout=10,
                                  **kwargs)
        return self.http.post(path, data=data, **kwargs)

    def login(self, username: str, password: str = PASSWORD):
        return self.post("/console/login", {"username": username, "password": password})

    def follow(self, response) -> str:
        """The page a POST redirected to (flash messages included)."""
        return self.get(response.headers["Location"]).text
