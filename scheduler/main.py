"""The scheduler process (`python -m bot scheduler`).

APScheduler's BlockingScheduler with its job store on the application
database. Before starting it waits for the 'scheduler' lease, renews it while
running, and stops at once if it ever loses it, so two schedulers never act
together. Web workers never start a scheduler.
"""
from __future__ import annotations

import logging
import os
import signal
import socket
import time

from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.blocking import BlockingScheduler

from core.config import Config
from core.db import make_engine, make_session_factory
from core.logs import configure_logging
from core.wechat_api import WeChatAPI
from scheduler import jobs
from scheduler.lease import release, try_acquire

log = logging.getLogger(__name__)
LEASE = "scheduler"


class _SkippedOverlap(logging.Filter):
    """Hide APScheduler's note that a tick fell inside a still-running dispatch run."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "maximum number of running instances reached" not in record.getMessage()


def build_scheduler(config: Config, engine) -> BlockingScheduler:
    scheduler = BlockingScheduler(
        jobstores={"default": SQLAlchemyJobStore(engine=engine, tablename="apscheduler_jobs"),
                   "heartbeat": MemoryJobStore()},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 60},
        timezone=config.tz)
    for job_id, (func, trigger) in jobs.JOBS.items():
        scheduler.add_job(func, id=job_id, replace_existing=True, **trigger)
    return scheduler


def run(config: Config) -> None:
    configure_logging()
    logging.getLogger("apscheduler.scheduler").addFilter(_SkippedOverlap())
    engine = make_engine(config.database.url)
    sessions = make_session_factory(engine)
    jobs.runtime = jobs.Runtime(config, sessions, WeChatAPI(config, sessions))
    holder = f"{socket.gethostname()}:{os.getpid()}"
    ttl = config.scheduler.lease_seconds
    while not try_acquire(sessions, LEASE, holder, ttl):
        log.info("another scheduler holds the lease; standing by")
        time.sleep(ttl / 3)
    log.info("scheduler %s holds the lease", holder)
    scheduler = build_scheduler(config, engine)

    def renew() -> None:
        if not try_acquire(sessions, LEASE, holder, ttl):
            log.error("lease lost to another scheduler; stopping")
            scheduler.shutdown(wait=False)

    # The lease heartbeat runs in memory only: it belongs to this process, not the store.
    scheduler.add_job(renew, "interval", seconds=ttl / 3, id="lease-heartbeat",
                      jobstore="heartbeat", replace_existing=True)
    signal.signal(signal.SIGTERM, lambda *_: scheduler.shutdown(wait=False))
    try:
        scheduler.start()
    finally:
        release(sessions, LEASE, holder)
        engine.dispose()
