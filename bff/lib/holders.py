"""Who an application belongs to, whoever started it: one key per 证件 (type + number)."""

from __future__ import annotations

import hashlib

from auth.sessions import Principal
from bff.lib.errors import not_found


def holder_key(id_type: str, id_number: str) -> str:
    """A lookup key for a person's applications (the ID number is compared upper-case: ``x`` is ``X``)."""
    return hashlib.sha256(f"{id_type}:{id_number.strip().upper()}".encode()).hexdigest()


def holder_of(principal: Principal) -> str:
    """The signed-in person's key; anyone else (a unit, a session without 证件) finds nothing."""
    if principal.role != "person" or not principal.id_type or not principal.id_number:
        raise not_found()
    return holder_key(principal.id_type, principal.id_number)
