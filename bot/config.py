"""Load, override and validate `config.yaml`.

The file path comes from `LINLI_CONFIG` (default: `config.yaml` beside the
project). Any scalar key can be overridden by `LINLI_<SECTION>_<KEY>`; secrets
belong in those variables in production. Invalid values stop start-up with a
message naming the key.
"""
from __future__ import annotations

import base64
import binascii
import copy
import os
import re
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PATH = PROJECT_ROOT / "config.yaml"
SECRET_KEYS = {"secret_key", "secret", "token", "encoding_aes_key", "previous_encoding_aes_key",
               "password", "staff_password"}


class ConfigError(ValueError):
    """A configuration value is missing or invalid; the message names the key."""


class Config(dict):
    """Nested configuration mapping with dotted access: `config.get_path("wechat.token")`."""

    def get_path(self, dotted: str, default: Any = None) -> Any:
        node: Any = self
        for part in dotted.split("."):
            if not isinstance(node, dict) or part not in node:
                return default
            node = node[part]
        return node

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self["timezone"])

    def redacted(self) -> dict:
        """A copy safe to log: secret values replaced by '***'."""
        def scrub(node: Any) -> Any:
            if isinstance(node, dict):
                return {k: ("***" if k in SECRET_KEYS and v else scrub(v)) for k, v in node.items()}
            return node
        return scrub(dict(self))


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
    config = Config(data)
    _resolve_paths(config, path.parent)
    validate(config)
    return config


def _apply_env(data: dict, environ: dict) -> None:
    for section, values in data.items():
        if isinstance(values, dict):
            for key, value in values.items():
                name = f"LINLI_{section}_{key}".upper()
                if name in environ and not isinstance(value, (dict, list)):
                    values[key] = _coerce(environ[name], value)
        else:
            name = f"LINLI_{section}".upper()
            if name in environ:
                data[section] = _coerce(environ[name], values)


def _coerce(raw: str, current: Any) -> Any:
    if isinstance(current, bool):
        return raw.strip().lower() in {"1", "true", "yes", "on"}
    if isinstance(current, int):
        return int(raw)
    if isinstance(current, float):
        return float(raw)
    return raw


def _deep_merge(base: dict, extra: dict) -> None:
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            _deep_merge(base[key], value)
        else:
            base[key] = value


def _resolve_paths(config: Config, base_dir: Path) -> None:
    """Make a relative SQLite path relative to the config file, and create its folder."""
    url = config.get_path("database.url", "")
    match = re.match(r"^sqlite(\+\w+)?:///(?!/)(.+)$", url or "")
    if match and match.group(2) != ":memory:":
        db_path = (base_dir / match.group(2)).resolve()
        db_path.parent.mkdir(parents=True, exist_ok=True)
        config["database"]["url"] = f"sqlite{match.group(1) or ''}:///{db_path}"


def _check_aes_key(config: Config, key: str) -> None:
    value = config.get_path(key) or ""
    if not value:
        return
    if len(value) != 43:
        raise ConfigError(f"{key} must be exactly 43 characters (got {len(value)})")
    try:
        if len(base64.b64decode(value + "=", validate=True)) != 32:
            raise ConfigError(f"{key} does not decode to a 32-byte AES key")
    except binascii.Error as exc:
        raise ConfigError(f"{key} is not valid base64 text") from exc


def validate(config: Config) -> None:
    """Raise ConfigError naming the first invalid key."""
    for key in ("wechat.appid", "wechat.secret", "wechat.token", "wechat.api_base_url",
                "database.url", "timezone"):
        if not config.get_path(key):
            raise ConfigError(f"{key} is required")
    if not re.fullmatch(r"[A-Za-z0-9]{3,32}", str(config.get_path("wechat.token"))):
        raise ConfigError("wechat.token must be 3-32 letters or digits")
    _check_aes_key(config, "wechat.encoding_aes_key")
    _check_aes_key(config, "wechat.previous_encoding_aes_key")
    if not re.match(r"^https?://", config.get_path("wechat.api_base_url")):
        raise ConfigError("wechat.api_base_url must start with http:// or https://")
    try:
        ZoneInfo(config["timezone"])
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(f"timezone: unknown time zone {config['timezone']!r}") from exc
    quiet = config.get_path("delivery.quiet_hours") or ""
    if quiet and not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d", quiet):
        raise ConfigError("delivery.quiet_hours must look like 21:30-08:00 (or be empty)")
    for key, minimum in (("webhook.max_body_bytes", 1024), ("conversation.idle_timeout_minutes", 1),
                         ("delivery.rate_per_second", 0.1), ("delivery.concurrency", 1),
                         ("delivery.batch_size", 1), ("delivery.max_attempts", 1)):
        value = config.get_path(key)
        if not isinstance(value, (int, float)) or value < minimum:
            raise ConfigError(f"{key} must be a number >= {minimum}")
