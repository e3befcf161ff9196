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
import threading
import time
from datetime import datetime

from apscheduler.events import EVENT_SCHEDULER_STARTED
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
    started = datetime.now(config.tz)
    for job_id, (func, trigger) in jobs.JOBS.items():
        # Interval jobs run at once on start: a scheduler back from a crash (or taking over
        # a lease) picks up due work now, not one interval later.
        first = {"next_run_time": started} if trigger["trigger"] == "interval" else {}
        scheduler.add_job(func, id=job_id, replace_existing=True, **trigger, **first)
    return scheduler


def run(config: Config) -> None:
    configure_logging()
    logging.getLogger("apscheduler.scheduler").addFilter(_SkippedOverlap())
    # APScheduler notes every run of every job; only its warnings are worth reading.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    engine = make_engine(config.database.url)
    sessions = make_session_factory(engine)
    jobs.runtime = jobs.Runtime(config, sessions, WeChatAPI(config, sessions))
    stopping = jobs.runtime.stopping
    holder = f"{socket.gethostname()}:{os.getpid()}"
    ttl = config.scheduler.lease_seconds
    scheduler: BlockingScheduler | None = None
    asked = []  # appended to by the signal handler: nothing else is safe to do there

    def stop() -> None:
        """Finish the batch in hand, then leave (releasing the lease)."""
        stopping.set()
        if scheduler is not None and scheduler.running:
            scheduler.shutdown(wait=False)

    def watch() -> None:
        # A signal handler runs on the main thread wherever it happens to be, possibly
        # inside the executor's own locks; the shutdown is done from here instead.
        while not asked and not stopping.is_set():
            time.sleep(0.1)
        stop()

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: asked.append(True))
    threading.Thread(target=watch, name="stop-watch", daemon=True).start()
    try:
        while not try_acquire(sessions, LEASE, holder, ttl):
            log.info("another scheduler holds the lease; standing by")
            if stopping.wait(ttl / 3):
                return
        log.info("scheduler %s holds the lease", holder)
        scheduler = build_scheduler(config, engine)

        def renew() -> None:
            if not try_acquire(sessions, LEASE, holder, ttl):
                log.error("lease lost to another scheduler; stopping")
                stop()

        def started(_event) -> None:
            # A signal that came while the scheduler was starting found it not yet running.
            if stopping.is_set():
                scheduler.shutdown(wait=False)

        scheduler.add_listener(started, EVENT_SCHEDULER_STARTED)
        # The lease heartbeat runs in memory only: it belongs to this process, not the store.
        scheduler.add_job(renew, "interval", seconds=ttl / 3, id="lease-heartbeat",
                          jobstore="heartbeat", replace_existing=True)
        if not stopping.is_set():
            scheduler.start()
    finally:
        release(sessions, LEASE, holder)
        engine.dispose()
        log.info("scheduler %s stopped", holder)
