"""The configuration schema: every key, its type, default and check, in one place.

`config.yaml` (path: `LINLI_CONFIG`) is read, then each scalar key may be
overridden by `LINLI_<SECTION>_<KEY>` (secrets belong there in production),
then validated by these pydantic models (`sections`: the platform, `services`:
reports, time bank, meetings, contact). Code reads typed attributes
(`config.wechat.token`); a bad value stops start-up with the key's name.
"""
from __future__ import annotations

import copy
import os
import re
from functools import cached_property
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import ConfigDict, ValidationError, field_validator

from core.config.sections import (
    PROJECT_ROOT,
    AccountTemplate,
    ConsoleConfig,
    ConversationConfig,
    DatabaseConfig,
    DeliveryConfig,
    DemoConfig,
    Open311Config,
    PrivacyConfig,
    SchedulerConfig,
    Section,
    ServerConfig,
    SimulatorConfig,
    StorageConfig,
    TemplateUse,
    WebhookConfig,
    WechatConfig,
)
from core.config.services import (
    SLA,
    CatalogueItem,
    CategoryConfig,
    ContactConfig,
    ContactPoint,
    DeliberationConfig,
    MeetingsConfig,
    ReportsConfig,
    TierName,
    TimebankConfig,
)

__all__ = ["PROJECT_ROOT", "SLA", "AccountTemplate", "CatalogueItem", "CategoryConfig", "Config",
           "ConfigError", "TemplateUse",
           "ContactConfig", "ContactPoint", "DeliberationConfig", "MeetingsConfig", "PrivacyConfig", "ReportsConfig",
           "TierName", "TimebankConfig", "load_config"]

DEFAULT_PATH = PROJECT_ROOT / "config.yaml"
SECRET_KEYS = {"secret_key", "secret", "token", "encoding_aes_key", "previous_encoding_aes_key",
               "password", "staff_password"}


class ConfigError(ValueError):
    """A configuration value is missing or invalid; the message names the key."""


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
    deliberation: DeliberationConfig = DeliberationConfig()
    delivery: DeliveryConfig = DeliveryConfig()
    scheduler: SchedulerConfig = SchedulerConfig()
    simulator: SimulatorConfig = SimulatorConfig()
    console: ConsoleConfig
    privacy: PrivacyConfig = PrivacyConfig()
    contact: ContactConfig = ContactConfig()
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

    def with_overrides(self, overrides: dict[str, Any]) -> Config:
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
