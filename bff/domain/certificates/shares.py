"""The 政审回复函's share link: the person passes the link and its access code to the reviewing unit, which
downloads the letter; the holder themself never can (no one reads their own archive's content, SPEC §8)."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from auth.sessions import SessionData
from bff.db.models import Application, Certificate, ReviewShare
from bff.domain import audit
from bff.lib.clock import utcnow
from bff.lib.holders import holder_of

LINK_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")  # secrets.token_urlsafe(16) makes 22 of these


@dataclass(frozen=True)
class OpenShare:
    share: ReviewShare
    certificate: Certificate
    application: Application

    @property
    def unit_name(self) -> str | None:
        review = self.application.details.get("review") or {}
        name = (review.get("unit") or {}).get("name")
        return str(name) if name else None


async def find(db: AsyncSession, share_id: str) -> OpenShare | None:
    """The share behind a link, while it is valid: not expired, its letter neither revoked nor superseded."""
    if not LINK_ID.fullmatch(share_id):  # not a link this portal made (a NUL byte would even upset PostgreSQL)
        return None
    share = await db.get(ReviewShare, share_id)
    if share is None or share.expires_at < utcnow():
        return None
    certificate = await db.get(Certificate, share.certificate_id)
    if certificate is None or certificate.revoked_at is not None or certificate.superseded_at is not None:
        return None
    application = await db.get(Application, certificate.application_id)
    return OpenShare(share, certificate, application) if application is not None else None


def is_holder(found: OpenShare, session: SessionData | None) -> bool:
    """Whether the asker is the person the letter is about, signed in."""
    return (session is not None and session.principal.role == "person"
            and found.application.holder_key == holder_of(session.principal))


def code_matches(found: OpenShare, typed: str) -> bool:
    return secrets.compare_digest("".join(typed.split()).upper(), found.share.access_code)


async def record_opened(db: AsyncSession, found: OpenShare) -> None:
    found.share.opened_at = found.share.opened_at or utcnow()
    found.share.open_count += 1
    await audit.record_in(db, audit.Entry("share.open", "ok", "certificate", found.certificate.id,
                                          {"application": str(found.application.id)}))
    await db.commit()
