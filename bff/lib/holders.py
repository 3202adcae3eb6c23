"""Who an application belongs to, whoever started it: one key per 证件 (type + number)."""

from __future__ import annotations

import hashlib


def holder_key(id_type: str, id_number: str) -> str:
    """A lookup key for a person's applications (the ID number is compared upper-case: ``x`` is ``X``)."""
    return hashlib.sha256(f"{id_type}:{id_number.strip().upper()}".encode()).hexdigest()
