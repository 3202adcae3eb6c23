"""Public verification: the QR token's signature first, then the certificate it names."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bff.db.models import Certificate
from bff.domain.applications.schemas import KIND_NAMES
from bff.domain.verification.page import VerificationView
from bff.domain.verification.tokens import InvalidToken, TokenKeys

NOT_ISSUED_HERE = "该二维码不是本平台签发的有效电子证明，或内容已被篡改，请勿采信。"
REVOKED = "该电子证明已被撤销"


async def verify(db: AsyncSession, keys: TokenKeys, token: str) -> VerificationView:
    if len(token) > 2048:
        return VerificationView(genuine=False, reason=NOT_ISSUED_HERE)
    try:
        claims = keys.verify(token)
    except InvalidToken:
        return VerificationView(genuine=False, reason=NOT_ISSUED_HERE)
    certificate = await db.scalar(select(Certificate).where(Certificate.id == str(claims.get("cid", ""))))
    if certificate is None:
        return VerificationView(genuine=False, reason=NOT_ISSUED_HERE)
    if certificate.revoked_at is not None:
        reason = f"{REVOKED}：{certificate.revoked_reason}" if certificate.revoked_reason else REVOKED
        return VerificationView(genuine=False, reason=reason)
    return VerificationView(
        genuine=True,
        kind_name=KIND_NAMES.get(certificate.kind, certificate.kind),
        agency_name=certificate.agency_name,
        issued_on=date.fromisoformat(certificate.issued_on),
        holder_name_masked=certificate.holder_name_masked,
        holder_id_masked=certificate.holder_id_masked,
        certificate_no=certificate.certificate_no,
    )
