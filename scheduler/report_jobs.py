"""Report housekeeping: SLA reminders and escalation, daily digests, auto-close, photo
fetching and the weekly focal issues (焦点议题). The rules live in
`domain.reports.housekeeping`; here is only when and in which transaction."""
from __future__ import annotations

import logging

from wechatpy.exceptions import WeChatClientException

from core.media import SAFE_IMAGE_TYPES
from domain.reports import housekeeping

log = logging.getLogger("linli.reports")
PHOTO_BATCH = 20


def escalate_overdue(rt) -> int:
    with rt.unit() as uow:
        return housekeeping.sla_sweep(uow)


def daily_digest(rt) -> int:
    with rt.unit() as uow:
        return housekeeping.daily_digest(uow)


def auto_close(rt) -> int:
    with rt.unit() as uow:
        return housekeeping.close_unconfirmed(uow)


def weekly_focal_issues(rt) -> int:
    with rt.unit() as uow:
        return housekeeping.weekly_focal_issues(uow)


def fetch_photos(rt) -> int:
    """Download WeChat media to storage, a few at a time (never in the webhook)."""
    media_dir = rt.config.storage.media_path
    with rt.unit() as uow:
        todo = housekeeping.photos_to_fetch(uow, PHOTO_BATCH)
    for photo_id, report_id, media_id in todo:
        path, ctype, error = None, None, None
        try:
            resp = rt.api.call(lambda c: c.get("media/get", params={"media_id": media_id}))
            ctype = (getattr(resp, "headers", {}).get("Content-Type") or "").split(";")[0]
            if ctype not in SAFE_IMAGE_TYPES:
                error = f"not an image: {ctype or 'unknown'}"
            else:
                target = media_dir / str(report_id)
                target.mkdir(parents=True, exist_ok=True)
                path = target / f"{photo_id}{SAFE_IMAGE_TYPES[ctype]}"
                path.write_bytes(resp.content)
        except WeChatClientException as exc:
            error = f"{exc.errcode}: {exc.errmsg}"
        except Exception as exc:  # noqa: BLE001 - retried on the next run
            log.warning("photo %d not fetched yet: %s", photo_id, type(exc).__name__)
            continue
        with rt.unit() as uow:
            housekeeping.photo_fetched(uow, photo_id, str(path) if path else None, ctype, error)
    return len(todo)
