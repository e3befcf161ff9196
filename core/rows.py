"""ORM objects from Core rows: the webhook reads the person with one statement through the
driver (`core.db.execute_fast`) and builds the objects itself. The ORM's loading (row
processors built per query, the loading context) costs more than the query there."""
from __future__ import annotations

from typing import Sequence, TypeVar

from sqlalchemy import inspect
from sqlalchemy.orm import Session, make_transient_to_detached

T = TypeVar("T")
_ATTRIBUTES: dict[type, list[str]] = {}


def persistent(session: Session, model: type[T], values: Sequence) -> T:
    """The `model` object whose columns (in table order) hold `values`, in `session` as if
    the ORM had loaded it: clean, its relationships loading lazily, its changes written at
    the next flush."""
    names = _ATTRIBUTES.get(model)
    if names is None:
        mapper = inspect(model)
        names = _ATTRIBUTES[model] = [mapper.get_property_by_column(column).key
                                      for column in mapper.local_table.columns]
    obj = model.__mapper__.class_manager.new_instance()
    obj.__dict__.update(zip(names, values))
    make_transient_to_detached(obj)
    session.add(obj)
    return obj


def width(model: type) -> int:
    """How many columns `model` brings to a row (see `persistent`)."""
    return len(inspect(model).local_table.columns)
