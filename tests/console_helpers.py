"""Signing in to the console over real HTTP, as each kind of staff account."""
from __future__ import annotations

import re
from functools import lru_cache

import requests
from sqlalchemy import select
from werkzeug.security import generate_password_hash

from bot.db import make_engine, make_session_factory, transaction
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


def add_accounts(config) -> dict[str, int]:
    """One account per role (plus staff of another community); returns their ids."""
    engine = make_engine(config.get_path("database.url"))
    try:
        with transaction(make_session_factory(engine)) as session:
            ids = {}
            for username, (role, community, grid) in ACCOUNTS.items():
                user = StaffUser(
                    username=username, display_name=username, password_hash=_hash(), role=role,
                    community_id=session.scalar(select(Community.id).where(Community.name == community)),
                    grid_id=session.scalar(select(Grid.id).where(Grid.name == grid)), active=True,
                    failed_logins=0)
                session.add(user)
                session.flush()
                ids[username] = user.id
            return ids
    finally:
        engine.dispose()


class Console:
    """A browser-like HTTP session against /console (cookies, CSRF token from pages)."""

    def __init__(self, base_url: str):
        self.base = base_url
        self.http = requests.Session()

    def get(self, path: str, **kwargs) -> requests.Response:
        return self.http.get(self.base + path, allow_redirects=False, timeout=10, **kwargs)

    def token(self, path: str = "/console/login") -> str:
        page = self.http.get(self.base + path, timeout=10).text
        return re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)

    def post(self, path: str, data: dict | None = None, csrf: bool = True, **kwargs) -> requests.Response:
        data = dict(data or {})
        if csrf:
            data["csrf_token"] = self.token()
        return self.http.post(self.base + path, data=data, allow_redirects=False, timeout=10, **kwargs)

    def login(self, username: str, password: str = PASSWORD) -> requests.Response:
        return self.post("/console/login", {"username": username, "password": password})

    def follow(self, response: requests.Response) -> str:
        """The page a POST redirected to (flash messages included)."""
        return self.http.get(self.base + response.headers["Location"], timeout=10).text
