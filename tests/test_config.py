"""Configuration: env overrides, and clear start-up errors that name the key."""
from __future__ import annotations

import pytest

from core.config import ConfigError, load_config


def test_defaults_load():
    config = load_config(environ={})
    assert config.timezone == "Asia/Shanghai"
    assert config.wechat.api_base_url.startswith("http")


def test_env_overrides_secrets_and_nested_keys():
    config = load_config(environ={"LINLI_WECHAT_SECRET": "from-env", "LINLI_DATABASE_URL": "sqlite://",
                                  "LINLI_CONVERSATION_IDLE_TIMEOUT_MINUTES": "45"})
    assert config.wechat.secret == "from-env"
    assert config.database.url == "sqlite://"
    assert config.conversation.idle_timeout_minutes == 45


def test_redacted_hides_secrets():
    shown = str(load_config(environ={}).redacted())
    assert "linli-demo-secret" not in shown and "linlidemotoken" not in shown and "***" in shown


@pytest.mark.parametrize("env, key", [
    ({"LINLI_WECHAT_ENCODING_AES_KEY": "short"}, "wechat.encoding_aes_key"),
    ({"LINLI_WECHAT_ENCODING_AES_KEY": "!" * 43}, "wechat.encoding_aes_key"),
    ({"LINLI_WECHAT_PREVIOUS_ENCODING_AES_KEY": "x" * 42}, "wechat.previous_encoding_aes_key"),
    ({"LINLI_WECHAT_TOKEN": ""}, "wechat.token"),
    ({"LINLI_WECHAT_API_BASE_URL": "ftp://x"}, "wechat.api_base_url"),
    ({"LINLI_TIMEZONE": "Mars/Olympus"}, "timezone"),
    ({"LINLI_DATABASE_URL": ""}, "database.url"),
])
def test_invalid_values_name_the_key(env, key):
    with pytest.raises(ConfigError) as err:
        load_config(environ=env)
    assert key in str(err.value)


def test_missing_or_broken_file(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.yaml", environ={})
    broken = tmp_path / "broken.yaml"
    broken.write_text("wechat: [unclosed", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(broken, environ={})


def test_log_lines_hide_credentials_but_keep_wechat_result_codes():
    import logging

    from core.logs import Redacting

    line = Redacting("%(message)s").format(logging.LogRecord(
        "t", logging.INFO, __file__, 1, "GET /oauth?code=081AbC&state=x -> errcode=40003 token?secret=s3cr3t",
        None, None))
    assert "081AbC" not in line and "s3cr3t" not in line
    assert "code=***" in line and "errcode=40003" in line


def test_pages_have_an_icon(client):
    answer = client.get("/favicon.ico")
    assert answer.status_code == 200 and answer.mimetype == "image/svg+xml" and b"<svg" in answer.data
