"""What the public verification page needs of a certificate, kept in memory for a few seconds.

``GET /v/<token>`` is the one public page anyone can load in bulk (a QR code on paper is scanned again and again,
and a script can replay one). A database session and a ``SELECT`` cost several times the rest of the request, so
each instance keeps a small snapshot per certificate id (:class:`CertificateFacts`: the masked holder fields, the
agency, the dates and whether it is revoked or superseded; no salt, no hashes, nothing unmasked), for at most
``TTL_SECONDS``.

**How soon a change shows.** Whenever a session that changed a ``Certificate`` row through the ORM commits (a
revocation by the poller, a reissue marking the old one superseded), the ids are forgotten at once in this
instance and published on the ``certificates`` channel (Redis pub/sub with Redis, so every instance forgets them
within milliseconds; the in-process backend without). A read that was already under way when the change committed
does not put its older answer back (the cache's generation moved on). What escapes that: a change written to the
database by other means (SQL by hand), or an invalidation lost while Redis is unreachable; those show within
``TTL_SECONDS`` on every instance. The page's expiry is computed from the snapshot's date at each request.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import logging
import time
import weakref
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from litestar.channels import ChannelsPlugin
from sqlalchemy import event
from sqlalchemy.orm import Session, UOWTransaction

from bff.db.models import Certificate

log = logging.getLogger("bff.verification")

CHANNEL = "certificates"
TTL_SECONDS = 10.0
MAX_ENTRIES = 50_000
_CHANGED = "certificates_changed"


@dataclass(frozen=True, slots=True)
class CertificateFacts:
    """A certificate as the public page shows it (masked holder data only)."""

    id: str
    kind: str
    agency_name: str
    certificate_no: str
    issued_on: dt.date
    expires_on: dt.date | None
    holder_name_masked: str
    holder_id_masked: str
    revoked: bool
    revoked_reason: str | None
    superseded: bool

    @classmethod
    def of(cls, certificate: Certificate) -> CertificateFacts:
        return cls(
            id=certificate.id, kind=certificate.kind, agency_name=certificate.agency_name,
            certificate_no=certificate.certificate_no, issued_on=dt.date.fromisoformat(certificate.issued_on),
            expires_on=dt.date.fromisoformat(certificate.expires_on) if certificate.expires_on else None,
            holder_name_masked=certificate.holder_name_masked, holder_id_masked=certificate.holder_id_masked,
            revoked=certificate.revoked_at is not None, revoked_reason=certificate.revoked_reason,
            superseded=certificate.superseded_at is not None,
        )

    def state(self, today: dt.date) -> str:
        """valid | expired | revoked | superseded (as ``certificates.services.state_of``)."""
        if self.revoked:
            return "revoked"
        if self.superseded:
            return "superseded"
        if self.expires_on is not None and self.expires_on < today:
            return "expired"
        return "valid"


class VerdictCache:
    """Certificate id → :class:`CertificateFacts`, each entry for ``ttl`` seconds (see the module docstring)."""

    def __init__(self, ttl: float = TTL_SECONDS, max_entries: int = MAX_ENTRIES) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self.generation = 0  # moves on at every invalidation: a read begun before it must not be stored
        self._entries: dict[str, tuple[float, CertificateFacts]] = {}
        _caches.add(self)

    def get(self, certificate_id: str) -> CertificateFacts | None:
        entry = self._entries.get(certificate_id)
        if entry is None:
            return None
        if entry[0] <= time.monotonic():
            self._entries.pop(certificate_id, None)
            return None
        return entry[1]

    def put(self, facts: CertificateFacts, generation: int) -> None:
        """Keep ``facts``, read from the database when the cache was at ``generation`` (else it may be stale)."""
        if generation != self.generation:
            return
        if len(self._entries) >= self.max_entries:
            now = time.monotonic()
            self._entries = {k: v for k, v in self._entries.items() if v[0] > now}
            if len(self._entries) >= self.max_entries:  # all fresh: forget the older half
                self._entries = dict(list(self._entries.items())[self.max_entries // 2:])
        self._entries[facts.id] = (time.monotonic() + self.ttl, facts)

    def forget(self, certificate_ids: Iterable[str]) -> None:
        self.generation += 1
        for certificate_id in certificate_ids:
            self._entries.pop(certificate_id, None)

    def clear(self) -> None:
        self.generation += 1
        self._entries = {}

    def __len__(self) -> int:
        return len(self._entries)


# Every cache and channels plugin of this process; a commit that changed certificates reaches them all (several
# apps in one process only happen in tests, where forgetting too much is harmless).
_caches: weakref.WeakSet[VerdictCache] = weakref.WeakSet()
_channels: weakref.WeakSet[ChannelsPlugin] = weakref.WeakSet()


def _collect(session: Session, _flush: UOWTransaction) -> None:
    changed = [obj.id for obj in (*session.dirty, *session.deleted) if isinstance(obj, Certificate)]
    if changed:
        session.info.setdefault(_CHANGED, set()).update(changed)


def _committed(session: Session) -> None:
    changed = session.info.pop(_CHANGED, None)
    if not changed:
        return
    for cache in list(_caches):
        cache.forget(changed)
    for channels in list(_channels):
        try:
            channels.publish(sorted(changed), [CHANNEL])
        except Exception:  # not started, or shut down: the other instances fall back on the TTL
            log.warning("could not publish a certificate change; other instances see it within %s s", TTL_SECONDS)


def _rolled_back(session: Session, *_: Any) -> None:
    session.info.pop(_CHANGED, None)


event.listen(Session, "after_flush", _collect)
event.listen(Session, "after_commit", _committed)
event.listen(Session, "after_soft_rollback", _rolled_back)


async def listen(channels: ChannelsPlugin, cache: VerdictCache) -> None:
    """For as long as the app runs (a lifespan task): publish the ids of certificates this process's commits change
    on ``channels``, and forget those any instance changed."""
    _channels.add(channels)
    try:
        while True:
            try:
                async with channels.start_subscription([CHANNEL]) as subscriber:
                    async for message in subscriber.iter_events():
                        with contextlib.suppress(ValueError, TypeError):
                            cache.forget(str(i) for i in _ids(message))
            except Exception:
                log.warning("certificate change subscription failed; retrying (entries expire after %s s)",
                            TTL_SECONDS)
                cache.clear()  # changes may have been missed meanwhile
                await asyncio.sleep(1)
    finally:
        _channels.discard(channels)


def _ids(message: bytes) -> list[Any]:
    value = json.loads(message)
    if not isinstance(value, list):
        raise ValueError("not a list of ids")
    return value
