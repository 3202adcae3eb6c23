"""Issuing e-certificates: render the kind's template, hash its content, sign a QR token over it, draw the QR,
sign the PDF (PAdES), store. Reissue supersedes; the 政审回复函 gets a share link instead of a download.

Rendering and signing are CPU work and run in a worker thread, off the event loop.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import secrets
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import anyio.to_thread
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from bff.db.models import Application, Certificate, ReviewShare
from bff.domain.certificates.render import (
    CertificateContent,
    add_qr,
    content_digest,
    current_version,
    render_certificate,
    valid_days,
)
from bff.domain.certificates.signing import PdfSigner
from bff.domain.verification.tokens import TokenClaims, TokenKeys, holder_hash, new_certificate_id
from bff.lib.clock import parse_yyyymmdd, today_in_china, utcnow
from bff.lib.errors import ApiError, not_found
from bff.lib.files import FileStore
from bff.lib.masking import mask_id_number, mask_name
from bff.lib.shortcodes import short_code
from bff.provincial.schemas import CertificateResult, Holder
from bff.settings import SigningSettings

log = logging.getLogger("bff.certificates")
SHARE_LIFETIME = dt.timedelta(days=30)


@dataclass
class Issuer:
    """What issuing needs: the PAdES signer (loaded on first use), the QR token keys, the file store and the
    public address."""

    signing: SigningSettings
    token_keys: TokenKeys
    files: FileStore
    public_base_url: str

    @cached_property
    def signer(self) -> PdfSigner:
        return PdfSigner.from_settings(self.signing)


def verify_base(public_base_url: str) -> str:
    """The verification page's address in upper case: a QR in alphanumeric mode, printed in words too."""
    return public_base_url.rstrip("/").upper() + "/V"


def verify_url(public_base_url: str, token: str) -> str:
    return f"{verify_base(public_base_url)}/{token}"


def _date(value: Any) -> dt.date | None:
    return parse_yyyymmdd(value) if value else None


def _periods(facts: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"start": _date(p.get("start")), "end": _date(p.get("end")), "unit": p.get("unit", ""),
             "position": p.get("position", "")} for p in facts.get("periods", [])]


def content_facts(kind: str, result: CertificateResult) -> dict[str, Any]:
    """What the kind's template states, from the provincial result (docs/provincial-api.md, 证明结果)."""
    facts = result.facts
    base: dict[str, Any] = {"archive_no": result.archive_no}
    if kind == "archive_certificate":
        return {**base, "nature_name": result.nature_name, "stored_since": parse_yyyymmdd(result.stored_since)}
    if kind == "experience_certificate":
        return {**base, "periods": _periods(facts)}
    if kind == "kinship_certificate":
        return {**base, "relation_name": pair_name(str(facts.get("relation", "")), result.holder),
                "relative_name": facts.get("relative_name", "")}
    if kind == "no_criminal_record":
        return base
    return {**base, "review_unit_name": (facts.get("review_unit") or {}).get("name", ""),
            "purpose_name": facts.get("purpose_name", ""), "political_status": facts.get("political_status", ""),
            "education": facts.get("education", ""), "periods": _periods(facts),
            "rewards_and_punishments": facts.get("rewards_and_punishments", "无")}


# GB/T 4761 relation of the relative to the holder -> how the certificate names the pair (holder male, female)
PAIR_NAMES = {"10": ("夫妻", "夫妻"), "20": ("父子", "母子"), "30": ("父女", "母女"), "51": ("父子", "父女"),
              "52": ("母子", "母女"), "71": ("兄弟", "兄妹"), "73": ("兄弟", "姐弟"), "75": ("姐弟", "姐妹"),
              "77": ("兄妹", "姐妹")}


def pair_name(relation: str, holder: Holder) -> str:
    """「父子」/「母女」…: the holder's sex from the 身份证 number's 17th digit (odd: male)."""
    pair = PAIR_NAMES.get(relation)
    if pair is None:
        return "亲属"
    number = holder.id_number
    male = holder.id_type == "01" and len(number) == 18 and number[16].isdigit() and int(number[16]) % 2 == 1
    return pair[0] if male else pair[1]


def current_of(certificates: list[Certificate]) -> Certificate | None:
    """The certificate in force for an application: the newest one not superseded."""
    live = [c for c in certificates if c.superseded_at is None]
    return max(live, key=lambda c: c.created_at) if live else None


async def certificates_of(db: AsyncSession, application_id: Any) -> list[Certificate]:
    return list(await db.scalars(select(Certificate).where(Certificate.application_id == application_id)
                                 .order_by(Certificate.created_at)))


async def next_status_index(db: AsyncSession) -> int:
    """A status-list bit nobody else holds: PostgreSQL's sequence (migration 0007) even when certificates are
    issued at the same moment; SQLite (one writer at a time) the next after the highest."""
    if db.get_bind().dialect.name == "postgresql":
        return int(await db.scalar(text("SELECT nextval('certificate_status_index_seq')")) or 0)
    return (await db.scalar(select(func.max(Certificate.status_index))) or 0) + 1


async def issue(db: AsyncSession, issuer: Issuer, application: Application, result: CertificateResult,
                *, reissue: bool = False) -> Certificate:
    """Issues the application's certificate once; with ``reissue`` a new one that supersedes the one in force
    (new id, token and date; the old one then verifies as 「已被新证明替代」)."""
    earlier = await certificates_of(db, application.id)
    current = current_of(earlier)
    if current is not None and not reissue:
        return current
    kind = application.kind
    version = current_version(kind)
    now = utcnow()
    issued_on = today_in_china() if reissue else parse_yyyymmdd(result.issued_on)
    expires_on = issued_on + dt.timedelta(days=valid_days(kind, version))
    certificate_no = result.certificate_no if not earlier else f"{result.certificate_no}-{len(earlier)}"
    cid = new_certificate_id()
    holder = result.holder
    content = CertificateContent(
        certificate_no=certificate_no, kind=kind, holder_name=holder.name, holder_id_type=holder.id_type,
        holder_id_number=holder.id_number, agency_name=result.agency.name, agency_code=result.agency.code,
        issued_on=issued_on, verification_code=cid, verify_address=verify_base(issuer.public_base_url),
        facts=content_facts(kind, result),
    )
    index = await next_status_index(db)
    salt = secrets.token_bytes(16)
    id_hash = holder_hash(salt, "id", holder.id_number)

    def make() -> bytes:
        unsigned = render_certificate(content, version)
        token = issuer.token_keys.issue(TokenClaims(
            certificate_id=cid, kind=kind, status_index=index, issued_at=now.replace(microsecond=0),
            expires_on=expires_on, content_hash=content_digest(unsigned),
            name_hash=holder_hash(salt, "name", holder.name), id_hash=id_hash,
        ))
        return issuer.signer.sign(add_qr(unsigned, verify_url(issuer.public_base_url, token)))

    pdf = await anyio.to_thread.run_sync(make)
    key = f"certificates/{cid.lower()}.pdf"
    await issuer.files.put(key, pdf)
    certificate = Certificate(
        id=cid, application_id=application.id, owner_sub=application.owner_sub, kind=kind,
        certificate_no=certificate_no, agency_name=result.agency.name, holder_name_masked=mask_name(holder.name),
        holder_id_masked=mask_id_number(holder.id_number), issued_on=issued_on.isoformat(),
        template_version=version, token_kid=issuer.token_keys.current_kid, sha256=hashlib.sha256(pdf).hexdigest(),
        storage_key=key, created_at=now, expires_on=expires_on.isoformat(), status_index=index, salt=salt.hex(),
        id_hash=id_hash.hex(),
    )
    if current is not None:
        current.superseded_at = now
    db.add(certificate)
    await db.flush()
    if kind == "political_review":
        db.add(ReviewShare(id=secrets.token_urlsafe(16), certificate_id=cid, access_code=access_code(),
                           created_at=now, expires_at=now + SHARE_LIFETIME, open_count=0))
    log.info("certificate issued", extra={"event": {"certificate": cid, "kind": kind, "reissue": reissue}})
    return certificate


def access_code() -> str:
    return short_code(8)


async def revoke(db: AsyncSession, application: Application, reason: str | None) -> None:
    """The provincial system revoked the application's certificate (every one still in force)."""
    now = utcnow()
    for certificate in await certificates_of(db, application.id):
        if certificate.revoked_at is None:
            certificate.revoked_at, certificate.revoked_reason = now, (reason or "")[:300] or None


def reissuable(certificate: Certificate | None) -> bool:
    return certificate is not None and certificate.revoked_at is None


async def certificate_pdf_for(db: AsyncSession, files: FileStore, application: Application) -> tuple[bytes, str]:
    """The PDF of the certificate in force; never a 政审回复函 (the person cannot read it, SPEC §8)."""
    certificate = current_of(await certificates_of(db, application.id))
    if certificate is None or certificate.revoked_at is not None or certificate.kind == "political_review":
        raise not_found()
    return await files.get(certificate.storage_key), certificate.certificate_no


def state_of(certificate: Certificate, today: dt.date | None = None) -> str:
    """valid | expired | revoked | superseded."""
    if certificate.revoked_at is not None:
        return "revoked"
    if certificate.superseded_at is not None:
        return "superseded"
    if certificate.expires_on and dt.date.fromisoformat(certificate.expires_on) < (today or today_in_china()):
        return "expired"
    return "valid"


async def share_of(db: AsyncSession, certificate: Certificate) -> ReviewShare | None:
    return await db.scalar(select(ReviewShare).where(ReviewShare.certificate_id == certificate.id))


def check_reissue(certificate: Certificate | None) -> Certificate:
    if certificate is None:
        raise ApiError(409, "no_certificate", "该申请还没有签发电子证明")
    if certificate.revoked_at is not None:
        raise ApiError(409, "revoked", "该证明已被存档机构撤销，不能补发；如有疑问请联系存档机构")
    return certificate
