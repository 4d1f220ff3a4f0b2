"""Which classes customer code created (their instances are the customer's own to modify)."""

from __future__ import annotations

import weakref

_customer_classes: weakref.WeakSet[type] = weakref.WeakSet()

CUSTOMER_CLASS_IDS: set[int] = set()
"""``id()`` of every live customer class (a plain set: the value checks' fast path)."""


def register_class(cls: type) -> type:
    """Mark ``cls`` as defined by customer code and return it."""
    _customer_classes.add(cls)
    CUSTOMER_CLASS_IDS.add(id(cls))
    weakref.finalize(cls, CUSTOMER_CLASS_IDS.discard, id(cls))
    return cls


def is_customer_class(cls: object) -> bool:
    """Whether ``cls`` is a class that customer code defined."""
    try:
        return cls in _customer_classes
    except TypeError:  # unhashable objects are never classes we registered
        return False
