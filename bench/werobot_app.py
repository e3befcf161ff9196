"""WeRoBot 1.13 echo with its default SQLite session, for bench/webhook.py (benchmark only).

Each message reads and writes the sender's session row, as a WeRoBot bot keeping state would.
"""
from __future__ import annotations

import os
import tempfile

from werobot import WeRoBot
from werobot.session.sqlitestorage import SQLiteStorage

from bench.common import TOKEN

robot = WeRoBot(token=TOKEN, session_storage=SQLiteStorage(
    os.environ.get("BENCH_WEROBOT_DB") or os.path.join(tempfile.gettempdir(), "werobot_session.sqlite3")))


@robot.text
def echo(message, session):
    session["last"] = message.content
    return message.content


app = robot.wsgi
