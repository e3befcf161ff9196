"""The platform sections of the configuration: database, WeChat, web, delivery, console.

`Section` is the base of every section: unknown keys are refused and values are frozen.
"""
from __future__ import annotations

import base64
import binascii
import re
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

PROJECT_ROOT = Path(__file__).resolve().parent.parent.parent


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DatabaseConfig(Section):
    url: str = Field("sqlite:///var/linli.db", min_length=1)


def _aes_key(value: str) -> str:
    if not value:
        return value
    if len(value) != 43:
        raise ValueError(f"must be exactly 43 characters (got {len(value)})")
    try:
        if len(base64.b64decode(value + "=", validate=True)) != 32:
            raise ValueError("does not decode to a 32-byte AES key")
    except binascii.Error:
        raise ValueError("is not valid base64 text") from None
    return value


class TemplateUse(Section):
    """One of the account's templates used for a push kind: its id, and which fact
    (`core.notices`) fills each keyword (`thing2: category`)."""

    id: str = Field(min_length=1, max_length=64)
    fields: dict[str, str] = Field(min_length=1)
    # Subscription templates only: long-term, or one-time (one send per "allow").
    long_term: bool = True

    @field_validator("fields")
    @classmethod
    def _keys(cls, fields: dict[str, str]) -> dict[str, str]:
        for key in fields:
            if not re.fullmatch(r"[a-z_]+\d+", key):
                raise ValueError(f"keyword {key!r} should be a WeChat key such as thing2 or time4")
        return fields


class WechatConfig(Section):
    appid: str = Field(min_length=1)
    secret: str = Field(min_length=1)
    token: str = Field(pattern=r"^[A-Za-z0-9]{3,32}$")
    encoding_aes_key: str = ""
    previous_encoding_aes_key: str = ""
    api_base_url: str = Field(pattern=r"^https?://")
    http_timeout: float = Field(5, gt=0)
    # Per push kind: the template message (公众号 → 模板消息) and the subscription
    # notification (订阅通知) it uses outside the 48-hour window, with their keywords.
    templates: dict[str, TemplateUse] = {}
    subscriptions: dict[str, TemplateUse] = {}
    # WeChat sign-in for resident pages (网页授权) and the JS-SDK script.
    oauth_base_url: str = Field("https://open.weixin.qq.com", pattern=r"^https?://")
    jssdk_url: str = Field("https://res.wx.qq.com/open/js/jweixin-1.6.0.js", pattern=r"^https?://")

    _check_keys = field_validator("encoding_aes_key", "previous_encoding_aes_key")(_aes_key)


class WebhookConfig(Section):
    max_body_bytes: int = Field(65536, ge=1024)
    # A signed request whose timestamp is further than this from our clock is refused.
    timestamp_window_seconds: int = Field(300, ge=10)


class ConversationConfig(Section):
    idle_timeout_minutes: int = Field(30, ge=1)


class StorageConfig(Section):
    media_dir: str = "var/media"

    @property
    def media_path(self) -> Path:
        folder = Path(self.media_dir)
        return folder if folder.is_absolute() else PROJECT_ROOT / folder


class Open311Config(Section):
    api_keys: list[str] = []
    jurisdiction_id: str = "linli.demo"


class ServerConfig(Section):
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    public_url: str = Field("http://127.0.0.1:8000", pattern=r"^https?://")


class DeliveryConfig(Section):
    quiet_hours: str = Field("21:30-08:00", pattern=r"^$|^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d$")
    rate_per_second: float = Field(200, ge=0.1)
    concurrency: int = Field(8, ge=1)
    batch_size: int = Field(200, ge=1)
    max_attempts: int = Field(6, ge=1)
    backoff_seconds: float = Field(30, ge=0)
    sending_timeout_seconds: float = Field(120, ge=1)


class SchedulerConfig(Section):
    lease_seconds: float = Field(30, ge=1)
    dedup_retention_hours: float = Field(72, ge=1)
    # Delivered, cancelled and undeliverable pushes (their texts) are kept this long.
    outbox_retention_days: float = Field(30, ge=1)


class AccountTemplate(Section):
    title: str = Field(min_length=1, max_length=32)
    keys: dict[str, str] = Field(min_length=1)  # keyword → its label (工单编号 …)
    # Subscription templates: long-term (政务民生 accounts) or one-time (one send per "allow").
    long_term: bool = True


class SimulatorConfig(Section):
    port: int = Field(8100, ge=1, le=65535)
    webhook_url: str = "http://127.0.0.1:8000/wechat"
    reply_timeout_seconds: float = Field(5, gt=0)
    # The simulated account's own templates: id → title and keywords, as chosen in the
    # 公众平台 (template messages) and the subscription-notification library.
    templates: dict[str, AccountTemplate] = {}
    subscriptions: dict[str, AccountTemplate] = {}



class ConsoleConfig(Section):
    secret_key: str = Field(min_length=8)
    secure_cookies: bool = False
    session_hours: float = Field(8, gt=0)
    login_rate: str = "10 per minute"
    ratelimit_storage: str = "memory://"
    max_failed_logins: int = Field(5, ge=1)
    lockout_minutes: int = Field(15, ge=1)
    page_size: int = Field(30, ge=1, le=500)


class PrivacyConfig(Section):
    # Bumped when the notice residents agree to changes; they are asked again.
    consent_version: str = Field("2026-12", min_length=1, max_length=16)


class DemoConfig(Section):
    staff_username: str = "admin"
    staff_password: str = "linli-demo-2026"
