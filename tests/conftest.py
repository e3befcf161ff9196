"""Shared fixtures, in two tiers, on a real database (SQLite, or PostgreSQL with
LINLI_TEST_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test).

- Fast tier (`chat`, `app`, `client`, `clock`): the app in-process, every message fed
  straight to the pipeline, everything inside one transaction rolled back after the
  test, time from a manual clock. Most behaviour is tested here.
- End-to-end ring (`sim`, `bot_server`, `via_gunicorn`, `page` …): the bot and the
  simulator on loopback ports over real HTTP (signatures, AES, retries), scheduler
  processes, gunicorn workers and a headless browser; the database is emptied and
  seeded before each such test.

Under pytest-xdist each worker has its own database (a file, or `<db>_gw<n>`).
"""
from __future__ import annotations

import logging
import os
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from datetime import datetime, timezone

import pytest
import requests
from sqlalchemy import make_url, select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session
from werkzeug.serving import WSGIRequestHandler, make_server

from cli.seed import seed
from core.clock import ManualClock
from core.config import PROJECT_ROOT, load_config
from core.db import make_engine, make_session_factory
from core.migrate import upgrade
from linli.app import create_app
from models import Base, Resident
from simulator.app import create_sim_app
from simulator.client import SimulatorClient
from tests.driver import Chat

AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
logging.getLogger("werkzeug").setLevel(logging.WARNING)
# A fixed, ordinary moment for the fast tier: a weekday morning outside quiet hours.
START = datetime(2026, 11, 18, 2, 0, tzinfo=timezone.utc)  # 10:00 in Beijing


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class KeepAlive(WSGIRequestHandler):
    """HTTP/1.1, so clients reuse connections (as they do against real servers)."""

    protocol_version = "HTTP/1.1"


class LiveServer:
    """A WSGI app served on a loopback port from a background thread."""

    def __init__(self, app, port: int):
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.server = make_server("127.0.0.1", port, app, threaded=True, request_handler=KeepAlive)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()


def _worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "")


@pytest.fixture(scope="session")
def db_url(tmp_path_factory) -> str:
    url = os.environ.get("LINLI_TEST_DATABASE_URL")
    if url:
        if _worker():
            base = make_url(url)
            admin = make_engine(url, isolation_level="AUTOCOMMIT")
            name = f"{base.database}_{_worker()}"
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                conn.execute(text(f'CREATE DATABASE "{name}"'))
            admin.dispose()
            url = base.set(database=name).render_as_string(hide_password=False)
        engine = make_engine(url)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'linli-test.db'}"
    upgrade(url)
    return url


@pytest.fixture(scope="session")
def ports() -> dict[str, int]:
    return {"bot": free_port(), "sim": free_port()}


@pytest.fixture(scope="session")
def config(db_url, ports):
    return load_config(overrides={
        "database": {"url": db_url},
        "wechat": {"api_base_url": f"http://127.0.0.1:{ports['sim']}",
                   "oauth_base_url": f"http://127.0.0.1:{ports['sim']}",
                   "jssdk_url": f"http://127.0.0.1:{ports['sim']}/sim/jweixin.js",
                   "encoding_aes_key": AES_KEY, "previous_encoding_aes_key": ""},
        "simulator": {"webhook_url": f"http://127.0.0.1:{ports['bot']}/wechat"},
        "server": {"public_url": f"http://127.0.0.1:{ports['bot']}"},
        # Every test signs in from 127.0.0.1; the limit itself has its own test.
        "console": {"login_rate": "10000 per minute"},
    }, environ={})


@pytest.fixture(scope="session")
def engine(db_url):
    # Assertions read without taking SQLite's write lock from the bot.
    engine = make_engine(db_url, sqlite_begin="DEFERRED")
    yield engine
    engine.dispose()


# --- the database between tests -----------------------------------------------------------

class World:
    """Whether the database holds only the seed (the fast tier's starting point)."""

    dirty = True


def reset_database(engine, config) -> None:
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    for attempt in range(5):
        try:
            with engine.begin() as conn:
                if engine.dialect.name == "postgresql":
                    conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
                else:
                    for table in tables:
                        conn.execute(text(f"DELETE FROM {table}"))
            break
        except OperationalError:
            # A late delivery report from the previous test may still hold a lock.
            if attempt == 4:
                raise
            time.sleep(0.5)
    seed(config)


# --- the fast tier -----------------------------------------------------------------------------

@pytest.fixture(scope="session")
def fast_engine(db_url):
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def fast_app(config):
    """One app for the whole run; each test gives it that test's connection and clock."""
    return create_app(config, sessions=make_session_factory(make_engine("sqlite://")))


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def app(fast_app, fast_engine, config, clock):
    """The app on one connection inside one transaction, rolled back afterwards."""
    if World.dirty:
        reset_database(fast_engine, config)
        World.dirty = False
    connection = fast_engine.connect()
    outer = connection.begin()
    sessions = make_session_factory(connection, join_transaction_mode="create_savepoint")
    saved = dict(fast_app.extensions)
    fast_app.extensions.update({"linli.sessions": sessions, "linli.read_sessions": sessions,
                                "linli.clock": clock})
    pipeline = fast_app.extensions["linli.pipeline"]
    pipeline.sessions, pipeline.clock = sessions, clock
    pipeline.writing_steps.clear()
    if pipeline.snapshot_sessions is not None:
        pipeline.snapshot_sessions = sessions
    fast_app.extensions["linli.test_sessions"] = sessions
    try:
        yield fast_app
    finally:
        fast_app.extensions.clear()
        fast_app.extensions.update(saved)
        outer.rollback()
        connection.close()


@pytest.fixture
def pipeline(app):
    """The fast tier's webhook pipeline, to feed messages to directly."""
    return app.extensions["linli.pipeline"]


@pytest.fixture
def fast_db(app):
    """A session on the test's connection: sees every write of the test, uncommitted."""
    session = app.extensions["linli.test_sessions"]()
    yield session
    session.close()


@pytest.fixture
def chat(app, fast_db, clock) -> Chat:
    return Chat(app, fast_db, clock)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def rt(app, config, clock):
    """A scheduler runtime on the test's connection (no WeChat API: jobs that only write)."""
    from scheduler.jobs import Runtime

    return Runtime(config, app.extensions["linli.test_sessions"], None, clock)


@pytest.fixture
def uow(app, fast_db, config, clock):
    """A unit of work on the test's connection, for calling use cases directly."""
    from domain.unit import Unit

    return Unit(fast_db, config, clock)


# --- the end-to-end ring ---------------------------------------------------------------------

@pytest.fixture(scope="session")
def bot_server(config, ports):
    server = LiveServer(create_app(config), ports["bot"])
    yield server
    server.stop()


@pytest.fixture(scope="session")
def sim_server(config, ports, bot_server):
    server = LiveServer(create_sim_app(config), ports["sim"])
    yield server
    server.stop()


@pytest.fixture
def sim(sim_server, bot_server, engine, config) -> SimulatorClient:
    """A clean world: empty seeded database, fresh simulator state, default settings."""
    World.dirty = True
    reset_database(engine, config)
    client = SimulatorClient(sim_server.url)
    client.reset()
    # Delivery reports (async callbacks to the webhook) only where a test asks for them.
    client.settings(webhook_url=f"{bot_server.url}/wechat", reply_timeout=5, mode="safe",
                    report_events=False)
    return client


class AssertSession(Session):
    """`rollback()` always forgets what was loaded, so the next read sees the bot's commits."""

    def rollback(self) -> None:
        super().rollback()
        self.expire_all()


@pytest.fixture
def db(engine):
    """A session for assertions; call `db.rollback()` (or use `resident`) to see new commits."""
    session = AssertSession(bind=engine, expire_on_commit=False)
    yield session
    session.close()


@pytest.fixture
def resident(db):
    """Look a resident up fresh by openid (a new transaction sees the bot's commits)."""
    def find(openid: str) -> Resident | None:
        db.rollback()
        return db.scalars(select(Resident).where(Resident.openid == openid)).first()
    return find


@pytest.fixture
def registered(sim):
    """A persona who followed through 金宁's QR code and finished registration."""
    def make(name: str = "alice", mobile: str = "跳过", call: str = "跳过"):
        persona = sim.persona(name)
        persona.follow(scene="jinning")
        persona.say("1")
        persona.say(call)
        persona.say("3栋2单元")
        persona.say(mobile)
        return persona
    return make


@contextmanager
def hold_write_lock(engine, db_url: str, openid: str, seconds: float):
    """Keep the bot from finishing messages of `openid` for `seconds` (released by a timer)."""
    if engine.dialect.name == "sqlite":
        conn = sqlite3.connect(db_url.removeprefix("sqlite:///"), isolation_level=None,
                               check_same_thread=False)
        conn.execute("BEGIN IMMEDIATE")

        def release():
            conn.execute("ROLLBACK")
            conn.close()
    else:
        conn = engine.connect()
        trans = conn.begin()
        conn.execute(text("SELECT id FROM residents WHERE openid = :o FOR UPDATE"), {"o": openid})

        def release():
            trans.rollback()
            conn.close()
    timer = threading.Timer(seconds, release)
    timer.start()
    try:
        yield
    finally:
        timer.join()


@pytest.fixture
def write_lock(engine, db_url):
    """`with write_lock(openid, seconds):` — block the bot on that resident for a while."""
    return lambda openid, seconds=1.0: hold_write_lock(engine, db_url, openid, seconds)


@pytest.fixture(scope="session")
def gunicorn_bot(db_url, ports, sim_server):
    """The bot under gunicorn with 3 worker processes, for multi-worker tests."""
    port = free_port()
    env = {**os.environ, "LINLI_DATABASE_URL": db_url,
           "LINLI_WECHAT_API_BASE_URL": f"http://127.0.0.1:{ports['sim']}",
           "LINLI_WECHAT_ENCODING_AES_KEY": AES_KEY, "LINLI_LOG_LEVEL": "WARNING"}
    proc = subprocess.Popen([sys.executable, "-m", "linli", "serve", "--port", str(port),
                             "--workers", "3"], cwd=PROJECT_ROOT, env=env)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            requests.get(f"{url}/healthz", timeout=1)
            break
        except requests.RequestException:
            time.sleep(0.2)
    yield url
    proc.terminate()
    proc.wait(timeout=15)


@pytest.fixture
def via_gunicorn(sim, gunicorn_bot):
    """Point the simulator at the multi-worker bot for this test."""
    sim.settings(webhook_url=f"{gunicorn_bot}/wechat")
    return sim


def pytest_report_header(config):
    url = os.environ.get("LINLI_TEST_DATABASE_URL")
    return f"linli database: {'PostgreSQL ' + url if url else 'SQLite (temporary file)'}"

