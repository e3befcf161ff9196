"""The one outbound WeChat client.

A thin wrapper over wechatpy's `WeChatClient`, pointed at `wechat.api_base_url`
(token endpoint included) with HTTP timeouts. The access token lives in the
database: WeChat invalidates the previous token whenever a new one is fetched,
so every process must share one, refreshed by one process at a time under a
row lock. The JS-SDK ticket is shared the same way (a new one does not void the old,
so it needs no lock). Web sign-in (网页授权) uses wechatpy's `WeChatOAuth`, pointed at
`wechat.oauth_base_url` and the API base.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any, Callable, TypeVar

import requests
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from wechatpy import WeChatClient, WeChatOAuth
from wechatpy.exceptions import WeChatClientException, WeChatOAuthException

from core.clock import SYSTEM, Clock
from core.config import Config
from core.db import insert_ignore, transaction
from models import AccessToken

log = logging.getLogger(__name__)
T = TypeVar("T")

TOKEN_ERRORS = {40001, 40014, 42001}
# Refresh this long before WeChat's stated expiry.
TOKEN_MARGIN = timedelta(minutes=5)


class _Client(WeChatClient):
    """wechatpy client whose token comes from the shared store, never its own cache."""

    def __init__(self, api: "WeChatAPI", appid: str, secret: str, base_url: str, timeout: float):
        super().__init__(appid, secret, timeout=timeout, auto_retry=False)
        self.API_BASE_URL = f"{base_url}/cgi-bin/"
        self._api = api

    @property
    def access_token(self) -> str:
        return self._api.token()

    def fetch_access_token(self) -> dict:
        return self._fetch_access_token(url=f"{self.API_BASE_URL}token", params={
            "grant_type": "client_credential", "appid": self.appid, "secret": self.secret})


class WeChatAPI:
    """Shared-token access to the WeChat API; `call` retries once after a token refresh."""

    def __init__(self, config: Config, sessions: sessionmaker[Session], clock: Clock = SYSTEM):
        self.appid = config.wechat.appid
        self.sessions, self.clock = sessions, clock
        self._cached: tuple[str, datetime] | None = None
        self.client = _Client(self, self.appid, config.wechat.secret,
                              config.wechat.api_base_url.rstrip("/"), config.wechat.http_timeout)

    def token(self) -> str:
        """A valid token: the stored one, or a fresh one if it is missing or near expiry.

        Kept in memory until near its expiry, so sending does not read the database
        per call; a rejected token (another process refreshed) is re-read at once.
        """
        cached = self._cached
        if cached is not None and cached[1] - self.clock.now() > TOKEN_MARGIN:
            return cached[0]
        with self.sessions() as session:
            row = session.get(AccessToken, self.appid)
            if row is not None and row.expires_at - self.clock.now() > TOKEN_MARGIN:
                self._cached = (row.token, row.expires_at)
                return row.token
        return self.refresh_token(stale=row.token if row else None)

    def refresh_token(self, stale: str | None = None, force: bool = False) -> str:
        """Fetch a new token unless another process already replaced `stale`."""
        with transaction(self.sessions) as session:
            # Make sure a row exists so the lock below always has something to hold.
            insert_ignore(session, AccessToken.__table__,
                           {"appid": self.appid, "token": "", "expires_at": self.clock.now(),
                            "refreshed_at": self.clock.now()}, ["appid"])
            row = session.scalars(select(AccessToken).where(AccessToken.appid == self.appid)
                                  .with_for_update()).one()
            fresh = row.token and row.expires_at - self.clock.now() > TOKEN_MARGIN
            if fresh and row.token != stale and not force:
                self._cached = (row.token, row.expires_at)
                return row.token
            result = self.client.fetch_access_token()
            now = self.clock.now()
            row.token = result["access_token"]
            row.expires_at = now + timedelta(seconds=int(result.get("expires_in", 7200)))
            row.refreshed_at = now
            self._cached = (row.token, row.expires_at)
            log.info("access token refreshed, valid until %s", row.expires_at.isoformat())
            return row.token

    def call(self, fn: Callable[[WeChatClient], T]) -> T:
        """Run `fn(client)`; on an invalid/expired token refresh once and retry."""
        used = self.token()
        try:
            return fn(self.client)
        except WeChatClientException as exc:
            if exc.errcode not in TOKEN_ERRORS:
                raise
            log.info("token rejected (%s), refreshing once", exc.errcode)
            self._cached = None
            self.refresh_token(stale=used)
            return fn(self.client)

    def post(self, endpoint: str, data: dict[str, Any]) -> dict:
        """POST JSON to `/cgi-bin/<endpoint>` with the shared token."""
        return self.call(lambda client: client.post(endpoint, data=data))

    def get(self, endpoint: str, **params: Any) -> dict:
        # wechatpy writes the token into the params dict: give each attempt its own copy.
        return self.call(lambda client: client.get(endpoint, params=dict(params)))

    def jsapi_ticket(self) -> str:
        """The JS-SDK ticket every process shares (stored beside the access token)."""
        key, now = f"{self.appid}:jsapi", self.clock.now()
        with self.sessions() as session:
            row = session.get(AccessToken, key)
            if row is not None and row.expires_at - now > TOKEN_MARGIN:
                return row.token
        result = self.get("ticket/getticket", type="jsapi")
        expires = now + timedelta(seconds=int(result.get("expires_in", 7200)))
        with transaction(self.sessions) as session:
            row = session.get(AccessToken, key) or AccessToken(appid=key)
            row.token, row.expires_at, row.refreshed_at = result["ticket"], expires, now
            session.add(row)
        return result["ticket"]


class SignInRefused(Exception):
    """WeChat did not vouch for this sign-in (bad, used or expired code)."""


class _OAuth(WeChatOAuth):
    def __init__(self, config: Config, redirect_uri: str, state: str):
        super().__init__(config.wechat.appid, config.wechat.secret, redirect_uri, "snsapi_base", state)
        self.OAUTH_BASE_URL = f"{config.wechat.oauth_base_url.rstrip('/')}/connect/"
        self.API_BASE_URL = f"{config.wechat.api_base_url.rstrip('/')}/"
        self._timeout = config.wechat.http_timeout

    def _request(self, method, url_or_endpoint, **kwargs):
        kwargs.setdefault("timeout", self._timeout)
        return super()._request(method, url_or_endpoint, **kwargs)


def signin_url(config: Config, redirect_uri: str, state: str) -> str:
    """Where a page sends a person to be signed in silently (snsapi_base)."""
    return _OAuth(config, redirect_uri, state).authorize_url


def signed_in_openid(config: Config, code: str) -> str:
    """The openid WeChat vouches for with this code (each code works once, for 5 minutes)."""
    try:
        return _OAuth(config, "", "").fetch_access_token(code)["openid"]
    except (WeChatOAuthException, KeyError, requests.RequestException) as exc:
        raise SignInRefused(str(getattr(exc, "errcode", "") or exc)) from None
