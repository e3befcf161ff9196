"""`python -m linli …` commands on a fresh database: as a user runs them (a process each),
and their refusals through the same entry point in-process."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest
from sqlalchemy import create_engine, text

from core.config import PROJECT_ROOT


@pytest.fixture
def cli(tmp_path, sim_server):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    env = {**os.environ, "LINLI_DATABASE_URL": url, "LINLI_WECHAT_API_BASE_URL": sim_server.url}

    def run(*args: str, ok: bool = True) -> subprocess.CompletedProcess:
        done = subprocess.run([sys.executable, "-m", "linli", *args], cwd=PROJECT_ROOT, env=env,
                              capture_output=True, text=True, timeout=60)
        assert (done.returncode == 0) == ok, done.stdout + done.stderr
        return done
    run.url = url
    return run


def _scalar(url: str, sql: str):
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(text(sql)).scalar()
    finally:
        engine.dispose()


def test_init_seed_staff_and_roles(cli, sim, monkeypatch, capsys):
    cli("init-db")
    assert "4 communities" in cli("seed-demo").stdout
    cli("create-staff", "wang", "--password", "a-long-password", "--community", "金宁社区")
    stored = _scalar(cli.url, "SELECT password_hash FROM staff_users WHERE username='wang'")
    assert stored.startswith("scrypt:") and "a-long-password" not in stored

    monkeypatch.setenv("LINLI_DATABASE_URL", cli.url)
    from cli import main

    def refused(*args: str) -> str:
        with pytest.raises(SystemExit) as stop:
            main(list(args))
        assert stop.value.code not in (0, None)
        return str(stop.value.code)

    main(["seed-demo"])  # idempotent
    assert "4 communities" in capsys.readouterr().out
    assert _scalar(cli.url, "SELECT count(*) FROM communities") == 4
    assert _scalar(cli.url, "SELECT count(*) FROM grids") == 8
    assert "密码至少10个字符" in refused("create-staff", "li", "--password", "short", "--community", "金宁社区")
    assert "no community" in refused("create-staff", "li", "--password", "a-long-password",
                                     "--community", "火星社区")
    volunteers = _scalar(cli.url, "SELECT count(*) FROM resident_roles WHERE role='volunteer'")
    assert volunteers == 1  # the demo's ready volunteer persona
    main(["grant-role", "demo-gridworker-jinning-1", "volunteer", "--by", "admin"])
    assert _scalar(cli.url, "SELECT count(*) FROM resident_roles WHERE role='volunteer'") == volunteers + 1
    assert "role must be one of" in refused("grant-role", "demo-gridworker-jinning-1", "king")
    assert "no resident" in refused("grant-role", "o-nobody", "volunteer")


def test_create_menu_publishes_to_the_platform(cli, sim):
    cli("init-db")
    assert "报事" in cli("create-menu").stdout
    buttons = sim.state()["menu"]["button"]
    entries = [sub for b in buttons for sub in b.get("sub_button", [b])]
    keys = [e["key"] for e in entries if e["type"] == "click"]
    assert {"REPORT", "MY_REPORTS", "MY_PROFILE", "HELP", "HUMAN"} <= set(keys) and len(buttons) <= 3
    assert all(len(b.get("sub_button", [])) <= 5 for b in buttons)
    [home] = [e for e in entries if e["type"] == "view"]  # the resident pages
    assert home["url"].endswith("/my")


def test_bad_config_is_reported_by_key(cli):
    env = {**os.environ, "LINLI_WECHAT_ENCODING_AES_KEY": "too-short"}
    done = subprocess.run([sys.executable, "-m", "linli", "init-db"], cwd=PROJECT_ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode != 0 and "wechat.encoding_aes_key" in done.stderr
    assert "Traceback" not in done.stderr
