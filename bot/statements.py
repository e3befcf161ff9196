"""The webhook pipeline's own statements, built once (Core, sent through `core.db.execute_fast`).

The sender's row is locked first (stamping their last message or event and bumping
`message_seq` in the same UPDATE); the resident and their conversation are then read
together, after the lock is granted (in PostgreSQL a row joined into the locking statement
would come from the snapshot taken before the wait).
"""
from __future__ import annotations

from sqlalchemy import Executable, bindparam, delete, exists, literal_column, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import aliased

from core.rows import width
from models import Community, Conversation, ProcessedMessage, Resident, ResidentRole

_residents, _processed = Resident.__table__, ProcessedMessage.__table__
_by_sender = update(_residents).where(_residents.c.openid == bindparam("sender"))
_bumped = {"message_seq": _residents.c.message_seq + 1}
_STAMP = {None: _by_sender.values(_bumped)}
_STAMP.update({column: _by_sender.values({**_bumped, column: bindparam("stamp")})
               for column in ("last_message_at", "last_event_at")})
LOCK = {column: stamp.returning(_residents.c.id) for column, stamp in _STAMP.items()}
# The snapshot's reply commits only while the person's sequence is what it read.
BUMP_IF_UNCHANGED = (update(_residents)
                     .where(_residents.c.id == bindparam("rid"), _residents.c.message_seq == bindparam("seen"))
                     .values({**_bumped, "last_message_at": bindparam("stamp")}).returning(_residents.c.id))
_conversations = Conversation.__table__
_conv, _roles = _conversations.c, ResidentRole.__table__


def _with_person(person, person_id, community_id):
    """The person with what most replies need, in the same statement: their community (put
    into the session, where `session.get` finds it), their conversation and whether they
    hold any role (most hold none, and then their roles are not queried). The row is built
    into objects by the pipeline, without the ORM's loading."""
    return (select(person, Community, _conv.flow, _conv.step, _conv.data, _conv.updated_at,
                   exists().where(_roles.c.resident_id == person_id).label("has_roles"))
            .outerjoin(Conversation, _conv.resident_id == person_id)
            .outerjoin(Community, Community.id == community_id))


LOAD = _with_person(Resident, Resident.id, Resident.community_id)
LOAD_BY_ID, LOAD_BY_SENDER = (LOAD.where(Resident.id == bindparam("rid")),
                              LOAD.where(Resident.openid == bindparam("sender")))
# Where things sit in such a row: the person's columns, their community's, then the rest.
ID, SEQ = _residents.c.keys().index("id"), _residents.c.keys().index("message_seq")
PERSON, COMMUNITY = width(Resident), width(Community)
STORED_REPLY = select(_processed.c.reply).where(_processed.c.key == bindparam("k"))


def _lock_and_load(stamp):
    """PostgreSQL: the row lock and the load in one statement (one round trip fewer). The
    conversation joined there comes from the snapshot the statement began with; `moved`
    is above 1 when another transaction bumped the person's sequence after that snapshot,
    while this one waited for the lock: then the conversation is read again."""
    locked = stamp.returning(*_residents.c).cte("locked")
    person, before = aliased(Resident, locked), _residents.alias("before")
    return (_with_person(person, locked.c.id, locked.c.community_id)
            .add_columns((locked.c.message_seq - before.c.message_seq).label("moved"))
            .join(before, before.c.id == locked.c.id))


LOCK_AND_LOAD = {column: _lock_and_load(stamp) for column, stamp in _STAMP.items()}
# PostgreSQL: the claim of a message that changed nothing but the bookkeeping (a menu word,
# a question answered from the records) lets its commit skip waiting for the WAL flush;
# see Durability in the README for what a crash can lose.
_NO_FLUSH = literal_column("set_config('synchronous_commit', 'off', true)")
_CLAIM_COLUMNS = ("key", "openid", "created_at", "reply")
_CLAIM = (pg_insert(_processed).values({c: bindparam(c) for c in _CLAIM_COLUMNS})
          .on_conflict_do_nothing(index_elements=["key"]))
CLAIM = {False: _CLAIM.returning(_processed.c.key), True: _CLAIM.returning(_processed.c.key, _NO_FLUSH)}
_WITH_STEP: dict[tuple[bool, int], tuple] = {}


def claim_with_step(quiet: bool, step) -> Executable:
    """PostgreSQL: the claim with the conversation step written in the same statement (one
    round trip); a duplicate's rollback undoes both."""
    key = (quiet, id(step))
    if key not in _WITH_STEP:  # keeps `step` alive, so its id is not reused
        _WITH_STEP[key] = (CLAIM[quiet].add_cte(step.cte("step")), step)
    return _WITH_STEP[key][0]


def _typed(table, names):
    return [bindparam(name, type_=table.c[name].type) for name in names]


def _snapshot_commit(step: str | None) -> Executable:
    """PostgreSQL, the snapshot's commit in one statement outside any transaction block
    (no BEGIN or COMMIT round trip): bump the sequence only if it still holds the value the
    snapshot read and the message has no claim yet, then the claim only if bumped, then the
    conversation step (`step`: "save", "delete", or None: the conversation did not move,
    and the commit does not wait for the WAL flush) only if claimed. Returns (bumped,
    claimed): a stale snapshot, or a retry of a message already answered, writes nothing
    and goes the locked way, which answers a retry with the stored reply. A duplicate
    committed after this statement's start has bumped the sequence too, so the bump
    finds it moved; a claim that conflicts all the same (one made before the person's
    row was) leaves only the bump."""
    bumped = BUMP_IF_UNCHANGED.where(~exists().where(_processed.c.key == bindparam("key"))).cte("bumped")
    claim = (pg_insert(_processed)
             .from_select(list(_CLAIM_COLUMNS),
                          select(*_typed(_processed, _CLAIM_COLUMNS)).where(exists(bumped.select())))
             .on_conflict_do_nothing(index_elements=["key"]).returning(_processed.c.key).cte("claimed"))
    claimed = exists(claim.select())
    result = select(exists(bumped.select()).label("bumped"), claimed.label("claimed"))
    if step is None:
        result = result.add_columns(_NO_FLUSH)
    elif step == "save":
        names = ("resident_id", "flow", "step", "data", "updated_at")
        insert = pg_insert(_conversations).from_select(
            list(names), select(*_typed(_conversations, names)).where(claimed))
        write = insert.on_conflict_do_update(index_elements=["resident_id"],
                                             set_={n: insert.excluded[n] for n in names[1:]})
        result = result.add_cte(write.cte("step"))
    elif step == "delete":
        result = result.add_cte(delete(_conversations).where(_conv.resident_id == bindparam("rid"), claimed)
                                .cte("step"))
    return result


SNAPSHOT_COMMIT = {step: _snapshot_commit(step) for step in (None, "save", "delete")}
