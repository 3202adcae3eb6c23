"""Issuing e-certificates: render from the template, put the signed QR token on it, sign (PAdES), store.

Rendering and signing are CPU work and run in a worker thread, off the event loop.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import secrets
from dataclasses import dataclass
from functools import cached_property

import anyio.to_thread
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bff.db.models import Application, Certificate
from bff.domain.applications.schemas import KIND_NAMES
from bff.domain.certificates.render import CertificateContent, render_certificate
from bff.domain.certificates.signing import PdfSigner
from bff.domain.verification.tokens import TokenKeys
from bff.lib.clock import parse_yyyymmdd, utcnow
from bff.lib.errors import not_found
from bff.lib.files import FileStore
from bff.lib.masking import mask_id_number, mask_name
from bff.provincial.schemas import CertificateResult
from bff.settings import SigningSettings

log = logging.getLogger("bff.certificates")
TEMPLATE_VERSION = "v1"


@dataclass
class Issuer:
    """What issuing needs: the PAdES signing key (loaded on first use), the QR token keys, the file store and
    the public address."""

    signing: SigningSettings
    token_keys: TokenKeys
    files: FileStore
    public_base_url: str

    @cached_property
    def signer(self) -> PdfSigner:
        return PdfSigner(self.signing.key_path, self.signing.cert_path, self.signing.chain_paths)


def new_certificate_id() -> str:
    """100 random bits, base32 without padding: compact in an uppercase QR."""
    return base64.b32encode(secrets.token_bytes(15)).decode().rstrip("=")


def verify_url(public_base_url: str, token: str) -> str:
    return f"{public_base_url}/v/{token}"


async def issue(db: AsyncSession, issuer: Issuer, application: Application, result: CertificateResult) -> Certificate:
    """Issues the certificate once; a second call for the same application returns the first."""
    existing = await db.scalar(select(Certificate).where(Certificate.application_id == application.id))
    if existing is not None:
        return existing
    cid = new_certificate_id()
    token = issuer.token_keys.issue({"cid": cid, "knd": result.kind, "iat": int(utcnow().timestamp())})
    content = CertificateContent(
        certificate_no=result.certificate_no, kind=result.kind, kind_name=KIND_NAMES.get(result.kind, result.kind),
        holder_name=result.holder.name, holder_id_type=result.holder.id_type,
        holder_id_number=result.holder.id_number, archive_no=result.archive_no, nature_name=result.nature_name,
        stored_since=parse_yyyymmdd(result.stored_since), agency_name=result.agency.name,
        agency_code=result.agency.code, issued_on=parse_yyyymmdd(result.issued_on),
        verify_url=verify_url(issuer.public_base_url, token),
    )
    pdf = await anyio.to_thread.run_sync(lambda: issuer.signer.sign(render_certificate(content)))
    key = f"certificates/{cid.lower()}.pdf"
    await issuer.files.put(key, pdf)
    issued_on = content.issued_on.isoformat()
    certificate = Certificate(
        id=cid, application_id=application.id, owner_sub=application.owner_sub, kind=result.kind,
        certificate_no=result.certificate_no, agency_name=result.agency.name,
        holder_name_masked=mask_name(result.holder.name), holder_id_masked=mask_id_number(result.holder.id_number),
        issued_on=issued_on, template_version=TEMPLATE_VERSION, token_kid=issuer.token_keys.current_kid,
        sha256=hashlib.sha256(pdf).hexdigest(), storage_key=key, created_at=utcnow(),
    )
    db.add(certificate)
    log.info("certificate issued", extra={"event": {"certificate": cid, "kind": result.kind}})
    return certificate


async def certificate_pdf_for(db: AsyncSession, files: FileStore, application: Application) -> tuple[bytes, str]:
    certificate = await db.scalar(select(Certificate).where(Certificate.application_id == application.id))
    if certificate is None or certificate.revoked_at is not None:
        raise not_found()
    return await files.get(certificate.storage_key), certificate.certificate_no
