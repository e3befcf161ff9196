"""The configuration schema: every key, its type, default and check, in one place.

`config.yaml` (path: `LINLI_CONFIG`) is read, then each scalar key may be
overridden by `LINLI_<SECTION>_<KEY>` (secrets belong there in production),
then validated by these pydantic models. Code reads typed attributes
(`config.wechat.token`); a bad value stops start-up with the key's name.
"""
from __future__ import annotations

import base64
import binascii
import copy
import os
import re
from functools import cached_property
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PATH = PROJECT_ROOT / "config.yaml"
SECRET_KEYS = {"secret_key", "secret", "token", "encoding_aes_key", "previous_encoding_aes_key",
               "password", "staff_password"}
TierName = Literal["big", "small", "private"]


class ConfigError(ValueError):
    """A configuration value is missing or invalid; the message names the key."""


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


class WechatConfig(Section):
    appid: str = Field(min_length=1)
    secret: str = Field(min_length=1)
    token: str = Field(pattern=r"^[A-Za-z0-9]{3,32}$")
    encoding_aes_key: str = ""
    previous_encoding_aes_key: str = ""
    api_base_url: str = Field(pattern=r"^https?://")
    http_timeout: float = Field(5, gt=0)
    # Template id per notification kind (公众号 → 模板消息).
    templates: dict[str, str] = {}

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


class SLA(Section):
    accept_hours: float = Field(gt=0)
    resolve_hours: float = Field(gt=0)


class CategoryConfig(Section):
    code: str = Field(pattern=r"^[a-z][a-z0-9_]{0,31}$")
    name: str = Field(min_length=1, max_length=32)
    tier: TierName
    keywords: list[str] = []
    accept_hours: float | None = Field(None, gt=0)
    resolve_hours: float | None = Field(None, gt=0)
    advice: str | None = None
    # Shown in the public Open311 feed (private matters never are).
    public: bool = True


class ReportsConfig(Section):
    max_description: int = Field(500, ge=10, le=2000)
    max_photos: int = Field(9, ge=0, le=9)
    duplicate_radius_m: float = Field(100, ge=0)
    duplicate_days: int = Field(7, ge=0)
    feedback_days: int = Field(7, ge=1)
    sla: dict[TierName, SLA] = {"big": SLA(accept_hours=24, resolve_hours=168),
                                "small": SLA(accept_hours=12, resolve_hours=72),
                                "private": SLA(accept_hours=24, resolve_hours=48)}
    categories: list[CategoryConfig] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_codes(self) -> "ReportsConfig":
        codes = [c.code for c in self.categories]
        if len(codes) != len(set(codes)):
            raise ValueError("categories: codes must be unique")
        if set(self.sla) != {"big", "small", "private"}:
            raise ValueError("sla: give accept_hours/resolve_hours for big, small and private")
        return self


class CatalogueItem(Section):
    code: str = Field(min_length=1, max_length=32)
    name: str = Field(min_length=1, max_length=32)
    hours: float = Field(gt=0, le=100)


class TimebankConfig(Section):
    service_types: list[str] = Field(min_length=1)
    granularity_minutes: int = Field(30, ge=1, le=60)
    daily_max_hours: float = Field(12, gt=0, le=24)
    max_back_days: int = Field(30, ge=0)
    balance_cap_hours: float = Field(1500, gt=0)
    transfer_max_hours: float = Field(100, gt=0)
    reminder_after_days: int = Field(3, ge=1)
    milestones_hours: list[int] = [50, 100, 500]
    expiry_months: int = Field(0, ge=0)
    # What hours can buy, per community name ("default" for the rest).
    catalogue: dict[str, list[CatalogueItem]] = {}

    @property
    def cap_minutes(self) -> int:
        return int(self.balance_cap_hours * 60)

    def catalogue_for(self, community_name: str) -> list[CatalogueItem]:
        return list(self.catalogue.get(community_name) or self.catalogue.get("default") or [])


class MeetingsConfig(Section):
    reminder_hours: dict[str, list[float]] = {"default": [24, 1]}

    def reminders_for(self, meeting_type: str) -> list[float]:
        return self.reminder_hours.get(meeting_type, self.reminder_hours.get("default", [24, 1]))


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


class SimulatorConfig(Section):
    port: int = Field(8100, ge=1, le=65535)
    webhook_url: str = "http://127.0.0.1:8000/wechat"
    reply_timeout_seconds: float = Field(5, gt=0)
    templates: list[str] = []


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


class Config(Section):
    """The whole configuration, validated."""

    model_config = ConfigDict(extra="forbid", frozen=True, ignored_types=(cached_property,))

    timezone: str = "Asia/Shanghai"
    database: DatabaseConfig = DatabaseConfig()
    wechat: WechatConfig
    webhook: WebhookConfig = WebhookConfig()
    conversation: ConversationConfig = ConversationConfig()
    storage: StorageConfig = StorageConfig()
    open311: Open311Config = Open311Config()
    server: ServerConfig = ServerConfig()
    reports: ReportsConfig
    timebank: TimebankConfig
    meetings: MeetingsConfig = MeetingsConfig()
    delivery: DeliveryConfig = DeliveryConfig()
    scheduler: SchedulerConfig = SchedulerConfig()
    simulator: SimulatorConfig = SimulatorConfig()
    console: ConsoleConfig
    privacy: PrivacyConfig = PrivacyConfig()
    demo: DemoConfig = DemoConfig()

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value

    @cached_property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def with_overrides(self, overrides: dict[str, Any]) -> "Config":
        """A copy with some values replaced (tests, tools), validated again."""
        data = self.model_dump()
        _deep_merge(data, copy.deepcopy(overrides))
        return _validate(data)

    def redacted(self) -> dict:
        """A copy safe to log: secret values replaced by '***'."""
        def scrub(node: Any) -> Any:
            if isinstance(node, dict):
                return {k: ("***" if k in SECRET_KEYS and v else scrub(v)) for k, v in node.items()}
            return node
        return scrub(self.model_dump())


def load_config(path: str | os.PathLike | None = None, overrides: dict | None = None,
                environ: dict | None = None) -> Config:
    """Read the YAML file, apply env overrides then `overrides`, validate, and return it."""
    environ = os.environ if environ is None else environ
    path = Path(path or environ.get("LINLI_CONFIG") or DEFAULT_PATH)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError as exc:
        raise ConfigError(f"config file not found: {path}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"config file {path} is not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path} must contain a mapping")
    _apply_env(data, environ)
    if overrides:
        _deep_merge(data, copy.deepcopy(overrides))
    _resolve_sqlite_path(data, path.parent)
    return _validate(data)


def _validate(data: dict) -> Config:
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(p) for p in first["loc"]) or "config"
        raise ConfigError(f"{key}: {first['msg']}") from None


def _apply_env(data: dict, environ: dict) -> None:
    """LINLI_<SECTION>_<KEY> for every scalar key the schema knows."""
    for section, field in Config.model_fields.items():
        model = field.annotation
        if isinstance(model, type) and issubclass(model, Section):
            values = data.setdefault(section, {})
            if not isinstance(values, dict):
                continue
            for key, sub in model.model_fields.items():
                name = f"LINLI_{section}_{key}".upper()
                if name in environ and _scalar(sub.annotation):
                    values[key] = environ[name]
        else:
            name = f"LINLI_{section}".upper()
            if name in environ:
                data[section] = environ[name]


def _scalar(annotation: Any) -> bool:
    return annotation in (str, int, float, bool) or str(annotation) in (
        "float | None", "int | None", "str | None")


def _deep_merge(base: dict, extra: dict) -> None:
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            _deep_merge(base[key], value)
        else:
            base[key] = value


def _resolve_sqlite_path(data: dict, base_dir: Path) -> None:
    """Make a relative SQLite path relative to the config file, and create its folder."""
    database = data.get("database")
    url = database.get("url", "") if isinstance(database, dict) else ""
    match = re.match(r"^sqlite(\+\w+)?:///(?!/)(.+)$", url or "")
    if match and match.group(2) != ":memory:":
        db_path = (base_dir / match.group(2)).resolve()
        db_path.parent.mkdir(parents=True, exist_ok=True)
        database["url"] = f"sqlite{match.group(1) or ''}:///{db_path}"
