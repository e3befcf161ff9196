"""Time bank housekeeping, batch by batch, each batch its own transaction."""
from __future__ import annotations

from domain.timebank import family, housekeeping


def monthly_statements(rt) -> int:
    """Last month's statement to every account holder with a balance or activity (on the 1st)."""
    return _batches(rt, housekeeping.statements)


def remind_pending(rt) -> int:
    """Remind verifiers of service records waiting too long."""
    with rt.unit() as uow:
        return housekeeping.remind_pending(uow)


def return_transfers(rt) -> int:
    """Hours offered to a family member and not accepted in time go back to the giver."""
    total = 0
    while True:
        with rt.unit() as uow:
            done = family.expire_due(uow)
        total += done
        if done < family.BATCH:
            return total


def expire_hours(rt) -> int:
    """Monthly: expire old unspent hours when `timebank.expiry_months` is set."""
    if rt.config.timebank.expiry_months <= 0:
        return 0
    return _batches(rt, housekeeping.expire_batch)


def _batches(rt, work) -> int:
    total, after = 0, 0
    while after is not None:
        with rt.unit() as uow:
            done, after = work(uow, after)
        total += done
    return total
